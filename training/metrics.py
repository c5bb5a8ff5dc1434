"""Performance measures for survival predictions (TRIPOD+AI): discrimination, overall
accuracy, calibration at fixed horizons and clinical usefulness.

Every measure is computed from curves on a grid (``surv``, shape n x len(grid)), so
the Cox model and the forest are judged by the same code. The concordance,
time-dependent AUC and Brier score come from scikit-survival; the Kaplan-Meier
estimates from :mod:`model.kaplan_meier`; decision curves from dcurves.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from sksurv.linear_model import CoxPHSurvivalAnalysis
from sksurv.metrics import (
    cumulative_dynamic_auc,
    integrated_brier_score,
)
from sksurv.nonparametric import kaplan_meier_estimator
from sksurv.util import Surv
from statsmodels.duration.hazard_regression import PHReg

from model.kaplan_meier import KaplanMeier
from model.predict import risk_score, survival_at
from model.timeaxis import LANDMARKS
from training.concordance import concordance_both

__all__ = [
    "calibration",
    "calibration_slope",
    "decision_curve",
    "performance",
    "slope_vs_truth",
]


def _event_time(y):
    return y[y.dtype.names[0]].astype(bool), y[y.dtype.names[1]].astype(float)


def cloglog(s: np.ndarray) -> np.ndarray:
    """log(-log S), survival probabilities kept off 0 and 1."""
    return np.log(-np.log(np.clip(s, 1e-9, 1 - 1e-9)))


def slope_vs_truth(pred: np.ndarray, truth: np.ndarray) -> float | None:
    """Calibration slope against a known truth: the least-squares slope of log(-log true S)
    on log(-log predicted S) (1: as spread as the truth; above 1: too moderate); None where
    every prediction is the same."""
    x = cloglog(pred)
    if np.ptp(x) == 0:
        return None
    return float(np.polyfit(x, cloglog(truth), 1)[0])


def uno_tau(y: np.ndarray, horizon: float = 60.0) -> float:
    """Truncation time for Uno's C: the stated horizon, or earlier if follow-up is shorter."""
    _, t = _event_time(y)
    return float(min(horizon, np.quantile(t, 0.95)))


def ibs_times(y: np.ndarray, grid: np.ndarray, t_max: float = max(LANDMARKS)) -> np.ndarray:
    """Grid times inside the data's follow-up (from 1 month) where the Brier score is integrated."""
    _, t = _event_time(y)
    lo, hi = t.min(), min(t.max(), t_max)
    return grid[(grid >= max(lo, 1.0)) & (grid < hi)]


def horizon_names(horizons) -> dict[str, float]:
    """``{name: months}`` for landmarks given in months or already named."""
    if isinstance(horizons, dict):
        return {str(k): float(v) for k, v in horizons.items()}
    return {f"{h:g}": float(h) for h in horizons}


def _ipcw(compute) -> float | None:
    """An inverse-probability-of-censoring measure, or None where it is not estimable.

    scikit-survival refuses (ValueError) when the censoring distribution reaches zero
    inside the evaluated range, e.g. when every remaining patient is censored on the
    same closing date; the measure is then reported as not available.
    """
    try:
        return float(compute())
    except ValueError:
        return None


def _followed_past(y: np.ndarray, h: float) -> np.ndarray:
    """``y`` with every time after ``h`` cut to just after it, as censored.

    The AUC at ``h`` needs of a patient followed past ``h`` only that: such a patient is a
    control, unweighted. scikit-survival still weighs every death by the censoring
    distribution at its own time, and refuses where that is zero: a death on a trial's
    closing date, when every survivor is censored on it. Cut, the AUC at an earlier landmark
    is the same number and can be computed."""
    e, t = y.dtype.names
    out = y.copy()
    after = out[t] > h
    out[t][after] = h + 1e-6 * max(1.0, abs(h))
    out[e][after] = False
    return out


