"""Real covariates, a known truth: the GBSG2 trial's patients through ``fit`` and ``predict``.

The simulators of ``accuracy.py`` and ``independent_world.py`` invent their patients. Here the
covariates are real: rows of the German Breast Cancer Study Group 2 trial (Schumacher et al.,
J Clin Oncol 1994; 686 women with node-positive breast cancer, shipped by scikit-survival as
``load_gbsg2``), drawn with replacement, with their skewed receptor values, their ties and
their correlations as they were. Only the outcome is drawn, from a truth fitted to the real
outcome, so every patient's true S(t) is known.

The truth
---------
A log-normal accelerated failure time model (lifelines' ``LogNormalAFTFitter``; AIC 5094
on the real data against 5108 for the Weibull and log-logistic fits), fitted by maximum
likelihood on all 686 real patients and kept as fitted::

    log T = mu(x) + sigma * Z,   Z ~ N(0, 1),   S(t | x) = 1 - Phi((log t - mu(x)) / sigma)
    mu(x) = b0 + restricted cubic spline of age (knots at its 5/35/65/95th percentiles)
            + b * exp(-0.12 * pnodes) + b * log1p(progrec) + b * log1p(estrec)
            + b * tsize + horTh + menostat + tgrade (II, III against I)

(sigma about 0.93; recurrence-free survival in days). It is not a Cox model of any design the
tool fits: hazards are not proportional (the log-normal hazard rises then falls, at a
different time for each patient), age has a shape the schema does not declare (women under
40 recur much sooner than those of 45-50, whose time ratio is then nearly flat), and the
nodes effect saturates as Royston and Sauerbrei's exp(-0.12 pnodes) does, which the schema's
log1p(pnodes) only approximates.

The draws
---------
Covariates are rows of the real data drawn with replacement; event times from the truth;
censoring times from the real data's censoring distribution (reverse Kaplan-Meier, inverted;
beyond its last censoring time, censored there). About 10 % of two inputs are unknown:
progesterone receptor (more often when the oestrogen receptor is low) and tumour grade (at
random); the truth uses the values as recorded. Training n = 110 (4 draws), 500 (3) and
2,000 (2); one test sample of 3,000 with another seed.

What is run
-----------
The schema a researcher would write for these data, ``benchmarks/schemas/gbsg2.yaml`` (days,
landmarks 365/1095/1825, recurrence words, one stage, log1p for the skewed inputs, nothing
``nonlinear``), and by subprocess exactly a user's commands::

    python -m training fit --data train.csv --schema gbsg2.yaml --models coxnet --out REG \\
        --promote --quiet --bootstrap 50
    python -m training models active --out REG
    python -m training predict --bundle REG/<version> --data test.csv --out preds.csv

What is measured
----------------
From ``predict``'s CSV, at each landmark: mean absolute error of S(t) against the truth on
test patients with every input known (complete) and with an unknown (masked); coverage of the
true S(t) by the 95 % interval, complete and masked (means over draws and the lowest draw);
mean interval width; calibration slope (least squares of log(-log true S) on log(-log
predicted S)); Harrell C of the risk score against the oracle's (ranking by the true mu).
Beside it the plain scikit-survival CoxPH peer (main effects, median imputation; accuracy.py's
``peer_pipeline``) on the same training CSV. Coverage is split by age (under 40, 40-65, over
65), the shape the schema does not declare. The served design and the band's stand-in are
read from the bundle's manifest; every refusal and warning line is kept. A few deliberately
wrong files are also given to ``describe`` (a user's slips: a grade the schema does not know,
a capitalised category, yes/no unquoted in the schema) and its messages recorded.

    .venv/bin/python benchmarks/semi_synthetic.py                  # about 30 min on 2 cores
    .venv/bin/python benchmarks/semi_synthetic.py --sizes 110 --draws 1 --bootstrap 5 \\
        --result semi_synthetic_try                                # a quick look, written apart
    .venv/bin/python benchmarks/semi_synthetic.py --sizes 500 2000 --nonlinear age \\
        --result semi_synthetic_age_nonlinear      # a control: the schema declares age's shape
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from _common import ROOT, table, write_result
from accuracy import PEER_COX_ALPHA, peer_pipeline, slope_vs_truth, split_mean
from independent_world import (
    COVERAGE_OK,
    PEER_RATIO,
    SLOPE_OK,
    _lines,
    cli,
    fit_and_predict,
    warning_kinds,
)
from lifelines import LogNormalAFTFitter
from scipy.stats import norm
from sksurv.datasets import load_gbsg2
from sksurv.linear_model import CoxPHSurvivalAnalysis
from sksurv.metrics import concordance_index_censored
from sksurv.nonparametric import kaplan_meier_estimator

from model.predict import survival_on_grid
from model.schema import load_schema
from model.validation import validate_dataset
from training.estimators import survival_target

SCHEMA_PATH = ROOT / "benchmarks" / "schemas" / "gbsg2.yaml"
SIZES = {110: 4, 500: 3, 2000: 2}
TRAIN_SEED = 5151
TEST_SEED = 8383
TEST_N = 3000
AGE_KNOT_PERCENTILES = (5, 35, 65, 95)
NODES_DECAY = 0.12  # Royston and Sauerbrei's exp(-0.12 pnodes) for these data
AGE_GROUPS = {"under 40": (0, 40), "40 to 65": (40, 65.5), "over 65": (65.5, 200)}
TIME, EVENT = "rfs_days", "recurrence"


# ------------------------------------------------------------------ the truth


def rcs(x: np.ndarray, knots: np.ndarray) -> np.ndarray:
    """Restricted cubic spline's non-linear columns (Harrell's form, linear beyond the
    outer knots), scaled by the squared knot span so coefficients are of order one."""
    k = knots
    cube = lambda u: np.maximum(u, 0.0) ** 3  # noqa: E731
    cols = [
        cube(x - k[j])
        - cube(x - k[-2]) * (k[-1] - k[j]) / (k[-1] - k[-2])
        + cube(x - k[-1]) * (k[-2] - k[j]) / (k[-1] - k[-2])
        for j in range(len(k) - 2)
    ]
    return np.column_stack(cols) / (k[-1] - k[0]) ** 2


def design(X: pd.DataFrame, knots: np.ndarray) -> pd.DataFrame:
    """The truth's columns from the real covariates (complete, as recorded)."""
    age = X["age"].to_numpy(float)
    spline = rcs(age, knots)
    return pd.DataFrame(
        {
            "age": (age - 53.0) / 10.0,
            "age_s1": spline[:, 0],
            "age_s2": spline[:, 1],
            "nodes": np.exp(-NODES_DECAY * X["pnodes"].to_numpy(float)),
            "log_pgr": np.log1p(X["progrec"].to_numpy(float)),
            "log_er": np.log1p(X["estrec"].to_numpy(float)),
            "tsize_cm": X["tsize"].to_numpy(float) / 10.0,
            "horTh_yes": (X["horTh"].astype(str) == "yes").to_numpy(float),
            "post": (X["menostat"].astype(str) == "Post").to_numpy(float),
            "grade_2": (X["tgrade"].astype(str) == "II").to_numpy(float),
            "grade_3": (X["tgrade"].astype(str) == "III").to_numpy(float),
        },
        index=X.index,
    )


