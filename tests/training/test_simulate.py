"""The simulated world: reproducible, calibrated to the Shijitan cohort, and true to its model."""

import json

import numpy as np
import pandas as pd
import pytest
from lifelines import CoxPHFitter
from sksurv.metrics import concordance_index_censored
from typer.testing import CliRunner

from model.kaplan_meier import KaplanMeier
from model.validation import validate_dataset
from training.cli import app
from training.simulate import (
    DEFAULT_WORLD,
    TRUTH_TIMES,
    WORLDS,
    SimulationSettings,
    TrueModel,
    cohort_to_csv,
    simulate_cohort,
    truth_to_csv,
)

from ..conftest import SYNTHETIC

runner = CliRunner()
N_LARGE = 20_000


@pytest.fixture(scope="module")
def large():
    return simulate_cohort(N_LARGE, seed=20_000)


def _linear_design(d: pd.DataFrame) -> pd.DataFrame:
    """Main effects as a researcher would enter them: linear, markers on the log scale."""
    return pd.DataFrame(
        {
            "biphasic": (d["pathology"] == "biphasic") * 1.0,
            "sarcomatoid": (d["pathology"] == "sarcomatoid") * 1.0,
            "vascular_emboli": d["vascular_emboli"],
            "lymph_nodes": d["lymph_nodes"],
            "sae": d["sae"],
            "cc_1": (d["cc"] == 1) * 1.0,
            "cc_2": (d["cc"] == 2) * 1.0,
            "cc_3": (d["cc"] == 3) * 1.0,
            "ki67": d["ki67"],
            "pci": d["pci"],
            "kps": d["kps"],
            "log_ca125": np.log1p(d["ca125"]),
            "log_cea": np.log1p(d["cea"]),
            "log_ca199": np.log1p(d["ca199"]),
            "rbc_units": d["rbc_units"],
            "age": d["age"],
            "male": (d["sex"] == "M") * 1.0,
        }
    )


# ------------------------------------------------------------- reproducibility
def test_same_seed_same_bytes_different_seed_different_data(tmp_path):
    paths = []
    for run, seed in ((1, 5), (2, 5), (3, 6)):
        out, truth = tmp_path / f"c{run}.csv", tmp_path / f"t{run}.csv"
        res = runner.invoke(
            app,
            [
                "simulate",
                "--n",
                "300",
                "--seed",
                str(seed),
                "--out",
                str(out),
                "--truth",
                str(truth),
            ],
        )
        assert res.exit_code == 0, res.output
        paths.append((out.read_bytes(), truth.read_bytes()))
    assert paths[0] == paths[1]
    assert paths[0][0] != paths[2][0] and paths[0][1] != paths[2][1]


def test_shipped_cohorts_regenerate_byte_for_byte():
    manifest = json.loads((SYNTHETIC / "settings.json").read_text())
    settings = SimulationSettings.load(SYNTHETIC / "settings.json")
    assert len(manifest["cohorts"]) >= 2
    for c in manifest["cohorts"]:
        cohort = simulate_cohort(c["n"], c["seed"], settings)
        assert cohort_to_csv(cohort.data) == (SYNTHETIC / c["data"]).read_text(), c["data"]
        assert truth_to_csv(cohort.truth) == (SYNTHETIC / c["truth"]).read_text(), c["truth"]


def test_shipped_cohorts_pass_schema_validation(schema):
    for n in (110, 2000):
        report = validate_dataset(SYNTHETIC / f"dmpm_{n}.csv", schema)
        assert report.ok and not report.warnings, [str(p) for p in report.problems][:5]
        assert len(report.data) == n


def test_settings_round_trip_and_refuse_unknown_keys():
    s = SimulationSettings()
    assert SimulationSettings.from_json(s.to_json()) == s
    with pytest.raises(ValueError, match="unknown simulation settings: typo"):
        SimulationSettings.from_json(json.dumps({"typo": 1}))


def test_cli_rejects_bad_arguments(tmp_path):
    res = runner.invoke(
        app, ["simulate", "--n", "0", "--seed", "1", "--out", str(tmp_path / "x.csv")]
    )
    assert res.exit_code != 0 and "--n" in res.output
    bad = tmp_path / "s.json"
    bad.write_text("{not json")
    res = runner.invoke(
        app,
        [
            "simulate",
            "--n",
            "5",
            "--seed",
            "1",
            "--out",
            str(tmp_path / "x.csv"),
            "--settings",
            str(bad),
        ],
    )
    assert res.exit_code == 1 and "cannot read settings" in res.stderr


