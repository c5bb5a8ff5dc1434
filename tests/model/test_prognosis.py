"""The Cox prognosis engine: curves, bands, unknown inputs, conditional survival."""

import numpy as np
import pandas as pd
import pytest

from model.bundle import load_bundle
from model.families import CoxnetFamily
from model.prognosis import Prognosis
from model.validation import validate_dataset, validate_patient

# a patient with every input known
PATIENT = {
    "age": 55,
    "sex": "M",
    "kps": 90,
    "pathology": "epithelioid",
    "ki67": 6,
    "vascular_emboli": 0,
    "lymph_nodes": 0,
    "pci": 15,
    "cc": 0,
    "sae": 0,
    "ca125": 20,
    "cea": 1.5,
    "ca199": 8,
    "rbc_units": 1,
}


@pytest.fixture(scope="module")
def engine(small_bundle):
    return CoxnetFamily(load_bundle(small_bundle))


@pytest.fixture(scope="module")
def rows(small_cohort, schema):
    df = validate_dataset(small_cohort[0], schema).data[schema.feature_names]
    return df


def test_complete_patient_matches_the_pipeline(engine, rows):
    # two independent paths: the fitted sklearn pipeline, and the ensemble's matrix form
    complete = rows[rows.notna().all(axis=1)].iloc[:5]
    via_pipeline = engine.bundle.survival(complete, "coxnet")
    via_engine = np.array([p.survival for p in engine.predict(complete)])
    assert np.allclose(via_engine, via_pipeline, atol=1e-10)


def test_curves_bands_and_summaries_are_consistent(engine, rows):
    for p in engine.predict(rows.iloc[:20]):
        assert ((p.survival >= 0) & (p.survival <= 1)).all()
        assert (np.diff(p.survival) <= 1e-12).all()
        assert (p.lower <= p.survival + 1e-12).all() and (p.survival <= p.upper + 1e-12).all()
        est, lo, hi = p.landmarks[12]
        assert lo <= est <= hi and est == pytest.approx(p.at(12)[0])
        med, mlo, mhi = p.median
        if med is not None:
            assert p.at(med)[0] <= 0.5 and (mlo is None or mlo <= med)


def test_unknown_inputs_widen_the_band(engine, schema):
    known = {
        **PATIENT,
        "age": 60,
        "sex": "F",
        "kps": 80,
        "ki67": 15,
        "pci": 24,
        "cc": 1,
        "ca125": 40,
        "cea": 2,
        "ca199": 10,
        "rbc_units": 2,
    }
    full = engine.predict(validate_patient(known, schema).data)[0]
    partial = engine.predict(
        validate_patient(
            {k: v for k, v in known.items() if k not in ("ki67", "ca125", "cea", "ca199", "kps")},
            schema,
        ).data
    )[0]
    assert full.unknown == [] and set(partial.unknown) == {"ki67", "ca125", "cea", "ca199", "kps"}
    width = lambda p: np.mean(p.upper - p.lower)  # noqa: E731
    assert width(partial) > width(full)


def test_same_input_same_result(engine, rows):
    a = engine.predict(rows.iloc[:3])
    b = engine.predict(rows.iloc[:3])
    for x, y in zip(a, b, strict=True):
        assert np.array_equal(x.survival, y.survival) and np.array_equal(x.lower, y.lower)


def test_conditional_survival_is_the_ratio(engine, rows):
    p = engine.predict(rows.iloc[[1]])[0]
    c = p.conditional(24.0)
    for t in (24.0, 30.0, 36.0):
        assert c.at(t)[0] == pytest.approx(p.at(t)[0] / p.at(24.0)[0])
    assert c.at(24.0)[0] == pytest.approx(1.0)
    assert (c.lower <= c.survival + 1e-12).all() and (c.survival <= c.upper + 1e-12).all()
    with pytest.raises(ValueError, match="alive_at must be between"):
        p.conditional(1000.0)


def test_no_conditional_survival_after_the_last_death():
    """A curve that goes on flat past its last death (patients still followed) says nothing
    about survival given alive after that death: a flat 100 % would read as a promise."""
    grid = np.arange(0.0, 13.0)
    surv = np.r_[1.0, 0.9, 0.8, 0.8, 0.7, np.full(8, 0.7)]  # last death at 4 months
    p = Prognosis(grid, surv, surv - 0.05, np.minimum(surv + 0.05, 1.0), [])
    assert p.last_step == 4.0
    assert p.conditional(3.0).at(4.0)[0] == pytest.approx(0.7 / 0.8)
    for s in (4.0, 6.0):
        with pytest.raises(ValueError, match="no event was seen after 4 months"):
            p.conditional(s)
    flat = Prognosis(grid, np.ones(13), np.ones(13), np.ones(13), [])
    assert flat.last_step == 0.0 and flat.conditional_until == 0.0


