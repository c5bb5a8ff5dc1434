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
    DECLARED_TERMS,
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
    CV_REPEATS,
    RSF_TREE_SAMPLE,
    _choose_design,
    _choose_terms,
    _Path,
    breslow_on_times,
    brier_weights,
    coxnet_l1_ratios,
    cv_repeats,
    forest_candidates,
    integrated_brier,
    make_folds,
    repeated_folds,
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
    ours = survival_at(survival_on_grid(final, X, d.grid), d.grid, 36)
    plain = make_coxnet(schema, terms="main")[:-1]
    plain.steps.append(("cox", CoxPHSurvivalAnalysis(alpha=1e-4)))
    plain.fit(d.X, d.y)
    theirs = survival_at(survival_on_grid(plain, X, d.grid), d.grid, 36)
    # measured 0.045 against 0.046 (benchmarks/accuracy.py, 5,000 test patients); 10 % is
    # the benchmark's own margin to the better peer
    assert np.abs(ours - truth).mean() <= 1.1 * np.abs(theirs - truth).mean()
    c = lambda s: np.log(-np.log(np.clip(s, 1e-9, 1 - 1e-9)))  # noqa: E731
    slope = np.polyfit(c(ours), c(truth), 1)[0]
    # measured 1.03; the target band for n >= 500 is 0.85-1.15 (the old Uno-C choice: 1.15-1.2)
    assert 0.85 <= slope <= 1.15


def test_a_design_the_schema_did_not_declare_must_clear_a_higher_bar(schema):
    """The design that bends every numeric feature scores best on this 110-patient milan
    draw, but only by noise: served, it erred more (mean absolute error of S(36) 0.127
    against 0.115 for the declared design chosen instead, benchmarks/design_choice.py), and
    the corrected standard error keeps it out."""
    tuned, _, _ = _tuned("milan", 110, 5022, schema)
    scores = {x["terms"]: x["cv_ibs"] for x in tuned.designs}
    assert min(scores, key=scores.get) == COX_TERMS[3]
    assert tuned.params["terms"] in DECLARED_TERMS
    for bad in ((), ("main", "cubic")):
        with pytest.raises(ValueError, match="Cox designs must be among main, splines"):
            tune_coxnet(None, None, schema, None, None, None, designs=bad)


def test_the_undeclared_design_is_judged_against_the_declared_choice():
    """Plain standard error among the declared designs, the corrected one for the other."""
    rng = np.random.default_rng(0)
    base = 0.2 + rng.normal(0, 0.02, 15)
    noise = rng.normal(0, 0.01, 15)
    noise -= noise.mean()
    plain_se = noise.std(ddof=1) / np.sqrt(15)
    corrected = noise.std(ddof=1) * np.sqrt(1 / 15 + 1 / 4)
    gain = (plain_se + corrected) / 2  # between the two bars
    best = {
        "main": _scored("main", base),
        "splines": _scored("splines", base - gain - noise),
        COX_TERMS[3]: _scored(COX_TERMS[3], base - 2 * gain - 2 * noise),
    }
    # the declared splines clear the plain bar; the undeclared design beats them by the same
    # margin, which is short of the corrected bar
    assert _choose_design(best, test_share=1 / 4) == "splines"
    best[COX_TERMS[3]] = _scored(COX_TERMS[3], base - gain - noise - 2 * corrected)
    assert _choose_design(best, test_share=1 / 4) == COX_TERMS[3]
    # a schema that declares nothing: the undeclared design against main effects
    only = {"main": best["main"], COX_TERMS[3]: best[COX_TERMS[3]]}
    assert _choose_design(only, test_share=1 / 4) == COX_TERMS[3]


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


def test_repeated_folds_start_with_the_shared_ones_and_each_split_covers_every_patient():
    rng = np.random.default_rng(3)
    y = Surv.from_arrays(rng.random(110) < 0.6, rng.exponential(20, 110) + 0.1)
    folds = make_folds(y, 5, 0)
    every = repeated_folds(y, folds, 0, 3)
    assert len(every) == 15
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(every[:5], folds, strict=True))
    for r in range(3):
        tests = np.sort(np.concatenate([te for _, te in every[5 * r : 5 * r + 5]]))
        np.testing.assert_array_equal(tests, np.arange(110))
    # the further splits are other splits, not copies of the shared one
    assert not np.array_equal(every[5][1], folds[0][1])
    assert repeated_folds(y, folds, 0, 1) == folds
    assert cv_repeats(COXNET_ONE_L1_N) == CV_REPEATS > 1 == cv_repeats(COXNET_ONE_L1_N + 1)


def _scored(terms: str, fold_ibs) -> tuple:
    ibs = np.asarray(fold_ibs, dtype=float)[:, None]
    return _Path(terms, 0.5, np.array([0.1]), ibs, []), 0


