"""A Cox model whose hazard ratios change at fixed times: the served Cox model where the
training data's check of proportional hazards chose more than one time piece.

Each piece [a, b) between the cuts is a Cox model of its own (same design), fitted on the
patients alive at ``a`` with their times counted from ``a`` and censored at ``b``: the
partial likelihood of the hazard inside the piece. Each piece is penalised as much per death
as the whole model: coxnet's objective is the log partial likelihood divided by the number of
patients, so the penalty asked for is scaled by the piece's deaths per patient over the
whole training set's. The cumulative hazard of a
patient adds the pieces', H(t | z) = sum_k H0_k(t) exp(z . b_k), with H0_k zero before the
piece starts and held after it ends. With no cuts it is the Cox model itself.

It is the final step of a fitted pipeline (after the same encoding, imputation, expansion
and scaling as the proportional-hazards model), so it is pickled into bundles and lives
in :mod:`model` where the page can load it.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, clone
from sklearn.exceptions import ConvergenceWarning

from model.predict import cox_baseline_on_grid
from model.timeaxis import RISK_HORIZON

__all__ = [
    "EmptyPieceError",
    "PiecewiseCox",
    "alive_in_piece",
    "coef_and_baseline",
    "cumulative_hazard",
    "heavier_until_fitted",
    "piece_at",
    "piece_span",
    "pieces_of",
]

# a piece whose few deaths cannot support the penalty (its coefficients diverge) is refitted
# at a heavier one: tenfold each time
HEAVIER = (1.0, 10.0, 100.0, 1000.0)


class EmptyPieceError(ArithmeticError):
    """A time piece without deaths: its coefficients cannot be estimated. An arithmetic
    error like a fit whose coefficients diverge, so that a bootstrap or band replicate that
    draws it is counted and left out as those are."""


def alive_in_piece(y: np.ndarray, a: float, b: float) -> tuple[np.ndarray, np.ndarray]:
    """The patients alive at ``a``, and their outcomes counted from ``a``, censored at ``b``."""
    e, t = y.dtype.names
    alive = y[t] > a
    piece = y[alive].copy()
    piece[e] = piece[e] & (piece[t] <= b)
    piece[t] = np.minimum(piece[t], b) - a
    return alive, piece


def pieces_of(step: PiecewiseCox, y: np.ndarray) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Per time piece of ``step``: the patients of ``y`` alive at its start (a mask), their
    outcomes counted from it (:func:`alive_in_piece`) and the piece's coefficients."""
    spans = zip(step.edges_[:-1], step.edges_[1:], strict=True)
    return [
        (*alive_in_piece(y, a, b), np.asarray(coef, dtype=float))
        for (a, b), coef in zip(spans, step.coefs_, strict=True)
    ]


def heavier_until_fitted(fit: Callable[[float], object], alpha: float):
    """``fit(alpha)``; where a piece's few deaths cannot support the penalty (coefficients
    diverge: an arithmetic error), the penalty is raised tenfold, at most three times (the
    last error is raised)."""
    for scale in HEAVIER[:-1]:
        try:
            return fit(alpha * scale)
        except ArithmeticError:
            continue
    return fit(alpha * HEAVIER[-1])


def _fit_piece(estimator, X, y):
    """``estimator`` (one penalty, ``alphas=[alpha]``) fitted, at a heavier penalty where
    the piece cannot support it."""

    def fit(alpha: float):
        est = clone(estimator).set_params(alphas=[alpha])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            # a piece at a penalty that removes every term: a flat curve, which the scores
            # already judge; the notice is not the user's to act on
            warnings.filterwarnings("ignore", "all coefficients are zero", UserWarning)
            return est.fit(X, y)

    return heavier_until_fitted(fit, float(estimator.get_params()["alphas"][0]))


def cumulative_hazard(Z: np.ndarray, coefs: np.ndarray, h0s: np.ndarray) -> np.ndarray:
    """H (rows x times) of a Cox model in pieces: sum over pieces of h0_k exp(z . coef_k),
    for features ``Z`` (rows x p), coefficients (K x p) and baselines (K x times)."""
    return np.exp(np.asarray(Z, dtype=float) @ np.asarray(coefs).T) @ np.asarray(h0s)


def piece_at(cuts, t: float) -> int:
    """The index of the piece that holds time ``t`` (a piece starts at its cut)."""
    return int(np.searchsorted(np.sort(np.asarray(cuts, dtype=float)), float(t), side="right"))


def piece_span(cuts, k: int) -> tuple[float, float | None]:
    """Piece ``k``'s start and end (None: open-ended, the last piece; JSON has no infinity)."""
    edges = [0.0, *(float(c) for c in cuts)]
    return edges[k], (edges[k + 1] if k + 1 < len(edges) else None)


