"""The default bundle a new user gets on the first start, built in two steps.

The page can draw a curve as soon as a Cox model with its band exists, so the first
start does not wait for the whole fit:

1. **now** (about a minute on a fresh 2-core machine): the penalised Cox model alone,
   with its bootstrap validation and band, written and promoted;
2. **in the background** (about two minutes, at the lowest CPU priority while the page
   already serves): both models, the Cox model and the random survival forest, with the
   full validation report. It is promoted only while step 1's bundle is still the
   active one, so a bundle somebody promoted in the meantime is never replaced.

Both steps fit on the same data with the same seed and folds, so step 2's Cox model is
the same file, byte for byte, as step 1's (tests/training/test_default.py checks the
SHA-256): its numbers do not change when the complete bundle takes over. (The complete
bundle's default model is the one with the lower cross-validated integrated Brier score:
the Cox model for the shipped cohort; with other ``--data`` it may be the forest.) A page session that
already shows step 1's bundle keeps showing it; new sessions open on the complete one.

A file ``.default-build.json`` in the registry records the build until step 2 is done,
with the attempts and the last error (:mod:`model.default_build` reads it, for this module
and for the page); a failed or stopped step 2 (Ctrl+C stops the page and the build
together) is started again from the beginning at the next start, at most
:data:`MAX_ATTEMPTS` times, and the page and ``start.sh`` say why it failed. A lock file
keeps two starts from building at once. An active bundle that can no longer be served
(altered, or made with other library versions after an upgrade) counts as none: the
default is built and made active, and the refused bundle stays in the registry.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

from model.bundle import BundleError, read_manifest
from model.default_build import (
    LOCK,
    LOG,
    MAX_ATTEMPTS,
    PENDING,
    active_problem,
    needs_work,
    pending,
    retry_allowed,
)
from model.fileio import atomic_write_json, locked
from model.registry import Registry, RegistryError
from model.schema import default_schema
from model.validation import DataValidationError

__all__ = [
    "DEFAULT_DATA",
    "LOCK",
    "LOG",
    "MAX_ATTEMPTS",
    "PENDING",
    "active_problem",
    "build_default",
    "complete_default",
    "needs_work",
    "pending",
    "retry_allowed",
    "start_background",
]

PROJECT_DIR = Path(__file__).resolve().parents[1]
DEFAULT_DATA = PROJECT_DIR / "data" / "synthetic" / "dmpm_2000.csv"
STEP1_COMMAND = "python -m training default"


def _write_pending(root: Path, record: dict) -> None:
    atomic_write_json(root / PENDING, record)


def _drop_pending(root: Path, token: str | None) -> None:
    """Remove the record if it is still this build's (another start may have replaced it)."""
    current = pending(root)
    if current is not None and current.get("token") == token:
        (root / PENDING).unlink(missing_ok=True)


def _error_summary(exc: BaseException) -> str:
    """What the record (shown on the page) says of a failure: a data error by its columns
    only, since its messages quote cells of the data."""
    if isinstance(exc, DataValidationError):
        errors = [p for p in exc.problems if p.severity == "error"]
        columns = sorted({p.column for p in errors if p.column})
        return (
            f"DataValidationError: {len(errors)} problem(s) in the data"
            + (f" (columns {', '.join(columns)})" if columns else "")
            + "; run python -m training describe --data on the file for the details"
        )
    return f"{type(exc).__name__}: {exc}"[:500]


def _data_text(data: Path) -> str:
    """The data path as recorded: relative to the project when inside it, so that a moved
    or renamed clone still finds the shipped cohort."""
    data = data.resolve()
    try:
        return str(data.relative_to(PROJECT_DIR))
    except ValueError:
        return str(data)


def _data_path(text: str) -> Path:
    p = Path(text)
    return p if p.is_absolute() else PROJECT_DIR / p


def _fit(
    data: Path,
    root: Path,
    models: tuple[str, ...],
    seed: int,
    bootstrap: int,
    promote: bool,
    progress: bool,
    command: str,
) -> str:
    from training.fit import FitOptions, fit_bundle

    path = fit_bundle(
        data,
        default_schema(),
        root,
        FitOptions(
            models=models,
            bootstrap=bootstrap,
            seed=seed,
            promote=promote,
            progress=progress,
            command=command,
        ),
    )
    return path.name


def _command(data: str, seed: int, bootstrap: int) -> str:
    return f"{STEP1_COMMAND} --data {data} --seed {seed} --bootstrap {bootstrap}"


