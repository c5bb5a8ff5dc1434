"""A crash-safe registry: SIGKILL at any point leaves it consistent.

Two complementary loops, each followed after every kill by the same checks
(:func:`check_registry`): registry.json parses, every bundle it lists verifies, the active
bundle loads and predicts, no half-written bundle is listed, and leftover temporaries are
ignored (and removed by the next write).

1. Every step: a forked child runs exactly what ``fit --promote`` does once the model is
   fitted (``write_bundle``, ``Registry.register``, ``Registry.promote``), or a rollback,
   and SIGKILLs itself just before its k-th file-system operation or in the middle of its
   k-th write, for every k. Deterministic and thorough.
2. Random: the real command line (``python -m training fit ... --promote``,
   ``models promote``, ``models rollback``) in subprocesses, SIGKILLed after random delays.
   Bounded by HARDEN_KILL_SECONDS (default 40 s); set it higher for a longer soak.
3. The first start's two-step default build (``training default``), killed three times at
   random, then run to the end.
"""

from __future__ import annotations

import builtins
import io
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import joblib
import numpy as np
import pytest

from model.bundle import TMP_PREFIX, write_bundle
from model.families import CoxnetFamily
from model.manifest import Manifest
from model.registry import INDEX, Registry

ROOT = Path(__file__).resolve().parents[2]
KILL_SECONDS = float(os.environ.get("HARDEN_KILL_SECONDS", "40"))
MAX_STEPS = int(os.environ.get("HARDEN_MAX_STEPS", "400"))  # crash points per loop

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork and SIGKILL")


# ------------------------------------------------------------------------- checks
def check_registry(root: Path, loaded: set) -> str:
    """The guarantees after any crash; returns the active id."""
    reg = Registry(root)
    doc = reg._read()  # parses, and has the right structure (else RegistryError)
    assert doc["active"] is not None, "the active bundle was lost"
    for vid in doc["bundles"]:
        reg.verify(vid)  # complete, unaltered, right library versions
        assert not vid.startswith(".")
    assert {r["version_id"] for r in reg.rows()} == set(doc["bundles"])
    key = (doc["active"], doc["bundles"][doc["active"]]["manifest_sha256"])
    if key not in loaded:  # bundles never change once written: load each one once
        result = reg.load_last_good()
        assert not result.fell_back and result.version_id == doc["active"], result.skipped
        (p,) = CoxnetFamily(result.bundle).predict(result.bundle.reference_patient())
        assert np.isfinite(p.survival).all() and (np.diff(p.survival) <= 1e-12).all()
        loaded.add(key)
    # leftovers of killed writes are hidden, and nothing lists them
    for p in root.iterdir():
        if p.name.startswith(TMP_PREFIX) or p.name.startswith(f".{INDEX}."):
            assert p.name not in doc["bundles"]
    return doc["active"]


def leftovers(root: Path) -> list[str]:
    return sorted(
        p.name
        for p in root.iterdir()
        if p.name.startswith(TMP_PREFIX) or p.name.startswith(f".{INDEX}.")
    )


