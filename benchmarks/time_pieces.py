"""A Cox model in time pieces as a candidate design: what it would gain, measured before it
is built.

The served Cox model assumes that every hazard ratio holds at every time. Where an effect
fades or grows (the ``nonph`` world: hazard ratios that change after 12 months) no design
of main effects, splines and interactions can follow it, and the curves at 12 months are
biased for every patient alike. The band's stand-in (training/band.py) already fits the
served design separately in time pieces; here the same pieces are scored as the *model*.

For each world x training n x draw the Cox family is tuned and fitted as ``fit`` does it
(design, l1 ratio and penalty by cross-validated IBS). On the served design's features and
at its penalty, the model is then refitted in K time pieces cut at quantiles of the death
times (:func:`training.band.time_pieces_at`), for

* ``K = 1``: the proportional-hazards model (one piece is the whole time axis);
* ``K = apart``: the pieces fitted apart that the check's first rule chooses (what ``fit``
  served before fused pieces were scored beside them);
* ``K = cv``: the pieces ``fit``'s check of proportional hazards chooses and ``fit``
  serves (:func:`training.time_pieces.hazards_over_time`: cross-validated partial
  likelihood on the shipped folds, more pieces only past the corrected standard error, 50
  deaths a piece at least; fused towards the first piece's coefficients where the check
  chose a fusion, :mod:`model.fused_pieces`, shown as ``2f8``: two pieces, fusion 8):
  pieces only where the data show a change;
* ``K = scored``: what the pieces' scores alone chose, before ``fit`` asks that a factor's
  own test or a large gain confirm them (it serves one piece where neither does; shown as
  ``1 (2f8)``);
* ``K = 2`` and ``K = rule`` (the band stand-in's one piece per 65 deaths, 3-6).

The error of S(12/36/60) against the world's truth is measured on test patients with every
input known (c) and with an input unknown (m; the unknown imputed by the served pipeline's
conditional mean, the same for every K). Worlds: the three of ``training simulate``, the
independent world of ``benchmarks/independent_world.py`` (also with a falling hazard,
``independent_early``: proportional hazards, most deaths early), the fading world of
``benchmarks/fading_world.py`` (an independent tester's: one effect that fades at a year,
in days), on request the nonph world with its changes at 4 or 30 months instead of 12
(``nonph_at_4``, ``nonph_at_30``: is the check tuned to changes at a landmark?), and the two
real-covariate cohorts
of ``benchmarks/semi_synthetic.py`` (GBSG2: a log-normal truth, hazards not proportional;
WHAS500: Weibull), each with its own schema, in days.

    .venv/bin/python benchmarks/time_pieces.py --n 500 2000 --draws 2
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from dataclasses import replace

import fading_world as fw
import independent_world as iw
import numpy as np
import semi_synthetic as ss
from _common import RESULTS, table, write_result
from design_choice import train_seed

from model.fused_pieces import FusedPiecewiseCox
from model.predict import cox_baseline_on_grid
from model.schema import default_schema, load_schema
from model.validation import validate_dataset
from training.band import _cuts, stand_in_pieces, time_pieces_at
from training.estimators import coxnet_step
from training.families import CoxnetTrainer
from training.fit import FitOptions, _predicting_alone, _training_set
from training.simulate import WORLDS, SimulationSettings, simulate_cohort
from training.time_pieces import hazards_over_time

WORLD_NAMES = (*WORLDS, "independent", "independent_early", "fading", *ss.CASES)
# the nonph world with its changes moved off the 12-month landmark: early (perioperative,
# well before the median death time) and late (after it); not in the default run
MOVED = {"nonph_at_4": 4.0, "nonph_at_30": 30.0}
VARIANTS = ("1", "apart", "scored", "cv", "2", "rule")
TEST_SEED = 777  # the simulated worlds' test patients (accuracy.py's)


class World:
    """A world's schema and a way to draw patients with their true S at its landmarks."""

    def __init__(self, name: str):
        self.name = name
        if name in ss.CASES:
            case = ss.CASES[name]
            self.schema = load_schema(case.schema_path)
            real = case.load().reset_index(drop=True)
            self.ctx = {
                "real": real,
                "truth": ss.fit_truth(case, real, self.schema),
                "schema": self.schema,
                "cens": ss.Censoring.of(real, self.schema),
            }
        elif name == "fading":
            self.schema = load_schema(fw.SCHEMA)
        else:
            self.schema = default_schema()
        self.marks = {m.name: m.value for m in self.schema.time_axis.marks}

    def seed(self, n: int, draw: int) -> int:
        if self.name in ss.CASES:
            return ss.TRAIN_SEED + 1000 * draw + n
        return train_seed(self.name, n, draw)

    def test_seed(self) -> int:
        own = {"independent": iw.TEST_SEED, "independent_early": iw.TEST_SEED}
        return {**own, "fading": fw.TEST_SEED}.get(
            self.name, ss.TEST_SEED if self.name in ss.CASES else TEST_SEED
        )

    def cohort(self, n: int, seed: int):
        """Patients and their true S at each landmark (by the schema's landmark names)."""
        if self.name in ss.CASES:
            data, mu, _ = ss.draw(self.ctx, n, seed)
            truth = self.ctx["truth"]
            return data, {k: truth.survival(mu, v) for k, v in self.marks.items()}
        if self.name in ("independent", "independent_early"):
            own = "u_age_early" if self.name == "independent_early" else "u_age"
            data, truth = iw.world_simulator(own)(n, seed)
            return data, {k: truth[f"s{k}"].to_numpy() for k in self.marks}
        if self.name == "fading":
            return fw.simulate(n, seed)
        if self.name in MOVED:
            settings = replace(
                SimulationSettings.for_world("nonph"), change_months=MOVED[self.name]
            )
        else:
            settings = SimulationSettings.for_world(self.name)
        c = simulate_cohort(n, seed, settings)
        return c.data, {k: c.truth[f"true_surv_{k}"].to_numpy() for k in self.marks}


