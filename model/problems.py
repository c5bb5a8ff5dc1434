"""One problem found in data, shared by reading, cell parsing and the checks.

It lives apart from :mod:`model.validation` so that :mod:`model.csvfile` and
:mod:`model.cells` can report problems without importing the checks that use them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["Problem"]


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
