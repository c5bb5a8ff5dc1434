"""Cross-validated tuning of both model families on the same folds.

Two scores, with the censoring distribution estimated from the whole training set: the
integrated Brier score (IBS, a proper score: it rewards right curves, not only a right
ranking) and Uno's concordance truncated at a stated horizon (``tau``). The Cox model's
design and penalty are chosen by the IBS; the forest's settings by Uno's C. Both families
are scored on identical folds, so their cross-validated IBS decide the bundle's default
(training/fit.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from joblib import delayed
from sklearn.model_selection import StratifiedKFold
from sksurv.metrics import integrated_brier_score
from tqdm.auto import tqdm

from model.predict import risk_score, survival_on_grid
from model.schema import Schema
from model.timeaxis import LANDMARKS
from training import cluster
from training.concordance import concordance_ipcw, concordance_ipcw_each
from training.estimators import (
    COX_TERMS,
    DECLARED_TERMS,
    distinct_terms,
    fit_quietly,
    make_coxnet,
    make_rsf,
    round_times,
)
from training.metrics import ibs_times

__all__ = [
    "COXNET_L1_RATIOS",
    "RSF_GRID",
    "TuningResult",
    "best_by_design",
    "breslow_on_times",
    "coxnet_paths",
    "cv_repeats",
    "brier_weights",
    "coxnet_l1_ratios",
    "forest_candidates",
    "integrated_brier",
    "make_folds",
    "shown_settings",
    "prespecified_designs",
    "repeated_folds",
    "tune_coxnet",
    "tune_rsf",
]

COXNET_L1_RATIOS = (0.2, 0.5, 0.9)
# Above this many patients only the middle l1 ratio is tried. With so many patients per
# coefficient the penalty barely shrinks, and the mix of lasso and ridge in it matters less
# still: at 20,000 (benchmarks/scale.py) the best cross-validated IBS of the three ratios
# were 0.142403, 0.142397 and 0.142389: the largest difference, 0.000014, is 1 % of the
# fold-to-fold SD of the IBS (0.0014), while each ratio's penalty paths cost a third of the
# Cox tuning.
COXNET_ONE_L1_N = 20000
IBS_CHUNK = 5  # penalties whose curves are held at once when scoring a path
# The Cox model's design and penalty are chosen on this many splits into folds, pooled. On
# one split of 110 patients the least penalty within a standard error of the best
# (_least_penalty) fell now and then to a hundredth of what another split gives, and the
# model's error with it (benchmarks/design_choice.py, 12 draws a world at n = 110: mean
# absolute error of S(36) with every input known 0.140 -> 0.121 in the milan world, 0.119 ->
# 0.114 in nonph, 0.104 -> 0.102 in linear, 0.102 -> 0.099 in the independent world; at 500
# and 2,000 within 0.001 or better). Each split costs a tuning: above COXNET_ONE_L1_N
# patients, where folds of thousands agree, one.
CV_REPEATS = 3
SPLIT_SEED_STEP = 7919
RSF_GRID = (
    {"min_samples_leaf": 8, "max_features": "sqrt"},
    {"min_samples_leaf": 15, "max_features": "sqrt"},
    {"min_samples_leaf": 30, "max_features": "sqrt"},
    {"min_samples_leaf": 15, "max_features": 0.5},
)
RSF_TUNING_TREES = 100
# Above this many patients every tree grows on a bootstrap sample of this many (scikit-learn's
# ``max_samples``) with the grid's leaf sizes, so each tree is the tree of a 2,000-patient
# forest: building it costs the same at any n, and the forest's file, load and prediction
# times stay those of 2,000 patients, while its 200 trees together still see the whole
# registry. Measured at 20,000 patients (200 trees, leaf 15, test 5,000 against the
# simulator's truth): trees on 2,000 patients each gave Harrell C 0.754, IBS 0.152 and mean
# absolute error of S(36) 0.081 in 11.5 s; leaves grown in proportion to n on full
# resamples instead (150 patients a leaf) gave 0.752, 0.154 and 0.089 in 157 s.
# At and below this size the forest is unchanged (full bootstrap samples).
RSF_TREE_SAMPLE = 2000


@dataclass
class TuningResult:
    """The chosen hyper-parameters and the score of every candidate."""

    model: str
    params: dict
    cv_score: float
    fold_scores: list[float]
    candidates: list[dict] = field(default_factory=list)
    cv_ibs: float | None = None  # cross-validated integrated Brier score of the chosen settings
    designs: list[dict] = field(default_factory=list)  # the best settings of each design
    repeats: int = 1  # splits into folds pooled in the choice (designs' scores are over all)
    allowed: list[str] | None = None  # a pre-specified search's designs; None: every one
    # the Cox design's check of proportional hazards (training/time_pieces.py), for the report
    proportional_hazards: dict | None = None

    def to_dict(self) -> dict:
        return {
            "model": self.model,
            "params": self.params,
            "cv_uno_c": self.cv_score,
            "cv_ibs": self.cv_ibs,
            "fold_uno_c": self.fold_scores,
            "candidates": self.candidates,
            **({"designs": self.designs} if self.designs else {}),
            **({"cv_repeats": self.repeats} if self.repeats > 1 else {}),
            **({"designs_allowed": self.allowed} if self.allowed else {}),
        }


def make_folds(y: np.ndarray, n_splits: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stratified on the event indicator so every fold has deaths."""
    event = y[y.dtype.names[0]].astype(int)
    n_splits = int(min(n_splits, max(2, event.sum() // 5), (1 - event).sum() or n_splits))
    skf = StratifiedKFold(n_splits=max(n_splits, 2), shuffle=True, random_state=seed)
    return list(skf.split(np.zeros(len(y)), event))


def _uno(y_all, y_test, risk, tau) -> float:
    return concordance_ipcw(y_all, y_test, risk, tau=tau)


def breslow_on_times(
    time: np.ndarray, event: np.ndarray, lp: np.ndarray, times: np.ndarray
) -> np.ndarray:
    """Breslow's baseline cumulative hazard at ``times`` for several linear predictors at once.

    ``lp`` is (patients, models); the result is (models, len(times)), what
    :class:`sksurv.linear_model.coxph.BreslowEstimator` gives model by model: at each
    distinct event time the deaths divided by the summed risk of everyone still at risk,
    summed up to the time asked.
    """
    order = np.argsort(time, kind="stable")
    t, d = time[order], event[order].astype(bool)
    risk = np.exp(lp[order] - lp.max(axis=0, keepdims=True))  # common shift per model
    at_risk = np.cumsum(risk[::-1], axis=0)[::-1]  # row j: risk summed over rows >= j
    u, deaths = np.unique(t[d], return_counts=True)
    first = np.searchsorted(t, u, side="left")
    h0 = np.cumsum(deaths[:, None] / at_risk[first], axis=0)  # (event times, models)
    k = np.searchsorted(u, times, side="right") - 1
    out = np.where(k[:, None] >= 0, h0[np.clip(k, 0, None)], 0.0).T
    # undo the shift: exp(lp - m) * H = exp(lp) * H exp(-m)
    return out * np.exp(-lp.max(axis=0))[:, None]


def brier_weights(y_all: np.ndarray, y_test: np.ndarray, times: np.ndarray):
    """Inverse-probability-of-censoring weights of the Brier score at ``times``, as
    :func:`sksurv.metrics.brier_score` computes them (censoring distribution from ``y_all``).

    Returns (case, control), each (test patients, times): a death by t weighs 1/G(T),
    a patient still at risk after t weighs 1/G(t), anyone else 0.
    """
    from sksurv.nonparametric import CensoringDistributionEstimator

    event, time = y_test[y_test.dtype.names[0]].astype(bool), y_test[y_test.dtype.names[1]]
    cens = CensoringDistributionEstimator().fit(y_all)
    g_t, g_y = cens.predict_proba(times), cens.predict_proba(time)
    g_t[g_t == 0], g_y[g_y == 0] = np.inf, np.inf
    case = ((time[:, None] <= times[None, :]) & event[:, None]) / g_y[:, None]
    control = (time[:, None] > times[None, :]) / g_t[None, :]
    return case, control


def integrated_brier(surv: np.ndarray, case: np.ndarray, control: np.ndarray, times) -> np.ndarray:
    """Integrated Brier score of several models' curves at once: ``surv`` is (models,
    patients, times); the trapezoid rule over ``times`` as in scikit-survival."""
    bs = np.mean(surv**2 * case[None] + (1.0 - surv) ** 2 * control[None], axis=1)
    return np.trapezoid(bs, times, axis=1) / (times[-1] - times[0])


@dataclass
class _Path:
    """One design and l1 ratio: the penalty path and its scores on every fold."""

    terms: str
    l1_ratio: float
    alphas: np.ndarray
    ibs: np.ndarray  # (folds, alphas)
    test_lp: list  # per fold, (test patients, alphas)

    @property
    def mean_ibs(self) -> np.ndarray:
        return self.ibs.mean(axis=0)


def _imputed(X, schema, seed, train, test) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """The encoded, imputed rows ``train`` (imputer fitted on them) and ``test`` (or None)."""
    pre = make_coxnet(schema, seed=seed)[:2]
    fitted = pre.fit_transform(X.iloc[train])
    return fitted, (None if test is None else pre.transform(X.iloc[test]))


def _fold_designs(imputed, schema, designs, seed):
    """Per fold, the imputed features expanded and scaled for every design: the outcome-free
    preprocessing is fitted once per fold."""
    out = []
    for imp_tr, imp_te in imputed:
        per = {}
        for terms in designs:
            post = make_coxnet(schema, seed=seed, terms=terms)[2:-1]
            per[terms] = (post.fit_transform(imp_tr), post.transform(imp_te))
        out.append(per)
    return out


def fold_ibs_times(y: np.ndarray, folds, grid: np.ndarray, ibs_max: float) -> list[np.ndarray]:
    """Each fold's times where the integrated Brier score is scored (monthly points suffice
    to rank candidates); a fold whose held-out patients were all followed past the last
    landmark has none, which is how survival times in days read as months show."""
    times = [ibs_times(y[te], grid[::2], ibs_max) for _, te in folds]
    for k, (t, (_, te)) in enumerate(zip(times, folds, strict=True)):
        if not len(t):
            first = float(y[te][y.dtype.names[1]].min())
            raise ValueError(
                f"cross-validation cannot score the models: in fold {k + 1} every patient's "
                f"survival time is {first:g} months or longer, past the last landmark "
                f"({ibs_max:g} months); check the time unit of the survival times and the "
                "landmarks (the schema's time: unit and landmarks)"
            )
    return times


def _cv_path(y, schema, folds, fold_z, full_z, terms, l1, times, seed) -> _Path:
    """The penalty path of one design and l1 ratio, scored by IBS on every fold."""
    e, t = y.dtype.names
    path = fit_quietly(make_coxnet(schema, l1, seed=seed)[-1], full_z[terms], y).alphas_
    ibs = np.full((len(folds), len(path)), np.nan)
    test_lp = []
    for k, (tr, te) in enumerate(folds):
        z_tr, z_te = fold_z[k][terms]
        est = fit_quietly(make_coxnet(schema, l1, alphas=path, seed=seed)[-1], z_tr, y[tr])
        # (features, alphas); the offset cancels in the Breslow curve. A fold's path may stop
        # early once the fit no longer improves: its last model stands for the rest.
        coef = est.coef_[:, np.minimum(np.arange(len(path)), est.coef_.shape[1] - 1)]
        lp_tr, lp_te = z_tr.to_numpy() @ coef, z_te.to_numpy() @ coef
        h0 = breslow_on_times(y[tr][t], y[tr][e], lp_tr, times[k])
        weights = brier_weights(y, y[te], times[k])
        # a few penalties at a time: all curves of a path at once are (penalties x patients
        # x times), some 300 MB per array for a fold of 20,000 test patients (100,000 in all)
        for a in range(0, len(path), IBS_CHUNK):
            part = slice(a, a + IBS_CHUNK)
            surv = np.exp(-np.exp(lp_te[:, part].T)[:, :, None] * h0[part, None, :])
            ibs[k, part] = integrated_brier(surv, *weights, times[k])
        test_lp.append(lp_te)
    return _Path(terms, l1, np.asarray(path), ibs, test_lp)


def _choose_terms(best: dict[str, tuple[_Path, int]], test_share: float = 0.0) -> str:
    """The simplest design whose best IBS is not beaten by a richer one by more than the
    standard error of their paired fold differences: a richer design must earn its terms on
    every fold, not by chance on one.

    Fold differences share most of their training patients, so they vary less than
    independent ones would; the variance of their mean is corrected for it by ``test_share``
    (a fold's test patients over its training patients; Nadeau & Bengio 2003: (1/J +
    test_share) times the variance of the J differences, not 1/J)."""
    designs = list(best)
    chosen = designs[0]
    for richer in designs[1:]:
        a, b = best[chosen], best[richer]
        diff = a[0].ibs[:, a[1]] - b[0].ibs[:, b[1]]  # > 0: the richer design is better
        se = np.sqrt(diff.var(ddof=1) * (1 / len(diff) + test_share)) if len(diff) > 1 else 0.0
        if diff.mean() > se:
            chosen = richer
    return chosen


def _choose_design(best: dict[str, tuple[_Path, int]], test_share: float) -> str:
    """The design to serve: :func:`_choose_terms` among the designs the schema declares, then
    one it does not declare (every numeric feature bent) only where that beats the choice by
    the standard error corrected for overlapping folds (``test_share``).

    Measured over 12, 8 and 6 draws at n = 110, 500 and 2,000 in four worlds
    (benchmarks/design_choice.py): the plain rule let the undeclared design win at n = 110-500
    where it erred more (mean absolute error of S(36) 0.120-0.130 against 0.095-0.112 on three
    draws at 110), while the corrected rule on the declared designs too kept the milan world's
    threshold from its interaction (0.045-0.051 against 0.038-0.043 at 2,000). This rule
    was within 0.002 of the better of the two in every world and size (one split and the
    declared designs alone: up to 0.019 worse, milan at 110)."""
    declared = {d: b for d, b in best.items() if d in DECLARED_TERMS}
    other = {d: b for d, b in best.items() if d not in DECLARED_TERMS}
    if not declared:
        return _choose_terms(other, test_share)
    chosen = _choose_terms(declared)
    return _choose_terms({chosen: best[chosen], **other}, test_share) if other else chosen


def _paired_worse(path: _Path, j: int, best: int) -> bool:
    """Whether penalty ``j`` scores worse than ``best`` by more than the standard error of
    their paired fold differences."""
    diff = path.ibs[:, j] - path.ibs[:, best]
    se = diff.std(ddof=1) / np.sqrt(len(diff)) if len(diff) > 1 else 0.0
    return diff.mean() > se


def _least_penalty(path: _Path, best: int) -> int:
    """The smallest penalty of the path whose IBS is not worse than the best one's by more
    than the standard error of their paired differences.

    The cross-validated IBS is nearly flat around its minimum, and where it is flat it cannot
    tell a shrunk model from a less shrunk one; shrinkage, though, biases every curve towards
    the average (calibration slopes above 1 against the truth in every simulated world) and
    the band inherits that bias. So among the penalties the folds cannot tell apart, the
    least shrunk is kept (the mirror image of the one-standard-error rule, which looks for
    sparsity, not accuracy).
    """
    j = best
    for k in range(best + 1, len(path.alphas)):  # alphas decrease along the path
        if _paired_worse(path, k, best):
            break
        j = k
    return j


def cv_repeats(n: int) -> int:
    """How many splits into folds the Cox model is tuned on for ``n`` patients."""
    return CV_REPEATS if n <= COXNET_ONE_L1_N else 1


def repeated_folds(y: np.ndarray, folds, seed: int, repeats: int) -> list:
    """The shared ``folds``, then ``repeats - 1`` further splits of the same patients into as
    many folds (stratified, seeds stepped from ``seed``)."""
    out = list(folds)
    for r in range(1, repeats):
        out += make_folds(y, len(folds), seed + SPLIT_SEED_STEP * r)
    return out


def coxnet_l1_ratios(n: int) -> tuple[float, ...]:
    """The l1 ratios tried for ``n`` patients (see :data:`COXNET_ONE_L1_N`)."""
    return COXNET_L1_RATIOS if n <= COXNET_ONE_L1_N else (COXNET_L1_RATIOS[1],)


def coxnet_paths(
    X: pd.DataFrame,
    y: np.ndarray,
    schema: Schema,
    folds,
    grid: np.ndarray,
    seed: int = 0,
    l1_ratios=None,
    progress: bool = True,
    ibs_max: float = max(LANDMARKS),
    designs: tuple[str, ...] | None = None,
    n_jobs: int = 2,
) -> list[_Path]:
    """The penalty path of every design and l1 ratio, each penalty scored by integrated Brier
    score on every fold (``designs``: :func:`distinct_terms` of the schema by default)."""
    designs = distinct_terms(schema) if designs is None else tuple(designs)
    if l1_ratios is None:
        l1_ratios = coxnet_l1_ratios(len(y))
    bar = tqdm(
        total=len(designs) * len(l1_ratios) + 1,
        desc="tune coxnet",
        disable=not progress,
        mininterval=1.0,
        leave=False,
    )
    # the imputers (the slowest preprocessing, on every fold and on all patients) in parallel
    every = np.arange(len(y))
    *per_fold, (imputed, _) = cluster.parallel(n_jobs, shared=(X,))(
        delayed(_imputed)(X, schema, seed, tr, te) for tr, te in [*folds, (every, None)]
    )
    fold_z = _fold_designs(per_fold, schema, designs, seed)
    full_z = {
        d: make_coxnet(schema, seed=seed, terms=d)[2:-1].fit_transform(imputed) for d in designs
    }
    bar.update()
    # monthly points suffice to rank candidates
    times = fold_ibs_times(y, folds, grid, ibs_max)
    # one task per design and l1 ratio (its penalty path over every fold), in order
    tasks = cluster.parallel(n_jobs, shared=(fold_z, full_z), return_as="generator")(
        delayed(_cv_path)(y, schema, folds, fold_z, full_z, terms, l1, times, seed)
        for terms in designs
        for l1 in l1_ratios
    )
    paths = []
    for path in tasks:
        paths.append(path)
        bar.update()
    bar.close()
    return paths


def best_by_design(paths: list[_Path]) -> dict[str, tuple[_Path, int]]:
    """Per design, the path (l1 ratio) and penalty index with the lowest mean IBS."""
    best = {}
    for p in paths:
        j = int(np.argmin(p.mean_ibs))
        if p.terms not in best or p.mean_ibs[j] < best[p.terms][0].mean_ibs[best[p.terms][1]]:
            best[p.terms] = (p, j)
    return best


def tune_coxnet(
    X: pd.DataFrame,
    y: np.ndarray,
    schema: Schema,
    folds,
    tau: float,
    grid: np.ndarray,
    seed: int = 0,
    l1_ratios=None,
    progress: bool = True,
    ibs_max: float = max(LANDMARKS),
    designs: tuple[str, ...] | None = None,
    n_jobs: int = 2,
    repeats: int | None = None,
) -> TuningResult:
    """Choose the design (main effects, declared splines and interactions, every numeric
    feature as splines), the l1 ratio and the penalty by cross-validated integrated Brier
    score, on ``folds`` and ``repeats - 1`` further splits of the same patients pooled
    (:func:`cv_repeats` by default).

    The IBS is a proper score: it rewards curves that are right, not only a right ranking,
    so it does not favour the over-shrunk penalties a concordance-based choice settles on
    (Uno's C is flat near its optimum). Within a design the penalty and l1 ratio with the
    lowest mean IBS over the folds are chosen; between designs a richer one is kept only
    when it beats the simpler by more than the standard error of their paired fold
    differences, and one the schema did not declare by more than that error corrected for
    overlapping folds (:func:`_choose_design`). Uno's C of the chosen design's
    candidates is reported beside, on ``folds``; so is ``cv_ibs``, comparable with another
    family's on the same folds.
    """
    allowed = None if designs is None else prespecified_designs(schema, designs)
    designs = allowed or distinct_terms(schema)
    repeats = cv_repeats(len(y)) if repeats is None else repeats
    every = repeated_folds(y, folds, seed, repeats)
    paths = coxnet_paths(
        X, y, schema, every, grid, seed, l1_ratios, progress, ibs_max, designs, n_jobs
    )
    best = best_by_design(paths)
    terms = _choose_design(best, test_share=1 / max(len(folds) - 1, 1))
    chosen, j = best[terms]
    j = _least_penalty(chosen, j)
    candidates = _candidates([p for p in paths if p.terms == terms], y, folds, tau, n_jobs)
    pick = next(
        c for c in candidates if c["l1_ratio"] == chosen.l1_ratio and c["alpha"] == chosen.alphas[j]
    )
    return TuningResult(
        model="coxnet",
        params={"l1_ratio": chosen.l1_ratio, "alpha": float(chosen.alphas[j]), "terms": terms},
        cv_score=pick["cv_uno_c"],
        fold_scores=pick["folds"],
        candidates=candidates,
        cv_ibs=float(chosen.ibs[: len(folds), j].mean()),
        designs=[
            {
                "terms": d,
                "l1_ratio": p.l1_ratio,
                "alpha": float(p.alphas[i]),
                "cv_ibs": float(p.mean_ibs[i]),
                "fold_ibs": p.ibs[:, i].tolist(),
            }
            for d, (p, i) in best.items()
        ],
        repeats=repeats,
        allowed=list(allowed) if allowed else None,
    )


def prespecified_designs(schema: Schema, names) -> tuple[str, ...]:
    """The Cox designs a pre-specified search may choose among, simplest first (the order
    the choice between designs needs, whatever order they were given in); refused, naming
    the allowed ones, where a name is unknown or is a design this schema does not tell apart
    from a simpler one (splines with no spline declared, interactions with none declared)."""
    names = tuple(dict.fromkeys(n for n in (str(x).strip().lower() for x in names) if n))
    distinct = distinct_terms(schema)
    bad = [n for n in names if n not in distinct]
    if bad or not names:
        why = [
            f"{n} is the same model as a simpler design on this schema"
            if n in COX_TERMS
            else f"{n} is not a design"
            for n in bad
        ]
        raise ValueError(
            f"Cox designs must be among {', '.join(distinct)} on this schema "
            f"({'; '.join(why) if why else 'none given'})"
        )
    return tuple(d for d in distinct if d in names)


def _candidates(paths: list[_Path], y, folds, tau, n_jobs: int = 1) -> list[dict]:
    """Every penalty of the chosen design with its cross-validated IBS and Uno C (one task
    per path and fold: the fold's censoring weights once for all its penalties)."""
    per_fold = cluster.parallel(n_jobs, shared=(y,))(
        delayed(concordance_ipcw_each)(y, y[te], p.test_lp[k], tau)
        for p in paths
        for k, (_, te) in enumerate(folds)
    )
    out = []
    for i, p in enumerate(paths):
        fold_scores = per_fold[i * len(folds) : (i + 1) * len(folds)]
        for j, a in enumerate(p.alphas):
            scores = [f[j] for f in fold_scores]
            if np.isnan(scores).all():  # the largest penalty gives every patient the same risk
                continue
            out.append(
                {
                    "terms": p.terms,
                    "l1_ratio": p.l1_ratio,
                    "alpha": float(a),
                    "cv_ibs": float(p.mean_ibs[j]),
                    "cv_uno_c": float(np.nanmean(scores)),
                    "sd": float(np.nanstd(scores)),
                    "folds": scores,
                }
            )
    return out


def forest_candidates(param_grid, n: int) -> tuple[dict, ...]:
    """The forest candidates for ``n`` patients: above :data:`RSF_TREE_SAMPLE` each tree's
    bootstrap sample is that many patients; at and below it the grid as written."""
    if n <= RSF_TREE_SAMPLE:
        return tuple(param_grid)
    return tuple({**p, "max_samples": RSF_TREE_SAMPLE} for p in param_grid)


def _forest_fold(schema, params, seed, tau, grid, risk_horizon, times, X, y, tr, te):
    """One forest candidate on one fold (a task): held-out Uno C and integrated Brier score
    at the fold's ``times`` (:func:`fold_ibs_times`)."""
    pipe = fit_quietly(
        make_rsf(schema, n_estimators=RSF_TUNING_TREES, seed=seed, n_jobs=1, **params),
        X.iloc[tr],
        round_times(y[tr]),
    )
    g = grid[grid <= pipe[-1].unique_times_[-1]]
    surv = survival_on_grid(pipe, X.iloc[te], g)
    uno = _uno(y, y[te], risk_score(surv, g, min(risk_horizon, g[-1])), tau)
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
    param_grid = forest_candidates(param_grid, len(y))
    times = fold_ibs_times(y, folds, grid, ibs_max)  # the Cox model's; a clear error if none
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
        delayed(_forest_fold)(schema, params, seed, tau, grid, risk_horizon, t, X, y, tr, te)
        for params in param_grid
        for t, (tr, te) in zip(times, folds, strict=True)
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


def shown_settings(params: dict, axis) -> dict:
    """Tuned settings as a reader sees them: time cuts in the schema's unit (the bundle keeps
    them in months), other numbers to four significant digits."""
    out = {}
    for k, v in params.items():
        if k == "time_cuts_months" and v is not None:
            k, v = f"time_cuts_{axis.unit}", [round(float(axis.from_months(c)), 1) for c in v]
        elif isinstance(v, float):
            v = float(f"{v:.4g}")
        out[k] = v
    return out
