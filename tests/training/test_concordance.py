"""The O(n log n) concordance gives scikit-survival's numbers exactly, ties and all."""

import numpy as np
import pytest
from sksurv.exceptions import NoComparablePairException
from sksurv.metrics import concordance_index_censored, concordance_index_ipcw
from sksurv.util import Surv

from training.concordance import _count_after, concordance_censored, concordance_ipcw


@pytest.mark.parametrize("seed", range(40))
def test_equals_scikit_survival_with_tied_times_and_risks(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 400))
    # coarse rounding makes many tied times (events and censored at the same time) and risks
    time = np.round(rng.exponential(30, n), seed % 2) + 0.5
    event = rng.random(n) < 0.6
    event[0] = True
    risk = np.round(rng.normal(size=n), seed % 3)
    y = Surv.from_arrays(event, time)
    assert (
        concordance_censored(event, time, risk) == concordance_index_censored(event, time, risk)[0]
    )
    tau = float(np.quantile(time, 0.8))
    assert concordance_ipcw(y, y[: n // 2], risk[: n // 2], tau=tau) == pytest.approx(
        concordance_index_ipcw(y, y[: n // 2], risk[: n // 2], tau=tau)[0], abs=0
    )


def test_no_comparable_pair_is_refused_as_scikit_survival_does():
    event, time, risk = np.array([False, True]), np.array([1.0, 2.0]), np.array([0.1, 0.2])
    with pytest.raises(NoComparablePairException):
        concordance_index_censored(event, time, risk)
    with pytest.raises(NoComparablePairException):
        concordance_censored(event, time, risk)


@pytest.mark.parametrize("seed", range(10))
def test_merge_count_equals_counting_each_query_by_hand(seed):
    rng = np.random.default_rng(seed)
    n, m = int(rng.integers(1, 300)), int(rng.integers(1, 300))
    values = rng.integers(0, 50, n)
    start = rng.integers(0, n + 1, m)  # n: nothing after
    limit = rng.integers(0, 52, m)
    expected = [int((values[s:] < lim).sum()) for s, lim in zip(start, limit, strict=True)]
    assert _count_after(values, start, limit).tolist() == expected
