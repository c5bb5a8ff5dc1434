"""Property-based fuzzing of dataset and patient validation.

Whatever arrives (any text or bytes as a CSV file, any DataFrame, any dict from the page),
validation returns a ValidationReport and never raises; every error names its column and,
for a feature value, what is allowed; and whatever it accepts really is within the schema.
"""

from __future__ import annotations

import io
import math
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import assume, example, given
from hypothesis import strategies as st

from model.schema import default_schema
from model.validation import ValidationReport, validate_dataset, validate_patient

from ..conftest import GOOD_ROW
from .strategies import (
    frame_value,
    fuzz_settings,
    hostile_text,
    hostile_value,
    near_feature_values,
    valid_patients,
)

SCHEMA = default_schema()  # hypothesis cannot use function-scoped fixtures; the schema is fixed
FEATURES = {f.name: f for f in SCHEMA.features}
VALUE_CODES = {"not_numeric", "out_of_range", "not_whole", "off_step", "not_allowed"}
KNOWN = [SCHEMA.id_column, *SCHEMA.feature_names, *SCHEMA.outcome_names]


# --------------------------------------------------------------------------- invariants
def check_accepted_features(data: pd.DataFrame) -> None:
    """Every accepted feature value is unknown (NaN) or within the schema."""
    for name, f in FEATURES.items():
        if name not in data:  # mode "outcome": features are optional
            continue
        col = data[name]
        known = col[col.notna()]
        if f.kind == "categorical":
            assert set(known) <= set(f.categories), (name, set(known))
            continue
        vals = known.to_numpy(dtype=float)
        assert np.isfinite(vals).all(), (name, vals)
        if f.min is not None:
            assert (vals >= f.min).all(), (name, vals)
        if f.max is not None:
            assert (vals <= f.max).all(), (name, vals)
        if f.kind == "integer":
            assert (vals % 1 == 0).all(), (name, vals)
        if f.allowed_values is not None:
            assert set(vals.tolist()) <= {float(v) for v in f.allowed_values}, (name, vals)


def check_report(report, n_rows: int | None = None, columns=()) -> None:
    assert isinstance(report, ValidationReport)
    assert report.ok == (report.data is not None)
    for p in report.problems:
        assert isinstance(p.message, str) and p.message.strip()
        str(p)  # printable
        assert p.code != "invalid", f"a structural failure reached the user: {p}"
        assert p.column is None or isinstance(p.column, str), p
        if p.row is not None and n_rows is not None:
            assert 1 <= p.row <= n_rows, p
        if p.severity == "error" and p.code in VALUE_CODES and p.column in FEATURES:
            # the field's name and what is allowed, in the message the user reads
            assert FEATURES[p.column].describe_allowed() in p.message, p
        if p.severity == "error" and p.column is not None and columns:
            assert p.column in set(columns) | set(KNOWN), p
    if report.ok:
        data = report.data
        check_accepted_features(data)
        if SCHEMA.time.name in data:
            t = data[SCHEMA.time.name].to_numpy(dtype=float)
            assert np.isfinite(t).all() and (t > 0).all() and (t <= SCHEMA.time.max).all()
        if SCHEMA.event.name in data:
            assert set(data[SCHEMA.event.name].tolist()) <= {0, 1}
        if SCHEMA.id_column in data:
            ids = data[SCHEMA.id_column]
            assert ids.notna().all() and not ids.duplicated().any()


# ----------------------------------------------------------------------- single patient
patient_dicts = st.dictionaries(
    keys=st.one_of(st.sampled_from(SCHEMA.feature_names), hostile_text, st.integers()),
    values=hostile_value,
    max_size=20,
)


@fuzz_settings(80)
@given(values=patient_dicts)
@example(values={"age": 10**400})  # regression: OverflowError building the row
@example(values={1: 2, None: 3})  # regression: non-text keys
@example(values={"kps": 1e308})  # regression: a 309-digit number in the message
def test_validate_patient_never_raises_and_explains(values):
    report = validate_patient(values, SCHEMA)
    check_report(report)
    for p in report.errors:  # a patient's errors are about its fields
        assert p.column in FEATURES, p
    if report.ok:
        assert len(report.data) == 1 and list(report.data.columns) == SCHEMA.feature_names


