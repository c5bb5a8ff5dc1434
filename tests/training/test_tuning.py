"""The Cox model's design and penalty: chosen by cross-validated integrated Brier score."""

from dataclasses import replace

import numpy as np
import pytest
from sksurv.linear_model import CoxPHSurvivalAnalysis
from sksurv.linear_model.coxph import BreslowEstimator
from sksurv.metrics import integrated_brier_score
from sksurv.util import Surv

from model.predict import survival_at, survival_on_grid
from model.validation import validate_dataset
from training.estimators import (
    COX_TERMS,
    SERVED_TERMS,
    distinct_terms,
    make_coxnet,
    make_rsf,
    round_times,
    survival_target,
)
from training.families import CoxnetTrainer
from training.fit import FitOptions, _training_set
from training.simulate import SimulationSettings, simulate_cohort
from training.tuning import (
    COXNET_L1_RATIOS,
    COXNET_ONE_L1_N,
    RSF_TREE_SAMPLE,
    breslow_on_times,
    brier_weights,
    coxnet_l1_ratios,
    forest_candidates,
    integrated_brier,
    tune_coxnet,
)


@pytest.fixture(scope="module")
def toy():
    rng = np.random.default_rng(1)
    n = 300
    time = np.round(rng.exponential(20, n), 1) + 0.1  # rounded: tied times
    event = rng.random(n) < 0.6
    lp = rng.normal(size=(n, 3)) * [1.0, 0.1, 3.0]
    return time, event, lp, np.linspace(1, 50, 40)


def test_breslow_for_many_models_at_once_is_sksurvs_estimator(toy):
    time, event, lp, times = toy
    h0 = breslow_on_times(time, event, lp, times)
    for a in range(lp.shape[1]):
        fn = BreslowEstimator().fit(lp[:, a], event, time).cum_baseline_hazard_
        ref = np.array([fn(t) if t >= fn.x[0] else 0.0 for t in times])
        # the same sums in another order: equal to rounding
        np.testing.assert_allclose(h0[a], ref, rtol=1e-10, atol=1e-12)


def test_integrated_brier_for_many_models_at_once_is_sksurvs(toy):
    time, event, lp, times = toy
    y = Surv.from_arrays(event, time)
    test = np.arange(120)
    surv = np.exp(
        -np.exp(lp[test].T)[:, :, None] * breslow_on_times(time, event, lp, times)[:, None]
    )
    ours = integrated_brier(surv, *brier_weights(y, y[test], times), times)
    ref = [integrated_brier_score(y, y[test], surv[a], times) for a in range(len(surv))]
    np.testing.assert_allclose(ours, ref, rtol=1e-12)


def test_designs_are_nested_and_those_the_schema_cannot_tell_apart_are_dropped(schema):
    assert distinct_terms(schema) == COX_TERMS
    X = simulate_cohort(200, seed=5).data[schema.feature_names]
    widths = [make_coxnet(schema, terms=t)[:3].fit_transform(X).shape[1] for t in COX_TERMS]
    encoded = len(make_coxnet(schema)[:1].fit_transform(X).columns)
    assert widths[0] == encoded < widths[1] < widths[2] < widths[3]
    # every numeric feature bends in the last design, and only there
    bent = make_coxnet(schema, terms=COX_TERMS[3])[:3].fit_transform(X).columns
    assert any(c.startswith("age") and c != "age" for c in bent)
    assert "age" in make_coxnet(schema, terms=COX_TERMS[2])[:3].fit_transform(X).columns
    plain = replace(
        schema,
        interactions=[],
        features=tuple(replace(f, nonlinear=False) for f in schema.features),
    )
    assert distinct_terms(plain) == ("main", COX_TERMS[3])
    no_numbers = replace(plain, features=tuple(f for f in plain.features if f.kind == "binary"))
    assert distinct_terms(no_numbers) == ("main",)
    with pytest.raises(ValueError, match="terms must be one of"):
        make_coxnet(schema, terms="cubic")


def _tuned(world: str, n: int, seed: int, schema):
    cohort = simulate_cohort(n, seed, SimulationSettings.for_world(world))
    data = validate_dataset(cohort.data, schema).raise_if_errors()
    d = _training_set(data, schema, FitOptions(progress=False))
    t = CoxnetTrainer(d)
    tuned = t.tune()
    return tuned, t.fit(tuned.params), d