@dataclass(frozen=True)
class Truth:
    """The log-normal AFT fitted to the real data: mu(x), sigma, closed-form S(t | x)."""

    coef: dict[str, float]
    intercept: float
    sigma: float
    knots: np.ndarray
    aic: dict[str, float]

    def mu(self, X: pd.DataFrame) -> np.ndarray:
        d = design(X, self.knots)
        return self.intercept + d[list(self.coef)].to_numpy() @ np.array(list(self.coef.values()))

    def survival(self, mu: np.ndarray, t: float) -> np.ndarray:
        return norm.sf((np.log(t) - mu) / self.sigma)

    def age_effect(self, ages) -> dict[str, float]:
        """The age part of mu (log time ratio) at a few ages, for the record."""
        X = pd.DataFrame({"age": ages, "pnodes": 0, "progrec": 0, "estrec": 0, "tsize": 0})
        X[["horTh", "menostat", "tgrade"]] = "no", "Pre", "I"
        d = design(X, self.knots)
        part = sum(self.coef[c] * d[c] for c in ("age", "age_s1", "age_s2"))
        return {f"{a:g}": round(float(v), 3) for a, v in zip(ages, part, strict=True)}


def real_data() -> pd.DataFrame:
    X, y = load_gbsg2()
    out = X.copy()
    for c in ("horTh", "menostat", "tgrade"):
        out[c] = out[c].astype(str)
    out[TIME], out[EVENT] = y["time"], y["cens"].astype(int)
    return out.reset_index(drop=True)


