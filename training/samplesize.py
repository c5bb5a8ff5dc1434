"""Is the sample large enough for the model? Riley's criteria for a time-to-event outcome.

Riley RD, Ensor J, Snell KIE, et al. Calculating the sample size required for developing a
clinical prediction model. BMJ 2020;368:m441 (the criteria and their derivation: Riley RD,
Snell KIE, Ensor J, et al. Stat Med 2019;38:1276-96, doi 10.1002/sim.7992), as the R package
pmsampsize (Ensor, Martin, Riley; ``R/pmsampsize_surv.R``) computes them. With ``P``
candidate parameters, anticipated Cox-Snell R² ``R``, ``n`` patients, ``E`` events and
person-time ``T`` (rate ``r = E / T``, mean follow-up ``T / n``):

(i)   expected global shrinkage ``S`` of at least 0.9:
      ``n >= P / ((S - 1) ln(1 - R / S))``.
(ii)  optimism of at most ``delta = 0.05`` in Nagelkerke's R²: criterion (i) with
      ``S = R / (R + delta max R)``, where ``max R = 1 - exp(2 lnL_null / n)`` and
      ``lnL_null = E ln(E / n) - E`` (exponential null model, follow-up time measured in
      units of the mean follow-up, as pmsampsize does).
(iii) precise overall risk at the time point ``t``: with the exponential model the risk is
      ``1 - exp(-r t)`` and the 95 % interval of the rate is ``r ± 1.96 sqrt(r / T)``;
      pmsampsize reports that interval at the size (i) and (ii) require. Here the smallest
      ``n`` is solved for whose interval of the risk lies within ``margin`` (0.05) of the
      estimate on both sides.

Criteria (i) and (ii) give ``n`` in proportion to ``P``, so a cohort of ``n`` supports at
most ``floor(n (S - 1) ln(1 - R / S))`` parameters under each; (iii) does not depend on ``P``.

When nothing is known about the model's fit, Riley et al. suggest a conservative anticipated
R²: the value whose Nagelkerke R² is 0.15, i.e. 15 % of the maximum Cox-Snell R².

Pure numpy; every function takes and returns plain numbers.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from model.coxnet import cox_partial_loglik

__all__ = [
    "CONSERVATIVE_SHARE",
    "NAGELKERKE_OPTIMISM",
    "PRECISION_MARGIN",
    "SHRINKAGE",
    "SampleSize",
    "assess",
    "cox_partial_loglik",
    "cox_snell_r2",
    "max_cox_snell_r2",
    "n_for_precision",
    "n_for_shrinkage",
    "optimism_adjusted_r2",
    "parameters_for_shrinkage",
    "pmsampsize_survival",
    "risk_interval",
    "shrinkage_for_optimism",
]

SHRINKAGE = 0.9  # criterion (i): expected global shrinkage at least this
NAGELKERKE_OPTIMISM = 0.05  # criterion (ii): apparent minus adjusted Nagelkerke R² at most this
PRECISION_MARGIN = 0.05  # criterion (iii): the risk's 95 % interval within this of it
CONSERVATIVE_SHARE = 0.15  # anticipated R² when nothing is known: 15 % of its maximum
Z95 = 1.96
_EPS = 1e-9  # keeps floor/ceil of exact integers from floating-point noise


def max_cox_snell_r2(events: float, n: float) -> float:
    """Largest Cox-Snell R² the outcome allows: ``1 - exp(2 lnL_null / n)``.

    ``lnL_null = E ln(E / n) - E``: the exponential null model's log-likelihood with
    person-time measured in units of the mean follow-up (Riley et al. 2019, eq. 23 as
    pmsampsize uses it); only the events per patient ``E / n`` matter.
    """
    if events <= 0 or n <= 0:
        raise ValueError("the maximum R² needs at least one event")
    e = events / n
    return 1.0 - math.exp(2.0 * (e * math.log(e) - e))


def _check_r2(r2: float, shrinkage: float) -> None:
    if not 0 < r2 < shrinkage:
        raise ValueError(
            f"the anticipated Cox-Snell R² ({r2:g}) must lie between 0 and the shrinkage "
            f"({shrinkage:g})"
        )


def _per_parameter(r2: float, shrinkage: float) -> float:
    """``(S - 1) ln(1 - R / S)``: parameters supported per patient at shrinkage ``S``."""
    _check_r2(r2, shrinkage)
    return (shrinkage - 1.0) * math.log(1.0 - r2 / shrinkage)


def n_for_shrinkage(parameters: int, r2: float, shrinkage: float = SHRINKAGE) -> int:
    """Criteria (i) and (ii): the smallest ``n`` with expected shrinkage ``shrinkage``."""
    return math.ceil(parameters / _per_parameter(r2, shrinkage) - _EPS)


def parameters_for_shrinkage(n: int, r2: float, shrinkage: float = SHRINKAGE) -> int:
    """The most candidate parameters ``n`` patients support at expected shrinkage ``shrinkage``."""
    return max(0, math.floor(n * _per_parameter(r2, shrinkage) + _EPS))


def shrinkage_for_optimism(
    r2: float, max_r2: float, optimism: float = NAGELKERKE_OPTIMISM
) -> float:
    """Criterion (ii): the shrinkage that keeps Nagelkerke's R² optimism to ``optimism``."""
    if not 0 < r2 < max_r2:
        raise ValueError(
            f"the anticipated Cox-Snell R² ({r2:g}) must lie between 0 and its maximum "
            f"({max_r2:.3f})"
        )
    return r2 / (r2 + optimism * max_r2)