class PiecewiseCox(BaseEstimator):
    """Cox model in time pieces: one fitted copy of ``estimator`` per piece.

    Parameters
    ----------
    estimator : CoxnetSurvivalAnalysis
        Unfitted, with one penalty (``alphas=[alpha]``) and ``fit_baseline_model=True``.
    cuts : tuple of float
        Where the pieces meet, on the time scale of the outcomes (months).
    horizon : float
        :meth:`predict` scores risk as the log cumulative hazard at this time.

    Attributes
    ----------
    pieces_ : list of fitted estimators, one per piece
    edges_ : ndarray (K + 1,)
        0, the cuts, infinity.
    coefs_ : ndarray (K, p)
    alphas_ : ndarray (1,)
        The penalty asked for.
    piece_alphas_ : list of float
        Each piece's penalty: the one asked for scaled to the piece's deaths per patient
        (heavier where its deaths could not support that).
    unique_times_ : ndarray
        The training outcomes' distinct times (where the curves can step).
    """

    # each piece's penalty scaled to its deaths per patient (False: the penalty as asked)
    PER_DEATH = True

    def __init__(self, estimator=None, cuts=(), horizon: float = RISK_HORIZON):
        self.estimator = estimator
        self.cuts = cuts
        self.horizon = horizon

    def fit(self, X, y):
        edges = np.array([0.0, *sorted(float(c) for c in self.cuts), np.inf])
        Xd = X if isinstance(X, pd.DataFrame) else pd.DataFrame(np.asarray(X, dtype=float))
        e = y.dtype.names[0]
        alpha = float(self.estimator.get_params()["alphas"][0])
        pieces = []
        for a, b in zip(edges[:-1], edges[1:], strict=True):
            alive, piece = alive_in_piece(y, a, b)
            if piece[e].sum() == 0:
                raise EmptyPieceError(f"no deaths between {a:g} and {b:g}: a time piece needs some")
            # coxnet divides the log partial likelihood by the patients, not the deaths: the
            # first piece holds every patient and few deaths, so at the same penalty it would
            # be shrunk several times harder than the whole model
            per_death = piece[e].mean() / y[e].mean() if self.PER_DEATH else 1.0
            step = clone(self.estimator).set_params(alphas=[alpha * per_death])
            pieces.append(_fit_piece(step, Xd[alive], piece))
        self.pieces_ = pieces
        self.edges_ = edges
        self.coefs_ = np.array([p.coef_[:, 0] for p in pieces])
        self.alphas_ = np.array([alpha])
        # the penalty each piece took: scaled to its deaths, heavier where they could not
        # support it
        self.piece_alphas_ = [float(p.alphas_[0]) for p in pieces]
        self.feature_names_in_ = np.asarray(Xd.columns, dtype=object)
        self.n_features_in_ = Xd.shape[1]
        self.unique_times_ = np.unique(y[y.dtype.names[1]].astype(float))
        return self

    def baselines_on_grid(self, grid: np.ndarray) -> np.ndarray:
        """Each piece's baseline cumulative hazard at the grid times, shape (K, G): 0 before
        the piece starts, its own Breslow curve inside, held after it ends."""
        grid = np.asarray(grid, dtype=float)
        cols = list(self.feature_names_in_)
        return np.array(
            [
                cox_baseline_on_grid(est, cols, np.clip(grid - a, 0.0, b - a))
                * (grid > a)  # nothing accumulates before the piece starts
                for est, a, b in zip(self.pieces_, self.edges_[:-1], self.edges_[1:], strict=True)
            ]
        )

    def cumulative_hazard_on_grid(self, X, grid: np.ndarray) -> np.ndarray:
        """H(t | x) at the grid times for transformed features ``X``, shape (rows, G)."""
        return cumulative_hazard(X, self.coefs_, self.baselines_on_grid(grid))

    def nonzero_coefficients(self) -> int:
        """The coefficients the penalty kept: every piece's own."""
        return int(np.count_nonzero(self.coefs_))

    def horizon_piece(self) -> int:
        """The index of the piece that holds ``horizon``."""
        return piece_at(self.cuts, self.horizon)

    def horizon_linear_predictor(self, X) -> np.ndarray:
        """x . b_k of the piece that holds ``horizon``: its log hazard ratios add up here."""
        return np.asarray(X, dtype=float) @ self.coefs_[self.horizon_piece()]

    def predict(self, X) -> np.ndarray:
        """Risk score: the log cumulative hazard at ``horizon`` (higher = worse)."""
        H = self.cumulative_hazard_on_grid(X, np.array([float(self.horizon)]))[:, 0]
        return np.log(np.maximum(H, 1e-300))


def coef_and_baseline(step, columns, grid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A fitted Cox step's coefficients and baseline cumulative hazard on the grid: (p,) and
    (G,) for a scikit-survival Cox model, (K, p) and (K, G) for a :class:`PiecewiseCox`."""
    if isinstance(step, PiecewiseCox):
        return step.coefs_, step.baselines_on_grid(grid)
    return step.coef_[:, 0], cox_baseline_on_grid(step, columns, grid)