def test_a_richer_design_must_beat_the_corrected_standard_error_of_overlapping_folds():
    """Folds share most training patients, so their differences understate the error of the
    mean; the corrected rule (Nadeau & Bengio) asks more of a richer design than the plain
    standard error over the same 15 folds."""
    rng = np.random.default_rng(0)
    gain = 0.004 + rng.normal(0, 0.01, 15)  # the richer design wins by 0.4 points on average
    gain -= gain.mean() - 0.004
    plain = 0.2 + rng.normal(0, 0.02, 15)
    best = {"main": _scored("main", plain), "splines": _scored("splines", plain - gain)}
    se = gain.std(ddof=1) / np.sqrt(15)
    corrected = gain.std(ddof=1) * np.sqrt(1 / 15 + 1 / 4)
    assert se < 0.004 < corrected  # the case is between the two rules
    assert _choose_terms(best) == "splines"
    assert _choose_terms(best, test_share=1 / 4) == "main"
    # a gain beyond the corrected error is taken by both
    best["splines"] = _scored("splines", plain - gain - 0.01)
    assert _choose_terms(best, test_share=1 / 4) == "splines"


def test_pooled_splits_keep_a_small_cohort_from_a_penalty_one_split_happens_to_favour(schema):
    """In 110 patients one split's scores are noisy, and the least penalty within a standard
    error of the best can fall far down the path. On this milan draw (one of two in twelve
    where that happened, benchmarks/design_choice.py) one split served a penalty of 0.017 and
    missed the true S(36) by 0.146 on average; three splits pooled gave 0.169 and 0.113.
    (Before the curves went on past the last death while ten patients were still followed,
    49.5 -> 55.5 months here, the Brier score was integrated over less follow-up and one
    split fell further: 0.002 and 0.194.)"""
    tuned = {}
    cohort = simulate_cohort(110, 7022, SimulationSettings.for_world("milan"))
    data = validate_dataset(cohort.data, schema).raise_if_errors()
    d = _training_set(data, schema, FitOptions(progress=False))
    args = (d.X, d.y, schema, d.folds, d.tau, d.grid)
    for repeats in (1, CV_REPEATS):
        tuned[repeats] = tune_coxnet(*args, seed=d.seed, progress=False, repeats=repeats)
    test = simulate_cohort(2000, 777, SimulationSettings.for_world("milan"))
    X = validate_dataset(test.data, schema).raise_if_errors()[schema.feature_names]
    truth = test.truth["true_surv_36"].to_numpy()
    error = {}
    for repeats, t in tuned.items():
        final = CoxnetTrainer(d).fit(t.params)
        s36 = survival_at(survival_on_grid(final, X, d.grid), d.grid, 36)
        error[repeats] = np.abs(s36 - truth).mean()
    assert tuned[CV_REPEATS].params["alpha"] > 5 * tuned[1].params["alpha"]  # measured 9.7x
    # measured 0.146 against 0.113 on 2,000 test patients; the margin is most of that gap
    assert error[CV_REPEATS] < error[1] - 0.025
    assert tuned[CV_REPEATS].to_dict()["cv_repeats"] == CV_REPEATS


def _u_shaped_age_cohort(schema, n: int, seed: int, bend: float):
    """The linear world's patients with a U-shaped age effect added to their true log
    hazard (``bend * ((age - 60) / 10)^2``; age enters the schema linearly), and each
    patient's true S(36)."""
    cohort = simulate_cohort(n, seed, SimulationSettings.for_world("linear"))
    rng = np.random.default_rng(seed)
    age = cohort.latent["age"].to_numpy()
    eta = np.log(cohort.truth["true_risk"].to_numpy()) + bend * ((age - 60.0) / 10.0) ** 2
    t = 40.0 * (rng.exponential(size=n) * np.exp(-eta)) ** (1 / 1.3)
    c = rng.uniform(12, 90, n)
    data = cohort.data.copy()
    data[schema.time.name], data[schema.event.name] = np.minimum(t, c), (t <= c).astype(int)
    truth = np.exp(-((36.0 / 40.0) ** 1.3) * np.exp(eta))
    return validate_dataset(data, schema).raise_if_errors(), truth


def test_a_bend_nobody_declared_is_seen_by_the_line_plus_hinges_design(schema):
    """Age enters the schema linearly; the truth adds a mild U in it to the linear world's
    effects. The every-feature design bends each undeclared numeric input as its line plus
    hinges, so its penalty leaves the other inputs straight and pays only for the bend the
    data show: it scores the best cross-validated IBS (so the band's second stand-in is
    this design) and, at its own penalty, is nearer the true curves than main effects at
    theirs. Every numeric input bent as ramps (the design before) was not: on this draw it
    erred 0.0475 against main effects' 0.0464."""
    train, _ = _u_shaped_age_cohort(schema, 2000, 21, bend=0.15)
    test, truth = _u_shaped_age_cohort(schema, 2000, 22, bend=0.15)
    d = _training_set(train, schema, FitOptions(progress=False))
    trainer = CoxnetTrainer(d)
    tuned = trainer.tune()
    best = {}
    for x in tuned.designs:
        if x["terms"] not in best or x["cv_ibs"] < best[x["terms"]]["cv_ibs"]:
            best[x["terms"]] = x
    assert min(best.values(), key=lambda x: x["cv_ibs"])["terms"] == COX_TERMS[3]
    X = test[schema.feature_names]

    def error(params) -> float:
        pred = survival_at(survival_on_grid(trainer.fit(params), X, d.grid), d.grid, 36)
        return float(np.abs(pred - truth).mean())

    bent, plain = error(best[COX_TERMS[3]]), error(best["main"])
    # measured 0.042 against 0.046 (ratio 0.91; ramps 1.02): 0.95 keeps the two apart
    assert bent < 0.95 * plain, (bent, plain)