def risk_interval(rate: float, person_time: float, timepoint: float) -> tuple[float, float, float]:
    """Risk by ``timepoint`` under the exponential model, with its 95 % interval.

    ``1 - exp(-r t)`` with ``r ± 1.96 sqrt(r / T)`` (pmsampsize's criterion 3).
    """
    se = math.sqrt(rate / person_time)
    lo_rate = max(rate - Z95 * se, 0.0)
    return (
        1.0 - math.exp(-rate * timepoint),
        1.0 - math.exp(-lo_rate * timepoint),
        1.0 - math.exp(-(rate + Z95 * se) * timepoint),
    )


def n_for_precision(
    rate: float, mean_followup: float, timepoint: float, margin: float = PRECISION_MARGIN
) -> int:
    """Criterion (iii): the smallest ``n`` whose 95 % interval of the risk by ``timepoint``
    lies within ``margin`` of the risk on both sides (exponential model)."""
    if rate <= 0 or mean_followup <= 0 or timepoint <= 0:
        raise ValueError("rate, mean follow-up and time point must be positive")
    surv = math.exp(-rate * timepoint)
    # lower end: exp(-(r - z se) t) - exp(-r t) <= margin  <=>  z se <= r + ln(S + m) / t
    allowed = rate + math.log(surv + margin) / timepoint
    if surv > margin:  # upper end: exp(-r t) - exp(-(r + z se) t) <= margin
        allowed = min(allowed, -math.log(surv - margin) / timepoint - rate)
    se = allowed / Z95  # se = sqrt(r / (n fu))  <=>  n = r / (fu se²)
    return max(1, math.ceil(rate / (mean_followup * se * se) - _EPS))


def optimism_adjusted_r2(r2_apparent: float, n: int, parameters: int) -> float | None:
    """An apparent Cox-Snell R² adjusted for overfitting as Riley et al. advise for an R²
    measured on the data a model was fitted to: times van Houwelingen's heuristic
    shrinkage ``S = 1 + p / (n ln(1 - R²))`` (``1 - p / LR``). None where that shrinkage
    is not positive (the likelihood ratio does not exceed the parameters spent)."""
    if not 0 < r2_apparent < 1:
        return None
    shrinkage = 1.0 + parameters / (n * math.log(1.0 - r2_apparent))
    return shrinkage * r2_apparent if shrinkage > 0 else None


def cox_snell_r2(lp: np.ndarray, event: np.ndarray, time: np.ndarray) -> float:
    """Apparent Cox-Snell R² of a Cox model: ``1 - exp(-LR / n)``, LR against lp = 0."""
    return cox_snell_r2_pieces([(lp, event, time)])


def cox_snell_r2_pieces(pieces) -> float:
    """Apparent Cox-Snell R² of a Cox model in time pieces, ``pieces`` a list of (linear
    predictor, event, time) of the patients alive at each piece's start, their outcomes
    counted from it; the first piece holds every patient. Each risk set lies in one piece,
    so the partial likelihood of coefficients that change at the cuts is the pieces' sum."""
    if not pieces:
        raise ValueError("a Cox model in time pieces needs one piece at least")
    lr = 0.0
    for lp, event, time in pieces:
        lp = np.asarray(lp, dtype=float)
        if not len(lp):  # nobody alive at the piece's start: no risk set, no term
            continue
        lr += 2.0 * (
            cox_partial_loglik(lp, event, time) - cox_partial_loglik(np.zeros_like(lp), event, time)
        )
    n = len(pieces[0][0])
    return float(1.0 - math.exp(-max(lr, 0.0) / n))


