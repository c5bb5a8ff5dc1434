"""Validation of datasets and single patients against a feature schema.

Every problem is collected and reported at once, with the row and column it
concerns, and nothing is silently coerced: a value is either read exactly as
written (:mod:`model.cells`) or reported. Checks on parsed values (ranges,
categories, steps, uniqueness, missing outcomes) are expressed as a pandera schema
built from the feature schema.

Missing feature values are allowed (see :data:`MISSING_TOKENS`). The outcome
(survival time and event) may never be missing.

Rows are numbered from 1 for the first data row; for a file, the problem also
gives the file line (the header is line 1; see :mod:`model.csvfile`).
"""

from __future__ import annotations

import difflib
import os
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import IO, Any, Literal

import numpy as np
import pandas as pd

with warnings.catch_warnings():
    # pandera's import emits a FutureWarning about its top-level pandas API.
    warnings.simplefilter("ignore", FutureWarning)
    import pandera.pandas as pa
    from pandera.errors import SchemaErrors

from model.cells import (
    MISSING_TOKENS,
    as_text,
    clip,
    event_rule,
    is_missing,
    parse_features,
    parse_outcome,
    show,
)
from model.csvfile import SEPARATORS, read_table, separator_problem, with_lines
from model.errors import HipecError
from model.i18n import _
from model.problems import Problem
from model.schema import Feature, Schema
from model.timeaxis import MONTHS_PER_UNIT

__all__ = [
    "MISSING_TOKENS",
    "DataValidationError",
    "Problem",
    "ValidationReport",
    "read_table",
    "validate_dataset",
    "validate_patient",
]

Mode = Literal["train", "predict", "outcome"]
_MAX_LISTED = 200  # problems listed in an exception message; the report keeps them all
_MAX_OTHER_ROWS = 5  # other rows named in a duplicate-id message


class DataValidationError(HipecError, ValueError):
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


# ---------------------------------------------------------------- datasets
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
    if mode == "predict":
        raw, problems = _without_empty_outcome(raw, schema)
    columns = list(raw.columns)
    found = _check_delimiter(columns)
    if found:
        return ValidationReport(found)
    dupes = sorted({c for c in columns if columns.count(c) > 1})
    problems += [
        Problem("duplicate_column", _("the column appears more than once"), column=c) for c in dupes
    ]
    problems += _check_required_columns(columns, schema, mode)
    problems += _check_other_columns(raw, schema, dupes)
    if dupes:  # a repeated column cannot be read as one
        return ValidationReport(with_lines(problems, source, len(raw)))

    parsed, outcome_bad, found = _parse_columns(raw, schema)
    problems += found
    parsed = _with_ids(raw, parsed, schema)
    problems += _check_ids(parsed, schema, mode)
    problems += _event_coding(parsed, _check_values(parsed, outcome_bad, schema), schema)
    problems += _check_time_unit(parsed, schema)
    return _dataset_report(with_lines(problems, source, len(raw)), parsed, schema)


def _without_empty_outcome(raw: pd.DataFrame, schema: Schema) -> tuple[pd.DataFrame, list[Problem]]:
    """For prediction, outcome columns with no value in any row (a template's columns not
    yet filled in) are read as absent, and a warning says so; one with values is checked."""
    empty = [
        c
        for c in schema.outcome_names
        # a column named twice is refused as such elsewhere
        if list(raw.columns).count(c) == 1
        and raw[c].map(lambda v: pd.isna(v) or not str(v).strip()).all()
    ]
    if not empty or len(raw) == 0:
        return raw, []
    return raw.drop(columns=empty), [
        Problem(
            "empty_outcome",
            _("has no value in any row: read as a file without outcomes"),
            column=c,
            severity="warning",
        )
        for c in empty
    ]


def _event_coding(parsed: pd.DataFrame, found: list[Problem], schema: Schema) -> list[Problem]:
    """An event column of 1s and 2s is R's survival coding (1 censored, 2 the event): one
    problem that says how to recode it, in place of one per row that holds a 2, since
    changing each 2 to 1, as those rows would suggest, makes every patient an event."""
    name = schema.event.name
    if name not in parsed:
        return found
    values = set(pd.to_numeric(parsed[name], errors="coerce").dropna().unique())
    if not (values and values <= {1.0, 2.0} and 2.0 in values):
        return found
    w = schema.words
    coding = Problem(
        "event_coding",
        _(
            "holds only 1 and 2, the coding of R's survival package (1 censored, 2 the "
            "event): write 0 for {event_free} at last follow-up and 1 for {event_happened}, "
            "that is, subtract 1 from every value"
        ).format(event_free=w.event_free, event_happened=w.event_happened),
        column=name,
    )
    return [coding, *(p for p in found if not (p.code == "bad_event" and p.column == name))]