def fit_truth(real: pd.DataFrame) -> Truth:
    from lifelines import LogLogisticAFTFitter, WeibullAFTFitter

    knots = np.percentile(real["age"], AGE_KNOT_PERCENTILES)
    d = design(real, knots).assign(T=real[TIME], E=real[EVENT])
    fitted = LogNormalAFTFitter().fit(d, "T", "E")
    aic = {"lognormal": float(fitted.AIC_)}
    for name, fitter in (("weibull", WeibullAFTFitter), ("loglogistic", LogLogisticAFTFitter)):
        aic[name] = float(fitter().fit(d, "T", "E").AIC_)
    mu = fitted.params_["mu_"]
    return Truth(
        coef={c: float(mu[c]) for c in d.columns if c not in ("T", "E")},
        intercept=float(mu["Intercept"]),
        sigma=float(np.exp(fitted.params_["sigma_"]["Intercept"])),
        knots=knots,
        aic={k: round(v, 1) for k, v in aic.items()},
    )


# ------------------------------------------------------------------ the draws


@dataclass(frozen=True)
class Censoring:
    """The real data's censoring distribution (reverse Kaplan-Meier), to draw from."""

    times: np.ndarray
    surv: np.ndarray

    @classmethod
    def of(cls, real: pd.DataFrame) -> Censoring:
        t, g = kaplan_meier_estimator(real[EVENT].to_numpy() == 0, real[TIME].to_numpy(float))
        return cls(t, g)

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Inversion: the first time G(t) falls to u; past the last censoring, censored there."""
        u = rng.random(n)
        idx = np.searchsorted(-self.surv, -u, side="left")
        return self.times[np.minimum(idx, len(self.times) - 1)]


def _mask(rng: np.random.Generator, rows: pd.DataFrame) -> dict[str, np.ndarray]:
    """Unknown values, about 10 % each: progesterone receptor more often when oestrogen
    receptor is low (as when a lab measures the second only after the first), grade at random."""
    n = len(rows)
    low_er = rows["estrec"].to_numpy() < 10
    return {
        "progrec": rng.random(n) < np.where(low_er, 0.16, 0.07),
        "tgrade": rng.random(n) < 0.10,
    }


def draw(real: pd.DataFrame, truth: Truth, cens: Censoring, n: int, seed: int):
    """``n`` patients: the table a registry would hold (unknowns as NaN) and the truth's mu."""
    rng = np.random.default_rng(seed)
    rows = real.iloc[rng.integers(0, len(real), n)].reset_index(drop=True)
    mu = truth.mu(rows)
    event_time = np.exp(mu + truth.sigma * rng.standard_normal(n))
    censor = cens.draw(rng, n)
    data = rows.drop(columns=[TIME, EVENT]).copy()
    data.insert(0, "patient_id", [f"GB{seed % 100000:05d}-{i + 1:05d}" for i in range(n)])
    data[TIME] = np.maximum(np.ceil(np.minimum(event_time, censor)), 1).astype(int)
    data[EVENT] = (event_time <= censor).astype(int)
    for col, unknown in _mask(rng, rows).items():
        data.loc[unknown, col] = np.nan
    return data, mu


