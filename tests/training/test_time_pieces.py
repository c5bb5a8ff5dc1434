"""fit's check of proportional hazards against worlds whose truth is known."""

import numpy as np
import pytest

from model.schema import default_schema
from model.validation import validate_dataset
from training.estimators import fit_quietly, make_coxnet
from training.fit import FitOptions, _training_set
from training.simulate import SimulationSettings, simulate_cohort
from training.time_pieces import (
    DEATHS_PER_PIECE,
    choose_plan,
    equal_plans,
    hazards_over_time,
    hazards_over_time_html,
    hazards_over_time_lines,
)


def _main_effects(world, n: int, seed: int):
    """A world's training set (``world``: a name or its settings) and a main-effects Cox
    model on it at a fixed light penalty (0.003: near the best penalty for main effects at
    n = 500 in these worlds, against their truth), without the tuning's cost."""
    schema = default_schema()
    settings = SimulationSettings.for_world(world) if isinstance(world, str) else world
    data = simulate_cohort(n, seed, settings).data
    d = _training_set(
        validate_dataset(data, schema).raise_if_errors(), schema, FitOptions(progress=False)
    )
    final = fit_quietly(
        make_coxnet(schema, 0.5, alphas=[0.003], fit_baseline_model=True, terms="main"),
        d.X,
        d.y,
    )
    return schema, d, final


def _check(world, n: int, seed: int) -> dict:
    """The check on :func:`_main_effects`'s model."""
    schema, d, final = _main_effects(world, n, seed)
    return hazards_over_time(
        final, d.X, d.y, schema, 0.5, d.folds, d.grid, d.reference, d.contrasts
    )


def test_choose_plan_keeps_more_pieces_only_past_the_corrected_standard_error():
    one = np.array([-100.0, -101.0, -99.0, -100.5, -99.5])
    # two pieces better on every fold by about 3: kept; three no better than two: not
    ll = np.column_stack([one, one + [3.0, 2.5, 3.5, 2.8, 3.2], one + [3.1, 2.0, 4.0, 2.5, 3.0]])
    assert choose_plan(ll, equal_plans(3), test_share=0.25) == 1
    # a mean gain of 1 with folds that disagree (-4 to +6): within the error, one piece
    noisy = np.column_stack([one, one + [6.0, -4.0, 5.0, -3.0, 1.0]])
    assert choose_plan(noisy, equal_plans(2), test_share=0.25) == 0
    # a fit that ran off to infinity on a fold is never chosen
    broken = np.column_stack([one, one + [9.0, np.nan, 9.0, 9.0, 9.0]])
    assert choose_plan(broken, equal_plans(2), test_share=0.25) == 0


def test_two_pieces_cut_off_the_median_compete_at_two_pieces_by_their_total():
    one = np.array([-100.0, -101.0, -99.0, -100.5, -99.5])
    plans = [*equal_plans(3), (1 / 6,), (3 / 4,)]
    median = one + [3.0, 2.5, 3.5, 2.8, 3.2]  # +15
    early = one + [6.0, 5.5, 6.5, 5.8, 6.2]  # +30, folds agreeing
    late = one + [19.0, -9.0, 15.0, -5.0, 20.0]  # +40, folds disagreeing: within its error
    thirds = one + [6.5, 5.5, 7.0, 5.9, 6.0]  # +0.9 over the early cut: within its error
    ll = np.column_stack([one, median, thirds, early, late])
    # of the two-piece cuts that pass, the best total; three pieces are then judged
    # against it, not against the median's
    assert plans[choose_plan(ll, plans, test_share=0.25)] == (1 / 6,)
    # with the early cut below the median (and three pieces no better than it), the median
    ll[:, 3] = one + [2.9, 2.4, 3.4, 2.7, 3.1]
    ll[:, 2] = median + [0.5, 0.0, 0.5, 0.1, -0.2]
    assert plans[choose_plan(ll, plans, test_share=0.25)] == (1 / 2,)