def pmsampsize_survival(
    r2: float,
    parameters: int,
    rate: float,
    timepoint: float,
    mean_followup: float,
    shrinkage: float = SHRINKAGE,
) -> dict:
    """The planning calculation as pmsampsize does it (``type = "s"``).

    Returns the minimum ``n`` per criterion, the final ``n``, its events and events per
    parameter, and the risk with its 95 % interval at that ``n``. The maximum R² uses
    pmsampsize's stand-in cohort of 10,000 with its event count rounded up, so the figures
    match the package to the digit; criterion (iii) is the solved minimum (see
    :func:`n_for_precision`) rather than pmsampsize's report at the size (i)-(ii) require.
    """
    stand_in = 10_000
    max_r2 = max_cox_snell_r2(math.ceil(rate * mean_followup * stand_in), stand_in)
    s2 = shrinkage_for_optimism(r2, max_r2)
    n1 = n_for_shrinkage(parameters, r2, shrinkage)
    n2 = n_for_shrinkage(parameters, r2, s2)
    n3 = n_for_precision(rate, mean_followup, timepoint)
    final = max(n1, n2, n3)
    events = final * rate * mean_followup
    risk, lo, hi = risk_interval(rate, final * mean_followup, timepoint)
    return {
        "n_shrinkage": n1,
        "n_optimism": n2,
        "n_precision": n3,
        "n": final,
        "shrinkage_optimism": s2,
        "max_r2_cs": max_r2,
        "nagelkerke_r2": r2 / max_r2,
        "events": events,
        "events_per_parameter": events / parameters,
        "risk": risk,
        "risk_ci": [lo, hi],
    }


@dataclass(frozen=True)
class SampleSize:
    """A cohort's size against Riley's criteria for ``parameters`` candidate parameters.

    ``n_*`` are the minimum sizes per criterion and ``n_required`` the largest of them;
    ``max_parameters`` is the largest number of candidate parameters for which the cohort
    meets every criterion (0 when criterion (iii), which does not depend on it, fails);
    ``max_parameters_shrinkage`` and ``max_parameters_optimism`` are the limits of (i) and
    (ii) alone. ``r2_source`` says where the anticipated R² came from.
    """

    n: int
    events: int
    person_time: float
    timepoint: float
    parameters: int
    r2_cs: float
    r2_source: str
    max_r2_cs: float
    shrinkage: float
    shrinkage_optimism: float
    n_shrinkage: int
    n_optimism: int
    n_precision: int
    n_required: int
    max_parameters_shrinkage: int
    max_parameters_optimism: int
    max_parameters: int
    precision_met: bool
    risk: float
    risk_ci: tuple[float, float]
    events_per_parameter: float | None

    @property
    def adequate(self) -> bool:
        """True when the cohort meets every criterion for its candidate parameters."""
        return self.n >= self.n_required

    def to_dict(self) -> dict:
        d = asdict(self)
        d["risk_ci"] = list(self.risk_ci)
        d["adequate"] = self.adequate
        return d


def assess(
    n: int,
    events: int,
    person_time: float,
    timepoint: float,
    parameters: int,
    r2_cs: float | None = None,
    r2_source: str | None = None,
    shrinkage: float = SHRINKAGE,
) -> SampleSize:
    """Riley's criteria for a cohort of ``n`` patients with ``events`` events.

    Parameters
    ----------
    person_time : float
        Total follow-up (sum of the observed times), in the unit of ``timepoint``.
    parameters : int
        Candidate parameters of the model (columns of its design, before any selection).
    r2_cs : float, optional
        Anticipated Cox-Snell R² (e.g. a fitted model's). Default: the conservative
        :data:`CONSERVATIVE_SHARE` of its maximum; so is an ``r2_cs`` at or above the
        maximum, which no model can reach.
    """
    if n < 1 or events < 1 or person_time <= 0:
        raise ValueError("the criteria need patients, events and follow-up time")
    max_r2 = max_cox_snell_r2(events, n)
    if r2_cs is None or not 0 < r2_cs < min(max_r2, shrinkage):
        r2_cs = CONSERVATIVE_SHARE * max_r2
        r2_source = f"conservative: {100 * CONSERVATIVE_SHARE:g} % of the maximum, {max_r2:.3f}"
    s2 = shrinkage_for_optimism(r2_cs, max_r2)
    rate, mean_fu = events / person_time, person_time / n
    n3 = n_for_precision(rate, mean_fu, timepoint)
    p1 = parameters_for_shrinkage(n, r2_cs, shrinkage)
    p2 = parameters_for_shrinkage(n, r2_cs, s2)
    met = n >= n3
    n1 = n_for_shrinkage(parameters, r2_cs, shrinkage)
    n2 = n_for_shrinkage(parameters, r2_cs, s2)
    risk, lo, hi = risk_interval(rate, person_time, timepoint)
    return SampleSize(
        n=int(n),
        events=int(events),
        person_time=float(person_time),
        timepoint=float(timepoint),
        parameters=int(parameters),
        r2_cs=float(r2_cs),
        r2_source=r2_source or "given",
        max_r2_cs=max_r2,
        shrinkage=shrinkage,
        shrinkage_optimism=s2,
        n_shrinkage=n1,
        n_optimism=n2,
        n_precision=n3,
        n_required=max(n1, n2, n3),
        max_parameters_shrinkage=p1,
        max_parameters_optimism=p2,
        max_parameters=min(p1, p2) if met else 0,
        precision_met=met,
        risk=risk,
        risk_ci=(lo, hi),
        events_per_parameter=events / parameters if parameters else None,
    )
