"""The page's speed: input change to redrawn chart, cold start, and 20 concurrent users.

    python benchmarks/app.py [--models models] [--sessions 20] [--changes 30]

Uses the active bundle of the registry (``scripts/start.sh`` builds the default one).
- rerun: server-side time of one input change on the calculator (Streamlit's AppTest
  runs the page script in process: prediction, band, contributions, figures, tables),
  median over ``--changes`` PCI values. Target <= 150 ms.
- cold start: a fresh ``streamlit run`` process until headless Chromium shows the first
  survival table (imports, bundle verification and loading, first prediction). Target <= 3 s.
- concurrency: ``--sessions`` users with a browser session each, all open at once, each
  changing the PCI ``--steps`` times, 3-10 s apart (typing a patient in); every
  step must show that user's own patient's numbers (no state bleeding); the median time
  from Enter to the updated table in Chromium, against one user alone. Target: within 3x.
  Browser and server share the machine's cores, so this includes 20 pages' rendering.
  The same users again over Streamlit's websocket protocol without a browser (the
  server's share), at typing pace and at a stress pace of 0.5-2.5 s between changes.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

from _common import ROOT, table, write_result

sys.path.insert(0, str(ROOT))

from model.engine import Engine
from model.registry import Registry
from tests.ui.browser import browser, serve, sessions
from tests.ui.browser import plans as make_plans

# seconds between one user's input changes: a clinician typing a patient in, and a stress case
TYPING = (3.0, 10.0)
STRESS = (0.5, 2.5)

COLD_SNIPPET = """
import time
t0 = time.perf_counter()
from ui.launch import _preload
_preload()  # what ui.launch does while the server starts
t1 = time.perf_counter()
from streamlit.testing.v1 import AppTest
at = AppTest.from_file({app!r}, default_timeout=120).run()
assert not at.exception and len(at.table) == 1
t2 = time.perf_counter()
print(t2 - t0, t2 - t1)
"""


def rerun_latency(models: Path, changes: int) -> dict:
    import os

    from streamlit.testing.v1 import AppTest

    os.environ["HIPEC_MODELS"] = str(models)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    times = []
    for k in range(changes):
        at.text_input(key="patient.pci").input(str(5 + k % 30))
        t0 = time.perf_counter()
        at.run()
        times.append(time.perf_counter() - t0)
        assert not at.exception and len(at.table) == 1
    return {"median_ms": 1000 * statistics.median(times), "max_ms": 1000 * max(times)}


def cold_apptest(models: Path) -> tuple[float, float]:
    """(fresh process to first page, first page once the imports are preloaded), seconds."""
    out = subprocess.run(
        [sys.executable, "-c", COLD_SNIPPET.format(app=str(ROOT / "app.py"))],
        env={**__import__("os").environ, "HIPEC_MODELS": str(models)},
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    total, page = out.stdout.strip().splitlines()[-1].split()
    return float(total), float(page)


def cold_browser(models: Path, log: Path) -> dict:
    """Seconds from launching the server to the health check, and to the first table."""
    with browser() as b:
        page = b.new_page()
        t0 = time.perf_counter()
        with serve(models, log) as url:
            up = time.perf_counter() - t0
            page.goto(url)
            page.get_by_text("Survival at 3 years").first.wait_for(timeout=120_000)
            first = time.perf_counter() - t0
    return {"server_up_s": up, "first_table_s": first}


def _summary(single: list[float], many: list[list[dict]], plans, think) -> dict:
    """Medians for one user and for all, and how many steps showed the user's own numbers."""
    times = [s["seconds"] for user in many for s in user]
    correct = sum(
        all(w in got["table"] for w in step["expected"])
        for user, plan in zip(many, plans, strict=True)
        for got, step in zip(user, plan, strict=True)
    )
    s1, sn = statistics.median(single), statistics.median(times)
    return {
        "think_time_s": list(think),
        "single_median_s": s1,
        "concurrent_median_s": sn,
        "concurrent_p90_s": statistics.quantiles(times, n=10)[-1],
        "ratio": sn / s1,
        "correct_steps": correct,
        "steps": len(times),
    }


