"""The researcher's verbs: fit, evaluate and the registry, as a user runs them."""

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import training.fit as fit_mod
from model.bundle import load_bundle
from model.engine import Engine
from model.families import CoxnetFamily
from model.predict import risk_score, survival_at
from model.registry import Registry
from reporting.summary import contribution_table
from training.cli import app
from training.simulate import simulate_cohort

from ..conftest import promoted_copy, write_centre_schema

runner = CliRunner()


def run(*args):
    res = runner.invoke(app, [str(a) for a in args])
    return res


def test_report_covers_tripod_items(small_bundle):
    rep = json.loads((small_bundle / "report.json").read_text())
    for key in (
        "intended_use",
        "training_data",
        "missing_data",
        "missing_data_handling",
        "cross_validation",
        "validation",
        "calibration",
        "decision_curve",
        "hazard_ratios",
        "permutation_importance",
        "limitations",
    ):
        assert rep[key] is not None, key
    for model in ("coxnet", "rsf"):
        v = rep["validation"][model]
        for k in ("harrell_c", "uno_c", "auc_12", "auc_36", "ibs", "ipa"):
            assert v["apparent"][k] is not None and v["corrected"][k] is not None, (model, k)
            lo, hi = v["ci"][k]
            # with 4 resamples the percentile interval is rough; it must still be an interval
            # around the same quantity, not centred elsewhere
            assert lo < hi and abs((lo + hi) / 2 - v["corrected"][k]) < (hi - lo) + 0.02, (model, k)
        assert set(rep["calibration"][model]) == {"12", "36", "60"}
    # simulated patients, declared so by the simulator beside the file (in a temporary
    # folder: the folder's name no longer decides)
    assert rep["synthetic_training_data"] is True
    html = (small_bundle / "report.html").read_text()
    for text in (
        "Calibration at 36 months",
        "decision curve",
        "Hazard ratios",
        "Permutation importance",
        "Missing data",
        rep["training_data"]["sha256"],
    ):
        assert text in html
    assert len(rep["hazard_ratios"]) >= len({h["feature"] for h in rep["hazard_ratios"]}) >= 10


def test_both_models_compared_on_the_same_folds(small_bundle):
    m = json.loads((small_bundle / "manifest.json").read_text())
    report = json.loads((small_bundle / "report.json").read_text())["cross_validation"]
    cv = report["models"]
    assert len(cv["coxnet"]["fold_uno_c"]) == len(cv["rsf"]["fold_uno_c"]) == 5
    # the report says what chose each family's settings: the Cox model's is not Uno C
    assert report["score"].startswith("the integrated Brier score (the Cox model's design")
    assert report["score"].endswith("(the random survival forest's settings)")
    assert "scored by the integrated Brier score" in (small_bundle / "report.html").read_text()
    # the forest is a comparison only: the clinical Cox model is the default whatever the scores
    assert m["default_model"] == "coxnet" and m["clinical_models"] == ["coxnet"]
    assert m["models"]["coxnet"]["params"]["alpha"] > 0
    assert m["models"]["rsf"]["params"]["min_samples_leaf"] in (8, 15, 30)


def test_cli_fit_promote_list_rollback(tmp_path, small_cohort):
    reg = tmp_path / "models"
    ids = []
    for seed in (1, 2):
        res = run(
            "fit",
            "--data",
            small_cohort[0],
            "--out",
            reg,
            "--models",
            "coxnet",
            "--bootstrap",
            "2",
            "--seed",
            seed,
            "--quiet",
        )
        assert res.exit_code == 0, res.output
        assert "not active" in res.stdout
        ids.append(Registry(reg).ids()[-1])
    assert Registry(reg).active_id is None
    none = run("models", "active", "--out", reg)
    assert none.exit_code == 1 and "no active bundle" in none.stderr
    assert run("models", "promote", ids[0], "--out", reg).exit_code == 0
    assert run("models", "active", "--out", reg).stdout.strip() == ids[0]
    assert run("models", "promote", ids[1], "--out", reg).exit_code == 0
    listing = run("models", "list", "--out", reg).stdout
    assert f"* {ids[1]}" in listing and f"  {ids[0]}" in listing
    res = run("models", "rollback", "--out", reg)
    assert res.exit_code == 0 and ids[0] in res.stdout
    res = run("models", "rollback", "--out", reg)
    assert res.exit_code == 1 and "nothing to roll back to" in res.stderr
    assert run("models", "promote", "nope", "--out", reg).exit_code == 1


