"""A schema in days: every verb reads, computes and writes in days, while the model inside
works in months exactly as for the default schema."""

import json
import re

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from model.bundle import load_bundle
from model.engine import Engine
from model.schema import default_schema_path, load_schema
from model.timeaxis import MONTHS_PER_UNIT, TimeAxis, default_landmarks
from model.validation import validate_dataset
from training.cli import app
from training.describe import describe_cohort

DAYS_PER_MONTH = 365.25 / 12


@pytest.fixture(scope="module")
def days(tmp_path_factory, small_cohort):
    """The small cohort with its survival in days, under a schema that says so."""
    folder = tmp_path_factory.mktemp("days")
    doc = yaml.safe_load(default_schema_path().read_text())
    doc["name"] = "dmpm_days"
    doc["time"] = {"name": "os_days", "label": "Overall survival", "unit": "days", "max": 20000}
    schema_path = folder / "days.yaml"
    schema_path.write_text(yaml.safe_dump(doc, sort_keys=False))
    data = pd.read_csv(small_cohort[0])
    data["os_days"] = data.pop("os_months") * DAYS_PER_MONTH
    data_path = folder / "cohort_days.csv"
    data.to_csv(data_path, index=False)
    return schema_path, data_path, folder


def run(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def test_default_landmarks_are_one_three_and_five_years():
    assert default_landmarks("days") == (365.0, 1096.0, 1826.0)
    assert default_landmarks("months") == (12.0, 36.0, 60.0)
    assert default_landmarks("years") == (1.0, 3.0, 5.0)
    axis = TimeAxis("days", default_landmarks("days"))
    assert axis.text(365) == "365 days" and TimeAxis("years", (1, 3)).text(1) == "1 year"
    assert axis.to_months(365.25) == pytest.approx(12.0)
    with pytest.raises(ValueError, match="not one of days, weeks, months, years"):
        TimeAxis("fortnights")


@pytest.mark.parametrize(
    "unit, end_months, step, ticks",
    [
        ("weeks", 12.0, 10.0, "0 10 20 30 40 50"),  # a year of weeks: not one tick at 0
        ("days", 12.0, 100.0, "0 100 200 300"),
        ("months", 18.0, 5.0, "0 5 10 15"),
        ("years", 18.0, 0.25, "0 0.25 0.5 0.75 1 1.25 1.5"),
        ("days", 60.0, 365.0, "0 365 730 1095 1460 1825"),  # two years or more: a year apart
        ("months", 60.0, 12.0, "0 12 24 36 48 60"),
    ],
)
def test_an_axis_has_ticks_in_its_unit_whatever_its_length(unit, end_months, step, ticks):
    axis = TimeAxis(unit=unit)
    assert axis.tick_step(end_months) == step
    values = np.arange(0, float(axis.from_months(end_months)) * (1 + 1e-9), step)
    assert " ".join(f"{v:g}" for v in values) == ticks


def test_describe_speaks_days_and_equals_the_months_result_scaled(days, small_cohort, schema):
    schema_path, data_path, _ = days
    res = run("describe", "--data", data_path, "--schema", schema_path, "--json")
    assert res.exit_code == 0, res.output
    d = json.loads(res.stdout)
    months = describe_cohort(
        validate_dataset(small_cohort[0], schema, mode="train").raise_if_errors(), schema
    )
    # Kaplan-Meier is equivariant under a change of time scale
    assert d["km_median_days"] == pytest.approx(months["km_median_months"] * DAYS_PER_MONTH)
    assert d["median_followup_days"] == pytest.approx(
        months["median_followup_months"] * DAYS_PER_MONTH
    )
    assert set(d) >= {"surv_365", "surv_1096", "surv_1826"}
    text = run("describe", "--data", data_path, "--schema", schema_path).stdout
    assert "Median overall survival (KM)" in text and " days (95 % CI" in text
    assert "Overall survival at  365 days" in text and "months" not in text
    assert re.search(r"\(longest [0-9.]+ days\)", text)  # every time says its unit


def test_fit_predict_and_evaluate_in_days(days, small_cohort):
    schema_path, data_path, folder = days
    res = run(
        "fit", "--data", data_path, "--schema", schema_path, "--out", folder / "models",
        "--models", "coxnet", "--bootstrap", "3", "--quiet",
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "warning: --bootstrap 3: the 95 % band's edges are percentiles of only 3" in res.stderr
    bundle = load_bundle(
        next(p for p in (folder / "models").iterdir() if p.name.startswith("dmpm_days"))
    )
    m = bundle.manifest
    assert m.grid_months[-1] <= 120.0 and m.risk_horizon_months == pytest.approx(
        1096 / DAYS_PER_MONTH
    )
    assert set(m.metrics["coxnet"]["apparent"]) >= {"auc_365", "auc_1096", "auc_1826"}
    report = json.loads((bundle.path / "report.json").read_text())
    assert set(report["calibration"]["coxnet"]) == {"365", "1096", "1826"}
    assert (
        "months" not in (bundle.path / "report.html").read_text().split("Calibration", 1)[1][:400]
    )

    out = folder / "preds.csv"
    res = run("predict", "--bundle", bundle.path, "--data", data_path, "--out", out)
    assert res.exit_code == 0, res.output
    preds = pd.read_csv(out)
    assert {"surv_365", "surv_1826_upper", "median_os_days"} <= set(preds.columns)
    # the median as estimated, in whole days: not "194.0000"
    written = pd.read_csv(out, dtype=str, keep_default_na=False)["median_os_days"]
    assert written.str.fullmatch(r"\d+|").all() and (written != "").any()
    # the column is the curve at 365 days; the median is in days
    engine = Engine(bundle)
    schema = load_schema(schema_path)
    X = pd.read_csv(data_path)[schema.feature_names]
    complete = X.notna().all(axis=1).to_numpy()  # no imputation draws: the same in any batch
    X = X[complete].iloc[:5]
    preds = preds[complete].iloc[:5].reset_index(drop=True)
    for i, p in enumerate(engine.predict(X)):
        # the file holds 4 decimals
        assert preds["surv_365"][i] == pytest.approx(
            p.at(365 * MONTHS_PER_UNIT["days"])[0], abs=5e-5
        )
        if p.median[0] is not None:  # in whole days: the curve's grid is half a month
            assert preds["median_os_days"][i] == pytest.approx(
                p.median[0] * DAYS_PER_MONTH, abs=0.5 + 1e-9
            )

    res = run(
        "evaluate", "--bootstrap", "0", "--bundle", bundle.path, "--data", data_path, "--json"
    )
    assert res.exit_code == 0, res.output
    r = json.loads(res.stdout)
    assert r["landmarks"] == ["365", "1096", "1826"] and "auc_365" in r["models"]["coxnet"]
    # times in the data's unit beside the months every time inside is kept in
    assert r["uno_tau_days"] == pytest.approx(r["uno_tau_months"] * DAYS_PER_MONTH)
    assert r["uno_tau_days"] == round(r["uno_tau_days"], 4)  # not 730.0000031875
    cox = r["models"]["coxnet"]
    assert cox["ibs_window_days"] == pytest.approx([w * DAYS_PER_MONTH for w in cox["ibs_window"]])
    assert (
        "AUC 365 d"
        in run("evaluate", "--bootstrap", "0", "--bundle", bundle.path, "--data", data_path).stdout
    )

    # a simulator's truth for this schema: survival at its own landmarks, in days
    ids = pd.read_csv(data_path, dtype={"patient_id": str})["patient_id"]
    truth = pd.DataFrame({"patient_id": ids, "true_risk": 1.0})
    for mark, s in (("365", 0.8), ("1096", 0.5), ("1826", 0.3)):
        truth[f"true_surv_{mark}"] = s
    truth.drop(columns="true_surv_1826").to_csv(folder / "short.csv", index=False)
    res = run("evaluate", "--bootstrap", "0", "--bundle", bundle.path, "--data", data_path, "--truth",
              folder / "short.csv")  # fmt: skip
    assert res.exit_code == 1 and "lacks columns: true_surv_1826" in res.output
    # a truth file's values are checked: a blank or impossible survival, an id twice
    bad = truth.astype({"true_surv_365": float})
    bad.loc[[1, 2], "true_surv_365"] = [1.7, np.nan]
    for frame, name, said in (
        (
            bad,
            "bad.csv",
            "true_surv_365 must be a probability from 0 to 1 in every row (line 3, 4)",
        ),
        (
            pd.concat([truth, truth.head(1)]),
            "twice.csv",
            "ids written more than once in patient_id",
        ),
    ):
        frame.to_csv(folder / name, index=False)
        res = run(
            "evaluate",
            "--bootstrap",
            "0",
            "--bundle",
            bundle.path,
            "--data",
            data_path,
            "--truth",
            folder / name,
        )
        assert res.exit_code == 1 and said in res.output, res.output
    truth.to_csv(folder / "truth.csv", index=False)
    res = run("evaluate", "--bootstrap", "0", "--bundle", bundle.path, "--data", data_path, "--truth",
              folder / "truth.csv", "--json")  # fmt: skip
    assert res.exit_code == 0, res.output
    scored = json.loads(res.stdout)["models"]["coxnet"]
    # evaluate scores the curves predict serves (4 decimals in its file), those of patients
    # with an unknown input too: the same draws of it
    complete = pd.read_csv(data_path)[schema.feature_names].notna().all(axis=1)
    assert 0 < complete.sum() < len(complete)
    served = pd.read_csv(out)
    for rows, suffix in ((complete, "_complete"), (~complete, "_unknown"), (complete | True, "")):
        s365 = served["surv_365"][rows]
        assert scored[f"mae_surv_365{suffix}"] == pytest.approx((s365 - 0.8).abs().mean(), abs=1e-4)
        inside = (served["surv_365_lower"][rows] <= 0.8) & (0.8 <= served["surv_365_upper"][rows])
        # a bound within the file's rounding of 0.8 could fall either side: one patient
        assert scored[f"band_coverage_365{suffix}"] == pytest.approx(
            inside.mean(), abs=1.01 / rows.sum()
        )
    # a truth 1.3 times as spread as the served curves on the log(-log S) scale: the slope
    # against it is 1.3 (the curves too moderate), up to predict's 4 decimals
    served_365 = served["surv_365"].clip(1e-4, 1 - 1e-4).to_numpy()
    steep = truth.assign(true_surv_365=np.exp(-np.exp(0.2 + 1.3 * np.log(-np.log(served_365)))))
    steep.to_csv(folder / "steep.csv", index=False)
    res = run("evaluate", "--bootstrap", "0", "--bundle", bundle.path, "--data", data_path, "--truth",
              folder / "steep.csv", "--json")  # fmt: skip
    slope = json.loads(res.stdout)["models"]["coxnet"]["slope_vs_truth_365"]
    assert slope == pytest.approx(1.3, abs=0.01)


def test_times_in_another_unit_than_the_landmarks_are_refused_before_fitting(days, small_cohort):
    """Months written under a schema in days: no landmark (365 days on) lies within the
    follow-up, so fit says so and names the unit instead of failing inside a library."""
    schema_path, _, folder = days
    data = pd.read_csv(small_cohort[0]).rename(columns={"os_months": "os_days"})
    path = folder / "months_as_days.csv"
    data.to_csv(path, index=False)
    res = run("fit", "--data", path, "--schema", schema_path, "--out", folder / "wrong",
              "--models", "coxnet", "--bootstrap", "3", "--quiet")  # fmt: skip
    assert res.exit_code == 1
    assert "every landmark (365 days, 1096 days, 1826 days) lies beyond" in res.output
    assert "check that os_days is in days" in res.output


def test_a_time_column_in_another_unit_is_named(days, small_cohort, schema):
    """Days written under a schema in months: a warning naming both units."""
    from dataclasses import replace

    _, data_path, folder = days
    data = pd.read_csv(data_path).rename(columns={"os_days": "os_months"})
    # survival in days (median about 900) read as months: 75 years
    path = folder / "wrong_unit.csv"
    data.to_csv(path, index=False)
    report = validate_dataset(path, schema, mode="train")
    (w,) = [p for p in report.warnings if p.code == "time_unit"]
    assert "declares months" in w.message and "it looks like days" in w.message
    assert re.search(r"is [0-9.]+ months, [0-9.]+ years, which", w.message)
    # under a schema in years the time is said once ("631.5 years, 632 years" read oddly)
    years = replace(schema, time=replace(schema.time, name="os_months", unit="years"))
    (w,) = [p for p in validate_dataset(path, years).warnings if p.code == "time_unit"]
    assert re.search(r"is [0-9.]+ years, which is implausible; it looks like days", w.message)
    assert not [
        p
        for p in validate_dataset(small_cohort[0], schema, mode="train").warnings
        if p.code == "time_unit"
    ]


def test_describe_in_years_says_one_year_and_numbers_without_exponents(small_cohort, tmp_path):
    doc = yaml.safe_load(default_schema_path().read_text())
    doc["time"] = {"name": "os_years", "label": "Overall survival", "unit": "years", "max": 100}
    schema_path = tmp_path / "years.yaml"
    schema_path.write_text(yaml.safe_dump(doc, sort_keys=False))
    data = pd.read_csv(small_cohort[0])
    data["os_years"] = data.pop("os_months") / 12
    data["ca125"] = data["ca125"] * 20  # markers in the thousands
    data.to_csv(tmp_path / "years.csv", index=False)
    text = run("describe", "--data", tmp_path / "years.csv", "--schema", schema_path).stdout
    assert re.search(r"Overall survival at +1 year ", text) and re.search(
        r"Overall survival at +3 years ", text
    )
    assert "e+0" not in text  # 1150, not 1.15e+03
    assert re.search(r"range [0-9.]+ to [0-9.]+", text)  # "to": a range may start below 0


def test_a_landmark_beyond_every_patients_follow_up_is_named(days, capsys):
    """Landmarks at 1, 3 and 5 years over data followed to 1,500 days: fit says that the bundle
    will have no 5-year estimate before it spends the fit on it."""
    from training.cli import _warn_short

    schema = load_schema(days[0])
    data = pd.DataFrame({schema.time.name: [30.0, 800.0, 1500.0]})
    _warn_short(data, schema, 50)
    said = capsys.readouterr().err
    assert "warning: 1826 days lies beyond the longest os_days in these data (1500 days)" in said
    assert "bootstrap" not in said
    # the schema names no landmarks: the warning says how to name them
    assert schema.landmarks is None and "give it 'landmarks:' within the follow-up, in days" in said
    from dataclasses import replace

    _warn_short(data, replace(schema, landmarks=(365.0, 1096.0, 1826.0)), 50)
    assert "landmarks:" not in capsys.readouterr().err  # named on purpose: no advice


def test_an_event_at_a_landmark_counts_in_survival_to_it(schema):
    """26 weeks is 5.979466119... months and the landmark is read at 5.979466 (the grid's
    rounding): a death recorded at 26 weeks is in S(26 weeks), as Kaplan-Meier in weeks has
    it, not just after it."""
    from dataclasses import replace

    from lifelines import KaplanMeierFitter

    from training.estimators import survival_target
    from training.metrics import calibration

    weeks = replace(
        schema, time=replace(schema.time, name="weeks", unit="weeks"), landmarks=(13.0, 26.0, 52.0)
    )
    axis = weeks.time_axis
    rng = np.random.default_rng(3)
    t = np.concatenate([np.full(25, 26.0), rng.uniform(1, 60, 175)])
    e = np.concatenate([np.ones(25, bool), rng.random(175) < 0.6])
    y = survival_target(pd.DataFrame({"weeks": t, "death": e.astype(int)}), weeks)
    mark = axis.marks[1]
    assert (y["time"][:25] == mark.months).all()
    km = KaplanMeierFitter().fit(t, e).predict(26.0)
    grid = np.round(np.arange(0, 15, 0.5), 6)
    flat = np.full((len(y), len(grid)), 0.8)  # any curves: the observed side is scored
    observed = calibration(y, flat, grid, mark.months)["observed"]
    # 1e-9: the same Kaplan-Meier product (with the 25 deaths left out it was 0.78 against 0.62)
    assert observed == pytest.approx(km, abs=1e-9)


def test_a_schema_that_leaves_the_unit_out_reads_months_and_says_so_when_they_look_like_days(
    days, small_cohort, schema
):
    """Without time: unit the times are months; a median of 10 years or more read so is
    named with the unit it looks like, while a plausible median passes quietly."""
    from dataclasses import replace

    _, data_path, folder = days
    undeclared = replace(schema, time=replace(schema.time, unit=None))
    data = pd.read_csv(data_path).rename(columns={"os_days": "os_months"})
    path = folder / "undeclared_days.csv"
    data.to_csv(path, index=False)
    (w,) = [p for p in validate_dataset(path, undeclared).warnings if p.code == "time_unit"]
    assert "does not declare the time unit" in w.message and "it looks like days" in w.message
    assert "unit: days, weeks, months or years" in w.message
    quiet = validate_dataset(small_cohort[0], undeclared).warnings
    assert not [p for p in quiet if p.code == "time_unit"]


def test_a_fold_followed_past_the_last_landmark_is_a_clear_error():
    """Times in days read as months can leave a fold with no time before the last landmark:
    the tuning names the fold, its earliest time and what to check, not a library's error."""
    from training.tuning import fold_ibs_times

    y = np.array([(True, t) for t in [5.0, 8.0, 20.0, 88.0, 90.0, 120.0]],
                 dtype=[("event", "?"), ("time", "<f8")])  # fmt: skip
    folds = [(np.arange(3), np.arange(3, 6)), (np.arange(3, 6), np.arange(3))]
    grid = np.arange(0.0, 121.0, 0.5)
    with pytest.raises(ValueError, match=r"in fold 1 every patient's survival time is 88 months"):
        fold_ibs_times(y, folds, grid, 60.0)
    (first,) = fold_ibs_times(y, folds[1:], grid, 60.0)
    assert first[0] >= 5.0 and first[-1] < 20.0


def test_a_blank_landmark_in_evaluate_says_why():
    """A landmark at the data's last time has no AUC or calibration (nobody is followed
    past it): the table's dash is explained under it, in the data's unit."""
    from training.evaluate import format_evaluation

    model = {"harrell_c": 0.6, "uno_c": 0.6, "auc_13": 0.61, "auc_26": 0.6, "auc_52": None,
             "ibs": 0.1, "ibs_null": 0.11, "ipa": 0.05,
             "calibration": {"13": {"slope": 1.0}, "26": {"slope": 0.9}, "52": None}}  # fmt: skip
    r = {"bundle": "b", "n": 100, "deaths": 30, "landmarks": ["13", "26", "52"],
         "time_unit": "weeks", "uno_tau_months": 11.0, "default_model": "coxnet",
         "last_time": 52.0, "models": {"coxnet": model}}  # fmt: skip
    text = format_evaluation(r, "re-arrests")
    assert "— at 52 weeks: not estimable: these data end at 52 weeks" in text
    assert "13 weeks:" not in text
    later = format_evaluation(dict(r, last_time=60.0))
    assert "— at 52 weeks: not estimable: too few patients followed past it" in later
    assert "these data end" not in format_evaluation(
        dict(
            r,
            models={
                "coxnet": dict(
                    model, auc_52=0.6, calibration={**model["calibration"], "52": {"slope": 1.1}}
                )
            },
        )
    )
