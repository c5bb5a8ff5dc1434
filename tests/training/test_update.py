"""`update`: external validation and updating of a bundle at a new centre."""

import json
import shutil
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from model.bundle import MANIFEST, load_bundle, sha256_file
from model.engine import Engine
from model.manifest import Manifest
from model.piecewise import PiecewiseCox
from model.registry import Registry
from model.validation import validate_dataset
from reporting.wording import BAND_LIMITATION
from training.cli import app
from training.evaluate import evaluate_bundle, format_evaluation
from training.simulate import SimulationSettings, simulate_cohort, write_cohort
from training.update import before_after, recalibrate_pipeline

from ..conftest import promoted_copy

runner = CliRunner()

# The new centre: a higher baseline hazard (Weibull scale 0.4 x) and weaker effects (every
# log hazard ratio 0.6 x), so the parent's predictions are too optimistic and too extreme.
BASE = SimulationSettings()
CENTRE = replace(
    BASE,
    weibull_scale_months=0.4 * BASE.weibull_scale_months,
    log_hr={k: 0.6 * v for k, v in BASE.log_hr.items()},
)


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def _hashes(folder):
    return {p.name: sha256_file(p) for p in sorted(folder.iterdir()) if p.is_file()}


@pytest.fixture(scope="module")
def centre(tmp_path_factory):
    d = tmp_path_factory.mktemp("centre")
    write_cohort(simulate_cohort(700, seed=5, settings=CENTRE), d / "new.csv")
    write_cohort(simulate_cohort(1000, seed=6, settings=CENTRE), d / "held_out.csv")
    return d


@pytest.fixture(scope="module")
def registry(tmp_path_factory, small_bundle):
    """The shared parent (Cox model and forest), copied into a registry and made active."""
    root = promoted_copy(small_bundle, tmp_path_factory.mktemp("reg") / "models")
    return root, root / small_bundle.name, _hashes(root / small_bundle.name)


