"""Each kind of bad input gets its own message, with row and column, all at once."""

import io

import numpy as np
import pandas as pd
import pytest

from model.schema import load_schema
from model.validation import DataValidationError, validate_dataset, validate_patient

from ..conftest import GOOD_ROW, write_centre_schema


def csv_of(rows, columns=None):
    df = pd.DataFrame(rows, columns=columns or list(GOOD_ROW))
    return io.StringIO(df.to_csv(index=False))


def rows_with(n=3, **changes):
    """n good rows with distinct ids; changes maps (row index) -> {column: value}."""
    rows = [dict(GOOD_ROW, patient_id=f"A{i + 1}") for i in range(n)]
    for key, upd in changes.items():
        rows[int(key[1:])].update(upd)
    return rows


def only_error(report):
    assert len(report.errors) == 1, [str(p) for p in report.errors]
    return report.errors[0]


def test_good_data_parses_to_typed_columns(schema):
    report = validate_dataset(csv_of(rows_with(3)), schema)
    assert report.ok and not report.warnings
    df = report.data
    assert list(df.columns) == ["patient_id", *schema.feature_names, "os_months", "death"]
    assert df["ki67"].dtype == float and df["death"].dtype == int
    assert df.loc[0, "pathology"] == "epithelioid" and df.loc[0, "ca125"] == 35.2


@pytest.mark.parametrize(
    ("column", "value", "code", "text"),
    [
        ("pathology", "Epithelioid", "not_allowed", "did you mean 'epithelioid'"),
        ("sex", "X", "not_allowed", "must be one of 'F', 'M'"),
        ("sex", "mujer", "not_allowed", "must be one of 'F', 'M'"),
        ("pathology", "sarc", "not_allowed", "did you mean 'sarcomatoid'?"),
        ("sex", "f", "not_allowed", "did you mean 'F'?"),
        ("pci", "40", "out_of_range", "must be a whole number from 0 to 39"),
        ("ki67", "120", "out_of_range", "from 0 to 100"),
        ("age", "-1", "out_of_range", "from 18 to 100 years"),
        ("kps", "75", "off_step", "in steps of 10"),
        ("rbc_units", "2.5", "not_whole", "whole number"),
        ("cc", "4", "not_allowed", "one of 0, 1, 2, 3"),
        ("sae", "yes", "not_numeric", "'yes' is not a number; must be 0 (no) or 1 (yes)"),
        ("vascular_emboli", "2", "not_allowed", "0 (no) or 1 (yes)"),
        ("ki67", "12%", "not_numeric", "'12%' is not a number"),
        ("ca125", "1,234", "not_numeric", "'1,234' is not a number"),
        ("ca125", "inf", "out_of_range", "from 0 to 100000 U/mL"),
        ("os_months", "0", "nonpositive_time", "greater than 0"),
        ("os_months", "-2.5", "nonpositive_time", "greater than 0"),
        ("os_months", "ten", "not_numeric", "number of months"),
        ("os_months", "", "missing_outcome", "may not be missing"),
        ("death", "2", "bad_event", "1 (died) or 0"),
        ("death", "dead", "not_numeric", "1 (died) or 0"),
        ("death", "NA", "missing_outcome", "may not be missing"),
        ("patient_id", "", "missing_id", "needs an identifier"),
    ],
)
def test_each_bad_value_is_reported_with_row_and_column(schema, column, value, code, text):
    report = validate_dataset(csv_of(rows_with(3, r1={column: value})), schema)
    p = only_error(report)
    assert (p.code, p.column, p.row, p.line) == (code, column, 2, 3)
    assert text in p.message
    assert f"row 2 (line 3), column '{column}'" in str(p)
    assert report.data is None  # nothing usable is handed on when there are errors


