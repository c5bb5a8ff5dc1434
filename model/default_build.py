"""The default build's record in a registry folder, as the page and the training side read it.

The first start builds the default bundle in two steps (:mod:`training.default`); until
the second step is done, the registry folder holds a record of the build
(:data:`PENDING`) with its attempts and last error, a lock file (:data:`LOCK`) and the
background step's log (:data:`LOG`). The record holds no patient data.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

__all__ = ["LOCK", "LOG", "MAX_ATTEMPTS", "PENDING", "pending", "retry_allowed"]

PENDING = ".default-build.json"
LOCK = ".default-build.lock"
LOG = "default-build.log"
MAX_ATTEMPTS = 3


def pending(root: str | os.PathLike) -> dict | None:
    """The default build's record in registry ``root``, or None when nothing is pending."""
    try:
        record = json.loads((Path(root) / PENDING).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def retry_allowed(record: dict) -> bool:
    """Whether a start should launch step 2 again (not after :data:`MAX_ATTEMPTS` failures)."""
    return int(record.get("attempts") or 0) < MAX_ATTEMPTS or not record.get("last_error")