# ---------------------------------------------------------------- 1. every step
class KillAt:
    """In a forked child: SIGKILL the process just before its k-th file-system operation.

    The disk only changes at these operations (creating, writing, renaming, removing,
    syncing, locking), so killing before each of them, and in the middle of each write
    (half the bytes written and flushed), reaches every state a crash can leave.
    """

    OS_CALLS = ("rename", "replace", "mkdir", "makedirs", "rmdir", "unlink", "remove", "fsync")

    def __init__(self, k: int | None):
        self.k, self.n = k, 0

    def tick(self, before_kill=None) -> None:
        self.n += 1
        if self.k is not None and self.n >= self.k:
            if before_kill:
                before_kill()
            os.kill(os.getpid(), signal.SIGKILL)

    def _wrap(self, fn):
        def wrapped(*args, **kwargs):
            self.tick()
            return fn(*args, **kwargs)

        return wrapped

    def install(self) -> None:
        import fcntl
        import shutil

        for name in self.OS_CALLS:
            setattr(os, name, self._wrap(getattr(os, name)))
        shutil.rmtree = self._wrap(shutil.rmtree)
        fcntl.flock = self._wrap(fcntl.flock)
        real_open = builtins.open
        killer = self

        class CutWrites:
            def __init__(self, fh):
                self._fh = fh

            def write(self, data):
                def partial():
                    self._fh.write(data[: len(data) // 2])
                    self._fh.flush()

                killer.tick(partial)
                return self._fh.write(data)

            def __enter__(self):
                self._fh.__enter__()
                return self

            def __exit__(self, *exc):
                return self._fh.__exit__(*exc)

            def __iter__(self):
                return iter(self._fh)

            def __getattr__(self, name):
                return getattr(self._fh, name)

        def counting_open(file, mode="r", *args, **kwargs):
            if not any(c in mode for c in "wax+"):
                return real_open(file, mode, *args, **kwargs)
            killer.tick()  # before the file is created or truncated
            return CutWrites(real_open(file, mode, *args, **kwargs))

        builtins.open = io.open = counting_open


def run_in_child(action, k: int | None) -> tuple[bool, int]:
    """Run action() in a forked child killed at step k; (was it killed, steps counted)."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 1
        try:
            os.close(r)
            killer = KillAt(k)
            killer.install()
            action()
            sys.settrace(None)
            os.write(w, str(killer.n).encode())
            code = 0
        except BaseException:
            import traceback

            traceback.print_exc()
        finally:
            os._exit(code)
    os.close(w)
    with os.fdopen(r) as fh:
        out = fh.read()
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        assert os.WTERMSIG(status) == signal.SIGKILL
        return True, k
    assert os.WEXITSTATUS(status) == 0, "the child failed without being killed (see stderr)"
    return False, int(out)


@pytest.fixture(scope="module")
def cox_parts(small_bundle):
    """What fit_bundle passes to write_bundle, taken from a real bundle (Cox model only)."""
    m = json.loads((small_bundle / "manifest.json").read_text())
    models = {"coxnet": joblib.load(small_bundle / "coxnet.joblib")}
    artifacts = {a: joblib.load(small_bundle / f) for a, f in m["artifacts"].items()}
    for key in ("files", "libraries", "artifacts", "format"):
        m.pop(key)
    m["models"] = {"coxnet": m["models"]["coxnet"]}
    m["default_model"] = "coxnet"
    extra = {"report.json": (small_bundle / "report.json").read_bytes()}
    return models, Manifest.from_dict(m), artifacts, extra


def publish(root: Path, parts, vid: str) -> None:
    """The tail of training.fit.fit_bundle with --promote."""
    models, manifest, artifacts, extra = parts
    path = write_bundle(root, vid, models, manifest, extra_files=extra, artifacts=artifacts)
    reg = Registry(root)
    reg.register(path)
    reg.promote(vid)


def crash_points(n: int) -> list[int]:
    """Every step 1..n, or an even spread of MAX_STEPS of them."""
    if n <= MAX_STEPS:
        return list(range(1, n + 1))
    return sorted({int(round(x)) for x in np.linspace(1, n, MAX_STEPS)})


def test_sigkill_at_every_step_of_writing_registering_and_promoting(tmp_path, cox_parts):
    root = tmp_path / "models"
    publish(root, cox_parts, "v0000")  # something active to begin with
    loaded: set = set()
    killed, total = run_in_child(lambda: publish(root, cox_parts, "count"), None)
    assert not killed and total > 30
    check_registry(root, loaded)
    seen_leftovers = 0
    for k in crash_points(total):
        vid = f"v{k:04d}"
        was_killed, _ = run_in_child(lambda vid=vid: publish(root, cox_parts, vid), k)
        assert was_killed
        seen_leftovers += bool(leftovers(root))
        check_registry(root, loaded)
    assert seen_leftovers, "no kill landed inside a write: the loop tests nothing"
    # a complete write afterwards removes the temporaries of the killed ones
    publish(root, cox_parts, "v9999")
    assert leftovers(root) == []
    assert check_registry(root, loaded) == "v9999"


def test_sigkill_at_every_step_of_rollback(tmp_path, cox_parts):
    root = tmp_path / "models"
    for vid in ("a", "b"):
        publish(root, cox_parts, vid)
    reg = Registry(root)
    loaded: set = set()
    killed, total = run_in_child(reg.rollback, None)
    assert not killed and reg.active_id == "a"
    for k in crash_points(total):
        reg.promote("b")  # history [a], active b
        run_in_child(reg.rollback, k)
        assert check_registry(root, loaded) in ("a", "b")


# ------------------------------------------------------------------ 2. random kills
def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "training", *args]


WRITE_MARKER = b"report and bundle"  # fit's last step (progress bar): report, write, register


class Command:
    """A CLI subprocess whose stderr is collected as it comes (to see fit's progress)."""

    def __init__(self, cmd: list[str], env: dict):
        self.t0 = time.monotonic()
        # its own process group: a kill takes its worker processes too (as a crash of the
        # job would), so none lingers holding the pipe or the two cores
        self.proc = subprocess.Popen(
            cmd,
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        self.err = b""
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for chunk in iter(lambda: self.proc.stderr.read1(4096), b""):
            self.err += chunk

    def wait_for(self, marker: bytes | None, until: float) -> bool:
        """Wait until marker is in stderr (True), or the process ends or time is up (False)."""
        while time.monotonic() < until and self.proc.poll() is None:
            if marker is not None and marker in self.err:
                return True
            time.sleep(0.02)
        return False

    def kill_or_finish(self, until: float) -> str:
        self.wait_for(None, until)
        killed = self.proc.poll() is None
        if killed:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        self._reader.join()
        self.proc.stderr.close()
        if killed:
            return "killed"
        # a command that finished either worked or refused with a message, never a traceback
        assert b"Traceback" not in self.err, self.err.decode(errors="replace")
        return "done" if self.proc.returncode == 0 else "refused"


def test_random_sigkill_of_fit_promote_and_rollback_commands(tmp_path, small_bundle):
    """The real commands, killed after random delays, for HARDEN_KILL_SECONDS.

    Most fit kills land in its last step (written report, bundle, registration,
    promotion): the command's progress bar says when that step starts.
    """
    import shutil

    from training.simulate import simulate_cohort, write_cohort

    seed = int(os.environ.get("HARDEN_SEED", time.time_ns() % 2**32))
    rng = random.Random(seed)
    data, root = tmp_path / "cohort.csv", tmp_path / "models"
    write_cohort(simulate_cohort(150, seed=5), data)
    root.mkdir()
    shutil.copytree(small_bundle, root / small_bundle.name)  # something active to begin with
    Registry(root).register(root / small_bundle.name)
    Registry(root).promote(small_bundle.name)
    fit = cli(
        "fit", "--data", str(data), "--out", str(root), "--bootstrap", "2",
        "--models", "coxnet", "--promote",
    )  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "80"}
    loaded: set = set()
    check_registry(root, loaded)

    # how long things take here: a registry command, and the last step of a fit (refined
    # whenever one completes)
    c = Command(cli("models", "active", "--out", str(root)), env)
    assert c.kill_or_finish(time.monotonic() + 120) == "done"
    verb_time, write_time = time.monotonic() - c.t0, 3.0

    outcomes: dict[str, int] = {}
    deadline = time.monotonic() + KILL_SECONDS
    while time.monotonic() < deadline:
        verb = rng.choice(["fit", "fit", "promote", "rollback"])
        if verb == "fit":
            c = Command(fit, env)
            if rng.random() < 0.8 and c.wait_for(WRITE_MARKER, deadline):
                at_marker = time.monotonic()
                status = c.kill_or_finish(at_marker + rng.uniform(0.3, 1.1) * write_time)
                # the writing is at the end of the last step: learn how long that step takes
                # (until a fit completes, widen the window after each kill)
                write_time = time.monotonic() - at_marker if status == "done" else write_time * 1.2
            else:  # anywhere in the run
                status = c.kill_or_finish(min(deadline, time.monotonic() + rng.uniform(0, 20)))
        else:
            args = ["promote", rng.choice(Registry(root).ids())] if verb == "promote" else [verb]
            c = Command(cli("models", *args, "--out", str(root)), env)
            status = c.kill_or_finish(time.monotonic() + rng.uniform(0.5, 1.2) * verb_time)
        outcomes[f"{verb} {status}"] = outcomes.get(f"{verb} {status}", 0) + 1
        t_check = time.monotonic()
        check_registry(root, loaded)
        print(
            f"{verb} {status} after {t_check - c.t0:.1f} s; check {time.monotonic() - t_check:.1f} s"
        )
    print(f"random SIGKILL loop (HARDEN_SEED={seed}): {outcomes}; leftovers {leftovers(root)}")
    assert sum(n for k, n in outcomes.items() if k.endswith("killed")) >= 1


def test_default_build_killed_at_random_completes_at_the_next_start(tmp_path):
    """`training default` (what start.sh runs) SIGKILLed at random moments of its two steps:
    after every kill the registry holds, the build's record parses, and the next start
    finishes the job: the complete bundle (both models) active, nothing left pending."""
    from training.default import pending
    from training.simulate import simulate_cohort, write_cohort

    seed = int(os.environ.get("HARDEN_SEED", time.time_ns() % 2**32))
    rng = random.Random(seed)
    data, root = tmp_path / "cohort.csv", tmp_path / "models"
    write_cohort(simulate_cohort(150, seed=5), data)
    start = cli(
        "default", "--out", str(root), "--data", str(data), "--bootstrap", "1",
        "--foreground", "--quiet",
    )  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    loaded: set = set()
    outcomes = []
    for _ in range(3):
        c = Command(start, env)
        outcomes.append(c.kill_or_finish(time.monotonic() + rng.uniform(2.0, 14.0)))
        record = pending(root)
        assert record is None or isinstance(record.get("token"), str)
        if (root / INDEX).exists() and Registry(root).active_id is not None:
            check_registry(root, loaded)
    c = Command(start, env)
    assert c.kill_or_finish(time.monotonic() + 300) == "done", c.err.decode(errors="replace")
    active = check_registry(root, loaded)
    manifest = json.loads((root / active / "manifest.json").read_text())
    assert set(manifest["models"]) == {"coxnet", "rsf"}, (outcomes, manifest["models"])
    assert pending(root) is None
    print(f"default build kills (HARDEN_SEED={seed}): {outcomes}; leftovers {leftovers(root)}")