@pytest.fixture(scope="module")
def recalibrated(registry, centre):
    root, parent, _ = registry
    res = run(
        "update", "--bundle", parent, "--data", centre / "new.csv", "--method", "recalibrate",
        "--out", root, "--bootstrap", "3", "--quiet",
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    new = next(v for v in Registry(root).ids() if v != parent.name)
    return res, root / new


def test_recalibration_moves_calibration_to_ideal_on_held_out_patients(
    registry, centre, recalibrated
):
    parent, updated = load_bundle(registry[1]), load_bundle(recalibrated[1])
    held = validate_dataset(centre / "held_out.csv", parent.schema).raise_if_errors()
    before = evaluate_bundle(parent, held, n_boot=0)["models"]["coxnet"]
    after = evaluate_bundle(updated, held, n_boot=0)["models"]["coxnet"]
    for h in ("36", "60"):
        b, a = before["calibration"][h], after["calibration"][h]
        assert abs(a["in_the_large"]) < abs(b["in_the_large"]) and abs(a["in_the_large"]) < 0.05
        assert abs(a["slope"] - 1) < abs(b["slope"] - 1) and abs(a["slope"] - 1) < 0.15
        assert b["slope"] < 0.85  # the parent is too extreme there
    # the same ranking of patients whose every input is known (for one with an unknown input
    # the served curve averages over draws of it, and a new slope reorders such averages)
    complete = held[held[parent.schema.feature_names].notna().all(axis=1)]
    c_before, c_after = (
        evaluate_bundle(b, complete, n_boot=0)["models"]["coxnet"] for b in (parent, updated)
    )
    assert c_after["harrell_c"] == pytest.approx(c_before["harrell_c"], abs=1e-9)
    assert after["ibs"] < before["ibs"]


def test_new_bundle_is_registered_not_active_and_names_its_parent(registry, recalibrated):
    root, parent, _ = registry
    res, path = recalibrated
    reg = Registry(root)
    assert reg.active_id == parent.name and path.name in reg.ids()
    b = reg.load(path.name)  # every check the page's loader makes
    # a recalibration tunes nothing: no design comparison of the parent's is printed as its own
    assert "report: " in res.stdout and "Cox design:" not in res.stdout
    assert b.manifest.parent == {
        "version_id": parent.name,
        "manifest_sha256": sha256_file(parent / MANIFEST),
        "method": "recalibrate",
    }
    assert list(b.models) == ["coxnet"] and b.default_model == "coxnet"
    rec = b.manifest.models["coxnet"].details["recalibration"]
    lo, hi = rec["slope_interval"]
    assert 0.3 < rec["slope"] < 0.9 and lo < hi
    # the page's runtime serves it with a band; the curve is the recalibrated pipeline's
    X = b.reference_patient()
    p = Engine(b).predict(X)[0]
    assert np.all(p.lower <= p.survival + 1e-12) and np.all(p.survival <= p.upper + 1e-12)
    assert (p.upper - p.lower)[np.searchsorted(b.grid, 36)] > 0.01
    assert np.abs(p.survival - b.survival(X)[0]).max() < 1e-9
    rep = json.loads((path / "report.json").read_text())
    assert rep["update"]["parent"] == b.manifest.parent
    assert set(rep["update"]["before"]) == {"coxnet", "rsf"} and set(rep["update"]["after"]) == {
        "coxnet"
    }
    assert rep["validation"]["coxnet"]["n_boot"] == 3 and rep["calibration"]["coxnet"]["36"]
    # its band is the parent's widened refits, recalibrated: the parent's limits carry over
    assert BAND_LIMITATION in rep["limitations"]
    html = (path / "report.html").read_text()
    assert "Update on the new data: before and after" in html
    assert "Calibration at 36 months" in html and "Not carried over: Random survival forest" in html
    # the CLI said what it did
    assert "updated by recalibrate on new.csv" in res.stdout
    assert "Calibration slope, 36 m" in res.stdout and "not active" in res.stdout


def test_parent_files_are_untouched(registry, recalibrated):
    _, parent, before = registry
    assert _hashes(parent) == before


def test_manifest_parent_round_trip_and_absent_otherwise(small_bundle, recalibrated):
    doc = json.loads((recalibrated[1] / MANIFEST).read_text())
    assert Manifest.from_dict(doc).to_dict() == doc and "parent" in doc
    plain = json.loads((small_bundle / MANIFEST).read_text())
    m = Manifest.from_dict(plain)
    assert m.parent is None and m.to_dict() == plain and "parent" not in plain


def test_recalibration_recovers_a_known_slope_and_baseline(small_bundle):
    """Outcomes drawn from H(t | x) = 0.02 t exp(1.5 lp(x)) with the parent's own lp."""
    b = load_bundle(small_bundle)
    pipe = b.models["coxnet"]
    data = simulate_cohort(1500, seed=11).data
    X = data[b.schema.feature_names]
    lp = pipe.predict(X)
    rng = np.random.default_rng(0)
    t = rng.exponential(1.0 / (0.02 * np.exp(1.5 * lp)))
    y = np.array(
        list(zip(t <= 60, np.minimum(t, 60.0), strict=True)), dtype=[("e", bool), ("t", float)]
    )
    new, slope = recalibrate_pipeline(pipe, X, y)
    assert slope == pytest.approx(1.5, abs=0.12)
    true_s24 = np.exp(-0.02 * 24 * np.exp(1.5 * lp))
    pred = new.predict_survival_function(X.iloc[:200])
    s24 = np.array([f(24.0) for f in pred])
    assert np.abs(s24 - true_s24[:200]).mean() < 0.03
    assert pipe[-1].coef_ is not new[-1].coef_ and not hasattr(pipe[-1], "calibration_slope_")


@pytest.fixture(scope="module")
def forest_only(tmp_path_factory, schema):
    from training.fit import FitOptions, fit_bundle

    d = tmp_path_factory.mktemp("forest")
    write_cohort(simulate_cohort(150, seed=21), d / "dev.csv")
    path = fit_bundle(
        d / "dev.csv", schema, d / "models",
        FitOptions(models=("rsf",), bootstrap=1, progress=False, n_jobs=1),
    )  # fmt: skip
    return path


def test_recalibrating_a_forest_is_refused_naming_refit(forest_only, centre):
    res = run(
        "update", "--bundle", forest_only, "--data", centre / "new.csv", "--method",
        "recalibrate", "--out", forest_only.parent, "--quiet",
    )  # fmt: skip
    assert res.exit_code == 1
    assert "no Cox model to recalibrate" in res.stderr and "--method refit" in res.stderr
    assert Registry(forest_only.parent).ids() == [forest_only.name]
    # a forest has no band, so its report does not speak of one
    limits = json.loads((forest_only / "report.json").read_text())["limitations"]
    assert limits and BAND_LIMITATION not in limits


def test_refit_retrains_the_parents_families_with_its_settings(forest_only, tmp_path):
    new = tmp_path / "new.csv"
    write_cohort(simulate_cohort(200, seed=9, settings=CENTRE), new)
    before = _hashes(forest_only)
    res = run(
        "update", "--bundle", forest_only, "--data", new, "--method", "refit",
        "--out", forest_only.parent, "--bootstrap", "1", "--quiet",
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "updated by refit on new.csv" in res.stdout and "sample size (Riley" in res.stdout
    reg = Registry(forest_only.parent)
    vid = next(v for v in reg.ids() if v != forest_only.name)
    b, parent = reg.load(vid), load_bundle(forest_only)
    assert reg.active_id is None and _hashes(forest_only) == before
    assert b.manifest.parent["method"] == "refit"
    assert b.manifest.parent["version_id"] == forest_only.name
    assert list(b.models) == ["rsf"] and b.schema.sha256 == parent.schema.sha256
    assert b.manifest.seed == parent.manifest.seed and b.manifest.training_data.rows == 200
    rep = json.loads((b.path / "report.json").read_text())
    assert set(rep["update"]["before"]) == set(rep["update"]["after"]) == {"rsf"}
    assert rep["sample_size"]["design_columns"] > 0
    assert "Update on the new data" in (b.path / "report.html").read_text()


def test_unknown_method_and_too_few_deaths(registry, tmp_path):
    _, parent, _ = registry
    res = run("update", "--bundle", parent, "--data", tmp_path / "x.csv", "--method", "shrink")
    assert res.exit_code == 2 and "recalibrate" in res.output
    few = simulate_cohort(40, seed=3).data.assign(death=0)
    few.loc[:4, "death"] = 1
    few.to_csv(tmp_path / "few.csv", index=False)
    res = run(
        "update", "--bundle", parent, "--data", tmp_path / "few.csv", "--method", "recalibrate",
        "--out", tmp_path / "m",
    )  # fmt: skip
    assert res.exit_code == 1 and "fewer than 10 deaths" in res.stderr
    assert not (tmp_path / "m").exists()


def test_evaluate_the_parent_is_the_before_column(registry, centre, recalibrated):
    """`update` reports the parent on the new data as `evaluate` would."""
    parent = load_bundle(registry[1])
    df = validate_dataset(centre / "new.csv", parent.schema).raise_if_errors()
    ev = evaluate_bundle(parent, df, n_boot=0)["models"]["coxnet"]
    before = json.loads((recalibrated[1] / "report.json").read_text())["update"]["before"]
    # evaluate scores the served curves; before and after score each model's pipeline, an
    # unknown input filled once, so that the two columns differ by the model alone. They part
    # only through the patients with an unknown input (here 0.0002 in C)
    assert before["coxnet"]["harrell_c"] == pytest.approx(ev["harrell_c"], abs=0.002)
    complete = df[df[parent.schema.feature_names].notna().all(axis=1)]
    ev = evaluate_bundle(parent, complete, n_boot=0)["models"]["coxnet"]
    same = before_after(parent, {}, parent.grid, complete)["before"]["coxnet"]
    assert same["harrell_c"] == pytest.approx(ev["harrell_c"], abs=1e-12)
    assert same["calibration"]["36"]["slope"] == pytest.approx(ev["calibration"]["36"]["slope"])
    assert isinstance(pd.DataFrame(before["coxnet"]["calibration"]["36"]["groups"]), pd.DataFrame)
    # and evaluate says which update the data support, by the test the update reports
    report = json.loads((recalibrated[1] / "report.json").read_text())["update"]
    full = evaluate_bundle(parent, df, n_boot=0)
    assert full["revision_test"] == report["revision_test"]
    said = format_evaluation(full, "deaths")
    assert "If the Cox model is updated here: " in said
    verb = "refit" if report["revision_test"]["p_value"] < 0.05 else "recalibrate"
    assert f"`update --method {verb}`" in said


def test_the_recalibrated_band_is_centred_on_the_recalibrated_curve(registry, centre, tmp_path):
    """Each of the parent's refits takes the slope the parent's own model gets on a resample
    of the new data. Fitted to the refit itself, the slope shrank every refit towards the
    average (a noisier predictor earns a flatter slope), and patients at either end of risk
    had their estimate on the band's edge or outside the refits altogether."""
    _, parent, _ = registry
    root = promoted_copy(parent, tmp_path / "models")
    res = run(
        "update", "--bundle", root / parent.name, "--data", centre / "new.csv",
        "--method", "recalibrate", "--out", root, "--bootstrap", "40", "--quiet",
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    b = Registry(root).load(next(v for v in Registry(root).ids() if v != parent.name))
    df = validate_dataset(centre / "held_out.csv", b.schema).raise_if_errors()
    X = df[b.schema.feature_names]
    X = X[X.notna().all(axis=1)].head(300)
    inside = []
    for p in Engine(b).predict(X):
        i = int(np.searchsorted(p.grid, 36.0, side="right") - 1)
        lo, hi = np.percentile(p.samples[:, i], [2.5, 97.5])  # before the band is drawn
        inside.append(lo <= p.survival[i] <= hi)
    # 40 refits: a centred estimate falls outside their 2.5-97.5 % range for a few patients
    # at most (each patient's refits are the same 40, so misses come in groups, not alone)
    assert np.mean(inside) >= 0.95


def test_a_recalibrated_bundle_says_where_its_hazard_ratios_come_from(registry, recalibrated):
    from reporting.card import training_text

    _, parent, _ = registry
    text = training_text(load_bundle(recalibrated[1]))
    assert text.startswith("Recalibrated (calibration slope and baseline hazard) on 700 ")
    assert f"those of bundle {parent.name}, trained on other patients" in text
    assert training_text(load_bundle(parent)).startswith("Trained on ")


def test_an_update_that_moves_a_landmarks_slope_away_from_one_is_said():
    """In a world whose hazard ratios change, one slope (0.79) over the whole follow-up can
    take the landmark slopes from 0.99 / 0.91 to 1.25 / 1.16 on the very data it was fitted
    to: the update says so, with each updated slope's standard error."""
    from training.update import slope_warnings

    marks = ("180", "365", "730")

    def doc(before, after, se=(0.08, 0.06, 0.05)):
        def cal(slopes):
            return {
                "calibration": {
                    h: {"slope": v, "slope_se": e}
                    for h, v, e in zip(marks, slopes, se, strict=True)
                }
            }

        return {
            "landmarks": list(marks),
            "time_unit": "days",
            "before": {"coxnet": cal(before)},
            "after": {"coxnet": cal(after)},
        }

    moved = ([0.986, 0.914, 0.812], [1.245, 1.155, 1.025])
    (said,) = slope_warnings(doc(*moved))
    assert (
        "further from 1 at 180 days (0.99 -> 1.25, the updated slope's standard error 0.08), "
        "365 days (0.91 -> 1.16, the updated slope's standard error 0.06), on the same new "
        "data" in said
    )
    assert "730 days" not in said and "--method refit" in said
    # no standard error (too few deaths for the information): the slopes alone
    (said,) = slope_warnings(doc(*moved, se=(None, None, None)))
    assert "180 days (0.99 -> 1.25), 365 days (0.91 -> 1.16), on" in said
    # nearer 1, or further by no more than 0.05, or no slope (beyond follow-up): nothing said
    assert slope_warnings(doc([0.8, 0.85, 1.3], [0.95, 0.9, 1.05])) == []
    assert slope_warnings(doc([1.0, 0.95, None], [1.04, 1.09, 2.0])) == []


def test_the_update_says_its_warnings_and_its_report_lists_them(
    registry, centre, tmp_path, monkeypatch
):
    """With the margin below zero every landmark's slope counts as moved away from 1: the
    recalibration warns of each, on stderr and in its report."""
    import training.update as up

    monkeypatch.setattr(up, "SLOPE_WORSE", -10.0)
    root, parent, _ = registry
    reg = tmp_path / "reg"
    shutil.copytree(root, reg)
    res = run(
        "update", "--bundle", reg / parent.name, "--data", centre / "new.csv",
        "--method", "recalibrate", "--out", reg, "--bootstrap", "3", "--quiet",
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    (made,) = set(Registry(reg).ids()) - set(Registry(root).ids())
    (said,) = json.loads((reg / made / "report.json").read_text())["update"]["warnings"]
    assert said.startswith("the update moved the Cox model's calibration slope further from 1")
    assert f"warning: {said}" in res.stderr


def test_a_refit_is_not_warned_of_one_slope(monkeypatch):
    """A refit is a new model scored on the patients it learned from: the warning about one
    slope over the whole follow-up is a recalibration's alone."""
    from types import SimpleNamespace

    import training.update as up

    doc = {"before": {}, "after": {}, "landmarks": [], "time_unit": "months", "n": 1, "deaths": 1}
    monkeypatch.setattr(up, "before_after", lambda *a: dict(doc))
    monkeypatch.setattr(up, "slope_warnings", lambda d: ["moved"])
    parent = SimpleNamespace(
        models={},
        manifest=SimpleNamespace(label=str),
        schema=SimpleNamespace(words=SimpleNamespace(events="deaths")),
    )
    ref = {"version_id": "v", "manifest_sha256": "0" * 64}
    said = {
        m: up.update_section(parent, {}, None, None, {**ref, "method": m}, "")[0]["warnings"]
        for m in ("recalibrate", "refit")
    }
    assert said == {"recalibrate": ["moved"], "refit": []}


def test_a_level_the_parent_never_saw_is_unknown_to_it_before_and_after(
    small_bundle, centre, capsys
):
    """The parent's coding gives a level no training patient had the reference's risk; in
    the update's comparison, as in use, the parent scores it as unknown, and the command
    line names the level and how many new patients have it."""
    from model.prognosis import unseen_as_unknown
    from training.cli import _warn_unseen_by_parent

    parent = load_bundle(small_bundle)
    ranges = parent.manifest.training_ranges
    ranges["pathology"] = {"levels": ["epithelioid", "biphasic"]}
    data = validate_dataset(centre / "new.csv", parent.schema).data
    n_sarc = int((data["pathology"] == "sarcomatoid").sum())
    assert n_sarc > 0
    _warn_unseen_by_parent(data, parent)
    assert f"pathology: sarcomatoid ({n_sarc}) did not occur" in capsys.readouterr().err
    blank = unseen_as_unknown(ranges, parent.schema, data)
    assert blank["pathology"].isna().sum() == data["pathology"].isna().sum() + n_sarc
    grid = parent.grid
    as_unknown = before_after(parent, {}, grid, blank)["before"]
    assert before_after(parent, {}, grid, data)["before"] == as_unknown


def test_a_refit_worse_than_its_parent_is_warned_of():
    """The refit's score on the patients it learned from, corrected for optimism, against
    the parent's on the same patients: worse by more than IBS_WORSE is said."""
    from training.update import IBS_WORSE, refit_warnings

    doc = {"n": 110, "before": {"coxnet": {"ibs": 0.150}}, "after": {"coxnet": {"ibs": 0.120}}}
    labels = {"coxnet": "Penalised Cox (Coxnet)"}
    worse = {"coxnet": {"optimism": {"ibs": -0.030 - IBS_WORSE - 0.001}}}
    (said,) = refit_warnings(doc, worse, labels)
    assert said.startswith("the refitted Penalised Cox (Coxnet) is expected to predict worse")
    assert "0.156 after optimism correction against the parent's 0.150 on the same 110" in said
    within = {"coxnet": {"optimism": {"ibs": -0.030 - IBS_WORSE + 0.001}}}
    assert refit_warnings(doc, within, labels) == []
    assert refit_warnings(doc, {"coxnet": {"optimism": {"ibs": None}}}, labels) == []


def test_refitting_a_parent_on_a_few_of_its_own_kind_of_patients_warns(registry, tmp_path):
    """A centre of 100 patients of the parent's own world: the refit learns from a quarter
    of the parent's patients and predicts worse; the update says so (and the refit is
    still written, not promoted)."""
    root, parent, _ = registry
    new = tmp_path / "few.csv"
    write_cohort(simulate_cohort(100, seed=77), new)
    res = run(
        "update", "--bundle", parent, "--data", new, "--method", "refit",
        "--out", tmp_path / "reg", "--bootstrap", "3", "--quiet",
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    # measured on this draw: the forest, 0.155 against the parent's 0.143
    assert "warning: the refitted Random survival forest is expected to predict worse" in (
        res.stderr
    )
    (new_bundle,) = (tmp_path / "reg").glob("dmpm-*")
    assert "Keep the parent" in (new_bundle / "report.html").read_text()


def test_the_update_tests_whether_the_parents_proportions_hold(registry, recalibrated):
    """The report carries the score test of revision against recalibration over the
    parent's Cox design (every coefficient in every piece but the slope's direction), per
    schema factor, and warns exactly where it rejects."""
    from training.revision import ALPHA

    root, parent, _ = registry
    res, new = recalibrated
    report = json.loads((new / "report.json").read_text())["update"]
    test = report["revision_test"]
    top = test["by_factor"][0]
    assert f"The factor most different from the parent here: {top['label']} (p = " in res.output
    step = load_bundle(parent).models["coxnet"][-1]
    coefs = step.coefs_ if isinstance(step, PiecewiseCox) else step.coef_[:, -1]
    assert 1 <= test["df"] <= coefs.size - 1
    assert 0.0 <= test["p_value"] <= 1.0
    names = {f.name for f in load_bundle(parent).schema.features}
    assert {n for r in test["by_factor"] for n in r["factor"].split(" x ")} <= names
    assert [r["p_value"] for r in test["by_factor"]] == sorted(
        r["p_value"] for r in test["by_factor"]
    )
    warned = any("in other proportions than it says" in w for w in report["warnings"])
    assert warned == (test["p_value"] < ALPHA)
    page = (new / "report.html").read_text()
    assert "Recalibrate or refit?" in page
    # the adjusted p's column says "<= 0.005" or "0.020", never "p <= ..." beside bare ones
    section = page[page.index("Recalibrate or refit?") :]
    cells = [c.split("</td>")[0] for c in section.split("<td>")[1:]]
    assert cells and not any(c.startswith("p ") or c.startswith("p&") for c in cells)
    # four refits are too few to stand in for the parent: it is taken as exact, and said so
    assert load_bundle(parent).artifacts["coxnet_ensemble"].n_boot == 4
    assert test["parent_refits"] == 0
    assert "taken as exact (it has fewer than 20 bootstrap refits" in test["p_value_is"]


def test_the_parents_refits_stand_in_for_it_in_turn_as_fitted(registry, centre, monkeypatch):
    """With enough refits (the minimum lowered to this parent's 4) each simulated draw
    recalibrates the next refit in the parent's place, as fitted (not stretched by the band's
    inflation factor), a draw whose refit cannot be recalibrated giving way to the next; a
    refit the penalty left empty is left out, and a parent left with too few is exact."""
    import training.update as up

    _, parent, _ = registry
    bundle = load_bundle(parent)
    data = validate_dataset(centre / "new.csv", bundle.schema).raise_if_errors()
    boot = bundle.artifacts["coxnet_ensemble"].boot_coef
    seen, real = [], up._slope_only

    def spy(step, Z, members, event, time, draw=0):
        seen.append((draw, members[draw % len(members)].copy()))
        if draw == 1:
            raise ValueError("no finite slope")  # as calibration_slope refuses one
        return real(step, Z, members, event, time, draw)

    monkeypatch.setattr(up, "_slope_only", spy)
    monkeypatch.setattr(up, "MIN_PARENT_REFITS", 4)
    test = up.revision_on(bundle, data, max_draws=19)
    assert test.parent_refits == len(boot) == 4 and test.draws == len(seen) - 1
    assert [d for d, _ in seen] == list(range(len(seen)))
    for d, m in seen:
        np.testing.assert_array_equal(m, boot[d % 4])
    # an empty refit is not one: three remain, under the minimum of four
    ens = bundle.artifacts["coxnet_ensemble"]
    emptied = replace(ens, boot_coef=np.concatenate([boot[:3], 0 * boot[3:]]))
    monkeypatch.setitem(bundle.artifacts, "coxnet_ensemble", emptied)
    step, columns = bundle.models["coxnet"][-1], list(ens.columns)
    assert up._parent_members(bundle, "coxnet", step, columns) is None
    monkeypatch.setattr(up, "MIN_PARENT_REFITS", 3)
    assert len(up._parent_members(bundle, "coxnet", step, columns)) == 3


def test_each_method_is_warned_where_the_test_points_to_the_other():
    """Recalibration where the proportions differ, refit where there is no evidence that
    they do; a bundle without a Cox model has no test and no warning."""
    from training.revision import ALPHA, RevisionTest
    from training.update import revision_warnings

    factor = {"factor": "ki67", "label": "Ki-67", "statistic": 9.0, "df": 1, "p_value": 0.003}
    differ = RevisionTest(30.0, 12, ALPHA / 10, [factor], p_overall=0.02)
    hold = RevisionTest(8.0, 12, 0.8, [factor | {"p_value": 0.3}], p_overall=0.7)
    (said,) = revision_warnings(differ, recalibrated=True)
    assert "other proportions than it says" in said and "Ki-67 (p = 0.003)" in said
    assert "p = 0.005 for the factor most different, adjusted for the 1 factors tested" in said
    assert "all terms together, beside the decision: chi-squared 30.0 on 12 df, p = 0.020" in said
    assert "--method refit" in said
    (said,) = revision_warnings(hold, recalibrated=False)
    assert "no evidence" in said and "--method recalibrate" in said
    assert revision_warnings(hold, recalibrated=True) == []
    assert revision_warnings(differ, recalibrated=False) == []
    assert revision_warnings(None, recalibrated=True) == []
    # at the least p that 199 simulations can give, the p is said as at most that
    floor = RevisionTest(90.0, 12, 0.005, [factor | {"p_value": 0.005}], p_overall=0.005, draws=199)
    (said,) = revision_warnings(floor, recalibrated=True)
    assert "p <= 0.005 for the factor most different" in said and "(p <= 0.005)" in said


def test_new_data_followed_short_of_a_landmark_is_warned_of():
    """A centre followed for 9 months: the updated curves end there, and every landmark's
    estimate would be blank; said, naming them, in the schema's unit."""
    from model.schema import default_schema
    from training.update import follow_up_warnings

    schema = default_schema()
    (said,) = follow_up_warnings(np.linspace(0.0, 9.0, 40), schema)
    assert said.startswith("the new data follow patients to 9 months only")
    assert "its estimates at 12 months, 36 months, 60 months are blank" in said
    assert follow_up_warnings(np.linspace(0.0, 61.0, 40), schema) == []


def test_a_slope_with_no_finite_estimate_is_refused_and_the_test_is_said_not_run(monkeypatch):
    """One linear predictor for everyone (a flat likelihood), no deaths, and deaths ordered
    exactly by the predictor (a likelihood rising without end) have no calibration slope:
    refused, naming why; where the revision test cannot run, the update says so and goes on."""
    import training.update as up

    rng = np.random.default_rng(1)
    lp = rng.normal(size=200)
    time = rng.exponential(np.exp(-lp))
    with pytest.raises(ValueError, match="no calibration slope can be estimated"):
        up.calibration_slope(np.zeros(200), np.ones(200, bool), time)
    with pytest.raises(ValueError, match="no calibration slope can be estimated"):
        up.calibration_slope(lp, np.zeros(200, bool), time)
    ordered = np.argsort(-lp).argsort() + 1.0  # the highest predictor dies first
    with pytest.raises(ValueError, match="no calibration slope can be estimated"):
        up.calibration_slope(lp, np.ones(200, bool), ordered)
    # against scikit-survival's one-parameter Cox fit where a slope exists
    from sksurv.linear_model import CoxPHSurvivalAnalysis
    from sksurv.util import Surv

    event = rng.random(200) < 0.7
    ref = CoxPHSurvivalAnalysis(ties="breslow").fit(lp[:, None], Surv.from_arrays(event, time))
    assert up.calibration_slope(lp, event, time) == pytest.approx(ref.coef_[0], abs=1e-6)

    def fails(*a, **k):
        raise ValueError("no calibration slope can be estimated on these data")

    monkeypatch.setattr(up, "revision_on", fails)
    test, why = up.revision_tried(None, None)
    assert test is None and why.startswith("the score tests of revision against")


def test_the_parents_factor_stretches_the_parents_part_of_a_refit_alone():
    """Deviations of log H(t) of equal spread from the parent's coefficients and from the
    new data's baselines: the whole deviation is stretched by sqrt((k^2 + 1) / 2); all from
    the parent's part, by k; all from the new data's, not at all."""
    from training.update import split_factor

    grid = np.linspace(1.0, 60.0, 30)
    h0 = (grid / 60.0)[None, :]  # one piece
    coef = np.array([[0.5]])
    Z = np.random.default_rng(0).choice([-1.0, 1.0], size=(400, 1))
    shift = np.array([-0.2, 0.2] * 20)  # a log-hazard deviation of 0.2 either way
    parent = (coef[None] + shift[:, None, None], np.broadcast_to(h0, (40, 1, 30)))
    new = (np.broadcast_to(coef, (40, 1, 1)), h0[None] * np.exp(shift)[:, None, None])
    still = (np.broadcast_to(coef, (40, 1, 1)), np.broadcast_to(h0, (40, 1, 30)))
    k = np.full(30, 2.0)
    both = split_factor(k, (coef, h0), parent, new, Z)
    np.testing.assert_allclose(both, np.sqrt((4.0 + 1.0) / 2.0), rtol=1e-12)
    np.testing.assert_allclose(split_factor(k, (coef, h0), parent, still, Z), 2.0, rtol=1e-12)
    np.testing.assert_allclose(split_factor(k, (coef, h0), still, new, Z), 1.0, rtol=1e-12)