def errors(surv: np.ndarray, d, truth: dict, complete: np.ndarray) -> dict:
    """MAE of S(t) at each landmark the grid reaches, complete and masked inputs."""
    out = {}
    for name, months in d.horizons.items():
        if months > d.grid[-1]:
            continue
        err = np.abs(surv[:, int(np.searchsorted(d.grid, months))] - truth[name])
        out[name] = {"c": float(err[complete].mean()), "m": float(err[~complete].mean())}
    return out


def one_draw(world: World, n: int, draw: int, test) -> dict:
    t0 = time.perf_counter()
    schema = world.schema
    seed = world.seed(n, draw)
    data, _ = world.cohort(n, seed)
    df = validate_dataset(data, schema).raise_if_errors()
    d = _training_set(df, schema, FitOptions(progress=False, n_jobs=2))
    trainer = CoxnetTrainer(d)
    tuned = trainer.tune()
    # K = 1 is the proportional-hazards model the pieces are compared with (fit now serves
    # the pieces where its check chooses them)
    tuned.params.pop("time_cuts_months", None)
    final = _predicting_alone(trainer.fit(tuned.params))
    est = final[-1]
    alpha = float(est.alphas_[0])
    step = lambda a: coxnet_step(schema, tuned.params["l1_ratio"], a)  # noqa: E731
    Z = final[:-1].transform(d.X)
    X_test, truth, complete = test
    Zt = final[:-1].transform(X_test).to_numpy(dtype=float)
    deaths = int(d.y[d.y.dtype.names[0]].sum())
    rule = stand_in_pieces(deaths)
    check = hazards_over_time(
        final, d.X, d.y, schema, tuned.params["l1_ratio"], d.folds, d.grid,
        d.reference, d.contrasts,
    )  # fmt: skip
    cv = check["pieces"]
    # what the pieces' scores chose before a factor's test or a large gain was asked to
    # confirm them (the same where either does)
    scored = check.get("unconfirmed") or {"pieces": cv, "fusion": check.get("fusion")}
    served_h0 = cox_baseline_on_grid(est, list(Z.columns), d.grid)
    surv = {"1": np.exp(-served_h0[None, :] * np.exp(Zt @ est.coef_[:, 0])[:, None])}
    counts = {"1": 1, "apart": check.get("pieces_apart", cv), "scored": scored["pieces"],
              "cv": cv, "2": 2, "rule": rule}  # fmt: skip
    fusions = {"scored": scored.get("fusion"), "cv": check.get("fusion")}
    # the check's own cuts (two pieces may be cut off the median); K = 2 and the rule's at
    # equal shares of the deaths
    cuts = {
        "apart": check.get("apart_cuts_months", check["cuts_months"]),
        "scored": scored.get("cuts_months", check["cuts_months"]),
        "cv": check["cuts_months"],
    }
    for name in VARIANTS[1:]:
        k = counts[name]
        if k == 1:
            surv[name] = surv["1"]
            continue
        at = tuple(cuts.get(name) or _cuts(d.y, k))
        if fusions.get(name):  # served fused, as fit serves it
            fused = FusedPiecewiseCox(step(alpha), at, fusion=fusions[name])
            surv[name] = np.exp(-fused.fit(Z, d.y).cumulative_hazard_on_grid(Zt, d.grid))
            continue
        model = time_pieces_at(Z, d.y, d.grid, step, alpha, at)
        surv[name] = np.exp(-model.cumulative_hazard(Zt))
    return {
        "world": world.name,
        "n": n,
        "draw": draw,
        "seed": seed,
        "deaths": deaths,
        "design": tuned.params["terms"],
        "pieces": counts,
        "fusion": check.get("fusion"),
        "unconfirmed": check.get("unconfirmed"),
        "fused_loglik": check.get("fused_heldout_loglik"),
        "fold_logliks": check.get("fold_logliks"),
        "cv_loglik": check.get("heldout_loglik"),
        "two_piece_loglik": check.get("two_piece_heldout_loglik"),
        "cuts_months": cuts,
        "flagged_by_own_test": check["schoenfeld"].get("flagged", []),
        "errors": {v: errors(surv[v], d, truth, complete) for v in VARIANTS},
        "seconds": round(time.perf_counter() - t0, 1),
    }