# ------------------------------------------------------------------ calibration
# Tolerances: a proportion on 20,000 patients has a standard error below 0.004, so 0.02 allows
# for sampling error (5 SE) plus the remaining calibration error of the settings. Medians of
# survival and follow-up have standard errors near 0.6 months here, so 2.5 months is generous
# enough to be stable and tight enough to catch a miscalibrated world.
def test_calibrated_to_the_shijitan_cohort(large):
    d = large.latent
    assert (d["pci"] >= 20).mean() == pytest.approx(0.691, abs=0.02)
    assert (d["cc"] <= 1).mean() == pytest.approx(0.536, abs=0.02)
    assert d["sae"].mean() == pytest.approx(0.373, abs=0.02)
    assert d["death"].mean() == pytest.approx(0.564, abs=0.02)
    periop = ((d["death"] == 1) & (d["os_months"] <= 1.0)).mean()
    assert periop == pytest.approx(0.027, abs=0.006)
    km = KaplanMeier(d["os_months"], d["death"])
    assert km.median == pytest.approx(32.6, abs=2.5)
    assert KaplanMeier(d["os_months"], d["death"], reverse=True).median == pytest.approx(
        43.3, abs=2.5
    )


def test_realistic_correlations(large):
    d = large.latent
    non_epi = d["pathology"] != "epithelioid"
    assert (d["pathology"] == "epithelioid").mean() > 0.6
    assert d[["pci", "cc"]].corr(method="spearman").iloc[0, 1] > 0.4
    assert d.groupby(d["pci"] >= 20)["sae"].mean().diff().iloc[-1] > 0.05
    assert d.groupby(d["kps"] < 80)["sae"].mean().diff().iloc[-1] > 0.03
    assert d.groupby(d["rbc_units"] >= 4)["sae"].mean().diff().iloc[-1] > 0.05
    assert d["ki67"].mean() > d["ki67"].median()  # right-skewed
    for marker in ("ca125", "cea", "ca199"):
        logs = np.log(d[marker])
        assert abs(logs.skew()) < 0.3 < d[marker].skew()  # log-normal
        assert np.corrcoef(logs, d["pci"])[0, 1] > 0.1
    for col in ("vascular_emboli", "lymph_nodes"):
        assert d.loc[non_epi, col].mean() > d.loc[~non_epi, col].mean() + 0.1


def test_missingness_is_not_completely_at_random(large):
    obs, lat = large.data, large.latent
    early = lat["entry_month"] < lat["entry_month"].quantile(1 / 3)
    late = lat["entry_month"] > lat["entry_month"].quantile(2 / 3)
    for col in ("ki67", "ca125"):
        assert obs.loc[early, col].isna().mean() > 1.5 * obs.loc[late, col].isna().mean(), col
    cc23 = lat["cc"] >= 2
    for col in ("vascular_emboli", "lymph_nodes"):
        assert obs.loc[cc23, col].isna().mean() > 1.5 * obs.loc[~cc23, col].isna().mean(), col
    assert 0.05 < obs["ki67"].isna().mean() < 0.3
    assert obs[["pathology", "pci", "cc", "sae", "os_months", "death"]].notna().all().all()
    # what is observed is exactly the latent value where it is not missing
    shown = obs["ki67"].notna()
    assert (obs.loc[shown, "ki67"] == lat.loc[shown, "ki67"]).all()


# ------------------------------------------------------------------ the truth
def test_truth_is_a_proper_survival_function(large):
    t = large.truth
    assert (t[["true_surv_12", "true_surv_36", "true_surv_60"]].to_numpy() > 0).all()
    assert (t["true_surv_12"] <= 1).all()
    assert (t["true_surv_12"] >= t["true_surv_36"]).all()
    assert (t["true_surv_36"] >= t["true_surv_60"]).all()
    assert np.allclose(t["true_risk"], -np.log(t["true_surv_36"]))


def test_observed_times_follow_the_true_survival(large):
    # The average of the true individual curves is the population survival; the Kaplan-Meier
    # estimate on 20,000 patients has a standard error under 0.005, so 0.015 is 3 SE.
    km = KaplanMeier(large.latent["os_months"], large.latent["death"])
    for months in (12, 36, 60):
        assert km.survival_at(months)[0] == pytest.approx(
            large.truth[f"true_surv_{months}"].mean(), abs=0.015
        )