def test_cli_fit_refuses_bad_data_and_writes_nothing(tmp_path):
    bad = tmp_path / "bad.csv"
    df = simulate_cohort(60, seed=3).data
    df.loc[4, "pci"] = 52
    df.loc[9, "death"] = 3
    df.to_csv(bad, index=False)
    res = run("fit", "--data", bad, "--out", tmp_path / "models", "--quiet")
    assert res.exit_code == 1
    assert (
        "row 5 (line 6), column 'pci'" in res.stderr
        and "row 10 (line 11), column 'death'" in res.stderr
    )
    assert not (tmp_path / "models").exists()


def test_cli_fit_rejects_unknown_model_names(tmp_path, small_cohort):
    res = run("fit", "--data", small_cohort[0], "--models", "coxnet,xgboost", "--out", tmp_path)
    assert res.exit_code == 2 and "xgboost" in res.output


def test_failed_fit_leaves_the_active_bundle_untouched(
    tmp_path, small_cohort, small_bundle, monkeypatch
):
    import shutil

    reg = Registry(tmp_path / "models")
    reg.root.mkdir()
    shutil.copytree(small_bundle, reg.root / small_bundle.name)
    reg.register(reg.root / small_bundle.name)
    reg.promote(small_bundle.name)
    before = sorted(p.name for p in reg.root.iterdir())
    index = (reg.root / "registry.json").read_bytes()

    def crash(*a, **k):
        raise RuntimeError("killed while writing the report")

    monkeypatch.setattr("training.report.build_report", crash)
    with pytest.raises(RuntimeError, match="killed"):
        fit_mod.fit_bundle(
            small_cohort[0],
            load_bundle(small_bundle).schema,
            reg.root,
            fit_mod.FitOptions(
                models=("coxnet",), bootstrap=1, progress=False, n_jobs=1, promote=True
            ),
        )
    assert sorted(p.name for p in reg.root.iterdir()) == before
    assert (reg.root / "registry.json").read_bytes() == index
    assert reg.load().version_id == small_bundle.name


def test_cli_evaluate_with_truth(small_bundle, tmp_path):
    fresh = simulate_cohort(500, seed=99)
    data, truth = tmp_path / "v.csv", tmp_path / "t.csv"
    from training.simulate import write_cohort

    write_cohort(fresh, data, truth)
    truth_frame = pd.read_csv(truth)
    res = run(
        "evaluate",
        "--bootstrap",
        "0",
        "--bundle",
        small_bundle,
        "--data",
        data,
        "--truth",
        truth,
        "--json",
    )
    assert res.exit_code == 0, res.output
    r = json.loads(res.stdout)
    assert r["n"] == 500 and 0.6 < r["oracle_harrell_c"] < 0.9
    for model in ("coxnet", "rsf"):
        m = r["models"][model]
        # trained on 400 patients: discrimination well above chance, below the oracle's
        assert 0.6 < m["harrell_c"] <= r["oracle_harrell_c"] + 0.02
        assert 0 < m["mae_surv_36"] < 0.2 and m["ibs"] < m["ibs_null"]
        # an unknown input takes information from any predictor
        assert m["mae_surv_36_complete"] < m["mae_surv_36_unknown"]
    cox, forest = r["models"]["coxnet"], r["models"]["rsf"]
    # the band's share holding the truth, counted independently from the page's prognoses
    # (Prognosis.at, patient by patient, in predict's chunks of 200)
    engine = Engine(load_bundle(small_bundle))
    X = fresh.data[engine.schema.feature_names]
    unknown = X.isna().any(axis=1).to_numpy()
    for mark in (12, 36):
        inside = np.array(
            [
                lo <= t <= hi
                for start in range(0, len(X), 200)
                for (_, lo, hi), t in zip(
                    (p.at(mark) for p in engine.predict(X.iloc[start : start + 200])),
                    truth_frame[f"true_surv_{mark}"].iloc[start : start + 200],
                    strict=True,
                )
            ]
        )
        assert cox[f"band_coverage_{mark}"] == pytest.approx(inside.mean(), abs=1e-12)
        assert cox[f"band_coverage_{mark}_unknown"] == pytest.approx(inside[unknown].mean())
        # a fixture of 4 bootstrap refits, not a coverage study (benchmarks/accuracy.py is):
        # the band must still hold most true curves
        assert 0.75 < cox[f"band_coverage_{mark}_complete"] <= 1.0
        assert forest[f"band_coverage_{mark}"] is None and forest[f"band_width_{mark}"] is None
    text = run("evaluate", "--bootstrap", "0", "--bundle", small_bundle, "--data", data).stdout
    assert "Harrell C" in text and "Calib. slope 36 m" in text
    for model in ("coxnet", "rsf"):
        by = r["models"][model]["calibration_by_input"]
        assert by["horizon"] == 36 and by["tests"] == len(by["groups"]) > 20
        said = f"Calibration within the groups of each input at 36 months, {model}: "
        assert said in text


