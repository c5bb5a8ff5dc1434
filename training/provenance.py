"""Where a data file came from, declared beside it by whatever made it.

The simulator writes ``<name>.provenance.json`` next to each cohort it draws, saying the
patients are simulated (and how they were drawn). Training reads that declaration rather
than guessing from a folder's name, so a simulated cohort copied anywhere still yields a
bundle that every page and report marks as trained on simulated patients, and real data
in a folder called "synthetic" is not mislabelled.
"""

from __future__ import annotations

import json
from pathlib import Path

from model.fileio import atomic_write_text

__all__ = ["declared_synthetic", "provenance_path", "read_provenance", "write_provenance"]

SUFFIX = ".provenance.json"


def provenance_path(data_path: str | Path) -> Path:
    p = Path(data_path)
    return p.with_name(p.stem + SUFFIX)


def read_provenance(data_path: str | Path) -> dict | None:
    """The declaration beside ``data_path``, or None when there is none (or it is unreadable)."""
    try:
        doc = json.loads(provenance_path(data_path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


def declared_synthetic(data_path: str | Path) -> bool:
    """True when the file's declaration says its patients are simulated.

    A declaration whose recorded SHA-256 differs from the file's still counts: an edited
    simulated cohort is still simulated, and erring this way only adds a warning.
    """
    doc = read_provenance(data_path)
    return bool(doc and doc.get("synthetic") is True)


def write_provenance(data_path: str | Path, doc: dict) -> Path:
    """Write the declaration for ``data_path`` (``synthetic`` must be stated)."""
    if not isinstance(doc.get("synthetic"), bool):
        raise ValueError("a provenance declaration must state 'synthetic': true or false")
    path = provenance_path(data_path)
    atomic_write_text(path, json.dumps(doc, indent=2) + "\n")
    return path
