"""Imputation draws fitted on a large training set: a seeded sample of its rows, its ranges."""

import numpy as np
import pandas as pd

from model.uncertainty import ImputationDraws


def _encoded(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    a = rng.normal(size=n)
    df = pd.DataFrame({"a": a, "b": 2 * a + rng.normal(size=n), "c": rng.integers(0, 2, n)})
    df = df.astype(float)
    df.loc[rng.random(n) < 0.2, "b"] = np.nan
    return df


def test_a_large_set_is_fitted_on_a_seeded_sample_within_the_whole_sets_ranges(monkeypatch):
    monkeypatch.setattr(ImputationDraws, "FIT_ROWS", 200)
    data = _encoded(1000)
    d = ImputationDraws(seed=3).fit(data)
    sample = data.sample(200, random_state=3)
    # the chained equations start from the sample's means, not the whole set's
    np.testing.assert_allclose(d.imputer_.initial_imputer_.statistics_, sample.mean().to_numpy())
    assert not np.allclose(d.imputer_.initial_imputer_.statistics_, data.mean().to_numpy())
    # the bounds of a draw are the whole set's
    np.testing.assert_array_equal(d.imputer_.max_value, data.max().to_numpy())
    # the same seed, the same sample and the same draws
    again = ImputationDraws(seed=3).fit(data)
    rows = _encoded(30, seed=1)
    pd.testing.assert_frame_equal(d.draws(rows)[0], again.draws(rows)[0])


def test_a_set_within_the_limit_is_fitted_whole(monkeypatch):
    monkeypatch.setattr(ImputationDraws, "FIT_ROWS", 1000)
    data = _encoded(1000)
    d = ImputationDraws(seed=3).fit(data)
    np.testing.assert_allclose(d.imputer_.initial_imputer_.statistics_, data.mean().to_numpy())