def test_two_pieces_off_the_median_are_tried_only_where_each_holds_enough_deaths():
    from training.time_pieces import TWO_PIECE_QUANTILES, candidate_plans

    assert candidate_plans(80, 1) == [()]  # too few deaths: one piece, nothing else
    # 286 deaths (a draw of the linear world at n = 500): 48 before a cut at the sixth, too few
    plans = candidate_plans(286, 4)
    assert plans[:4] == equal_plans(4)
    off = [p[0] for p in plans[4:]]
    assert off == [q for q in TWO_PIECE_QUANTILES if 1 / 6 < q < 5 / 6]
    assert [p[0] for p in candidate_plans(300, 4)[4:]] == list(TWO_PIECE_QUANTILES)


@pytest.mark.parametrize("world", ["nonph", "linear"])
def test_the_check_finds_the_change_where_the_truth_has_one_and_none_where_it_has_none(world):
    check = _check(world, 500, seed=500)
    schema = default_schema()
    lines = hazards_over_time_lines(check, schema)
    html = hazards_over_time_html(check, schema)
    assert check["checked"] and check["deaths"] >= 2 * DEATHS_PER_PIECE
    flagged = check["schoenfeld"]["flagged"]
    if world == "linear":
        # proportional disease hazards: one piece, no warning, no table by piece. The only
        # change is SAE's perioperative deaths in the first month (every simulated world has
        # them); too brief for this draw's own tests, which flag no factor (Bonferroni 5 %)
        assert check["pieces"] == 1 and check["cuts_months"] == []
        assert "1 piece chosen" in lines[0] and len(lines) == 1 and flagged == []
        assert "Time pieces did not predict held-out patients better than one piece" in html
        assert "Hazard ratio served (all times)" not in html  # no table by piece
        assert "Grambsch" in html and html.count("<tr>") == 1 + len(check["schoenfeld"]["tests"])
        return
    # the nonph world's hazard ratios change at 12 months: two pieces, cut near there (the
    # cut is a quantile of the death times, not the truth's time; 9-15 months allows for it).
    # Two pieces cut at the deaths' 1/4 and 3/4 quantiles (5.3 and 22.7 months) score below
    # the median's cut; the fused pieces are scored at the cut the pieces apart chose
    assert check["pieces"] == 2 and 9.0 <= check["cuts_months"][0] <= 15.0
    assert check["cut_quantiles"] == [0.5] and check["fused_cut_quantiles"]["2"] == [0.5]
    assert set(check["two_piece_heldout_loglik"]) == {"0.25", "0.5", "0.75"}
    assert len(check["fold_logliks"]["two_pieces"][0]) == 2  # the two off the median
    assert "Two pieces cut at other quantiles of the deaths" in html
    # the fusion served is named with its own score, which need not be the best fused score
    share = check["fusion_share"]
    score = check["fused_heldout_loglik"]["2"][f"{share:g}"]
    assert f"is kept (here 1/{1 / share:.0f} of that penalty, {score:.1f})" in html
    gain = check["gain_over_one_piece"]
    assert gain > 5.0  # benchmarks/time_pieces.py: 17-28 at n = 500 over three draws
    assert lines[1].startswith("warning: the data show hazard ratios that change over time")
    # the factors' own tests find the largest changes (SAE's log HR falls by 1.0, the
    # sarcomatoid type's rises by 1.0); the note is left to the pieces' warning
    assert "Serious adverse event within 30 days" in flagged and len(lines) == 2
    sae = next(r for r in check["hazard_ratios"] if r["feature"] == "sae")
    sarcomatoid = next(r for r in check["hazard_ratios"] if "sarcomatoid" in r["contrast"])
    # the truth: SAE's log HR 1.2 in the first year, 0.2 after; sarcomatoid's 0.5, then 1.5.
    # Estimates from 500 patients are shrunk and noisy: only the direction and a clear
    # margin are asserted (ratio of HRs > 1.5, i.e. a log HR change beyond 0.4)
    early, late = sae["hr_by_piece"]
    assert early / late > 1.5
    early, late = sarcomatoid["hr_by_piece"]
    assert late / early > 1.5
    assert "<h2>Hazard ratios over time</h2>" in html and "<table>" in html
    assert "up to " in html and "after " in html


