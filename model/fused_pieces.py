"""A Cox model in time pieces whose hazard ratios may change between pieces only as far as
the data pay for: each later piece's coefficients are the first piece's plus a deviation,
and the deviations carry their own elastic-net penalty, ``fusion`` times the model's.

Time pieces that refit every coefficient (:class:`model.piecewise.PiecewiseCox`) spend a
dozen coefficients a piece to follow one factor whose effect fades; the lasso part of the
deviations' penalty keeps the factors that do not change at one hazard ratio for all time,
so one fading effect can be served where the pieces did not pay. A large ``fusion`` is the
proportional-hazards model, a small one the pieces fitted apart.

Fitted by the joint partial likelihood, stratified by piece: within a piece the patients
alive at its start, their times counted from it and censored at its end
(:func:`model.piecewise.alive_in_piece`). The risk set of a death in piece k is then every
patient alive at that time, as in the counting-process model with piece-constant
coefficients, so with every deviation zero the objective is the proportional-hazards
model's own. Objective, as coxnet's: minus the log partial likelihood (Breslow ties) over
the number of patients, plus ``alpha`` (l1 |b|_1 + (1 - l1) |b|^2 / 2) on the first piece
and ``fusion`` x that on each deviation. Solved by L-BFGS-B on the positive and negative
parts of the coefficients (the lasso's zeros are exact at the bounds). Each piece's baseline
is Breslow's on its own patients, so the cumulative hazard adds the pieces' as for
:class:`~model.piecewise.PiecewiseCox`, which this class is to every caller.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from sksurv.linear_model.coxph import BreslowEstimator
from threadpoolctl import threadpool_limits

from model.piecewise import EmptyPieceError, PiecewiseCox, alive_in_piece, heavier_until_fitted
from model.predict import steps_on_grid
from model.timeaxis import RISK_HORIZON

__all__ = ["FusedPiecewiseCox", "breslow_loglik", "fit_fused", "fusion_max", "one_piece"]

# L-BFGS-B's stopping rule, on an objective of order 1 (a log-likelihood per patient): held-out
# log-likelihoods of the check within 0.011 units of those at 1e-12 (2,000 patients, 36
# features), in 60 % of the time
TOLERANCE = 1e-9
MAX_ITER = 10_000
# a linear predictor spanning more than this (e^60 between two patients) has run off
MOST_SPAN = 60.0


def _sorted_piece(Z: np.ndarray, y: np.ndarray):
    """A piece's features in decreasing time, its deaths, and for each row the last row
    tied with it (the risk set of a time is every row up to there)."""
    e, t = y.dtype.names
    order = np.argsort(-y[t], kind="stable")
    times = y[t][order]
    last = np.searchsorted(-times, -times, side="right") - 1
    return Z[order], y[e][order].astype(bool), last


def _loglik_and_score(Zs: np.ndarray, dead: np.ndarray, last: np.ndarray, coef: np.ndarray):
    lp = Zs @ coef
    shift = lp.max()
    w = np.exp(lp - shift)
    s0 = np.cumsum(w)[last][dead]
    s1 = np.cumsum(w[:, None] * Zs, axis=0)[last][dead]
    loglik = float(np.sum(lp[dead] - shift - np.log(s0)))
    return loglik, (Zs[dead] - s1 / s0[:, None]).sum(axis=0)


def breslow_loglik(Z: np.ndarray, y: np.ndarray, coef: np.ndarray) -> float:
    """The Cox log partial likelihood of ``coef`` on (Z, y), Breslow's handling of ties."""
    Zs, dead, last = _sorted_piece(np.asarray(Z, dtype=float), y)
    return _loglik_and_score(Zs, dead, last, np.asarray(coef, dtype=float))[0]


