"""Survival predictions on the common time grid. The model maths lives here; pages only draw."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:  # annotations only: loading a manifest or listing needs no scikit-learn
    from sklearn.pipeline import Pipeline

__all__ = [
    "cox_baseline_on_grid",
    "event_times",
    "median_survival",
    "risk_score",
    "steps_on_grid",
    "survival_at",
    "survival_on_grid",
]


def event_times(pipeline: Pipeline, X_one: pd.DataFrame) -> np.ndarray:
    """The times at which a fitted survival pipeline's curves step."""
    est = pipeline[-1]
    times = getattr(est, "unique_times_", None)
    if times is None:  # Coxnet keeps them in its baseline model; ask through the public API
        times = pipeline.predict_survival_function(X_one.iloc[:1])[0].x
    return np.asarray(times, dtype=float)


def steps_on_grid(fn, grid: np.ndarray, scale: float = 1.0) -> np.ndarray:
    """``scale`` x a step function's stored values at the grid times (0 before its first
    step, the last value held beyond its last)."""
    idx = np.searchsorted(fn.x, grid, side="right") - 1
    h = np.where(idx >= 0, scale * fn.y[np.clip(idx, 0, None)], 0.0)
    return np.maximum.accumulate(h)


def _zero_row_hazard(estimator, columns):
    """scikit-survival's cumulative hazard step function of an all-zero feature row."""
    zero = pd.DataFrame(np.zeros((1, len(columns))), columns=list(columns))
    return estimator.predict_cumulative_hazard_function(zero)[0]


def cox_baseline_on_grid(estimator, columns, grid: np.ndarray) -> np.ndarray:
    """Baseline cumulative hazard H0 at the grid times of a fitted scikit-survival Cox model:
    the cumulative hazard of an all-zero feature row, so that H(t | z) = H0(t) exp(z . coef).

    Asked for through ``predict_cumulative_hazard_function`` (the public API). Its step
    function stores the Breslow curve of the *centred* linear predictor and keeps the row's
    own factor apart (``fn.a``): Coxnet centres the features it is fitted on, so for an
    all-zero row ``fn.a = exp(-mean(z) . coef)``, 1 only where the fitting data's features
    have mean 0 (the final model on its own scaler) and not on a bootstrap resample or on
    the patients still at risk in a later time piece. The factor is applied here; reading
    the stored values alone put those baselines ``exp(mean(z) . coef)`` off. Beyond the last
    event time the last value is held.
    """
    fn = _zero_row_hazard(estimator, columns)
    return steps_on_grid(fn, grid, float(fn.a))


def _is_cox(pipeline: Pipeline) -> bool:
    est = pipeline[-1]
    return hasattr(est, "coef_") and getattr(est, "fit_baseline_model", False)


def survival_on_grid(
    pipeline: Pipeline,
    X: pd.DataFrame,
    grid: np.ndarray,
    times: np.ndarray | None = None,
) -> np.ndarray:
    """S(t | x) at each grid time, shape (n_patients, n_grid); S = 1 before the first event time.

    Beyond a model's last step (a forest's last death, a bootstrap refit whose resample ends
    a little earlier) its last value is held: no death was seen there. How far that is
    meaningful is the grid's business: :func:`model.timeaxis.time_grid` ends it where the
    training patients stop being followed. ``times``: the steps of a model that is neither
    Cox form (a forest), if already known (bundles keep them).
    """
    grid = np.asarray(grid, dtype=float)
    est = pipeline[-1]
    # a Cox model in time pieces (model.piecewise imports this module: asked by its method)
    if hasattr(est, "cumulative_hazard_on_grid"):
        out = np.exp(-est.cumulative_hazard_on_grid(pipeline[:-1].transform(X), grid))
    elif _is_cox(pipeline):
        # S(t | x) = exp(-H0(t) exp(lp(x))): one transform and one product for all patients
        # predict() gives the centred linear predictor, which goes with the stored (centred)
        # Breslow curve (see cox_baseline_on_grid)
        h0 = steps_on_grid(_zero_row_hazard(est, est.feature_names_in_), grid)
        out = np.exp(-np.exp(pipeline.predict(X))[:, None] * h0[None, :])
    else:
        if times is None:
            times = event_times(pipeline, X)
        arr = pipeline.predict_survival_function(X, return_array=True)
        idx = np.searchsorted(times, grid, side="right") - 1
        out = arr[:, np.clip(idx, 0, None)]
        out[:, idx < 0] = 1.0
    # enforce a non-increasing curve in [0, 1] against floating-point noise
    return np.clip(np.minimum.accumulate(out, axis=1), 0.0, 1.0)


def survival_at(surv: np.ndarray, grid: np.ndarray, t: float) -> np.ndarray:
    """Read S(t) from curves on a grid (step function, right-continuous)."""
    i = np.searchsorted(grid, t, side="right") - 1
    if i < 0:
        return np.ones(surv.shape[0])
    return surv[:, i]


def risk_score(surv: np.ndarray, grid: np.ndarray, horizon: float) -> np.ndarray:
    """Cumulative hazard at the horizon, -log S(horizon) (higher = worse)."""
    s = survival_at(surv, grid, horizon)
    return -np.log(np.clip(s, 1e-12, 1.0))


def median_survival(surv: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """First grid time with S <= 0.5; NaN where the curve stays above 0.5 on the grid."""
    below = surv <= 0.5
    first = np.argmax(below, axis=1)
    return np.where(below.any(axis=1), grid[first], np.nan)
