"""Validation of datasets and single patients against a feature schema.

Every problem is collected and reported at once, with the row and column it
concerns, and nothing is silently coerced: a value is either read exactly as
written or reported. Checks on parsed values (ranges, categories, steps,
uniqueness, missing outcomes) are expressed as a pandera schema built from the
feature schema; reading text into numbers is done here so that text that is not
a number is reported as such rather than turned into a missing value.

Missing feature values are allowed. A cell counts as missing when it is empty or
holds one of :data:`MISSING_TOKENS` (compared without case or surrounding
spaces). The outcome (survival time and event) may never be missing.

Rows are numbered from 1 for the first data row; for a file, the problem also
gives the file line (the header is line 1).
"""

from __future__ import annotations

import csv
import decimal
import difflib
import io
import os
import warnings
from collections.abc import Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal

import numpy as np
import pandas as pd

with warnings.catch_warnings():
    # pandera's import emits a FutureWarning about its top-level pandas API.
    warnings.simplefilter("ignore", FutureWarning)
    import pandera.pandas as pa
    from pandera.errors import SchemaErrors

from model.schema import Feature, Schema

__all__ = [
    "MISSING_TOKENS",
    "DataValidationError",
    "Problem",
    "ValidationReport",
    "read_table",
    "validate_dataset",
    "validate_patient",
]

MISSING_TOKENS = frozenset({"", "na", "n/a", "nan", "none", "null", "unknown", "missing", "."})

Mode = Literal["train", "predict", "outcome"]
_MAX_LISTED = 200  # problems listed in an exception message; the report keeps them all
_MAX_OTHER_ROWS = 5  # other rows named in a duplicate-id message


@dataclass(frozen=True)
class Problem:
    """One problem found in the data.

    ``row`` is the 1-based data row (None for whole-file or whole-column
    problems); ``line`` the file line when the data came from a file.
    """

    code: str
    message: str
    column: str | None = None
    row: int | None = None
    value: str | None = None
    severity: Literal["error", "warning"] = "error"
    line: int | None = None

    def __str__(self) -> str:
        where = []
        if self.row is not None:
            where.append(f"row {self.row}" + (f" (line {self.line})" if self.line else ""))
        if self.column is not None:
            where.append(f"column '{self.column}'")
        prefix = ", ".join(where)
        return f"{prefix}: {self.message}" if prefix else self.message


class DataValidationError(ValueError):
    """Raised when data has errors; ``problems`` lists all of them."""

    def __init__(self, problems: list[Problem], what: str = "data"):
        self.problems = problems
        errors = [p for p in problems if p.severity == "error"]
        lines = [f"{what} has {len(errors)} problem{'s' * (len(errors) != 1)}:"]
        lines += [f"  - {p}" for p in errors[:_MAX_LISTED]]
        if len(errors) > _MAX_LISTED:
            lines.append(f"  ... and {len(errors) - _MAX_LISTED} more")
        super().__init__("\n".join(lines))


@dataclass
class ValidationReport:
    """The outcome of a validation: every problem, and the parsed data if usable."""

    problems: list[Problem] = field(default_factory=list)
    data: pd.DataFrame | None = None

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def raise_if_errors(self, what: str = "data") -> pd.DataFrame:
        """Return the parsed data, or raise :class:`DataValidationError`."""
        if not self.ok:
            raise DataValidationError(self.problems, what)
        return self.data