def write_csv(data: pd.DataFrame, path: Path) -> None:
    out = data.copy()
    out["pnodes"] = out["pnodes"].astype("Int64")
    out.to_csv(path, index=False, lineterminator="\n", float_format="%g")


# ------------------------------------------------------------------ scores


def harrell_c(data: pd.DataFrame, risk: np.ndarray) -> float:
    event = data[EVENT].to_numpy().astype(bool)
    return float(concordance_index_censored(event, data[TIME].to_numpy(float), risk)[0])


def by_age(age: np.ndarray, v: np.ndarray) -> dict[str, float]:
    return {g: float(v[(age >= lo) & (age < hi)].mean()) for g, (lo, hi) in AGE_GROUPS.items()}


def tool_scores(preds: pd.DataFrame, test: dict, marks) -> dict:
    """Error, band coverage and width, slope and C of ``predict``'s CSV against the truth."""
    preds = preds.set_index("patient_id").loc[test["data"]["patient_id"]]
    masks, age = test["masks"], test["data"]["age"].to_numpy(float)
    out = {k: {} for k in ("mae", "coverage", "width", "slope", "coverage_by_age")}
    for m in marks:
        s, lo, hi = (preds[f"surv_{m.name}{x}"].to_numpy(float) for x in ("", "_lower", "_upper"))
        if np.isnan(s).any():
            continue  # beyond the training follow-up: predict says so per row
        true = test["true_s"][m.name]
        inside = ((lo <= true) & (true <= hi)).astype(float)
        out["mae"][m.name] = split_mean(np.abs(s - true), masks)
        out["coverage"][m.name] = split_mean(inside, masks)
        out["width"][m.name] = split_mean(hi - lo, masks)
        out["slope"][m.name] = slope_vs_truth(s, true)
        out["coverage_by_age"][m.name] = by_age(age, inside)
    out["harrell_c"] = harrell_c(test["data"], preds["risk_score"].to_numpy(float))
    out["rows_with_warnings"] = int((preds["warnings"].fillna("") != "").sum())
    out["warning_kinds"] = warning_kinds(preds["warnings"])
    return out


def peer_mae(train_path: Path, test: dict, schema, marks) -> dict:
    """The plain CoxPH peer, fitted on the same training CSV, scored on the same patients."""
    train = validate_dataset(train_path, schema).raise_if_errors()
    frame = validate_dataset(test["path"], schema).raise_if_errors()
    pipe = peer_pipeline(schema, CoxPHSurvivalAnalysis(alpha=PEER_COX_ALPHA))
    pipe.fit(train[schema.feature_names], survival_target(train, schema))
    grid = np.array([0.0, *(m.months for m in marks)])
    surv = survival_on_grid(pipe, frame[schema.feature_names], grid, extend=True)
    return {
        m.name: split_mean(np.abs(surv[:, j + 1] - test["true_s"][m.name]), test["masks"])
        for j, m in enumerate(marks)
    }


# ------------------------------------------------------------------ the run


