"""Risk groups within a scored cohort: thirds of the predicted risk score."""

from __future__ import annotations

import numpy as np
import pandas as pd

from model.i18n import N_

__all__ = ["RISK_THIRDS", "risk_thirds", "with_risk_thirds"]

# also the values of the ``risk_group`` column that ``predict`` writes: translated only where shown
RISK_THIRDS = (N_("lower risk third"), N_("middle risk third"), N_("higher risk third"))


def risk_thirds(scores) -> list[str]:
    """Each patient's third of the risk score within this cohort (cut at its 1/3 and 2/3
    quantiles; a score on a cut goes to the lower group)."""
    scores = np.asarray(scores, dtype=float)
    cuts = np.quantile(scores, [1 / 3, 2 / 3])
    return [RISK_THIRDS[int(np.searchsorted(cuts, r))] for r in scores]


def with_risk_thirds(predictions: pd.DataFrame) -> pd.DataFrame:
    """The predictions table with a ``risk_group`` column after ``risk_score``."""
    out = predictions.copy()
    out.insert(out.columns.get_loc("risk_score") + 1, "risk_group", risk_thirds(out["risk_score"]))
    return out