def concurrency(models: Path, n: int, steps: int, log: Path, think=TYPING) -> dict:
    engine = Engine(Registry(models).load())
    plans = make_plans(engine, n, steps)
    with serve(models, log) as url:
        single = [s["seconds"] for s in sessions(url, plans[:1], think)[0]]
        many = sessions(url, plans, think)
    return {"sessions": n, "steps_per_user": steps, **_summary(single, many, plans, think)}


def concurrency_protocol(models: Path, n: int, steps: int, log: Path, think=TYPING) -> dict:
    engine = Engine(Registry(models).load())
    plans = make_plans(engine, n, steps)
    with serve(models, log) as url:
        sessions(url, plans[:1], think=(0, 0), browsers=0)  # warm the server's caches
        single = [s["seconds"] for s in sessions(url, plans[:1], think, browsers=0)[0]]
        many = sessions(url, plans, think, browsers=0)
    return _summary(single, many, plans, think)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", type=Path, default=ROOT / "models")
    ap.add_argument("--sessions", type=int, default=20)
    ap.add_argument("--changes", type=int, default=30)
    ap.add_argument("--steps", type=int, default=4, help="Input changes per concurrent user.")
    args = ap.parse_args()
    if Registry(args.models).active_id is None:
        sys.exit(f"no active bundle in {args.models}: run scripts/start.sh first")
    log = Path("/tmp") / "hipec-bench-server.log"
    rerun = rerun_latency(args.models, args.changes)
    cold = cold_apptest(args.models)
    browser_cold = cold_browser(args.models, log)
    conc = concurrency(args.models, args.sessions, args.steps, log)
    proto = concurrency_protocol(args.models, args.sessions, args.steps, log)
    stress = concurrency_protocol(args.models, args.sessions, args.steps, log, STRESS)
    c = conc
    rows = [
        [
            "input change -> redrawn page, server side (median)",
            f"{rerun['median_ms']:.0f} ms",
            "<= 150 ms",
        ],
        ["input change, server side (max)", f"{rerun['max_ms']:.0f} ms", ""],
        ["cold start: fresh process, imports + bundle + first page", f"{cold[0]:.2f} s", ""],
        ["cold start: first page, imports preloaded by ui.launch", f"{cold[1]:.2f} s", "<= 3 s"],
        [
            "cold start, server launch -> first table in Chromium",
            f"{browser_cold['first_table_s']:.2f} s",
            "",
        ],
        [
            "one user: Enter -> updated table in Chromium (median)",
            f"{c['single_median_s']:.2f} s",
            "",
        ],
        [f"{c['sessions']} users at once: same (median)", f"{c['concurrent_median_s']:.2f} s", ""],
        [
            f"{c['sessions']} users at once: same (90th percentile)",
            f"{c['concurrent_p90_s']:.2f} s",
            "",
        ],
        [f"{c['sessions']} users / one user (medians)", f"{c['ratio']:.2f}x", "<= 3x"],
        [
            "steps that showed the user's own patient's numbers",
            f"{c['correct_steps']}/{c['steps']}",
            "all",
        ],
    ]
    for p, pace in ((proto, "typing pace"), (stress, "stress")):
        lo, hi = p["think_time_s"]
        rows += [
            [
                f"websocket, one user, {pace} ({lo:g}-{hi:g} s apart)",
                f"{p['single_median_s'] * 1000:.0f} ms",
                "",
            ],
            [
                f"websocket, {c['sessions']} users, {pace} (median)",
                f"{p['concurrent_median_s'] * 1000:.0f} ms",
                "",
            ],
            [
                f"websocket, {c['sessions']} users, {pace} (90th pct)",
                f"{p['concurrent_p90_s'] * 1000:.0f} ms",
                "",
            ],
            [f"websocket, {c['sessions']} users / one user, {pace}", f"{p['ratio']:.2f}x", "<= 3x"],
            [
                f"websocket, {pace}: steps with own numbers",
                f"{p['correct_steps']}/{p['steps']}",
                "all",
            ],
        ]
    print(table(["measure", "value", "target"], rows))
    path = write_result(
        "app",
        {
            "bundle": Registry(args.models).active_id,
            "rerun": rerun,
            "cold_start_fresh_process_s": cold[0],
            "cold_start_first_page_preloaded_s": cold[1],
            "cold_start_browser": browser_cold,
            "concurrency": conc,
            "concurrency_websocket_typing": proto,
            "concurrency_websocket_stress": stress,
        },
    )
    print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