@fuzz_settings(80)
@given(
    values=st.fixed_dictionaries(
        {}, optional={name: near_feature_values(f) for name, f in FEATURES.items()}
    )
)
def test_validate_patient_near_the_boundaries(values):
    report = validate_patient(values, SCHEMA)
    check_report(report)
    if report.ok:
        row = report.data.iloc[0]
        for name, v in values.items():
            # a plain number that was accepted is kept exactly; unknown stays unknown
            if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v):
                assert float(row[name]) == float(v), (name, v, row[name])
            if v is None or (isinstance(v, float) and math.isnan(v)):
                assert pd.isna(row[name])


@fuzz_settings(40)
@given(values=valid_patients(SCHEMA))
def test_every_valid_patient_is_accepted(values):
    report = validate_patient(values, SCHEMA)
    assert report.ok, [str(p) for p in report.errors]
    assert not report.problems
    row = report.data.iloc[0]
    for name, v in values.items():
        if v is None:
            assert pd.isna(row[name])
        elif FEATURES[name].kind == "categorical":
            assert row[name] == v
        else:
            assert float(row[name]) == float(v)


# ------------------------------------------------------------------------- whole files
def _validate_text(text: str | bytes, mode: str):
    src = io.BytesIO(text) if isinstance(text, bytes) else io.StringIO(text)
    return validate_dataset(src, SCHEMA, mode=mode)


modes = st.sampled_from(["train", "predict", "outcome"])


@fuzz_settings(80)
@given(text=st.text(max_size=400), mode=modes)
@example(text="patient_id,age\n1,2,3,4\n", mode="train")  # regression: extra values per row
@example(text="a,b\n1,2,3\n4,5\n", mode="outcome")  # regression: first row one value too many
def test_any_text_as_a_csv(text, mode):
    check_report(_validate_text(text, mode))


@fuzz_settings(60)
@given(data=st.binary(max_size=400), mode=modes)
def test_any_bytes_as_a_csv(data, mode):
    check_report(_validate_text(data, mode))


cell = st.one_of(
    hostile_text,
    st.sampled_from(["", "1", "0", "61", "F", "epithelioid", "40.5", "NA", "1e308", "inf"]),
)
header_name = st.one_of(st.sampled_from(KNOWN), hostile_text)


@st.composite
def csv_documents(draw):
    """CSV text with schema-like headers, ragged rows, quoting and odd line endings."""
    names = draw(st.lists(header_name, min_size=1, max_size=20))
    n_rows = draw(st.integers(0, 6))
    ragged = draw(st.booleans())
    rows = []
    for _ in range(n_rows):
        width = draw(st.integers(0, len(names) + 3)) if ragged else len(names)
        rows.append(draw(st.lists(cell, min_size=width, max_size=width)))
    quote = draw(st.booleans())
    eol = draw(st.sampled_from(["\n", "\r\n", "\r"]))

    def fmt(v: str) -> str:
        if quote or any(c in v for c in ',"\r\n'):
            return '"' + v.replace('"', '""') + '"'
        return v

    lines = [",".join(fmt(v) for v in r) for r in [names, *rows]]
    text = eol.join(lines) + draw(st.sampled_from(["", eol]))
    if draw(st.booleans()):
        text = "\ufeff" + text
    return text, len(rows)


@fuzz_settings(100)
@given(doc=csv_documents(), mode=modes, as_bytes=st.booleans())
def test_schema_like_csv_documents(doc, mode, as_bytes):
    text, _ = doc
    check_report(_validate_text(text.encode("utf-8") if as_bytes else text, mode))


@fuzz_settings(15)
@given(doc=csv_documents(), mode=modes)
def test_schema_like_csv_files_on_disk(doc, mode):
    text, _ = doc
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "upload.csv"
        path.write_text(text, encoding="utf-8", newline="")
        check_report(validate_dataset(path, SCHEMA, mode=mode))


