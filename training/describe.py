"""Cohort summary for researchers: survival overview and a Table 1.

Kaplan-Meier estimates (with log-log 95 % intervals) come from scikit-survival;
median follow-up is the reverse Kaplan-Meier median (censoring treated as the
event), the usual way to report follow-up in survival studies.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from model.kaplan_meier import KaplanMeier
from model.schema import Feature, Schema

__all__ = ["constant_features", "describe_cohort", "format_description", "in_months"]


def _summarise_feature(f: Feature, s: pd.Series) -> dict:
    known = s.dropna()
    d = {
        "name": f.name,
        "label": f.label,
        "kind": f.kind,
        "unit": f.unit,
        "stage": f.stage,
        "n_known": int(len(known)),
        "missing": int(s.isna().sum()),
    }
    if f.kind in ("continuous", "integer"):
        if len(known):
            q = known.quantile([0.25, 0.5, 0.75])
            d.update(
                median=float(q[0.5]),
                q1=float(q[0.25]),
                q3=float(q[0.75]),
                min=float(known.min()),
                max=float(known.max()),
                mean=float(known.mean()),
            )
        return d
    levels = f.allowed_values
    counts = known.value_counts()
    d["levels"] = [
        {
            "value": lv if not isinstance(lv, np.generic) else lv.item(),
            "label": f.label_for(lv),
            "count": int(counts.get(lv, 0)),
            "percent": (100.0 * counts.get(lv, 0) / len(known)) if len(known) else None,
        }
        for lv in levels
    ]
    return d


def describe_cohort(data: pd.DataFrame, schema: Schema) -> dict:
    """Summarise a validated cohort.

    Parameters
    ----------
    data : DataFrame
        Parsed data from :func:`model.validation.validate_dataset` (mode ``"outcome"``
        or ``"train"``): the outcome columns are required, features optional.
    schema : Schema

    Returns
    -------
    dict
        ``n``, ``deaths``, ``median_followup_<unit>``, ``km_median_<unit>``,
        ``km_median_ci``, ``surv_<landmark>`` with ``surv_<landmark>_ci`` (``surv_12``
        for 12 months), and ``features`` (a Table 1 entry per schema feature present).
        Times are in the schema's unit, as the data hold them.
    """
    axis = schema.time_axis
    unit = axis.unit
    time = data[schema.time.name].to_numpy(dtype=float)
    event = data[schema.event.name].to_numpy().astype(bool)
    km = KaplanMeier(time, event)
    rkm = KaplanMeier(time, event, reverse=True)
    out: dict = {
        "n": int(len(data)),
        "deaths": int(event.sum()),
        "death_percent": 100.0 * float(event.mean()),
        f"median_followup_{unit}": rkm.median,
        f"max_followup_{unit}": float(time.max()),
        f"km_median_{unit}": km.median,
        "km_median_ci": list(km.median_ci),
    }
    for m in axis.marks:
        est, lo, hi = km.survival_at(m.value)
        out[f"surv_{m.name}"] = est
        out[f"surv_{m.name}_ci"] = [lo, hi]
    out["features"] = [
        _summarise_feature(f, data[f.name]) for f in schema.features if f.name in data.columns
    ]
    return out


def constant_features(data: pd.DataFrame, schema: Schema) -> dict[str, object]:
    """The features whose known values are all the same, with that value: no model can
    learn their effect from these data."""
    out = {}
    for f in (f for f in schema.features if f.name in data):
        known = data[f.name].dropna()
        if len(known) and known.nunique() == 1:
            out[f.name] = known.iloc[0]
    return out


def in_months(summary: dict, schema: Schema, key: str) -> float | None:
    """A time of :func:`describe_cohort` (``median_followup``, ``km_median``) in months, as
    bundles record it."""
    value = summary[f"{key}_{schema.time_axis.unit}"]
    return None if value is None else float(schema.time_axis.to_months(value))


def _num(x: float | None, digits: int = 1) -> str:
    if x is None:
        return "not reached"
    return f"{x:.{digits}f}"


def _whole(v: float) -> str:
    return f"{v:.0f}"


def _three_figures(v: float) -> str:
    """Three significant figures, without an exponent (1150, not 1.15e+03; 1000, not the
    1e+03 that 999.7 rounds to)."""
    text = f"{v:.3g}"
    return f"{v:.0f}" if "e+" in text else text


def _aligned(rows: list[tuple[str, object]]) -> list[str]:
    """Lines of the summary: the labels in a column as wide as the longest (30 at least),
    then at least one space and the value."""
    width = max([30, *(len(label) for label, _ in rows)])
    return [f"{label:<{width}} {value}" for label, value in rows]


def _time(x: float | None, unit: str) -> str:
    return _num(x) if x is None else f"{_num(x)} {unit}"


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.1f} %"


def format_description(d: dict, schema: Schema, title: str = "Cohort") -> str:
    """Plain-text clinical summary of :func:`describe_cohort`'s result, in the schema's time
    unit, landmarks and words (as it was computed with)."""
    lo, hi = d["km_median_ci"]
    axis, words = schema.time_axis, schema.words
    unit = axis.unit
    rows = [
        ("Patients", d["n"]),
        (words.events_title, f"{d['deaths']} ({d['death_percent']:.1f} %)"),
        (
            "Median follow-up (reverse KM)",
            f"{_time(d[f'median_followup_{unit}'], unit)} "
            f"(longest {_time(d[f'max_followup_{unit}'], unit)})",
        ),
        (
            f"Median {words.endpoint} (KM)",
            f"{_time(d[f'km_median_{unit}'], unit)} (95 % CI {_num(lo)} to {_num(hi)})",
        ),
    ]
    width = max(len(m.name) for m in axis.marks)
    for m in axis.marks:
        est = d[f"surv_{m.name}"]
        ci_lo, ci_hi = d[f"surv_{m.name}_ci"]
        ci = "" if est is None else f" (95 % CI {_pct(ci_lo)} to {_pct(ci_hi)})"
        note = " (beyond the longest follow-up)" if est is None else ""
        number, _sep, word = axis.text(m.value).partition(" ")  # "1 year", "3 years"
        # named by the endpoint: a recurrence-free survival is not survival
        label = f"{words.endpoint_title} at {number:>{max(width, 2)}} {word}"
        rows.append((label, f"{_pct(est)}{ci}{note}"))
    lines = [title, "=" * len(title), *_aligned(rows)]
    if d["features"]:
        lines += ["", "Table 1", "-------"]
        rows = []
        for f in d["features"]:
            name = f["label"] + (f", {f['unit']}" if f["unit"] else "")
            miss = str(f["missing"])
            if f["kind"] in ("continuous", "integer"):
                if f["n_known"]:
                    fmt = _whole if f["kind"] == "integer" else _three_figures
                    # "to", not a dash: a range can start below zero (-24 to 68)
                    text = (
                        f"median {fmt(f['median'])} (IQR {fmt(f['q1'])} to {fmt(f['q3'])}), "
                        f"range {fmt(f['min'])} to {fmt(f['max'])}"
                    )
                else:
                    text = "no known values"
                rows.append((name, text, miss))
            else:
                rows.append((name, "", miss))
                for lv in f["levels"]:
                    pct = "" if lv["percent"] is None else f" ({lv['percent']:.1f} %)"
                    rows.append((f"  {lv['label']}", f"{lv['count']}{pct}", ""))
        w0 = max(len(r[0]) for r in rows + [("Feature", "", "")])
        w1 = max(len(r[1]) for r in rows + [("", "Summary (of known values)", "")])
        lines.append(f"{'Feature':<{w0}}  {'Summary (of known values)':<{w1}}  Missing")
        lines += [f"{a:<{w0}}  {b:<{w1}}  {c}".rstrip() for a, b, c in rows]
    return "\n".join(lines)
