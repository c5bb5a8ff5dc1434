"""The default bundle a new user gets on the first start, built in two steps.

The page can draw a curve as soon as a Cox model with its band exists, so the first
start does not wait for the whole fit:

1. **now** (about 40 s on 2 cores): the penalised Cox model alone, with its bootstrap
   validation and band, written and promoted;
2. **in the background** (about 2 minutes, at the lowest CPU priority while the page
   already serves): both models, the Cox model and the random survival forest, with
   the full validation report. It is promoted only while step 1's bundle is still the
   active one, so a bundle somebody promoted in the meantime is never replaced.

Both steps fit on the same data with the same seed and folds, so step 2's Cox model
is the same file, byte for byte, as step 1's (tests/training/test_default.py checks
the SHA-256): a patient's numbers do not change when the complete bundle takes over.
A page session that already shows step 1's bundle keeps showing it; new sessions
open on the complete one.

A file ``.default-build.json`` in the registry marks step 2 as pending. If the
background build is stopped (Ctrl+C stops the page and the build together), the
next start resumes it. A lock file keeps two starts from running it twice.
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from model.registry import Registry, RegistryError
from model.schema import default_schema

__all__ = [
    "DEFAULT_DATA",
    "PENDING",
    "build_default",
    "complete_default",
    "pending",
    "start_background",
]

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT / "data" / "synthetic" / "dmpm_2000.csv"
PENDING = ".default-build.json"
LOCK = ".default-build.lock"
LOG = "default-build.log"


def pending(out: str | os.PathLike) -> dict | None:
    """The pending step-2 record of registry ``out``, or None when nothing is pending."""
    try:
        return json.loads((Path(out) / PENDING).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _write_pending(out: Path, record: dict) -> None:
    tmp = out / f".{PENDING}.{os.getpid()}"
    tmp.write_text(json.dumps(record, indent=2), encoding="utf-8")
    os.replace(tmp, out / PENDING)


def _fit(
    data: Path,
    out: Path,
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
        out,
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


def build_default(
    out: str | os.PathLike,
    data: str | os.PathLike = DEFAULT_DATA,
    *,
    seed: int = 0,
    bootstrap: int = 50,
    progress: bool = True,
) -> str | None:
    """Step 1: when the registry has no active bundle, fit and promote the Cox model alone.

    Returns the new bundle's id, or None when a bundle is already active (nothing is
    fitted). Step 2 is then recorded as pending; run it with :func:`complete_default`
    or :func:`start_background`.
    """
    out = Path(out)
    if Registry(out).active_id is not None:
        return None
    data = Path(data).resolve()
    vid = _fit(
        data,
        out,
        ("coxnet",),
        seed,
        bootstrap,
        promote=True,
        progress=progress,
        command=f"python -m training default --data {data} --seed {seed} --bootstrap {bootstrap}",
    )
    _write_pending(
        out,
        {
            "quick": vid,
            "data": str(data),
            "seed": seed,
            "bootstrap": bootstrap,
            "recorded": datetime.now(UTC).isoformat(timespec="seconds"),
        },
    )
    return vid


def complete_default(out: str | os.PathLike, *, progress: bool = False, nice: int = 0) -> str:
    """Step 2: fit both models and promote them if step 1's bundle is still active.

    Returns a one-line account of what happened (also when nothing was to be done).
    """
    out = Path(out)
    record = pending(out)
    if record is None:
        return "no default build is pending"
    out.mkdir(parents=True, exist_ok=True)
    with open(out / LOCK, "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return "the default build is already running in another process"
        record = pending(out)  # re-read under the lock: another process may have finished
        if record is None:
            return "no default build is pending"
        registry = Registry(out)
        if registry.active_id != record["quick"]:
            (out / PENDING).unlink(missing_ok=True)
            return (
                f"default build not completed: {registry.active_id} was promoted instead "
                f"of {record['quick']}; it stays active"
            )
        if nice:
            os.nice(nice)
        vid = _fit(
            Path(record["data"]),
            out,
            ("coxnet", "rsf"),
            record["seed"],
            record["bootstrap"],
            promote=False,
            progress=progress,
            command=(
                f"python -m training default --data {record['data']} --seed {record['seed']} "
                f"--bootstrap {record['bootstrap']} (both models)"
            ),
        )
        try:
            registry.promote(vid, if_active=record["quick"])
            message = f"default bundle {vid} (Cox model and random survival forest) is active"
        except RegistryError as exc:
            message = f"default bundle {vid} written but not promoted: {exc}"
        (out / PENDING).unlink(missing_ok=True)
        return message


def start_background(out: str | os.PathLike) -> subprocess.Popen | None:
    """Run step 2 in a child process (output to ``default-build.log`` in the registry).

    The child stays in the caller's process group, so Ctrl+C in the terminal that started
    the page stops it too; the next start resumes it.
    """
    out = Path(out)
    if pending(out) is None:
        return None
    # the child keeps its own copy of the log's descriptor
    with open(out / LOG, "ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "training", "default", "--out", str(out), "--complete"],
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
