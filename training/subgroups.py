"""Calibration within the groups of each input: where the model's predictions depart from
what happened to the patients.

Calibration in groups of predicted risk (:func:`training.metrics.calibration`) can look
right while the model is wrong for some kind of patient: a threshold the splines smooth
over, an interaction the schema does not declare. Here the patients are grouped by each
input in turn (a list's or scale's levels, a measurement's thirds, the patients for whom it
is unknown), and each group's mean predicted S(t) is set against its Kaplan-Meier S(t).

A group is named as departing only where the predicted mean lies outside the Kaplan-Meier
interval widened for the number of groups looked at (Bonferroni: a 1 - 0.05/m log-log
interval for m groups), so that the true curves name a group in at most one report in
twenty, not in one group in twenty. The groups overlap (every patient is in one group of
each input), so the bound is loose: with the true S(36) as the predictions, 3 of 600
simulated reports named a group (five worlds, n = 110, 500 and 2,000, 40 draws each;
benchmarks/subgroup_check.py --truth-draws 40). The predictions are the same out-of-sample
curves as the calibration's (out-of-bag in ``fit``, the served curves in ``evaluate``); their own noise
is ignored, which the widened interval leaves room for.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from model.kaplan_meier import KaplanMeier
from model.predict import survival_at
from model.schema import NUMERIC_KINDS, Schema

__all__ = ["MIN_GROUP", "calibration_by_input", "departing", "input_groups"]

# patients in a group: a Kaplan-Meier estimate at a landmark from fewer says little
MIN_GROUP = 20
ALPHA = 0.05


def _thirds(v: pd.Series, integer: bool) -> list[tuple[str, np.ndarray]]:
    """A measurement's groups: below, between and above its thirds (distinct cut points),
    named so that a bound is read once: "≤ 49", "50-58", "> 58"; "≤ 6", "> 6 to 13"."""

    known = v.dropna()
    cuts = np.unique(np.quantile(known, [1 / 3, 2 / 3], method="inverted_cdf"))
    edges = [-np.inf, *cuts, np.inf]
    out = []
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        member = ((v > lo) & (v <= hi)).to_numpy()
        if np.isinf(lo):
            name = f"≤ {_number(hi)}"
        elif np.isinf(hi):
            name = f"> {_number(lo)}"
        elif integer:  # from the least value the group holds: "71-80" where only 80 occurs is 80
            first = v[member].min()
            name = _number(hi) if first == hi else f"{_number(first)}-{_number(hi)}"
        else:
            name = f"> {_number(lo)} to {_number(hi)}"
        out.append((name, member))
    return out


def _number(x: float) -> str:
    """A cut point as the data hold it (it is one of their values): never rounded, so that
    a value beside it is not named in the wrong group, and never in exponent form."""
    return np.format_float_positional(float(x), trim="-")


def input_groups(X: pd.DataFrame, schema: Schema) -> list[dict]:
    """Per input, its groups of at least :data:`MIN_GROUP` patients: ``feature``, ``label``
    (the input's), ``group`` (in the schema's words) and ``member`` (a mask of rows)."""
    out = []
    for f in schema.features:
        v = X[f.name]
        if f.kind not in NUMERIC_KINDS:
            groups = [(f.label_for(lv), (v == lv).to_numpy()) for lv in f.allowed_values]
        else:  # a measurement with one known value has no thirds, but may have unknowns
            groups = _thirds(v, integer=f.kind == "integer") if v.nunique() >= 2 else []
        groups.append(("unknown", v.isna().to_numpy()))
        # a group of every patient says nothing the overall calibration does not
        out += [
            {"feature": f.name, "label": f.label, "group": name, "member": member}
            for name, member in groups
            if MIN_GROUP <= member.sum() < len(X)
        ]
    return out


def calibration_by_input(
    y: np.ndarray, surv: np.ndarray, grid: np.ndarray, horizon: float, X: pd.DataFrame, schema
) -> dict | None:
    """Predicted against observed S(``horizon``) in each input's groups (None where the
    horizon lies beyond follow-up).

    Returns ``horizon``, ``tests`` (groups with an observed estimate), ``level`` (the
    widened intervals' confidence) and ``groups``: ``feature``, ``label``, ``group``, ``n``,
    ``events``, ``predicted`` (mean), ``observed`` with its 95 % interval (``lower``,
    ``upper``) and ``departs`` (the predicted mean outside the widened interval)."""
    e, t = y.dtype.names
    event, time = y[e].astype(bool), y[t].astype(float)
    if horizon >= time.max():
        return None
    pred = survival_at(surv, grid, horizon)
    by_then = event & (time <= horizon)
    rows = []
    for g in input_groups(X.reset_index(drop=True), schema):
        m = g.pop("member")
        obs, lo, hi = KaplanMeier(time[m], event[m]).survival_at(horizon)
        rows.append(
            {
                **g,
                "n": int(m.sum()),
                "events": int(by_then[m].sum()),  # by the horizon: what its estimate rests on
                "predicted": float(pred[m].mean()),
                "observed": obs,
                "lower": lo,
                "upper": hi,
                "_rows": m,
            }
        )
    # a group with no event by the horizon has an interval of width 0 at S = 1 (log-log),
    # which every prediction below 1 would fall outside of: it is shown, not tested
    tested = [r["observed"] is not None and r["events"] > 0 for r in rows]
    level = 1 - ALPHA / max(sum(tested), 1)
    for r, test in zip(rows, tested, strict=True):
        m = r.pop("_rows")
        wide = KaplanMeier(time[m], event[m], level=level) if test else None
        _, wlo, whi = wide.survival_at(horizon) if wide else (None, None, None)
        r["departs"] = None not in (wlo, whi) and not wlo <= r["predicted"] <= whi
    return {"horizon": horizon, "tests": sum(tested), "level": level, "groups": rows}


def departing(result: dict | None) -> list[dict]:
    """The groups whose predicted mean departs from what happened to them."""
    return [] if not result else [g for g in result["groups"] if g["departs"]]
