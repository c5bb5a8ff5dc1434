"""Riley's sample-size criteria against the published figures, and in `describe`."""

import json
import math
import re

import numpy as np
import pandas as pd
import pytest
from lifelines import CoxPHFitter
from typer.testing import CliRunner

from training.cli import app
from training.samplesize import (
    assess,
    cox_partial_loglik,
    cox_snell_r2,
    cox_snell_r2_pieces,
    max_cox_snell_r2,
    n_for_precision,
    n_for_shrinkage,
    optimism_adjusted_r2,
    parameters_for_shrinkage,
    pmsampsize_survival,
    risk_interval,
)

runner = CliRunner()

# pmsampsize's own checks of its survival calculation (CRAN package pmsampsize,
# tests/testthat/test_surv.R, tests 3.1-3.9): R², parameters, rate, time point, mean
# follow-up -> minimum n for criteria 1 and 2, and events per parameter at the final n.
PMSAMPSIZE_TESTS = [
    (0.051, 25, 0.065, 2, 2.07, 4286, 866, 23.07),
    (0.065, 25, 0.065, 2, 2.07, 3335, 859, 17.95),
    (0.051, 50, 0.065, 2, 2.07, 8572, 1731, 23.07),
    (0.051, 25, 0.1, 2, 2.07, 4286, 731, 35.49),
    (0.051, 25, 0.065, 4, 2.07, 4286, 866, 23.07),
    (0.051, 25, 0.065, 2, 4, 4286, 679, 44.57),
    (0.06, 40, 0.08, 3, 5, 5798, 969, 57.98),
    (0.03, 10, 0.09, 3, 3, 2950, 272, 79.65),
    (0.3, 80, 0.03, 1, 5, 1974, 2272, 4.26),
]


def test_reproduces_the_published_time_to_event_example():
    """Riley et al., BMJ 2020;368:m441 and Stat Med 2019;38:1276 (recurrent venous
    thromboembolism; pmsampsize's help example): anticipated Cox-Snell R² 0.051, 30 candidate
    parameters, rate 0.065 a year, mean follow-up 2.07 years, time point 2 years ->
    5143 participants, 692 events, 23.07 events per candidate parameter."""
    r = pmsampsize_survival(r2=0.051, parameters=30, rate=0.065, timepoint=2, mean_followup=2.07)
    assert r["n_shrinkage"] == 5143 and r["n"] == 5143
    assert round(r["events"]) == 692
    assert round(r["events_per_parameter"], 2) == 23.07
    # the 2-year risk at that size is precise (pmsampsize's criterion-3 interval at that size)
    assert [round(v, 3) for v in (r["risk"], *r["risk_ci"])] == [0.122, 0.113, 0.130]
    assert r["n_precision"] < r["n"]


@pytest.mark.parametrize("r2, p, rate, t, fu, n1, n2, epp", PMSAMPSIZE_TESTS)
def test_agrees_with_pmsampsize_own_tests(r2, p, rate, t, fu, n1, n2, epp):
    r = pmsampsize_survival(r2=r2, parameters=p, rate=rate, timepoint=t, mean_followup=fu)
    assert (r["n_shrinkage"], r["n_optimism"], r["n"]) == (n1, n2, max(n1, n2))
    assert round(r["events_per_parameter"], 2) == epp


def test_supported_parameters_invert_the_required_size():
    for n in (110, 500, 2000, 5143):
        for r2 in (0.05, 0.126, 0.3):
            p = parameters_for_shrinkage(n, r2)
            assert n_for_shrinkage(p, r2) <= n < n_for_shrinkage(p + 1, r2)


def _margin(rate, fu, t, n):
    risk, lo, hi = risk_interval(rate, n * fu, t)
    return max(risk - lo, hi - risk)


def test_precision_criterion_is_the_smallest_size_within_the_margin():
    for rate, fu, t in ((0.065, 2.07, 2), (0.0248, 25.6, 36), (0.01, 40, 60), (0.1, 3, 30)):
        n = n_for_precision(rate, fu, t)
        assert _margin(rate, fu, t, n) <= 0.05 + 1e-12
        assert n == 1 or _margin(rate, fu, t, n - 1) > 0.05


def test_partial_likelihood_and_r2_match_lifelines():
    rng = np.random.default_rng(0)
    x = rng.normal(size=300)
    t = rng.exponential(np.exp(-0.7 * x)) + 0.1  # no ties: Efron and Breslow agree
    e = rng.random(300) < 0.7
    cph = CoxPHFitter().fit(pd.DataFrame({"x": x, "t": t, "e": e.astype(int)}), "t", "e")
    lp = cph.params_["x"] * x
    assert cox_partial_loglik(lp, e, t) == pytest.approx(cph.log_likelihood_, rel=1e-10)
    lr = cph.log_likelihood_ratio_test().test_statistic
    assert cox_snell_r2(lp, e, t) == pytest.approx(1 - np.exp(-lr / 300), rel=1e-8)