def test_the_report_sets_each_inputs_groups_against_their_kaplan_meier(small_bundle, small_cohort):
    """Each group's observed survival is lifelines' Kaplan-Meier of those training patients;
    the predicted mean lies in [0, 1]; the HTML has the table and says what departs."""
    from lifelines import KaplanMeierFitter

    rep = json.loads((small_bundle / "report.json").read_text())
    data = pd.read_csv(small_cohort[0])
    for model in ("coxnet", "rsf"):
        by = rep["calibration_by_input"][model]
        assert by["horizon"] == 36
        sarcomatoid = next(g for g in by["groups"] if g["group"] == "sarcomatoid")
        rows = data[data["pathology"] == "sarcomatoid"]
        km = KaplanMeierFitter().fit(rows["os_months"], rows["death"])
        by_then = ((rows["death"] == 1) & (rows["os_months"] <= 36)).sum()
        assert sarcomatoid["n"] == len(rows) and sarcomatoid["events"] == by_then
        assert sarcomatoid["observed"] == pytest.approx(km.predict(36.0), abs=1e-9)
        assert all(0 <= g["predicted"] <= 1 for g in by["groups"])
    html = (small_bundle / "report.html").read_text()
    assert "Calibration within the groups of each input, at 36 months" in html
    assert "departs" in html and "Predicted, Penalised Cox" in html


def test_evaluate_gives_bootstrap_intervals_of_the_validation(small_bundle, tmp_path):
    """Percentile intervals over resamples of the validation patients, checked against
    lifelines' concordance and statsmodels' Cox regression of each resample; the text
    gives them under each score, and the CLI warns of a validation with few events."""
    from lifelines.utils import concordance_index
    from statsmodels.duration.hazard_regression import PHReg

    from training.evaluate import evaluate_bundle, resamples
    from training.simulate import write_cohort

    fresh = simulate_cohort(120, seed=98)
    bundle = load_bundle(small_bundle)
    data = fresh.data
    r = evaluate_bundle(bundle, data, n_boot=40, seed=5)
    cox = r["models"]["coxnet"]
    surv, _lo, _hi = Engine(bundle).curves(data[bundle.schema.feature_names], "coxnet")
    risk = risk_score(surv, bundle.grid, bundle.risk_horizon)
    t, e = data["os_months"].to_numpy(), data["death"].to_numpy()
    h = 36.0
    pred = survival_at(surv, bundle.grid, h)
    lp = np.log(-np.log(np.clip(pred, 1e-9, 1 - 1e-9)))
    cs, slopes = [], []
    for idx in resamples(len(data), 40, 5):
        cs.append(concordance_index(t[idx], -risk[idx], e[idx]))
        fit = PHReg(np.minimum(t[idx], h), lp[idx, None], status=e[idx] * (t[idx] <= h))
        slopes.append(fit.fit().params[0])  # Breslow's ties, as the report's slope
    # Harrell C with ties in risk counted a half, as lifelines does: the same numbers
    assert cox["harrell_c_ci"] == pytest.approx(np.percentile(cs, [2.5, 97.5]), abs=1e-9)
    # two Cox fitters, Breslow's ties both: equal to their convergence tolerance
    slope_ci = cox["calibration"]["36"]["slope_ci"]
    assert slope_ci == pytest.approx(np.percentile(slopes, [2.5, 97.5]), abs=1e-4)
    assert cox["harrell_c_ci"][0] < cox["harrell_c"] < cox["harrell_c_ci"][1]
    assert all(cox[f"{k}_ci"] is not None for k in ("uno_c", "auc_12", "ibs", "ipa"))
    path = tmp_path / "v.csv"
    write_cohort(fresh, path)
    res = run("evaluate", "--bootstrap", "20", "--bundle", small_bundle, "--data", path)
    assert res.exit_code == 0, res.output
    assert res.stdout.count("  95 % interval") >= 8
    assert "percentiles over 20 resamples of the patients" in res.stdout
    assert f"warning: {int(e.sum())} deaths in v.csv: a validation on fewer than 100" in res.stderr


