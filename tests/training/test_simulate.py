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
