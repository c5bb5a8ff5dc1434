"""Batch PDF reports: `python -m training report` on 1,000 simulated patients.

    python benchmarks/reports.py [--models models] [--n 1000]

Wall time of the whole command (bundle verification and loading, predictions with bands
and contributions, one PDF per patient, written atomically), for the default vector
figures. Target: under a minute for 1,000 reports.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT, table, write_result

sys.path.insert(0, str(ROOT))

from model.registry import Registry


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", type=Path, default=ROOT / "models")
    ap.add_argument("--n", type=int, default=1000)
    args = ap.parse_args()
    reg = Registry(args.models)
    if reg.active_id is None:
        sys.exit(f"no active bundle in {args.models}: run scripts/start.sh first")
    bundle = reg.path(reg.active_id)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "patients.csv"
        subprocess.run(
            [
                sys.executable,
                "-m",
                "training",
                "simulate",
                "--n",
                str(args.n),
                "--seed",
                "4242",
                "--out",
                str(data),
            ],
            check=True,
            cwd=ROOT,
            capture_output=True,
        )
        out = Path(tmp) / "reports"
        t0 = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "training",
                "report",
                "--bundle",
                str(bundle),
                "--data",
                str(data),
                "--out",
                str(out),
            ],
            check=True,
            cwd=ROOT,
            capture_output=True,
        )
        seconds = time.perf_counter() - t0
        files = list(out.glob("*.pdf"))
        size = sum(f.stat().st_size for f in files) / len(files)
    rows = [
        [f"{args.n} reports, wall time", f"{seconds:.1f} s", "< 60 s"],
        ["per report", f"{1000 * seconds / args.n:.0f} ms", ""],
        ["PDF files written", str(len(files)), str(args.n)],
        ["mean file size", f"{size / 1024:.1f} KB", ""],
    ]
    print(table(["measure", "value", "target"], rows))
    path = write_result(
        "reports",
        {
            "bundle": reg.active_id,
            "n": args.n,
            "seconds": seconds,
            "files": len(files),
            "mean_kb": size / 1024,
        },
    )
    print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