def test_cox_on_the_true_design_recovers_the_log_hazard_ratios(large):
    settings = SimulationSettings()
    lat = large.latent
    design = TrueModel(settings).design(lat)
    # perioperative deaths are a competing cause; treating them as censored leaves the
    # cause-specific hazard of disease death, which is the proportional-hazards part
    disease_death = ((lat["death"] == 1) & (lat["cause"] == "disease")).astype(int)
    df = design.assign(time=lat["os_months"], event=disease_death)
    fit = CoxPHFitter().fit(df, "time", "event")
    truth = pd.Series(settings.log_hr)
    z = (fit.params_[truth.index] - truth) / fit.standard_errors_[truth.index]
    # 18 estimates: |z| < 3.5 keeps the family-wise false alarm rate under 1 %
    assert (z.abs() < 3.5).all(), z.round(2).to_dict()
    assert (fit.params_[truth.index] - truth).abs().max() < 0.15


def test_main_effects_linear_cox_falls_short_of_the_truth(large):
    train = large.latent
    fresh = simulate_cohort(N_LARGE, seed=20_001)
    fit = CoxPHFitter().fit(
        _linear_design(train).assign(t=train["os_months"], e=train["death"]), "t", "e"
    )
    test = fresh.latent
    event, time = test["death"].astype(bool).to_numpy(), test["os_months"].to_numpy()
    c_linear = concordance_index_censored(
        event, time, fit.predict_log_partial_hazard(_linear_design(test))
    )[0]
    c_oracle = concordance_index_censored(event, time, fresh.truth["true_risk"].to_numpy())[0]
    assert c_oracle - c_linear >= 0.01, (c_oracle, c_linear)


def test_strong_and_weak_independent_factors(large):
    # Shijitan multivariable analysis: pathology, emboli, Ki-67 and SAE independent; KPS,
    # markers, PCI, transfusion and nodes weaker. Compare hazard ratios per contrast a
    # clinician would quote (type, yes/no, Ki-67 > 10 %, interquartile range).
    d = large.latent
    x = _linear_design(d).drop(columns=["ki67"]).assign(ki67_gt10=(d["ki67"] > 10) * 1.0)
    fit = CoxPHFitter().fit(x.assign(t=d["os_months"], e=d["death"]), "t", "e")
    b = fit.params_
    iqr = d[["pci", "kps", "rbc_units"]].quantile(0.75) - d[["pci", "kps", "rbc_units"]].quantile(
        0.25
    )
    strong = {
        "biphasic": b["biphasic"],
        "sarcomatoid": b["sarcomatoid"],
        "emboli": b["vascular_emboli"],
        "ki67": b["ki67_gt10"],
        "sae": b["sae"],
    }
    weak = {
        "pci": b["pci"] * iqr["pci"],
        "kps": abs(b["kps"] * iqr["kps"]),
        "rbc": b["rbc_units"] * iqr["rbc_units"],
        "nodes": b["lymph_nodes"],
        "ca125": b["log_ca125"] * np.log(d["ca125"]).std() * 1.35,
    }
    assert min(strong.values()) > max(weak.values()), (strong, weak)
    assert all(v > 0 for v in weak.values())


def test_shipped_settings_are_the_code_defaults():
    # the default world and the shipped cohorts must not drift apart
    assert SimulationSettings.load(SYNTHETIC / "settings.json") == SimulationSettings()


# ------------------------------------------------------------------ the worlds
@pytest.fixture(scope="module")
def world_cohorts(large):
    """One draw of N_LARGE patients per world, with the seed of ``large`` (its own world)."""
    cohorts = {DEFAULT_WORLD: large}
    for name in WORLDS:
        if name != DEFAULT_WORLD:
            cohorts[name] = simulate_cohort(N_LARGE, 20_000, SimulationSettings.for_world(name))
    return cohorts


@pytest.mark.parametrize("world", list(WORLDS))
def test_every_world_is_calibrated_to_the_shijitan_cohort(world, world_cohorts):
    # the same targets and tolerances as test_calibrated_to_the_shijitan_cohort (reasons there)
    d = world_cohorts[world].latent
    assert (d["pci"] >= 20).mean() == pytest.approx(0.691, abs=0.02)
    assert (d["cc"] <= 1).mean() == pytest.approx(0.536, abs=0.02)
    assert d["sae"].mean() == pytest.approx(0.373, abs=0.02)
    assert d["death"].mean() == pytest.approx(0.564, abs=0.02)
    periop = ((d["death"] == 1) & (d["os_months"] <= 1.0)).mean()
    assert periop == pytest.approx(0.027, abs=0.006)
    assert KaplanMeier(d["os_months"], d["death"]).median == pytest.approx(32.6, abs=2.5)
    assert KaplanMeier(d["os_months"], d["death"], reverse=True).median == pytest.approx(
        43.3, abs=2.5
    )


