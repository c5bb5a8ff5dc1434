"""A new user's first start, as the README tells it: `bash scripts/start.sh` on a fresh clone.

    python benchmarks/first_start.py [--keep DIR]

Clones this repository's HEAD into a temporary folder (no .venv, no models, package caches
off, as on a fresh machine; the packages are downloaded), runs ``scripts/start.sh`` on a
loopback port and, in headless Chromium opened beforehand (the user's browser is already
running), records the seconds from the command to:

- install: the pinned requirements installed (start.sh's next message);
- server up: the page answers its health check;
- first curve: the calculator shows the survival curve with its band and the 1/3/5-year
  table. Target: within two minutes (DESIGN.md);
- complete bundle: the background build (random survival forest, full report) promoted.

Then a new page session on the complete bundle must show the same 1/3/5-year table (the
Cox model is the same file), and a second ``start.sh`` (everything present) is timed to its
first table: "seconds after".
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from _common import ROOT, table, write_result

from model.bundle import read_manifest
from tests.ui.browser import TABLE_JS, browser, free_port, server_args

BAND_JS = (
    "() => [...document.querySelectorAll('.js-plotly-plot')].some(p => (p.data || [])"
    ".some(t => t.fill === 'toself' || t.fill === 'tonexty'))"
)


class Run:
    """``start.sh`` in its own process group, its output lines time-stamped."""

    def __init__(self, repo: Path, port: int, env: dict):
        self.t0 = time.perf_counter()
        self.lines: list[tuple[float, str]] = []
        self.proc = subprocess.Popen(
            ["bash", "scripts/start.sh", *server_args(port)],
            cwd=repo,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for raw in self.proc.stdout:
            for part in raw.decode(errors="replace").replace("\r", "\n").splitlines():
                if part.strip():
                    self.lines.append((time.perf_counter() - self.t0, part))

    def first(self, text: str) -> float | None:
        return next((t for t, line in self.lines if text in line), None)

    def stop(self):
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(self.proc.pid, signal.SIGKILL)


def wait_health(url: str, run: Run, timeout: float) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if run.proc.poll() is not None:
            raise RuntimeError("start.sh ended:\n" + "\n".join(line for _, line in run.lines[-30:]))
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return time.perf_counter() - run.t0
        except OSError:
            pass
        time.sleep(0.2)
    raise TimeoutError("the page did not come up")


def first_curve(page, url: str, run: Run) -> tuple[float, str]:
    page.goto(url)
    page.get_by_text("Survival at 3 years").first.wait_for(timeout=300_000)
    page.wait_for_function(BAND_JS, timeout=60_000)
    return time.perf_counter() - run.t0, page.evaluate(TABLE_JS)


def active_models(models: Path) -> list[str]:
    try:
        vid = json.loads((models / "registry.json").read_text())["active"]
        return list(read_manifest(models / vid).models)
    except (OSError, ValueError, KeyError, TypeError):
        return []


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--keep", type=Path, help="clone here and keep it (default: a temp dir)")
    args = ap.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="first-start-"))
    repo = work / "repo"
    shutil.rmtree(repo, ignore_errors=True)
    subprocess.run(["git", "clone", "-q", str(ROOT), str(repo)], check=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIRTUAL_ENV")}
    env.update(PIP_NO_CACHE_DIR="1", UV_NO_CACHE="1")
    result: dict = {
        "commit": subprocess.check_output(
            ["git", "rev-parse", "--short", "HEAD"], cwd=repo, text=True
        ).strip()
    }
    with browser() as b:
        page = b.new_page(viewport={"width": 1400, "height": 1000})
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        run = Run(repo, port, env)
        try:
            result["server_up_s"] = wait_health(url, run, timeout=600)
            result["install_s"] = run.first("Fitting the penalised Cox model")
            result["cox_bundle_s"] = run.first("is active")
            result["first_curve_s"], first_table = first_curve(page, url, run)
            deadline = time.monotonic() + 900
            while "rsf" not in active_models(repo / "models"):
                if time.monotonic() > deadline:
                    raise TimeoutError("the background build did not finish")
                time.sleep(1)
            result["complete_bundle_s"] = time.perf_counter() - run.t0
            page2 = b.new_page(viewport={"width": 1400, "height": 1000})
            _, table_after = first_curve(page2, url, run)
            result["same_table_on_complete_bundle"] = table_after == first_table
        finally:
            run.stop()
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        run = Run(repo, port, env)
        try:
            result["second_start_server_up_s"] = wait_health(url, run, timeout=300)
            page3 = b.new_page(viewport={"width": 1400, "height": 1000})
            result["second_start_first_curve_s"], _ = first_curve(page3, url, run)
        finally:
            run.stop()
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)

    rows = [
        ["requirements installed, `training default` started", result["install_s"], ""],
        ["Cox bundle fitted and promoted", result["cox_bundle_s"], ""],
        ["page answers", result["server_up_s"], ""],
        [
            "first curve with band and 1/3/5-year table in Chromium",
            result["first_curve_s"],
            "≤ 120",
        ],
        ["complete bundle (forest, full report) promoted", result["complete_bundle_s"], ""],
        ["second start: page answers", result["second_start_server_up_s"], ""],
        ["second start: first curve", result["second_start_first_curve_s"], "seconds"],
    ]
    print(table(["seconds from `bash scripts/start.sh`", "s", "target"], rows))
    print(
        "same 1/3/5-year table after the complete bundle took over:",
        result["same_table_on_complete_bundle"],
    )
    print(f"result: {write_result('first_start', result)}")


if __name__ == "__main__":
    main()
