"""External validation of a bundle on another dataset (same measures as the report)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sksurv.metrics import concordance_index_censored

from model.bundle import Bundle
from model.families import FAMILIES
from model.predict import survival_at
from model.timeaxis import LANDMARKS, TimeAxis
from training.estimators import survival_target
from training.metrics import calibration, performance, uno_tau

__all__ = ["evaluate_bundle", "format_evaluation"]


def evaluate_bundle(bundle: Bundle, data: pd.DataFrame, truth: pd.DataFrame | None = None) -> dict:
    """Score every model of a bundle on validated data with outcomes.

    With a simulator truth file (rows aligned with ``data``) it also reports the
    oracle Harrell C (ranking by ``true_risk``) and the mean absolute error of
    predicted against true survival at 12/36/60 months.
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
        "models": {},
    }
    if truth is not None:
        out["oracle_harrell_c"] = float(
            concordance_index_censored(y[e].astype(bool), y[t], truth["true_risk"].to_numpy())[0]
        )
    for name in bundle.models:
        surv = bundle.survival(data, name)
        res = performance(y, y, surv, bundle.grid, bundle.risk_horizon, tau, horizons)
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
            # patients with every input known: error of the model itself, without the
            # information that masked inputs take away from any predictor
            complete = data[schema.feature_names].notna().all(axis=1).to_numpy()
            out["complete_case_share"] = float(complete.mean())
            for mark, h in horizons.items():
                res[f"mae_surv_{mark}"] = res[f"mae_surv_{mark}_complete"] = None
                if h <= bundle.grid[-1] and f"true_surv_{mark}" in truth:
                    err = np.abs(
                        survival_at(surv, bundle.grid, h) - truth[f"true_surv_{mark}"].to_numpy()
                    )
                    res[f"mae_surv_{mark}"] = float(err.mean())
                    if complete.any():
                        res[f"mae_surv_{mark}_complete"] = float(err[complete].mean())
        out["models"][name] = res
    return out


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
        keys += [(f"mae_surv_{t}", f"MAE S({t}) vs truth") for t in marks]
        keys.append((f"mae_surv_{marks[len(marks) // 2]}_complete", "  complete inputs only"))
    names = list(r["models"])
    lines.append(
        f"{'':<24}" + "".join(f"{n + (' *' if n == r['default_model'] else ''):>12}" for n in names)
    )
    for k, label in keys:
        lines.append(f"{label:<24}" + "".join(f"{f(r['models'][n].get(k)):>12}" for n in names))
    for h in marks:
        lines.append(
            f"{f'Calib. slope {h} {short}':<24}"
            + "".join(
                f"{f((r['models'][n]['calibration'].get(h) or {}).get('slope')):>12}" for n in names
            )
        )
    lines.append("* default model. " + ", ".join(f"{n}: {FAMILIES[n].label}" for n in names))
    return "\n".join(lines)