def test_every_problem_is_reported_at_once(schema):
    rows = rows_with(4, r0={"pci": "41", "kps": "abc"}, r2={"death": "2"}, r3={"sex": "f"})
    rows[3]["patient_id"] = "A1"
    report = validate_dataset(csv_of(rows), schema)
    got = {(p.code, p.column, p.row) for p in report.errors}
    assert got == {
        ("out_of_range", "pci", 1),
        ("not_numeric", "kps", 1),
        ("bad_event", "death", 3),
        ("not_allowed", "sex", 4),
        ("duplicate_id", "patient_id", 1),
        ("duplicate_id", "patient_id", 4),
    }
    with pytest.raises(DataValidationError) as exc:
        report.raise_if_errors("cohort.csv")
    message = str(exc.value)
    assert "cohort.csv has 6 problems" in message
    assert "'A1' is also used in row 4" in message


def test_missing_required_and_unknown_columns(schema):
    cols = [c for c in GOOD_ROW if c not in ("ki67", "death")] + ["Ki_67", "hospital"]
    rows = [dict(GOOD_ROW, Ki_67="5", hospital="x")]
    report = validate_dataset(csv_of(rows, cols), schema)
    errors = {(p.code, p.column) for p in report.errors}
    assert errors == {("missing_column", "ki67"), ("missing_column", "death")}
    ki = next(p for p in report.errors if p.column == "ki67")
    assert "did you mean 'Ki_67'" in ki.message
    warns = {(p.code, p.column) for p in report.warnings}
    assert warns == {("unknown_column", "Ki_67"), ("unknown_column", "hospital")}


def test_a_missing_feature_column_to_score_says_it_may_be_left_empty(schema):
    """A file to score without CEA: an empty column makes it unknown for every patient
    (averaged over); for training no such advice, which the command gives (fit: a schema of
    its own; evaluate and update take the bundle's)."""
    cols = [c for c in GOOD_ROW if c != "cea"]
    for mode, way in (
        ("predict", "; leave the column empty where a value is not known"),
        ("train", ""),
    ):
        report = validate_dataset(csv_of([GOOD_ROW], cols), schema, mode=mode)
        (p,) = [p for p in report.errors if p.code == "missing_column"]
        assert p.column == "cea"
        assert p.message == "required feature column is missing" + way, p.message


def test_a_longer_or_shorter_column_name_is_suggested(schema):
    """A header that is the schema's name with more (or less) to it, too far apart for a
    spelling match, is named in both messages: the missing column's and the ignored one's."""
    cols = [c for c in GOOD_ROW if c not in ("pci", "kps")] + ["pci_total", "KPS score"]
    report = validate_dataset(
        csv_of([dict(GOOD_ROW, pci_total="12", **{"KPS score": "80"})], cols), schema
    )
    messages = {(p.code, p.column): p.message for p in report.problems}
    assert "did you mean 'pci_total'?" in messages["missing_column", "pci"]
    assert "did you mean 'KPS score'?" in messages["missing_column", "kps"]
    assert "did you mean 'pci'?" in messages["unknown_column", "pci_total"]
    assert "did you mean 'kps'?" in messages["unknown_column", "KPS score"]


def test_unknown_columns_only_warn(schema):
    rows = [dict(r, site="Beijing") for r in rows_with(2)]
    report = validate_dataset(csv_of(rows, [*GOOD_ROW, "site"]), schema)
    assert report.ok
    assert [p.code for p in report.warnings] == ["unknown_column"]
    assert "site" not in report.data.columns


def test_missing_feature_values_are_allowed_and_read_as_missing(schema):
    tokens = ["", "NA", "n/a", "NaN", "None", "null", "unknown", " Unknown "]
    rows = rows_with(len(tokens))
    for r, tok in zip(rows, tokens, strict=True):
        r.update(ki67=tok, pathology=tok)
    report = validate_dataset(csv_of(rows), schema)
    assert report.ok, [str(p) for p in report.errors]
    assert report.data["ki67"].isna().all() and report.data["pathology"].isna().all()