def test_r2_in_time_pieces_matches_statsmodels_with_delayed_entry():
    """A model whose coefficient changes at 5 and 12 (0.9, 0.4, -0.2): its partial likelihood
    as statsmodels' PHReg computes it for (start, stop] rows with the piece's linear
    predictor as offset, each patient entering every piece alive at its start."""
    from sksurv.util import Surv
    from statsmodels.duration.hazard_regression import PHReg

    from model.piecewise import alive_in_piece

    rng = np.random.default_rng(1)
    x = rng.normal(size=400)
    t = 10 * rng.exponential(np.exp(-0.7 * x)) + 0.01
    e = rng.random(400) < 0.7
    y = Surv.from_arrays(e, t)
    parts, rows = [], []
    for a, b, coef in [(0, 5, 0.9), (5, 12, 0.4), (12, np.inf, -0.2)]:
        alive, piece = alive_in_piece(y, a, b)
        parts.append((coef * x[alive], piece["event"], piece["time"]))
        rows.append(
            (np.full(alive.sum(), a), np.minimum(t[alive], b), piece["event"], coef * x[alive])
        )
    start, stop, event, offset = (np.concatenate(v) for v in zip(*rows, strict=True))

    def loglik(off):
        m = PHReg(stop, np.zeros((len(stop), 1)), status=event.astype(int), entry=start, offset=off)
        return m.loglike(np.zeros(1))

    lr = 2 * (loglik(offset) - loglik(np.zeros_like(offset)))
    assert cox_snell_r2_pieces(parts) == pytest.approx(1 - np.exp(-lr / 400), rel=1e-10)
    # one piece is the plain model's
    lp = 0.9 * x
    assert cox_snell_r2_pieces([(lp, e, t)]) == cox_snell_r2(lp, e, t)
    # a piece nobody is alive at the start of adds nothing; no piece at all is no model
    empty = (np.zeros(0), np.zeros(0, bool), np.zeros(0))
    assert cox_snell_r2_pieces([*parts, empty]) == cox_snell_r2_pieces(parts)
    with pytest.raises(ValueError, match="one piece at least"):
        cox_snell_r2_pieces([])


def test_assessment_of_a_cohort():
    # the shipped 110-patient cohort's figures: 70 deaths over 2,820.7 person-months
    s = assess(110, 70, 2820.7, 36, parameters=36)
    assert s.max_r2_cs == pytest.approx(max_cox_snell_r2(70, 110))
    assert s.r2_cs == pytest.approx(0.15 * s.max_r2_cs) and "conservative" in s.r2_source
    assert s.shrinkage_optimism == pytest.approx(0.75)  # 0.15 / (0.15 + 0.05)
    assert (s.max_parameters_shrinkage, s.max_parameters_optimism) == (1, 5)
    assert not s.precision_met and s.max_parameters == 0 and not s.adequate
    assert s.n_required == max(s.n_shrinkage, s.n_optimism, s.n_precision)
    big = assess(20_000, 12_700, 20_000 * 25.6, 36, parameters=36, r2_cs=0.2, r2_source="m")
    assert big.adequate and big.max_parameters >= 36 and big.r2_source == "m"
    # an R² no model can reach falls back to the conservative default
    assert "conservative" in assess(110, 70, 2820.7, 36, 36, r2_cs=0.99).r2_source


def test_describe_appends_the_block_and_keeps_every_line_before_it(cohort_110_path):
    text = runner.invoke(app, ["describe", "--data", str(cohort_110_path)]).stdout
    head, block = text.split("\n\nSample size (Riley et al., BMJ 2020;368:m441)\n")
    assert head.splitlines()[2] == "Patients                       110"
    assert "Table 1" in head and "Sample size" not in head
    for line in (
        "Candidate parameters            36 (columns of the Cox design",
        "Events per candidate parameter  1.9",
        "Anticipated Cox-Snell R²        0.126 (conservative: 15 % of the maximum, 0.842)",
        "Parameters the data support     0 (shrinkage >= 0.9: 1;",
    ):
        assert line in block, line
    d = json.loads(
        runner.invoke(app, ["describe", "--data", str(cohort_110_path), "--json"]).stdout
    )
    s = d["sample_size"]
    assert (s["parameters"], s["events"], s["max_parameters_optimism"]) == (36, 70, 5)
    assert s["events_per_parameter"] == pytest.approx(70 / 36)