def test_a_resample_that_gives_no_measure_is_left_out():
    """A resample whose events all come at its last time has no comparable pair: it gives
    no measure (the interval needs half the resamples), not a crash of evaluate."""
    from sksurv.util import Surv

    from training.evaluate import _scores

    grid = np.arange(0, 61, 0.5)
    y = Surv.from_arrays([False] * 5 + [True, True], [10, 20, 30, 40, 45, 50, 50])
    surv = np.exp(-np.outer(np.linspace(0.01, 0.05, 7), grid))
    assert _scores(y, surv, (grid, 36.0, 50.0, {"36": 36.0}), ["harrell_c"]) == {}


def test_cli_evaluate_refuses_a_tampered_bundle(small_bundle, small_cohort, tmp_path):
    import shutil

    copy = tmp_path / "b"
    shutil.copytree(small_bundle, copy)
    (copy / "rsf.joblib").write_bytes(b"x")
    res = run("evaluate", "--bootstrap", "0", "--bundle", copy, "--data", small_cohort[0])
    assert res.exit_code == 1 and "does not match its recorded SHA-256" in res.stderr


def test_researcher_retrains_with_an_extra_variable_and_interactions_of_their_own(tmp_path):
    """A centre's schema with serum albumin that also declares CC x age (ordinal) and sex x
    Ki-67 (categorical): fit builds their products, the contributions give each pair its
    own entry and still add up to the patient's log hazard ratio, and an unknown CC is
    averaged over."""
    import yaml

    schema_path = write_centre_schema(tmp_path)
    doc = yaml.safe_load(schema_path.read_text())
    doc["interactions"] = [["ki67", "pci"], ["cc", "age"], ["sex", "ki67"]]
    schema_path.write_text(yaml.safe_dump(doc, sort_keys=False))
    cohort = simulate_cohort(300, seed=8).data
    # albumin lower in sicker patients, so the model has something to find
    cohort["albumin"] = (42 - 0.2 * cohort["pci"].astype(float)).round(1)
    cohort["cea"] = 2.0  # a marker this centre recorded as one value for everyone
    data = tmp_path / "centre_x.csv"
    cohort.to_csv(data, index=False)
    reg = tmp_path / "models"
    res = run(
        "fit", "--data", data, "--schema", schema_path, "--out", reg, "--models", "coxnet",
        "--bootstrap", "2", "--cox-designs", "splines+interactions", "--quiet", "--promote",
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "cea: every patient with a known value has 2; its effect cannot be learned" in (
        res.stderr
    )
    b = Registry(reg).load()
    assert b.schema.name == "centre_x" and "albumin" in b.schema.feature_names
    columns = list(b.models["coxnet"][:-1].get_feature_names_out())
    assert "albumin" in columns and "cc=2*age:s0" in columns and "sex=M*ki67:s0" in columns
    X = pd.DataFrame([{**{f: None for f in b.schema.feature_names}, "albumin": 35.0}])
    assert b.survival(X).shape == (1, len(b.grid))
    html = (reg / b.version_id / "report.html").read_text()
    assert (
        "in an interaction (Ki-67 index × Peritoneal cancer index (PCI), Completeness of "
        "cytoreduction (CC) × Age at surgery, Sex × Ki-67 index) a factor's ratio holds "
        "at the reference patient's value of its partner"
    ) in html
    age = b.manifest.reference_patient["age"]
    assert "The reference patient (the training data's median or most common values): " in html
    assert f"Age at surgery {age:g} years; Sex " in html

    engine, cox = Engine(b), CoxnetFamily(b)
    ref = b.reference_patient()
    rows = pd.concat([ref] * 4, ignore_index=True)
    cc = 3 if ref["cc"].iloc[0] != 3 else 0
    rows.loc[:, "cc"], rows.loc[:, "age"] = [cc, ref["cc"].iloc[0], cc, 2], [75.0, 75.0, 40.0, 80]
    rows.loc[:, "sex"] = ["M", "F", "M", "F"]
    contrib = cox.contributions(rows)
    expected = cox.pipeline.predict(rows) - cox.pipeline.predict(ref)[0]
    assert np.allclose([sum(c["log_hr"] for c in r) for r in contrib], expected, atol=1e-10)
    assert {"cc x age", "sex x ki67"} <= {c["feature"] for c in contrib[0]}
    # a factor's whole effect is on its own row where its partner is at the reference value
    # (patient 1 differs from the reference in age alone, Ki-67 is the reference's for all);
    # the pair's row is the excess of the two together
    each = [{c["feature"]: c["log_hr"] for c in r} for r in contrib]
    assert abs(each[1]["cc x age"]) < 1e-12 and each[1]["age"] == pytest.approx(expected[1])
    assert all(abs(e["sex x ki67"]) < 1e-12 for e in each)
    alone = rows.iloc[[0]].assign(age=ref["age"].iloc[0], sex=ref["sex"].iloc[0])
    cc_alone = cox.pipeline.predict(alone)[0] - cox.pipeline.predict(ref)[0]
    assert each[0]["cc"] == pytest.approx(cc_alone, abs=1e-10)
    assert each[0]["cc x age"] == pytest.approx(
        expected[0] - cc_alone - each[1]["age"] - each[0]["sex"], abs=1e-10
    )
    # the pair's row names both of its values, the patient's and the reference's
    table = contribution_table(contrib[2], b.schema).set_index("Factor")
    pair = table.loc["Completeness of cytoreduction (CC) × Age at surgery"]
    cc_word = b.schema.feature("cc").label_for(cc)
    assert pair["Patient"] == f"{cc_word} × 40 years"
    assert pair["Reference"].endswith(f" × {ref['age'].iloc[0]:g} years")
    p = engine.predict(rows.iloc[:1].assign(cc=None), contributions=True)[0]
    assert p.unknown == ["cc"] and np.all(np.diff(p.survival) <= 1e-12)
    assert next(c for c in p.contributions if c["feature"] == "cc x age")["unknown"]
    # the constant marker has no effect, and a patient's other value of it is said so, not
    # as an extrapolation
    other = ref.assign(cea=50.0)
    assert np.array_equal(engine.predict(other)[0].survival, engine.predict(ref)[0].survival)
    (msgs,) = engine.warnings(other)
    assert msgs == [
        "CEA before surgery 50: every training patient had 2, so the model cannot tell this "
        "input's effect and gives it none"
    ]


def test_report_states_that_calibration_is_out_of_bag(small_bundle):
    html = (small_bundle / "report.html").read_text()
    assert "Out-of-bag predicted survival" in html and "out-of-bag predicted risk" in html


def test_feature_with_no_known_values_is_refused_clearly(tmp_path):
    df = simulate_cohort(80, seed=5).data
    df["ki67"] = None
    path = tmp_path / "noki.csv"
    df.to_csv(path, index=False)
    res = run("fit", "--data", path, "--out", tmp_path / "m", "--quiet", "--bootstrap", "1")
    assert res.exit_code == 1 and "no known values for ki67" in res.stderr
    assert "Traceback" not in res.output


def test_no_bootstrap_is_refused_before_anything_is_fitted(tmp_path):
    # the band and the corrected figures come from the refits: a bundle without any could
    # not be served, so the option is refused by name with its range and nothing is written
    path = tmp_path / "c.csv"
    simulate_cohort(80, seed=5).data.to_csv(path, index=False)
    for verb in ("fit", "default"):
        res = run(verb, "--data", path, "--out", tmp_path / "m", "--quiet", "--bootstrap", "0")
        assert res.exit_code == 2 and "--bootstrap" in res.output, res.output
        assert "greater than or equal to 1" in res.output and "Traceback" not in res.output
    assert not (tmp_path / "m").exists()


def test_constant_features_and_a_single_operative_outcome_still_fit(tmp_path):
    df = simulate_cohort(120, seed=6).data
    df["pathology"], df["sex"], df["sae"] = "epithelioid", "F", 0
    path = tmp_path / "const.csv"
    df.to_csv(path, index=False)
    res = run(
        "fit",
        "--data",
        path,
        "--out",
        tmp_path / "m",
        "--models",
        "coxnet",
        "--quiet",
        "--bootstrap",
        "2",
        "--promote",
    )
    assert res.exit_code == 0, res.output
    # the levels no patient has are named, with what the model does with them
    assert "pathology: no patient has biphasic, sarcomatoid" in res.stderr
    assert "scores a patient with it as unknown" in res.stderr
    b = Registry(tmp_path / "m").load()
    assert set(b.artifacts["operative_outcomes"]) == {"cc"}  # SAE never occurred: no chance model
    out = tmp_path / "p.csv"
    patients = df.drop(columns=["os_months", "death"]).head(5).assign(pathology="biphasic")
    patients.to_csv(tmp_path / "new.csv", index=False)
    res = run("predict", "--bundle", b.path, "--data", tmp_path / "new.csv", "--out", out)
    assert res.exit_code == 0, res.output
    p = pd.read_csv(out, keep_default_na=False)
    assert p["warnings"].str.contains("did not occur in the training data").all()


def test_a_bundle_folder_never_registered_is_listed_and_can_be_registered(tmp_path, small_bundle):
    """A fit stopped between writing its folder and registering it leaves a complete folder:
    it is kept, `models list` says so, and `models register` records it (not active)."""
    import shutil

    reg = tmp_path / "models"
    promoted_copy(small_bundle, reg)
    loose = reg / "loose-bundle"
    shutil.copytree(small_bundle, loose)
    m = json.loads((loose / "manifest.json").read_text())
    m["version_id"] = loose.name
    (loose / "manifest.json").write_text(json.dumps(m))
    (reg / "not-a-bundle").mkdir()  # other folders are not mentioned
    listing = run("models", "list", "--out", reg).stdout
    assert "loose-bundle is a bundle folder that was never registered" in listing
    assert "not-a-bundle" not in listing
    res = run("models", "register", "loose-bundle", "--out", reg)
    assert res.exit_code == 0 and "not active" in res.stdout
    assert Registry(reg).active_id == small_bundle.name
    listing = run("models", "list", "--out", reg).stdout
    assert "never registered" not in listing and "  loose-bundle" in listing
    bad = run("models", "register", "not-a-bundle", "--out", reg)
    assert bad.exit_code == 1


def test_a_pre_specified_cox_design_is_kept_by_fit_recalibration_and_refit(tmp_path):
    """`fit --cox-designs` restricts the search (names in any order), the report says so,
    a recalibrated bundle keeps the record, and `update --method refit` of that bundle
    repeats the original search, restriction included."""
    dev, new, reg = tmp_path / "dev.csv", tmp_path / "new.csv", tmp_path / "models"
    simulate_cohort(150, seed=41).data.to_csv(dev, index=False)
    simulate_cohort(150, seed=42).data.to_csv(new, index=False)
    res = run(
        "fit", "--data", dev, "--out", reg, "--models", "coxnet", "--bootstrap", "2",
        "--cox-designs", "splines, main", "--quiet",
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    said = next(line for line in res.output.splitlines() if line.startswith("Cox design: "))
    served = said.removeprefix("Cox design: ").split(";")[0]
    assert served in ("main", "splines") and f"{served} 0." in said and "(served)" in said
    assert said.count(" 0.") == 2  # the two designs compared, each with its score
    versions = []
    for method in ("fit", "recalibrate", "refit"):
        if method != "fit":
            res = run(
                "update", "--bundle", reg / versions[-1], "--data", new, "--method", method,
                "--out", reg, "--bootstrap", "1", "--quiet",
            )  # fmt: skip
            assert res.exit_code == 0, res.output
        versions.append(next(v for v in Registry(reg).ids() if v not in versions))
    for vid in versions:
        cv = json.loads((reg / vid / "report.json").read_text())["cross_validation"]
        tuned = cv["models"]["coxnet"]
        assert tuned["designs_allowed"] == ["main", "splines"]
        assert sorted(d["terms"] for d in tuned["designs"]) == ["main", "splines"]
        assert tuned["params"]["terms"] in ("main", "splines")
        html = (reg / vid / "report.html").read_text()
        assert "pre-specified; tuning chose among main, splines only" in html
        # both designs in words, each with its score, the served one marked
        table = html[html.index("<h3>Cox designs compared</h3>") :]
        table = table[: table.index("</table>")]
        for d in tuned["designs"]:
            row = f"<td>{d['terms']}</td>"
            assert row in table and f"{d['cv_ibs']:.4f}" in table, d["terms"]
        assert "every input as a straight line" in table
        assert "bends of the inputs the schema declares non-linear: Ki-67 index, " in table
        served = f"<td>{tuned['params']['terms']}</td>"
        assert table.count("<td>served</td>") == 1
        assert "<td>served</td>" in table[table.index(served) :].split("</tr>")[0]


def test_fit_refuses_a_cox_design_the_schema_cannot_tell_apart(tmp_path, small_cohort):
    res = run("fit", "--data", small_cohort[0], "--cox-designs", "main,cubic", "--out", tmp_path)
    assert res.exit_code == 2 and "cubic" in res.stderr
    assert "main, splines, splines+interactions, all-splines+interactions" in res.stderr
    # without Ki-67 the schema declares no interaction: that design is the spline one
    schema = write_centre_schema(tmp_path, keep=("age", "pci", "cc_score", "kps"))
    res = run(
        "fit", "--data", small_cohort[0], "--schema", schema, "--cox-designs",
        "splines+interactions", "--out", tmp_path / "m",
    )  # fmt: skip
    assert res.exit_code == 2
    assert "splines+interactions is the same model as a simpler design" in res.stderr
    assert not (tmp_path / "m").exists()
    res = run("fit", "--data", small_cohort[0], "--models", "rsf", "--cox-designs", "main")
    assert res.exit_code == 2 and "coxnet" in res.stderr


def test_fit_on_a_cohort_without_a_schema_column_says_how_to_leave_it_out(
    cohort_110_path, tmp_path
):
    """A centre that never records CEA: the refusal names the column and says how to train
    without it, and following that advice (the column deleted under features and
    translations of a copy of the schema) trains."""
    from model.schema import default_schema_path

    data = tmp_path / "nocea.csv"
    pd.read_csv(cohort_110_path).drop(columns=["cea"]).to_csv(data, index=False)
    res = run("fit", "--data", data, "--out", tmp_path / "m", "--models", "coxnet", "--quiet")
    assert res.exit_code == 1
    assert "column 'cea': required feature column is missing" in res.stderr
    assert f"copy {default_schema_path()}, delete it under features" in res.stderr
    lines = default_schema_path().read_text(encoding="utf-8").split("\n")
    start = lines.index("  - name: cea")
    end = next(i for i in range(start + 1, len(lines)) if lines[i].startswith("  - name:"))
    named = lines.index("      cea:", end)
    kept = lines[:start] + lines[end:named] + lines[named + 3 :]
    schema = tmp_path / "nocea.yaml"
    schema.write_text("\n".join(kept), encoding="utf-8")
    res = run(
        "fit", "--data", data, "--schema", schema, "--out", tmp_path / "m",
        "--models", "coxnet", "--bootstrap", "2", "--quiet",
    )  # fmt: skip
    assert res.exit_code == 0, res.output
