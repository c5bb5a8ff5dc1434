"""Atomic writes and file locks (model/fileio.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from model.fileio import (
    atomic_write_bytes,
    atomic_write_json,
    atomic_write_text,
    locked,
    pid_alive,
    remove_dead_temporaries,
    temporary_path,
)
from tests.conftest import ROOT


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_atomic_writes_replace_the_whole_file_and_leave_no_temporary(tmp_path):
    target = tmp_path / "doc.json"
    atomic_write_json(target, {"b": 1, "a": [1, 2]})
    assert json.loads(target.read_text()) == {"b": 1, "a": [1, 2]}
    assert target.read_text() == json.dumps({"b": 1, "a": [1, 2]}, indent=2)
    atomic_write_text(target, "line\n", newline="")
    assert target.read_bytes() == b"line\n"
    atomic_write_bytes(target, b"\x00\x01", durable=False)
    assert target.read_bytes() == b"\x00\x01"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["doc.json"]


def test_a_failed_write_keeps_the_old_file(tmp_path):
    target = tmp_path / "doc.json"
    atomic_write_json(target, {"old": True})
    with pytest.raises(TypeError):
        atomic_write_json(target, {"new": object()})
    assert json.loads(target.read_text()) == {"old": True}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["doc.json"]


def test_temporaries_of_dead_processes_are_removed_by_the_next_write(tmp_path):
    target = tmp_path / "registry.json"
    dead = target.with_name(f".registry.json.{_dead_pid()}.tmp")
    alive = target.with_name(f".registry.json.{os.getppid()}.tmp")
    other = tmp_path / ".other.json.1.tmp"
    for p in (dead, alive, other):
        p.write_text("half")
    assert temporary_path(target).name == f".registry.json.{os.getpid()}.tmp"
    atomic_write_json(target, {})
    assert not dead.exists() and alive.exists() and other.exists()
    assert remove_dead_temporaries(target) == []


def test_pid_alive():
    assert pid_alive(os.getpid()) and not pid_alive(_dead_pid())


def test_a_lock_held_elsewhere_is_reported_without_waiting(tmp_path):
    lock = tmp_path / "sub" / ".lock"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from model.fileio import locked\n"
            f"with locked({str(lock)!r}):\n"
            "    print('held', flush=True); sys.stdin.read()",
        ],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with locked(lock, wait=False) as mine:
            assert mine is False
    finally:
        holder.communicate("")
    with locked(lock, wait=False) as mine:
        assert mine is True
        with locked(lock, wait=False) as again:  # flock: a second open file is refused too
            assert again is False