def test_the_latest_alive_at_the_page_offers_is_answered():
    """In days the last step can be a landmark between half-months (300 days = 9.86 months,
    a trial whose last event came at 298 days). The page offers whole days up to
    conditional_until, and each is answered at the time entered."""
    from model.timeaxis import TimeAxis

    axis = TimeAxis("days", (91.0, 182.0, 300.0))
    step = axis.to_months(300)
    grid = np.r_[np.arange(0.0, 10.0, 0.5), step, np.arange(10.0, 11.5, 0.5)]
    grid.sort()
    surv = np.where(grid < step, np.linspace(1.0, 0.8, len(grid)), 0.75)
    p = Prognosis(grid, surv, surv - 0.05, surv + 0.01, [])
    assert p.last_step == pytest.approx(step) and p.conditional_until == 9.5
    latest = axis.to_months(int(axis.from_months(p.conditional_until)))  # 289 days
    assert latest < p.last_step
    before = grid[grid <= latest][-1]
    given = p.conditional(latest)
    assert given.grid[0] == latest  # the curve starts at the time entered, not a grid point
    assert given.at(step)[0] == pytest.approx(0.75 / surv[grid == before][0])


def test_alive_at_between_grid_points_is_read_as_entered():
    """The curve holds each value until the next grid time: given alive at 12 days (between
    the points at 0 and 15.2 days) it is S(t) / S(0), drawn from 12 days; it was read at
    15 days (the nearest point), and 1 to 7 days at 0, the whole curve, unlabelled."""
    from model.timeaxis import TimeAxis

    axis = TimeAxis("days", (365.0,))
    grid = np.arange(0.0, 13.0, 0.5)
    surv = np.exp(-0.05 * grid)
    surv[1:] *= 0.99  # a first step at the first half-month
    p = Prognosis(grid, surv, surv - 0.05, np.minimum(surv + 0.05, 1), [])
    for days in (5, 12):
        given = p.conditional(axis.to_months(days))
        assert axis.said(given.grid[0]) == f"{days} days"
        np.testing.assert_allclose(given.survival, surv)  # S(s) = S(0) = 1 until 15.2 days
    given = p.conditional(axis.to_months(20))  # after the point at 15.2 days
    assert given.grid[0] == pytest.approx(axis.to_months(20))
    np.testing.assert_allclose(given.survival, surv[1:] / surv[1])


@pytest.mark.parametrize(("change", "worse"), [({"cc": 3}, True), ({"sae": 1}, True)])
def test_worse_operative_outcome_lowers_survival(engine, schema, change, worse):
    base = dict(PATIENT)
    a = engine.predict(validate_patient(base, schema).data)[0]
    b = engine.predict(validate_patient({**base, **change}, schema).data)[0]
    assert (b.at(36)[0] < a.at(36)[0]) == worse


def test_bundle_without_ensemble_is_refused(small_bundle):
    b = load_bundle(small_bundle)
    b.artifacts = {}
    with pytest.raises(ValueError, match="no Cox uncertainty ensemble"):
        CoxnetFamily(b)


def test_contributions_are_exact_and_additive(engine, rows):
    complete = rows[rows.notna().all(axis=1)].iloc[:5]
    pipe = engine.pipeline
    ref_row = engine.bundle.reference_patient()
    # independent path: the sklearn pipeline's linear predictors
    expected = pipe.predict(complete) - pipe.predict(ref_row)[0]
    contrib = engine.contributions(complete)
    assert np.allclose([sum(r["log_hr"] for r in rows_) for rows_ in contrib], expected, atol=1e-10)
    names = {r["feature"] for r in contrib[0]}
    assert {"pathology", "ki67", "pci", "cc", "sae"} <= names
    # the interaction has its own row where tuning served the design that holds it
    terms = engine.bundle.manifest.models["coxnet"].params["terms"]
    assert ("ki67 x pci" in names) == ("interactions" in terms)


def test_sae_contribution_is_positive(engine, schema):
    base = {**PATIENT, "sae": 1}
    rows_ = engine.contributions(validate_patient(base, schema).data)[0]
    sae = next(r for r in rows_ if r["feature"] == "sae")
    ref_sae = engine.bundle.manifest.reference_patient["sae"]
    assert ref_sae == 0 and sae["log_hr"] > 0 and sae["value"] == 1