def build_default(
    root: str | os.PathLike,
    data: str | os.PathLike = DEFAULT_DATA,
    *,
    seed: int = 0,
    bootstrap: int = 50,
    progress: bool = True,
) -> str | None:
    """Step 1: when no bundle can be served, fit and promote the Cox model alone.

    Returns the new bundle's id, or None when the active bundle verifies (nothing is
    fitted). Step 2 is then recorded as pending; run it with :func:`complete_default`
    or :func:`start_background`.
    """
    root = Path(root)
    registry = Registry(root)
    if registry.active_id is not None and active_problem(root) is None:
        return None
    with locked(root / LOCK, wait=True):
        if registry.active_id is not None and active_problem(root) is None:
            return None  # another start built it while this one waited
        text = _data_text(Path(data))
        record = {
            "token": uuid.uuid4().hex,
            "quick": None,
            "data": text,
            "seed": seed,
            "bootstrap": bootstrap,
            "recorded": datetime.now(UTC).isoformat(timespec="seconds"),
            "attempts": 0,
            "last_error": None,
        }
        _write_pending(root, record)  # first: a stop during step 1 leaves the build on record
        try:
            vid = _fit(
                _data_path(text),
                root,
                ("coxnet",),
                seed,
                bootstrap,
                promote=True,
                progress=progress,
                command=_command(text, seed, bootstrap),
            )
        except Exception:  # bad data and the like: nothing was built, nothing is pending
            _drop_pending(root, record["token"])
            raise
        record["quick"] = vid
        _write_pending(root, record)
        return vid


def _adopt_quick(root: Path, registry: Registry) -> str | None:
    """The active bundle when step 1 made it but was stopped before recording its id."""
    active = registry.active_id
    if active is None:
        return None
    try:
        manifest = read_manifest(root / active)
    except BundleError:
        return None
    made_here = manifest.command.startswith(STEP1_COMMAND)
    return active if made_here and list(manifest.models) == ["coxnet"] else None


def complete_default(root: str | os.PathLike, *, progress: bool = False, nice: int = 0) -> str:
    """Step 2: fit both models and promote them if step 1's bundle is still active.

    Returns a one-line account of what happened (also when nothing was to be done).
    Raises what the fit raises, after recording it as the build's last error.
    """
    root = Path(root)
    if pending(root) is None:
        return "no default build is pending"
    with locked(root / LOCK, wait=False) as mine:
        if not mine:
            return "the default build is already running in another process"
        record = pending(root)  # re-read under the lock: another process may have finished
        if record is None:
            return "no default build is pending"
        registry = Registry(root)
        quick = record.get("quick") or _adopt_quick(root, registry)
        if quick is None:
            if registry.active_id is None:
                return "step 1 of the default build has not finished; the next start runs it"
            _drop_pending(root, record.get("token"))
            return f"default build not completed: {registry.active_id} is active; it stays active"
        record["quick"] = quick
        if registry.active_id != quick:
            _drop_pending(root, record.get("token"))
            return (
                f"default build not completed: {registry.active_id} was promoted instead "
                f"of {quick}; it stays active"
            )
        data = _data_path(record["data"])
        record["attempts"] = int(record.get("attempts") or 0) + 1
        _write_pending(root, record)
        if nice:
            os.nice(nice)
        try:
            if not data.is_file():
                raise FileNotFoundError(f"the training data {data} is not there any more")
            vid = _fit(
                data,
                root,
                ("coxnet", "rsf"),
                record["seed"],
                record["bootstrap"],
                promote=False,
                progress=progress,
                command=_command(record["data"], record["seed"], record["bootstrap"])
                + " (both models)",
            )
        except KeyboardInterrupt:  # stopped with the page: not a failure
            record["attempts"] -= 1
            if (pending(root) or {}).get("token") == record.get("token"):
                _write_pending(root, record)
            raise
        except Exception as exc:
            record["last_error"] = _error_summary(exc)
            record["failed"] = datetime.now(UTC).isoformat(timespec="seconds")
            if (pending(root) or {}).get("token") == record.get("token"):
                _write_pending(root, record)
            raise
        try:
            registry.promote(vid, if_active=quick)
            message = f"default bundle {vid} (Cox model and random survival forest) is active"
        except RegistryError as exc:
            message = f"default bundle {vid} written but not promoted: {exc}"
        _drop_pending(root, record.get("token"))
        return message


def start_background(root: str | os.PathLike) -> subprocess.Popen | None:
    """Run step 2 in a child process (output to ``default-build.log`` in the registry).

    The child stays in the caller's process group, so Ctrl+C in the terminal that started
    the page stops it too; the next start runs it again.
    """
    root = Path(root).resolve()
    record = pending(root)
    if record is None or not retry_allowed(record):
        return None
    # the child keeps its own copy of the log's descriptor
    with open(root / LOG, "ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "training", "default", "--out", str(root), "--complete"],
            cwd=PROJECT_DIR,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
