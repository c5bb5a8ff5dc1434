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


def _levels_world(n: int, seed: int) -> pd.DataFrame:
    """An ordinal feature in three levels whose chances follow a multinomial logistic model
    of ``pci`` (the drawing model is correctly specified), and a continuous ``b`` = 2 pci +
    noise; neither was ever unknown in training, as CC and PCI in a registry."""
    rng = np.random.default_rng(seed)
    pci = rng.normal(size=n)
    p = _true_chances(pci)
    level = (p.cumsum(axis=1) < rng.random(n)[:, None]).sum(axis=1)
    return pd.DataFrame(
        {
            "pci": pci,
            "b": 2 * pci + rng.normal(scale=0.5, size=n),
            "cc=1": (level == 1).astype(float),
            "cc=2": (level == 2).astype(float),
            "flag": (rng.random(n) < 0.3).astype(float),
        }
    )


def _true_chances(pci: np.ndarray) -> np.ndarray:
    logits = np.column_stack([np.zeros_like(pci), 1.0 + 2.0 * pci, -1.0 + 4.0 * pci])
    p = np.exp(logits)
    return p / p.sum(axis=1, keepdims=True)


def test_an_input_no_training_patient_lacked_is_drawn_from_the_patients_other_inputs():
    train = _levels_world(4000, seed=0)
    d = ImputationDraws(n_draws=2000, seed=1, discrete=[["cc=1", "cc=2"], ["flag"]]).fit(train)
    new = pd.DataFrame(
        {"pci": [-1.5, 0.0, 1.5], "b": np.nan, "cc=1": np.nan, "cc=2": np.nan, "flag": np.nan}
    )
    rows, owner = d.draws(new)
    cc = rows[["cc=1", "cc=2"]].to_numpy()
    # a level, never a fraction of one: indicators 0/1 and at most one set
    assert set(np.unique(cc)) <= {0.0, 1.0} and (cc.sum(axis=1) <= 1).all()
    assert set(rows["flag"].unique()) <= {0.0, 1.0}
    level = cc @ np.array([1, 2])
    truth = _true_chances(new["pci"].to_numpy())
    for i in range(3):
        seen = np.bincount(level[owner == i].astype(int), minlength=3) / 2000
        # 2,000 draws: binomial SE <= 0.011; 4,000 training rows fit the correctly specified
        # model's coefficients to within a few hundredths of a logit. 0.05 is ~4 SE.
        np.testing.assert_allclose(seen, truth[i], atol=0.05)
    # the continuous input follows the patient's PCI (true mean 2 pci, SD 0.5), not the
    # training mean of 0
    for i, pci in enumerate(new["pci"]):
        b = rows.loc[owner == i, "b"]
        assert abs(b.mean() - 2 * pci) < 0.1  # SE of 2,000 draws ~0.012 plus fit error
        assert 0.4 < b.std() < 0.65  # the residual SD, with the fit's own uncertainty


def test_imputation_draws_fitted_before_discrete_models_still_draw():
    """A bundle pickled before discrete features had their own models draws as it did."""
    train = _levels_world(500, seed=0)
    train.loc[::4, "b"] = np.nan
    d = ImputationDraws(seed=1).fit(train)
    del d.levels_, d.discrete
    rows, owner = d.draws(
        pd.DataFrame({"pci": [0.5], "b": [np.nan], "cc=1": 0.0, "cc=2": 1.0, "flag": 0.0})
    )
    assert len(rows) == d.n_draws and rows["b"].notna().all()