@pytest.mark.parametrize("world", list(WORLDS))
def test_every_world_draws_the_same_patients_and_writes_the_same_format(world, world_cohorts):
    this, default = world_cohorts[world], world_cohorts[DEFAULT_WORLD]
    # one seed: the same patients, missing values and censoring; only the deaths differ
    outcome = ["os_months", "death"]
    pd.testing.assert_frame_equal(
        this.data.drop(columns=outcome), default.data.drop(columns=outcome)
    )
    assert (this.latent["censor_time"] == default.latent["censor_time"]).all()
    assert (
        cohort_to_csv(this.data).partition("\n")[0]
        == (SYNTHETIC / "dmpm_110.csv").read_text().partition("\n")[0]
    )
    assert (
        truth_to_csv(this.truth).partition("\n")[0]
        == (SYNTHETIC / "dmpm_110_truth.csv").read_text().partition("\n")[0]
    )


@pytest.mark.parametrize("world", list(WORLDS))
def test_every_worlds_truth_is_proper_and_followed_by_the_observed_times(world, world_cohorts):
    c = world_cohorts[world]
    s = c.truth[["true_surv_12", "true_surv_36", "true_surv_60"]].to_numpy()
    assert (s > 0).all() and (s <= 1).all() and (np.diff(s, axis=1) <= 0).all()
    assert np.allclose(c.truth["true_risk"], -np.log(c.truth["true_surv_36"]))
    # as in test_observed_times_follow_the_true_survival: 0.015 is 3 SE on 20,000 patients
    km = KaplanMeier(c.latent["os_months"], c.latent["death"])
    for months in TRUTH_TIMES:
        assert km.survival_at(months)[0] == pytest.approx(
            c.truth[f"true_surv_{months}"].mean(), abs=0.015
        ), (world, months)


def _disease_death_cox(design, time, event):
    return CoxPHFitter().fit(design.assign(time=time, event=event), "time", "event")


def test_cox_on_the_linear_worlds_true_design_recovers_its_log_hazard_ratios(world_cohorts):
    settings = SimulationSettings.for_world("linear")
    lat = world_cohorts["linear"].latent
    disease_death = ((lat["death"] == 1) & (lat["cause"] == "disease")).astype(int)
    fit = _disease_death_cox(TrueModel(settings).design(lat), lat["os_months"], disease_death)
    truth = pd.Series(settings.log_hr)
    z = (fit.params_[truth.index] - truth) / fit.standard_errors_[truth.index]
    # 17 estimates: |z| < 3.5 keeps the family-wise false alarm rate under 1 %
    assert (z.abs() < 3.5).all(), z.round(2).to_dict()
    assert (fit.params_[truth.index] - truth).abs().max() < 0.15


def test_nonph_worlds_truth_matches_kaplan_meier_within_groups(world_cohorts):
    # Uncensored death times (the latent draw): the Kaplan-Meier estimate is the share still
    # alive, with standard error sqrt(S (1 - S) / n) <= 0.5 / sqrt(n) in a group of n; 4 such
    # SEs over 4 groups x 6 times keeps the false alarm rate under 0.2 %, and the bound is
    # below 0.025 in every group (n > 2,000), well under the gaps between the groups.
    settings = SimulationSettings.for_world("nonph")
    lat = world_cohorts["nonph"].latent
    times = (3.0, 6.0, 12.0, 24.0, 36.0, 60.0)
    true_s = TrueModel(settings).survival(lat, times)
    groups = {
        "sae": lat["sae"] == 1,
        "non_epithelioid": lat["pathology"] != "epithelioid",
        "cc23": lat["cc"] >= 2,
        "epithelioid_cc01_no_sae": (lat["pathology"] == "epithelioid")
        & (lat["cc"] <= 1)
        & (lat["sae"] == 0),
    }
    for name, g in groups.items():
        n = int(g.sum())
        assert n > 2000, name
        km = KaplanMeier(lat.loc[g, "death_time"], np.ones(n, dtype=int))
        observed = np.array([km.survival_at(t)[0] for t in times])
        expected = true_s[g.to_numpy()].mean(axis=0)
        assert np.abs(observed - expected).max() < 4 * 0.5 / np.sqrt(n), (name, observed, expected)


