"""The cost of ``evaluate``'s 95 % intervals: seconds a resample adds, per model, by size.

A Cox-only bundle is fitted on the shipped 110-patient cohort (20 refits), then
``training.evaluate.evaluate_bundle`` scores fresh simulated patients (60, 500 and 3,000)
with no resamples and with ``--resamples`` of them; the difference over the resamples is
the cost of one.

    .venv/bin/python benchmarks/evaluate_intervals.py     # prints a table, writes results/evaluate_intervals.json
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from _common import ROOT, table, write_result

from model.bundle import load_bundle
from model.schema import default_schema
from model.validation import validate_dataset
from training.evaluate import evaluate_bundle
from training.fit import FitOptions, fit_bundle
from training.simulate import simulate_cohort


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[60, 500, 3000])
    parser.add_argument("--resamples", type=int, default=50)
    args = parser.parse_args()
    schema = default_schema()
    tmp = Path(tempfile.mkdtemp(prefix="hipec-evalci-"))
    options = FitOptions(models=("coxnet",), bootstrap=20, progress=False)
    bundle = load_bundle(
        fit_bundle(ROOT / "data" / "synthetic" / "dmpm_110.csv", schema, tmp, options)
    )
    rows, records = [], {}
    for n in args.sizes:
        data = validate_dataset(simulate_cohort(n, seed=4242).data, schema).raise_if_errors()
        seconds = {}
        for boot in (0, args.resamples):
            start = time.perf_counter()
            evaluate_bundle(bundle, data, n_boot=boot)
            seconds[boot] = time.perf_counter() - start
        each = (seconds[args.resamples] - seconds[0]) / args.resamples
        records[str(n)] = {"seconds_without": seconds[0], "seconds_with": seconds[args.resamples],
                           "resamples": args.resamples, "seconds_a_resample": each}  # fmt: skip
        rows.append([n, seconds[0], seconds[args.resamples], each, 200 * each])
    header = ["patients", "s, no intervals", f"s, {args.resamples} resamples",
              "s a resample (one model)", "s added by 200"]  # fmt: skip
    print(table(header, rows))
    print(f"wrote {write_result('evaluate_intervals', records)}")


if __name__ == "__main__":
    main()