def _aucs(y_ref, y, surv, grid, named: dict[str, float]) -> dict:
    """Time-dependent AUC at each landmark inside follow-up (None outside), all landmarks
    in one call so that the censoring distribution is estimated once; one call each when
    that fails, so that one landmark's failure does not take the others with it."""
    event, time = _event_time(y)
    inside = {
        name: h
        for name, h in named.items()
        if time.min() < h < time.max() and event[time <= h].any()
    }
    out = {f"auc_{name}": None for name in named}
    if not inside:
        return out
    ordered = sorted(inside.items(), key=lambda kv: kv[1])
    hs = [h for _, h in ordered]
    est = np.column_stack([1.0 - survival_at(surv, grid, h) for h in hs])
    try:
        aucs = cumulative_dynamic_auc(y_ref, y, est, hs)[0]
    except ValueError:
        aucs = [
            _ipcw(
                lambda j=j, h=h: cumulative_dynamic_auc(
                    y_ref, _followed_past(y, h), est[:, j], [h]
                )[0][0]
            )
            for j, h in enumerate(hs)
        ]
    out.update(
        {
            f"auc_{name}": None if a is None else float(a)
            for (name, _), a in zip(ordered, aucs, strict=True)
        }
    )
    return out


def performance(
    y_ref: np.ndarray,
    y: np.ndarray,
    surv: np.ndarray,
    grid: np.ndarray,
    risk_horizon: float,
    tau: float,
    horizons=LANDMARKS,
) -> dict:
    """Scalar measures of one set of predictions.

    Parameters
    ----------
    y_ref : structured array
        Data from which the censoring distribution (IPCW weights) and the
        Kaplan-Meier null model are estimated: the training data inside training,
        the evaluation data itself for external validation.
    y : structured array
        The patients being evaluated.
    surv : array (n, len(grid))
        Predicted survival curves.
    risk_horizon : float
        The risk score is the cumulative hazard at this time.
    tau : float
        Truncation time of Uno's C.
    horizons : sequence of float, or dict
        Landmarks in months (keys ``auc_12`` ...), or ``{name: months}`` for landmarks
        named in another unit (``auc_365`` for 365 days).

    Returns
    -------
    dict
        ``harrell_c``, ``uno_c``, ``auc_12``/``36``/``60`` (None where the
        horizon lies beyond follow-up), ``ibs``, ``ibs_null`` (Kaplan-Meier
        curve for everyone) and ``ipa`` (1 - ibs / ibs_null).
    """
    risk = risk_score(surv, grid, risk_horizon)
    harrell, uno = concordance_both(y_ref, y, risk, tau=tau)
    out = {"harrell_c": harrell, "uno_c": uno}
    named = horizon_names(horizons)
    out.update(_aucs(y_ref, y, surv, grid, named))
    times = ibs_times(y, grid, max(named.values()))
    if len(times) >= 2:
        cols = np.searchsorted(grid, times)
        out["ibs"] = _ipcw(lambda: integrated_brier_score(y_ref, y, surv[:, cols], times))
        e_ref, t_ref = _event_time(y_ref)
        km_t, km_s = kaplan_meier_estimator(e_ref, t_ref)
        null = km_s[np.clip(np.searchsorted(km_t, times, side="right") - 1, 0, None)]
        null = np.where(times < km_t[0], 1.0, null)
        out["ibs_null"] = float(integrated_brier_score(y_ref, y, np.tile(null, (len(y), 1)), times))
        scored = out["ibs"] is not None and out["ibs_null"] > 0
        out["ipa"] = 1.0 - out["ibs"] / out["ibs_null"] if scored else None
        out["ibs_window"] = [float(times[0]), float(times[-1])]
    else:
        out.update(ibs=None, ibs_null=None, ipa=None, ibs_window=None)
    return out