def test_a_change_at_4_months_is_cut_there_not_at_the_median():
    """The nonph world with its change moved to 4 months (the deaths' 18th percentile): two
    pieces cut at the median (12 months) score barely above one piece; cut at the deaths'
    sixth they follow the change, and the report says where they were cut."""
    from dataclasses import replace

    from training.band import quantile_cuts

    moved = replace(SimulationSettings.for_world("nonph"), change_months=4.0)
    schema, d, final = _main_effects(moved, 2000, 2000)
    check = hazards_over_time(
        final, d.X, d.y, schema, 0.5, d.folds, d.grid, d.reference, d.contrasts
    )
    assert check["pieces"] == 2 and check["cut_quantiles"] == [1 / 6]
    assert check["cuts_months"] == [round(c, 3) for c in quantile_cuts(d.y, [1 / 6])]
    # at 4 months give or take the deaths' spread around it (3.5 here)
    assert 2.5 <= check["cuts_months"][0] <= 6.0
    # one run: 75 units above one piece, the median's cut 3; 40 is far above either
    ll = check["two_piece_heldout_loglik"]
    assert check["gain_over_one_piece"] > 40.0 and ll["0.167"] - ll["0.5"] > 40.0
    # SAE's log hazard ratio 1.2 before the change, 0.2 after: a clear margin (1.5 times)
    sae = next(r for r in check["hazard_ratios"] if r["feature"] == "sae")
    early, late = sae["hr_by_piece"]
    assert early / late > 1.5
    html = hazards_over_time_html(check, schema)
    assert "2 (cut at 1/6 of the deaths)" in html and "up to 3.5 months" in html
    assert check["fusion"] is None and "the one with the best total is kept: none did." in html
    line = hazards_over_time_lines(check, schema)[0]
    assert "1 to 6 time pieces, two also cut at 1/6, 1/4, 3/4, 5/6 of the deaths)" in line


def test_pieces_no_test_confirms_are_served_only_past_a_large_gain(monkeypatch):
    """The nonph world's two pieces, with its own tests made to flag nothing: pieces whose
    choice (the best of up to 21 candidates on the same folds) no test confirms are served
    only where they gain UNCONFIRMED_GAIN over one piece."""
    from training import time_pieces

    real = time_pieces.schoenfeld_tests

    def flag_nothing(*args, **kwargs):
        return {**real(*args, **kwargs), "flagged": []}

    monkeypatch.setattr(time_pieces, "schoenfeld_tests", flag_nothing)
    schema = default_schema()
    # this draw's pieces gain far more than chance gave in proportional-hazards worlds (2.8
    # units at most, benchmarks/time_pieces.py): served without a test's word
    served = _check("nonph", 500, seed=500)
    gain = served["gain_over_one_piece"]
    assert served["pieces"] == 2 and gain > time_pieces.UNCONFIRMED_GAIN
    assert "unconfirmed" not in served
    # the same pieces under a bar above their gain: one piece, and what they scored is said
    monkeypatch.setattr(time_pieces, "UNCONFIRMED_GAIN", gain + 1.0)
    check = _check("nonph", 500, seed=500)
    assert check["pieces"] == 1 and check["cuts_months"] == [] and "hazard_ratios" not in check
    assert check["fusion"] is None and check["gain_over_one_piece"] == 0.0
    unconfirmed = check["unconfirmed"]
    assert unconfirmed["pieces"] == 2 and unconfirmed["gain_over_one_piece"] == gain
    lines = hazards_over_time_lines(check, schema)
    assert "1 piece chosen" in lines[0]
    assert lines[1].startswith("note: 2 ") and "time pieces" in lines[1] and "scored" in lines[1]
    assert "no factor's own test" in lines[1] and "one piece is served" in lines[1]
    html = hazards_over_time_html(check, schema)
    assert "no factor&#x27;s own test" in html and "Time pieces did not predict" not in html
    # a factor's test confirms pieces whatever their gain; where no test could be made, the
    # pieces' scores stand alone
    flagged = {"tests": [{"label": "Age"}], "flagged": ["Age"]}
    assert time_pieces._confirmed(flagged, 0.5)
    assert time_pieces._confirmed({"tests": [], "flagged": [], "failed": "singular"}, 0.5)
    assert not time_pieces._confirmed({"tests": [{"label": "Age"}], "flagged": []}, 0.5)


