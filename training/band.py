"""How much to widen the Cox model's bootstrap band: a calibration from the training data alone.

Bootstrap refits of a penalised Cox model vary around the final model, but the final
model itself is off the true curve in ways the refits share: the penalty shrinks it, and
it assumes that every effect is the same at every time (proportional hazards), which the
truth need not (an effect that fades after the first year). A band made of refits alone
therefore covers the true curve for too few patients where that matters.

The widening is estimated by a parametric bootstrap from a stand-in for the truth that
is fitted to the training data and deliberately free of the proportional-hazards
assumption:

1. **Stand-in truth**: the shipped design (same features, half the penalty:
   :data:`STAND_IN_PENALTY_SHARE`) and, where
   another design had the lowest cross-validated IBS (tuning serves the simplest design
   within a standard error, and one that bends every numeric feature only past a stricter
   one), that design too at its own best penalty (:class:`StandIn`): a shape the
   served design cannot bend to (a U-shaped age effect the schema did not declare) is
   then seen. Each is fitted separately in time pieces that end at the landmarks
   (:func:`stand_in_cuts`; a landmark is not a cut where the piece it ends or the rest
   after it holds fewer than :data:`MIN_PIECE_SHARE` of the deaths or
   :data:`MIN_PIECE_DEATHS`): each piece's Cox model is fitted on the patients still at
   risk at its start, followed to its end. Its hazard ratios may change from piece to
   piece. The cumulative hazard at a landmark is the sum of the pieces before it, each
   fitted on exactly the span it adds, so the stand-in's freedom is spent where the band
   is calibrated.
2. **Replicates** (``n_rep``): new survival times for the training patients drawn from
   a stand-in, censoring times drawn from the training data's censoring distribution
   (reverse Kaplan-Meier), and the shipped model's Cox step refitted on them with the
   chosen penalty and design.
3. For each replicate, training patient and landmark (12/36/60 months), the error of
   the refit against the stand-in on the log cumulative hazard scale, divided by how far
   that patient's bootstrap band (from the real ensemble) reaches from the final model on
   the side the error falls on: the served band stretches each side by the factor, and
   its refits need not be centred on the final model.
   The factor at a landmark is the 95th percentile of these ratios (at least 1):
   stretching every refit's deviation from the final model by it makes the band reach
   the error 95 times in 100 in the stand-in world; with two stand-ins, in either world
   (the larger factor). Between landmarks the factor is interpolated linearly (held
   constant before the first and after the last).

Measured against the simulators' truths (benchmarks/band_factor.py: three worlds at
n = 110, 500 and 2,000, several training draws each; the "oracle" factor is the 95th
percentile of the same ratio computed against the true curves of test patients with
complete inputs, and a draw's coverage is the share of those within the stand-in's
factor):

* A band's coverage is a property of the method over training draws. At n = 110 it
  varies widely from draw to draw (0.56 to 1.00 at 12 months in the milan world over six
  draws): where cross-validation chooses a heavy penalty, the final model is strongly
  shrunk, its refits are stable and a stand-in fitted at the same penalty is as flat as
  the model, so neither sees the shrinkage. While one split chose the penalty, a lighter
  stand-in over-covered (0.99+) the draws that needed no widening; with three splits
  pooled the penalty is steadier and heavier at n = 110-500, and a stand-in at half of it
  moves n = 110's mean coverage per cell from 0.86-0.95 to 0.895-0.96 over draws (see
  :data:`STAND_IN_PENALTY_SHARE`).
* Replicates: 10 gave factors that moved by 0.15 between seeds at n = 110; 40 cost a few
  seconds at n = 2,000.
* Pieces: the stand-in was first cut at quantiles of the death times, a piece per 65
  deaths (3 to 6). Those pieces spent its freedom where the landmarks do not need it:
  the last piece, from 29 months at n = 2,000, alone carried the cumulative hazard from
  there to 60 months, and its noise, which no proportional-hazards refit can follow,
  counted as misses (linear world, 60 months: factor 1.73 against the truth's 1.09,
  coverage 0.997). A Cox model fitted on gradual non-proportional hazards (GBSG2's
  log-normal truth in benchmarks/semi_synthetic.py) under-covered at the first landmark,
  which fell inside the first piece (0.69 at 365 days, n = 500). Pieces that end at the
  landmarks, each with a tenth of the deaths: GBSG2 at 365 days 0.69 -> 0.89 at n = 500,
  the independent world of benchmarks/independent_world.py at 36 months
  0.746/0.889 -> 0.77/0.94 (n = 500) and 0.949 -> 0.97 (n = 2,000), 0.03-0.04 wider
  there; the simulated worlds' 60-month cells 0.97-1.00 -> 0.95-0.99, their widths at 36
  months up to 0.01 narrower, and their targets pass as often as before (21 of 31 band,
  width and slope targets; benchmarks/results/accuracy_stand_in_landmarks.json).
* Pieces chosen by cross-validated partial likelihood instead (band_factor.py --pieces cv),
  or piece coefficients fused towards a common one with the fusion chosen by
  cross-validation: one piece, or pieces fused into one, in every milan and linear draw
  from 260 deaths. That ends linear's over-coverage at 60 months but drops milan at n = 2,000 to
  0.87-0.89 (the pieces' noise pays for the served design's misfit of a near-step
  effect), and with a finer-spline stand-in added for that, the independent world fell to
  0.83-0.89 at n = 500 and 800 (an undeclared U-shaped age effect no cross-validated
  comparison sees there). The pieces' freedom is the allowance for what the data cannot
  show; benchmarks/README.md has the figures.
* The stand-in's pieces are fitted at the penalty as asked (:class:`_AsAsked`), not scaled
  to their deaths as a served model in pieces is: coxnet divides the log partial likelihood
  by the patients, so its first piece (every patient, few deaths) is shrunk several times
  harder than the whole model. Scaled, that piece is freer: GBSG2 at 365 days
  (benchmarks/semi_synthetic.py) 0.82 -> 0.92 at n = 2,000, but at n = 110 the independent
  world's band widened from 0.52 to 0.70 at 36 months and four simulated cells passed 0.98.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from joblib import delayed
from sksurv.nonparametric import kaplan_meier_estimator
from tqdm.auto import tqdm

from model.piecewise import PiecewiseCox, coef_and_baseline, cumulative_hazard
from model.timeaxis import LANDMARKS
from model.uncertainty import CoxEnsemble
from training import cluster
from training.estimators import fit_quietly
from training.metrics import horizon_names

__all__ = [
    "BAND_REPLICATES",
    "DEATHS_PER_PIECE",
    "STAND_IN_PENALTY_SHARE",
    "StandIn",
    "TimePieces",
    "borrowed_factors",
    "calibrate_inflation",
    "piecewise_stand_in",
    "quantile_cuts",
    "stand_in_cuts",
    "stand_in_pieces",
    "time_pieces_at",
]

BAND_REPLICATES = 40
# The most time pieces the check of proportional hazards considers (training/time_pieces.py),
# and the stand-in's own pieces before they ended at the landmarks (benchmarks compare with
# them): a penalised Cox fit of the shipped design per piece needs some deaths; more pieces
# place a change in hazard ratios more closely once the deaths allow it
DEATHS_PER_PIECE = 65
MIN_PIECES, MAX_PIECES = 3, 6
COVERAGE = 0.95
# A stand-in piece's Cox model needs some deaths inside it (as a replicate needs some to
# refit), and a piece with few of them is fitted mostly to noise that the replicates' refits
# then count as the served model's misses: with pieces down to 10 deaths the last one (26-33
# deaths from 36 months at n = 500) took the band to 0.99-1.00 at 60 months in the
# proportional-hazards worlds; with a tenth of the deaths at least, 0.95-0.99
# (benchmarks/accuracy.py, Cox family alone, results/accuracy_stand_in_*.json)
MIN_PIECE_DEATHS = 10
MIN_PIECE_SHARE = 0.1
# A penalised Cox fit at one penalty could run off when coxnet started from zero without a
# path of larger penalties leading to it: FLCHAIN's 5,247 training patients with every numeric
# input bent, where the stand-in's first piece at half the penalty put hazard ratios of e^681
# between training patients (the served model's: e^7), and the factor became 3,230, a band
# from 0 to 1 (benchmarks/real_outcomes.py). Fits now go down a checked path
# (model.coxnet.PathCoxnet; benchmarks/coxnet_path.py); this stays as the last guard. A fit
# whose log hazard ratios between training patients span more than this is taken as run
# off: no real effect comes near it
MAX_LOG_HR_SPREAD = 50.0
# Measured factors reach 3.9 (a hazard ratio that changes at 12 months, n = 2,000); one far
# beyond means the band's side is all but absent, not that the band should be that wide
MAX_SIDED_FACTOR = 10.0
# The least factor: 1 keeps the band at least as wide as its bootstrap refits reach. It has
# not bound: measured unbounded, the factor was 1.17 at the least over five worlds x 110-2,000
# patients (benchmarks/band_factor.py, results/band_factor_least.json)
MIN_FACTOR = 1.0
# A landmark with fewer deaths before it than this has no band calibrated there: the
# replicates draw none before it in exp(-deaths) of cases (5 % at 3 deaths, the share the
# 95th percentile reaches), their refits' log cumulative hazard there is -inf, and the
# factor runs off (to hundreds: every band from 0 to 1, at every later time as well).
# A factor past MAX_SIDED_FACTOR is no measurement either. Such a landmark takes the factor
# of the nearest landmark that has one.
MIN_DEATHS_TO_CALIBRATE = 5
# The shipped design's stand-in is fitted at this share of the shipped penalty. At the same
# penalty it is as shrunk as the model, and refits drawn from it shrink an already shrunk
# effect: the band misses the shrinkage (milan, n = 110, 36 months: 0.86 over six draws).
# A lighter stand-in sees more of it but also takes more of its own noise for truth. Over
# training draws (benchmarks/accuracy.py --result accuracy_draws: three worlds x n = 110,
# 500, 2,000, summed by benchmarks/band_targets.py; benchmarks/independent_world.py at
# n = 110), shares 1 / 0.5 / 0.25 left the
# mean coverage short of 0.90 by 0.135 / 0.025 / 0.009 summed over cells and over 0.98 by
# 0.026 / 0.026 / 0.039, and covered 0.956 / 0.980 / 0.992 at 12 months in the independent
# world at n = 110 (width 0.46 / 0.51 / 0.61): a half is the share that over-covers no more
# than the same penalty did.
STAND_IN_PENALTY_SHARE = 0.5


@dataclass
class StandIn:
    """A stand-in's design: the features expanded by it (same patients, same imputation), its
    Cox step at a given penalty, the penalty, and the design's name."""

    Z: pd.DataFrame
    make_step: Callable[[float], object]
    alpha: float
    terms: str


