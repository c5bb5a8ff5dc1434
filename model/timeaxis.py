"""The time axis every curve, table and metric shares (months).

One definition, so that the curves of every model, their bands, the validation report,
the page and the prediction columns line up on the same points and landmarks.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "DECISION_HORIZON",
    "GRID_MAX",
    "GRID_STEP",
    "LANDMARKS",
    "RISK_HORIZON",
    "time_grid",
]

LANDMARKS = (12, 36, 60)  # months: 1, 3 and 5 years, the figures every report states
GRID_STEP = 0.5  # months between points of every curve
GRID_MAX = 120.0
RISK_HORIZON = 36.0  # the risk score is the cumulative hazard here (or at the grid's end)
DECISION_HORIZON = 36  # months: decision curves


def time_grid(y: np.ndarray) -> np.ndarray:
    """0 to the last observed death (at most GRID_MAX months) in steps of GRID_STEP months."""
    e, t = y.dtype.names
    last_death = float(y[t][y[e]].max())
    top = min(GRID_MAX, math.floor(last_death / GRID_STEP) * GRID_STEP)
    return np.round(np.arange(0.0, top + GRID_STEP / 2, GRID_STEP), 6)