def test_a_folder_or_unreadable_path_is_a_problem_not_a_crash(tmp_path):
    # regression: a folder given as the data file raised IsADirectoryError
    for source in (tmp_path, tmp_path / ("x" * 5000), "bad\x00name.csv"):
        report = validate_dataset(source, SCHEMA)
        assert not report.ok and report.errors[0].code in ("unreadable", "not_found")


def test_a_file_that_is_not_a_csv_is_named_in_plain_words(tmp_path):
    # a schema (YAML) given as the data: pandas' own words were "Error tokenizing data. C
    # error: Expected 1 fields in line 3, saw 2"
    path = tmp_path / "schema.csv"
    path.write_text("# my schema\nname: x\ntime: {name: t, unit: days}\n")
    (problem,) = validate_dataset(path, SCHEMA).errors
    assert problem.code == "unreadable"
    assert "line 3 has 2 values where the header (line 1) has 1 column name;" in problem.message


def test_a_spreadsheets_own_formats_are_named_as_such(tmp_path):
    """';' between values with decimal commas (a European spreadsheet's CSV) reads as a
    header of one column and rows of several: said as the separator, not as a row too long;
    an Excel workbook renamed .csv is said to be one, not a file in another encoding."""
    import zipfile

    euro = tmp_path / "euro.csv"
    header = ";".join(GOOD_ROW)
    row = ";".join(v.replace(".", ",") for v in GOOD_ROW.values())
    euro.write_text(f"{header}\n{row}\n{row}\n")
    (problem,) = validate_dataset(euro, SCHEMA).errors
    assert problem.code == "delimiter"
    assert "the file seems to use ';' between values" in problem.message
    book = tmp_path / "patients.csv"
    with zipfile.ZipFile(book, "w") as z:  # an .xlsx is a zip archive
        z.writestr("xl/workbook.xml", "<workbook/>" * 50)
    (problem,) = validate_dataset(book, SCHEMA).errors
    assert "is an Excel workbook, not CSV text: save it from Excel as 'CSV UTF-8'" in (
        problem.message
    )


def test_a_row_with_too_few_values_is_refused_not_read_as_unknowns(tmp_path):
    # pandas fills a short row's missing values as empty cells: a cut line was scored as a
    # patient with unknown inputs; a blank line and a trailing empty value are no problem
    good = pd.read_csv(Path(__file__).parents[2] / "data" / "synthetic" / "dmpm_110.csv", dtype=str)
    good = good.head(4)
    lines = good.to_csv(index=False).splitlines()
    path = tmp_path / "short.csv"
    path.write_text("\n".join([lines[0], "", lines[1], lines[2].rsplit(",", 3)[0], *lines[3:]]))
    (problem,) = validate_dataset(path, SCHEMA, mode="predict").errors
    assert problem.code == "too_few_values"
    want = len(good.columns)
    assert f"line 4 has {want - 3} values where the header (line 1) has {want}" in problem.message
    path.write_text("\n".join([lines[0], "", *lines[1:]]) + "\n")
    assert validate_dataset(path, SCHEMA, mode="predict").ok