def stand_in_pieces(deaths: int) -> int:
    """Time pieces cut at death-time quantiles for a training set with ``deaths`` deaths: the
    check's most, and the stand-in's count before its pieces ended at the landmarks."""
    return int(np.clip(deaths // DEATHS_PER_PIECE, MIN_PIECES, MAX_PIECES))


def _fit_cox(make_step, Z: pd.DataFrame, y: np.ndarray, grid: np.ndarray):
    return coef_and_baseline(fit_quietly(make_step(), Z, y), list(Z.columns), grid)


def _cuts(y: np.ndarray, pieces: int) -> list[float]:
    return quantile_cuts(y, np.arange(1, pieces) / pieces)


def quantile_cuts(y: np.ndarray, quantiles) -> list[float]:
    """Cuts at these quantiles of the death times (months)."""
    e, t = y.dtype.names
    deaths = y[t][y[e]]
    return [float(np.quantile(deaths, q)) for q in quantiles]


def _refit(make_step, alpha, Z, y_rep, grid, marks) -> tuple | None:
    """The shipped Cox step refitted on one replicate: coefficients and the baseline at the
    landmarks; None for a replicate the shipped penalty cannot fit (none to measure)."""
    try:
        coef, h0 = _fit_cox(lambda: make_step(alpha), Z, y_rep, grid)
    except ArithmeticError:
        return None
    if not (np.isfinite(coef).all() and np.isfinite(h0[..., marks]).all()):
        return None  # a refit run off to infinity: as unfittable as one that raised
    if _ran_off(np.asarray(Z, dtype=float), coef):
        return None
    return coef, h0[..., marks]


def _ran_off(Zn: np.ndarray, coefs: np.ndarray) -> bool:
    """Whether a Cox fit (one piece's coefficients (p,) or several (K, p)) ran off: log hazard
    ratios between the training patients spanning more than :data:`MAX_LOG_HR_SPREAD`."""
    return any(np.ptp(Zn @ c) > MAX_LOG_HR_SPREAD for c in np.atleast_2d(coefs))


def _log_h(h0: np.ndarray, lp: np.ndarray) -> np.ndarray:
    return np.log(np.maximum(h0, 1e-300))[None, :] + lp[:, None]


def _log_cumhaz(Zn: np.ndarray, coef: np.ndarray, h0: np.ndarray) -> np.ndarray:
    """log H (patients x times) of a Cox model, one piece ((p,), (T,)) or in time pieces
    ((K, p), (K, T))."""
    if coef.ndim == 1:
        return _log_h(h0, Zn @ coef)
    return np.log(np.maximum(cumulative_hazard(Zn, coef, h0), 1e-300))


@dataclass
class TimePieces:
    """A Cox model whose coefficients change between time pieces: per piece [a, b) its
    coefficients and its baseline cumulative hazard on the grid (0 before ``a``, held after
    ``b``), so that H(t | z) = sum over pieces of h0_k(t) exp(z . coef_k)."""

    cuts: list[float]
    coefs: list[np.ndarray]
    h0s: list[np.ndarray]

    def cumulative_hazard(self, Z: np.ndarray) -> np.ndarray:
        """H on the grid (rows x grid) for expanded, scaled features ``Z``."""
        return cumulative_hazard(Z, np.array(self.coefs), np.array(self.h0s))


class _AsAsked(PiecewiseCox):
    """The stand-in's pieces at the penalty as asked, not scaled to their deaths (the module's
    docstring: scaled, the band widened too much at n = 110)."""

    PER_DEATH = False


def time_pieces_at(
    Z: pd.DataFrame, y: np.ndarray, grid: np.ndarray, make_step, alpha, cuts, kind=PiecewiseCox
):
    """A Cox model in time pieces cut at ``cuts`` (months; :class:`PiecewiseCox`: each piece
    [a, b) fitted on the patients alive at ``a``, their times counted from ``a`` and
    censored at ``b``), as :class:`TimePieces`."""
    cuts = [float(c) for c in cuts]
    model = kind(make_step(alpha), tuple(cuts)).fit(Z, y)
    return TimePieces(cuts, list(model.coefs_), list(model.baselines_on_grid(grid)))


def stand_in_cuts(y: np.ndarray, landmarks) -> list[float]:
    """The stand-in's cuts: the landmarks (months) at which the band is calibrated, each
    where the piece it ends and the rest after it hold at least :data:`MIN_PIECE_SHARE` of
    the deaths and :data:`MIN_PIECE_DEATHS` (else the piece runs on to the next landmark)."""
    e, t = y.dtype.names
    deaths = y[t][y[e]]
    least = max(MIN_PIECE_DEATHS, int(np.ceil(MIN_PIECE_SHARE * len(deaths))))
    cuts: list[float] = []
    for c in sorted(float(x) for x in landmarks):
        start = cuts[-1] if cuts else 0.0
        inside = int(((deaths > start) & (deaths <= c)).sum())
        if inside >= least and int((deaths > c).sum()) >= least:
            cuts.append(c)
    return cuts


def piecewise_stand_in(
    Z: pd.DataFrame,
    y: np.ndarray,
    grid: np.ndarray,
    make_step,
    alpha: float,
    cuts,
) -> tuple[np.ndarray, list[float]]:
    """Cumulative hazard on the grid (patients x grid) of the training patients under a Cox
    model whose coefficients change at ``cuts`` (:func:`time_pieces_at`); and the cuts."""
    model = time_pieces_at(Z, y, grid, make_step, alpha, cuts, kind=_AsAsked)
    if _ran_off(np.asarray(Z, dtype=float), np.array(model.coefs)):
        raise ArithmeticError("a piece of the stand-in ran off")
    return model.cumulative_hazard(Z), model.cuts


def _replicate(H: np.ndarray, grid, cens_t, cens_s, t_max, rng, dtype) -> np.ndarray:
    """Survival times drawn from cumulative hazards ``H`` (patients x grid), censored by
    times drawn from the reverse Kaplan-Meier curve (the last time if never reached)."""
    e_name, t_name = dtype.names
    # event time: first grid time where the cumulative hazard passes an Exp(1) draw
    j = (H < rng.exponential(size=len(H))[:, None]).sum(axis=1)
    t_event = np.where(j < len(grid), grid[np.minimum(j, len(grid) - 1)], np.inf)
    t_event = np.maximum(t_event, grid[1] / 2)
    k = np.searchsorted(-cens_s, -rng.random(len(H)), side="left")
    t_cens = np.where(k < len(cens_t), cens_t[np.minimum(k, len(cens_t) - 1)], t_max)
    out = np.empty(len(H), dtype=dtype)
    out[e_name] = t_event <= t_cens
    out[t_name] = np.minimum(t_event, t_cens)
    return out


def _plain_band(ensemble: CoxEnsemble, Zn: np.ndarray, marks: list[int]):
    """The final model's log cumulative hazard per patient and landmark, and the plain
    bootstrap band's 2.5 and 97.5 percentiles on the same scale."""
    if ensemble.in_pieces:
        boot = np.log(np.maximum(ensemble.boot_cumulative_hazard(Zn, marks), 1e-300))
    else:
        boot = (
            np.log(np.maximum(ensemble.boot_h0[:, marks], 1e-300))[None, :, :]
            + (Zn @ ensemble.boot_coef.T)[:, :, None]
        )
    lo, hi = np.percentile(boot, [2.5, 97.5], axis=1)
    return _log_cumhaz(Zn, ensemble.coef, ensemble.h0[..., marks]), lo, hi


def _half(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    return np.maximum((hi - lo) / 2, 1e-6)


def _sides(final: np.ndarray, lo: np.ndarray, hi: np.ndarray):
    """How far the band reaches below and above the final model (0 where every refit lies
    on the other side: the served band, kept around the curve, has no extent there). The
    served band stretches each side by the factor, and at small n the refits are not
    centred on the final model, so a miss is measured against the side it falls on."""
    return np.maximum(final - lo, 0.0), np.maximum(hi - final, 0.0)


def _half_widths(ensemble: CoxEnsemble, Zn: np.ndarray, marks: list[int]) -> np.ndarray:
    """The plain bootstrap band's half-width per patient and landmark, log cumulative hazard."""
    return _half(*_plain_band(ensemble, Zn, marks)[1:])


def _band_sides(ensemble: CoxEnsemble, Zn: np.ndarray, marks: list[int]):
    """:func:`_sides` of the plain bootstrap band, per patient and landmark."""
    return _sides(*_plain_band(ensemble, Zn, marks))


def _ratios(fitted: np.ndarray, true_log_h: np.ndarray, sides) -> np.ndarray:
    """Each error of a refit against the stand-in, in units of the band's side it falls on
    (infinite where that side has no extent: no factor reaches it)."""
    below, above = sides
    d = true_log_h - fitted
    side = np.where(d > 0, above, below)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(d == 0, 0.0, np.where(side > 0, np.abs(d) / side, np.inf))


def _factor(sided: np.ndarray, symmetric: np.ndarray) -> float:
    """The smallest factor (at least :data:`MIN_FACTOR`) with which the served band reaches 95
    in 100 misses.
    Where that would take more than :data:`MAX_SIDED_FACTOR` (misses on a side the band
    barely reaches: a few refits all on one side of the curve), the sides have collapsed and
    no factor helps: the symmetric half-width's measure stands in."""
    k = float(np.quantile(np.minimum(sided, 1e6), COVERAGE))  # no arithmetic on infinities
    if k > MAX_SIDED_FACTOR:
        k = float(np.quantile(symmetric, COVERAGE))
    return max(MIN_FACTOR, k)


SHIPPED = "the shipped design"


def _stand_in_words(share: float, stand_in: StandIn | None) -> str:
    own = (
        "the shipped design at its penalty"
        if share == 1
        else (
            f"the shipped design at {share:g} of its penalty (less shrunk than the model, so that "
            "the replicates' refits show the shrinkage)"
        )
    )
    if stand_in is None:
        return own
    return (
        f"{own}, and the design with the lowest cross-validated IBS ({stand_in.terms}) at its "
        "own penalty, each"
    )


def inflation_on_grid(grid: np.ndarray, months: list[float], factors: list[float]) -> np.ndarray:
    """The factors at the landmarks, linear between them, constant outside."""
    return np.interp(grid, np.asarray(months, dtype=float), np.asarray(factors, dtype=float))


def calibrate_inflation(
    final,
    X: pd.DataFrame,
    y: np.ndarray,
    grid: np.ndarray,
    ensemble: CoxEnsemble,
    make_step,
    n_rep: int = BAND_REPLICATES,
    seed: int = 0,
    landmarks=LANDMARKS,
    pieces: int | None = None,
    n_jobs: int = 1,
    progress: bool = False,
    stand_in: StandIn | None = None,
    share: float = STAND_IN_PENALTY_SHARE,
    served_step: Callable[[float], object] | None = None,
) -> dict:
    """Inflation factors for the bootstrap band of ``final`` (a fitted Coxnet pipeline).

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
    pieces : int, optional
        The stand-in in this many time pieces cut at quantiles of the death times, instead of
        pieces that end at the landmarks (:func:`stand_in_cuts`; for comparison).
    n_jobs : int
        Processes for the replicates' refits (or the cluster's workers, see
        :mod:`training.cluster`); the result does not depend on it.
    progress : bool
        A progress bar over the replicates, with the time left.
    stand_in : StandIn, optional
        A second stand-in (another design at its own penalty) beside the shipped design's;
        the band takes the larger factor at each landmark.
    share : float
        The shipped design's stand-in is fitted at this share of the shipped penalty
        (:data:`STAND_IN_PENALTY_SHARE`; 1: the same penalty).
    served_step : callable (alpha) -> unfitted Cox step, optional
        The served model's step where it is not ``make_step``'s (a Cox model in time
        pieces: :class:`model.piecewise.PiecewiseCox`); the replicates refit it.

    Returns
    -------
    dict
        ``inflation`` (the largest factor), ``by_landmark``, ``grid`` (the factor at every
        grid time, for :class:`CoxEnsemble`) and how they were obtained, for the manifest.
    """
    if not 0 < share <= 1:
        raise ValueError(f"share (of the shipped penalty) must be in (0, 1], got {share}")
    alpha = float(final[-1].alphas_[0])
    inside = {n: t for n, t in horizon_names(landmarks).items() if t <= grid[-1]}
    marks = [int(np.searchsorted(grid, t)) for t in inside.values()]
    if not marks or ensemble.n_boot < 2:
        return {"inflation": 1.0, "replicates": 0, "note": "no landmark or no refits to calibrate"}
    Z = final[:-1].transform(X)
    Zn = Z.to_numpy(dtype=float)
    final_log_h, lo, hi = _plain_band(ensemble, Zn, marks)
    served = _Served(
        Z,
        Zn,
        served_step or make_step,
        alpha,
        marks,
        _sides(final_log_h, lo, hi),
        _half(lo, hi),
        list(inside.values()),
    )
    own = StandIn(Z, make_step, alpha * share, SHIPPED)
    measured, ran_offs = {}, []
    for si in (own, stand_in) if stand_in else (own,):
        r, r_sym, cuts, ran_off = _misses(
            si, served, y, grid, n_rep, seed, pieces, n_jobs, progress
        )
        if ran_off:
            ran_offs.append(ran_off)
        if r is not None:
            factors = [_factor(r[:, i], r_sym[:, i]) for i in range(len(inside))]
            measured[si.terms] = (factors, len(r) // len(y))
    if SHIPPED not in measured:
        return {
            "inflation": 1.0,
            "replicates": 0,
            "note": "the stand-in could not be fitted, or its replicates drew too few deaths",
        }
    second = stand_in if stand_in is not None and stand_in.terms in measured else None
    # with a second stand-in the band must reach the misses of either: the larger factor
    factors = np.max([m[0] for m in measured.values()], axis=0).tolist()
    e, t = y.dtype.names
    deaths = [int((y[e] & (y[t] <= months)).sum()) for months in inside.values()]
    factors, not_calibrated = borrowed_factors(list(inside), factors, deaths)
    out = {
        "inflation": max(factors),
        "by_landmark": dict(zip(inside, factors, strict=True)),
        "grid": inflation_on_grid(grid, list(inside.values()), factors).tolist(),
        "replicates": min(m[1] for m in measured.values()),
        "stand_in": f"{_stand_in_words(share, second)} fitted in {len(cuts) + 1} time pieces "
        + ("cut at quantiles of the death times" if pieces else "that end at the landmarks")
        + " (hazard ratios free to change between pieces)",
        "stand_in_cuts_months": cuts,
        "stand_in_penalty_share": share,
    }
    out.update(_notes(not_calibrated, ran_offs, second, stand_in, measured, list(inside)))
    return out


def borrowed_factors(names: list[str], factors: list[float], deaths: list[int]):
    """The factors with each landmark that cannot be calibrated (fewer than
    :data:`MIN_DEATHS_TO_CALIBRATE` deaths before it, or a factor past
    :data:`MAX_SIDED_FACTOR`) given the nearest calibrated landmark's (the later one on a tie:
    it has more deaths); 1 (the plain bootstrap band) where none is calibrated. Returns the
    factors and ``{name: {"deaths", "measured", "from"}}`` for each landmark given another's
    (``from``: that landmark's name, or None)."""
    ok = [
        d >= MIN_DEATHS_TO_CALIBRATE and f <= MAX_SIDED_FACTOR
        for d, f in zip(deaths, factors, strict=True)
    ]
    out, notes = list(factors), {}
    for i, name in enumerate(names):
        if ok[i]:
            continue
        near = sorted((j for j in range(len(names)) if ok[j]), key=lambda j: (abs(j - i), -j))
        out[i] = factors[near[0]] if near else 1.0
        notes[name] = {
            "deaths": deaths[i],
            "measured": float(factors[i]),
            "from": names[near[0]] if near else None,
        }
    return out, notes


def _notes(not_calibrated, ran_offs, second, stand_in, measured, names) -> dict:
    """What the manifest says of how the factors were obtained, beside them."""
    out: dict = {}
    if not_calibrated:
        out["not_calibrated"] = not_calibrated
    if ran_offs:
        out["stand_in_ran_off"] = "; ".join(ran_offs)
    if second is not None:
        out["stand_in_design"] = second.terms
        out["by_stand_in"] = {k: dict(zip(names, m[0], strict=True)) for k, m in measured.items()}
    elif stand_in is not None:
        out["stand_in_note"] = (
            f"the second stand-in ({stand_in.terms}) drew too few deaths to be measured; "
            "the shipped design's alone"
        )
    return out


@dataclass
class _Served:
    """The shipped model's features, Cox step and penalty, and its plain band's sides."""

    Z: pd.DataFrame
    Zn: np.ndarray
    make_step: Callable[[float], object]
    alpha: float
    marks: list[int]
    sides: tuple
    half: np.ndarray
    landmarks: list[float]


def _misses(own: StandIn, served: _Served, y, grid, n_rep, seed, pieces, n_jobs, progress):
    """The refits' misses of one stand-in's truth, side-wise and symmetric (patients x
    replicates stacked, landmarks), its cuts, and what was done where the stand-in ran off at
    its own penalty (None otherwise); None for the misses where too few deaths were drawn or
    the stand-in ran off at the served penalty too."""
    e_name, t_name = y.dtype.names
    event, time = y[e_name].astype(bool), y[t_name].astype(float)
    cuts = _cuts(y, pieces) if pieces else stand_in_cuts(y, served.landmarks)
    try:
        H_true, cuts = piecewise_stand_in(own.Z, y, grid, own.make_step, own.alpha, cuts)
    except ArithmeticError:
        # run off below the served penalty: the served model's own penalty, at which it
        # converged on these patients (measured: every piece sane there)
        alpha = max(own.alpha, served.alpha)
        if alpha == own.alpha:  # already there: the same fit would run off again
            return None, None, cuts, None
        try:
            H_true, cuts = piecewise_stand_in(own.Z, y, grid, own.make_step, alpha, cuts)
        except ArithmeticError:
            return None, None, cuts, None
        ran_off = f"{own.terms}: ran off at its penalty {own.alpha:.4g}, fitted at {alpha:.4g}"
    else:
        ran_off = None
    true_log_h = np.log(np.maximum(H_true[:, served.marks], 1e-300))
    cens_t, cens_s = kaplan_meier_estimator(~event, time)
    rng = np.random.default_rng(seed)

    # every replicate's times are drawn here, in order, so the draws do not depend on where
    # the refits run; the refits are independent tasks (local processes or a cluster)
    draws = [
        _replicate(H_true, grid, cens_t, cens_s, time.max(), rng, y.dtype) for _ in range(n_rep)
    ]
    usable = [y_rep for y_rep in draws if y_rep[e_name].sum() >= 10]
    fits = cluster.parallel(n_jobs, shared=(served.Z,), return_as="generator")(
        delayed(_refit)(served.make_step, served.alpha, served.Z, y_rep, grid, served.marks)
        for y_rep in usable
    )
    bar = tqdm(
        fits, total=len(usable), desc="band", disable=not progress, mininterval=1.0, leave=False
    )
    fitted = [_log_cumhaz(served.Zn, *f) for f in bar if f is not None]
    if not fitted:
        return None, None, cuts, ran_off
    ratios = [_ratios(f, true_log_h, served.sides) for f in fitted]
    symmetric = [np.abs(f - true_log_h) / served.half for f in fitted]
    return np.concatenate(ratios), np.concatenate(symmetric), cuts, ran_off