def calibration(
    y: np.ndarray, surv: np.ndarray, grid: np.ndarray, horizon: float, n_groups: int | None = None
) -> dict | None:
    """Calibration of predicted S(horizon) against Kaplan-Meier in risk groups.

    Returns
    -------
    dict or None
        ``groups`` (mean predicted, observed with 95 % CI, n per group),
        ``in_the_large`` (observed minus mean predicted survival), ``slope``
        (Cox regression of the outcome, censored at the horizon, on
        log(-log S_pred); 1 is ideal, below 1 means predictions too extreme),
        ``slope_se`` (its standard error), ``grouped_error`` (mean absolute
        predicted-observed difference over groups, weighted by size). None when the horizon
        lies beyond follow-up.
    """
    event, time = _event_time(y)
    if horizon >= time.max():
        return None
    pred = survival_at(surv, grid, horizon)
    n = len(pred)
    if n_groups is None:
        n_groups = 10 if n >= 500 else 5 if n >= 100 else 3
    order = np.argsort(pred, kind="stable")
    groups = []
    for idx in np.array_split(order, n_groups):
        km = KaplanMeier(time[idx], event[idx])
        obs, lo, hi = km.survival_at(horizon)
        groups.append(
            {
                "n": int(len(idx)),
                "predicted": float(pred[idx].mean()),
                "observed": obs,
                "lower": lo,
                "upper": hi,
            }
        )
    overall = KaplanMeier(time, event).survival_at(horizon)[0]
    slope, slope_se = _slope_fit(event, time, pred, horizon, with_se=True)
    valid = [g for g in groups if g["observed"] is not None]
    grouped_error = (
        float(
            sum(g["n"] * abs(g["predicted"] - g["observed"]) for g in valid)
            / sum(g["n"] for g in valid)
        )
        if valid
        else None
    )
    return {
        "horizon": horizon,
        "groups": groups,
        "observed": overall,
        "mean_predicted": float(pred.mean()),
        "in_the_large": None if overall is None else float(overall - pred.mean()),
        "slope": slope,
        "slope_se": slope_se,
        "grouped_error": grouped_error,
    }


def calibration_slope(y: np.ndarray, surv: np.ndarray, grid: np.ndarray, horizon: float):
    """:func:`calibration`'s slope alone (None where it gives none)."""
    event, time = _event_time(y)
    if horizon >= time.max():
        return None
    return _slope_fit(event, time, survival_at(surv, grid, horizon), horizon)[0]


def _slope_fit(
    event, time, pred, horizon: float, with_se: bool = False
) -> tuple[float | None, float | None]:
    """Cox regression of the outcome, censored at the horizon (so the slope concerns this
    horizon only), on log(-log predicted S): the slope and, ``with_se``, its standard error
    (the inverse square root of the partial likelihood's information there, Breslow ties as
    the fit's; not asked for in the bootstrap's many calls, where it would add a third to
    each); None, None with fewer than 5 events by then."""
    ev_h = event & (time <= horizon)
    t_h = np.minimum(time, horizon)
    lp = cloglog(pred)
    if ev_h.sum() < 5 or np.ptp(lp) <= 0:
        return None, None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = CoxPHSurvivalAnalysis().fit(lp.reshape(-1, 1), Surv.from_arrays(ev_h, t_h))
    slope = float(fit.coef_[0])
    if not with_se:
        return slope, None
    ph = PHReg(t_h, lp.reshape(-1, 1), status=ev_h.astype(float), ties="breslow")
    info = -float(ph.hessian(np.array([slope]))[0, 0])
    return slope, (float(1.0 / np.sqrt(info)) if info > 0 else None)


def decision_curve(
    y: np.ndarray, risks: dict[str, np.ndarray], horizon: float, thresholds=None
) -> pd.DataFrame | None:
    """Net benefit of acting on predicted risk of death by the horizon (dcurves).

    ``risks`` maps a model name to predicted probabilities of death by the horizon.
    Returns dcurves' table (model, threshold, net_benefit, ...) including the
    "all" and "none" strategies; None when the horizon lies beyond follow-up.
    """
    import dcurves  # heavy import, only needed for reports

    event, time = _event_time(y)
    if horizon >= time.max():
        return None
    if thresholds is None:
        thresholds = np.round(np.arange(0.05, 0.96, 0.05), 2)
    df = pd.DataFrame({"time": time, "event": event.astype(int), **risks})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        return dcurves.dca(
            data=df,
            outcome="event",
            modelnames=list(risks),
            thresholds=thresholds,
            time=horizon,
            time_to_outcome_col="time",
        )
