"""`describe` against an independent Kaplan-Meier implementation (lifelines)."""

import io
import json

import numpy as np
import pytest
from lifelines import KaplanMeierFitter
from lifelines.utils import median_survival_times
from typer.testing import CliRunner

from model.validation import validate_dataset
from training.cli import app
from training.describe import describe_cohort

runner = CliRunner()


@pytest.fixture(scope="module")
def shipped(schema, cohort_110_path):
    df = validate_dataset(cohort_110_path, schema).raise_if_errors()
    return df, describe_cohort(df, schema)


def test_agrees_with_lifelines(shipped):
    df, d = shipped
    t, e = df["os_months"].to_numpy(), df["death"].to_numpy()
    km = KaplanMeierFitter().fit(t, e)  # exponential Greenwood (log-log) intervals, as ours
    assert d["n"] == len(df) and d["deaths"] == int(e.sum())
    assert d["km_median_months"] == pytest.approx(km.median_survival_time_)
    lo, hi = median_survival_times(km.confidence_interval_).to_numpy().ravel()
    assert d["km_median_ci"] == pytest.approx([lo, hi])
    for months in (12, 36, 60):
        assert d[f"surv_{months}"] == pytest.approx(km.predict(months), abs=1e-9)
        ci = km.confidence_interval_
        row = ci[ci.index <= months].iloc[-1]
        # both libraries use the log-log transform; they differ only in floating-point order
        assert d[f"surv_{months}_ci"] == pytest.approx(list(row.to_numpy()), abs=1e-6)
    reverse = KaplanMeierFitter().fit(t, 1 - e)
    assert d["median_followup_months"] == pytest.approx(reverse.median_survival_time_)


def test_table_one_counts(shipped, schema):
    df, d = shipped
    by_name = {f["name"]: f for f in d["features"]}
    assert set(by_name) == set(schema.feature_names)
    for name, f in by_name.items():
        assert f["missing"] == int(df[name].isna().sum())
    path = {lv["value"]: lv["count"] for lv in by_name["pathology"]["levels"]}
    assert path == df["pathology"].value_counts().to_dict() | {
        k: 0 for k in schema.feature("pathology").categories if k not in path
    }
    assert by_name["pci"]["median"] == df["pci"].median()


def test_landmarks_beyond_follow_up_are_not_estimated(schema):
    df = validate_dataset(io.StringIO("os_months,death\n5,1\n10,0\n20,0\n"), schema, "outcome").data
    d = describe_cohort(df, schema)
    assert d["surv_60"] is None and d["surv_60_ci"] == [None, None]
    assert d["surv_12"] == pytest.approx(2 / 3)  # one death among three at risk at 5 months
    # where the last patient followed died, the curve has reached 0 and stays there
    df = validate_dataset(io.StringIO("os_months,death\n5,1\n10,0\n20,1\n"), schema, "outcome").data
    assert describe_cohort(df, schema)["surv_60"] == 0.0


def test_cli_json_has_the_contract_keys(cohort_110_path):
    res = runner.invoke(app, ["describe", "--data", str(cohort_110_path), "--json"])
    assert res.exit_code == 0, res.output
    d = json.loads(res.stdout)
    for key in ("n", "deaths", "km_median_months", "km_median_ci", "surv_12", "surv_36", "surv_60"):
        assert key in d
    assert d["n"] == 110 and len(d["source"]["sha256"]) == 64


def test_cli_text_is_a_clinical_summary(cohort_110_path):
    res = runner.invoke(app, ["describe", "--data", str(cohort_110_path)])
    assert res.exit_code == 0, res.output
    for text in (
        "Patients",
        "Median follow-up (reverse KM)",
        "Median overall survival (KM)",
        "Overall survival at 36 months",
        "Table 1",
        "Peritoneal cancer index",
        "Missing",
    ):
        assert text in res.stdout


