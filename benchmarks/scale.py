"""How training's cost grows with the number of patients, step by step.

For each size a simulated cohort is drawn (same seed) and `fit` runs in a fresh process
(the real `training.fit.fit_bundle`, default settings, both families; the Cox family alone
at the sizes given to --cox-sizes), timing each step and sampling the resident memory of the
process and its workers (every 0.1 s, summed over the process tree). Then the bundle's size,
the time to verify and load it and one patient's prediction (curve, band, contributions)
are measured, with the machine's load before and after each fit. The growth table gives,
for each step, the exponent k in time ~ n^k between successive sizes (1 is linear). With
--cluster-n (2,000 by default), the same fit also runs on a local Dask cluster of 1 and of
2 worker processes (`fit --cluster`), and its bundle is compared with the local one.

    .venv/bin/python benchmarks/scale.py    # 2,000, 5,000, 20,000; Cox 100,000; cluster at 2,000
    .venv/bin/python benchmarks/scale.py --sizes 2000,5000 --cox-sizes '' --cluster-n 0
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from functools import wraps
from pathlib import Path

import numpy as np
from _common import RESULTS, ROOT, table, write_result

STEPS = (
    "tuning",
    "final fit",
    "bootstrap validation",
    "band calibration",
    "imputation",
    "explanations",
    "report",
    "bundle write",
    "other",
)


# --- the child: one instrumented fit -------------------------------------------------------


class _Profile:
    """Exclusive wall time, CPU time and peak tree memory per step (nested steps are not
    counted twice).

    CPU time is summed over the process and its workers: on a machine shared with other
    jobs the wall time stretches with their load, while the CPU time a step needs does not,
    so CPU seconds / 2 estimates a quiet 2-core machine's wall time where the work is spread.
    """

    def __init__(self):
        import psutil

        self.proc = psutil.Process()
        # [label, start, time spent in nested steps, CPU at start, CPU of nested steps]
        self.stack: list[list] = []
        self.seconds: dict[str, float] = {}
        self.cpu_s: dict[str, float] = {}
        self.peak_mb: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _tree_mb(self) -> float:
        total = 0
        for p in [self.proc, *self.proc.children(recursive=True)]:
            try:
                total += p.memory_info().rss
            except Exception:  # a worker that has just ended
                pass
        return total / 1e6

    def tree_cpu(self) -> float:
        """CPU seconds of the process, its ended children and its live workers."""
        t = self.proc.cpu_times()
        total = t.user + t.system + t.children_user + t.children_system
        for p in self.proc.children(recursive=True):
            try:
                c = p.cpu_times()
                total += c.user + c.system
            except Exception:  # a worker that has just ended
                pass
        return total

    def _sample(self):
        while not self._stop.wait(0.1):
            label = self.stack[-1][0] if self.stack else "other"
            mb = self._tree_mb()
            self.peak_mb[label] = max(self.peak_mb.get(label, 0.0), mb)

    @contextmanager
    def step(self, label):
        frame = [label, time.perf_counter(), 0.0, self.tree_cpu(), 0.0]
        self.stack.append(frame)
        try:
            yield
        finally:
            self.stack.pop()
            spent = time.perf_counter() - frame[1]
            cpu = self.tree_cpu() - frame[3]
            self.seconds[label] = self.seconds.get(label, 0.0) + spent - frame[2]
            self.cpu_s[label] = self.cpu_s.get(label, 0.0) + cpu - frame[4]
            if self.stack:
                self.stack[-1][2] += spent
                self.stack[-1][4] += cpu

    def wrap(self, owner, name, label):
        original = getattr(owner, name)

        @wraps(original)
        def timed(*args, **kwargs):
            lab = label(args) if callable(label) else label
            with self.step(lab):
                return original(*args, **kwargs)

        setattr(owner, name, timed)


def child(args) -> None:
    """Fit once with every step timed; print the profile as JSON."""
    import training.families as fam
    import training.fit as fit_mod
    import training.report as report_mod
    from model.schema import default_schema

    prof = _Profile()
    for cls in fam.TRAINERS.values():
        name = cls.family.name
        prof.wrap(cls, "tune", f"tuning {name}")
        prof.wrap(cls, "fit", f"final fit {name}")
        prof.wrap(cls, "explain", f"explanations {name}")
    prof.wrap(
        fit_mod, "bootstrap_validation", lambda a: f"bootstrap validation {a[1].func.__name__}"
    )
    prof.wrap(fam, "calibrate_inflation", "band calibration coxnet")
    prof.wrap(fam.ImputationDraws, "fit", "imputation coxnet")
    prof.wrap(report_mod, "build_report", "report")
    prof.wrap(fit_mod, "write_bundle", "bundle write")
    options = fit_mod.FitOptions(
        models=tuple(args.models.split(",")),
        bootstrap=args.bootstrap,
        progress=False,
        cluster=args.cluster,
    )
    prof._thread.start()
    t0 = time.perf_counter()
    with prof.step("other"):
        path = fit_mod.fit_bundle(Path(args.data), default_schema(), Path(args.out), options)
    wall = time.perf_counter() - t0
    prof._stop.set()
    print(
        json.dumps(
            {
                "bundle": str(path),
                "wall_s": wall,
                "seconds": prof.seconds,
                "cpu_s": prof.cpu_s,
                "cpu_s_all": sum(prof.cpu_s.values()),
                "peak_mb": prof.peak_mb,
                "peak_mb_all": max(prof.peak_mb.values(), default=0.0),
            }
        )
    )


# --- the parent: sizes, bundles, tables --------------------------------------------------


def _family_of(label: str) -> str:
    # "bootstrap validation _coxnet_boot_refit" -> coxnet; "_forest_refit" -> rsf
    if "_forest" in label:
        return label.split(" _")[0] + " rsf"
    if "_coxnet" in label:
        return label.split(" _")[0] + " coxnet"
    return label


def run_fit(data: Path, out: Path, models: str, bootstrap: int, cluster: str | None) -> dict:
    cmd = [sys.executable, __file__, "--child", "--data", str(data), "--out", str(out)]
    cmd += ["--models", models, "--bootstrap", str(bootstrap)]
    if cluster:
        cmd += ["--cluster", cluster]
    # the machine may be shared: its load (1-minute average, runnable processes) before and
    # after says how far the times stand from a quiet machine's
    load_before = os.getloadavg()[0]
    res = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if res.returncode:
        sys.exit(f"fit at {data.name} failed:\n{res.stderr[-3000:]}")
    prof = json.loads(res.stdout.strip().splitlines()[-1])
    prof["load_1min"] = [load_before, os.getloadavg()[0]]
    prof["seconds"] = {_family_of(k): v for k, v in prof["seconds"].items()}
    prof["peak_mb"] = {_family_of(k): v for k, v in prof["peak_mb"].items()}
    prof["cpu_s"] = {_family_of(k): v for k, v in prof["cpu_s"].items()}
    return prof


def measure_bundle(path: Path, loads: int = 5) -> dict:
    from model.bundle import load_bundle
    from model.families import CoxnetFamily, ForestFamily
    from model.validation import validate_dataset
    from training.simulate import simulate_cohort

    sizes = {p.name: p.stat().st_size / 1e6 for p in path.iterdir()}
    times = []
    for _ in range(loads):
        t = time.perf_counter()
        bundle = load_bundle(path)
        times.append(time.perf_counter() - t)
    one = validate_dataset(simulate_cohort(50, 777).data, bundle.schema).raise_if_errors()
    row = one[bundle.schema.feature_names].iloc[[0]]
    latency = {}
    for engine in (CoxnetFamily, ForestFamily):
        if engine.name not in bundle.models:
            continue
        e = engine(bundle)
        ts = []
        for _ in range(20):
            t = time.perf_counter()
            e.predict(row, contributions=True)
            ts.append(time.perf_counter() - t)
        latency[engine.name] = 1000 * float(np.median(ts))
    return {
        "bundle_mb": sum(sizes.values()),
        "file_mb": sizes,
        "load_s": float(np.median(times)),
        "one_patient_ms": latency,
    }


def cohort(n: int, folder: Path) -> Path:
    from training.simulate import simulate_cohort, write_cohort

    path = folder / f"cohort_{n}.csv"
    if not path.exists():
        write_cohort(simulate_cohort(n, seed=2026), path)
    return path


def same_bundle(a: Path, b: Path) -> dict:
    """Which files are byte-identical, and which manifest keys differ."""
    ma = json.loads((a / "manifest.json").read_text())
    mb = json.loads((b / "manifest.json").read_text())
    files = {f: ma["files"][f] == mb["files"].get(f) for f in ma["files"]}
    keys = sorted(k for k in set(ma) | set(mb) if k != "files" and ma.get(k) != mb.get(k))
    return {"identical_files": files, "manifest_keys_differing": keys}


def growth(rows: list[dict]) -> list[list]:
    """Exponent k of cost ~ n^k for each step between successive sizes of one family set:
    of CPU seconds where both sizes have them (a shared machine's load stretches wall time
    by different factors at different sizes), else of wall seconds."""
    out = []
    steps = sorted({s for r in rows for s in r["seconds"]})
    for s in steps:
        line = [s]
        for r1, r2 in zip(rows, rows[1:], strict=False):
            key = "cpu_s" if "cpu_s" in r1 and "cpu_s" in r2 else "seconds"
            t1, t2 = r1[key].get(s), r2[key].get(s)
            ok = t1 and t2 and t1 > 0.05
            line.append(math.log(t2 / t1) / math.log(r2["n"] / r1["n"]) if ok else None)
        out.append(line)
    return out


def run_cluster(data: Path, work: Path, bootstrap: int, local_bundle: Path) -> dict:
    from distributed import LocalCluster

    out = {}
    for workers in (1, 2):
        with LocalCluster(
            n_workers=workers, processes=True, threads_per_worker=1, dashboard_address=":0"
        ) as lc:
            t = time.perf_counter()
            prof = run_fit(
                data, work / f"cluster{workers}", "coxnet,rsf", bootstrap, lc.scheduler_address
            )
            out[f"{workers}_workers_wall_s"] = time.perf_counter() - t
            out[f"{workers}_workers_steps_s"] = prof["seconds"]
            out[f"{workers}_workers_load_1min"] = prof["load_1min"]
            out[f"{workers}_workers_vs_local"] = same_bundle(local_bundle, Path(prof["bundle"]))
    return out


def _sizes(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def _load(r: dict) -> str | None:
    return "{:.1f} / {:.1f}".format(*r["load_1min"]) if "load_1min" in r else None


def print_tables(results: list[dict]) -> None:
    for models in sorted({r["models"] for r in results}):
        rows = [r for r in results if r["models"] == models]
        steps = sorted({s for r in rows for s in r["seconds"]})
        print(f"\n{models}: wall seconds / CPU seconds, all processes (peak tree memory MB)")
        body = [
            [
                s,
                *(
                    f"{r['seconds'][s]:.1f} / {r.get('cpu_s', {}).get(s, 0):.1f}"
                    f" ({r['peak_mb'].get(s, 0):.0f})"
                    if s in r["seconds"]
                    else None
                    for r in rows
                ),
            ]
            for s in steps
        ]
        body += [
            ["total wall (s)", *(f"{r['wall_s']:.0f}" for r in rows)],
            ["total CPU, all processes (s)", *(f"{r.get('cpu_s_all', 0):.0f}" for r in rows)],
            ["peak memory, process tree (MB)", *(f"{r['peak_mb_all']:.0f}" for r in rows)],
            ["load before / after (1 min)", *(_load(r) for r in rows)],
            ["bundle (MB)", *(f"{r['bundle_mb']:.1f}" for r in rows)],
            ["forest file (MB)", *(r["file_mb"].get("rsf.joblib") for r in rows)],
            ["verify + load (s)", *(r["load_s"] for r in rows)],
            *[
                [f"one patient, {m} (ms)", *(r["one_patient_ms"].get(m) for r in rows)]
                for m in models.split(",")
            ],
        ]
        print(table(["step", *(f"n={r['n']:,}" for r in rows)], body))
        if len(rows) > 1:
            print(f"\n{models}: growth exponent k (CPU seconds ~ n^k) between sizes")
            heads = [f"{a['n']:,}->{b['n']:,}" for a, b in zip(rows, rows[1:], strict=False)]
            print(table(["step", *heads], growth(rows)))


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--sizes", default="2000,5000,20000", help="both families")
    ap.add_argument("--cox-sizes", default="100000", help="the Cox family alone")
    ap.add_argument("--bootstrap", type=int, default=50)
    ap.add_argument(
        "--cluster-n",
        type=int,
        default=2000,
        help="also fit this size on a local Dask cluster of 1 and of 2 workers (0: not)",
    )
    ap.add_argument("--add", action="store_true", help="keep the other sizes of results/scale.json")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--data", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    ap.add_argument("--models", default="coxnet,rsf", help=argparse.SUPPRESS)
    ap.add_argument("--cluster", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args)
        return
    work = Path(tempfile.mkdtemp(prefix="hipec-scale-"))
    plan = [(n, "coxnet,rsf") for n in _sizes(args.sizes)]
    plan += [(n, "coxnet") for n in _sizes(args.cox_sizes)]
    results, bundles = [], {}
    for n, models in plan:
        data = cohort(n, work)
        prof = run_fit(data, work / f"models_{n}_{models}", models, args.bootstrap, None)
        bundles[n, models] = Path(prof["bundle"])
        results.append({"n": n, "models": models, **prof, **measure_bundle(Path(prof["bundle"]))})
        print(f"n={n:,} {models}: {prof['wall_s']:.0f} s", flush=True)
    cluster = None
    if args.add and (RESULTS / "scale.json").exists():
        before = json.loads((RESULTS / "scale.json").read_text())
        done = {(r["n"], r["models"]) for r in results}
        kept = [r for r in before["results"] if (r["n"], r["models"]) not in done]
        results = sorted(kept + results, key=lambda r: (r["models"], r["n"]))
        cluster = before.get("cluster")
    print_tables(results)
    if args.cluster_n:
        n = args.cluster_n
        if (n, "coxnet,rsf") not in bundles:
            prof = run_fit(
                cohort(n, work), work / f"models_{n}", "coxnet,rsf", args.bootstrap, None
            )
            bundles[n, "coxnet,rsf"] = Path(prof["bundle"])
            results.append({"n": n, "models": "coxnet,rsf", **prof, "local_only": True})
        cluster = {
            "n": n,
            **run_cluster(cohort(n, work), work, args.bootstrap, bundles[n, "coxnet,rsf"]),
        }
        local = next(r for r in results if r["n"] == n and r["models"] == "coxnet,rsf")
        print(f"\nn={n:,} on a local Dask cluster (fit --cluster), bootstrap {args.bootstrap}")
        print(
            table(
                [
                    "run",
                    "wall (s)",
                    "load before / after",
                    "files identical to the local bundle",
                    "manifest keys differing",
                ],
                [["local, 2 processes", local["wall_s"], _load(local), "—", "—"]]
                + [
                    [
                        f"{w} worker{'s' if w > 1 else ''}",
                        cluster[f"{w}_workers_wall_s"],
                        "{:.1f} / {:.1f}".format(*cluster[f"{w}_workers_load_1min"]),
                        ", ".join(
                            f
                            for f, same in cluster[f"{w}_workers_vs_local"][
                                "identical_files"
                            ].items()
                            if same
                        ),
                        ", ".join(cluster[f"{w}_workers_vs_local"]["manifest_keys_differing"]),
                    ]
                    for w in (1, 2)
                ],
            )
        )
    out = write_result(
        "scale",
        {
            "bootstrap": args.bootstrap,
            "results": results,
            "growth": {
                m: growth([r for r in results if r["models"] == m and not r.get("local_only")])
                for m in {r["models"] for r in results}
            },
            "cluster": cluster,
        },
    )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