def test_unknown_input_contributions_are_marked(engine, schema):
    rows_ = engine.contributions(
        validate_patient({"pathology": "biphasic", "pci": 30}, schema).data
    )[0]
    by = {r["feature"]: r for r in rows_}
    assert by["ki67"]["unknown"] and not by["pci"]["unknown"] and by["ki67 x pci"]["unknown"]


def test_fast_draws_match_the_librarys_posterior_draws(engine, rows):
    # Independent reference: scikit-learn's own IterativeImputer.transform with
    # sample_posterior=True on the same fitted models. 4,000 draws of one patient give a
    # Monte Carlo SE of the mean near sd/63; 0.1 sd plus 0.02 allows for that and for our
    # clipping at the training range where scikit-learn redraws (truncated normal).
    draws = engine.draws
    enc = engine.pipeline.named_steps["encode"].transform(rows)
    patient = enc[enc.isna().any(axis=1)].iloc[[0]]
    many = pd.concat([patient] * 4000, ignore_index=True)
    kept, draws.n_draws = draws.n_draws, 4000  # 4,000 draws of the one patient
    try:
        ours = draws.draws(patient)[0].to_numpy()
    finally:
        draws.n_draws = kept
    draws.imputer_.random_state_ = np.random.RandomState(1)
    theirs = np.asarray(draws.imputer_.transform(many), dtype=float)
    missing = np.flatnonzero(patient.isna().to_numpy()[0])
    for j in missing:
        sd = max(theirs[:, j].std(), 1e-9)
        assert abs(ours[:, j].mean() - theirs[:, j].mean()) < 0.1 * sd + 0.02, many.columns[j]
        assert ours[:, j].std() == pytest.approx(sd, rel=0.25, abs=0.02), many.columns[j]
    known = np.flatnonzero(~patient.isna().to_numpy()[0])
    assert np.array_equal(ours[:, known], many.to_numpy()[:, known])


def test_predict_can_carry_the_contributions(engine, rows):
    a = engine.predict(rows.iloc[:3], contributions=True)
    b = engine.contributions(rows.iloc[:3])
    key = lambda rows_: [(r["feature"], r["log_hr"], r["unknown"]) for r in rows_]  # noqa: E731
    assert [key(p.contributions) for p in a] == [key(r) for r in b]  # NaN values compare unequal
    assert engine.predict(rows.iloc[:1])[0].contributions is None


def test_reference_effects_agree_with_exact_cox_terms_where_additive(engine, rows):
    from model.prognosis import reference_effects

    # For the Cox model and a patient with every input known, setting one factor that is in
    # no interaction to its reference value changes log H by exactly its additive term.
    complete = rows[rows.notna().all(axis=1)].iloc[:3]
    agnostic = reference_effects(engine.bundle, complete, "coxnet")
    exact = engine.contributions(complete)
    for a_rows, e_rows in zip(agnostic, exact, strict=True):
        e = {r["feature"]: r["log_hr"] for r in e_rows}
        for r in a_rows:
            if r["feature"] not in ("ki67", "pci"):
                assert r["log_hr"] == pytest.approx(e[r["feature"]], abs=1e-8), r["feature"]


def test_reference_effects_for_the_forest(engine, schema):
    from model.prognosis import reference_effects

    worse = validate_patient(
        {**PATIENT, "pathology": "sarcomatoid", "cc": 3, "sae": 1}, schema
    ).data
    effects = reference_effects(engine.bundle, worse, "rsf")[0]
    assert [r["feature"] for r in effects] == schema.feature_names
    by = {r["feature"]: r for r in effects}
    assert by["cc"]["value"] == 3 and by["cc"]["reference"] in (0.0, 1.0)
    assert all(np.isfinite(r["log_hr"]) for r in effects)
    ref = engine.bundle.reference_patient().iloc[0]
    for r in effects:  # a factor already at the reference value changes nothing
        if r["value"] == ref[r["feature"]]:
            assert r["log_hr"] == 0.0, r["feature"]
    # sarcomatoid type triples the true hazard; even a small forest sees its direction
    assert by["pathology"]["log_hr"] > 0


def _unknown_input_prognosis(grid, s_of, draws=400, refits=(0.8, 1.0, 1.25)):
    """A patient with one unknown input x ~ N(0, 1), drawn at its quantiles, under refits that
    scale the hazard: sample (d, b) is S(t | x_d, refit b), draw-major as the Cox family's."""
    from scipy.stats import norm

    x = norm.ppf((np.arange(draws) + 0.5) / draws)
    samples = np.array([s_of(grid, xd, c) for xd in x for c in refits])
    point = np.mean([s_of(grid, xd, 1.0) for xd in x], axis=0)
    return Prognosis.from_samples(grid, point, samples, ["x"], n_draws=draws)


