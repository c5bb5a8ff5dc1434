"""Kaplan-Meier survival curves with pointwise log-log intervals (95 % by default).

One estimator for every observed-survival figure: the cohort summary and calibration
of training, and the page's survival per risk group. The estimates themselves come
from scikit-survival.
"""

from __future__ import annotations

import math

import numpy as np
from sksurv.nonparametric import kaplan_meier_estimator

__all__ = ["KaplanMeier"]


class KaplanMeier:
    """Kaplan-Meier curve with a pointwise 95 % log-log interval.

    Parameters
    ----------
    time : array of float
        Observed times (months), all > 0.
    event : array of bool or 0/1
        True where the event (death) was observed.
    reverse : bool
        Estimate the censoring distribution instead (reverse Kaplan-Meier).
    level : float
        Confidence of the pointwise interval (0.95; higher where several are read at once).
    """

    def __init__(self, time, event, reverse: bool = False, level: float = 0.95):
        time = np.asarray(time, dtype=float)
        event = np.asarray(event).astype(bool)
        if len(time) == 0:
            raise ValueError("Kaplan-Meier needs at least one observation")
        self.max_time = float(time.max())
        if reverse:
            self.time, self.surv = kaplan_meier_estimator(event, time, reverse=True)
            self.lower = self.upper = None
        else:
            self.time, self.surv, ci = kaplan_meier_estimator(
                event, time, conf_type="log-log", conf_level=level
            )
            self.lower, self.upper = ci[0], ci[1]

    def _at(self, values: np.ndarray, t: float) -> float | None:
        if t > self.max_time:
            # beyond the last observation the curve is not estimated, unless it has reached 0
            # (every patient had the event): then it stays there
            return 0.0 if len(values) and self.surv[-1] == 0 and values[-1] == 0 else None
        i = np.searchsorted(self.time, t, side="right") - 1
        v = 1.0 if i < 0 else float(values[i])
        return None if math.isnan(v) else v

    def survival_at(self, t: float) -> tuple[float | None, float | None, float | None]:
        """(estimate, lower, upper) at time t; None where not estimable."""
        est = self._at(self.surv, t)
        if self.lower is None or est is None:
            return est, None, None
        return est, self._at(self.lower, t), self._at(self.upper, t)

    def _first_below_half(self, values) -> float | None:
        if values is None:
            return None
        idx = np.flatnonzero(np.asarray(values) <= 0.5)
        return float(self.time[idx[0]]) if len(idx) else None

    @property
    def median(self) -> float | None:
        """First time the curve reaches 0.5 or less; None if it never does."""
        return self._first_below_half(self.surv)

    @property
    def median_ci(self) -> tuple[float | None, float | None]:
        """95 % interval of the median from the pointwise band (Brookmeyer-Crowley style)."""
        # the lower band reaches 0.5 first, so it gives the lower limit
        return self._first_below_half(self.lower), self._first_below_half(self.upper)