# a median survival time of this many years or more, in a schema that leaves the unit to
# its default of months, is flagged: DMPM's median is 2-5 years, long-term cohorts rarely
# reach 10, and days read as months pass 10 years once their median passes 4 months
UNDECLARED_MAX_YEARS = 10


def _check_time_unit(parsed: pd.DataFrame, schema: Schema) -> list[Problem]:
    """A survival time whose median is implausible in the declared unit (over 40 years, or
    under a day) is most often written in another unit: warn, naming both."""
    name = schema.time.name
    if name not in parsed:
        return []
    times = pd.to_numeric(parsed[name], errors="coerce")
    times = times[times > 0]
    if len(times) < 5:
        return []
    axis = schema.time_axis
    median = float(times.median())

    def years(unit: str) -> float:
        return median * MONTHS_PER_UNIT[unit] / 12

    plausible = [u for u in MONTHS_PER_UNIT if 0.1 <= years(u) <= 20]
    guess = _("; it looks like {unit}").format(unit=plausible[0]) if plausible else ""
    if schema.time.unit is None:
        # months by default: a median of 10 years or more read that way is more often days
        if 1 / 365.25 <= years(axis.unit) < UNDECLARED_MAX_YEARS:
            return []
        said = _(
            "the schema does not declare the time unit, so '{name}' is read in months: its "
            "median, {median} months, is {years} years{guess}. Declare it under time: as "
            "unit: days, weeks, months or years."
        ).format(name=name, median=f"{median:g}", years=f"{years(axis.unit):.3g}", guess=guess)
        return [Problem("time_unit", said, column=name, severity="warning")]
    if 1 / 365.25 <= years(axis.unit) <= 40:
        return []
    said = (
        _("the median survival time is {median} {unit}, which is implausible{guess}.")
        if axis.unit == "years"
        else _(
            "the median survival time is {median} {unit}, {years} years, which is implausible{guess}."
        )
    )
    return [
        Problem(
            "time_unit",
            (
                said
                + " "
                + _("The schema declares {unit} (time: unit); check the unit of '{name}'.")
            ).format(
                median=f"{median:g}",
                unit=axis.unit,
                years=f"{years(axis.unit):.3g}",
                guess=guess,
                name=name,
            ),
            column=name,
            severity="warning",
        )
    ]


def _check_delimiter(columns: list[str]) -> list[Problem]:
    """A file saved with another separator reads as one column; say so rather than
    report every column missing."""
    if len(columns) != 1 or not any(sep in columns[0] for sep in SEPARATORS):
        return []
    return [separator_problem(next(s for s in SEPARATORS if s in columns[0]))]


def _known_columns(schema: Schema) -> set[str]:
    return set(schema.feature_names) | set(schema.outcome_names) | {schema.id_column}


def _check_required_columns(columns: list[str], schema: Schema, mode: Mode) -> list[Problem]:
    required = []
    if mode in ("train", "predict"):
        required += schema.feature_names
    if mode in ("train", "outcome"):
        required += schema.outcome_names
    known = _known_columns(schema)
    # a file to score may hold the column empty: unknown for every patient, averaged over
    ways = {"predict": _("; leave the column empty where a value is not known")}
    problems = []
    for c in required:
        if c not in columns:
            hint = _suggest(c, [x for x in columns if x not in known])
            message = (
                _("required outcome column is missing{hint}")
                if c in schema.outcome_names
                else _("required feature column is missing{hint}") + ways.get(mode, "")
            )
            problems.append(Problem("missing_column", message.format(hint=hint), column=c))
    if mode == "predict":
        problems += _check_outcome_pair(columns, schema)
    return problems


def _check_outcome_pair(columns: list[str], schema: Schema) -> list[Problem]:
    """Survival time and event are optional for prediction, but only together."""
    time, event = schema.time.name, schema.event.name
    if (time in columns) == (event in columns):
        return []
    present = time if time in columns else event
    absent = event if present == time else time
    return [
        Problem(
            "missing_column",
            _("'{present}' is present, so '{absent}' is required too").format(
                present=present, absent=absent
            ),
            column=absent,
        )
    ]