def test_a_file_in_another_encoding_is_named_by_its_line_and_byte(tmp_path):
    """pandas decodes in chunks and says where in a chunk it stopped; the message gives
    the file line and the byte, for a path and for an upload alike, in the reader's
    language."""
    import io

    from model.i18n import use

    good = pd.read_csv(Path(__file__).parents[2] / "data" / "synthetic" / "dmpm_110.csv", dtype=str)
    text = good.head(60).to_csv(index=False).splitlines()
    text[45] = text[45].replace(text[45].split(",")[0], "Zoé", 1)
    data = ("\n".join(text) + "\n").encode("latin-1")
    path = tmp_path / "latin1.csv"
    path.write_bytes(data)
    for source in (path, io.BytesIO(data)):
        (problem,) = validate_dataset(source, SCHEMA, mode="predict").errors
        assert problem.code == "encoding"
        assert "line 46 holds the byte 0xE9, which is not UTF-8" in problem.message
        assert "save it from your spreadsheet as 'CSV UTF-8'" in problem.message
    # an old Mac file ends its lines in CR alone; a file opened as text is read again as bytes
    mac = data.replace(b"\n", b"\r")
    (problem,) = validate_dataset(io.BytesIO(mac), SCHEMA, mode="predict").errors
    assert "line 46 holds the byte 0xE9" in problem.message
    with open(path, encoding="utf-8") as text_handle:
        (problem,) = validate_dataset(text_handle, SCHEMA, mode="predict").errors
    assert problem.code == "encoding"
    with use("zh-CN"):
        (problem,) = validate_dataset(io.BytesIO(data), SCHEMA, mode="predict").errors
    assert (
        "第 46 行含字节 0xE9，不是 UTF-8" in problem.message
        and "另存为“CSV UTF-8”" in problem.message
    )


# ---------------------------------------------------------------------------- DataFrames
@st.composite
def hostile_frames(draw):
    """A few good rows, then hostile cells, dropped, renamed and repeated columns."""
    n = draw(st.integers(1, 4))
    df = pd.DataFrame([dict(GOOD_ROW, patient_id=f"A{i}") for i in range(n)]).astype(object)
    for _ in range(draw(st.integers(0, 8))):
        col = draw(st.sampled_from(list(df.columns)))
        i = draw(st.integers(0, n - 1))
        df.iat[i, list(df.columns).index(col)] = draw(frame_value)
    cols = list(df.columns)
    for c in draw(st.lists(st.sampled_from(cols), max_size=3, unique=True)):
        df = df.drop(columns=c)
    if draw(st.booleans()) and df.shape[1]:
        df = pd.concat([df, df.iloc[:, [draw(st.integers(0, df.shape[1] - 1))]]], axis=1)
    if draw(st.booleans()) and df.shape[1]:
        new = list(df.columns)
        new[draw(st.integers(0, len(new) - 1))] = draw(
            st.one_of(
                hostile_text,
                st.integers(),
                st.none(),
                st.just(float("nan")),
                st.tuples(st.text(max_size=3)),
            )
        )
        df.columns = new
    if draw(st.booleans()):  # a column of typed (not text) values
        name = draw(st.sampled_from([c for c in KNOWN if c in df.columns] or [None]))
        if name is not None and not isinstance(df[name], pd.DataFrame):
            df[name] = draw(
                st.sampled_from(
                    [
                        pd.array([1] * n, dtype="Int64"),
                        np.full(n, np.inf),
                        np.full(n, 1e308),
                        np.full(n, True),
                        pd.Categorical(["1"] * n),
                        pd.to_datetime(["2020-01-01"] * n),
                        np.full(n, np.nan),
                    ]
                )
            )
    if draw(st.booleans()):
        df.index = draw(st.sampled_from([[5] * n, [f"r{i}" for i in range(n)], list(range(n))]))
    return df


@fuzz_settings(50)
@given(df=hostile_frames(), mode=modes)
@example(df=pd.DataFrame({1: ["x"], None: ["y"]}), mode="train")  # regression: non-text names
@example(
    df=pd.DataFrame([["x"]], columns=pd.MultiIndex.from_tuples([("a", "b")])), mode="train"
)  # regression: MultiIndex columns
def test_hostile_dataframes(df, mode):
    before = df.copy()
    report = validate_dataset(df, SCHEMA, mode=mode)
    check_report(report, n_rows=len(df), columns=[str(c) for c in df.columns])
    assert df.columns.equals(before.columns)  # the caller's table is left as it was
    # the same table written as CSV and read back gets a verdict too
    assume(all(isinstance(c, str) for c in df.columns))
    # CRLF line ends: Python's csv writer then quotes a cell holding a bare carriage return,
    # which a reader (ours, and the csv module) otherwise takes as the end of a record
    text = df.to_csv(index=False, lineterminator="\r\n")
    check_report(_validate_text(text, mode), n_rows=len(df))
