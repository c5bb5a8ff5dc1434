"""Training cost and bundle footprint on the shipped 2,000-patient cohort.

Runs the real command (`python -m training fit`, both models, default bootstrap) in a
fresh process, then reports wall time, peak memory of the largest process, the bundle's
size on disk (and per model file), and the time to load and verify it.

    .venv/bin/python benchmarks/training.py            # prints a table, writes results/training.json
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT, table, write_result

from model.bundle import read_manifest
from model.registry import Registry


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--data", default=str(ROOT / "data/synthetic/dmpm_2000.csv"))
    ap.add_argument("--bootstrap", type=int, default=50)
    ap.add_argument("--loads", type=int, default=5)
    args = ap.parse_args()
    reg = Path(tempfile.mkdtemp(prefix="hipec-train-"))
    cmd = [
        sys.executable,
        "-m",
        "training",
        "fit",
        "--data",
        args.data,
        "--out",
        str(reg),
        "--bootstrap",
        str(args.bootstrap),
        "--quiet",
        "--promote",
    ]
    t0 = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    registry = Registry(reg)
    path = registry.root / registry.active_id
    manifest = read_manifest(path)
    sizes = {p.name: p.stat().st_size / 1e6 for p in path.iterdir()}
    loads = []
    for _ in range(args.loads):
        t = time.perf_counter()
        registry.load()
        loads.append(time.perf_counter() - t)
    loads.sort()
    rows = [
        ["full fit + bootstrap validation (wall, s)", wall, "≤ 120"],
        ["peak memory, largest process (MB)", peak_mb, ""],
        ["bundle on disk (MB)", sum(sizes.values()), ""],
        ["forest file rsf.joblib (MB)", sizes.get("rsf.joblib"), "≤ 30"],
        ["Cox file coxnet.joblib (MB)", sizes.get("coxnet.joblib"), ""],
        ["report.html (MB)", sizes.get("report.html"), ""],
        [f"verify + load bundle, median of {args.loads} (s)", loads[len(loads) // 2], "≤ 1"],
    ]
    print(f"{Path(args.data).name}, bootstrap {args.bootstrap}, 2 worker processes")
    print(table(["measure", "value", "target"], rows))
    print("steps (s): " + ", ".join(f"{k} {v}" for k, v in manifest.timings_seconds.items()))
    out = write_result(
        "training",
        {
            "data": Path(args.data).name,
            "bootstrap": args.bootstrap,
            "wall_seconds": wall,
            "peak_memory_mb": peak_mb,
            "file_sizes_mb": sizes,
            "load_seconds": loads,
            "steps_seconds": manifest.timings_seconds,
        },
    )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