def test_too_few_deaths_are_not_checked_and_the_summary_says_why():
    check = _check("nonph", 110, seed=2022)
    assert check["deaths"] < 2 * DEATHS_PER_PIECE and not check["checked"]
    assert check["pieces"] == 1
    (line,) = hazards_over_time_lines(check, default_schema())
    assert line.startswith(f"proportional hazards: not checked; {check['deaths']} deaths")
    assert f"needs {2 * DEATHS_PER_PIECE}" in line


def test_fit_writes_the_check_to_the_report(small_bundle):
    import json

    rep = json.loads((small_bundle / "report.json").read_text())
    check = rep["proportional_hazards"]
    # 400 milan patients (proportional hazards) with over 100 deaths: checked, one piece
    assert check["checked"] and check["deaths"] >= 2 * DEATHS_PER_PIECE
    assert check["pieces"] == 1 and len(check["heldout_loglik"]) == check["most_pieces"] >= 2
    html = (small_bundle / "report.html").read_text()
    assert html.index("<h2>Hazard ratios over time</h2>") < html.index("<h2>Limitations</h2>")


def test_a_real_trial_whose_karnofsky_effect_fades_is_named_in_a_note(monkeypatch):
    """The Veterans' lung cancer trial: the Karnofsky score's hazard ratio is known not to be
    constant (Therneau's time-dependent coefficients vignette of the R survival package
    uses it); its own test finds that, while time pieces do not predict better on 128
    deaths, so the summary notes it without the pieces' warning."""
    from pathlib import Path

    from model.schema import load_schema
    from training import time_pieces
    from training.estimators import survival_target
    from training.time_pieces import schoenfeld_tests

    root = Path(__file__).resolve().parents[2] / "data" / "public"
    schema = load_schema(root / "veterans.yaml")
    df = validate_dataset(root / "veterans.csv", schema).raise_if_errors()
    from training.estimators import make_coxnet

    imputed = make_coxnet(schema)[:2].fit_transform(df[schema.feature_names])
    tests = schoenfeld_tests(imputed, survival_target(df, schema), schema)
    p = {x["label"]: x["p"] for x in tests["tests"]}
    assert (
        tests["flagged"] == ["Karnofsky performance score"]
        and p["Karnofsky performance score"] < 0.001
    )
    check = {"pieces": 1, "checked": True, "most_pieces": 2, "schoenfeld": tests}
    line, note = hazards_over_time_lines(check, schema)
    assert "1 piece chosen" in line
    assert note.startswith(
        "note: the hazard ratio changes over time for Karnofsky performance score (p = 0.0002"
    )
    # checked: the pieces did not pay; not checked (too few deaths): they could not be fitted
    assert (
        "time pieces (every factor's effect refitted in each piece, or fused towards one) did not"
        in note
    )
    assert "too few" not in note
    (_, unchecked) = hazards_over_time_lines({**check, "checked": False, "deaths": 90}, schema)
    assert "too few deaths to fit time pieces" in unchecked
    # each test counts the deaths that tell the column's values apart: for an indicator the
    # deaths of its smaller group by deaths, counted here from the raw trial
    deaths = {x["column"]: x["deaths"] for x in tests["tests"]}
    dead = df[schema.event.name] == 1
    assert deaths["prior_therapy"] == int((dead & (df["prior_therapy"] == 1)).sum()) == 37
    assert deaths["celltype=adeno"] == int((dead & (df["celltype"] == "adeno")).sum())
    # a column with fewer than MIN_TEST_DEATHS of them is reported and never named
    karno = next(x for x in tests["tests"] if x["label"] == "Karnofsky performance score")
    monkeypatch.setattr(time_pieces, "MIN_TEST_DEATHS", karno["deaths"] + 1)
    fewer = schoenfeld_tests(imputed, survival_target(df, schema), schema)
    assert fewer["flagged"] == [] and fewer["tests"] == tests["tests"]


