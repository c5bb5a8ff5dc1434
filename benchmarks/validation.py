"""Dataset validation at scale: 100,000 patients and a 50 MB file.

Each size is validated in a fresh process so its peak memory is its own.

    .venv/bin/python benchmarks/validation.py            # prints a table, writes results/validation.json
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import ROOT, table, write_result

from training.simulate import cohort_to_csv, simulate_cohort

CHILD = """
import json, resource, sys, time
sys.path.insert(0, {root!r})
from model.schema import default_schema
from model.validation import validate_dataset
t = time.perf_counter()
r = validate_dataset(sys.argv[1], default_schema())
print(json.dumps({{"seconds": time.perf_counter() - t, "ok": r.ok, "rows": 0 if r.data is None else len(r.data),
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="hipec-val-"))
    text = cohort_to_csv(simulate_cohort(100_000, seed=1).data)
    header, body = text.split("\n", 1)
    (tmp / "rows_100k.csv").write_text(text)
    with open(tmp / "file_50mb.csv", "w") as fh:  # repeat the rows with fresh ids up to 50 MB
        fh.write(header + "\n")
        i = 0
        while fh.tell() < 50e6:
            fh.write(body.replace("SIM", f"B{i}_"))
            i += 1
    rows, records = [], {}
    for name in ("rows_100k.csv", "file_50mb.csv"):
        path = tmp / name
        out = subprocess.run(
            [sys.executable, "-c", CHILD.format(root=str(ROOT)), str(path)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        r = json.loads(out.strip().splitlines()[-1])
        r["megabytes"] = path.stat().st_size / 1e6
        records[name] = r
        rows.append(
            [name, f"{r['megabytes']:.1f}", r["rows"], r["seconds"], f"{r['peak_mb']:.0f}", r["ok"]]
        )
    print(table(["file", "MB", "rows", "seconds", "peak MB", "valid"], rows))
    print(f"wrote {write_result('validation', records)}")


if __name__ == "__main__":
    main()
