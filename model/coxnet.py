"""Penalised Cox at one penalty, reached along a warm path and checked.

Asked for one light penalty, scikit-survival's coordinate descent starts from zero
coefficients, and where a few terms nearly separate the deaths (spline bases that only a
few patients reach, a time piece, a bootstrap replicate) its Newton steps, which have no
line search, overshoot: it stops with a numerical error, or settles on hazard ratios between
patients that span e^600 (FLCHAIN's time pieces in benchmarks/real_outcomes.py). The
objective is strictly convex, so the answer does not depend on the start: glmnet's remedy is
the path, from the penalty that removes every term down, each fit starting from the one
before. A path can overshoot too, more rarely; so each answer is checked against the
objective: no other solution on the path, nor the null model, may beat it at its own
penalty, and the fit must have ended within its iterations. Paths of other lengths are
tried where it fails (a longer one is stopped early by the library, see below, unless the
fit still improves along it).
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sksurv.linear_model import CoxnetSurvivalAnalysis

__all__ = ["PATH_LENGTHS", "PathCoxnet", "cox_partial_loglik", "penalised_loss"]

# Penalties per path, the asked one last, tried in turn until one passes the check. The
# library ends a path early where the deviance changed by under 0.1 % over five penalties
# (glmnet's rule), so paths of five always reach the penalty asked for and come first;
# where a path of five overshoots, a more gradual one usually does not (measured on the
# spline draws of tests/model/test_coxnet.py and FLCHAIN's time pieces).
PATH_LENGTHS = (5, 8, 6, 12, 4, 3, 2, 1)
# The library stops when no coefficient update moves the deviance by over 1e-7 of the
# null's: solutions it calls converged differ in the objective by ~1e-5 of it, a
# run-off one by a half or more.
LOSS_SLACK = 1e-4


class PathCoxnet(CoxnetSurvivalAnalysis):
    """:class:`~sksurv.linear_model.CoxnetSurvivalAnalysis` that, given one penalty in
    ``alphas``, fits it by warm starts down a path from the largest useful penalty, checks
    the answer, and keeps only it: a fitted estimator reads as one fitted with that penalty
    alone. Given none or a path of them it is the library's own path (which may end early,
    where the fit stops improving).

    An answer passes where the fit reached the end of its path within ``max_iter`` and no
    other solution on the path, nor the null model, has a lower objective at its penalty.
    Where no path passes, the finished fit with the lowest objective is kept (the library's
    own cold start is among those tried); ArithmeticError where none finished."""

    def fit(self, X, y):
        if self.alphas is None or np.size(self.alphas) != 1:
            return super().fit(X, y)
        if self.normalize:
            raise ValueError(
                "PathCoxnet checks the objective on the inputs as given: "
                "scale them before it (normalize=False)"
            )
        alpha = float(np.ravel(self.alphas)[0])
        top = _largest_penalty(self, X, y)
        given, passed, best = self.alphas, False, None
        try:
            for length in PATH_LENGTHS:
                self.alphas = _path(top, alpha, length)
                result = self._fitted_loss(X, y, alpha)
                if result is None:
                    continue
                loss, passed = result
                if passed:
                    break
                if best is None or loss < best[0]:
                    best = (loss, dict(vars(self)))
        finally:
            self.alphas = given
        if not passed:
            if best is None:
                raise ArithmeticError(f"penalised Cox could not be fitted at penalty {alpha:.3g}")
            vars(self).update({k: v for k, v in best[1].items() if k != "alphas"})
            warnings.warn(
                f"penalised Cox at penalty {alpha:.3g}: no path passed the check; "
                "the fit with the lowest objective is kept",
                ConvergenceWarning,
                stacklevel=2,
            )
        self._keep_last()
        return self

    def _fitted_loss(self, X, y, alpha: float):
        """Fit along the path in ``alphas`` (``alpha`` last): None where it stopped (a
        numerical error, or the path cut short); else the objective at ``alpha`` and whether
        the answer passed."""
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            try:
                super().fit(X, y)
            except ArithmeticError:
                return None
        if len(self.alphas_) < len(self.alphas):
            return None
        ran_out = False
        for w in caught:
            if issubclass(w.category, ConvergenceWarning):
                ran_out = True
            else:
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        # every solution on the path and the null model, scored at the asked penalty
        coefs = np.column_stack([self.coef_, np.zeros(len(self.coef_))])
        loss = penalised_loss(coefs, X, y, alpha, self.l1_ratio, self.penalty_factor_)
        own = loss[-2]
        passed = np.isfinite(own) and own <= loss.min() + LOSS_SLACK * abs(loss.min())
        return own, bool(passed and not ran_out)

    def _keep_last(self) -> None:
        """The fitted attributes at the last penalty of the path (the asked one) alone."""
        self.alphas_ = self.alphas_[-1:]
        self.coef_ = self.coef_[:, -1:]
        self.offset_ = self.offset_[-1:]
        self.deviance_ratio_ = self.deviance_ratio_[-1:]
        if self._baseline_models is not None:
            self._baseline_models = self._baseline_models[-1:]


def cox_partial_loglik(lp: np.ndarray, event: np.ndarray, time: np.ndarray) -> float:
    """Cox partial log-likelihood of a linear predictor (Breslow's method for ties)."""
    lp = np.asarray(lp, dtype=float)
    event = np.asarray(event, dtype=bool)
    time = np.asarray(time, dtype=float)
    order = np.argsort(-time, kind="stable")
    t_desc, lp_desc = time[order], lp[order]
    shift = lp.max()
    at_risk = np.cumsum(np.exp(lp_desc - shift))  # sum over time >= t_i, before ties
    # with ties every patient at the same time is at risk: take the last of the tied block
    last = np.searchsorted(-t_desc, -t_desc, side="right") - 1
    log_risk = np.log(at_risk[last]) + shift
    ev = event[order]
    return float(np.sum(lp_desc[ev] - log_risk[ev]))


def penalised_loss(coefs, X, y, alpha: float, l1_ratio: float, penalty_factor=None):
    """What coxnet minimises, for each column of ``coefs`` (features x solutions): minus the
    Breslow partial log-likelihood over the number of patients, plus ``alpha`` (``l1_ratio``
    |b|_1 + (1 - ``l1_ratio``) |b|^2 / 2), each term weighted by ``penalty_factor``; infinite
    where the likelihood is not finite (a fit that ran off)."""
    coefs = np.asarray(coefs, dtype=float).reshape(np.shape(coefs)[0], -1)
    e, t = y.dtype.names
    lp = np.asarray(X, dtype=float) @ coefs
    with np.errstate(over="ignore", invalid="ignore"):
        loglik = np.array([cox_partial_loglik(c, y[e], y[t]) for c in lp.T]) / len(y)
    pf = np.ones(len(coefs)) if penalty_factor is None else np.asarray(penalty_factor)
    penalty = alpha * (
        l1_ratio * (pf @ np.abs(coefs)) + (1 - l1_ratio) / 2 * (pf @ np.square(coefs))
    )
    return np.where(np.isfinite(loglik), -loglik + penalty, np.inf)


def _largest_penalty(est: CoxnetSurvivalAnalysis, X, y) -> float:
    """The smallest penalty that removes every term, as the library computes it."""
    probe = CoxnetSurvivalAnalysis(
        l1_ratio=est.l1_ratio,
        penalty_factor=est.penalty_factor,
        n_alphas=2,
        alpha_min_ratio=0.99,
        max_iter=est.max_iter,
        tol=est.tol,
    )
    with warnings.catch_warnings():
        # at 0.99 of it every term is still out; that is what the probe is for
        warnings.filterwarnings("ignore", "all coefficients are zero", UserWarning)
        return float(probe.fit(X, y).alphas_[0])


def _path(top: float, alpha: float, length: int) -> np.ndarray:
    """Decreasing penalties, evenly on the log scale from ``top`` down to ``alpha``,
    ``length`` in all (``alpha`` alone where it removes every term already)."""
    return np.geomspace(top, alpha, length) if alpha < top and length > 1 else np.array([alpha])