def _exp_world(grid, x, c):
    return np.exp(-0.03 * c * np.exp(0.8 * x) * grid)


def _true_conditional_band(t, s, refits=(0.8, 1.0, 1.25)):
    """2.5/97.5 % points of S(t | alive at s) over x's law given alive at s (density
    phi(x) S(s | x), by quadrature on a fine grid), an equal mixture over the refits."""
    from scipy.stats import norm

    x = np.linspace(-8, 8, 200_001)
    values, weights = [], []
    for c in refits:
        s_s = np.exp(-0.03 * c * np.exp(0.8 * x) * s)
        s_t = np.exp(-0.03 * c * np.exp(0.8 * x) * t)
        w = norm.pdf(x) * s_s
        values.append(s_t / s_s)
        weights.append(w / w.sum() / len(refits))
    v, w = np.concatenate(values), np.concatenate(weights)
    order = np.argsort(v)
    cdf = np.cumsum(w[order])
    return v[order][np.searchsorted(cdf, 0.025)], v[order][np.searchsorted(cdf, 0.975)]


def test_the_conditional_band_weights_an_unknown_input_by_survival_to_that_time():
    """Given alive at s, values of an unknown input that give a longer life are likelier: the
    band is the law of S(t | s) under x's distribution reweighted by S(s | x), not the
    unweighted spread of the draws' ratios (which sits low and wide)."""
    grid = np.arange(0.0, 121.0)
    p = _unknown_input_prognosis(grid, _exp_world)
    for s, t in ((24.0, 60.0), (48.0, 96.0), (12.0, 36.0)):
        c = p.conditional(s)
        _, lo, hi = c.at(t)
        true_lo, true_hi = _true_conditional_band(t, s)
        # 400 quantile draws x 3 refits: the percentile of a 1,200-point mixture is within
        # about 1/400 of probability of the truth's, a few thousandths of survival here
        assert lo == pytest.approx(true_lo, abs=0.01) and hi == pytest.approx(true_hi, abs=0.01)
        # the check has power: the draws' unweighted spread is off by far more
        j = int(np.searchsorted(grid, s))
        k = int(np.searchsorted(grid, t))
        plain_lo = np.percentile(p.samples[:, k] / p.samples[:, j], 2.5)
        assert abs(plain_lo - true_lo) > 0.05, (plain_lo, true_lo)


def test_a_conditional_of_a_conditional_is_the_later_one():
    """Alive at 36 months, given alive at 12: the same band as given alive at 36."""
    grid = np.arange(0.0, 121.0)
    p = _unknown_input_prognosis(grid, _exp_world, draws=60)
    twice, once = p.conditional(12.0).conditional(36.0), p.conditional(36.0)
    assert np.allclose(twice.survival, once.survival, atol=1e-12)
    assert np.allclose(twice.lower, once.lower, atol=1e-12)
    assert np.allclose(twice.upper, once.upper, atol=1e-12)


def test_a_complete_patients_draws_are_one_and_an_unknown_ones_are_the_imputations(engine, rows):
    complete = rows[rows.notna().all(axis=1)].iloc[:1]
    partial = rows[rows.isna().any(axis=1)].iloc[:1]
    (pc,) = engine.predict(complete)
    (pp,) = engine.predict(partial)
    assert pc.n_draws == 1 and pp.n_draws == engine.draws.n_draws
    assert len(pp.samples) == engine.draws.n_draws * len(pc.samples)


def test_a_time_before_a_conditional_curve_starts_is_not_on_it():
    grid = np.arange(0.0, 61.0)
    p = _unknown_input_prognosis(grid, _exp_world, draws=20)
    c = p.conditional(24.0)
    assert c.at(12.0) is None and c.landmarks[12] is None
    assert c.at(24.0)[0] == pytest.approx(1.0)


def test_a_level_no_training_patient_had_is_scored_as_unknown(small_bundle):
    """A level whose indicator was 0 for every training patient would get the reference
    level's risk; the engine scores it as unknown and its warning says so."""
    from model.engine import Engine

    bundle = load_bundle(small_bundle)
    ranges = bundle.manifest.training_ranges
    seen = ranges["pathology"]["levels"]
    assert "sarcomatoid" in seen  # the small cohort has some: pretend the model saw none
    ranges["pathology"] = {"levels": [v for v in seen if v != "sarcomatoid"]}
    e = Engine(bundle)
    sarc, unknown, reference = (
        e.frame([{**PATIENT, "pathology": p}]) for p in ("sarcomatoid", None, "epithelioid")
    )
    (p_sarc,), (p_unknown,), (p_ref,) = (e.predict(x) for x in (sarc, unknown, reference))
    np.testing.assert_allclose(p_sarc.survival, p_unknown.survival)
    np.testing.assert_allclose(p_sarc.lower, p_unknown.lower)
    assert p_sarc.unknown == ["pathology"]
    # averaged over the levels it knows, which include worse ones than the reference
    assert not np.allclose(p_sarc.survival, p_ref.survival)
    (msgs,) = e.warnings(sarc)
    assert any("did not occur in the training data" in m and "unknown" in m for m in msgs)
    # a level it saw is left alone
    assert not e.warnings(reference)[0]


