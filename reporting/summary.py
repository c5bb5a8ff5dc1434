"""Tables of one prognosis, worded once for the page, the PDF report and the tests.

The page and the reports show the same strings, so what a tumour board reads on
paper is exactly what the clinician saw on screen.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from model.i18n import N_, _, number, percent
from model.prognosis import Prognosis
from model.schema import Feature, Schema
from model.timeaxis import TimeAxis, unit_name
from reporting.wording import NO_BAND_TEXT

__all__ = [
    "candidacy_scenarios",
    "contribution_span",
    "OVER_TIME",
    "contribution_table",
    "factor_table",
    "fmt_percent",
    "grid_end",
    "no_band",
    "shown_columns",
    "outcome_chance",
    "outcome_label",
    "scenario_label",
    "scenario_table",
    "span_words",
    "landmark_label",
    "survival_table",
    "value_text",
]

UNKNOWN = N_("unknown")
# the survival table's columns: keys in code, translated where a table is drawn
OUTCOME, ESTIMATE, INTERVAL = N_("Outcome"), N_("Estimate"), N_("95 % interval")
# a factor's hazard ratio in each time piece, where the model is in pieces
OVER_TIME = N_("Over time")


def shown_columns(df: pd.DataFrame) -> pd.DataFrame:
    """A table with its column and index names in the reader's language, to draw it."""
    out = df.rename(columns=lambda c: _(c) if isinstance(c, str) else c)
    if isinstance(out.index.name, str):
        out.index.name = _(out.index.name)
    return out


def fmt_percent(v: float | None) -> str:
    """Survival as a whole percentage ("62 %"); an en dash where there is none. A chance
    that is not 0 or 1 is never written as one: "<1 %" and ">99 %", not a certainty that
    rounding made ("0 % (0 % to 0 %)" for a patient the model gives 0.3 %)."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    whole = round(100 * v)  # as percent() rounds it
    if v > 0 and whole == 0:
        return "<" + percent(1)
    if v < 1 and whole == 100:
        return ">" + percent(99)
    return percent(100 * v)


def no_band(text: str) -> bool:
    """Whether an interval cell says there is none."""
    return text in ("–", _(NO_BAND_TEXT))


def _range(low: str, high: str) -> str:
    return _("{low} to {high}").format(low=low, high=high)


def _interval(lo, hi, fmt) -> str:
    if lo is None or hi is None or any(isinstance(x, float) and math.isnan(x) for x in (lo, hi)):
        return _(NO_BAND_TEXT)
    return _range(fmt(lo), fmt(hi))


def grid_end(axis: TimeAxis, p: Prognosis) -> str:
    """The end of a prognosis's grid in the unit, as few digits as it needs ("120")."""
    return f"{round(float(axis.from_months(p.grid[-1])), axis.digits):g}"


def landmark_label(schema: Schema, value: float) -> str:
    """The table's row for a landmark in the schema's unit, named by the schema's endpoint:
    "Overall survival at 3 years (36 months)" (a recurrence-free survival is not survival)."""
    return _("{endpoint} at {when}").format(
        endpoint=schema.words.endpoint_title, when=schema.time_axis.landmark_text(value)
    )


def survival_table(p: Prognosis, schema: Schema) -> pd.DataFrame:
    """Survival at the schema's landmarks and the median, with 95 % intervals, as text.

    Columns: ``Outcome``, ``Estimate``, ``95 % interval``; times in the schema's unit. A
    landmark beyond the grid reads "beyond follow-up"; a median not reached reads "not
    reached (> N)", its interval "L to > N" where the band's lower edge reaches 50 %.
    """
    axis, words = schema.time_axis, schema.words
    rows = []
    for m in axis.marks:
        label = landmark_label(schema, m.value)
        # given alive at s, the curve starts at s: a landmark at or before it says nothing
        if not p.after_start(m.months):
            continue
        r = p.at(m.months)
        if r is None:
            rows.append([label, _("beyond follow-up"), "–"])
        else:
            rows.append([label, fmt_percent(r[0]), _interval(r[1], r[2], fmt_percent)])
    med, lo, hi = p.median
    end = grid_end(axis, p)
    median = _("Median {endpoint} ({unit})").format(
        endpoint=words.endpoint, unit=unit_name(axis.unit)
    )
    if med is None:
        # the lower band may reach 50 % within the grid although the curve does not
        band = "–" if lo is None else _range(axis.number(lo), f"> {end}")
        rows.append([median, _("not reached (> {end})").format(end=end), band])
    else:
        band = (
            _(NO_BAND_TEXT)
            if np.isnan(p.lower).all()
            else _range(axis.number(lo), axis.number(hi) if hi is not None else f"> {end}")
        )
        rows.append([median, axis.number(med), band])
    return pd.DataFrame(rows, columns=[OUTCOME, ESTIMATE, INTERVAL])


