"""Crash-safe file writes and file locks, defined once for every writer in the project.

An atomic write puts the new content in a hidden temporary beside the target
(``.<name>.<pid>.tmp``), flushes and fsyncs it, replaces the target with one
``os.replace`` and fsyncs the folder, so the target is always either the old or the
new file, whole, even after a power cut. A write killed half-way leaves only its
temporary, which nothing reads and the next write of the same target removes once
the process that made it is gone (:func:`remove_dead_temporaries`).

:func:`locked` is an ``flock`` on a lock file, released when the process ends (also
when it is killed), with a non-blocking option for "someone else is already doing it".
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = [
    "atomic_write_bytes",
    "atomic_write_json",
    "atomic_write_text",
    "fsync_path",
    "locked",
    "pid_alive",
    "remove_dead_temporaries",
    "temporary_path",
]

_TMP_SUFFIX = ".tmp"


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists (owned by anyone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by someone else
        return True
    return True


def fsync_path(path: str | os.PathLike) -> None:
    """fsync a file or a folder (a folder: so that a rename in it survives a power cut).

    Best effort: a path that cannot be opened or synced is skipped.
    """
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def temporary_path(path: str | os.PathLike) -> Path:
    """Where this process writes the new content of ``path`` before the rename."""
    path = Path(path)
    return path.with_name(f".{path.name}.{os.getpid()}{_TMP_SUFFIX}")


def remove_dead_temporaries(path: str | os.PathLike) -> list[str]:
    """Remove the temporaries of ``path`` left by writes whose process has died; return them.

    A temporary of a process still alive (a write in progress elsewhere) is left alone.
    """
    path = Path(path)
    prefix = f".{path.name}."
    removed = []
    for p in path.parent.glob(f"{prefix}*{_TMP_SUFFIX}"):
        try:
            pid = int(p.name[len(prefix) : -len(_TMP_SUFFIX)])
        except ValueError:
            continue
        if pid != os.getpid() and not pid_alive(pid):
            p.unlink(missing_ok=True)
            removed.append(p.name)
    return removed


def atomic_write_bytes(path: str | os.PathLike, data: bytes, *, durable: bool = True) -> None:
    """Replace ``path`` by ``data`` in one rename (see the module's description).

    ``durable=False`` skips the fsyncs: still atomic for readers and after a crash of the
    process, but not guaranteed to survive a power cut (for many small output files).
    """
    path = Path(path)
    remove_dead_temporaries(path)
    tmp = temporary_path(path)
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            if durable:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if durable:
        fsync_path(path.parent)  # the rename itself survives a power cut


def atomic_write_text(
    path: str | os.PathLike,
    text: str,
    *,
    encoding: str = "utf-8",
    newline: str | None = None,
    durable: bool = True,
) -> None:
    """:func:`atomic_write_bytes` of ``text``; ``newline`` as for :func:`open` (``""``: as is)."""
    if newline is None:
        newline = os.linesep
    if newline not in ("", "\n"):
        text = text.replace("\n", newline)
    atomic_write_bytes(path, text.encode(encoding), durable=durable)


def atomic_write_json(
    path: str | os.PathLike,
    doc,
    *,
    default: Callable | None = None,
    indent: int = 2,
    durable: bool = True,
) -> None:
    """:func:`atomic_write_bytes` of ``doc`` as indented UTF-8 JSON (keys in their order)."""
    atomic_write_bytes(
        path, json.dumps(doc, indent=indent, default=default).encode("utf-8"), durable=durable
    )


@contextmanager
def locked(path: str | os.PathLike, *, wait: bool = True) -> Iterator[bool]:
    """Hold an exclusive ``flock`` on the lock file ``path`` (created if need be).

    Yields True once the lock is held. With ``wait=False`` it does not wait: it yields
    False at once when another process holds the lock (the body then must not do the
    locked work). The lock is released on leaving the block, and by the system when the
    process ends, however it ends.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
