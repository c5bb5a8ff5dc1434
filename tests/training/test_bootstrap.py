"""Bootstrap validation: optimism correction and out-of-bag curves."""

import numpy as np
import pytest

from model.predict import survival_on_grid
from model.timeaxis import time_grid
from model.validation import validate_dataset
from training.bootstrap import bootstrap_validation
from training.estimators import fit_quietly, make_rsf, round_times, survival_target


@pytest.fixture(scope="module")
def forest_validation(small_cohort, schema):
    df = validate_dataset(small_cohort[0], schema).data
    X, y = df[schema.feature_names], survival_target(df, schema)
    grid = time_grid(y)

    def refit(Xb, yb, seed):
        return fit_quietly(
            make_rsf(schema, n_estimators=30, min_samples_leaf=8, seed=seed), Xb, round_times(yb)
        )

    final = refit(X, y, 0)
    res = bootstrap_validation(final, refit, X, y, grid, 36.0, 40.0, n_boot=8, progress=False)
    return X, y, grid, final, res


def test_out_of_bag_curves_are_proper_and_differ_from_apparent(forest_validation):
    X, y, grid, final, res = forest_validation
    oob, apparent = res["oob_surv"], survival_on_grid(final, X, grid)
    assert oob.shape == apparent.shape
    assert ((oob >= 0) & (oob <= 1)).all() and (np.diff(oob, axis=1) <= 1e-6).all()
    assert np.abs(oob - apparent).mean() > 0.01  # patients are scored by models that never saw them


def test_forest_optimism_is_positive_and_out_of_bag_is_below_apparent(forest_validation):
    *_, res = forest_validation
    assert res["n_boot"] == 8
    assert res["optimism"]["harrell_c"] > 0
    assert res["out_of_bag"]["harrell_c"] < res["apparent"]["harrell_c"]
    lo, hi = res["ci"]["harrell_c"]
    assert lo < hi


def test_resamples_the_settings_cannot_fit_are_counted_and_left_out(small_cohort, schema):
    df = validate_dataset(small_cohort[0], schema).data
    X, y = df[schema.feature_names], survival_target(df, schema)
    grid = time_grid(y)
    rare = X.index[0]  # resamples holding this patient "diverge", as Coxnet raises then

    def refit(Xb, yb, seed):
        if rare in Xb.index:
            raise ArithmeticError("Numerical error, because weights are too large.")
        return fit_quietly(make_rsf(schema, n_estimators=10, seed=seed), Xb, round_times(yb))

    final = fit_quietly(make_rsf(schema, n_estimators=10), X, round_times(y))
    res = bootstrap_validation(final, refit, X, y, grid, 36.0, 40.0, n_boot=12, progress=False)
    # a resample of n rows misses a given row with probability (1 - 1/n)^n, about 0.37: of
    # 12 resamples some hold it and some do not (seeded, so the split is fixed)
    assert res["n_failed"] > 0 and res["n_boot"] > 0
    assert res["n_boot"] + res["n_failed"] == 12
    assert res["corrected"]["harrell_c"] is not None

    def never(Xb, yb, seed):
        raise ArithmeticError("Numerical error, because weights are too large.")

    with pytest.raises(ValueError, match="could not be refitted on any of 4 resamples"):
        bootstrap_validation(final, never, X, y, grid, 36.0, 40.0, n_boot=4, progress=False)


def test_a_refit_whose_curves_are_not_finite_is_left_out_like_one_that_raised(
    small_cohort, schema, monkeypatch
):
    """A refit run off to infinity gives NaN curves (its baseline divides by an infinite
    risk set) without raising; scoring them stopped fit with a TypeError."""
    from training import bootstrap

    df = validate_dataset(small_cohort[0], schema).data
    X, y = df[schema.feature_names], survival_target(df, schema)
    grid = time_grid(y)
    rare = X.index[0]
    curves = bootstrap.survival_on_grid

    def run_off(model, *a, **k):
        out = curves(model, *a, **k)
        return np.full_like(out, np.nan) if getattr(model, "run_off", False) else out

    monkeypatch.setattr(bootstrap, "survival_on_grid", run_off)

    def refit(Xb, yb, seed):
        model = fit_quietly(make_rsf(schema, n_estimators=10, seed=seed), Xb, round_times(yb))
        model.run_off = rare in Xb.index
        return model

    final = fit_quietly(make_rsf(schema, n_estimators=10), X, round_times(y))
    res = bootstrap_validation(final, refit, X, y, grid, 36.0, 40.0, n_boot=12, progress=False)
    assert res["n_failed"] > 0 and res["n_boot"] + res["n_failed"] == 12
    assert res["corrected"]["ibs"] is not None and np.isfinite(res["corrected"]["ibs"])
