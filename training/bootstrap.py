"""Internal validation by bootstrap optimism correction (Harrell; TRIPOD+AI).

For each bootstrap resample the model is refitted with the hyper-parameters
chosen by cross-validation, then scored on the resample (where it looks good)
and on the original data (where it is honestly tested); the mean difference is
the optimism, subtracted from the apparent performance. Tuning is not repeated
inside each resample, which keeps training fast; the optimism is therefore
underestimated, most in a small cohort, and the report says so. The caller decides what a refit
repeats: the Cox model shares its outcome-free preprocessing (imputation, splines,
scaling) and refits the Cox step; the forest refits its whole pipeline.

Intervals: each resample also scores the final model on the resampled rows;
the 2.5 and 97.5 percentiles of those scores, shifted by the mean optimism, give
a 95 % interval for the corrected estimate.

Out-of-bag: each refit is also scored on the patients its resample left out.
For flexible learners such as forests, which nearly memorise their training
rows, Harrell's correction is known to remain optimistic (a refit scored on the
original data still sees most of its own rows); the out-of-bag mean is the
more honest figure there and the report shows both.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from joblib import delayed
from sklearn.pipeline import Pipeline
from tqdm.auto import tqdm

from model.predict import risk_score, survival_on_grid
from model.timeaxis import LANDMARKS
from training import cluster
from training.metrics import horizon_names, performance

__all__ = ["SCALAR_METRICS", "VALIDATION_KEYS", "bootstrap_validation", "scalar_metrics"]

# what a bundle's manifest and report keep of a validation
VALIDATION_KEYS = (
    "apparent",
    "optimism",
    "corrected",
    "ci",
    "out_of_bag",
    "n_boot",
    "n_failed",
    "risk_range",
)
SCALAR_METRICS = ("harrell_c", "uno_c", *(f"auc_{t}" for t in LANDMARKS), "ibs", "ipa")


def _summarise(keys, apparent, optimism, final_on_boot, out_of_bag):
    """Mean optimism, corrected figures, their 95 % intervals and out-of-bag means."""
    mean_opt, corrected, ci, oob_mean = {}, {}, {}, {}
    for k in keys:
        vals = [o[k] for o in out_of_bag if o[k] is not None]
        oob_mean[k] = float(np.mean(vals)) if vals else None
        vals = [o[k] for o in optimism if o[k] is not None]
        if apparent.get(k) is None or not vals:
            mean_opt[k] = corrected[k] = None
            ci[k] = [None, None]
            continue
        mean_opt[k] = float(np.mean(vals))
        corrected[k] = float(apparent[k] - mean_opt[k])
        dist = [r[k] for r in final_on_boot if r[k] is not None]
        lo, hi = np.percentile(dist, [2.5, 97.5])
        ci[k] = [float(lo - mean_opt[k]), float(hi - mean_opt[k])]
    return mean_opt, corrected, ci, oob_mean


@dataclass(frozen=True)
class _Setting:
    """What every replicate scores with."""

    grid: np.ndarray
    risk_horizon: float
    tau: float
    horizons: object  # landmarks, as training.metrics.performance takes them


def _perf(s: _Setting, y, y_eval, surv) -> dict:
    return performance(y, y_eval, surv, s.grid, s.risk_horizon, s.tau, s.horizons)


def _replicate(refit, collect, s: _Setting, X, y, surv_final, seed, idx):
    """One bootstrap replicate: refit on the resample ``idx``, score it (a module-level
    function of its arguments alone, so that it runs the same in any process)."""
    keys = scalar_metrics(s.horizons)
    n = len(y)
    event = y[y.dtype.names[0]]
    try:
        model = refit(X.iloc[idx], y[idx], seed)
    except ArithmeticError:
        # the chosen penalty cannot hold this resample's coefficients (they diverge: e.g. a
        # rare category whose every resampled patient died); counted, and left out
        return None
    surv_all = survival_on_grid(model, X, s.grid)
    if not np.isfinite(surv_all).all():
        # a refit so extreme that its baseline hazard divides by an infinite risk set (a
        # spline term's coefficient run off on a small resample): no curve to score, the
        # same as a fit that failed
        return None
    on_boot = _perf(s, y, y[idx], surv_all[idx])
    on_orig = _perf(s, y, y, surv_all)
    opt = {
        k: (None if on_boot[k] is None or on_orig[k] is None else on_boot[k] - on_orig[k])
        for k in keys
    }
    fin = _scalars(keys, _perf(s, y, y[idx], surv_final[idx]))
    oob = np.setdiff1d(np.arange(n), idx)
    out_of_bag = (
        _scalars(keys, _perf(s, y, y[oob], surv_all[oob])) if event[oob].sum() >= 2 else None
    )
    oob_curves = (oob, surv_all[oob].astype(np.float32))
    return opt, fin, out_of_bag, oob_curves, (collect(model) if collect is not None else None)


def _scalars(keys, measures: dict) -> dict:
    return {k: measures.get(k) for k in keys}


def scalar_metrics(horizons=LANDMARKS) -> tuple[str, ...]:
    """The scalar measures for these landmarks (:data:`SCALAR_METRICS` for the default)."""
    names = horizon_names(horizons)
    return ("harrell_c", "uno_c", *(f"auc_{n}" for n in names), "ibs", "ipa")


def bootstrap_validation(
    final: Pipeline,
    refit: Callable[[pd.DataFrame, np.ndarray, int], Pipeline],
    X: pd.DataFrame,
    y: np.ndarray,
    grid: np.ndarray,
    risk_horizon: float,
    tau: float,
    n_boot: int,
    seed: int = 0,
    collect: Callable[[Pipeline], dict] | None = None,
    progress: bool = True,
    desc: str = "bootstrap",
    n_jobs: int = 1,
    horizons=LANDMARKS,
) -> dict:
    """Apparent, optimism and optimism-corrected performance with 95 % intervals.

    Parameters
    ----------
    final : Pipeline
        The model fitted on all data.
    refit : callable (X, y, seed) -> fitted Pipeline
        Refits the same specification on a resample.
    collect : callable (Pipeline) -> dict, optional
        Called on every refitted model (e.g. to gather hazard ratios for intervals).
    n_jobs : int
        Processes for the replicates; ``refit`` should then fit single-threaded.

    Returns
    -------
    dict
        ``apparent`` (all measures), ``optimism``, ``corrected``, ``ci``
        (per scalar measure), ``out_of_bag`` (mean measures on left-out patients),
        ``oob_surv`` (out-of-bag curve per patient), ``n_boot`` (refits made), ``n_failed``
        (resamples the settings could not be refitted on, left out), ``collected``.
    """
    keys = scalar_metrics(horizons)
    surv_final = survival_on_grid(final, X, grid)
    setting = _Setting(grid, risk_horizon, tau, horizons)
    apparent = _perf(setting, y, y, surv_final)
    rng = np.random.default_rng(seed)
    n = len(y)
    event = y[y.dtype.names[0]]
    samples = []
    for b in range(n_boot):
        idx = rng.integers(0, n, n)
        if event[idx].sum() >= 2:
            samples.append((b, idx))

    # replicates are independent: spread them over processes (or a cluster's workers), each
    # fitting single-threaded; the data, the final curves and the settings are the same
    # objects in every task, so a cluster receives them once
    jobs = cluster.parallel(n_jobs, shared=(surv_final,), return_as="generator")(
        delayed(_replicate)(refit, collect, setting, X, y, surv_final, seed + b + 1, idx)
        for b, idx in samples
    )
    optimism, final_on_boot, out_of_bag, collected = [], [], [], []
    oob_sum = np.zeros_like(surv_final)
    oob_count = np.zeros(n)
    failed = 0
    for done in tqdm(
        jobs, total=len(samples), desc=desc, disable=not progress, mininterval=1.0, leave=False
    ):
        if done is None:
            failed += 1
            continue
        opt, fin, oob, (oob_idx, oob_surv), col = done
        optimism.append(opt)
        final_on_boot.append(fin)
        oob_sum[oob_idx] += oob_surv
        oob_count[oob_idx] += 1
        if oob is not None:
            out_of_bag.append(oob)
        if col is not None:
            collected.append(col)
    if samples and not optimism:
        raise ValueError(
            f"bootstrap: the chosen settings could not be refitted on any of {failed} "
            "resamples (the coefficients diverge at the chosen penalty); the data may hold a "
            "category or value that only a few patients share"
        )
    mean_opt, corrected, ci, oob_mean = _summarise(
        keys, apparent, optimism, final_on_boot, out_of_bag
    )
    return {
        "apparent": apparent,
        "optimism": mean_opt,
        "corrected": corrected,
        "ci": ci,
        "out_of_bag": oob_mean,
        # each patient's curve averaged over the refits that did not see them (the final
        # model's curve for a patient no refit left out, possible with very few resamples)
        "oob_surv": np.where(
            oob_count[:, None] > 0, oob_sum / np.maximum(oob_count, 1)[:, None], surv_final
        ),
        "n_boot": len(optimism),
        "n_failed": failed,
        # the final model's risk scores over the patients it learned from: a new patient's
        # beyond them is a combination of inputs the model never saw (model.engine)
        "risk_range": [
            float(f(risk_score(surv_final, grid, risk_horizon))) for f in (np.min, np.max)
        ],
        "collected": collected,
    }
