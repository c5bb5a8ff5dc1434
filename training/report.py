"""The validation report of a bundle: ``report.json`` and a self-contained ``report.html``.

Organised as TRIPOD+AI asks: intended use, data and provenance, missing data,
model development (tuning), internal validation (apparent and optimism-corrected
discrimination and accuracy), calibration at fixed horizons, clinical usefulness
(decision curves), and what each factor does.
"""

from __future__ import annotations

import html
import json

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from model.families import FAMILIES, clinical_models
from model.i18n import N_
from model.manifest import Manifest
from model.schema import Schema
from reporting.figures import OKABE_ITO, calibration_figure
from reporting.summary import span_words, value_text
from reporting.wording import (
    BAND_LIMITATION,
    SIMULATED_WARNING,
    intended_use,
    metric_labels,
    simulated_warning,
)
from training.band import MAX_SIDED_FACTOR, MIN_DEATHS_TO_CALIBRATE
from training.bootstrap import VALIDATION_KEYS
from training.families import TRAINERS
from training.tuning import shown_settings

__all__ = ["build_report"]


def _clean(o):
    """JSON-safe copy: numpy scalars to Python, NaN to None."""
    if isinstance(o, dict):
        return {str(k): _clean(v) for k, v in o.items()}
    if isinstance(o, list | tuple):
        return [_clean(v) for v in o]
    if isinstance(o, np.ndarray):
        return [_clean(v) for v in o.tolist()]
    if isinstance(o, np.generic):
        o = o.item()
    if isinstance(o, float) and not np.isfinite(o):
        return None
    return o


def _band_calibrated(manifest: Manifest) -> bool:
    """Whether the Cox band was widened by an estimated factor (not where there were no
    refits to estimate it from); a recalibrated bundle keeps its parent's, and its limits."""
    entry = manifest.models.get("coxnet")
    band = entry.band if entry is not None else None
    return isinstance(band, dict) and band.get("replicates", 0) > 0


def band_not_calibrated(band: dict, schema: Schema) -> list[str]:
    """A sentence for each landmark whose band could not be calibrated (its widening
    borrowed from another landmark's, or none): ``fit`` warns of it, the report lists it."""
    axis = schema.time_axis
    out = []
    for name, note in (band.get("not_calibrated") or {}).items():
        why = (
            f"only {schema.words.count(note['deaths'])} before it ({MIN_DEATHS_TO_CALIBRATE} "
            "are needed to measure how far refits of the model miss there)"
            if note["deaths"] < MIN_DEATHS_TO_CALIBRATE
            else f"the widening measured there ({note['measured']:.3g}) is past "
            f"{MAX_SIDED_FACTOR:g} and measures nothing"
        )
        took = (
            f"it is widened as at {axis.text(float(note['from']))}"
            if note["from"] is not None
            else "it is the plain bootstrap band"
        )
        out.append(
            f"the 95 % band at {axis.text(float(name))} is not calibrated: {why}; "
            f"{took}. Read it as rough there."
        )
    return out