def test_the_deaths_that_tell_an_indicator_apart_are_its_smaller_group_by_deaths():
    """Not the deaths off the commonest value among patients: 1,200 patients with 5 deaths
    beside 1,000 with 300 tell the indicator apart by 5 deaths, whichever group is larger."""
    import pandas as pd

    from training.time_pieces import _deaths_apart

    among_deaths = pd.Series([1.0] * 5 + [0.0] * 300)
    assert _deaths_apart(among_deaths) == 5
    assert _deaths_apart(pd.Series([0.3, 0.3, 1.7, 2.2])) == 2  # a measurement: off its mode
    assert _deaths_apart(pd.Series([], dtype=float)) == 0


def test_a_large_registry_is_checked_on_a_seeded_sample_with_folds_of_its_own(monkeypatch):
    import pandas as pd

    import training.time_pieces as tp

    monkeypatch.setattr(tp, "MAX_TEST_ROWS", 300)
    rng = np.random.default_rng(1)
    y = np.empty(1000, dtype=[("death", bool), ("os_months", float)])
    y["death"], y["os_months"] = rng.random(1000) < 0.6, rng.exponential(30, 1000)
    Z = pd.DataFrame({"a": rng.normal(size=1000)})
    Zs, ys, folds = tp._check_sample(Z, y, folds=[None] * 5)
    assert len(Zs) == len(ys) == 300 and len(folds) == 5
    # the sample's folds cover it once, and the same call draws the same patients
    assert sorted(np.concatenate([te for _, te in folds]).tolist()) == list(range(300))
    assert Zs.index.equals(tp._check_sample(Z, y, folds=[None] * 5)[0].index)
    assert (ys == y[Zs.index.to_numpy()]).all()
    # at or below the limit: every patient and the given folds
    small = tp._check_sample(Z.iloc[:300], y[:300], folds=["given"])
    assert small[2] == ["given"] and len(small[1]) == 300


def _nonph_features():
    """400 patients of the nonph world on a main-effects Cox model's scaled features, and
    their first two folds."""
    schema, d, final = _main_effects("nonph", 400, seed=3)
    return schema, final[:-1].transform(d.X), d.y, d.folds[:2]


def _heldout(served, Z, y: np.ndarray, train: np.ndarray) -> float:
    """Verweij & van Houwelingen's held-out partial log-likelihood of a model in pieces
    fitted on ``train``, written out piece by piece."""
    from model.piecewise import alive_in_piece
    from training.samplesize import cox_partial_loglik

    e, t = y.dtype.names
    Zn = np.asarray(Z, dtype=float)
    total = 0.0
    edges = zip(served.edges_[:-1], served.edges_[1:], strict=True)
    for (a, b), coef in zip(edges, served.coefs_, strict=True):
        alive, piece = alive_in_piece(y, a, b)
        fit, lp = train[alive], Zn[alive] @ coef
        total += cox_partial_loglik(lp, piece[e], piece[t]) - cox_partial_loglik(
            lp[fit], piece[e][fit], piece[t][fit]
        )
    return total


def test_the_check_scores_the_pieces_as_they_would_be_served():
    """Each fold's held-out score is that of :class:`PiecewiseCox` fitted on the fold's
    training patients alone: cut at their deaths' quantiles (not at all deaths', which would
    let the held-out deaths place the cuts) and each piece's penalty scaled to its deaths per
    patient, as the served model is."""
    from functools import partial

    from model.piecewise import PiecewiseCox
    from training.band import quantile_cuts
    from training.estimators import coxnet_step
    from training.time_pieces import plan_logliks

    schema, Z, y, folds = _nonph_features()
    step = partial(coxnet_step, schema, 0.5)
    plans = [*equal_plans(3), (1 / 4,)]
    ll = plan_logliks(Z, y, step, 0.003, plans, folds)
    for f, (tr, _) in enumerate(folds):
        train = np.isin(np.arange(len(y)), tr)
        for i in (1, 2, 3):
            served = PiecewiseCox(step(0.003), tuple(quantile_cuts(y[train], plans[i])))
            served.fit(Z[train], y[train])
            # the same fits on the same rows: equal to the solver's tolerance
            assert ll[f, i] == pytest.approx(_heldout(served, Z, y, train), abs=1e-6), (f, i)