def test_nonph_worlds_hazard_ratios_change_over_time(world_cohorts):
    # Cox fits of disease death on the true design in two windows of the uncensored draw: the
    # first year (everyone from surgery, followed to 12 months) and 24-60 months (those alive
    # at 24, all entering then, so the clock may start at 24). Each window lies on one side of
    # the change, so each fit should find that side's log hazard ratios.
    settings = SimulationSettings.for_world("nonph")
    lat = world_cohorts["nonph"].latent
    design = TrueModel(settings).design(lat)
    t, disease = lat["death_time"], lat["cause"] == "disease"
    early = _disease_death_cox(design, np.minimum(t, 12.0), (disease & (t <= 12.0)).astype(int))
    alive24 = t > 24.0
    late = _disease_death_cox(
        design[alive24],
        np.minimum(t[alive24], 60.0) - 24.0,
        (disease & (t <= 60.0))[alive24].astype(int),
    )
    beta_early = pd.Series(settings.log_hr)
    beta_late = beta_early.add(pd.Series(settings.log_hr_change), fill_value=0.0)
    for fit, truth in ((early, beta_early), (late, beta_late)):
        z = (fit.params_[truth.index] - truth) / fit.standard_errors_[truth.index]
        # 17 estimates per window: |z| < 3.8 keeps the family-wise false alarm rate under 1 %
        assert (z.abs() < 3.8).all(), z.round(2).to_dict()
    # the change is real and in the designed direction: fading SAE and CC3, growing pathology
    # and Ki-67; |z| > 5 for the difference of the two windows' estimates
    diff = late.params_ - early.params_
    se = np.sqrt(late.standard_errors_**2 + early.standard_errors_**2)
    for term, sign in (("sae", -1), ("cc_3", -1), ("pathology_sarcomatoid", 1), ("log1p_ki67", 1)):
        assert sign * diff[term] / se[term] > 5, (term, diff[term], se[term])
    # a hazard ratio the designer did not change stays put
    assert abs(diff["vascular_emboli"] / se["vascular_emboli"]) < 3.8


def test_default_world_cli_output_is_the_shipped_cohort(tmp_path):
    # no --settings and no --world: the code's defaults are the shipped cohorts' world
    manifest = json.loads((SYNTHETIC / "settings.json").read_text())
    for c in manifest["cohorts"]:
        for extra in ([], ["--world", DEFAULT_WORLD]):
            out, truth = tmp_path / "c.csv", tmp_path / "t.csv"
            args = ["simulate", "--n", str(c["n"]), "--seed", str(c["seed"]), "--out", str(out)]
            res = runner.invoke(app, [*args, "--truth", str(truth), *extra])
            assert res.exit_code == 0, res.output
            assert out.read_bytes() == (SYNTHETIC / c["data"]).read_bytes(), (c["data"], extra)
            assert truth.read_bytes() == (SYNTHETIC / c["truth"]).read_bytes(), (c["truth"], extra)
    assert manifest["settings"]["world"] == DEFAULT_WORLD


def test_cli_world_choices_and_mismatched_settings(tmp_path):
    out = str(tmp_path / "x.csv")
    base = ["simulate", "--n", "50", "--seed", "1", "--out", out]
    res = runner.invoke(app, [*base, "--world", "flat"])
    assert res.exit_code == 2
    assert all(name in res.output for name in WORLDS), res.output
    res = runner.invoke(
        app, [*base, "--world", "linear", "--settings", str(SYNTHETIC / "settings.json")]
    )
    assert res.exit_code == 1 and "for the 'milan' world, not 'linear'" in res.stderr
    partial = tmp_path / "partial.json"
    partial.write_text('{"loss_rate_per_month": 0.002}')
    res = runner.invoke(app, [*base, "--world", "nonph", "--settings", str(partial)])
    assert res.exit_code == 0 and "nonph world" in res.output, res.output


@pytest.mark.parametrize("world", list(WORLDS))
def test_world_settings_round_trip_and_refuse_what_the_world_lacks(world):
    s = SimulationSettings.for_world(world)
    assert s.world == world and json.loads(s.to_json())["world"] == world
    assert SimulationSettings.from_json(s.to_json()) == s
    other = next(w for w in WORLDS if w != world)
    with pytest.raises(ValueError, match=f"for the '{world}' world, not '{other}'"):
        SimulationSettings.from_json(s.to_json(), world=other)
    with pytest.raises(ValueError, match="log_hr lacks terms"):
        SimulationSettings.from_json(json.dumps({"world": world, "log_hr": {"sae": 0.5}}))
    if WORLDS[world].proportional:
        with pytest.raises(ValueError, match="proportional hazards: log_hr_change must be empty"):
            SimulationSettings.from_json(json.dumps({"world": world, "log_hr_change": {"sae": 1}}))
    with pytest.raises(
        ValueError, match="unknown world 'flat'; choose one of: milan, linear, nonph"
    ):
        SimulationSettings.for_world("flat")