def fit_fused(
    Z, y: np.ndarray, cuts, alpha: float, l1_ratio: float, fusion: float, start=None
) -> tuple[np.ndarray, np.ndarray]:
    """Coefficients (pieces x features) minimising the module's objective, and the solver's
    point (a warm start for a nearby ``fusion``). ArithmeticError where it ran off."""
    Z = np.asarray(Z, dtype=float)
    n, p = Z.shape
    edges = [0.0, *sorted(float(c) for c in cuts), np.inf]
    k = len(edges) - 1
    pieces = []
    for a, b in zip(edges[:-1], edges[1:], strict=True):
        alive, piece = alive_in_piece(y, a, b)
        if not piece[y.dtype.names[0]].any():
            raise EmptyPieceError(f"no deaths between {a:g} and {b:g}: a time piece needs some")
        pieces.append(_sorted_piece(Z[alive], piece))
    lam = np.r_[np.full(p, alpha), np.full(p * (k - 1), alpha * fusion)]

    def objective(x):
        theta = x[: p * k] - x[p * k :]
        base, score, loglik = theta[:p], np.zeros(p * k), 0.0
        for j, (Zs, dead, last) in enumerate(pieces):
            coef = base + theta[p * j : p * (j + 1)] if j else base
            ll, g = _loglik_and_score(Zs, dead, last, coef)
            loglik += ll
            score[:p] += g
            if j:
                score[p * j : p * (j + 1)] += g
        grad = -score / n + lam * (1 - l1_ratio) * theta
        value = -loglik / n + np.sum(
            lam * (l1_ratio * (x[: p * k] + x[p * k :]) + (1 - l1_ratio) / 2 * theta**2)
        )
        return value, np.r_[grad + lam * l1_ratio, -grad + lam * l1_ratio]

    x0 = np.zeros(2 * p * k) if start is None else np.asarray(start, dtype=float)
    # L-BFGS-B's own steps are small vector operations: OpenBLAS's threads cost more than
    # they do (4x slower on 2 busy cores, 144 variables)
    with np.errstate(over="ignore", invalid="ignore"), threadpool_limits(1, user_api="blas"):
        res = minimize(
            objective,
            x0,
            jac=True,
            method="L-BFGS-B",
            bounds=[(0.0, None)] * (2 * p * k),
            options={"maxiter": MAX_ITER, "ftol": TOLERANCE, "gtol": TOLERANCE},
        )
    theta = res.x[: p * k] - res.x[p * k :]
    coefs = np.array([theta[:p] + (theta[p * j : p * (j + 1)] if j else 0.0) for j in range(k)])
    span = np.ptp(Z @ coefs.T, axis=0).max() if n else 0.0
    if not (np.isfinite(res.fun) and np.isfinite(coefs).all()) or span > MOST_SPAN:
        raise ArithmeticError(f"fused time pieces at penalty {alpha:.3g} ran off")
    # a solver that stopped early, or ended above the null model's objective, did not fit
    if res.nit >= MAX_ITER or res.fun > objective(np.zeros_like(x0))[0]:
        raise ArithmeticError(f"fused time pieces at penalty {alpha:.3g} did not converge")
    return coefs, res.x


def one_piece(Z, y: np.ndarray, alpha: float, l1_ratio: float) -> np.ndarray:
    """The coefficients with every deviation zero: the proportional-hazards model under this
    module's objective."""
    return fit_fused(np.asarray(Z, dtype=float), y, (), alpha, l1_ratio, 1.0)[0][0]


def fusion_max(Z, y: np.ndarray, cuts, alpha: float, l1_ratio: float, base=None) -> float:
    """The lightest fusion at which every deviation is zero: where the fused path starts,
    as coxnet's largest penalty is where its path starts.

    With every deviation zero the fit is the one-piece model's; a deviation stays at zero
    while the score of its piece's partial likelihood at that fit is within the lasso part
    of its penalty (``fusion * alpha * l1_ratio`` per patient). So the fusion at which the
    first factor starts to change is that largest score over ``alpha * l1_ratio``. It
    depends on the design and the penalty: the same fusion leaves every deviation at zero
    under one model's penalty and frees dozens under a lighter one's. ``base``: the one-piece
    fit's coefficients where they are at hand (:func:`one_piece`; the same for any cuts).
    """
    if not l1_ratio > 0:
        raise ValueError("a fusion that keeps deviations at zero needs a lasso part (l1_ratio > 0)")
    Z = np.asarray(Z, dtype=float)
    if base is None:
        base = one_piece(Z, y, alpha, l1_ratio)
    edges = [0.0, *sorted(float(c) for c in cuts), np.inf]
    largest = 0.0
    for a, b in zip(edges[1:-1], edges[2:], strict=True):
        alive, piece = alive_in_piece(y, a, b)
        if not piece[y.dtype.names[0]].any():
            raise EmptyPieceError(f"no deaths between {a:g} and {b:g}: a time piece needs some")
        _, score = _loglik_and_score(*_sorted_piece(Z[alive], piece), base)
        largest = max(largest, float(np.abs(score).max()) / len(y))
    if not largest > 0:
        raise ArithmeticError("no deviation can enter: the pieces' scores are all zero")
    return largest / (alpha * l1_ratio)