def test_the_fused_pieces_are_scored_as_they_would_be_served():
    """Each fold's held-out score of fused pieces is that of :class:`FusedPiecewiseCox`
    fitted on the fold's training patients alone, cut at their deaths' quantiles, at the
    share of that fold's own :func:`fusion_max`."""
    from model.fused_pieces import FusedPiecewiseCox, fusion_max
    from training.band import quantile_cuts
    from training.estimators import coxnet_step
    from training.time_pieces import FUSION_SHARES, fused_logliks

    schema, Z, y, folds = _nonph_features()
    plans = [(1 / 4,), (1 / 3, 2 / 3)]
    ll = fused_logliks(Z, y, 0.003, 0.5, plans, folds)
    assert ll.shape == (2, 2, len(FUSION_SHARES)) and np.isfinite(ll).all()
    for f, (tr, _) in enumerate(folds):
        train = np.isin(np.arange(len(y)), tr)
        for k, share in ((0, 1 / 8), (1, 1 / 64)):
            cuts = tuple(quantile_cuts(y[train], plans[k]))
            fusion = share * fusion_max(Z[train], y[train], cuts, 0.003, 0.5)
            served = FusedPiecewiseCox(coxnet_step(schema, 0.5, 0.003), cuts, fusion=fusion).fit(
                Z[train], y[train]
            )
            # the check starts each fusion from the one before, the served fit from zero:
            # the same optimum to the solver's tolerance (model.fused_pieces.TOLERANCE, 1e-9
            # of an objective of about 2 per patient: held-out scores within 0.011 of a solve
            # at 1e-12 on 2,000 patients, within 0.004 on 500)
            want = _heldout(served, Z, y, train)
            assert ll[f, k, FUSION_SHARES.index(share)] == pytest.approx(want, abs=0.01), (f, k)


def test_fused_pieces_are_kept_only_past_the_standard_error_of_the_pieces_chosen():
    from training.time_pieces import FUSION_SHARES, choose_fused

    chosen = np.array([-100.0, -101.0, -99.0, -100.5, -99.5])
    fused = np.full((5, 2, len(FUSION_SHARES)), np.nan)
    fused[:] = chosen[:, None, None] - 1.0
    # three pieces at an eighth of the fused path's start beat the chosen pieces by about 3 on every fold
    fused[:, 1, FUSION_SHARES.index(1 / 8)] = chosen + [3.0, 2.5, 3.5, 2.8, 3.2]
    assert choose_fused(fused, chosen, test_share=0.25) == (1, 1 / 8)  # the second plan
    # the same mean gain with folds that disagree: within the error
    fused[:, 1, FUSION_SHARES.index(1 / 8)] = chosen + [9.0, -6.0, 8.0, -5.0, 9.0]
    assert choose_fused(fused, chosen, test_share=0.25) is None
    # folds that agree on a gain of nothing (a heavy fusion: pieces all but the chosen ones)
    fused[:, 1, FUSION_SHARES.index(1 / 8)] = chosen + [0.1, 0.11, 0.1, 0.12, 0.1]
    assert choose_fused(fused, chosen, test_share=0.25) is None
    # a candidate whose fit ran off on a fold is never chosen
    fused[:, 1, FUSION_SHARES.index(1 / 8)] = chosen + [3.0, np.nan, 3.5, 2.8, 3.2]
    assert choose_fused(fused, chosen, test_share=0.25) is None
    # the best total's folds disagree; the runner-up's, a hair lower, agree: the runner-up
    fused[:, 1, FUSION_SHARES.index(1 / 8)] = chosen + [9.0, -6.0, 8.0, -5.0, 9.0]
    fused[:, 0, FUSION_SHARES.index(1 / 2)] = chosen + [3.0, 2.5, 3.4, 2.8, 3.2]
    assert choose_fused(fused, chosen, test_share=0.25) == (0, 1 / 2)
    # and of two that pass below the best (which fails), the better total
    fused[:, 1, FUSION_SHARES.index(1 / 4)] = chosen + [3.0, 2.6, 3.4, 2.9, 3.05]  # 14.95
    assert (
        fused[:, 1, FUSION_SHARES.index(1 / 8)].sum()
        > fused[:, 1, FUSION_SHARES.index(1 / 4)].sum()
    )
    assert choose_fused(fused, chosen, test_share=0.25) == (1, 1 / 4)
