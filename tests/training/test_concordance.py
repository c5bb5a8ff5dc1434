"""The O(n log n) concordance gives scikit-survival's numbers exactly, ties and all."""

import numpy as np
import pytest
from sksurv.exceptions import NoComparablePairException
from sksurv.metrics import concordance_index_censored, concordance_index_ipcw
from sksurv.util import Surv

from training.concordance import (
    _count_after,
    concordance_both,
    concordance_censored,
    concordance_ipcw,
    concordance_ipcw_each,
)


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
    # both from one count of the pairs: the same two numbers
    half = slice(0, n // 2)
    assert concordance_both(y, y[half], risk[half], tau=tau) == (
        concordance_censored(event[half], time[half], risk[half]),
        concordance_ipcw(y, y[half], risk[half], tau=tau),
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


def test_both_leaves_uno_out_where_the_censoring_distribution_reaches_zero():
    # all but one of those left at 10 months are censored then: the censoring survival is 0
    # there, and scikit-survival refuses the IPCW weight of the death at 10 months
    time = np.array([1.0, 2.0, 3.0, 4.0, 10.0, 10.0, 10.0])
    event = np.array([True, True, False, True, True, False, False])
    risk = np.arange(7.0)[::-1]
    y = Surv.from_arrays(event, time)
    with pytest.raises(ValueError):
        concordance_ipcw(y, y, risk)
    assert concordance_both(y, y, risk) == (concordance_censored(event, time, risk), None)


def test_each_column_is_its_own_uno_c():
    rng = np.random.default_rng(3)
    n = 300
    time, event = np.round(rng.exponential(30, n), 1) + 0.5, rng.random(n) < 0.6
    y = Surv.from_arrays(event, time)
    risks = np.column_stack([rng.normal(size=n), np.round(rng.normal(size=n), 1), np.ones(n)])
    got = concordance_ipcw_each(y, y[:200], risks[:200], tau=40.0)
    want = [concordance_ipcw(y, y[:200], risks[:200, j], tau=40.0) for j in range(2)]
    assert got[:2] == want
    assert np.isnan(got[2])  # one risk for everyone ranks no one
