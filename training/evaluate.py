"""External validation of a bundle on another dataset (same measures as the report)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sksurv.metrics import concordance_index_censored

from model.bundle import Bundle
from model.engine import Engine
from model.families import FAMILIES
from model.predict import survival_at
from model.timeaxis import LANDMARKS, TimeAxis
from training.estimators import survival_target
from training.metrics import calibration, performance, slope_vs_truth, uno_tau

__all__ = ["evaluate_bundle", "format_evaluation"]


def evaluate_bundle(bundle: Bundle, data: pd.DataFrame, truth: pd.DataFrame | None = None) -> dict:
    """Score every model of a bundle on validated data with outcomes.

    Each model is scored on the curves it serves (:meth:`model.engine.Engine.curves`, as
    ``predict`` and the page give them): for a patient with an unknown input, the Cox
    model's average over draws of that input. With a simulator truth file (rows aligned
    with ``data``) it also reports the oracle Harrell C (ranking by ``true_risk``) and, at
    each landmark, the mean absolute error of predicted against true survival and how
    often the 95 % band holds the true survival, each over every patient, those with every
    input known (``_complete``) and those with an input unknown (``_unknown``), the band's
    mean width, and the calibration slope against the truth
    (:func:`training.metrics.slope_vs_truth`).
    """
    schema = bundle.schema
    y = survival_target(data, schema)
    e, t = y.dtype.names
    if y[e].sum() < 2:
        raise ValueError(
            f"external validation needs at least two {schema.words.events} in the data"
        )
    axis = schema.time_axis
    horizons = {m.name: m.months for m in axis.marks}
    tau = uno_tau(y, axis.last_months)
    out = {
        "bundle": bundle.version_id,
        "time_unit": axis.unit,
        "landmarks": list(horizons),
        "default_model": bundle.default_model,
        "n": int(len(y)),
        "deaths": int(y[e].sum()),
        "uno_tau_months": tau,
        f"uno_tau_{axis.unit}": float(axis.from_months(tau)),
        "models": {},
    }
    complete = data[schema.feature_names].notna().all(axis=1).to_numpy()
    if truth is not None:
        out["oracle_harrell_c"] = float(
            concordance_index_censored(y[e].astype(bool), y[t], truth["true_risk"].to_numpy())[0]
        )
        out["complete_case_share"] = float(complete.mean())
    engine = Engine(bundle)
    for name in bundle.models:
        curves = engine.curves(data[schema.feature_names], name)
        surv = curves[0]
        res = performance(y, y, surv, bundle.grid, bundle.risk_horizon, tau, horizons)
        window = res["ibs_window"]  # in months, as every time inside; here in the data's unit too
        res[f"ibs_window_{axis.unit}"] = window and [float(axis.from_months(w)) for w in window]
        res["calibration"] = {}
        for mark, h in horizons.items():
            cal = calibration(y, surv, bundle.grid, h)
            res["calibration"][mark] = (
                None
                if cal is None
                else {
                    k: cal[k]
                    for k in (
                        "observed",
                        "mean_predicted",
                        "in_the_large",
                        "slope",
                        "grouped_error",
                    )
                }
            )
        if truth is not None:
            res.update(_against_truth(curves, bundle.grid, horizons, truth, complete))
        out["models"][name] = res
    return out


def _against_truth(curves, grid: np.ndarray, horizons: dict, truth: pd.DataFrame, complete):
    """Error and band coverage against the true survival at each landmark: over every
    patient, those with every input known (the model's own error, without what an unknown
    input takes from any predictor) and those with one unknown. None where the curves end
    before the landmark, the truth lacks it, or a group or the band is empty."""
    surv, lower, upper = curves
    banded = bool(np.isfinite(lower).any())
    groups = {"": np.ones(len(complete), bool), "_complete": complete, "_unknown": ~complete}
    res: dict = {}
    for mark, h in horizons.items():
        keys = [f"{k}_{mark}{g}" for k in ("mae_surv", "band_coverage") for g in groups]
        res.update(dict.fromkeys([*keys, f"band_width_{mark}", f"slope_vs_truth_{mark}"]))
        if h > grid[-1] or f"true_surv_{mark}" not in truth:
            continue
        true = truth[f"true_surv_{mark}"].to_numpy(dtype=float)
        s, lo, hi = (survival_at(c, grid, h) for c in (surv, lower, upper))
        err, inside = np.abs(s - true), (lo <= true) & (true <= hi)
        res[f"slope_vs_truth_{mark}"] = slope_vs_truth(s, true)
        for g, rows in groups.items():
            if rows.any():
                res[f"mae_surv_{mark}{g}"] = float(err[rows].mean())
                if banded:
                    res[f"band_coverage_{mark}{g}"] = float(inside[rows].mean())
        if banded:
            res[f"band_width_{mark}"] = float((hi - lo).mean())
    return res


def format_evaluation(r: dict, events: str = "events") -> str:
    """The evaluation as text; ``events``: the schema's word for them ("deaths")."""

    def f(v):
        return "—" if v is None else f"{v:.3f}"

    lines = [f"Bundle {r['bundle']} on {r['n']} patients ({r['deaths']} {events})"]
    if "oracle_harrell_c" in r:
        lines.append(f"Oracle Harrell C (true risk): {r['oracle_harrell_c']:.3f}")
    marks = r.get("landmarks") or [str(t) for t in LANDMARKS]
    axis = TimeAxis(r.get("time_unit", "months"))
    short = axis.short
    keys = [
        ("harrell_c", "Harrell C"),
        ("uno_c", f"Uno C (tau {axis.said(r['uno_tau_months'])})"),
        *((f"auc_{t}", f"AUC {t} {short}") for t in marks),
        ("ibs", "Integrated Brier"),
        ("ibs_null", "  Kaplan-Meier IBS"),
        ("ipa", "IPA"),
    ]
    if "oracle_harrell_c" in r:
        mid = marks[len(marks) // 2]
        # the middle landmark's split under its own row, named (under the last row it read
        # as that landmark's)
        for name, label in (
            ("mae_surv", "MAE S({t}) vs truth"),
            ("band_coverage", "Band holds S({t})"),
        ):
            for t in marks:
                keys.append((f"{name}_{t}", label.format(t=t)))
                if t == mid:
                    keys.append((f"{name}_{t}_complete", f"  S({t}), complete inputs"))
                    keys.append((f"{name}_{t}_unknown", f"  S({t}), an input unknown"))
        keys += [(f"band_width_{mid}", f"Band width at {mid} {short}")]
        keys += [(f"slope_vs_truth_{t}", f"Slope vs true S({t})") for t in marks]
    names = list(r["models"])
    slopes = [f"Calib. slope {h} {short}" for h in marks]
    w = max(24, *(len(label) + 1 for _, label in keys), *(len(s) + 1 for s in slopes))
    lines.append(
        f"{'':<{w}}"
        + "".join(f"{n + (' *' if n == r['default_model'] else ''):>12}" for n in names)
    )
    for k, label in keys:
        lines.append(f"{label:<{w}}" + "".join(f"{f(r['models'][n].get(k)):>12}" for n in names))
    for h, label in zip(marks, slopes, strict=True):
        lines.append(
            f"{label:<{w}}"
            + "".join(
                f"{f((r['models'][n]['calibration'].get(h) or {}).get('slope')):>12}" for n in names
            )
        )
    lines.append("* default model. " + ", ".join(f"{n}: {FAMILIES[n].label}" for n in names))
    return "\n".join(lines)
