"""Reading a CSV file as text cells, and finding the file line of each data row.

pandas reads the table but hides two things a user needs in a message: a column name
written twice, and where a row is in the file (blank lines are skipped and a quoted
value can span lines). Both are recovered here by re-reading the raw file, so that
the checks in :mod:`model.validation` can name the line a spreadsheet shows.
"""

from __future__ import annotations

import csv
import io
import os
import re
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd

from model.i18n import _, ngettext
from model.problems import Problem

__all__ = ["SEPARATORS", "read_table", "separator_problem", "with_lines"]


def read_table(source: str | os.PathLike | IO | pd.DataFrame) -> tuple[pd.DataFrame, list[Problem]]:
    """Read a CSV file (or take a DataFrame) as text cells, without interpreting them.

    Returns the raw table and any whole-file problems (empty file, bad encoding,
    no data rows). A UTF-8 byte-order mark is accepted.
    """
    if isinstance(source, pd.DataFrame):
        return _take_frame(source)
    name = getattr(source, "name", None) or str(source)
    try:
        raw = _read_csv(source)
    except (OSError, ValueError) as exc:
        return pd.DataFrame(), [_unreadable(exc, name, source)]
    if raw is None:
        return pd.DataFrame(), [Problem("empty", _("the file {name} is empty").format(name=name))]
    if not isinstance(raw.index, pd.RangeIndex):
        sep = _header_separator(source)
        return pd.DataFrame(), [separator_problem(sep) if sep else _extra_values(raw)]
    raw.columns = _header_names(source, list(raw.columns))
    short = _short_records(source, len(raw.columns))
    if short:
        return pd.DataFrame(), [_too_few_values(short, len(raw.columns), name)]
    if len(raw) == 0:
        return raw, [Problem("no_rows", _("the file has a header but no data rows"))]
    return raw, []


def _take_frame(source: pd.DataFrame) -> tuple[pd.DataFrame, list[Problem]]:
    if source.shape[1] == 0:
        return source, [Problem("empty", _("the table has no columns"))]
    if len(source) == 0:
        return source, [Problem("no_rows", _("the table has a header but no data rows"))]
    table = source.reset_index(drop=True)  # a new frame: the caller's is left as it was
    table.columns = [_column_name(c, i) for i, c in enumerate(source.columns)]
    return table, []


def _read_csv(source) -> pd.DataFrame | None:
    """Every cell as written (None for an empty file named by its path)."""
    if isinstance(source, str | os.PathLike) and Path(source).stat().st_size == 0:
        return None
    return pd.read_csv(
        source,
        dtype=str,
        keep_default_na=False,
        na_filter=False,
        encoding="utf-8-sig",
        skip_blank_lines=True,
    )


def _unreadable(exc: OSError | ValueError, name: str, source) -> Problem:
    """What a user can do about a file pandas could not read."""
    if isinstance(exc, FileNotFoundError):
        return Problem("not_found", _("file not found: {name}").format(name=name))
    if isinstance(exc, IsADirectoryError):
        return Problem("unreadable", _("{name} is a folder, not a CSV file").format(name=name))
    if isinstance(exc, pd.errors.EmptyDataError):
        return Problem("empty", _("the file {name} is empty").format(name=name))
    if isinstance(exc, UnicodeDecodeError):
        return _not_utf8(exc, name, source)
    fields = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
    sep = _header_separator(source) if fields else None
    if sep:  # ';' between values and decimal commas in them: the header is one column
        return separator_problem(sep)
    if fields:  # pandas' words for a row longer than the header
        want, line, saw = (int(v) for v in fields.groups())
        return Problem(
            "unreadable",
            ngettext(
                "the file {name} is not a readable CSV: line {line} has {saw} values where "
                "the header (line 1) has {want} column name; a patients file is "
                "comma-separated text with one header row of column names",
                "the file {name} is not a readable CSV: line {line} has {saw} values where "
                "the header (line 1) has {want} column names; a patients file is "
                "comma-separated text with one header row of column names",
                want,
            ).format(name=name, line=line, saw=saw, want=want),
        )
    if isinstance(exc, ValueError):  # pandas' ParserError is a ValueError
        return Problem(
            "unreadable",
            _("the file {name} is not a readable CSV: {reason}").format(name=name, reason=exc),
        )
    return Problem(
        "unreadable",
        _("the file {name} cannot be read: {reason}").format(name=name, reason=exc.strerror or exc),
    )


# what a spreadsheet may put between values instead of ","
SEPARATORS = (";", "\t", "|")
# the first bytes of an Excel workbook: .xlsx (a zip archive) and .xls (an OLE file)
WORKBOOK_SIGNATURES = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0")


def _header_separator(source) -> str | None:
    """The separator a header without commas holds (a file saved with ';' between values)."""
    header = _raw_bytes(source).split(b"\n", 1)[0].decode("utf-8", errors="replace")
    if "," in header:
        return None
    return next((s for s in SEPARATORS if s in header), None)


