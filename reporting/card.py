"""The model card: what a bundle is, what it was trained on, how well it did, its limits.

Everything comes from the bundle itself (``manifest.json`` and the validation
``report.json``, both covered by the manifest's SHA-256s), so the page and the PDF
reports describe exactly the model that made the prediction. The words (metric names,
intended users, what the model is not for) are those of :mod:`reporting.wording` and of
the bundle's schema.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from model.bundle import Bundle
from model.families import HEADLINE_MEANING, HEADLINE_WORDS, headline_metrics
from model.i18n import N_, _, number, pgettext
from model.piecewise import piece_span
from model.schema import Schema
from model.timeaxis import DEFAULT_AXIS, TimeAxis
from reporting.summary import OVER_TIME, span_words
from reporting.wording import METRIC_LABELS, metric_labels

__all__ = [
    "METRIC_LABELS",
    "c_index_text",
    "feature_table",
    "hazard_ratios_by_piece",
    "hazards_over_time_limitations",
    "interactions_rows",
    "load_report",
    "metrics_table",
    "training_text",
]


def load_report(folder: Path) -> dict:
    """A bundle folder's validation report (``report.json``); empty if it has none."""
    path = Path(folder) / "report.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def metrics_table(report: dict, model: str, axis: TimeAxis = DEFAULT_AXIS) -> pd.DataFrame:
    """Apparent and bootstrap optimism-corrected metrics with 95 % bootstrap intervals."""
    v = (report.get("validation") or {}).get(model) or {}
    rows = []
    for key, label in metric_labels(axis).items():
        if key not in v.get("apparent", {}):
            continue
        ci = (v.get("ci") or {}).get(key)
        rows.append(
            {
                N_("Metric"): label,
                N_("Apparent"): _three(v["apparent"][key]),
                N_("Optimism-corrected"): _three(v.get("corrected", {}).get(key)),
                N_("95 % interval"): _("{low} to {high}").format(
                    low=_three(ci[0]), high=_three(ci[1])
                )
                if ci
                else "–",
                N_("Out-of-bag"): _three(v.get("out_of_bag", {}).get(key)),
            }
        )
    return pd.DataFrame(rows)


def _three(x) -> str:
    return "–" if x is None else number(x, 3)


def c_index_text(bundle: Bundle, model: str) -> str:
    """The headline discrimination figure, e.g. for a report's footer."""
    which, figures, intervals = headline_metrics(bundle.manifest, model)
    c = figures.get("harrell_c")
    if c is None:
        return _("validation C-index not recorded")
    ci = (intervals or {}).get("harrell_c")
    n = (bundle.manifest.metrics.get(model) or {}).get("n_boot")
    how = _(HEADLINE_WORDS[which]) + (_(HEADLINE_MEANING[which]) if HEADLINE_MEANING[which] else "")
    if n:
        how = _("{how} over {n} resamples").format(how=how, n=n)
    if ci:
        return _("Harrell C {c} (95 % interval {low} to {high}), {how}").format(
            c=_three(c), low=_three(ci[0]), high=_three(ci[1]), how=how
        )
    return _("Harrell C {c}, {how}").format(c=_three(c), how=how)


def training_text(bundle: Bundle) -> str:
    """One sentence on the training data and its provenance."""
    d = bundle.manifest.training_data
    schema = bundle.schema.localized()
    axis, words = schema.time_axis, schema.words
    kind = _("{n} SIMULATED patients") if d.synthetic else _("{n} patients")
    parts = [
        kind.format(n=d.rows) + f" ({d.file})",
        _("{n} {events}").format(n=d.deaths, events=words.events),
    ]
    if d.median_followup_months is not None:
        parts.append(
            _("median follow-up {time}").format(
                time=axis.text_months(d.median_followup_months, axis.digits)
            )
        )
    if d.km_median_months is not None:
        parts.append(
            _("Kaplan-Meier median {endpoint} {time}").format(
                endpoint=words.endpoint,
                time=axis.text_months(d.km_median_months, axis.digits),
            )
        )
    joined = pgettext("clauses", ", ").join(parts)
    parent = bundle.manifest.parent or {}
    if parent.get("method") == "recalibrate":
        # the data named are the new centre's: the hazard ratios were learnt elsewhere
        return _(
            "Recalibrated (calibration slope and baseline hazard) on {parts}; its hazard "
            "ratios are those of bundle {parent}, trained on other patients."
        ).format(parts=joined, parent=parent.get("version_id", "?"))
    return _("Trained on {parts}.").format(parts=joined)


def feature_table(schema: Schema) -> pd.DataFrame:
    """The inputs as the schema declares them."""
    return pd.DataFrame(
        [
            {
                N_("Factor"): f.label,
                N_("Column"): f.name,
                N_("Known"): schema.stage_label(f.stage),
                N_("Allowed"): f.describe_allowed(),
                N_("Definition"): f.help,
            }
            for f in schema.features
        ]
    )


