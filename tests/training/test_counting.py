"""The vectorised event counts are scikit-survival's counts, and are the ones in use."""

import numpy as np
import pytest
import sksurv.linear_model.coxph as coxph
import sksurv.nonparametric as nonparametric
from sksurv.nonparametric import kaplan_meier_estimator

from training import counting


def _cohort(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 300))
    # coarse times give many ties, events and censored at one time; some float32, some int events
    time = rng.integers(0, 25, n).astype(float) if seed % 2 else rng.exponential(10, n)
    if seed % 5 == 0:
        time = time.astype(np.float32)
    event = rng.random(n) < 0.55
    if seed % 3 == 0:
        event = event.astype(int)
    return event, time


@pytest.mark.parametrize("seed", range(60))
def test_counts_equal_scikit_survival_loop(seed):
    event, time = _cohort(seed)
    for order in (None, np.argsort(time, kind="mergesort")):
        ours = counting.compute_counts(event, time, order)
        theirs = counting.ORIGINAL(event, time, order)
        for a, b in zip(ours, theirs, strict=True):
            assert a.dtype == b.dtype
            np.testing.assert_array_equal(a, b)


def test_competing_risks_are_left_to_the_original():
    event = np.array([0, 1, 2, 1, 0, 2])
    time = np.array([1.0, 2.0, 2.0, 3.0, 4.0, 5.0])
    for a, b in zip(
        counting.compute_counts(event, time), counting.ORIGINAL(event, time), strict=True
    ):
        np.testing.assert_array_equal(a, b)


def test_training_installs_them_where_scikit_survival_counts():
    import training  # noqa: F401  (installs on import)

    assert nonparametric._compute_counts is counting.compute_counts
    assert coxph._compute_counts is counting.compute_counts
    # and a Kaplan-Meier curve is unchanged to the bit
    event, time = _cohort(7)
    got = kaplan_meier_estimator(event.astype(bool), time)
    nonparametric._compute_counts = counting.ORIGINAL
    try:
        want = kaplan_meier_estimator(event.astype(bool), time)
    finally:
        counting.install()
    for a, b in zip(got, want, strict=True):
        np.testing.assert_array_equal(a, b)
