"""`python -m training predict`: the batch-scoring contract."""

import numpy as np
import pandas as pd
from typer.testing import CliRunner

from model.bundle import load_bundle
from model.export import safe_csv
from model.families import CoxnetFamily
from model.prognosis import PREDICT_COLUMNS
from model.validation import validate_dataset
from training.cli import app

runner = CliRunner()


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_columns_values_and_missing_inputs(small_bundle, small_cohort, schema, tmp_path):
    out = tmp_path / "preds.csv"
    res = run("predict", "--bundle", small_bundle, "--data", small_cohort[0], "--out", out)
    assert res.exit_code == 0, res.output
    p = pd.read_csv(out, dtype={"patient_id": str}, keep_default_na=False, na_values=[""])
    assert list(p.columns) == PREDICT_COLUMNS
    # the median to the tenth of a month it is estimated to, not "33.5000"
    written = pd.read_csv(out, dtype=str, keep_default_na=False)["median_os_months"]
    assert written.str.fullmatch(r"\d+\.\d|").all() and (written != "").any()
    data = validate_dataset(small_cohort[0], schema).data
    assert len(p) == len(data) and (p["patient_id"] == data["patient_id"]).all()
    assert data[schema.feature_names].isna().any(axis=1).any()  # unknown inputs were scored
    for t in (12, 36):
        assert (p[f"surv_{t}_lower"] <= p[f"surv_{t}"] + 1e-4).all()
        assert (p[f"surv_{t}"] <= p[f"surv_{t}_upper"] + 1e-4).all()
    assert (p["surv_12"] >= p["surv_36"] - 1e-4).all()
    # written with 4 decimals: compare where rounding of S(36) moves its log by < 0.005
    ok = p["surv_36"] > 0.05
    assert np.allclose(p.loc[ok, "risk_score"], -np.log(p.loc[ok, "surv_36"]), atol=5e-3)
    # same numbers as the engine, to the written precision
    b = load_bundle(small_bundle)
    first = CoxnetFamily(b).predict(data[schema.feature_names].iloc[[0]])[0]
    assert abs(p.loc[0, "surv_36"] - first.at(36)[0]) < 1e-4


def test_out_of_range_inputs_are_flagged(small_bundle, small_cohort, schema, tmp_path):
    data = pd.read_csv(small_cohort[0], dtype=str, keep_default_na=False)
    b = load_bundle(small_bundle)
    top_age = b.manifest.training_ranges["age"]["max"]
    data.loc[0, "age"] = "99"
    assert 99 > top_age
    path = tmp_path / "in.csv"
    data.to_csv(path, index=False)
    out = tmp_path / "o.csv"
    assert run("predict", "--bundle", small_bundle, "--data", path, "--out", out).exit_code == 0
    p = pd.read_csv(out, keep_default_na=False)
    assert "Age at surgery 99 is outside the training data" in p.loc[0, "warnings"]
    # the summary counts warnings about patients, not the notes that explain an empty cell
    # (this bundle's follow-up ends before 60 months)
    res = run("predict", "--bundle", small_bundle, "--data", path, "--out", out)
    p = pd.read_csv(out, keep_default_na=False, na_values=[""])
    notes = (
        r"(; )?(overall survival at 60 months is beyond the training follow-up"
        r"|median overall survival not reached within [0-9.]+ months)"
    )
    about_patient = p["warnings"].fillna("").str.replace(notes, "", regex=True) != ""
    assert 1 <= about_patient.sum() < p["warnings"].notna().sum()
    unreached = int(p["median_os_months"].isna().sum())
    said = f"({about_patient.sum()} with warnings; median not reached within the follow-up for "
    # and the landmark blank for everyone is named, its note being in every row
    assert p["surv_60"].isna().all()
    blank = "; blank for every patient, beyond the training follow-up: 60 months)"
    assert said + f"{unreached}{blank}" in res.output


def test_forest_predictions_say_they_are_a_comparison_without_interval(
    small_bundle, small_cohort, tmp_path
):
    out = tmp_path / "o.csv"
    res = run(
        "predict", "--bundle", small_bundle, "--data", small_cohort[0], "--out", out,
        "--model", "rsf",
    )  # fmt: skip
    assert res.exit_code == 0
    assert "comparison only" in res.stderr and "clinical models: coxnet" in res.stderr
    p = pd.read_csv(out, keep_default_na=False, na_values=[""])
    assert p["surv_36_lower"].isna().all()
    assert p["warnings"].str.contains("no uncertainty interval").all()
    assert p["warnings"].str.contains("comparison only, not for clinical use").all()