def _pieces_said(k: int, fusion) -> str:
    return f"{k}" + (f"f{fusion:.3g}" if fusion else "")


def _served(r: dict) -> str:
    """``2f8``: two pieces, fusion 8; ``1 (2f8)``: one served where the scores chose those."""
    u = r.get("unconfirmed")
    said = _pieces_said(r["pieces"]["cv"], r.get("fusion"))
    return said + (f" ({_pieces_said(u['pieces'], u.get('fusion'))})" if u else "")


def summarise(rows: list[dict]) -> list[dict]:
    """Per world, n, landmark and variant: mean error over draws (draws reaching it)."""
    out = []
    for world, n in dict.fromkeys((r["world"], r["n"]) for r in rows):
        mine = [r for r in rows if (r["world"], r["n"]) == (world, n)]
        for t in dict.fromkeys(k for r in mine for k in r["errors"]["1"]):
            reach = [r for r in mine if t in r["errors"]["1"]]
            if not reach:
                continue
            row = {"world": world, "n": n, "month": t, "draws": len(reach)}
            row["cv_pieces"] = "/".join(_served(r) for r in reach)
            for v in VARIANTS:
                for kind in ("c", "m"):
                    row[f"{v}_{kind}"] = float(np.mean([r["errors"][v][t][kind] for r in reach]))
            out.append(row)
    return out


def rules(rows: list[dict]) -> dict:
    """Over the draws whose scores chose pieces: the mean error of S(t) (every input known,
    mean over the landmarks) served by the scores alone, by the factors' tests alone (pieces
    only where a factor is flagged) and by ``fit``'s rule (served)."""
    chosen = [
        r for r in rows if (r.get("unconfirmed") or {"pieces": r["pieces"]["cv"]})["pieces"] > 1
    ]

    def err(r: dict, variant: str) -> float:
        e = r["errors"]
        return float(np.mean([e[variant][t]["c"] for t in e["1"]]))

    test_only = [err(r, "scored" if r["flagged_by_own_test"] else "1") for r in chosen]
    return {
        "draws": len(chosen),
        "scores_alone": float(np.mean([err(r, "scored") for r in chosen])) if chosen else None,
        "tests_alone": float(np.mean(test_only)) if chosen else None,
        "served": float(np.mean([err(r, "cv") for r in chosen])) if chosen else None,
    }


def print_table(summary: list[dict]) -> None:
    header = ["world", "n", "landmark", "draws", "K by CV"] + [
        f"K={v} {kind}" for v in VARIANTS for kind in ("c", "m")
    ]
    keys = ["world", "n", "month", "draws", "cv_pieces"] + [
        f"{v}_{kind}" for v in VARIANTS for kind in ("c", "m")
    ]
    print(table(header, [[s[k] for k in keys] for s in summary]))


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--worlds", nargs="+", choices=[*WORLD_NAMES, *MOVED],
                    default=list(WORLD_NAMES))  # fmt: skip
    ap.add_argument("--n", nargs="+", type=int, default=[500, 2000])
    ap.add_argument("--draws", type=int, default=2, help="training draws per world and n")
    ap.add_argument("--test-n", type=int, default=3000)
    ap.add_argument("--result", default="time_pieces")
    ap.add_argument("--rules-of", default=None, metavar="RESULT",
                    help="fit nothing: compare the pieces' rules on results/RESULT.json")  # fmt: skip
    return ap.parse_args()


def main() -> None:
    args = parse_args()
    if args.rules_of:
        print(
            json.dumps(rules(json.loads((RESULTS / f"{args.rules_of}.json").read_text())["rows"]))
        )
        return
    warnings.filterwarnings("ignore")
    t0 = time.perf_counter()
    rows = []
    for name in args.worlds:
        world = World(name)
        schema = world.schema
        test_data, truth = world.cohort(args.test_n, world.test_seed())
        X_test = validate_dataset(test_data, schema).raise_if_errors()[schema.feature_names]
        complete = X_test.notna().all(axis=1).to_numpy()
        first = next(iter(world.marks))
        for n in args.n:
            for draw in range(args.draws):
                row = one_draw(world, n, draw, (X_test, truth, complete))
                e = row["errors"]
                print(
                    f"{name} n={n} draw {draw}: {row['design']}, K by CV {row['pieces']['cv']} "
                    f"of {row['pieces']['rule']}; MAE S({first}) c K=1 {e['1'][first]['c']:.3f} "
                    f"K=cv {e['cv'][first]['c']:.3f} ({row['seconds']} s)",
                    flush=True,
                )
                rows.append(row)
    summary = summarise(rows)
    print_table(summary)
    path = write_result(
        args.result,
        {
            "worlds": args.worlds,
            "train_n": args.n,
            "draws": args.draws,
            "test_n": args.test_n,
            "variants": list(VARIANTS),
            "summary": summary,
            "rules": rules(rows),
            "rows": rows,
            "wall_seconds": round(time.perf_counter() - t0, 1),
        },
    )
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
