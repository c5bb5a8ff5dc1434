"""CSV output that is safe to open in a spreadsheet."""

from __future__ import annotations

import pandas as pd

__all__ = ["safe_csv"]

# a cell starting with one of these is run as a formula by spreadsheet programs
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _neutralise(v):
    if isinstance(v, str) and v.startswith(_FORMULA_START):
        return "'" + v
    return v


def safe_csv(df: pd.DataFrame, float_format: str = "%.4f") -> str:
    """CSV text in which formula-like text cells are prefixed with an apostrophe.

    Numbers are left alone (a negative number is not a formula); only text cells change.
    A column named in ``df.attrs["digits"]`` is written with that many decimals (a median
    estimated to whole days is 194, not 194.0000); the others with ``float_format``.
    """
    out = df.copy()
    for c in out.columns:
        if out[c].dtype == object:
            out[c] = out[c].map(_neutralise)
    for c, d in df.attrs.get("digits", {}).items():
        if c in out.columns:
            out[c] = out[c].map(lambda v, d=d: "" if pd.isna(v) else f"{v:.{d}f}")
    return out.to_csv(index=False, float_format=float_format, lineterminator="\n")