def test_an_unknown_model_is_refused_naming_the_bundles(small_bundle, small_cohort, tmp_path):
    res = run(
        "predict", "--bundle", small_bundle, "--data", small_cohort[0], "--out",
        tmp_path / "o.csv", "--model", "gbm",
    )  # fmt: skip
    assert res.exit_code == 1 and "coxnet, rsf" in res.stderr


def test_bad_rows_are_listed_and_nothing_is_written(small_bundle, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("patient_id,pci,cc\nA,50,1\n")
    out = tmp_path / "o.csv"
    res = run("predict", "--bundle", small_bundle, "--data", path, "--out", out)
    assert res.exit_code == 1 and "row 1 (line 2), column 'pci'" in res.stderr
    assert "required feature column is missing" in res.stderr and not out.exists()


def test_formula_like_cells_are_neutralised():
    df = pd.DataFrame(
        {"patient_id": ['=HYPERLINK("http://x")', "+1", "P1"], "risk_score": [-0.5, 1.0, 2.0]}
    )
    text = safe_csv(df)
    assert "'=HYPERLINK" in text and "'+1" in text and "\nP1," in text and "-0.5000" in text


def test_patient_reports_refuse_the_comparison_forest_naming_the_clinical_models(
    small_bundle, small_cohort, tmp_path
):
    res = run(
        "report", "--bundle", small_bundle, "--data", small_cohort[0], "--out", tmp_path / "r",
        "--model", "rsf",
    )  # fmt: skip
    assert res.exit_code == 1 and "choose from: coxnet" in res.stderr
    assert not (tmp_path / "r").exists()


def test_the_validation_report_shows_the_forest_as_a_comparison_with_out_of_bag_figures(
    small_bundle,
):
    import json

    rep = json.loads((small_bundle / "report.json").read_text())
    assert rep["clinical_models"] == ["coxnet"] and rep["default_model"] == "coxnet"
    assert rep["headline"] == {"coxnet": "corrected", "rsf": "out_of_bag"}
    html = (small_bundle / "report.html").read_text()
    assert "comparison only, not for clinical use" in html


def test_an_out_that_is_a_folder_or_the_input_itself_is_refused(
    small_bundle, small_cohort, tmp_path
):
    res = run("predict", "--bundle", small_bundle, "--data", small_cohort[0], "--out", tmp_path)
    assert res.exit_code == 1 and "is a folder; give the file to write" in res.output
    path = tmp_path / "patients.csv"
    path.write_bytes(small_cohort[0].read_bytes())
    res = run("predict", "--bundle", small_bundle, "--data", path, "--out", path)
    assert res.exit_code == 1 and "would replace it" in res.output
    assert path.read_bytes() == small_cohort[0].read_bytes()  # the patients are still there


def test_the_id_column_keeps_the_schemas_name(schema):
    from dataclasses import replace

    from model.prognosis import predict_columns

    assert predict_columns(schema) == PREDICT_COLUMNS
    assert predict_columns(replace(schema, id_column="record"))[0] == "record"


def test_outcome_columns_left_empty_are_read_as_no_outcomes(small_bundle, small_cohort, tmp_path):
    """A template's time and event columns with nothing in them yet: predictions, and a
    warning that names the columns; one filled in for some patients only is still an error."""
    data = pd.read_csv(small_cohort[0], dtype=str, keep_default_na=False).head(5)
    data["os_months"], data["death"] = "", ""
    path, out = tmp_path / "template.csv", tmp_path / "preds.csv"
    data.to_csv(path, index=False)
    res = run("predict", "--bundle", small_bundle, "--data", path, "--out", out)
    assert res.exit_code == 0, res.output
    assert len(pd.read_csv(out)) == 5
    for column in ("os_months", "death"):
        assert f"{column}" in res.output and "read as a file without outcomes" in res.output
    data.loc[3, ["os_months", "death"]] = ["12.5", "1"]
    schema = load_bundle(small_bundle).schema
    report = validate_dataset(data, schema, mode="predict")
    assert {p.message for p in report.errors} == {"the outcome may not be missing"}
