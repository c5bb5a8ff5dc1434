"""Cross-validated tuning of both model families on the same folds.

The score is Uno's concordance truncated at a stated horizon (``tau``), with the
censoring distribution estimated from the whole training set. Both families are
scored on identical folds, so their cross-validated scores can be compared
directly and the better one becomes the bundle's default.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from joblib import delayed
from sklearn.model_selection import StratifiedKFold
from sksurv.linear_model.coxph import BreslowEstimator
from sksurv.metrics import integrated_brier_score
from tqdm.auto import tqdm

from model.predict import risk_score, survival_on_grid
from model.schema import Schema
from model.timeaxis import LANDMARKS
from training import cluster
from training.concordance import concordance_ipcw
from training.estimators import fit_quietly, make_coxnet, make_rsf, round_times
from training.metrics import ibs_times

__all__ = ["TuningResult", "make_folds", "tune_coxnet", "tune_rsf", "COXNET_L1_RATIOS", "RSF_GRID"]

COXNET_L1_RATIOS = (0.2, 0.5, 0.9)
RSF_GRID = (
    {"min_samples_leaf": 8, "max_features": "sqrt"},
    {"min_samples_leaf": 15, "max_features": "sqrt"},
    {"min_samples_leaf": 30, "max_features": "sqrt"},
    {"min_samples_leaf": 15, "max_features": 0.5},
)
RSF_TUNING_TREES = 100
# Leaf sizes grow in proportion to the data beyond this many patients, so a forest keeps
# about as many nodes (each storing a curve over the time grid) as at this size: its file,
# load and prediction times stay those of 2,000 patients, and each leaf's curve rests on more
# patients. Growing as sqrt(n) instead gave a 26 MB forest at 5,000 patients (9.9 MB at
# 2,000), on course for twice the 50 MB budget at 20,000 (benchmarks/scale.py). At and
# below this size the grid is used as written.
RSF_LEAF_REFERENCE_N = 2000
# Uno C differences below this are within fold-to-fold noise (fold SDs are near 0.01)
C_TOLERANCE = 0.002


@dataclass
class TuningResult:
    """The chosen hyper-parameters and the score of every candidate."""

    model: str
    params: dict
    cv_score: float
    fold_scores: list[float]
    candidates: list[dict] = field(default_factory=list)
    cv_ibs: float | None = None  # cross-validated integrated Brier score of the chosen settings

    def to_dict(self) -> dict:
        return {
            "model": self.model,
            "params": self.params,
            "cv_uno_c": self.cv_score,
            "cv_ibs": self.cv_ibs,
            "fold_uno_c": self.fold_scores,
            "candidates": self.candidates,
        }


def make_folds(y: np.ndarray, n_splits: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stratified on the event indicator so every fold has deaths."""
    event = y[y.dtype.names[0]].astype(int)
    n_splits = int(min(n_splits, max(2, event.sum() // 5), (1 - event).sum() or n_splits))
    skf = StratifiedKFold(n_splits=max(n_splits, 2), shuffle=True, random_state=seed)
    return list(skf.split(np.zeros(len(y)), event))


def _uno(y_all, y_test, risk, tau) -> float:
    return concordance_ipcw(y_all, y_test, risk, tau=tau)


def _coxnet_fold(schema, l1, path, seed, tau, X, y, tr, te):
    """One fold of one l1 ratio's penalty path (a task): the fitted Cox step, both folds'
    features and the held-out Uno C of every penalty (NaN where all risks are equal)."""
    pipe = fit_quietly(make_coxnet(schema, l1, alphas=path, seed=seed), X.iloc[tr], y[tr])
    z = pipe[:-1].transform(X.iloc[te])  # transform once, score every penalty
    scores = np.full(len(pipe[-1].alphas_), np.nan)
    for j, a in enumerate(pipe[-1].alphas_):
        risk = pipe[-1].predict(z, alpha=a)
        if np.ptp(risk) > 0:  # the largest penalty gives every patient the same risk
            scores[j] = _uno(y, y[te], risk, tau)
    return pipe[-1], pipe[:-1].transform(X.iloc[tr]), z, scores


def tune_coxnet(
    X: pd.DataFrame,
    y: np.ndarray,
    schema: Schema,
    folds,
    tau: float,
    grid: np.ndarray,
    seed: int = 0,
    l1_ratios=COXNET_L1_RATIOS,
    progress: bool = True,
    ibs_max: float = max(LANDMARKS),
    n_jobs: int = 2,
) -> TuningResult:
    """Choose the l1 ratio and the penalty on the cross-validated Uno C.

    Uno's C is flat near its optimum, where a range of penalties rank patients
    equally well but shrink predicted survival towards the average by different
    amounts. Among the penalties within ``C_TOLERANCE`` of the best mean Uno C,
    the one with the lowest cross-validated integrated Brier score is chosen, so
    discrimination decides first and accuracy of the predicted curves breaks ties.
    """
    candidates, fitted = [], {}
    bar = tqdm(
        total=len(l1_ratios) * (len(folds) + 1),
        desc="tune coxnet",
        disable=not progress,
        mininterval=1.0,
        leave=False,
    )
    for l1 in l1_ratios:
        path = fit_quietly(make_coxnet(schema, l1, seed=seed), X, y)[-1].alphas_
        bar.update()
        scores = np.full((len(folds), len(path)), np.nan)
        tasks = cluster.parallel(n_jobs, return_as="generator")(
            delayed(_coxnet_fold)(schema, l1, path, seed, tau, X, y, tr, te) for tr, te in folds
        )
        for k, (est, z_tr, z_te, fold_scores) in enumerate(tasks):
            fitted[l1, k] = (est, z_tr, z_te)
            scores[k, : len(fold_scores)] = fold_scores
            bar.update()
        mean = np.nanmean(scores, axis=0)
        for j, a in enumerate(path):
            if np.isfinite(mean[j]):
                candidates.append(
                    {
                        "l1_ratio": l1,
                        "alpha": float(a),
                        "cv_uno_c": float(mean[j]),
                        "sd": float(np.nanstd(scores[:, j])),
                        "folds": scores[:, j].tolist(),
                    }
                )
    bar.close()
    top = max(c["cv_uno_c"] for c in candidates)
    near = [c for c in candidates if c["cv_uno_c"] >= top - C_TOLERANCE]
    for c in near:
        ibs = []
        for k, (tr, te) in enumerate(folds):
            est, z_tr, z_te = fitted[c["l1_ratio"], k]
            # monthly points suffice to rank candidates
            times = ibs_times(y[te], grid[::2], ibs_max)
            # the Breslow baseline that fit_baseline_model=True would store, for this penalty only
            breslow = BreslowEstimator().fit(
                est.predict(z_tr, alpha=c["alpha"]),
                y[tr][y.dtype.names[0]],
                y[tr][y.dtype.names[1]],
            )
            h0 = breslow.cum_baseline_hazard_
            cols = np.clip(np.searchsorted(h0.x, times, side="right") - 1, 0, None)
            lp = est.predict(z_te, alpha=c["alpha"])
            surv = np.exp(-np.outer(np.exp(lp), np.where(times < h0.x[0], 0.0, h0.y[cols])))
            ibs.append(float(integrated_brier_score(y, y[te], surv, times)))
        c["cv_ibs"] = float(np.mean(ibs))
    best = min(near, key=lambda c: c["cv_ibs"])
    return TuningResult(
        model="coxnet",
        params={"l1_ratio": best["l1_ratio"], "alpha": best["alpha"]},
        cv_score=best["cv_uno_c"],
        fold_scores=best["folds"],
        candidates=candidates,
        cv_ibs=best["cv_ibs"],
    )


def leaf_sizes_for(param_grid, n: int) -> tuple[dict, ...]:
    """The forest candidates with leaf sizes for ``n`` patients (see RSF_LEAF_REFERENCE_N)."""
    scale = max(1.0, n / RSF_LEAF_REFERENCE_N)
    return tuple(
        {**p, "min_samples_leaf": int(round(p["min_samples_leaf"] * scale))} for p in param_grid
    )


def _forest_fold(schema, params, seed, tau, grid, risk_horizon, ibs_max, X, y, tr, te):
    """One forest candidate on one fold (a task): held-out Uno C and integrated Brier score."""
    pipe = fit_quietly(
        make_rsf(schema, n_estimators=RSF_TUNING_TREES, seed=seed, n_jobs=1, **params),
        X.iloc[tr],
        round_times(y[tr]),
    )
    g = grid[grid <= pipe[-1].unique_times_[-1]]
    surv = survival_on_grid(pipe, X.iloc[te], g)
    uno = _uno(y, y[te], risk_score(surv, g, min(risk_horizon, g[-1])), tau)
    times = ibs_times(y[te], grid[::2], ibs_max)
    # the curve held at its last value past the forest's last time
    cols = np.clip(np.searchsorted(g, times, side="right") - 1, 0, len(g) - 1)
    return uno, float(integrated_brier_score(y, y[te], surv[:, cols], times))


def tune_rsf(
    X: pd.DataFrame,
    y: np.ndarray,
    schema: Schema,
    folds,
    tau: float,
    grid: np.ndarray,
    risk_horizon: float,
    seed: int = 0,
    param_grid=RSF_GRID,
    n_jobs: int = 2,
    progress: bool = True,
    ibs_max: float = max(LANDMARKS),
) -> TuningResult:
    """Choose leaf size and features per split on the cross-validated Uno C; the chosen
    settings' integrated Brier score on the same folds and times as the Cox model's is kept,
    so that the two families can be compared by a proper score."""
    param_grid = leaf_sizes_for(param_grid, len(y))
    candidates = []
    bar = tqdm(
        total=len(param_grid) * len(folds),
        desc="tune forest",
        disable=not progress,
        mininterval=1.0,
        leave=False,
    )
    # every (candidate, fold) pair is one single-threaded task, so both cores (or every
    # worker of a cluster) stay busy; results come back in submission order
    tasks = cluster.parallel(n_jobs, return_as="generator")(
        delayed(_forest_fold)(schema, params, seed, tau, grid, risk_horizon, ibs_max, X, y, tr, te)
        for params in param_grid
        for tr, te in folds
    )
    for params in param_grid:
        scores, ibs = [], []
        for _ in folds:
            uno, brier = next(tasks)
            scores.append(uno)
            ibs.append(brier)
            bar.update()
        candidates.append(
            {
                **params,
                "cv_uno_c": float(np.mean(scores)),
                "sd": float(np.std(scores)),
                "folds": scores,
                "cv_ibs": float(np.mean(ibs)),
            }
        )
    bar.close()
    best = max(candidates, key=lambda c: c["cv_uno_c"])
    return TuningResult(
        model="rsf",
        params={k: best[k] for k in param_grid[0]},
        cv_score=best["cv_uno_c"],
        fold_scores=best["folds"],
        candidates=candidates,
        cv_ibs=best["cv_ibs"],
    )
