"""Survival curves on the grid, checked against scikit-survival's own step functions."""

import numpy as np
import pytest
from sksurv.util import Surv

from model.predict import (
    cox_baseline_on_grid,
    median_survival,
    risk_score,
    survival_at,
    survival_on_grid,
)
from model.timeaxis import TimeAxis, time_grid
from model.validation import validate_dataset
from training.estimators import (
    coxnet_step,
    fit_quietly,
    make_coxnet,
    make_rsf,
    round_times,
    survival_target,
)


@pytest.fixture(scope="module")
def fitted(schema, small_cohort):
    df = validate_dataset(small_cohort[0], schema).data
    X, y = df[schema.feature_names], survival_target(df, schema)
    cox = fit_quietly(make_coxnet(schema, 0.5, alphas=[0.01], fit_baseline_model=True), X, y)
    rsf = fit_quietly(make_rsf(schema, n_estimators=20), X, round_times(y))
    return X, y, {"coxnet": cox, "rsf": rsf}


@pytest.mark.parametrize("name", ["coxnet", "rsf"])
def test_curves_equal_sksurv_step_functions(fitted, name):
    """Beyond a step function's domain (a forest's last death, before the grid's end) the
    last value is held."""
    X, y, models = fitted
    grid = time_grid(y)
    surv = survival_on_grid(models[name], X.iloc[:25], grid)
    fns = models[name].predict_survival_function(X.iloc[:25])
    ref = np.array([[fn(min(t, fn.x[-1])) if t >= fn.x[0] else 1.0 for t in grid] for fn in fns])
    assert np.allclose(surv, ref, atol=1e-10)


@pytest.mark.parametrize("where", ["resample", "at_risk_later"])
def test_cox_baseline_is_the_zero_rows_on_uncentred_features(fitted, schema, where):
    """H0(t) exp(z . coef) must be scikit-survival's own H(t | z) for a Cox step fitted where
    the features do not have mean 0: a bootstrap resample (the band's refits) or the patients
    still at risk after a cut (the band's stand-in). Coxnet centres what it is fitted on and
    keeps exp(-mean . coef) apart in the step function; a baseline read without it is
    exp(mean . coef) off, at least 5 % here (checked first), far above the rounding allowed."""
    X, y, models = fitted
    Z = models["coxnet"][:-1].transform(X)  # scaled on all patients: mean 0 there only
    e, t = y.dtype.names
    if where == "resample":
        idx = np.random.default_rng(1).integers(0, len(y), len(y))
        Zf, yf = Z.iloc[idx], y[idx]
    else:
        alive = y[t] > np.quantile(y[t][y[e]], 0.5)
        Zf, yf = Z[alive], y[alive].copy()
        yf[t] = yf[t] - yf[t].min() / 2
    step = fit_quietly(coxnet_step(schema, 0.5, 0.01), Zf, yf)
    assert abs(float(Zf.mean(axis=0).to_numpy() @ step.coef_[:, 0])) > 0.05  # really uncentred
    grid = time_grid(yf)
    h0 = cox_baseline_on_grid(step, list(Z.columns), grid)
    mine = np.exp(Z.iloc[:25].to_numpy() @ step.coef_[:, 0])[:, None] * h0[None, :]
    fns = step.predict_cumulative_hazard_function(Z.iloc[:25])
    ref = np.array([[fn(g) if g >= fn.x[0] else 0.0 for g in grid] for fn in fns])
    assert np.allclose(mine, ref, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name", ["coxnet", "rsf"])
def test_curves_are_non_increasing_probabilities(fitted, name):
    X, y, models = fitted
    grid = time_grid(y)
    surv = survival_on_grid(models[name], X, grid)
    assert surv.shape == (len(X), len(grid))
    assert ((surv >= 0) & (surv <= 1)).all()
    assert (np.diff(surv, axis=1) <= 1e-12).all()
    assert (surv[:, 0] == 1.0).all()


def _target(deaths, censored):
    e = np.r_[np.ones(len(deaths), bool), np.zeros(len(censored), bool)]
    return Surv.from_arrays(e, np.concatenate([deaths, censored]))


def test_grid_goes_past_the_last_death_while_ten_are_followed():
    """Few events: the last death at 9.8 months, 40 patients followed to 9.9-11.9 months.
    The curves go on (flat) to the time the tenth-last patient left, 11.4 months here, and
    a landmark at 10 months is read; with only 5 followed past the last death they end at
    it, and a landmark between the last grid point (9.5) and that death (9.8) is still read."""
    deaths = np.linspace(1.0, 9.8, 20)
    many = _target(deaths, np.linspace(9.9, 11.9, 41)[:-1])
    tenth_last = np.sort(many["time"])[-10]
    assert tenth_last == pytest.approx(11.4)
    axis = TimeAxis(landmarks=(3.0, 9.7, 10.0))
    grid = time_grid(many, axis)
    assert grid[-1] == 11.0  # 11.4 on the half-month grid
    assert {9.7, 10.0} <= set(grid)
    few = _target(deaths, np.linspace(9.9, 11.9, 5))
    grid = time_grid(few, axis)
    assert grid[-1] == 9.7 and 10.0 not in grid
    assert set(np.arange(0.0, 10.0, 0.5)) <= set(grid)


def test_reading_curves():
    grid = np.array([0.0, 12.0, 24.0, 36.0])
    surv = np.array([[1.0, 0.8, 0.5, 0.3], [1.0, 0.9, 0.8, 0.7]])
    assert np.allclose(survival_at(surv, grid, 30.0), [0.5, 0.8])
    assert np.allclose(risk_score(surv, grid, 36.0), -np.log([0.3, 0.7]))
    med = median_survival(surv, grid)
    assert med[0] == 24.0 and np.isnan(med[1])
