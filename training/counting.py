"""scikit-survival's per-time event counts, vectorised.

Every Kaplan-Meier curve, censoring distribution (the IPCW weights of Uno's C, the
time-dependent AUC and the Brier score) and Breslow baseline in scikit-survival starts
from ``sksurv.nonparametric._compute_counts``, a loop in Python over the patients:
0.3 s at 100,000 patients, and bootstrap validation scores several such measures per
replicate. :func:`compute_counts` returns the same arrays from numpy's sorted-array
operations (the counts are integers, so everything built on them is unchanged to the
bit); :func:`install` puts it in scikit-survival's place for this process. Competing
risks (integer events above 1) are left to the original.
"""

from __future__ import annotations

import numpy as np
import sksurv.linear_model.coxph as _coxph
import sksurv.nonparametric as _nonparametric

__all__ = ["compute_counts", "install"]

ORIGINAL = _nonparametric._compute_counts


def compute_counts(event, time, order=None):
    """``(times, n_events, n_at_risk, n_censored)`` per unique time, as scikit-survival's."""
    event, time = np.asarray(event), np.asarray(time)
    competing = np.issubdtype(event.dtype, np.integer) and len(event) and event.max() > 1
    if competing or len(time) == 0:
        return ORIGINAL(event, time, order)
    if order is None:
        order = np.argsort(time, kind="mergesort")
    t = time[order]
    # a new time wherever the sorted value changes
    starts = np.flatnonzero(np.r_[True, t[1:] != t[:-1]])
    size = np.diff(np.r_[starts, len(t)])
    n_events = np.add.reduceat((event[order] != 0).astype(int), starts)
    n_at_risk = len(t) - np.r_[0, np.cumsum(size)[:-1]]
    return t[starts], n_events, n_at_risk, size - n_events


def install() -> None:
    """Use :func:`compute_counts` wherever scikit-survival counts (idempotent)."""
    _nonparametric._compute_counts = compute_counts
    _coxph._compute_counts = compute_counts