def test_in_a_linear_world_the_choice_is_as_good_as_plain_cox(schema):
    """Complexity is earned: with a linear truth the splines and the interaction do not pay,
    and the chosen model is as close to the true curves as an unpenalised main-effects Cox
    model, with a calibration slope near 1 (the penalty does not over-shrink)."""
    tuned, final, d = _tuned("linear", 500, 500, schema)
    assert tuned.params["terms"] == "main"
    assert {x["terms"] for x in tuned.designs} == set(COX_TERMS)
    test = simulate_cohort(2000, 777, SimulationSettings.for_world("linear"))
    X = validate_dataset(test.data, schema).raise_if_errors()[schema.feature_names]
    truth = test.truth["true_surv_36"].to_numpy()
    ours = survival_at(survival_on_grid(final, X, d.grid, extend=True), d.grid, 36)
    plain = make_coxnet(schema, terms="main")[:-1]
    plain.steps.append(("cox", CoxPHSurvivalAnalysis(alpha=1e-4)))
    plain.fit(d.X, d.y)
    theirs = survival_at(survival_on_grid(plain, X, d.grid, extend=True), d.grid, 36)
    # measured 0.045 against 0.046 (benchmarks/accuracy.py, 5,000 test patients); 10 % is
    # the benchmark's own margin to the better peer
    assert np.abs(ours - truth).mean() <= 1.1 * np.abs(theirs - truth).mean()
    c = lambda s: np.log(-np.log(np.clip(s, 1e-9, 1 - 1e-9)))  # noqa: E731
    slope = np.polyfit(c(ours), c(truth), 1)[0]
    # measured 1.03; the target band for n >= 500 is 0.85-1.15 (the old Uno-C choice: 1.15-1.2)
    assert 0.85 <= slope <= 1.15


def test_every_numeric_feature_bent_is_scored_but_never_served(schema):
    """The design that bends every numeric feature only checks for shapes the schema did
    not declare (the band's second stand-in): in a 110-patient milan draw where it scored
    the best IBS, the declared splines are served (served, it erred more: 0.137 against
    0.127 in S(36))."""
    tuned, _, _ = _tuned("milan", 110, 5022, schema)
    scores = {x["terms"]: x["cv_ibs"] for x in tuned.designs}
    assert min(scores, key=scores.get) == COX_TERMS[3]
    assert tuned.params["terms"] == "splines" and "splines" in SERVED_TERMS
    with pytest.raises(ValueError, match="designs must include one of main"):
        tune_coxnet(None, None, schema, None, None, None, designs=(COX_TERMS[3],))


def test_in_the_milan_world_the_threshold_earns_its_splines(schema, cohort_2000_path):
    """The shipped 2,000-patient cohort comes from a world with a Ki-67 threshold and a
    Ki-67 x PCI interaction: a design with splines must win over main effects."""
    data = validate_dataset(cohort_2000_path, schema).raise_if_errors()
    d = _training_set(data, schema, FitOptions(progress=False))
    tuned = CoxnetTrainer(d).tune()
    assert tuned.params["terms"] != "main"
    scores = {x["terms"]: x["cv_ibs"] for x in tuned.designs}
    assert scores[tuned.params["terms"]] < scores["main"]
    # the least-shrunk penalty the folds cannot tell from the best one: at most one standard
    # error of paired fold differences above the minimum (those SEs are about 0.001 here)
    best = min(c["cv_ibs"] for c in tuned.candidates if c["terms"] == tuned.params["terms"])
    assert best <= tuned.cv_ibs <= best + 0.003
    chosen = [c for c in tuned.candidates if c["l1_ratio"] == tuned.params["l1_ratio"]]
    assert tuned.params["alpha"] <= min(c["alpha"] for c in chosen if c["cv_ibs"] == best)


def test_large_forests_grow_each_tree_on_a_sample_of_the_reference_size(schema):
    grid = ({"min_samples_leaf": 15, "max_features": "sqrt"},)
    assert forest_candidates(grid, RSF_TREE_SAMPLE) == grid  # unchanged up to the reference
    (big,) = forest_candidates(grid, 3 * RSF_TREE_SAMPLE)
    assert big == {**grid[0], "max_samples": RSF_TREE_SAMPLE}
    cohort = simulate_cohort(RSF_TREE_SAMPLE + 500, seed=3)
    X = cohort.data[schema.feature_names]
    y = round_times(survival_target(cohort.data, schema))
    forest = make_rsf(schema, n_estimators=3, **big).fit(X, y)[-1]
    # a tree's root holds its bootstrap sample, each draw weighing one
    roots = [t.tree_.weighted_n_node_samples[0] for t in forest.estimators_]
    assert roots == [RSF_TREE_SAMPLE] * 3


def test_large_cohorts_try_one_l1_ratio():
    assert coxnet_l1_ratios(COXNET_ONE_L1_N) == COXNET_L1_RATIOS
    assert coxnet_l1_ratios(COXNET_ONE_L1_N + 1) == (0.5,)