def hazards_over_time_limitations(report: dict, schema: Schema) -> list[str]:
    """What the validation report's check of proportional hazards says about the Cox model,
    as limitations: hazard ratios that change over time in the training data (time pieces
    predicted better), or factors whose own test shows a change (none where neither)."""
    check = report.get("proportional_hazards") or {}
    axis = schema.time_axis
    if check.get("served"):
        said = (
            _(
                "In the training data the hazard ratios change over time, so the Cox model is "
                "fitted in {pieces} time pieces (cut at {cuts}), each factor's change "
                "between them penalised so that a factor whose effect holds keeps one hazard "
                "ratio. The factor contributions shown are those of the piece that holds the "
                "risk horizon, with "
                "every piece's ratio beside them (\"{column}\"). Recalibrated on another centre's "
                "patients, every piece's coefficients take one calibration slope and each "
                "piece's baseline is estimated again."
            )
            if check.get("fusion")
            else _(
                "In the training data the hazard ratios change over time, so the Cox model is "
                "fitted in {pieces} time pieces (cut at {cuts}), each with its own hazard "
                "ratios. The factor contributions shown are those of the piece that holds the "
                'risk horizon, with every piece\'s ratio beside them ("{column}"). Recalibrated '
                "on another centre's patients, every piece's coefficients take one calibration "
                "slope and each piece's baseline is estimated again."
            )
        )
        cuts = ", ".join(axis.said(c) for c in check["cuts_months"])
        said = said.format(pieces=check["pieces"], cuts=cuts, column=_(OVER_TIME))
        return [said + _largest_change(check, schema)]
    if check.get("pieces", 1) > 1:
        return [
            _(
                "In the training data the hazard ratios change over time: the Cox model in "
                "{pieces} time pieces (cut at {cuts}) predicted held-out patients better. "
                "This model assumes they do not, so its curves average each factor's effect "
                "over time."
            ).format(
                pieces=check["pieces"], cuts=", ".join(axis.said(c) for c in check["cuts_months"])
            )
        ]
    tests = check.get("schoenfeld") or {}
    flagged = [x for x in tests.get("tests", []) if x["label"] in (tests.get("flagged") or [])]
    if not flagged:
        return []
    return [
        _(
            "In the training data the hazard ratio of {factors} changes over time "
            "(Grambsch-Therneau test); time pieces did not predict clearly better, and the curves "
            "average that effect over time."
        ).format(factors=", ".join(schema.encoded_label(x["column"]) for x in flagged))
    ]


def _largest_change(check: dict, schema: Schema) -> str:
    """The contrast whose hazard ratio moves most between pieces, piece by piece: how much
    the pieces matter (fused pieces can be chosen for a change of a few per cent)."""
    rows = [r for r in check.get("hazard_ratios") or [] if r.get("hr_by_piece")]
    if not rows:
        return ""

    def moved(r: dict) -> float:
        logs = np.log(r["hr_by_piece"])
        return float(np.abs(logs - logs[0]).max())

    r = max(rows, key=moved)
    ratios = " → ".join(number(v, 2) for v in r["hr_by_piece"])
    return " " + _("The largest change is that of {contrast}: {ratios}.").format(
        contrast=_contrast(r, schema), ratios=ratios
    )


def _contrast(row: dict, schema: Schema) -> str:
    """A hazard ratio's comparison in the reader's language; a report written before the
    values were kept has its words in the language it was fitted in."""
    if "value" not in row or row["feature"] not in schema.feature_names:
        return row["contrast"]
    return schema.localized().feature(row["feature"]).contrast_label(row["value"], row["reference"])


def hazard_ratios_by_piece(report: dict, schema: Schema) -> pd.DataFrame | None:
    """Each contrast's hazard ratio in every time piece beside the one-piece model's, where
    the report's check chose pieces; None where it kept one."""
    check = report.get("proportional_hazards") or {}
    rows = check.get("hazard_ratios")
    if check.get("pieces", 1) < 2 or not rows:
        return None
    cuts = check["cuts_months"]
    spans = [span_words(*piece_span(cuts, k), schema.time_axis) for k in range(len(cuts) + 1)]
    one = N_("One piece (all times)") if check.get("served") else N_("Served (all times)")
    return pd.DataFrame(
        [
            [
                _contrast(r, schema),
                number(r.get("hr_one_piece", r.get("hr_served")), 2),  # older reports: hr_served
                *(number(v, 2) for v in r["hr_by_piece"]),
            ]
            for r in rows
        ],
        columns=[_("Contrast"), _(one), *(x[:1].upper() + x[1:] for x in spans)],
    )


def interactions_rows(schema: Schema, params: dict) -> tuple[list[str], list[str]]:
    """The model card's row on the declared interactions (names, then values; none where the
    schema declares none, or for a model without a Cox design: the forest finds its own):
    the pairs, and whether the served design holds them (tuning keeps them only where
    cross-validation pays for them)."""
    terms = params.get("terms")
    if not schema.interactions or terms is None:  # none declared, or not a Cox design
        return [], []
    pairs = ", ".join(
        f"{schema.feature(a).label} × {schema.feature(b).label}" for a, b in schema.interactions
    )
    if "interactions" in terms:
        said = _("{pairs}: in the model").format(pairs=pairs)
    else:
        said = _("{pairs}: left out (cross-validation did not pay for them)").format(pairs=pairs)
    return [_("Declared interactions")], [said]