class FusedPiecewiseCox(PiecewiseCox):
    """Cox model in time pieces, the later pieces' coefficients fused towards the first's.

    Parameters
    ----------
    estimator : CoxnetSurvivalAnalysis
        Unfitted, with one penalty (``alphas=[alpha]``): its penalty and ``l1_ratio`` are
        the first piece's.
    cuts, horizon : as :class:`~model.piecewise.PiecewiseCox`.
    fusion : float
        The deviations' penalty over the first piece's.

    Attributes
    ----------
    coefs_, edges_, alphas_, unique_times_ : as :class:`~model.piecewise.PiecewiseCox`.
    piece_alphas_ : list of float
        The penalty the first piece took (heavier than asked where the data could not
        support it), then each deviation's.
    baselines_ : list of step functions
        Each piece's Breslow baseline cumulative hazard, times counted from the piece's
        start.
    """

    def __init__(self, estimator=None, cuts=(), horizon: float = RISK_HORIZON, fusion=1.0):
        super().__init__(estimator, cuts, horizon)
        self.fusion = fusion

    def fit(self, X, y):
        Xd = X if isinstance(X, pd.DataFrame) else pd.DataFrame(np.asarray(X, dtype=float))
        Z = Xd.to_numpy(dtype=float)
        params = self.estimator.get_params()
        l1_ratio = float(params["l1_ratio"])
        # where the data cannot support the penalty (a bootstrap replicate, a piece with few
        # deaths), heavier ones are tried, as for the pieces fitted apart
        alpha, coefs = heavier_until_fitted(
            lambda a: (a, fit_fused(Z, y, self.cuts, a, l1_ratio, self.fusion)[0]),
            float(params["alphas"][0]),
        )
        edges = np.array([0.0, *sorted(float(c) for c in self.cuts), np.inf])
        e = y.dtype.names[0]
        baselines = []
        for coef, a, b in zip(coefs, edges[:-1], edges[1:], strict=True):
            alive, piece = alive_in_piece(y, a, b)
            fn = BreslowEstimator().fit(Z[alive] @ coef, piece[e], piece[y.dtype.names[1]])
            baselines.append(fn.cum_baseline_hazard_)
        self.baselines_ = baselines
        self.edges_ = edges
        self.coefs_ = coefs
        self.alphas_ = np.array([float(params["alphas"][0])])
        self.piece_alphas_ = [alpha] + [alpha * float(self.fusion)] * (len(coefs) - 1)
        self.feature_names_in_ = np.asarray(Xd.columns, dtype=object)
        self.n_features_in_ = Xd.shape[1]
        self.unique_times_ = np.unique(y[y.dtype.names[1]].astype(float))
        return self

    def nonzero_coefficients(self) -> int:
        """The coefficients the penalty kept: the first piece's and the deviations from them
        (a factor that holds at one ratio spends one)."""
        return int(
            np.count_nonzero(self.coefs_[0]) + np.count_nonzero(self.coefs_[1:] - self.coefs_[0])
        )

    def baselines_on_grid(self, grid: np.ndarray) -> np.ndarray:
        grid = np.asarray(grid, dtype=float)
        edges = zip(self.edges_[:-1], self.edges_[1:], strict=True)
        return np.array(
            [
                steps_on_grid(fn, np.clip(grid - a, 0.0, b - a)) * (grid > a)
                for fn, (a, b) in zip(self.baselines_, edges, strict=True)
            ]
        )