def _check_other_columns(raw: pd.DataFrame, schema: Schema, dupes: list[str]) -> list[Problem]:
    """Columns the schema does not name are ignored with a warning, unless they have no
    header but hold values (a column the user may have meant)."""
    columns = list(raw.columns)
    known = _known_columns(schema)
    problems = []
    for c in dict.fromkeys(columns):
        if c in known or c in dupes:
            continue
        if c == "" or c.startswith("Unnamed:"):
            problems.append(_unnamed_column(raw, c, columns.index(c) + 1))
            continue
        hint = _suggest(c, [k for k in known if k not in columns])
        problems.append(
            Problem(
                "unknown_column",
                _("not in schema {name!r}; it is ignored{hint}").format(
                    name=schema.name, hint=hint
                ),
                column=c,
                severity="warning",
            )
        )
    return problems


def _unnamed_column(raw: pd.DataFrame, column: str, position: int) -> Problem:
    blank = bool(is_missing(raw[column]).all()) if len(raw) else True
    if blank:
        return Problem(
            "empty_column",
            _("column {position} has no header and no values; it is ignored").format(
                position=position
            ),
            severity="warning",
        )
    return Problem(
        "unnamed_column",
        _("column {position} has no header but holds values; name it or remove it").format(
            position=position
        ),
    )


def _parse_columns(
    raw: pd.DataFrame, schema: Schema
) -> tuple[pd.DataFrame, dict[str, pd.Series], list[Problem]]:
    """The features and outcome present, as typed values; for each outcome column, which
    cells were text that is not a number (already reported, so kept out of the value
    checks)."""
    columns = list(raw.columns)
    present = [schema.feature(c) for c in schema.feature_names if c in columns]
    parsed, problems = parse_features(raw, present)
    outcome_bad = {}
    for c in schema.outcome_names:
        if c in columns:
            parsed[c], outcome_bad[c], found = parse_outcome(raw, c, schema)
            problems += found
    return parsed, outcome_bad, problems


def _with_ids(raw: pd.DataFrame, parsed: pd.DataFrame, schema: Schema) -> pd.DataFrame:
    """The parsed table with the id column first, if the file has one (empty ids as None)."""
    if schema.id_column in raw.columns:
        ids = as_text(raw[schema.id_column]).str.strip()
        parsed.insert(
            0, schema.id_column, ids.where(ids != "").astype(object).where(ids != "", None)
        )
    return parsed


def _check_ids(parsed: pd.DataFrame, schema: Schema, mode: Mode) -> list[Problem]:
    if schema.id_column not in parsed:
        if mode == "outcome":
            return []
        return [
            Problem(
                "missing_id",
                _("no '{id}' column; rows are identified by their number").format(
                    id=schema.id_column
                ),
                column=schema.id_column,
                severity="warning",
            )
        ]
    present_ids = parsed[schema.id_column].dropna()
    dup = present_ids[present_ids.duplicated(keep=False)]
    problems = []
    for value, idx in dup.groupby(dup).groups.items():
        problems += _duplicate_id(value, [int(i) + 1 for i in idx], schema.id_column)
    return problems


def _duplicate_id(value: Any, rows: list[int], column: str) -> list[Problem]:
    """One problem per row sharing ``value``, each naming at most a few of the others:
    listing them all is quadratic in the rows that share one id (100,000 rows with the
    same id made a 10 GB report)."""
    problems = []
    for r in rows:
        others = [x for x in rows if x != r]
        listed = ", ".join(str(x) for x in others[:_MAX_OTHER_ROWS])
        if len(others) > _MAX_OTHER_ROWS:
            listed += " " + _("and {n} more").format(n=len(others) - _MAX_OTHER_ROWS)
        problems.append(
            Problem(
                "duplicate_id",
                _("{value} is also used in row {rows}").format(
                    value=clip(repr(value)), rows=listed
                ),
                column=column,
                row=r,
                value=clip(str(value)),
            )
        )
    return problems


def _check_values(
    parsed: pd.DataFrame, outcome_bad: dict[str, pd.Series], schema: Schema
) -> list[Problem]:
    check_df = parsed.copy()
    for c, bad in outcome_bad.items():  # text already reported is kept out of the value checks
        check_df.loc[bad, c] = 1.0 if c == schema.time.name else 0.0
    return _pandera_problems(check_df, _pandera_schema(schema, list(parsed.columns)), schema)


def _dataset_report(
    problems: list[Problem], parsed: pd.DataFrame, schema: Schema
) -> ValidationReport:
    report = ValidationReport(problems)
    if report.ok:
        data = parsed.copy()
        for c in schema.outcome_names:
            if c in data:
                data[c] = data[c].astype(float)
        if schema.event.name in data:
            data[schema.event.name] = data[schema.event.name].astype(int)
        report.data = data
    return report