def separator_problem(sep: str) -> Problem:
    """A file whose header is one column holding ``sep``: it uses ``sep`` between values."""
    return Problem(
        "delimiter",
        _(
            "the header is one column that contains {sep!r}: the file seems to use {sep!r} "
            "between values; save it as comma-separated CSV"
        ).format(sep=sep),
    )


def _not_utf8(exc: UnicodeDecodeError, name: str, source) -> Problem:
    """Where the file stops being UTF-8: the line and the byte (pandas decodes in chunks,
    so its own position is within a chunk, not the file)."""
    data = _raw_bytes(source)
    if data.startswith(WORKBOOK_SIGNATURES):
        return Problem(
            "encoding",
            _(
                "the file {name} is an Excel workbook, not CSV text: save it from Excel as "
                "'CSV UTF-8'"
            ).format(name=name),
        )
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as whole:
        head = data[: whole.start]  # lines end in LF, CR LF or (old Mac files) CR alone
        exc, line = whole, head.count(b"\n") + head.count(b"\r") - head.count(b"\r\n") + 1
    else:
        line = None
    byte = f"0x{exc.object[exc.start]:02X}"
    where = (
        _("line {line} holds the byte {byte}, which is not UTF-8").format(line=line, byte=byte)
        if line
        else _("it holds the byte {byte}, which is not UTF-8").format(byte=byte)
    )
    return Problem(
        "encoding",
        _(
            "the file {name} is not UTF-8 text: {where} (often a letter such as é saved in "
            "another encoding); save it from your spreadsheet as 'CSV UTF-8'"
        ).format(name=name, where=where),
    )


def _raw_bytes(source) -> bytes:
    """The whole file as bytes (empty where it cannot be read again)."""
    try:
        if isinstance(source, str | os.PathLike):
            return Path(source).read_bytes()
        if hasattr(source, "seek") and hasattr(source, "read"):
            source.seek(0)
            data = source.read()
            return data if isinstance(data, bytes) else b""
    except (OSError, ValueError):  # a file opened as text cannot be read as bytes again
        pass
    return b""


def _extra_values(raw: pd.DataFrame) -> Problem:
    """pandas turns the first values of a row longer than the header into an index,
    shifting every value one column to the right; refuse rather than misread."""
    extra = raw.index.nlevels
    return Problem(
        "extra_values",
        ngettext(
            "the first data row has {extra} value more than the header has column names "
            "({names}); every row needs one value per header column (a comma at the end of a "
            "row adds an empty value)",
            "the first data row has {extra} values more than the header has column names "
            "({names}); every row needs one value per header column (a comma at the end of a "
            "row adds an empty value)",
            extra,
        ).format(extra=extra, names=len(raw.columns)),
        row=1,
    )


def _short_records(source, want: int) -> list[tuple[int, int]]:
    """(file line, values) of each data record with fewer values than the header: pandas
    fills the missing ones as empty cells, which would read as unknown inputs (a spreadsheet
    writes an empty cell as a comma, so a short record is a cut or merged line)."""
    try:
        with _reread(source) as fh:
            if fh is None:
                return []
            return [(line, len(r)) for line, r in _data_records(fh) if len(r) < want]
    except (OSError, UnicodeDecodeError, csv.Error, ValueError):
        return []


def _too_few_values(short: list[tuple[int, int]], want: int, name: str) -> Problem:
    lines = _("; ").join(
        _("line {line} has {saw}").format(line=line, saw=saw) for line, saw in short[:5]
    )
    more = _(" (and {n} more lines)").format(n=len(short) - 5) if len(short) > 5 else ""
    return Problem(
        "too_few_values",
        _(
            "the file {name} is not a readable CSV: {lines}{more} values where the header "
            "(line 1) has {want} column names; every row needs one value per header column "
            "(an unknown value is an empty cell between two commas)"
        ).format(name=name, lines=lines, more=more, want=want),
    )


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


def _data_records(fh):
    """(file line it starts on, values) of each data record, as pandas reads them: empty and
    whitespace-only lines skipped, before the header too; quoted values may span lines."""
    reader = csv.reader(fh)
    start, header_seen = 1, False
    for record in reader:
        if record and not (len(record) == 1 and not record[0].strip(" \t")):
            if header_seen:
                yield start, record
            header_seen = True
        start = reader.line_num + 1


def _data_record_lines(fh, n_rows: int) -> list[int] | None:
    starts = [line for line, _ in _data_records(fh)]
    return starts if len(starts) == n_rows else None


def with_lines(problems: list[Problem], source, n_rows: int) -> list[Problem]:
    """The problems with the file line of their row, errors first.

    Parameters
    ----------
    problems : list of Problem
    source : path, file object or DataFrame
        What :func:`read_table` read; a DataFrame has no lines.
    n_rows : int
        Data rows pandas read, to tell whether the re-read records match them.
    """
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
