"""What a bundle stores to express uncertainty: a Cox bootstrap ensemble and imputation draws.

Both are fitted at training time (training/fit.py) and loaded with the bundle.

* :class:`CoxEnsemble` holds, for the final Cox model and for each bootstrap refit, the
  coefficients on the final model's transformed features and the baseline cumulative
  hazard on the bundle's grid. Refits share the final model's (outcome-free)
  preprocessing, so one transform of a patient serves all of them and a band costs a
  matrix product, not B pipelines. Bootstrap refits alone under-cover the true curve
  (they share the final model's shrinkage and its approximation of the true shape), so
  their deviations from the final model are stretched by an ``inflation`` factor that
  training estimates from the training data alone (training/band.py).
* :class:`ImputationDraws` draws plausible values of unknown inputs given the known
  ones (chained equations fitted on the training data: IterativeImputer's posterior
  sampling for continuous inputs, a logistic model's levels for discrete ones), so a
  prediction can average over them and its band widen accordingly.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import ndtr
from sklearn.experimental import enable_iterative_imputer  # noqa: F401
from sklearn.impute import IterativeImputer
from sklearn.linear_model import LogisticRegression

from model.piecewise import cumulative_hazard, piece_at

__all__ = ["CoxEnsemble", "ImputationDraws"]


@dataclass
class CoxEnsemble:
    """Final and bootstrap Cox models on shared transformed features.

    Attributes
    ----------
    columns : list of str
        Names of the transformed features (the Cox step's inputs).
    coef : ndarray (p,)
        Final model's coefficients.
    h0 : ndarray (G,)
        Final model's baseline cumulative hazard on the grid.
    boot_coef : ndarray (B, p)
    boot_h0 : ndarray (B, G)
    inflation : float
        Each bootstrap model's deviation from the final one, on the log cumulative
        hazard scale, is multiplied by this factor (1 = plain bootstrap):
        ``coef + k (boot_coef - coef)`` and ``log h0 + k (log boot_h0 - log h0)``.
    inflation_grid : ndarray (G,), optional
        The factor at each grid time; when given, curves use it instead of ``inflation``
        (a patient's deviation ``log H_b(t) - log H(t)`` is stretched by ``k(t)``), and
        ``inflation`` is its largest value (what :meth:`inflated` applies to coefficients).
    cuts : tuple of float
        Where the Cox model is in time pieces (:class:`model.piecewise.PiecewiseCox`), the
        cut times (months); then ``coef`` is (K, p), ``h0`` (K, G) with each piece's baseline
        (0 before it starts, held after it ends), ``boot_coef`` (B, K, p) and ``boot_h0``
        (B, K, G), and H(t | z) = sum_k h0_k(t) exp(z . coef_k). Empty: one piece, shapes
        as above.
    """

    columns: list
    coef: np.ndarray
    h0: np.ndarray
    boot_coef: np.ndarray
    boot_h0: np.ndarray
    inflation: float = 1.0
    inflation_grid: np.ndarray | None = None
    cuts: tuple = ()

    @property
    def n_boot(self) -> int:
        return int(self.boot_coef.shape[0])

    @property
    def in_pieces(self) -> bool:
        return bool(getattr(self, "cuts", ()))  # bundles written before pieces: none

    def coef_at(self, t: float) -> np.ndarray:
        """The coefficients (p,) that hold at time ``t``: of the piece holding it."""
        return self.coef[piece_at(self.cuts, t)] if self.in_pieces else self.coef

    def cumulative_hazard(self, Z: np.ndarray) -> np.ndarray:
        """Final model's H on the grid, shape (rows, G)."""
        if not self.in_pieces:
            return np.exp(np.asarray(Z, dtype=float) @ self.coef)[:, None] * self.h0[None, :]
        return cumulative_hazard(Z, self.coef, self.h0)

    def survival(self, Z: np.ndarray) -> np.ndarray:
        """Final model's S on the grid, shape (rows, G)."""
        return np.exp(-self.cumulative_hazard(Z))

    def boot_cumulative_hazard(self, Z: np.ndarray, at=slice(None)) -> np.ndarray:
        """Every bootstrap model's own H (not stretched) at the grid times ``at`` (default
        all), shape (rows, B, times)."""
        Z = np.asarray(Z, dtype=float)
        if not self.in_pieces:
            return np.exp(Z @ self.boot_coef.T)[:, :, None] * self.boot_h0[None, :, at]
        # rows x B x K weights on B x K x times baselines
        w = np.exp(np.einsum("np,bkp->nbk", Z, self.boot_coef))
        return np.einsum("nbk,bkg->nbg", w, self.boot_h0[..., at])

    def inflated(self) -> tuple[np.ndarray, np.ndarray]:
        """Bootstrap coefficients and baselines with deviations stretched by ``inflation``."""
        if self.in_pieces:
            raise ValueError("a Cox model in time pieces stretches curves, not coefficients")
        k = float(getattr(self, "inflation", 1.0))  # bundles written before it existed: 1
        if k == 1.0:
            return self.boot_coef, self.boot_h0
        cached = self.__dict__.get("_inflated")
        if cached is not None and cached[0] == k:
            return cached[1], cached[2]
        coef = self.coef[None, :] + k * (self.boot_coef - self.coef[None, :])
        h0 = np.broadcast_to(self.h0[None, :], self.boot_h0.shape)
        both = (h0 > 0) & (self.boot_h0 > 0)
        with np.errstate(divide="ignore"):
            log_h = np.log(np.where(both, h0, 1.0)) + k * np.log(
                np.where(both, self.boot_h0 / np.where(both, h0, 1.0), 1.0)
            )
        # where either baseline is still 0 (before the first death) keep the refit's own;
        # stretching can make a baseline dip: keep it non-decreasing
        out = np.maximum.accumulate(np.where(both, np.exp(log_h), self.boot_h0), axis=1)
        self.__dict__["_inflated"] = (k, coef, out)  # computed once per loaded bundle
        return coef, out

    def boot_survival(self, Z: np.ndarray) -> np.ndarray:
        """Every (inflated) bootstrap model's S on the grid, shape (rows, B, G)."""
        k = getattr(self, "inflation_grid", None)  # bundles written before it existed: None
        if self.in_pieces:
            return self._boot_survival_pieces(Z, k)
        if k is None:
            coef, h0 = self.inflated()
            lp = np.asarray(Z, dtype=float) @ coef.T  # rows x B
            return np.exp(-np.exp(lp)[:, :, None] * h0[None, :, :])
        Z = np.asarray(Z, dtype=float)
        lp, lp_b = Z @ self.coef, Z @ self.boot_coef.T  # rows, rows x B
        # log H_b(t) = log H(t) + k(t) (log H_b(t) - log H(t)), where both baselines are > 0;
        # before the first death of either, the refit's own cumulative hazard
        both = (self.h0[None, :] > 0) & (self.boot_h0 > 0)  # B x G
        log_h0 = np.log(np.where(self.h0 > 0, self.h0, 1.0))
        log_h0_b = np.log(np.where(both, self.boot_h0, 1.0))
        dev = (lp_b - lp[:, None])[:, :, None] + np.where(both, log_h0_b - log_h0, 0.0)[None]
        stretched = np.exp(log_h0[None, None, :] + lp[:, None, None] + k[None, None, :] * dev)
        own = np.exp(lp_b)[:, :, None] * self.boot_h0[None, :, :]
        H = np.where(both[None, :, :], stretched, own)
        # a factor that changes with time could make a curve rise: keep it non-increasing
        return np.exp(-np.maximum.accumulate(H, axis=2))

    def _boot_survival_pieces(self, Z: np.ndarray, k: np.ndarray | None) -> np.ndarray:
        """:meth:`boot_survival` in time pieces: each refit's deviation from the final model,
        log H_b(t) - log H(t) per patient, stretched by k(t) (the refit's own H where either
        is still 0)."""
        if k is None:
            k = np.full(self.h0.shape[-1], float(self.inflation))
        H, H_b = self.cumulative_hazard(Z)[:, None, :], self.boot_cumulative_hazard(Z)
        both = (H > 0) & (H_b > 0)
        # logs and exps of (rows x B x G) arrays are most of a patient's time: the final
        # model's log once per row, not per refit, and the arithmetic in place
        log_h = np.log(np.where(H > 0, H, 1.0))
        out = np.log(np.where(both, H_b, 1.0))
        out -= log_h
        out *= np.asarray(k)[None, None, :]
        out += log_h
        np.exp(out, out=out)
        np.copyto(out, H_b, where=~both)
        np.maximum.accumulate(out, axis=2, out=out)
        np.negative(out, out=out)
        return np.exp(out, out=out)


class ImputationDraws:
    """Plausible values for unknown encoded inputs, given the known ones.

    Every column has its chained equation, also one that no training patient lacked
    (a CC recorded for everyone is still unknown before surgery), so an unknown input is
    drawn from the patient's other inputs, never set to the training mean. A continuous
    input is drawn from its Bayesian ridge model's posterior predictive; a discrete one
    (``discrete``: a binary column, or the indicator columns of one categorical or ordinal
    feature) as one of its levels, from a multinomial logistic model on the other columns.
    A Gaussian draw of an indicator would be a fraction, and a linear one cannot follow a
    chance that saturates (CC given PCI).

    Parameters
    ----------
    n_draws : int
        Draws per patient with at least one unknown input.
    seed : int
        Draws are reproducible: the same patient gives the same draws every time.
    discrete : sequence of sequences of str
        Encoded columns of each discrete feature
        (:meth:`model.preprocess.SchemaEncoder.discrete_groups`).
    """

    # Rows the chained equations are fitted on; a larger training set is sampled down to
    # them (its ranges are still the whole set's). On 100,000 simulated patients, fitting on
    # 20,000 took 3.5 CPU s instead of 32, and the draws for 2,000 new patients' unknown
    # inputs moved by 0.014-0.024 of their SD on average, their means and SDs by under 1 %.
    FIT_ROWS = 20_000

    def __init__(self, n_draws: int = 20, seed: int = 0, discrete=()):
        self.n_draws = n_draws
        self.seed = seed
        self.discrete = [list(g) for g in discrete]

    def fit(self, encoded: pd.DataFrame) -> ImputationDraws:
        lo = encoded.min(axis=0, skipna=True).fillna(-np.inf).to_numpy()
        hi = encoded.max(axis=0, skipna=True).fillna(np.inf).to_numpy()
        hi = np.where(hi > lo, hi, lo + 1e-9)  # a constant column: the imputer needs min < max
        self.columns_ = list(encoded.columns)
        if len(encoded) > self.FIT_ROWS:
            encoded = encoded.sample(self.FIT_ROWS, random_state=self.seed)
        self.imputer_ = IterativeImputer(
            sample_posterior=True,
            max_iter=15,
            tol=1e-3,
            random_state=self.seed,
            min_value=lo,
            max_value=hi,
            skip_complete=False,
        )
        filled = self.imputer_.fit_transform(encoded)
        self.levels_ = {}
        for group in self.discrete:
            cols = [self.columns_.index(c) for c in group]
            self.levels_[cols[0]] = _LevelModel.fit(
                encoded[group].to_numpy(dtype=float), cols, filled
            )
        return self

    def draws(self, encoded: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
        """Complete rows: one copy of each complete patient, ``n_draws`` of the others.

        Returns the imputed rows and, for each, the position of its patient. A patient's
        draws depend on its own inputs only, not on the other rows of the call (its place
        in a file, the file's other patients).
        """
        values = encoded[self.columns_].to_numpy(dtype=float)
        incomplete = np.isnan(values).any(axis=1)
        reps = np.where(incomplete, self.n_draws, 1)
        owner = np.repeat(np.arange(len(values)), reps)
        if not incomplete.any():
            return pd.DataFrame(values, columns=self.columns_), owner
        draw = np.arange(len(owner)) - np.repeat(np.cumsum(reps) - reps, reps)
        rows = self._chained_draws(values[owner], values[owner], draw)
        return pd.DataFrame(rows, columns=self.columns_), owner

    def _streams(self, patients: np.ndarray, draw: np.ndarray, needed: np.ndarray):
        """Each row's own standard normals (``needed[i]`` of them): from a generator seeded
        by the bundle's seed and the row's patient (a hash of its inputs, unknown ones
        included), the ``draw``-th block of that patient's stream. Returns the numbers end to
        end and each row's offset into them."""
        offset = np.concatenate([[0], np.cumsum(needed)[:-1]])
        flat = np.empty(int(needed.sum()))
        # one byte pattern per value: a single NaN, and 0.0 for -0.0
        patients = np.where(np.isnan(patients), np.nan, patients + 0.0)
        streams: dict[bytes, np.ndarray] = {}
        for i in np.flatnonzero(needed):
            key = patients[i].tobytes()
            if key not in streams:
                digest = hashlib.blake2b(key, digest_size=8).digest()
                rng = np.random.default_rng([self.seed, int.from_bytes(digest, "little")])
                streams[key] = rng.standard_normal((self.n_draws, needed[i]))
            flat[offset[i] : offset[i] + needed[i]] = streams[key][draw[i]]
        return flat, offset

    def _chained_draws(self, X: np.ndarray, patients: np.ndarray, draw: np.ndarray) -> np.ndarray:
        """Posterior draws through the fitted chained equations.

        The same rounds, order and Bayesian ridge models as the fitted imputer's own
        ``transform(sample_posterior=True)``, with three differences. A discrete feature
        is drawn as a level of its own model at its first column's turn (its other
        columns' turns are skipped). The predictive mean and SD are computed from the
        models' fitted attributes in one product, which keeps one patient under a few
        milliseconds (scikit-learn's per-call checks and SciPy's per-feature
        truncated-normal objects cost ~40 ms a patient). Draws outside the training range
        are clipped to it rather than redrawn. Each row takes its random numbers, in
        order, from its own stream (:meth:`_streams`; ``patients``: each row's inputs as
        given, ``draw``: which of its patient's draws it is), and a level is drawn from the
        normal's probability (a uniform): the same patient gets the same draws in any file.
        """
        imp = self.imputer_
        start = imp.initial_imputer_.statistics_
        if np.isnan(start).any():  # a column never observed in training: use the library path
            imp.random_state_ = np.random.RandomState(self.seed)
            return np.asarray(imp.transform(X), dtype=float)
        mask = np.isnan(X)
        out = np.where(mask, start[None, :], X)
        lo, hi = imp._min_value, imp._max_value
        # bundles fitted before discrete features had their own models have none
        levels = getattr(self, "levels_", {})
        owned = {c for m in levels.values() for c in m.cols}
        # how many numbers each row takes: one per step that draws one of its unknown columns
        draws_per_column = np.zeros(X.shape[1], dtype=int)
        for feat, _n, _e in imp.imputation_sequence_:
            draws_per_column[feat] += feat not in owned or feat in levels
        flat, offset = self._streams(patients, draw, mask @ draws_per_column)
        taken = np.zeros(len(X), dtype=int)

        def numbers(rows: np.ndarray) -> np.ndarray:
            at = offset[rows] + taken[rows]
            taken[rows] += 1
            return flat[at]

        # each unknown column's rows once (a column nobody lacks is skipped in every round):
        # the rounds run some 250 steps, and per-step masks and np.ix_ cost a patient ~3 ms
        unknown = {int(f): np.flatnonzero(mask[:, f])[:, None] for f in np.flatnonzero(mask.any(0))}
        for feat, neighbours, est in imp.imputation_sequence_:
            rows = unknown.get(feat)
            if rows is None:
                continue
            if feat in owned:
                if feat in levels:
                    levels[feat].draw(out, rows, ndtr(numbers(rows[:, 0])))
                continue
            Xn = out[rows, neighbours]
            mu = Xn @ est.coef_ + est.intercept_
            centred = Xn - est.X_offset_
            sd = np.sqrt(np.einsum("ij,jk,ik->i", centred, est.sigma_, centred) + 1.0 / est.alpha_)
            value = mu + sd * numbers(rows[:, 0])
            out[rows[:, 0], feat] = np.minimum(np.maximum(value, lo[feat]), hi[feat])
        return out


@dataclass
class _LevelModel:
    """One discrete feature's levels given the other encoded columns: multinomial logistic.

    Level 0 is the first level (every indicator 0, or a binary 0); level k sets the k-th
    indicator (a binary column: the value 1). The predictors are standardised on the
    training rows as the chained equations last filled them.
    """

    cols: list[int]
    others: np.ndarray
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray | None  # (levels, predictors); None: one level seen, always drawn
    intercept: np.ndarray | None
    classes: np.ndarray

    @classmethod
    def fit(cls, values: np.ndarray, cols: list[int], filled: np.ndarray) -> _LevelModel:
        known = ~np.isnan(values).any(axis=1)
        level = _level_of(values[known])
        others = np.setdiff1d(np.arange(filled.shape[1]), cols)
        Xo = filled[np.ix_(known, others)]
        mean, scale = Xo.mean(axis=0), Xo.std(axis=0)
        scale = np.where(scale > 0, scale, 1.0)
        classes = np.unique(level)
        if len(classes) < 2:
            return cls(cols, others, mean, scale, None, None, classes)
        # scikit-learn's default L2 penalty (C = 1): no level is certain from a few patients
        clf = LogisticRegression(max_iter=2000).fit((Xo - mean) / scale, level)
        coef, intercept = clf.coef_, clf.intercept_
        if len(classes) == 2:  # one column of log odds for the second class
            coef, intercept = np.vstack([0 * coef, coef]), np.r_[0.0, intercept]
        return cls(cols, others, mean, scale, coef, intercept, clf.classes_)

    def draw(self, out: np.ndarray, rows: np.ndarray, uniform: np.ndarray) -> None:
        """Set the rows' indicator columns in ``out`` to a level drawn for each row
        (``rows``: their indices, a column; ``uniform``: each row's uniform number)."""
        if self.coef is None:
            level = np.full(len(rows), self.classes[0])
        else:
            # the softmax from stored coefficients, as for the ridge draws: predict_proba's
            # per-call checks, once per round and feature, would cost a patient milliseconds
            z = (out[rows, self.others] - self.mean) / self.scale
            logits = z @ self.coef.T + self.intercept
            p = np.exp(logits - logits.max(axis=1, keepdims=True))
            cum = np.cumsum(p / p.sum(axis=1, keepdims=True), axis=1)
            pick = (cum < uniform[:, None]).sum(axis=1)
            level = self.classes[np.minimum(pick, len(self.classes) - 1)]
        if len(self.cols) == 1:
            out[rows[:, 0], self.cols[0]] = level
        else:
            out[rows, self.cols] = level[:, None] == np.arange(1, len(self.cols) + 1)


def _level_of(values: np.ndarray) -> np.ndarray:
    """The level index of encoded rows of one discrete feature (see :class:`_LevelModel`)."""
    if values.shape[1] == 1:
        return np.rint(values[:, 0]).astype(int)
    return np.where(values.max(axis=1) > 0.5, values.argmax(axis=1) + 1, 0)