# ---------------------------------------------------------------- patients
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
                    _("not in schema {name!r}; it is ignored{hint}").format(
                        name=schema.name, hint=hint
                    ),
                    column=clip(str(k)),
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
    parsed, found = parse_features(raw, list(schema.features))
    problems += found
    problems += _pandera_problems(parsed, _pandera_schema(schema, list(parsed.columns)), schema)
    problems = [Problem(p.code, p.message, p.column, None, p.value, p.severity) for p in problems]
    report = ValidationReport(problems)
    if report.ok:
        report.data = parsed
    return report


def _plain_number(f: Feature, v) -> bool:
    """A value a float column holds exactly, for a feature coded as a number (or unknown)."""
    if f.is_text:
        return False
    if v is None:
        return True
    if isinstance(v, bool | np.bool_):
        return False
    if isinstance(v, float | np.floating):
        return True
    return isinstance(v, int | np.integer) and abs(int(v)) < 2**53


# ------------------------------------------------------------- value checks
def _suggest(value: str, choices) -> str:
    v = str(value).lower()
    match = difflib.get_close_matches(v, [str(c).lower() for c in choices], n=1)
    if match:
        original = next(c for c in choices if str(c).lower() == match[0])
    else:
        # a short or long form difflib finds too far off ("pci" and "pci_total", "sarc" for
        # "sarcomatoid"): the one choice it begins or is begun by, or one of whose words it
        # is; not a one-letter code ("missing" is not "M")
        def related(c: str) -> bool:
            c = str(c).lower()
            words = re.split(r"[\W_]+", c)
            return c.startswith(v) or v in words or (v.startswith(c) and len(c) > 1)

        near = [c for c in choices if any(ch.isalpha() for ch in v) and related(c)]
        if len(near) != 1:
            return ""
        original = near[0]
    return _("; did you mean '{value}'?").format(value=original)


def _whole(s: pd.Series) -> pd.Series:
    return (s % 1) == 0


def _on_step(base: float, step: float):
    def check(s: pd.Series) -> pd.Series:
        r = ((s - base) / step) % 1
        # a value that is not whole is said to be so by its own check, once
        return pd.Series(np.isclose(r, 0) | np.isclose(r, 1) | (s % 1 != 0), index=s.index)

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
                error=_("is outside the allowed range: must be {allowed}").format(allowed=allowed),
            )
        )
    if f.kind == "integer":
        checks.append(
            pa.Check(
                _whole,
                name="not_whole",
                error=_("is not a whole number: must be {allowed}").format(allowed=allowed),
            )
        )
        if f.step and f.step != 1:
            checks.append(
                pa.Check(
                    _on_step(f.min or 0.0, f.step),
                    name="off_step",
                    error=_("is not a multiple of {step}: must be {allowed}").format(
                        step=f"{f.step:g}", allowed=allowed
                    ),
                )
            )
    if f.kind in ("binary", "ordinal", "categorical"):
        checks.append(
            pa.Check.isin(
                list(f.allowed_values),
                name="not_allowed",
                error=_("is not an allowed value: must be {allowed}").format(allowed=allowed),
            )
        )
    return checks


def _pandera_schema(schema: Schema, columns: list[str]) -> pa.DataFrameSchema:
    cols = {}
    for f in schema.features:
        if f.name in columns:
            dtype = object if f.is_text else float
            cols[f.name] = pa.Column(dtype, checks=_checks_for(f), nullable=True, coerce=False)
    if schema.time.name in columns:
        tmax = schema.time.max
        checks = [
            pa.Check.gt(
                0,
                name="nonpositive_time",
                error=_("is not allowed: survival time must be greater than 0"),
            )
        ]
        if tmax is not None:
            checks.append(
                pa.Check.le(
                    tmax,
                    name="out_of_range",
                    error=_("is too long: survival time must be at most {most}").format(
                        most=f"{tmax:g} {schema.time.unit or ''}".rstrip()
                    ),
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
                    error=_("is not allowed: {rule}").format(rule=event_rule(schema)),
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
                msg = _("{column} is empty; every row needs an identifier").format(column=col)
                code = "missing_id"
            else:
                msg, code = _("the outcome may not be missing"), "missing_outcome"
            problems.append(Problem(code, msg, column=col, row=row))
            continue
        name = names.get((col, check))
        if name is None:  # a dtype or structural failure: report pandera's own words
            problems.append(Problem("invalid", f"{check}: {value}", column=col, row=row))
            continue
        shown = show(value)
        hint = ""
        if name == "not_allowed" and col in schema.feature_names and schema.feature(col).categories:
            hint = _suggest(shown, schema.feature(col).categories)
        problems.append(Problem(name, f"{shown} {check}{hint}", column=col, row=row, value=shown))
    return problems
