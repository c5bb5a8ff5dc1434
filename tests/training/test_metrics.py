"""Performance measures checked against the simulator's truth and independent formulas."""

import numpy as np
import pytest
from sksurv.metrics import concordance_index_censored

from model.predict import risk_score
from training.estimators import survival_target
from training.metrics import calibration, decision_curve, performance
from training.simulate import SimulationSettings, TrueModel, simulate_cohort


@pytest.fixture(scope="module")
def world(schema):
    cohort = simulate_cohort(8000, seed=4242)
    grid = np.arange(0.0, 60.5, 0.5)
    truth = TrueModel(SimulationSettings()).survival(cohort.latent, grid)
    y = survival_target(cohort.latent, schema)
    return cohort, grid, truth, y


def test_true_curves_are_calibrated(world):
    # The true S(t | x) is calibrated by construction. With 8,000 patients the slope's
    # standard error is about 0.03 and decile Kaplan-Meier estimates about 0.015, so the
    # tolerances (0.1 for the slope, 0.03 for mean absolute group error) are 3 SE or more.
    _, grid, truth, y = world
    for h in (12, 36):
        cal = calibration(y, truth, grid, h)
        assert cal["slope"] == pytest.approx(1.0, abs=0.1)
        assert abs(cal["in_the_large"]) < 0.015
        assert cal["grouped_error"] < 0.03
        assert len(cal["groups"]) == 10


def test_compressed_predictions_show_a_slope_above_one(world):
    _, grid, truth, y = world
    # shrink every log cumulative hazard halfway to its mean: predictions too moderate
    logH = np.log(-np.log(np.clip(truth, 1e-12, 1 - 1e-12)))
    shrunk = np.exp(-np.exp(0.5 * logH + 0.5 * logH.mean(axis=0)))
    assert calibration(y, shrunk, grid, 36)["slope"] > 1.5


def test_the_slopes_standard_error_is_its_spread_over_cohorts(schema):
    """The true curves' calibration slope at 36 months over 40 cohorts of 400 of the same
    world: its standard deviation is what each cohort's standard error says (measured 0.069
    against a mean 0.068). An sd from 40 draws is itself uncertain by about 11 %: the ratio
    within 0.75-1.33 is 2.5 of those either way."""
    grid = np.arange(0.0, 60.5, 0.5)
    true = TrueModel(SimulationSettings())
    slopes, errors = [], []
    for r in range(40):
        cohort = simulate_cohort(400, seed=100 + r)
        y = survival_target(cohort.latent, schema)
        cal = calibration(y, true.survival(cohort.latent, grid), grid, 36)
        slopes.append(cal["slope"])
        errors.append(cal["slope_se"])
    assert 0.75 <= np.std(slopes, ddof=1) / np.mean(errors) <= 1.33


def test_performance_matches_direct_computation_and_beats_the_null(world):
    _, grid, truth, y = world
    perf = performance(y, y, truth, grid, risk_horizon=36.0, tau=55.0)
    direct = concordance_index_censored(y["event"], y["time"], risk_score(truth, grid, 36.0))[0]
    assert perf["harrell_c"] == pytest.approx(direct)
    assert perf["ibs"] < perf["ibs_null"] and 0 < perf["ipa"] < 1
    assert 0.7 < perf["auc_12"] <= 1 and 0.7 < perf["auc_36"] <= 1
    # uninformative predictions: Kaplan-Meier-like curve for everyone has C of 0.5
    flat = np.tile(truth.mean(axis=0), (len(y), 1))
    null = performance(y, y, flat, grid, 36.0, 55.0)
    assert null["harrell_c"] == pytest.approx(0.5)
    assert abs(null["ipa"]) < 0.02


def test_horizons_beyond_follow_up_are_not_reported(world):
    _, grid, truth, y = world
    short = y.copy()  # the study closes at 30 months: administrative censoring
    short["event"] = short["event"] & (short["time"] < 30.0)
    short["time"] = np.minimum(short["time"], 30.0)
    perf = performance(short, short, truth, grid, 24.0, 25.0)
    assert perf["auc_36"] is None and perf["auc_60"] is None and perf["auc_12"] is not None
    assert calibration(short, truth, grid, 36) is None


def test_auc_is_reported_when_every_survivor_is_censored_on_one_closing_date(world):
    """The censoring distribution is zero at the closing date, where scikit-survival refuses
    to weigh the deaths of that day; the AUC at an earlier landmark needs no weight there. It must equal
    scikit-survival's own on the same trial with one survivor followed a little longer (the
    censoring distribution before 24 months is the same)."""
    from sksurv.metrics import cumulative_dynamic_auc

    _, grid, truth, y = world
    closed = y[:1500].copy()
    died = closed["event"] & (closed["time"] < 30.0)
    died[np.flatnonzero(closed["time"] >= 30.0)[:5]] = True  # deaths on the closing date too
    closed["event"], closed["time"] = died, np.minimum(closed["time"], 30.0)
    surv = truth[:1500]
    perf = performance(closed, closed, surv, grid, 24.0, 25.0, horizons=(12, 24))
    longer = closed.copy()
    longer["time"][np.flatnonzero(~died)[0]] = 31.0
    for h in (12, 24):
        risk = 1 - surv[:, np.searchsorted(grid, h)]
        want = cumulative_dynamic_auc(longer, longer, risk, [h])[0][0]
        assert perf[f"auc_{h}"] == pytest.approx(want, abs=1e-9)


def test_decision_curve_has_models_and_reference_strategies(world):
    _, grid, truth, y = world
    risk = 1 - truth[:, np.searchsorted(grid, 36.0)]
    dca = decision_curve(y, {"truth": risk}, 36.0)
    assert set(dca["model"]) == {"truth", "all", "none"}
    nb = dca.pivot(index="threshold", columns="model", values="net_benefit")
    assert (nb["none"] == 0).all()
    # the true risk is at least as useful as treating everyone at every threshold
    assert (nb["truth"] >= nb["all"] - 1e-3).all()