def test_a_column_no_patient_varies_is_no_candidate_parameter(
    cohort_110_path, small_bundle, small_cohort, schema
):
    """The indicator of a level nobody had, or a measurement recorded as one value for
    everyone, can carry no coefficient: neither the design counted from the data nor the
    fitted model's counts it. A feature absent from the data still counts as one."""
    from model.bundle import load_bundle
    from model.validation import validate_dataset
    from training.adequacy import design_columns, fitted_sample_size

    data = validate_dataset(cohort_110_path, schema).raise_if_errors()
    full = design_columns(data, schema)
    assert full == 36
    assert design_columns(data[data["pathology"] != "sarcomatoid"], schema) == full - 1
    assert design_columns(data.assign(cea=2.0), schema) == full - 1  # its one linear column
    assert design_columns(data.drop(columns=["cea"]), schema) == full
    # the fitted model's design on training data whose sarcomatoid patients are left out
    train = validate_dataset(small_cohort[0], schema).raise_if_errors()
    models = load_bundle(small_bundle).models
    fitted = fitted_sample_size(train, schema, models)["design_columns"]
    assert fitted == 36
    without = train[train["pathology"] != "sarcomatoid"]
    assert fitted_sample_size(without, schema, models)["design_columns"] == fitted - 1


def test_fit_reports_what_the_data_support_and_what_the_model_spends(small_bundle):
    rep = json.loads((small_bundle / "report.json").read_text())
    s = rep["sample_size"]
    manifest = json.loads((small_bundle / "manifest.json").read_text())
    assert s["design_columns"] == 36 and 0 < s["nonzero_coefficients"] <= 36
    assert s["assessment"]["n"] == manifest["training_data"]["rows"] == 400
    assert "apparent Cox-Snell R²" in s["assessment"]["r2_source"]
    assert 0 < s["model_r2_cs"] < s["assessment"]["max_r2_cs"]
    # the criteria take the apparent R² adjusted for optimism, not the apparent one
    shrinkage = 1 + 36 / (400 * math.log(1 - s["model_r2_cs"]))
    assert s["assessment"]["r2_cs"] == pytest.approx(shrinkage * s["model_r2_cs"])
    assert s["assessment"]["r2_cs"] < s["model_r2_cs"]
    assert "conservative" in s["conservative"]["r2_source"]
    assert s["supported"] == s["assessment"]["max_parameters"]
    assert (s["warning"] is None) == s["assessment"]["adequate"]
    html = (small_bundle / "report.html").read_text()
    assert "<h2>Sample size</h2>" in html and "Patients needed for 36" in html
    assert html.index("<h2>Sample size</h2>") < html.index("<h2>Limitations</h2>")


def test_cli_fit_states_the_sample_size_and_warns_when_short(tmp_path):
    from training.simulate import simulate_cohort

    data = tmp_path / "c.csv"
    simulate_cohort(150, seed=12).data.to_csv(data, index=False)
    res = runner.invoke(
        app,
        ["fit", "--data", str(data), "--out", str(tmp_path / "m"), "--models", "coxnet"]
        + ["--bootstrap", "2", "--quiet"],
    )
    assert res.exit_code == 0, res.output
    assert "sample size (Riley et al., BMJ 2020;368:m441): the data support" in res.stdout
    # the design is the one tuning chose (main effects, splines, interactions): its columns
    (bundle,) = [p for p in (tmp_path / "m").iterdir() if (p / "report.json").exists()]
    spent = json.loads((bundle / "report.json").read_text())["sample_size"]["design_columns"]
    assert f"the Cox design spends {spent}" in res.stdout
    assert f"warning: the Cox design has {spent} candidate parameters" in res.stderr
    # 150 patients are too few for the overall risk at 36 months (criterion iii): the line
    # says so, and what criteria i and ii allow (the warning's number), instead of a bare 0
    ss = json.loads((bundle / "report.json").read_text())["sample_size"]["assessment"]
    assert not ss["precision_met"]
    assert f"the overall risk by 36 months needs {ss['n_precision']:,} patients" in res.stdout
    supported = min(ss["max_parameters_shrinkage"], ss["max_parameters_optimism"])
    noun = "parameter" if supported == 1 else "parameters"
    assert f"the data support {supported} candidate {noun} by criteria i and ii" in res.stdout
    assert "support 0 candidate" not in res.stdout
    # and whether the hazard ratios hold over time: too few deaths to tell, said so
    deaths = json.loads((bundle / "report.json").read_text())["proportional_hazards"]["deaths"]
    assert f"proportional hazards: not checked; {deaths} deaths are too few" in res.stdout
    # the warning names what criteria i and ii support, not the 0 of criterion iii
    assert f"support {supported} (" in res.stderr and "support 0 (" not in res.stderr
    # in the schema's words: its events are deaths
    assert re.search(r"these 150 patients \(\d+ deaths\) support", res.stderr)
    assert f"{ss['n_precision']:,} patients would be needed for that alone" in res.stderr


