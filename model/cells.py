"""Reading table cells as typed values, and the words for a cell that cannot be read.

A value is either read exactly as written or reported: text that is not a number is
reported as such rather than turned into a missing value, as ``pd.to_numeric`` alone
would. A cell counts as missing when it is empty or holds one of :data:`MISSING_TOKENS`
(compared without case or surrounding spaces).
"""

from __future__ import annotations

import decimal
from typing import Any

import numpy as np
import pandas as pd

from model.i18n import _
from model.problems import Problem
from model.schema import MISSING_TOKENS, Feature, Schema

__all__ = [
    "event_rule",
    "MISSING_TOKENS",
    "as_text",
    "clip",
    "is_missing",
    "parse_features",
    "parse_numeric",
    "parse_outcome",
    "show",
    "thousands_or_decimal",
    "typed_number",
]


_MAX_SHOWN = 40  # characters of a value quoted in a message


def as_text(s: pd.Series) -> pd.Series:
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


def is_missing(s: pd.Series) -> pd.Series:
    """Cells that are empty or hold a missing-value token."""
    stripped = as_text(s).str.strip()
    return stripped.isna() | stripped.str.lower().isin(MISSING_TOKENS)


def parse_numeric(s: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Return (values as float, missing mask, not-a-number mask)."""
    if pd.api.types.is_bool_dtype(s) or pd.api.types.is_complex_dtype(s):
        s = s.astype(object)  # True is not 1, and 1+2j is not 1: both are reported as text
    if pd.api.types.is_numeric_dtype(s):
        values = pd.to_numeric(s, errors="coerce").astype(float)
        missing = values.isna()
        return values, missing, pd.Series(False, index=s.index)
    missing = is_missing(s)
    values = pd.to_numeric(as_text(s).str.strip().where(~missing), errors="coerce").astype(float)
    if pd.api.types.infer_dtype(s, skipna=True) not in ("string", "empty"):
        _keep_numbers(s, values, missing)
    bad = ~missing & values.isna()
    return values, missing, bad


def _keep_numbers(s: pd.Series, values: pd.Series, missing: pd.Series) -> None:
    """Numbers among other objects (a patient from the page, a mixed column) are taken as
    they are: re-reading their printed form can move them by one unit in the last place,
    and a 400-digit integer is too large for a float, not "not a number"."""
    for i, v in enumerate(s):
        if isinstance(v, int | float | np.integer | np.floating) and not isinstance(
            v, bool | np.bool_
        ):
            try:
                values.iloc[i] = np.nan if missing.iloc[i] else float(v)
            except OverflowError:
                values.iloc[i] = np.inf if v > 0 else -np.inf


def parse_features(
    raw: pd.DataFrame, features: list[Feature]
) -> tuple[pd.DataFrame, list[Problem]]:
    """The features' columns as typed values, and every cell that is not a number.

    Parameters
    ----------
    raw : DataFrame
        The table as read, holding a column for each of ``features``.
    features : list of Feature

    Returns
    -------
    parsed : DataFrame
        Float columns (NaN when missing); text for categorical features.
    problems : list of Problem
        A numeric feature's cells that are not numbers, each saying what is allowed.
    """
    out, problems = {}, []
    for f in features:
        s = raw[f.name]
        if f.is_text:
            missing = is_missing(s)
            out[f.name] = (
                as_text(s).str.strip().where(~missing).astype(object).where(~missing, np.nan)
            )
            continue
        values, _missing, bad = parse_numeric(s)
        problems += _not_numeric(
            s, bad, f.name, _("must be {allowed}").format(allowed=f.describe_allowed())
        )
        out[f.name] = values
    return pd.DataFrame(out, index=raw.index), problems


def parse_outcome(
    raw: pd.DataFrame, column: str, schema: Schema
) -> tuple[pd.Series, pd.Series, list[Problem]]:
    """An outcome column (survival time or event) as float.

    Parameters
    ----------
    raw : DataFrame
        The table as read.
    column : str
        ``schema.time.name`` or ``schema.event.name``.
    schema : Schema

    Returns
    -------
    values, bad : pandas.Series
        The values, and which cells were text that is not a number.
    problems : list of Problem
        One per such cell, saying what the column holds.
    """
    values, _missing, bad = parse_numeric(raw[column])
    what = (
        _("survival time must be a number of {unit}").format(unit=schema.time_axis.unit)
        if column == schema.time.name
        else event_rule(schema)
    )
    return values, bad, _not_numeric(raw[column], bad, column, what)


def event_rule(schema: Schema) -> str:
    """What the event column may hold, in the schema's words."""
    w = schema.words
    return _("event must be 1 ({event_happened}) or 0 ({event_free} at last follow-up)").format(
        event_happened=w.event_happened, event_free=w.event_free
    )


def _not_numeric(s: pd.Series, bad: pd.Series, column: str, what: str) -> list[Problem]:
    problems = []
    for i in np.flatnonzero(bad.to_numpy()):
        cell = clip(str(s.iloc[i]))
        problems.append(
            Problem(
                "not_numeric",
                _("{cell!r} is not a number; {what}").format(cell=cell, what=what),
                column=column,
                row=i + 1,
                value=cell,
            )
        )
    return problems


def show(value: Any) -> str:
    """A parsed value as a message quotes it (a whole float without its '.0')."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return clip(str(value))


def clip(value: str) -> str:
    """A value short enough to quote in a message (a 400-digit number stays readable)."""
    return value if len(value) <= _MAX_SHOWN else value[: _MAX_SHOWN - 3] + "..."


def thousands_or_decimal(text: str) -> bool:
    """Whether the one comma of ``text`` can be read two ways: "1,250" is 1250 with a
    thousands separator and 1.25 with a decimal comma ("0,250" and "2,5" are one way)."""
    head, comma, tail = text.strip().lstrip("+-").partition(",")
    return bool(
        comma
        and "," not in tail
        and len(tail) == 3
        and tail.isdigit()
        and head.isdigit()
        and len(head) <= 3
        and head.strip("0")
    )


def typed_number(text: str) -> float | None:
    """A number as a person types it in a box: None where the box is empty.

    A decimal comma is read as the point ("2,5" is 2.5): a browser's number box drops it
    and reads 25. Raises ValueError for anything that is not one finite number written
    out: words (the box's "unknown" tick says that), a comma that could be a thousands
    separator (:func:`thousands_or_decimal`), two separators, digit groups ("1_000").
    """
    s = text.strip()
    if not s:
        return None
    if thousands_or_decimal(s) or "_" in s or ("," in s and "." in s) or s.count(",") > 1:
        raise ValueError(s)
    value = float(s.replace(",", "."))  # ValueError for text that is not a number
    if not np.isfinite(value):
        raise ValueError(s)
    return value