def build_report(
    manifest: Manifest, summary, tuned, validation, extras, dca, folds, sections=None
) -> tuple[str, str]:
    """Return (report.json text, report.html text).

    ``sections`` maps further report.json keys to (value, HTML fragment); the fragments
    come before the limitations (sample size, an update's before and after).
    """
    models = list(tuned)
    schema = Schema.from_dict(manifest.schema)
    doc = {
        "version_id": manifest.version_id,
        "created": manifest.created,
        "intended_use": intended_use(schema.words),
        "synthetic_training_data": manifest.synthetic,
        "training_data": manifest.training_data.to_dict(),
        "cohort": {k: summary[k] for k in summary if k != "features"},
        "missing_data": [
            {
                "feature": f["name"],
                "label": f["label"],
                "missing": f["missing"],
                "percent": 100.0 * f["missing"] / summary["n"],
            }
            for f in summary["features"]
        ],
        "missing_data_handling": N_(
            "Missing feature values are filled by iterative conditional imputation "
            "(scikit-learn IterativeImputer) from the patient's other features, fitted on the "
            "training data inside the model pipeline."
        ),
        "default_model": manifest.default_model,
        # the others are comparisons, shown here only: never on the page or in a patient's PDF
        "clinical_models": clinical_models(models),
        "headline": {m: FAMILIES[m].headline if m in FAMILIES else "corrected" for m in models},
        "cross_validation": {
            "folds": folds,
            "score": _tuning_scores(models, schema.time_axis.said(manifest.uno_tau_months)),
            "models": {m: tuned[m].to_dict() for m in models},
        },
        "validation": {m: {k: validation[m].get(k) for k in VALIDATION_KEYS} for m in models},
        "calibration": {m: extras[m]["calibration"] for m in models},
        "calibration_by_input": {m: extras[m].get("calibration_by_input") for m in models},
        "hazard_ratios": _first(extras, "hazard_ratios"),
        "permutation_importance": _first(extras, "permutation_importance"),
        "decision_curve": None
        if dca is None
        else {
            "horizon_months": _whole(manifest.risk_horizon_months),
            "rows": dca[["model", "threshold", "net_benefit"]].to_dict(orient="records"),
        },
        "limitations": [
            N_(
                "Bootstrap refits reuse the hyper-parameters chosen by cross-validation (tuning "
                "is not repeated), so the optimism is underestimated, most in a small cohort: "
                "in one simulated draw of 110 patients an optimism-corrected Harrell C of 0.74 "
                "was 0.62 on 3,000 new patients of the same world."
            ),
            N_("Forest refits during the bootstrap use 50 trees instead of the final 200."),
            N_(
                "Cox refits during the bootstrap reuse the final model's outcome-free "
                "preprocessing (imputation, splines, scaling) and refit the Cox step only."
            ),
            N_(
                "Calibration and decision curves are internal (out-of-bag predictions on the "
                "training data); external validation needs `python -m training evaluate` on "
                "independent data."
            ),
        ],
    }
    if doc["synthetic_training_data"]:
        doc["limitations"].insert(0, SIMULATED_WARNING)
    if _band_calibrated(manifest):
        doc["limitations"].append(BAND_LIMITATION)
        doc["limitations"] += [
            s[0].upper() + s[1:]
            for s in band_not_calibrated(manifest.models["coxnet"].band, schema)
        ]
    sections = sections or {}
    doc.update({key: value for key, (value, _) in sections.items()})
    doc = _clean(doc)
    fragments = [fragment for _, fragment in sections.values()]
    return json.dumps(doc, indent=2), _html(doc, manifest, dca, fragments)


# ------------------------------------------------------------------------ HTML
def _fmt(v, digits=3):
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return html.escape(str(v))