def test_a_warning_for_time_pieces_says_whether_one_piece_would_be_supported():
    """A model in two pieces of 17 columns spends 34: where the data support 17 or more the
    warning says that the changes between pieces are what exceed it (a fit in one piece on
    the same data gives no warning), not that the design as such is too large."""
    from training.adequacy import _warning

    pieces = {"design_columns": 34, "time_pieces": 2, "nonzero_coefficients": 30}
    enough = assess(500, 290, 10_000.0, 36, 34, r2_cs=0.49, r2_source="m")
    supported = min(enough.max_parameters_shrinkage, enough.max_parameters_optimism)
    assert not enough.adequate and 17 <= supported < 34
    said = _warning(enough, pieces, "months", "deaths")
    assert "34 candidate parameters (17 in each of 2 time pieces; 30 kept by the penalty)" in said
    assert "the 17 of one piece are within that, the changes between pieces" in said
    # short of even one piece's columns: no such clause
    short = assess(500, 290, 10_000.0, 36, 34, r2_cs=0.2, r2_source="m")
    assert min(short.max_parameters_shrinkage, short.max_parameters_optimism) < 17
    assert "of one piece" not in _warning(short, pieces, "months", "deaths")
    # every parameter supported, the warning only for the overall risk (criterion iii): no
    # such clause either
    few = assess(150, 40, 3_000.0, 36, 4, r2_cs=0.4, r2_source="m")
    assert min(few.max_parameters_shrinkage, few.max_parameters_optimism) >= 4
    assert not few.precision_met
    two = {"design_columns": 4, "time_pieces": 2, "nonzero_coefficients": 4}
    assert "of one piece" not in _warning(few, two, "months", "deaths")
    # a model in one piece: neither the split nor the clause
    plain = _warning(enough, {"design_columns": 34, "nonzero_coefficients": 30}, "months")
    assert "(30 kept by the penalty)" in plain and "piece" not in plain


def test_an_apparent_r2_is_adjusted_for_optimism():
    """van Houwelingen's heuristic shrinkage 1 - p / LR, with LR = -n ln(1 - R²): by hand,
    110 patients, 17 parameters and an apparent 0.506 give LR 77.57, shrinkage 0.7808 and
    0.3951; where LR does not exceed p nothing is left to anticipate."""
    assert optimism_adjusted_r2(0.506, 110, 17) == pytest.approx(0.3951, abs=1e-4)
    assert optimism_adjusted_r2(0.506, 2000, 17) == pytest.approx(
        0.506 * (1 - 17 / 1410.4), abs=1e-4
    )
    lr_below_p = 1 - math.exp(-16 / 110)  # LR 16 for 17 parameters
    assert optimism_adjusted_r2(lr_below_p, 110, 17) is None
    assert optimism_adjusted_r2(0.0, 110, 17) is None


def test_a_model_explaining_no_more_than_chance_supports_next_to_nothing(
    small_bundle, small_cohort, schema, monkeypatch
):
    """Where the apparent R²'s likelihood ratio does not exceed the design's parameters,
    van Houwelingen's shrinkage is not positive: the criteria take an R² of 0.001, never the
    conservative default, which would judge that model more leniently than a better one."""
    from model.bundle import load_bundle
    from model.validation import validate_dataset
    from training import adequacy

    data = validate_dataset(small_cohort[0], schema).raise_if_errors()
    models = load_bundle(small_bundle).models
    monkeypatch.setattr(adequacy, "cox_snell_r2", lambda *a: 1 - math.exp(-30 / 400))  # LR 30
    s = adequacy.fitted_sample_size(data, schema, models)
    assert s["design_columns"] == 36  # 30 < 36: nothing beyond chance
    assert s["assessment"]["r2_cs"] == pytest.approx(adequacy.NO_SIGNAL_R2)
    assert "not above what its 36 parameters explain by chance" in s["assessment"]["r2_source"]
    assert s["supported"] == 0 < s["conservative"]["max_parameters_optimism"]