def non_ph(true_s: dict[str, np.ndarray]) -> dict[str, float]:
    """How far the truth is from proportional hazards: the slope of its log(-log S(t)) on its
    log(-log S) at the middle landmark, across the test patients. Under proportional hazards
    every slope is 1, and a Cox model's calibration slope against the truth can be 1 at
    every landmark; here the spread shrinks with time, so a single hazard ratio cannot match
    all three."""
    names = list(true_s)
    mid = true_s[names[len(names) // 2]]
    return {t: slope_vs_truth(mid, s) for t, s in true_s.items()}


def make_test(real, truth, cens, schema, tmp: Path) -> dict:
    data, mu = draw(real, truth, cens, TEST_N, TEST_SEED)
    path = tmp / "test.csv"
    write_csv(data, path)
    complete = data[schema.feature_names].notna().all(axis=1).to_numpy()
    masks = {"complete": complete, "any_unknown": ~complete, "all": np.ones(len(data), bool)}
    true_s = {m.name: truth.survival(mu, m.value) for m in schema.time_axis.marks}
    return {
        "path": path,
        "data": data,
        "masks": masks,
        "true_s": true_s,
        "oracle_c": harrell_c(data, -mu),
    }


def one_draw(n: int, k: int, ctx: dict, args, tmp: Path) -> dict:
    seed = TRAIN_SEED + 1000 * k + n
    train, _ = draw(ctx["real"], ctx["truth"], ctx["cens"], n, seed)
    path = tmp / f"train_{n}_{k}.csv"
    write_csv(train, path)
    rec = {"n": n, "draw": k, "seed": seed, "events": int(train[EVENT].sum())}
    rec["unknown_share"] = {
        c: round(float(train[c].isna().mean()), 3) for c in ("progrec", "tgrade")
    }
    run = fit_and_predict(
        path, ctx["test"]["path"], tmp / f"reg_{n}_{k}", args.bootstrap, ctx["schema_path"]
    )
    rec["steps"], rec["design"] = run["steps"], run.get("design")
    marks = ctx["schema"].time_axis.marks
    if run["preds"] is not None:
        rec["tool"] = tool_scores(run["preds"], ctx["test"], marks)
    rec["peer_mae"] = peer_mae(path, ctx["test"], ctx["schema"], marks)
    return rec


def _mean(vals) -> float | None:
    vals = [v for v in vals if v is not None]
    return float(np.mean(vals)) if vals else None


def summarise(n: int, draws: list[dict], marks) -> dict:
    """Means over the draws (and the lowest coverage) of one training size."""
    ok = [d["tool"] for d in draws if "tool" in d]
    row = {"n": n, "draws": len(draws), "draws_scored": len(ok)}
    for t in (m.name for m in marks):
        got = [d for d in ok if t in d["mae"]]
        for s in ("complete", "any_unknown", "all"):
            row[f"mae_{t}_{s}"] = _mean([d["mae"][t][s] for d in got])
            row[f"peer_mae_{t}_{s}"] = _mean([d["peer_mae"][t][s] for d in draws])
            cov = [d["coverage"][t][s] for d in got if d["coverage"][t][s] is not None]
            row[f"cov_{t}_{s}"] = _mean(cov)
            row[f"cov_{t}_{s}_min"] = min(cov) if cov else None
        row[f"width_{t}"] = _mean([d["width"][t]["all"] for d in got])
        row[f"slope_{t}"] = _mean([d["slope"][t] for d in got])
        for g in AGE_GROUPS:
            row[f"cov_{t}_age_{g}"] = _mean([d["coverage_by_age"][t][g] for d in got])
    row["harrell_c"] = _mean([d["harrell_c"] for d in ok])
    return row


def shortfalls(row: dict, marks) -> list[str]:
    """Where the tool misses the project's targets at this n."""
    out = []
    for t in (m.name for m in marks):
        for s in ("complete", "any_unknown"):
            for key, what in ((f"cov_{t}_{s}", "mean"), (f"cov_{t}_{s}_min", "lowest draw")):
                v = row.get(key)
                if v is not None and not COVERAGE_OK[0] <= v <= COVERAGE_OK[1]:
                    out.append(f"coverage {t} {s} ({what}) {v:.3f}")
        mae, peer = row[f"mae_{t}_all"], row[f"peer_mae_{t}_all"]
        if mae is not None and peer and mae > PEER_RATIO * peer:
            out.append(f"MAE S({t}) {mae:.3f} > {PEER_RATIO} x peer {peer:.3f}")
        slope = row[f"slope_{t}"]
        if row["n"] >= 500 and slope is not None and not SLOPE_OK[0] <= slope <= SLOPE_OK[1]:
            out.append(f"slope S({t}) vs truth {slope:.3f}")
    return out


def print_tables(rows: list[dict], marks, oracle_c: float) -> None:
    pair = lambda a, b: "—" if a is None else f"{a:.3f}/{b:.3f}"  # noqa: E731
    names = [m.name for m in marks]
    header = ["n", "draws", *(f"MAE {t} c/m" for t in names), *(f"peer MAE {t}" for t in names)]
    header += [f"cover {t} c/m" for t in names] + ["lowest draw cover c/m"]
    header += [f"width {t}" for t in names] + [f"slope {t}" for t in names] + ["C", "oracle C"]
    body = []
    for r in rows:
        lows = " ; ".join(
            pair(r[f"cov_{t}_complete_min"], r[f"cov_{t}_any_unknown_min"]) for t in names
        )
        body.append(
            [r["n"], f"{r['draws_scored']}/{r['draws']}"]
            + [pair(r[f"mae_{t}_complete"], r[f"mae_{t}_any_unknown"]) for t in names]
            + [r[f"peer_mae_{t}_all"] for t in names]
            + [pair(r[f"cov_{t}_complete"], r[f"cov_{t}_any_unknown"]) for t in names]
            + [lows]
            + [r[f"width_{t}"] for t in names]
            + [r[f"slope_{t}"] for t in names]
            + [r["harrell_c"], oracle_c]
        )
    print(table(header, body))
    print("c/m: test patients with every input known / with an unknown; MAE and peer in S(t)")
    print("coverage by age group (mean over draws), " + " ; ".join(names) + ":")
    for r in rows:
        cell = lambda v: "—" if v is None else f"{v:.2f}"  # noqa: E731
        ages = ", ".join(
            f"{g} " + "/".join(cell(r[f"cov_{t}_age_{g}"]) for t in names) for g in AGE_GROUPS
        )
        print(f"  n = {r['n']}: {ages}")
    for r in rows:
        for s in r["shortfalls"]:
            print(f"  n = {r['n']}: {s}")


def findings(draws: list[dict]) -> list[str]:
    """Every refusal and every warning line ``fit`` or ``predict`` printed, once each, and
    the kinds of per-patient warnings in ``predict``'s CSV with their row counts."""
    out: dict[str, None] = {}
    for d in draws:
        for step, rec in d["steps"].items():
            if rec["rc"] != 0:
                out[f"n = {d['n']} draw {d['draw']}: {step} exited {rec['rc']}"] = None
            for line in rec["messages"]:
                said = line.lower()
                warned = "warn" in said and not said.startswith("wrote")
                if rec["rc"] != 0 or warned or "error" in said:
                    out[f"{step}: {line}"] = None
        for kind, count in d.get("tool", {}).get("warning_kinds", {}).items():
            if kind == "the prediction extrapolates":
                continue  # the tail of each out-of-range message, counted with it
            out[f"n = {d['n']} draw {d['draw']}: predict rows warned '{kind}': {count}"] = None
    return list(out)


# ------------------------------------------------------------------ a user's slips


def slips(real: pd.DataFrame, tmp: Path) -> list[dict]:
    """Deliberately wrong files given to ``describe``: does the refusal name the column, the
    row and the allowed values? (A check of the messages, not of the model.)"""
    good = real.head(40).drop(columns=[TIME, EVENT]).copy()
    good.insert(0, "patient_id", [f"S{i}" for i in range(len(good))])
    good[TIME], good[EVENT] = real[TIME].head(40), real[EVENT].head(40)
    schema_text = SCHEMA_PATH.read_text()
    cases = {
        "grade IV": (good.assign(tgrade=["IV"] + list(good["tgrade"][1:])), schema_text),
        "horTh Yes": (good.assign(horTh=["Yes"] + list(good["horTh"][1:])), schema_text),
        "event 2": (good.assign(**{EVENT: [2] + list(good[EVENT][1:])}), schema_text),
        "unquoted no/yes in schema": (good, schema_text.replace('["no", "yes"]', "[no, yes]")),
    }
    out = []
    for name, (data, text) in cases.items():
        d, s = tmp / "slip.csv", tmp / "slip.yaml"
        write_csv(data, d)
        s.write_text(text)
        proc = cli("describe", "--data", str(d), "--schema", str(s))
        out.append({"case": name, "rc": proc.returncode, "messages": _lines(proc)[:6]})
    return out


def schema_copy(nonlinear: list[str], tmp: Path) -> Path:
    """The schema with ``nonlinear: true`` on the named features (a control, not the user's)."""
    raw = yaml.safe_load(SCHEMA_PATH.read_text())
    unknown = set(nonlinear) - {f["name"] for f in raw["features"]}
    if unknown:
        raise SystemExit(f"--nonlinear: no feature {', '.join(sorted(unknown))} in the schema")
    for f in raw["features"]:
        if f["name"] in nonlinear:
            f["nonlinear"] = True
    path = tmp / "gbsg2_nonlinear.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    p.add_argument("--draws", type=int, default=None, help="draws per size (default 4/3/2)")
    p.add_argument("--bootstrap", type=int, default=50, help="fit's --bootstrap (default 50)")
    p.add_argument(
        "--nonlinear",
        nargs="+",
        default=[],
        metavar="FEATURE",
        help="a control: fit with a copy of the schema declaring these features nonlinear",
    )
    p.add_argument("--result", default="semi_synthetic")
    return p.parse_args()


def main() -> None:
    args = parse_args()
    t0 = time.perf_counter()
    real = real_data()
    truth = fit_truth(real)
    schema = load_schema(SCHEMA_PATH)
    marks = schema.time_axis.marks
    rows, all_draws = [], []
    with tempfile.TemporaryDirectory(prefix="semi-synthetic-") as d:
        tmp = Path(d)
        cens = Censoring.of(real)
        test = make_test(real, truth, cens, schema, tmp)
        ctx = {"real": real, "truth": truth, "cens": cens, "schema": schema, "test": test}
        ctx["schema_path"] = schema_copy(args.nonlinear, tmp) if args.nonlinear else SCHEMA_PATH
        for n in args.sizes:
            draws = []
            for k in range(args.draws or SIZES.get(n, 1)):
                draws.append(one_draw(n, k, ctx, args, tmp))
                des = draws[-1]["design"] or {}
                print(
                    f"n = {n} draw {k}: {time.perf_counter() - t0:.0f} s; served "
                    f"{des.get('terms')}, stand-in {des.get('stand_in')}",
                    flush=True,
                )
            row = summarise(n, draws, marks)
            row["shortfalls"] = shortfalls(row, marks)
            rows.append(row)
            all_draws += draws
        print_tables(rows, marks, test["oracle_c"])
        slopes = ", ".join(f"{t} {v:.2f}" for t, v in non_ph(test["true_s"]).items())
        print(f"the truth's own log(-log S) slope on the middle landmark's: {slopes}")
        notes = findings(all_draws)
        print("\n".join(["", "fit / predict said:", *notes]))
        slipped = slips(real, tmp)
        print("\na user's slips, what describe said:")
        for s in slipped:
            print(f"  {s['case']} (exit {s['rc']}): {' | '.join(s['messages'][:3])}")
    result = {
        "truth": {
            "family": "log-normal AFT (lifelines), fitted on the 686 real GBSG2 patients",
            "intercept": truth.intercept,
            "coef": truth.coef,
            "sigma": truth.sigma,
            "age_knots": truth.knots.tolist(),
            "age_log_time_ratio": truth.age_effect([25, 30, 35, 40, 45, 50, 55, 60, 65, 70, 80]),
            "aic": truth.aic,
        },
        "test": {
            "n": TEST_N,
            "seed": TEST_SEED,
            "oracle_c": test["oracle_c"],
            "complete_share": float(test["masks"]["complete"].mean()),
            "events": int(test["data"][EVENT].sum()),
            "mean_true_s": {k: float(v.mean()) for k, v in test["true_s"].items()},
            "truth_cloglog_slope_on_middle_landmark": non_ph(test["true_s"]),
        },
        "schema": str(SCHEMA_PATH.relative_to(ROOT)),
        "declared_nonlinear": args.nonlinear,
        "bootstrap": args.bootstrap,
        "rows": rows,
        "findings": notes,
        "slips": slipped,
        "draws": all_draws,
        "wall_seconds": round(time.perf_counter() - t0, 1),
    }
    print(f"wrote {write_result(args.result, result)}")


if __name__ == "__main__":
    main()