def test_cli_needs_only_the_outcome(tmp_path):
    path = tmp_path / "o.csv"
    path.write_text("os_months,death\n" + "\n".join(f"{m},{m % 2}" for m in range(1, 40)) + "\n")
    res = runner.invoke(app, ["describe", "--data", str(path), "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["features"] == []


def test_cli_lists_every_error_and_exits_non_zero(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("patient_id,os_months,death,pci\nA,0,1,50\nA,5,x,3\n")
    res = runner.invoke(app, ["describe", "--data", str(path)])
    assert res.exit_code == 1
    err = res.stderr
    assert "row 1 (line 2), column 'os_months'" in err
    assert "row 1 (line 2), column 'pci'" in err
    assert "row 2 (line 3), column 'death'" in err
    assert "'A' is also used in row 2" in err
    assert "Traceback" not in res.output


def test_cli_missing_file(tmp_path):
    res = runner.invoke(app, ["describe", "--data", str(tmp_path / "none.csv")])
    assert res.exit_code == 1 and "not found" in res.stderr


def test_median_not_reached_is_reported(schema):
    df = validate_dataset(
        io.StringIO("os_months,death\n5,1\n10,0\n20,0\n30,0\n"), schema, "outcome"
    ).data
    d = describe_cohort(df, schema)
    assert d["km_median_months"] is None
    assert np.isclose(d["surv_12"], 0.75)


def test_a_long_endpoint_keeps_the_values_in_one_column(shipped, schema):
    from dataclasses import replace

    from training.describe import format_description

    _, d = shipped
    words = replace(schema.words, endpoint="recurrence-free survival after the second operation")
    head = format_description(d, replace(schema, words=words)).splitlines()[2:9]
    assert head[3].startswith("Median recurrence-free survival after the second operation (KM) ")
    # each landmark's row names the endpoint: a recurrence-free survival is not survival
    label = "Recurrence-free survival after the second operation at 12 months"
    assert head[4].startswith(label + " ")
    # every value starts one space after the longest label
    assert all(line[len(label)] == " " and line[len(label) + 1] != " " for line in head), head


def test_a_feature_with_one_known_value_is_named(shipped, schema, capsys):
    from training.cli import _warn_constant
    from training.describe import constant_features

    df, _ = shipped
    assert constant_features(df, schema) == {}
    one = df.copy()
    one["sex"] = "F"
    one.loc[:4, "sex"] = None  # unknown values do not count as a second value
    assert constant_features(one, schema) == {"sex": "F"}
    _warn_constant(one, schema)
    assert "warning: sex: every patient with a known value has 'F'" in capsys.readouterr().err
    # numbers as written, with their level's words: not np.float64(1.0)
    one["lymph_nodes"], one["age"] = 1.0, 61.0
    _warn_constant(one, schema)
    err = capsys.readouterr().err
    assert "lymph_nodes: every patient with a known value has 1 (yes);" in err
    assert "age: every patient with a known value has 61;" in err


def test_a_level_few_patients_have_is_named(shipped, schema, capsys):
    """An ordinal or categorical level is its own column of the Cox design: one held by a
    handful of patients gets a hazard ratio that rests on them alone."""
    from training.cli import _warn_rare_levels

    df, _ = shipped
    _warn_rare_levels(df, schema)
    assert capsys.readouterr().err == ""  # the shipped cohort: every level well held
    few = df.copy()
    few["pathology"] = few["pathology"].replace("sarcomatoid", "epithelioid")
    few.loc[:2, "pathology"] = "sarcomatoid"
    few.loc[few["cc"] == 3, "cc"] = 2
    few.loc[:0, "cc"] = 3
    _warn_rare_levels(few, schema)
    err = capsys.readouterr().err
    assert "warning: pathology: fewer than 10 patients have sarcomatoid (3);" in err
    assert "warning: cc: fewer than 10 patients have CC3" in err and "(1);" in err


def test_a_feature_column_missing_from_the_file_is_named(cohort_110_path, tmp_path):
    """fit and predict refuse a file without a feature column; describe summarises what is
    there and says which features its Table 1 leaves out."""
    import pandas as pd

    data = pd.read_csv(cohort_110_path).drop(columns=["ki67", "pci"])
    data.to_csv(tmp_path / "short.csv", index=False)
    res = runner.invoke(app, ["describe", "--data", str(tmp_path / "short.csv")])
    assert res.exit_code == 0, res.output
    assert "2 of the schema's" in res.stderr and "Table 1 leaves them out" in res.stderr
    assert "ki67 (Ki-67 index)" in res.stderr and "pci (Peritoneal cancer index" in res.stderr
    assert "Ki-67 index" not in res.stdout


def test_times_in_another_unit_are_named_when_every_landmark_lies_beyond_them(
    cohort_110_path, tmp_path
):
    """Months written as years: fit refuses them; describe summarises them and says why its
    landmarks are all 'n/a'."""
    import pandas as pd

    data = pd.read_csv(cohort_110_path)
    data["os_months"] = (data["os_months"] / 12).round(3)
    data.to_csv(tmp_path / "years.csv", index=False)
    res = runner.invoke(app, ["describe", "--data", str(tmp_path / "years.csv")])
    assert res.exit_code == 0, res.output
    assert "every landmark (12 months, 36 months, 60 months) lies beyond the longest" in res.stderr
    assert "check that os_months is in months, the schema's unit" in res.stderr
    fine = runner.invoke(app, ["describe", "--data", str(cohort_110_path)])
    assert "every landmark" not in fine.stderr