# --------------------------------------------------------------------- reading
def read_table(source: str | os.PathLike | IO | pd.DataFrame) -> tuple[pd.DataFrame, list[Problem]]:
    """Read a CSV file (or take a DataFrame) as text cells, without interpreting them.

    Returns the raw table and any whole-file problems (empty file, bad encoding,
    no data rows). A UTF-8 byte-order mark is accepted.
    """
    if isinstance(source, pd.DataFrame):
        if source.shape[1] == 0:
            return source, [Problem("empty", "the table has no columns")]
        if len(source) == 0:
            return source, [Problem("no_rows", "the table has a header but no data rows")]
        table = source.reset_index(drop=True)  # a new frame: the caller's is left as it was
        table.columns = [_column_name(c, i) for i, c in enumerate(source.columns)]
        return table, []
    name = getattr(source, "name", None) or str(source)
    try:
        if isinstance(source, str | os.PathLike) and Path(source).stat().st_size == 0:
            return pd.DataFrame(), [Problem("empty", f"the file {name} is empty")]
        raw = pd.read_csv(
            source,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            encoding="utf-8-sig",
            skip_blank_lines=True,
        )
    except FileNotFoundError:
        return pd.DataFrame(), [Problem("not_found", f"file not found: {name}")]
    except IsADirectoryError:
        return pd.DataFrame(), [Problem("unreadable", f"{name} is a folder, not a CSV file")]
    except pd.errors.EmptyDataError:
        return pd.DataFrame(), [Problem("empty", f"the file {name} is empty")]
    except UnicodeDecodeError as exc:
        return pd.DataFrame(), [
            Problem(
                "encoding",
                f"the file {name} is not UTF-8 text (byte {exc.start}); "
                "save it from your spreadsheet as 'CSV UTF-8'",
            )
        ]
    except (pd.errors.ParserError, ValueError) as exc:
        return pd.DataFrame(), [
            Problem("unreadable", f"the file {name} is not a readable CSV: {exc}")
        ]
    except OSError as exc:
        return pd.DataFrame(), [
            Problem("unreadable", f"the file {name} cannot be read: {exc.strerror or exc}")
        ]
    if not isinstance(raw.index, pd.RangeIndex):
        # pandas turns the first values of a row longer than the header into an index,
        # shifting every value one column to the right; refuse rather than misread
        extra = raw.index.nlevels
        return pd.DataFrame(), [
            Problem(
                "extra_values",
                f"the first data row has {extra} value{'s' * (extra != 1)} more than the header "
                f"has column names ({len(raw.columns)}); every row needs one value per header "
                "column (a comma at the end of a row adds an empty value)",
                row=1,
            )
        ]
    raw.columns = _header_names(source, list(raw.columns))
    if len(raw) == 0:
        return raw, [Problem("no_rows", "the file has a header but no data rows")]
    return raw, []


def _column_name(name: Any, position: int) -> str:
    """A DataFrame column name as text: a blank one (None, NaN, '') reads as pandas' own
    'Unnamed: n', as for a CSV header; a number or tuple as it prints."""
    if name is None or (isinstance(name, float) and np.isnan(name)) or str(name).strip() == "":
        return f"Unnamed: {position}"
    return str(name).strip()


def _header_names(source, parsed: list) -> list[str]:
    """Column names as written: pandas renames a repeated name ('pci' -> 'pci.1'), which would
    hide the repetition; names read from the raw header line keep it visible."""
    names = [str(c).strip() for c in parsed]
    try:
        with _reread(source) as fh:
            if fh is None:
                return names
            header = next(csv.reader(fh), [])
    except (OSError, UnicodeDecodeError, csv.Error, ValueError):
        return names
    if header:
        header[0] = header[0].lstrip("\ufeff")
    if len(header) != len(names):
        return names
    # keep pandas' "Unnamed: n" for blank names so several blank columns stay distinct
    return [h.strip() if h.strip() else n for h, n in zip(header, names, strict=True)]


# ------------------------------------------------------------------- parsing
def _text(s: pd.Series) -> pd.Series:
    """Cells as pandas text (missing as <NA>), whatever objects a DataFrame or dict holds.

    Text columns (every file) take pandas' fast path. Other objects are written with
    ``str`` one by one: pandas' own conversion fails on some of them (bytes that are not
    UTF-8, ``Decimal('sNaN')``) and would silently decode bytes as text.
    """
    if pd.api.types.infer_dtype(s, skipna=True) in ("string", "empty"):
        return s.astype("string")
    return pd.Series([_cell_text(v) for v in s], index=s.index, dtype="string")


def _cell_text(v: Any) -> str | None:
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, str):
        return v
    try:
        if isinstance(v, float | np.floating) and np.isnan(v):
            return None
        if isinstance(v, decimal.Decimal) and v.is_nan():
            return None
        if isinstance(v, np.datetime64 | np.timedelta64) and np.isnat(v):
            return None
        return str(v)
    except Exception:  # an object that cannot even print itself
        return f"<{type(v).__name__}>"


def _is_missing_text(s: pd.Series) -> pd.Series:
    text = _text(s).str.strip()
    return text.isna() | text.str.lower().isin(MISSING_TOKENS)


