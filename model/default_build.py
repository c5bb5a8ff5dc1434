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

from model.bundle import BundleError
from model.registry import Registry, RegistryError

__all__ = [
    "LOCK",
    "LOG",
    "MAX_ATTEMPTS",
    "PENDING",
    "active_problem",
    "needs_work",
    "pending",
    "retry_allowed",
]

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


def active_problem(root: str | os.PathLike) -> str | None:
    """Why the active bundle of ``root`` cannot be served (None when it can, or none is active)."""
    registry = Registry(root)
    active = registry.active_id
    if active is None:
        return None
    try:
        registry.verify(active)
    except (BundleError, RegistryError, OSError) as exc:
        return f"{active}: {exc}"
    return None


def needs_work(root: str | os.PathLike) -> bool:
    """Whether ``training default`` has anything to do or say for registry ``root``: no
    servable active bundle, or a pending build. Cheap (scikit-learn is not imported: about a
    second of every start), so that a start with everything in place skips the training
    command line altogether."""
    try:
        if Registry(root).active_id is None or active_problem(root) is not None:
            return True
    except (RegistryError, OSError):
        return True  # the command line explains what is wrong
    return pending(root) is not None
