"""How much to widen the Cox model's bootstrap band: a calibration from the training data alone.

Bootstrap refits of a penalised Cox model vary around the final model, but the final
model itself is off the true curve in ways the refits share: the penalty shrinks it,
and its basis smooths shapes the truth may have (a sharp threshold, an interaction).
A band made of refits alone therefore covers the true curve for too few patients
(measured: 0.71-0.83 against a nominal 0.95).

The factor is estimated by a parametric bootstrap from a deliberately *richer* stand-in
for the truth, fitted to the training data:

1. **Stand-in truth**: the same encoded and imputed features, with every declared
   interaction expanded on the main-effect knots (the richest tensor basis the schema
   allows) and a tenth of the chosen penalty (``PSEUDO_PENALTY_RATIO``), plus its
   Breslow baseline. It is more flexible and less shrunk than the model we ship, so the
   ways in which our model cannot follow it stand in for the ways in which it cannot
   follow the real truth.
2. **Replicates** (``n_rep``): new survival times for the training patients drawn from
   the stand-in, censoring times drawn from the training data's censoring distribution
   (reverse Kaplan-Meier), and the shipped model's Cox step refitted on them with the
   chosen penalty and basis.
3. For each replicate, training patient and landmark (12/36/60 months), the error of
   the refit against the stand-in on the log cumulative hazard scale, divided by the
   half-width of that patient's bootstrap band at that time (from the real ensemble).
   The factor is the 95th percentile of these ratios (at least 1): stretching every
   refit's deviation from the final model by it makes the band's half-width reach the
   error 95 times in 100 in the stand-in world.

The choice of stand-in is a convention, stated here and in the bundle's manifest. On the
shipped 2,000-patient cohort (one run): a tenth of the penalty gave 1.63, three tenths
1.50, three hundredths 1.70, the shipped basis itself (no richer interaction) at a tenth
1.28; against the simulator's truth (2,000 test patients, 12/36/60 months) the band covered
0.86-0.91 at 1.28, 0.92-0.94 at 1.5, 0.94-0.96 at 1.63 and 0.97-0.99 at 2.0, so any of the
richer stand-ins lands in the 0.90-0.98 target and the shipped basis alone would not.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import clone
from sksurv.nonparametric import kaplan_meier_estimator

from model.predict import cox_baseline_on_grid
from model.timeaxis import LANDMARKS
from model.uncertainty import CoxEnsemble
from training.estimators import fit_quietly
from training.metrics import horizon_names

__all__ = ["PSEUDO_PENALTY_RATIO", "BAND_REPLICATES", "calibrate_inflation"]

PSEUDO_PENALTY_RATIO = 0.1
BAND_REPLICATES = 10
COVERAGE = 0.95


def _fit_cox(make_step, Z: pd.DataFrame, y: np.ndarray, grid: np.ndarray):
    est = fit_quietly(make_step(), Z, y)
    return est.coef_[:, 0], cox_baseline_on_grid(est, list(Z.columns), grid)


def _log_h(h0: np.ndarray, lp: np.ndarray) -> np.ndarray:
    return np.log(np.maximum(h0, 1e-300))[None, :] + lp[:, None]


def calibrate_inflation(
    final,
    X: pd.DataFrame,
    y: np.ndarray,
    grid: np.ndarray,
    ensemble: CoxEnsemble,
    make_step,
    n_rep: int = BAND_REPLICATES,
    ratio: float = PSEUDO_PENALTY_RATIO,
    seed: int = 0,
    landmarks=LANDMARKS,
) -> dict:
    """Inflation factor for the bootstrap band of ``final`` (a fitted Coxnet pipeline).

    Parameters
    ----------
    final : Pipeline
        encode, impute, expand, scale, coxnet (fitted with one penalty).
    ensemble : CoxEnsemble
        The final model's bootstrap refits on the same transformed features.
    make_step : callable (alpha) -> unfitted CoxnetSurvivalAnalysis
        The shipped Cox step with a given single penalty (same l1 ratio).
    landmarks : sequence of float (months), or dict ``{name: months}``
        Where the band's error is measured.

    Returns
    -------
    dict
        ``inflation`` and its inputs, for the manifest.
    """
    e_name, t_name = y.dtype.names
    event, time = y[e_name].astype(bool), y[t_name].astype(float)
    alpha = float(final[-1].alphas_[0])
    inside = {n: t for n, t in horizon_names(landmarks).items() if t <= grid[-1]}
    marks = [int(np.searchsorted(grid, t)) for t in inside.values()]
    if not marks or ensemble.n_boot < 2:
        return {"inflation": 1.0, "replicates": 0, "note": "no landmark or no refits to calibrate"}
    Z = final[:-1].transform(X)
    Zn = Z.to_numpy(dtype=float)

    # the band's half-width per training patient and landmark, log cumulative hazard scale
    boot = (
        np.log(np.maximum(ensemble.boot_h0[:, marks], 1e-300))[None, :, :]
        + (Zn @ ensemble.boot_coef.T)[:, :, None]
    )
    half = (np.percentile(boot, 97.5, axis=1) - np.percentile(boot, 2.5, axis=1)) / 2
    half = np.maximum(half, 1e-6)

    # the stand-in truth: richest declared interaction basis, a fraction of the penalty
    imputed = final[:2].transform(X)
    expand = clone(final.named_steps["expand"])
    expand.set_params(interaction_knots=expand.n_knots)
    rich = clone(final[2:-1])
    rich.steps[0] = ("expand", expand)
    Zr = rich.fit_transform(imputed)
    coef_t, h0_t = _fit_cox(lambda: make_step(alpha * ratio), Zr, y, grid)
    lp_t = Zr.to_numpy(dtype=float) @ coef_t
    true_log_h = _log_h(h0_t[marks], lp_t)

    cens_t, cens_s = kaplan_meier_estimator(~event, time)
    rng = np.random.default_rng(seed)
    ratios = []
    for _ in range(n_rep):
        # event time: first grid time where the stand-in's cumulative hazard passes Exp(1)
        need = rng.exponential(size=len(y))
        H = h0_t[None, :] * np.exp(lp_t)[:, None]
        j = (H < need[:, None]).sum(axis=1)
        t_event = np.where(j < len(grid), grid[np.minimum(j, len(grid) - 1)], np.inf)
        t_event = np.maximum(t_event, grid[1] / 2)
        # censoring time from the reverse Kaplan-Meier curve (the last time if never reached)
        k = np.searchsorted(-cens_s, -rng.random(len(y)), side="left")
        t_cens = np.where(k < len(cens_t), cens_t[np.minimum(k, len(cens_t) - 1)], time.max())
        y_rep = np.empty(len(y), dtype=y.dtype)
        y_rep[e_name] = t_event <= t_cens
        y_rep[t_name] = np.minimum(t_event, t_cens)
        if y_rep[e_name].sum() < 10:
            continue
        coef_r, h0_r = _fit_cox(lambda: make_step(alpha), Z, y_rep, grid)
        err = np.abs(_log_h(h0_r[marks], Zn @ coef_r) - true_log_h)
        ratios.append(err / half)
    if not ratios:
        return {"inflation": 1.0, "replicates": 0, "note": "too few simulated deaths"}
    r = np.concatenate(ratios)
    return {
        "inflation": float(max(1.0, np.quantile(r, COVERAGE))),
        "by_landmark": {
            name: float(np.quantile(r[:, i], COVERAGE)) for i, name in enumerate(inside)
        },
        "replicates": len(ratios),
        "pseudo_penalty_ratio": ratio,
        "stand_in": "every declared interaction on the main-effect knots, "
        f"{ratio:g} x the chosen penalty",
    }