def _table(header: list[str], rows: list[list]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _fig(fig: go.Figure, first: bool) -> str:
    fig.update_layout(
        template="simple_white", height=420, margin=dict(l=60, r=20, t=50, b=50), font=dict(size=13)
    )
    return fig.to_html(
        full_html=False, include_plotlyjs=True if first else False, config={"displaylogo": False}
    )


_LABELS = {name: f.label for name, f in FAMILIES.items()}


def _whole(x: float) -> float | int:
    return int(x) if float(x).is_integer() else x


def _tuning_scores(models, tau: str) -> str:
    """What the cross-validation scored: each family's own (:attr:`Trainer.tuned_by`)."""
    return " and by ".join(t.tuned_by.format(tau=tau) for m, t in TRAINERS.items() if m in models)


def _first(extras: dict, key: str):
    """The first model's entry ``key`` (each explanation belongs to one model family)."""
    return next((e[key] for e in extras.values() if key in e), None)


def _html(doc: dict, manifest: Manifest, dca: pd.DataFrame | None, fragments=()) -> str:
    models = list(doc["validation"])
    parts, first = [], True

    def fig(f):
        nonlocal first
        out = _fig(f, first)
        first = False
        return out

    td = doc["training_data"]
    schema = Schema.from_dict(manifest.schema)
    axis, words = schema.time_axis, schema.words
    unit = axis.unit
    parts.append(f"<h1>Validation report — {html.escape(manifest.schema['title'])}</h1>")
    if doc["synthetic_training_data"]:
        parts.append(f"<p class='warn'>{simulated_warning(lambda s: f'<b>{s}</b>')}</p>")
    parts.append(f"<p><b>Intended use.</b> {html.escape(doc['intended_use'])}</p>")
    parts.append(
        f"<p>Created {html.escape(doc['created'])}. Default model: "
        f"<b>{html.escape(_LABELS[doc['default_model']])}</b> "
        "(of the clinical models, the one with the lower cross-validated integrated Brier "
        "score, which weighs calibration as well as ranking).</p>"
    )
    for m in models:
        note = FAMILIES[m].comparison_note if m in FAMILIES else ""
        if note:
            parts.append(
                f"<p class='warn'><b>{html.escape(_LABELS[m])}</b>: {html.escape(note)}. It is "
                "reported here as a comparison and is not offered on the calculator page or "
                "in patients' reports; its headline figures are out-of-bag.</p>"
            )

    c = doc["cohort"]
    parts.append("<h2>Training data</h2>")
    parts.append(
        _table(
            ["Item", "Value"],
            [
                ["File", _fmt(td["file"])],
                ["SHA-256", f"<code>{td['sha256']}</code>"],
                ["File modified", _fmt(td["file_modified"])],
                ["Patients", _fmt(c["n"])],
                [words.events_title, f"{c['deaths']} ({c['death_percent']:.1f} %)"],
                [f"Median follow-up (reverse KM), {unit}", _fmt(c[f"median_followup_{unit}"], 1)],
                [
                    f"Kaplan-Meier median {words.endpoint}, {unit} (95 % CI)",
                    f"{_fmt(c[f'km_median_{unit}'], 1)} ({_fmt(c['km_median_ci'][0], 1)} to {_fmt(c['km_median_ci'][1], 1)})",
                ],
            ],
        )
    )
    parts.append("<h3>Missing data</h3>")
    parts.append(f"<p>{html.escape(doc['missing_data_handling'])}</p>")
    parts.append(
        _table(
            ["Feature", "Missing", "%"],
            [
                [html.escape(m["label"]), m["missing"], f"{m['percent']:.1f}"]
                for m in doc["missing_data"]
            ],
        )
    )

    cv = doc["cross_validation"]
    axis = Schema.from_dict(manifest.schema).time_axis
    parts.append("<h2>Model development</h2>")
    parts.append(
        f"<p>{cv['folds']}-fold cross-validation on identical folds, scored by "
        f"{html.escape(cv['score'])}.</p>"
    )
    repeats = {m: r for m in models if (r := cv["models"][m].get("cv_repeats", 1)) > 1}
    for m, r in repeats.items():
        parts.append(
            f"<p>{html.escape(_LABELS[m])}: design and penalty chosen on {r} different "
            f"splits into {cv['folds']} folds, pooled (one split's choice is noisy in a small "
            "cohort); the scores below are on the folds shared by every model.</p>"
        )
    for m in models:
        if allowed := cv["models"][m].get("designs_allowed"):
            parts.append(
                f"<p>{html.escape(_LABELS[m])}: pre-specified; tuning chose among "
                f"{html.escape(', '.join(allowed))} only.</p>"
            )
    parts.append(
        _table(
            ["Model", "Chosen settings", "CV integrated Brier score", "CV Uno C", "Per fold"],
            [
                [
                    html.escape(_LABELS[m]),
                    html.escape(json.dumps(shown_settings(cv["models"][m]["params"], axis))),
                    _fmt(cv["models"][m].get("cv_ibs")),
                    _fmt(cv["models"][m]["cv_uno_c"]),
                    ", ".join(_fmt(v) for v in cv["models"][m]["fold_uno_c"]),
                ]
                for m in models
            ],
        )
    )
    parts += _designs_html(cv, schema)
    # a penalty path (l1 ratio x penalty), whichever family tuned one
    paths = [
        m
        for m in models
        if cv["models"][m]["candidates"]
        and {"l1_ratio", "alpha"} <= set(cv["models"][m]["candidates"][0])
    ]
    for m in paths:
        cands = pd.DataFrame(cv["models"][m]["candidates"])
        f = go.Figure()
        for i, (l1, g) in enumerate(cands.groupby("l1_ratio")):
            f.add_scatter(
                x=g["alpha"],
                y=g["cv_uno_c"],
                mode="lines+markers",
                name=f"l1 ratio {l1}",
                line=dict(color=OKABE_ITO[i]),
                hovertemplate="penalty %{x:.4f}<br>CV Uno C %{y:.3f}<extra></extra>",
            )
        f.update_xaxes(type="log", title="penalty (alpha)")
        f.update_yaxes(title="cross-validated Uno C")
        f.update_layout(title=f"{_LABELS[m]}: tuning")
        parts.append(fig(f))

    parts.append("<h2>Internal validation (bootstrap optimism correction)</h2>")
    for m in models:
        v = doc["validation"][m]
        failed = (
            f"; {v['n_failed']} more could not be refitted at the chosen settings and "
            + ("was" if v["n_failed"] == 1 else "were")
            + " left out"
            if v.get("n_failed")
            else ""
        )
        parts.append(
            f"<h3>{html.escape(_LABELS[m])} ({v['n_boot']} bootstrap resamples{failed})</h3>"
        )
        rows = []
        bold = doc["headline"][m]  # the honest figure in bold: out-of-bag for a forest
        for k, label in metric_labels(axis).items():
            ci = v["ci"].get(k) or [None, None]
            shown = {w: _fmt(v[w].get(k)) for w in ("corrected", "out_of_bag")}
            shown[bold] = f"<b>{shown[bold]}</b>"
            rows.append(
                [
                    html.escape(label),
                    _fmt(v["apparent"].get(k)),
                    _fmt(v["optimism"].get(k)),
                    shown["corrected"],
                    f"{_fmt(ci[0])} to {_fmt(ci[1])}",
                    shown["out_of_bag"],
                ]
            )
        parts.append(
            _table(
                ["Measure", "Apparent", "Optimism", "Corrected", "95 % interval", "Out-of-bag"],
                rows,
            )
        )
    parts.append(
        "<p>For the forest, Harrell's optimism correction is known to stay optimistic "
        "(a refit scored on the original data still sees most of its own patients); read "
        "its out-of-bag column, scored only on patients each refit did not see.</p>"
    )

    parts.append("<h2>Calibration</h2>")
    parts.append(
        "<p>Out-of-bag predicted survival (each patient's curve averaged over the bootstrap "
        "refits that did not see them) against Kaplan-Meier survival in groups of predicted "
        "risk; slope is the Cox regression of the outcome on log(-log predicted survival) "
        "(1 is ideal; above 1, predictions are too moderate).</p>"
    )
    cal_rows = []
    for h in (mark.name for mark in axis.marks):
        shown = {_LABELS[m]: doc["calibration"][m] for m in models if doc["calibration"][m].get(h)}
        for m in models:
            cal = doc["calibration"][m].get(h)
            if not cal:
                continue
            cal_rows.append(
                [
                    f"{h}",
                    html.escape(_LABELS[m]),
                    _fmt(cal["observed"]),
                    _fmt(cal["mean_predicted"]),
                    _fmt(cal["in_the_large"]),
                    _fmt(cal["slope"]),
                    _fmt(cal["grouped_error"]),
                ]
            )
        if shown:
            parts.append(fig(calibration_figure(shown, h, unit)))
    parts.append(
        _table(
            [
                unit.capitalize(),
                "Model",
                "Observed (KM)",
                "Mean predicted",
                "In the large (obs - pred)",
                "Slope",
                "Mean |obs - pred| over groups",
            ],
            cal_rows,
        )
    )

    parts += _by_input_html(doc, axis, words.events_title)

    if dca is not None:
        at = axis.said(manifest.risk_horizon_months)
        parts.append(f"<h2>Clinical usefulness: decision curve at {at}</h2>")
        parts.append(
            "<p>Net benefit of treating patients whose out-of-bag predicted risk of "
            f"{words.event} by "
            f"{at} exceeds the threshold, against treating all or none.</p>"
        )
        f = go.Figure()
        names = {**_LABELS, "all": "Treat all", "none": "Treat none"}
        for i, (m, g) in enumerate(dca.groupby("model", sort=False)):
            f.add_scatter(
                x=g["threshold"],
                y=g["net_benefit"],
                mode="lines",
                name=names.get(m, m),
                line=dict(
                    color=OKABE_ITO[i % len(OKABE_ITO)],
                    dash=["solid", "dash", "dot", "dashdot"][i % 4],
                ),
                hovertemplate="threshold %{x:.2f}<br>net benefit %{y:.3f}<extra></extra>",
            )
        nb = dca["net_benefit"]
        f.update_yaxes(
            title="net benefit", range=[min(-0.05, float(nb.min())), float(nb.max()) + 0.05]
        )
        f.update_xaxes(title="risk threshold")
        parts.append(fig(f))

    if doc["hazard_ratios"]:
        parts.append("<h2>Hazard ratios (penalised Cox)</h2>")
        parts.append(_hazard_ratio_intro(schema, manifest))
        hr = doc["hazard_ratios"]
        if hr[0].get("span_months"):
            span = span_words(*hr[0]["span_months"], axis)
            parts.append(
                "<p>The model is fitted in time pieces, so its hazard ratios change over time: "
                f"these are the ratios {span}, the piece that holds the risk horizon; every "
                "piece's are under <i>Hazard ratios over time</i>.</p>"
            )
        parts.append(
            _table(
                ["Contrast", "HR", "95 % interval"],
                [
                    [
                        html.escape(r["contrast"]),
                        _fmt(r["hr"], 2),
                        f"{_fmt(r['lower'], 2)} to {_fmt(r['upper'], 2)}",
                    ]
                    for r in hr
                ],
            )
        )
        f = go.Figure()
        f.add_scatter(
            x=[r["hr"] for r in hr],
            y=[r["contrast"] for r in hr],
            mode="markers",
            marker=dict(color=OKABE_ITO[0]),
            error_x=dict(
                type="data",
                symmetric=False,
                array=[(r["upper"] or r["hr"]) - r["hr"] for r in hr],
                arrayminus=[r["hr"] - (r["lower"] or r["hr"]) for r in hr],
            ),
            hovertemplate="%{y}<br>HR %{x:.2f}<extra></extra>",
            showlegend=False,
        )
        f.add_vline(x=1, line=dict(color="#999999", dash="dash"))
        f.update_xaxes(type="log", title="hazard ratio")
        f.update_layout(height=max(420, 28 * len(hr)))
        parts.append(fig(f))

    if doc["permutation_importance"]:
        parts.append("<h2>Permutation importance (random survival forest)</h2>")
        pi = doc["permutation_importance"]
        f = go.Figure()
        f.add_bar(
            x=[r["importance"] for r in pi],
            y=[r["feature"] for r in pi],
            orientation="h",
            marker_color=OKABE_ITO[1],
            error_x=dict(type="data", array=[r["sd"] for r in pi]),
            hovertemplate="%{y}: drop in C %{x:.4f}<extra></extra>",
        )
        f.update_yaxes(autorange="reversed")
        f.update_xaxes(title="drop in Harrell C when the factor is shuffled")
        parts.append(fig(f))

    parts.extend(fragments)
    parts.append(
        "<h2>Limitations</h2><ul>"
        + "".join(f"<li>{html.escape(x)}</li>" for x in doc["limitations"])
        + "</ul>"
    )
    style = (
        "body{font-family:system-ui,sans-serif;max-width:980px;margin:2em auto;padding:0 1em;"
        "color:#111}table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #bbb;"
        "padding:4px 8px;text-align:left}.warn{border:2px solid #D55E00;padding:8px}"
    )
    return (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Validation report"
        f"</title><style>{style}</style></head><body>{''.join(parts)}</body></html>"
    )


def _hazard_ratio_intro(schema: Schema, manifest: Manifest) -> str:
    """How to read the hazard-ratio table: where the served design holds interactions, a
    factor's ratio is at the reference patient's value of its partner."""
    cox = manifest.models.get("coxnet")
    terms = cox.params.get("terms", "") if cox is not None else ""
    pairs = ", ".join(
        f"{html.escape(schema.feature(a).label)} × {html.escape(schema.feature(b).label)}"
        for a, b in schema.interactions
    )
    partner = (
        f"; in an interaction ({pairs}) a factor's ratio holds at the reference patient's "
        "value of its partner and differs at others"
        if pairs and "interactions" in terms
        else ""
    )
    ref = manifest.reference_patient or {}
    who = "; ".join(
        f"{html.escape(f.label)} {html.escape(value_text(f, ref[f.name]))}"
        for f in schema.features
        if f.name in ref
    )
    return (
        "<p>For each factor, a contrast with all other factors at the reference patient; 95 % "
        "bootstrap percentile intervals. Spline terms mean the ratio for a continuous factor "
        f"depends on the values compared{partner}.</p>"
        + (
            f"<p>The reference patient (the training data's median or most common values): {who}.</p>"
            if who
            else ""
        )
    )


def _compared(tuned: dict) -> tuple[list[dict], str | None]:
    """The Cox designs tuning compared and the one served; no designs where only one was."""
    designs = tuned.get("designs") or []
    if len(designs) < 2:
        return [], None
    return designs, tuned["params"].get("terms")


def design_lines(tuned: dict) -> list[str]:
    """``fit``'s line on the Cox design it serves, beside the others compared (none where
    one design was compared)."""
    designs, served = _compared(tuned)
    if not designs:
        return []
    scores = ", ".join(
        f"{d['terms']} {d['cv_ibs']:.4f}" + (" (served)" if d["terms"] == served else "")
        for d in designs
    )
    return [
        f"Cox design: {served}; cross-validated integrated Brier score of each design compared: "
        f"{scores} (a richer design is served only past the standard error of its gain; the "
        "report's 'Cox designs compared' says what each adds)"
    ]


def _designs_html(cv: dict, schema: Schema) -> list[str]:
    """The Cox designs tuning compared, each with what it adds and its cross-validated IBS
    at its best penalty, the served one marked; nothing where only one was compared."""
    from training.estimators import design_adds

    designs, served = _compared(cv["models"].get("coxnet", {}))
    if not designs:
        return []
    rows = [
        [
            html.escape(d["terms"]),
            html.escape(design_adds(schema, d["terms"])),
            _fmt(d["cv_ibs"], 4),
            "served" if d["terms"] == served else "",
        ]
        for d in designs
    ]
    return [
        "<h3>Cox designs compared</h3>",
        "<p>Each design holds the one above it and adds what its row says; each is scored at "
        "its own best penalty. A richer design is served only where it beats the simpler by "
        "more than the standard error of their paired fold differences (one the schema did "
        "not declare by more again), so the served design need not have the lowest score.</p>",
        _table(["Design", "Adds", "CV integrated Brier score", ""], rows),
    ]


def _by_input_html(doc: dict, axis, events: str) -> list[str]:
    """The calibration within each input's groups: a table, and the groups that depart
    (``events``: the schema's title for them, "Deaths")."""
    results = {m: r for m, r in (doc.get("calibration_by_input") or {}).items() if r}
    if not results:
        return []
    first = next(iter(results.values()))
    at = axis.said(first["horizon"])
    parts = [
        f"<h3>Calibration within the groups of each input, at {at}</h3>",
        "<p>Patients grouped by each input in turn (its levels, its thirds, those for whom it "
        "is unknown; groups of at least 20), the mean out-of-bag predicted survival against "
        "Kaplan-Meier survival with its 95 % interval. A group is marked where the "
        "prediction lies outside the Kaplan-Meier interval widened for the number of groups "
        f"(Bonferroni, {first['tests']} groups: {100 * first['level']:.2f} %), which the "
        "true curves do in at most one report in twenty (3 of 600 simulated reports). A "
        "marked group is a kind of patient the model is wrong for: a threshold or an "
        "interaction the design does not hold, which the band does not allow for either.</p>",
    ]
    for m, r in results.items():
        names = [f"{g['label']}: {g['group']}" for g in r["groups"] if g["departs"]]
        said = (
            "departs in " + "; ".join(html.escape(n) for n in names)
            if names
            else "no group departs beyond what chance allows"
        )
        parts.append(f"<p><b>{html.escape(_LABELS.get(m, m))}</b>: {said}.</p>")
    rows = []
    groups = first["groups"]

    def key(g: dict) -> tuple[str, str]:
        return g["feature"], g["group"]

    for i, g in enumerate(groups):
        obs = (
            "—"
            if g["observed"] is None
            else f"{_fmt(g['observed'])} ({_fmt(g['lower'])}-{_fmt(g['upper'])})"
        )
        cells = [
            html.escape(g["label"]) if i == 0 or groups[i - 1]["feature"] != g["feature"] else "",
            html.escape(str(g["group"])),
            str(g["n"]),
            str(g["events"]),
            obs,
        ]
        for r in results.values():
            mine = next(x for x in r["groups"] if (x["feature"], x["group"]) == key(g))
            cells.append(_fmt(mine["predicted"]) + (" *" if mine["departs"] else ""))
        rows.append(cells)
    header = ["Input", "Group", "Patients", f"{events} by then"]
    header += ["Observed (95 % interval)"]
    header += [f"Predicted, {_LABELS.get(m, m)}" for m in results]
    parts.append(_table(header, rows))
    parts.append("<p>* outside the widened interval.</p>")
    return parts