def value_text(f: Feature, v) -> str:
    """A feature value as a clinician reads it: unit, category label, or "unknown"."""
    if v is None or (not isinstance(v, str) and pd.isna(v)):
        return _(UNKNOWN)
    if f.kind in ("continuous", "integer"):
        unit = f" {f.unit}" if f.unit and f.unit != "%" else (f.unit or "")
        return f"{float(v):g}{unit}"
    if f.kind == "binary" or (f.kind == "ordinal" and not f.is_text):
        return f.label_for(int(v))
    return f.label_for(v)


def factor_table(schema: Schema, patient: dict | pd.Series) -> pd.DataFrame:
    """The factors as entered, unknowns marked, in schema order."""
    return pd.DataFrame(
        [
            [
                f.label,
                value_text(f, patient.get(f.name)),
                schema.stage_label(f.stage),
            ]
            for f in schema.features
        ],
        columns=[N_("Factor"), N_("Value"), N_("Known")],
    )


def contribution_table(contributions: list[dict], schema: Schema) -> pd.DataFrame:
    """Each factor's hazard ratio against the reference patient, largest effect first.

    ``log_hr`` stays as a number column for charts; ``Hazard ratio`` is the text shown.
    """
    rows = []
    for c in contributions:
        parts = c["feature"].split(" x ")
        known = all(x in schema.feature_names for x in parts)
        # the schema's labels (in the reader's language), not the ones the model recorded
        label = " × ".join(schema.feature(x).label for x in parts) if known else c["label"]
        if len(parts) == 1 and known:
            f = schema.feature(parts[0])
            value = value_text(f, c["value"])
            ref = value_text(f, c["reference"])
        elif known and isinstance(c.get("value"), list) and isinstance(c.get("reference"), list):
            # a pair: both values, as its label names both factors
            fs = [schema.feature(x) for x in parts]
            value = " × ".join(value_text(f, v) for f, v in zip(fs, c["value"], strict=True))
            ref = " × ".join(value_text(f, v) for f, v in zip(fs, c["reference"], strict=True))
        else:
            value, ref = _("(interaction)"), "–"
        if c.get("unknown") and value == _(UNKNOWN):
            value = _("unknown (imputed)")
        rows.append(
            {
                "Factor": label,
                "Patient": value,
                "Reference": ref,
                "Hazard ratio": number(math.exp(c["log_hr"]), 2),
                OVER_TIME: " → ".join(
                    number(math.exp(p["log_hr"]), 2) for p in c.get("pieces", [])
                ),
                "log_hr": c["log_hr"],
            }
        )
    columns = [
        N_("Factor"),
        N_("Patient"),
        N_("Reference"),
        N_("Hazard ratio"),
        OVER_TIME,
        "log_hr",
    ]
    if not any(c.get("pieces") for c in contributions):
        columns.remove(OVER_TIME)
    df = pd.DataFrame(rows, columns=columns)
    return df.reindex(df["log_hr"].abs().sort_values(ascending=False).index).reset_index(drop=True)