def test_empty_file_header_only_and_wrong_encoding(schema, tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    assert only_error(validate_dataset(empty, schema)).code == "empty"
    header = tmp_path / "header.csv"
    header.write_text(",".join(GOOD_ROW) + "\n")
    assert only_error(validate_dataset(header, schema)).code == "no_rows"
    latin = tmp_path / "latin.csv"
    latin.write_bytes(
        (",".join(GOOD_ROW) + "\n" + ",".join(GOOD_ROW.values()))
        .replace("A1", "Jos\xe9")
        .encode("latin-1")
    )
    p = only_error(validate_dataset(latin, schema))
    assert p.code == "encoding" and "UTF-8" in p.message
    missing = only_error(validate_dataset(tmp_path / "nope.csv", schema))
    assert missing.code == "not_found"


def test_semicolon_separated_file_gets_a_hint(schema, tmp_path):
    path = tmp_path / "semi.csv"
    path.write_text(";".join(GOOD_ROW) + "\n" + ";".join(GOOD_ROW.values()) + "\n")
    p = only_error(validate_dataset(path, schema))
    assert p.code == "delimiter" and "';'" in p.message


def test_byte_order_mark_is_accepted(schema, tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf" + csv_of(rows_with(2)).getvalue().encode())
    assert validate_dataset(path, schema).ok


def test_nothing_is_coerced(schema):
    # numbers read exactly; text categories must match exactly; ids stay text
    rows = rows_with(2, r0={"ca125": "0035.20", "patient_id": "007"})
    df = validate_dataset(csv_of(rows), schema).raise_if_errors()
    assert df.loc[0, "ca125"] == 35.2 and df.loc[0, "patient_id"] == "007"
    bad = validate_dataset(csv_of(rows_with(2, r0={"pathology": " EPITHELIOID"})), schema)
    assert only_error(bad).code == "not_allowed"


def test_modes_decide_what_is_required(schema):
    outcome_only = io.StringIO("os_months,death\n12.5,1\n30,0\n")
    report = validate_dataset(outcome_only, schema, mode="outcome")
    assert report.ok and list(report.data.columns) == ["os_months", "death"]
    features_only = pd.DataFrame(
        [{k: v for k, v in GOOD_ROW.items() if k not in ("os_months", "death")}]
    )
    assert validate_dataset(features_only, schema, mode="predict").ok
    assert not validate_dataset(features_only, schema, mode="train").ok
    half = features_only.assign(os_months="3")
    p = only_error(validate_dataset(half, schema, mode="predict"))
    assert p.code == "missing_column" and p.column == "death"


def test_dataframe_input_without_file_lines(schema):
    df = pd.DataFrame(rows_with(2, r1={"pci": 45}))
    p = only_error(validate_dataset(df, schema))
    assert (p.row, p.line) == (2, None) and str(p).startswith("row 2, column 'pci'")


def test_numeric_dataframe_with_nan_is_accepted(schema):
    df = validate_dataset(pd.DataFrame(rows_with(3)), schema).data
    df.loc[1, "ki67"] = np.nan
    assert validate_dataset(df, schema).ok


class TestSinglePatient:
    def test_same_messages_as_for_a_dataset(self, schema):
        single = validate_patient({"kps": 75, "pathology": "Epithelioid", "pci": "abc"}, schema)
        row = validate_dataset(
            csv_of(rows_with(1, r0={"kps": "75", "pathology": "Epithelioid", "pci": "abc"})), schema
        )
        assert [(p.code, p.column, p.message) for p in single.errors] == [
            (p.code, p.column, p.message) for p in row.errors
        ]
        assert all(p.row is None for p in single.errors)

    def test_unknown_inputs_are_allowed(self, schema):
        report = validate_patient({"pathology": "biphasic", "ki67": None}, schema)
        assert report.ok
        assert report.data.shape == (1, len(schema.features))
        assert report.data.loc[0, "pathology"] == "biphasic" and np.isnan(
            report.data.loc[0, "ki67"]
        )

    def test_unknown_keys_warn_and_booleans_are_not_numbers(self, schema):
        report = validate_patient({"Ki67": 4, "sae": True}, schema)
        assert [(p.code, p.column) for p in report.warnings] == [("unknown_column", "Ki67")]
        assert "did you mean 'ki67'" in report.warnings[0].message
        assert [(p.code, p.column) for p in report.errors] == [("not_numeric", "sae")]


def test_a_researchers_own_schema_with_other_variables(tmp_path):
    path = write_centre_schema(tmp_path, keep=("pci", "cc"))
    own = load_schema(path)
    data = io.StringIO(
        "patient_id,pci,cc,albumin,os_months,death\nX1,12,0,38.5,20,1\nX2,30,2,70,8,1\n"
    )
    report = validate_dataset(data, own)
    p = only_error(report)
    assert (p.column, p.row, p.code) == ("albumin", 2, "out_of_range")
    assert "from 10 to 60 g/L" in p.message


@pytest.mark.parametrize("as_bytes", [False, True])
def test_file_lines_count_blank_lines_and_multiline_values(schema, tmp_path, as_bytes):
    """The line is where the row starts in the file, as an editor shows it, although pandas
    skips blank lines and a quoted note can span lines; row counts data rows only."""
    text = csv_of(rows_with(4, r3={"pci": "45"})).getvalue().splitlines()
    header, r1, r2, r3, r4 = text
    body = "\n".join(
        [
            "",
            header + ",note",
            r1 + ",",
            "  ",
            r2 + ',"two-line\nnote"',
            "",
            "\t",
            r3 + ",",
            r4 + ",",
        ]
    )
    path = tmp_path / "c.csv"
    path.write_text(body + "\n")
    source = io.BytesIO((body + "\n").encode()) if as_bytes else path
    report = validate_dataset(source, schema)
    p = only_error(report)
    # lines: 1 blank, 2 header, 3 r1, 4 spaces, 5-6 r2 (two-line note), 7 blank, 8 tab, 9 r3,
    # 10 r4 (pandas skips blank and whitespace-only lines, the header's too)
    assert (p.column, p.row, p.line) == ("pci", 4, 10)
    assert "row 4 (line 10)" in str(p)
    if as_bytes:
        assert not source.closed  # the caller's upload stays usable


def test_an_event_coded_one_and_two_is_named_once_with_the_recoding(schema):
    """R's survival coding (1 censored, 2 died): one error that says to subtract 1, not one
    per row telling the user to write 1 where each 2 is (every patient an event)."""
    rows = rows_with(4, r0={"death": 2}, r1={"death": 1}, r2={"death": 2}, r3={"death": 1})
    p = only_error(validate_dataset(csv_of(rows), schema))
    assert p.code == "event_coding" and p.column == "death" and p.row is None
    assert "subtract 1" in p.message and "0 for alive at last follow-up and 1 for died" in p.message
    # a 2 among 0s and 1s is a wrong value in its row
    rows = rows_with(3, r0={"death": 2}, r1={"death": 0}, r2={"death": 1})
    p = only_error(validate_dataset(csv_of(rows), schema))
    assert p.code == "bad_event" and p.row == 1


def test_an_outcome_column_named_twice_is_refused_when_predicting(schema):
    """Found by the property tests: a file for prediction with its time column twice
    raised inside the check of empty outcome columns instead of being said."""
    row = list(GOOD_ROW.values()) + [GOOD_ROW["os_months"]]
    df = pd.DataFrame([row], columns=[*GOOD_ROW, "os_months"])
    report = validate_dataset(df, schema, mode="predict")
    assert not report.ok and any("os_months" in (p.column or "") for p in report.errors)


@pytest.mark.parametrize(
    ("typed", "read"),
    [("2,5", 2.5), (" 27.45 ", 27.45), ("0,250", 0.25), ("1234,567", 1234.567), (",5", 0.5),
     ("-3", -3.0), ("1e3", 1000.0), ("", None), ("  ", None)],
)  # fmt: skip
def test_a_typed_number_reads_a_decimal_comma_as_the_point(typed, read):
    from model.cells import typed_number

    assert typed_number(typed) == read


@pytest.mark.parametrize(
    "typed",
    ["1,250", "-12,500", "1.234,5", "1,234.5", "1,2,3", "1 250", "1_000", "nan", "inf",
     "unknown", "<5", "2.5 %"],
)  # fmt: skip
def test_a_typed_number_refuses_what_is_not_one_number_written_out(typed):
    """A comma before three digits may be a thousands separator; a missing-value word is
    the box's "unknown" tick, not a value."""
    from model.cells import typed_number

    with pytest.raises(ValueError):
        typed_number(typed)