def test_a_risk_beyond_every_training_patients_is_named(small_bundle, rows):
    """Each input inside its range, their combination beyond every training patient's
    risk: the curve extrapolates the model's form, and the warning says so (predict's too);
    training patients themselves never get it."""
    from model.engine import Engine

    e = Engine(load_bundle(small_bundle))
    low, high = e.bundle.manifest.metrics["coxnet"]["risk_range"]
    assert 0 < low < high
    ranges = e.bundle.manifest.training_ranges
    worst = {**PATIENT, "pathology": "sarcomatoid", "vascular_emboli": 1, "lymph_nodes": 1,
             "cc": 3, "sae": 1, "kps": ranges["kps"]["min"]}  # fmt: skip
    for name in ("age", "ki67", "pci", "ca125", "cea", "ca199", "rbc_units"):
        worst[name] = ranges[name]["max"]  # each at the worst end the training data hold
    X = e.frame([worst, PATIENT])
    assert not any(e.warnings(X))  # every input inside the training data's ranges
    p_worst, p_typical = e.predict(X)
    (msg,) = e.risk_warnings(p_worst)
    assert "higher than that of every training patient" in msg
    assert e.risk_warnings(p_typical) == []
    table = e.predict_table(X.assign(patient_id=["w", "t"]))
    assert msg in table["warnings"][0] and msg not in table["warnings"][1]
    complete = rows[rows.notna().all(axis=1)].head(30)
    assert not any(e.risk_warnings(p) for p in e.predict(complete))


def test_a_patients_prediction_does_not_depend_on_the_other_rows(engine, rows):
    """Unknown inputs are drawn from the patient's own random stream: alone, in a file, at
    another place in it, or twice in it, a patient gets the same curve and band."""
    incomplete = rows[rows.isna().any(axis=1)].iloc[:12].reset_index(drop=True)
    assert len(incomplete) == 12
    alone = engine.predict(incomplete.iloc[[5]])[0]
    shuffled = incomplete.iloc[[11, 5, 0, 3, 5]].reset_index(drop=True)
    for p in (engine.predict(incomplete)[5], *engine.predict(shuffled)[1::3]):
        for a, b in ((alone.survival, p.survival), (alone.lower, p.lower), (alone.upper, p.upper)):
            assert np.array_equal(a, b)
    # and different patients still get draws of their own (not one stream for all)
    others = engine.predict(incomplete)
    assert len({p.lower.tobytes() for p in others}) == len(others)


def test_a_conditional_curve_keeps_the_chance_of_being_alive_it_was_given():
    """S(s) travels with the curve given alive at s: the page, the PDF and the patient's
    notes say from it that the numbers rest on almost no one (below 1 %)."""
    grid = np.arange(0.0, 61.0)
    p = _unknown_input_prognosis(grid, _exp_world, draws=20)
    assert p.alive_chance == 1.0 and not p.rests_on_few
    once = p.conditional(24.0)
    assert once.alive_chance == pytest.approx(p.at(24.0)[0], rel=1e-12)
    twice = p.conditional(12.0).conditional(24.0)
    assert twice.alive_chance == pytest.approx(once.alive_chance, rel=1e-12)
    steep = Prognosis(grid, np.exp(-grid / 4), np.exp(-grid / 3.5), np.exp(-grid / 4.5), [])
    late = steep.conditional(20.0)  # exp(-5) = 0.0067
    assert late.rests_on_few and not steep.conditional(16.0).rests_on_few  # exp(-4) = 0.018


def test_a_conditional_curve_says_nothing_at_its_own_start():
    """Given alive at 12 months, survival at 12 months is 1 by construction: not a figure."""
    grid = np.arange(0.0, 61.0)
    p = _unknown_input_prognosis(grid, _exp_world, draws=20)
    c = p.conditional(12.0)
    assert not c.after_start(12.0) and c.after_start(12.5) and c.after_start(36.0)
    assert p.after_start(0.0) and p.after_start(12.0)