def span_words(start: float, end: float | None, axis: TimeAxis) -> str:
    """A time piece in words ("in the first 12 months", "between ...", "after ..."); ``end``
    None for the last piece."""
    if start == 0:
        return _("in the first {end}").format(end=axis.said(end))
    if end is None:
        return _("after {start}").format(start=axis.said(start))
    return _("between {start} and {end}").format(start=axis.said(start), end=axis.said(end))


def contribution_span(contributions: list[dict] | None, schema: Schema) -> str | None:
    """Where the model's hazard ratios change over time (a Cox model in time pieces), which
    span the contributions' ratios hold in; None where they hold at every time."""
    span = (contributions or [{}])[0].get("span_months")
    if not span:
        return None
    axis = schema.time_axis
    text = _(
        "This model's hazard ratios change over time (it is fitted in time pieces); these are "
        "the ratios {where}, the span that holds the risk horizon."
    ).format(where=span_words(*span, axis))
    pieces = contributions[0].get("pieces")
    if not pieces:
        return text
    spans = _(", then ").join(span_words(*p["span_months"], axis) for p in pieces)
    return (
        text
        + " "
        + _('"{column}" gives each factor\'s ratio {spans}.').format(
            column=_(OVER_TIME), spans=spans
        )
    )


def scenario_table(named: list[tuple[str, Prognosis]], schema: Schema) -> pd.DataFrame:
    """Side by side: one column per scenario, cells "estimate (lower to upper)"."""
    cols = {}
    for name, p in named:
        t = survival_table(p, schema)
        cells = [
            est if no_band(ival) else f"{est} ({ival})"
            for est, ival in zip(t[ESTIMATE], t[INTERVAL], strict=True)
        ]
        cols[name] = pd.Series(cells, index=t[OUTCOME])
    df = pd.DataFrame(cols)
    df.index.name = OUTCOME
    return df


def _short(f: Feature, values) -> str:
    """ "CC0/1" from levels labelled "CC0 - ...", "CC1 - ..."; "SAE" / "no SAE" for a binary."""
    if f.kind == "binary":
        name = f.name.upper()
        return name if list(values) == [1] else _("no {name}").format(name=name)
    heads = [f.label_for(v).split(" - ")[0] for v in values]
    prefix = heads[0].rstrip("0123456789")
    if all(h.startswith(prefix) and h[len(prefix) :].isdigit() for h in heads):
        return prefix + "/".join(h[len(prefix) :] for h in heads)
    return "/".join(heads)


def outcome_label(schema: Schema, outcome: dict, good: bool) -> str:
    """Short label of a good or poor operative outcome, e.g. "CC0/1", "CC2/3", "no SAE"."""
    f = schema.feature(outcome["feature"])
    values = [v for v in f.allowed_values if (v in outcome["good"]) == good]
    return _short(f, values)


def outcome_chance(schema: Schema, chance: dict) -> tuple[str, str, float]:
    """(short label, long label, chance) of what a tumour board asks about.

    The chance of the good outcome ("CC0/1"), or, for a yes/no complication whose good
    value is 0 (an SAE), the chance that it happens.
    """
    f = schema.feature(chance["feature"])
    o = next(o for o in schema.operative_outcomes if o["feature"] == chance["feature"])
    if f.kind == "binary" and list(o["good"]) == [0]:
        return outcome_label(schema, o, False), f.label, 1.0 - chance["probability"]
    return outcome_label(schema, o, True), o["label"], chance["probability"]


def scenario_label(schema: Schema, good_flags: list[bool]) -> str:
    """ "CC0/1, no SAE" for a candidacy scenario's outcome flags."""
    return _(", ").join(
        outcome_label(schema, o, g)
        for o, g in zip(schema.operative_outcomes, good_flags, strict=False)
    )


def candidacy_scenarios(schema: Schema, cand) -> list[tuple[str, Prognosis]]:
    """Candidacy's outcome scenarios as (name with its chance, prognosis), e.g. "CC0/1, no SAE (43 %)"."""
    return [
        (f"{scenario_label(schema, s['good'])} ({fmt_percent(s['weight'])})", s["prognosis"])
        for s in cand.scenarios
    ]
