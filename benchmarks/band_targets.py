"""The band's targets side by side across runs of ``benchmarks/accuracy.py``: targets
passed, how far the cells' mean coverage falls short of 0.90 and exceeds 0.98 (summed over
every world, n, input group and landmark), and the band's width at 36 months.

    .venv/bin/python benchmarks/band_targets.py accuracy_draws accuracy_draws_share_0.25

Each argument names a JSON in benchmarks/results/ (or is a path to one).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from _common import table, write_result

RESULTS = Path(__file__).parent / "results"
LOW, HIGH = 0.90, 0.98  # the coverage targets of benchmarks/accuracy.py


def band_summary(doc: dict) -> dict:
    short = over = 0.0
    widths = {}
    for t in doc["targets"]:
        if "coverage" in t["target"]:
            for v in t["measured"].split(" ")[0].split("/"):
                if v not in ("—", ""):
                    short += max(0.0, LOW - float(v))
                    over += max(0.0, float(v) - HIGH)
        elif "width" in t["target"]:
            widths[f"{t['world']} {t['train_n']}"] = round(t["measured"], 3)
    return {
        "targets_passed": sum(t["pass"] for t in doc["targets"]),
        "targets": len(doc["targets"]),
        "short_of_low_summed": round(short, 3),
        "over_high_summed": round(over, 3),
        "width_36": widths,
    }


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("runs", nargs="+", help="accuracy.py result names or JSON paths")
    ap.add_argument("--result", default="band_targets")
    args = ap.parse_args()
    out = {}
    for run in args.runs:
        path = Path(run) if run.endswith(".json") else RESULTS / f"{run}.json"
        out[run] = band_summary(json.loads(path.read_text(encoding="utf-8")))
    widths = sorted({k for s in out.values() for k in s["width_36"]})
    header = ["run", "passed", f"short of {LOW}", f"over {HIGH}", *(f"width {w}" for w in widths)]
    rows = [
        [run, f"{s['targets_passed']} of {s['targets']}", s["short_of_low_summed"],
         s["over_high_summed"], *(s["width_36"].get(w) for w in widths)]
        for run, s in out.items()
    ]  # fmt: skip
    print(table(header, rows))
    print(f"wrote {write_result(args.result, {'runs': out})}")


if __name__ == "__main__":
    main()
