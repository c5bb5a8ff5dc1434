"""The malformed-file corpus (tests/data/bad): each file gets a clear error or a documented
reading, through the validator and through the real command line, never a crash."""

from pathlib import Path

import pytest
from typer.testing import CliRunner

from model.validation import validate_dataset
from training.cli import app

BAD = Path(__file__).resolve().parents[1] / "data" / "bad"
runner = CliRunner()

# file -> (accepted?, error codes that must be reported, warning codes that must be reported)
EXPECTED = {
    "01_empty.csv": (False, {"empty"}, set()),
    "02_header_only.csv": (False, {"no_rows"}, set()),
    "03_semicolon.csv": (False, {"delimiter"}, set()),
    "04_tab.csv": (False, {"delimiter"}, set()),
    "05_bom.csv": (True, set(), set()),  # a UTF-8 byte-order mark is accepted
    "06_latin1.csv": (False, {"encoding"}, set()),
    "07_excel_trailing_empty_columns.csv": (True, set(), {"empty_column"}),
    "08_quoted_number_with_comma.csv": (False, {"not_numeric"}, set()),
    "09_missing_tokens.csv": (True, set(), set()),  # NaN, None, unknown, N/A mean unknown
    "10_inf.csv": (False, {"out_of_range"}, set()),
    "11_negative_time.csv": (False, {"nonpositive_time"}, set()),
    "12_zero_time.csv": (False, {"nonpositive_time"}, set()),
    "13_events_yes_no.csv": (False, {"not_numeric"}, set()),
    "14_duplicate_ids.csv": (False, {"duplicate_id"}, set()),
    "15_columns_reordered.csv": (True, set(), set()),
    "16_extra_columns.csv": (True, set(), {"unknown_column"}),
    "17_formula_like_id.csv": (True, set(), set()),  # an id is text; outputs neutralise it
    "18_missing_outcome_columns.csv": (False, {"missing_column"}, set()),
    "19_missing_event.csv": (False, {"missing_outcome"}, set()),
    "20_unknown_categories.csv": (False, {"not_allowed"}, set()),
    "21_out_of_range.csv": (False, {"out_of_range"}, set()),
    "22_off_step_and_fractional.csv": (False, {"off_step", "not_whole"}, set()),
    "23_bad_binary.csv": (False, {"not_numeric", "not_allowed"}, set()),
    "24_decimal_comma.csv": (False, {"not_numeric"}, set()),
    "25_crlf_line_endings.csv": (True, set(), set()),
    "26_blank_lines.csv": (True, set(), set()),  # blank lines are skipped
    "27_uppercase_headers.csv": (False, {"missing_column"}, {"unknown_column"}),
    "28_cc_with_prefix.csv": (False, {"not_numeric"}, set()),
    "29_duplicate_column.csv": (False, {"duplicate_column"}, set()),
    "30_empty_id.csv": (False, {"missing_id"}, set()),
    "31_not_a_csv.csv": (False, {"encoding"}, set()),
    "32_spaces_around_values.csv": (True, set(), set()),  # surrounding spaces are ignored
}


def test_corpus_is_complete():
    assert {p.name for p in BAD.glob("*.csv")} == set(EXPECTED)
    assert len(EXPECTED) >= 30


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_file_gets_its_reading(name, schema):
    accepted, errors, warnings = EXPECTED[name]
    report = validate_dataset(BAD / name, schema, mode="train")
    assert report.ok == accepted, [str(p) for p in report.errors]
    assert errors <= {p.code for p in report.errors}
    assert warnings <= {p.code for p in report.warnings}
    for p in report.problems:  # every message says where and what is allowed
        assert p.message and (p.row is None or p.line == p.row + 1)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_the_command_line_never_crashes(name):
    res = runner.invoke(app, ["describe", "--data", str(BAD / name)])
    assert res.exit_code in (0, 1), res.output
    assert res.exception is None or isinstance(res.exception, SystemExit)
    assert "Traceback" not in res.output


def test_messages_name_the_row_column_and_allowed_values(schema):
    report = validate_dataset(BAD / "22_off_step_and_fractional.csv", schema)
    text = [str(p) for p in report.errors]
    assert (
        "row 2 (line 3), column 'kps': 75 is not a multiple of 10: must be a whole number from 0 to 100% in steps of 10"
        in text
    )
    report = validate_dataset(BAD / "29_duplicate_column.csv", schema)
    assert [str(p) for p in report.errors] == ["column 'pci': the column appears more than once"]


def test_one_hundred_thousand_rows(tmp_path, schema):
    from training.simulate import simulate_cohort, write_cohort

    write_cohort(simulate_cohort(100_000, seed=1), tmp_path / "big.csv")
    report = validate_dataset(tmp_path / "big.csv", schema)
    assert report.ok and len(report.data) == 100_000