def _parse_numeric(s: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Return (values as float, missing mask, not-a-number mask)."""
    if pd.api.types.is_bool_dtype(s) or pd.api.types.is_complex_dtype(s):
        s = s.astype(object)  # True is not 1, and 1+2j is not 1: both are reported as text
    if pd.api.types.is_numeric_dtype(s):
        values = pd.to_numeric(s, errors="coerce").astype(float)
        missing = values.isna()
        return values, missing, pd.Series(False, index=s.index)
    missing = _is_missing_text(s)
    text = _text(s).str.strip().where(~missing)
    values = pd.to_numeric(text, errors="coerce").astype(float)
    if pd.api.types.infer_dtype(s, skipna=True) not in ("string", "empty"):
        # numbers among other objects (a patient from the page, a mixed column) are taken
        # as they are: re-reading their printed form can move them by one unit in the last
        # place, and a 400-digit integer is too large for a float, not "not a number"
        for i, v in enumerate(s):
            if isinstance(v, int | float | np.integer | np.floating) and not isinstance(
                v, bool | np.bool_
            ):
                try:
                    values.iloc[i] = np.nan if missing.iloc[i] else float(v)
                except OverflowError:
                    values.iloc[i] = np.inf if v > 0 else -np.inf
    bad = ~missing & values.isna()
    return values, missing, bad


def _suggest(value: str, choices) -> str:
    match = difflib.get_close_matches(str(value).lower(), [str(c).lower() for c in choices], n=1)
    if not match:
        return ""
    original = next(c for c in choices if str(c).lower() == match[0])
    return f"; did you mean {original!r}?"


def _whole(s: pd.Series) -> pd.Series:
    return (s % 1) == 0


def _on_step(base: float, step: float):
    def check(s: pd.Series) -> pd.Series:
        r = ((s - base) / step) % 1
        return pd.Series(np.isclose(r, 0) | np.isclose(r, 1), index=s.index)

    return check


def _checks_for(f: Feature) -> list[pa.Check]:
    """Value checks of one feature, each with the message a user reads."""
    allowed = f.describe_allowed()
    checks = []
    if f.kind in ("continuous", "integer"):
        checks.append(
            pa.Check.in_range(
                f.min,
                f.max,
                name="out_of_range",
                error=f"is outside the allowed range: must be {allowed}",
            )
        )
    if f.kind == "integer":
        checks.append(
            pa.Check(_whole, name="not_whole", error=f"is not a whole number: must be {allowed}")
        )
        if f.step and f.step != 1:
            checks.append(
                pa.Check(
                    _on_step(f.min or 0.0, f.step),
                    name="off_step",
                    error=f"is not a multiple of {f.step:g}: must be {allowed}",
                )
            )
    if f.kind in ("binary", "ordinal", "categorical"):
        checks.append(
            pa.Check.isin(
                list(f.allowed_values),
                name="not_allowed",
                error=f"is not an allowed value: must be {allowed}",
            )
        )
    return checks


def _parse_features(
    raw: pd.DataFrame, features: list[Feature], problems: list[Problem]
) -> pd.DataFrame:
    out = {}
    for f in features:
        s = raw[f.name]
        if f.kind == "categorical":
            missing = _is_missing_text(s)
            text = _text(s).str.strip()
            out[f.name] = text.where(~missing).astype(object).where(~missing, np.nan)
            continue
        values, _, bad = _parse_numeric(s)
        for i in np.flatnonzero(bad.to_numpy()):
            cell = _clip(str(s.iloc[i]))
            problems.append(
                Problem(
                    "not_numeric",
                    f"{cell!r} is not a number; must be {f.describe_allowed()}",
                    column=f.name,
                    row=i + 1,
                    value=cell,
                )
            )
        out[f.name] = values
    return pd.DataFrame(out, index=raw.index)


def _pandera_schema(schema: Schema, columns: list[str]) -> pa.DataFrameSchema:
    cols = {}
    for f in schema.features:
        if f.name in columns:
            dtype = object if f.kind == "categorical" else float
            cols[f.name] = pa.Column(dtype, checks=_checks_for(f), nullable=True, coerce=False)
    if schema.time.name in columns:
        tmax = schema.time.max
        checks = [
            pa.Check.gt(
                0,
                name="nonpositive_time",
                error="is not allowed: survival time must be greater than 0",
            )
        ]
        if tmax is not None:
            checks.append(
                pa.Check.le(
                    tmax,
                    name="out_of_range",
                    error=f"is too long: survival time must be at most {tmax:g} "
                    f"{schema.time.unit or ''}".rstrip(),
                )
            )
        cols[schema.time.name] = pa.Column(float, checks=checks, nullable=False)
    if schema.event.name in columns:
        cols[schema.event.name] = pa.Column(
            float,
            checks=[
                pa.Check.isin(
                    [0, 1],
                    name="bad_event",
                    error="is not allowed: event must be 1 (died) or 0 (alive at last follow-up)",
                )
            ],
            nullable=False,
        )
    if schema.id_column in columns:
        cols[schema.id_column] = pa.Column(object, nullable=False)
    return pa.DataFrameSchema(cols, strict=False)


def _pandera_problems(df: pd.DataFrame, ps: pa.DataFrameSchema, schema: Schema) -> list[Problem]:
    try:
        with warnings.catch_warnings():
            # pandera gathers failure cases with a pandas concat that warns about a future
            # change when some cases are missing values (e.g. an empty id next to a bad time)
            warnings.filterwarnings(
                "ignore",
                message="The behavior of DataFrame concatenation with empty or all-NA",
                category=FutureWarning,
            )
            ps.validate(df, lazy=True)
    except SchemaErrors as exc:
        fc = exc.failure_cases
    else:
        return []
    problems = []
    # pandera reports a failed check by its error text; map it back to the check's name
    names = {
        (col_name, chk.error): chk.name
        for col_name, col in ps.columns.items()
        for chk in col.checks
    }
    for rec in fc.itertuples(index=False):
        col, check, idx, value = rec.column, str(rec.check), rec.index, rec.failure_case
        row = None if idx is None or pd.isna(idx) else int(idx) + 1
        if check == "not_nullable":
            # only the id and the outcome are non-nullable: features may be unknown
            if col == schema.id_column:
                msg, code = f"{col} is empty; every row needs an identifier", "missing_id"
            else:
                msg, code = "the outcome may not be missing", "missing_outcome"
            problems.append(Problem(code, msg, column=col, row=row))
            continue
        name = names.get((col, check))
        if name is None:  # a dtype or structural failure: report pandera's own words
            problems.append(Problem("invalid", f"{check}: {value}", column=col, row=row))
            continue
        shown = _show(value)
        hint = ""
        if name == "not_allowed" and col in schema.feature_names and schema.feature(col).categories:
            hint = _suggest(shown, schema.feature(col).categories)
        problems.append(Problem(name, f"{shown} {check}{hint}", column=col, row=row, value=shown))
    return problems


_MAX_SHOWN = 40  # characters of a value quoted in a message


def _show(value: Any) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return _clip(str(value))


def _clip(text: str) -> str:
    """A value short enough to quote in a message (a 400-digit number stays readable)."""
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 3] + "..."


# ---------------------------------------------------------------- validation
def validate_dataset(
    source: str | os.PathLike | IO | pd.DataFrame,
    schema: Schema,
    mode: Mode = "train",
) -> ValidationReport:
    """Check a dataset against a schema and parse it.

    Parameters
    ----------
    source : path, file object or DataFrame
        A CSV file with a header row, or a table already in memory.
    schema : Schema
    mode : {"train", "predict", "outcome"}
        ``train``: every feature column and the outcome are required.
        ``predict``: every feature column is required; the outcome is checked if present.
        ``outcome``: only the outcome is required; features are checked if present.

    Returns
    -------
    ValidationReport
        ``data`` holds the parsed table (id column first, then features, then
        the outcome) when there are no errors. Features are float (NaN when
        missing) or, for categorical features, text.
    """
    raw, problems = read_table(source)
    if problems:
        return ValidationReport(problems)

    columns = list(raw.columns)
    fnames = schema.feature_names
    outcome = schema.outcome_names
    known = set(fnames) | set(outcome) | {schema.id_column}

    if len(columns) == 1 and any(sep in columns[0] for sep in (";", "\t", "|")):
        sep = next(s for s in (";", "\t", "|") if s in columns[0])
        problems.append(
            Problem(
                "delimiter",
                f"the header is one column that contains {sep!r}: the file seems to use {sep!r} "
                "between values; save it as comma-separated CSV",
            )
        )
        return ValidationReport(problems)

    dupes = sorted({c for c in columns if columns.count(c) > 1})
    for c in dupes:
        problems.append(Problem("duplicate_column", "the column appears more than once", column=c))

    required = []
    if mode in ("train", "predict"):
        required += fnames
    if mode in ("train", "outcome"):
        required += outcome
    for c in required:
        if c not in columns:
            hint = _suggest(c, [x for x in columns if x not in known])
            kind = "outcome" if c in outcome else "feature"
            problems.append(
                Problem("missing_column", f"required {kind} column is missing{hint}", column=c)
            )
    if mode == "predict" and (schema.time.name in columns) != (schema.event.name in columns):
        present = schema.time.name if schema.time.name in columns else schema.event.name
        absent = schema.event.name if present == schema.time.name else schema.time.name
        problems.append(
            Problem(
                "missing_column",
                f"'{present}' is present, so '{absent}' is required too",
                column=absent,
            )
        )

    for c in dict.fromkeys(columns):
        if c in known or c in dupes:
            continue
        blank = bool(_is_missing_text(raw[c]).all()) if len(raw) else True
        if c == "" or c.startswith("Unnamed:"):
            if blank:
                problems.append(
                    Problem(
                        "empty_column",
                        f"column {columns.index(c) + 1} has no header and no values; it is ignored",
                        severity="warning",
                    )
                )
                continue
            problems.append(
                Problem(
                    "unnamed_column",
                    f"column {columns.index(c) + 1} has no header but holds values; name it or "
                    "remove it",
                )
            )
            continue
        hint = _suggest(c, [k for k in known if k not in columns])
        problems.append(
            Problem(
                "unknown_column",
                f"not in schema {schema.name!r}; it is ignored{hint}",
                column=c,
                severity="warning",
            )
        )

    if dupes:
        return ValidationReport(_with_lines(problems, source, len(raw)))

    present_features = [schema.feature(c) for c in fnames if c in columns]
    parsed = _parse_features(raw, present_features, problems)
    outcome_bad = {}
    for c in outcome:
        if c in columns:
            values, _, bad = _parse_numeric(raw[c])
            for i in np.flatnonzero(bad.to_numpy()):
                cell = _clip(str(raw[c].iloc[i]))
                what = (
                    "survival time must be a number of months"
                    if c == schema.time.name
                    else "event must be 1 (died) or 0 (alive at last follow-up)"
                )
                problems.append(
                    Problem(
                        "not_numeric",
                        f"{cell!r} is not a number; {what}",
                        column=c,
                        row=i + 1,
                        value=cell,
                    )
                )
            parsed[c] = values
            outcome_bad[c] = bad
    if schema.id_column in columns:
        ids = _text(raw[schema.id_column]).str.strip()
        parsed.insert(
            0, schema.id_column, ids.where(ids != "").astype(object).where(ids != "", None)
        )
        present_ids = parsed[schema.id_column].dropna()
        dup = present_ids[present_ids.duplicated(keep=False)]
        for value, idx in dup.groupby(dup).groups.items():
            rows = [int(i) + 1 for i in idx]
            for r in rows:
                # at most a few other rows each: listing them all is quadratic in the rows
                # that share one id (100,000 rows with the same id made a 10 GB report)
                others = [x for x in rows if x != r]
                listed = ", ".join(str(x) for x in others[:_MAX_OTHER_ROWS])
                if len(others) > _MAX_OTHER_ROWS:
                    listed += f" and {len(others) - _MAX_OTHER_ROWS} more"
                problems.append(
                    Problem(
                        "duplicate_id",
                        f"{_clip(repr(value))} is also used in row {listed}",
                        column=schema.id_column,
                        row=r,
                        value=_clip(str(value)),
                    )
                )
    elif mode != "outcome":
        problems.append(
            Problem(
                "missing_id",
                f"no '{schema.id_column}' column; rows are identified by their number",
                column=schema.id_column,
                severity="warning",
            )
        )

    check_df = parsed.copy()
    for c, bad in outcome_bad.items():  # text already reported is kept out of the value checks
        check_df.loc[bad, c] = 1.0 if c == schema.time.name else 0.0
    problems += _pandera_problems(check_df, _pandera_schema(schema, list(parsed.columns)), schema)

    problems = _with_lines(problems, source, len(raw))
    report = ValidationReport(problems)
    if report.ok:
        data = parsed.copy()
        for c in outcome:
            if c in data:
                data[c] = data[c].astype(float)
        if schema.event.name in data:
            data[schema.event.name] = data[schema.event.name].astype(int)
        report.data = data
    return report


@contextmanager
def _reread(source):
    """The CSV ``source`` from its start as text (None if it is neither a path nor a
    seekable file): a path opened anew, a file object rewound, bytes decoded; the caller's
    file object stays open."""
    if isinstance(source, str | os.PathLike):
        with open(source, encoding="utf-8-sig", newline="") as fh:
            yield fh
    elif hasattr(source, "seek") and hasattr(source, "read"):
        source.seek(0)
        if isinstance(source.read(0), bytes):
            text = io.TextIOWrapper(source, encoding="utf-8-sig", newline="")
            try:
                yield text
            finally:
                text.detach()
        else:
            yield source
    else:
        yield None


def _record_lines(source, n_rows: int) -> list[int] | None:
    """The file line on which each data row starts: blank lines, which pandas skips, and
    quoted values spanning lines are counted. None when the file cannot be re-read or its
    records do not match the ``n_rows`` rows pandas read (the caller then says less)."""
    try:
        with _reread(source) as fh:
            return None if fh is None else _data_record_lines(fh, n_rows)
    except (OSError, UnicodeDecodeError, csv.Error, ValueError):
        return None


def _data_record_lines(fh, n_rows: int) -> list[int] | None:
    reader = csv.reader(fh)
    starts, start, header_seen = [], 1, False
    for record in reader:
        # pandas skips empty and whitespace-only lines, before the header too
        blank = not record or (len(record) == 1 and not record[0].strip(" \t"))
        if not blank:
            if header_seen:
                starts.append(start)
            header_seen = True
        start = reader.line_num + 1
    return starts if len(starts) == n_rows else None


def _with_lines(problems: list[Problem], source, n_rows: int) -> list[Problem]:
    if isinstance(source, pd.DataFrame):
        return problems
    lines = None
    if any(p.row is not None for p in problems):
        lines = _record_lines(source, n_rows)
    out = []
    for p in problems:
        if p.row is not None and p.line is None:
            # without a reliable mapping the message gives the row only, not a wrong line
            line = lines[p.row - 1] if lines and 0 < p.row <= len(lines) else None
            p = Problem(p.code, p.message, p.column, p.row, p.value, p.severity, line=line)
        out.append(p)
    return sorted(out, key=lambda p: (p.severity != "error", p.row or 0))


def _plain_number(f: Feature, v) -> bool:
    """A value a float column holds exactly, for a feature coded as a number (or unknown)."""
    if f.kind == "categorical":
        return False
    if v is None:
        return True
    if isinstance(v, bool | np.bool_):
        return False
    if isinstance(v, float | np.floating):
        return True
    return isinstance(v, int | np.integer) and abs(int(v)) < 2**53


def validate_patient(values: Mapping[str, Any], schema: Schema) -> ValidationReport:
    """Check one patient's feature values, with the same messages as for a dataset.

    Absent keys and ``None`` mean "unknown". Keys that are not features of the
    schema give a warning and are ignored.

    Returns
    -------
    ValidationReport
        ``data`` is a one-row DataFrame of the features when there are no errors.
    """
    problems = []
    for k in values:
        if k not in schema.feature_names:
            hint = _suggest(k, schema.feature_names)
            problems.append(
                Problem(
                    "unknown_column",
                    f"not in schema {schema.name!r}; it is ignored{hint}",
                    column=_clip(str(k)),
                    severity="warning",
                )
            )
    # object columns from the start: letting pandas infer a type first fails on values such
    # as a 400-digit integer (OverflowError) before they can be reported. A plain number
    # for a numeric feature (what the page sends) goes in as a float column instead: the
    # same reading, without the text parsing that is most of the time of a one-row check
    raw = pd.DataFrame(
        {
            f.name: pd.Series(
                [np.nan if values.get(f.name) is None else values.get(f.name)],
                dtype=float if _plain_number(f, values.get(f.name)) else object,
            )
            for f in schema.features
        }
    )
    parsed = _parse_features(raw, list(schema.features), problems)
    problems += _pandera_problems(parsed, _pandera_schema(schema, list(parsed.columns)), schema)
    problems = [Problem(p.code, p.message, p.column, None, p.value, p.severity) for p in problems]
    report = ValidationReport(problems)
    if report.ok:
        report.data = parsed
    return report
