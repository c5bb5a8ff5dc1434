"""Real covariates, a known truth: two public cohorts' patients through ``fit`` and ``predict``.

The simulators of ``accuracy.py`` and ``independent_world.py`` invent their patients. Here the
covariates are real rows, each drawn about equally often, with their skewed values, ties and
correlations as they were; only the outcome is drawn, from a truth fitted to the real outcome,
so every patient's true S(t) is known. Two cohorts that scikit-survival ships, both in days:

* **gbsg2**: German Breast Cancer Study Group 2 (Schumacher et al., J Clin Oncol 1994), 686
  women with node-positive breast cancer, recurrence-free survival from randomisation.
* **whas500**: Worcester Heart Attack Study (Hosmer, Lemeshow & May 2008), 500 patients with
  acute myocardial infarction, survival from admission.

The truths
----------
For each cohort a log-normal and a Weibull accelerated failure time model (lifelines) are
fitted by maximum likelihood on all real patients; the one with the lower AIC is the truth,
kept as fitted::

    log T = mu(x) + scale * e,   S(t | x) = P(e > (log t - mu(x)) / scale)

with e standard normal (log-normal) or standard minimum extreme value (Weibull). ``mu`` is
linear in the inputs plus a restricted cubic spline (knots at the 5/35/65/95th percentiles)
of one covariate that the schema enters linearly:

* gbsg2 (log-normal, AIC 5094 against the Weibull's 5131; scale 0.93): spline of **age**
  (women under 40 recur much sooner, the time ratio peaks near 46 and dips near 61),
  exp(-0.12 pnodes) (Royston and Sauerbrei's saturating nodes effect, which the schema's
  log1p(pnodes) only approximates), log1p of both receptors, tumour size, hormonal therapy,
  menopausal status, grade. Hazards are not proportional: the log-normal hazard rises then
  falls, and the spread of log(-log S) across patients at 365 days is 1.5 times that at 1,095
  and 0.8 times at 1,825, so no single hazard ratio fits all three landmarks.
* whas500 (Weibull, AIC 3303 against 3311; a hazard falling after the infarction): spline of
  **BMI** (survival much worse below 22, best near 29, worse again above 34), age, heart rate,
  both blood pressures, log1p length of stay and the eight binary histories and
  complications. Proportional hazards hold, so only the BMI shape is outside the schema.

The draws
---------
Covariates: real rows, none twice up to the cohort's size and each as often as any other to
within one beyond it (drawn with replacement, about a third of 500 patients would be copies
of another, which favours flexible designs in cross-validation); event times from the
truth; censoring times from the real data's censoring distribution (reverse Kaplan-Meier,
inverted; beyond its last censoring time, censored there). About 10 % of two inputs are unknown (the truth uses the
values as recorded): gbsg2 progesterone receptor (more often when the oestrogen receptor is
low) and grade (at random); whas500 BMI (more often over 80 years) and heart failure (at
random). Training n = 110 (4 draws), 500 (3) and 2,000 (2); one test sample of 3,000 with
another seed.

What is run
-----------
The schema a researcher would write for each cohort (``benchmarks/schemas/<cohort>.yaml``:
days, landmarks 365/1095/1825, the cohort's words, one stage, log1p for skewed inputs,
nothing ``nonlinear``) and by subprocess exactly a user's commands::

    python -m training fit --data train.csv --schema SCHEMA --models coxnet --out REG \\
        --promote --quiet --bootstrap 50
    python -m training models active --out REG
    python -m training predict --bundle REG/<version> --data test.csv --out preds.csv

What is measured
----------------
From ``predict``'s CSV, at each landmark: mean absolute error of S(t) against the truth on
test patients with every input known (complete) and with an unknown (masked); coverage of the
true S(t) by the 95 % interval, complete and masked (mean over draws and the lowest draw);
mean interval width; calibration slope (least squares of log(-log true S) on log(-log
predicted S)); Harrell C of the risk score against the oracle's (ranking by the true mu).
Beside it the plain scikit-survival CoxPH peer (main effects, median imputation;
accuracy.py's ``peer_pipeline``) on the same training CSV. Coverage is split by the bent
covariate, the shape the schema does not declare; the truth's own departure from
proportional hazards is reported. The served design and the band's stand-in are read from
each bundle's manifest; every refusal and warning line is kept. A few deliberately wrong
GBSG2 files are also given to ``describe`` (a grade the schema does not know, a capitalised
category, an event coded 2, yes/no unquoted in the schema) and its messages recorded.

    .venv/bin/python benchmarks/semi_synthetic.py                  # about 13 min on 2 cores
    .venv/bin/python benchmarks/semi_synthetic.py --cases gbsg2 --sizes 110 --draws 1 \\
        --bootstrap 5 --result semi_synthetic_try                  # a quick look, written apart
    .venv/bin/python benchmarks/semi_synthetic.py --cases gbsg2 --sizes 500 2000 \\
        --nonlinear age --result semi_synthetic_age_nonlinear  # a control: age's shape declared
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
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
    findings,
    fit_and_predict,
    warning_kinds,
)
from lifelines import LogNormalAFTFitter, WeibullAFTFitter
from scipy.stats import norm
from sksurv.datasets import load_gbsg2, load_whas500
from sksurv.linear_model import CoxPHSurvivalAnalysis
from sksurv.metrics import concordance_index_censored
from sksurv.nonparametric import kaplan_meier_estimator

from model.predict import survival_on_grid
from model.schema import load_schema
from model.validation import validate_dataset
from training.estimators import survival_target

SCHEMAS = ROOT / "benchmarks" / "schemas"
SIZES = {110: 4, 500: 3, 2000: 2}
TRAIN_SEED = 5151
TEST_SEED = 8383
TEST_N = 3000
KNOT_PERCENTILES = (5, 35, 65, 95)
NODES_DECAY = 0.12  # Royston and Sauerbrei's exp(-0.12 pnodes) for these data


# ------------------------------------------------------------------ the real data


def _gbsg2() -> pd.DataFrame:
    X, y = load_gbsg2()
    out = X.astype({c: str for c in ("horTh", "menostat", "tgrade")})
    return out.assign(rfs_days=y["time"], recurrence=y["cens"].astype(int))


def _gbsg2_columns(X: pd.DataFrame) -> dict[str, np.ndarray]:
    text = lambda c, v: (X[c].astype(str) == v).to_numpy(float)  # noqa: E731
    return {
        "age": (X["age"].to_numpy(float) - 53.0) / 10.0,
        "nodes": np.exp(-NODES_DECAY * X["pnodes"].to_numpy(float)),
        "log_pgr": np.log1p(X["progrec"].to_numpy(float)),
        "log_er": np.log1p(X["estrec"].to_numpy(float)),
        "tsize_cm": X["tsize"].to_numpy(float) / 10.0,
        "horTh_yes": text("horTh", "yes"),
        "post": text("menostat", "Post"),
        "grade_2": text("tgrade", "II"),
        "grade_3": text("tgrade", "III"),
    }


def _gbsg2_mask(rng: np.random.Generator, rows: pd.DataFrame) -> dict[str, np.ndarray]:
    """Progesterone receptor more often unknown when the oestrogen receptor is low (as when
    a lab measures the second only after the first); grade at random. About 10 % each."""
    low_er = rows["estrec"].to_numpy() < 10
    return {
        "progrec": rng.random(len(rows)) < np.where(low_er, 0.16, 0.07),
        "tgrade": rng.random(len(rows)) < 0.10,
    }


def _whas500() -> pd.DataFrame:
    X, y = load_whas500()
    binary = [c for c in X.columns if str(X[c].dtype) == "category"]
    out = X.astype({c: int for c in binary})
    return out.assign(lenfol=y["lenfol"], fstat=y["fstat"].astype(int))


def _whas500_columns(X: pd.DataFrame) -> dict[str, np.ndarray]:
    num = lambda c: X[c].to_numpy(float)  # noqa: E731
    out = {
        "age": (num("age") - 70.0) / 10.0,
        "bmi": (num("bmi") - 26.0) / 5.0,
        "hr": (num("hr") - 87.0) / 20.0,
        "sysbp": (num("sysbp") - 145.0) / 30.0,
        "diasbp": (num("diasbp") - 78.0) / 20.0,
        "log_los": np.log1p(num("los")),
    }
    binary = ("gender", "cvd", "afb", "sho", "chf", "av3", "miord", "mitype")
    return out | {c: num(c) for c in binary}


def _whas500_mask(rng: np.random.Generator, rows: pd.DataFrame) -> dict[str, np.ndarray]:
    """BMI more often unknown in the old (not weighed on admission), heart failure at
    random. About 10 % each."""
    old = rows["age"].to_numpy() > 80
    return {
        "bmi": rng.random(len(rows)) < np.where(old, 0.16, 0.07),
        "chf": rng.random(len(rows)) < 0.10,
    }


@dataclass(frozen=True)
class Case:
    """A real data set: its schema, its rows, the truth's columns and who lacks what."""

    name: str
    load: Callable[[], pd.DataFrame]  # rows, outcome under the schema's column names
    columns: Callable[[pd.DataFrame], dict[str, np.ndarray]]  # the truth's linear columns
    bent: str  # the truth bends this covariate (a spline); the schema enters it linearly
    groups: dict[str, tuple[float, float]]  # ranges of ``bent`` for the coverage split
    mask: Callable[[np.random.Generator, pd.DataFrame], dict[str, np.ndarray]]
    integers: tuple[str, ...]  # written without decimals

    @property
    def schema_path(self) -> Path:
        return SCHEMAS / f"{self.name}.yaml"


CASES = {
    "gbsg2": Case(
        "gbsg2",
        _gbsg2,
        _gbsg2_columns,
        bent="age",
        groups={"under 40": (0, 40), "40 to 65": (40, 65.5), "over 65": (65.5, 200)},
        mask=_gbsg2_mask,
        integers=("pnodes",),
    ),
    "whas500": Case(
        "whas500",
        _whas500,
        _whas500_columns,
        bent="bmi",
        groups={"under 22": (0, 22), "22 to 32": (22, 32), "over 32": (32, 100)},
        mask=_whas500_mask,
        integers=("hr", "sysbp", "diasbp", "los", "gender", "cvd", "afb", "sho", "chf", "av3")
        + ("miord", "mitype"),
    ),
}


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


@dataclass(frozen=True)
class Family:
    """log T = mu(x) + scale * e, with e standard normal (log-normal) or standard minimum
    extreme value (Weibull): lifelines' fitter and parameter names, e's survival function
    and a draw of e."""

    fitter: type
    location: str
    shape: str
    sf: Callable[[np.ndarray], np.ndarray]
    draw: Callable[[np.random.Generator, int], np.ndarray]


FAMILIES = {
    "lognormal": Family(
        LogNormalAFTFitter, "mu_", "sigma_", norm.sf, lambda rng, n: rng.standard_normal(n)
    ),
    "weibull": Family(
        WeibullAFTFitter,
        "lambda_",
        "rho_",
        lambda z: np.exp(-np.exp(z)),
        lambda rng, n: np.log(rng.exponential(1.0, n)),
    ),
}


@dataclass(frozen=True)
class Truth:
    """An accelerated failure time model fitted to the real data: closed-form S(t | x)."""

    case: Case
    family: str
    coef: dict[str, float]
    intercept: float
    scale: float
    knots: np.ndarray
    aic: dict[str, float]

    def design(self, X: pd.DataFrame) -> pd.DataFrame:
        spline = rcs(X[self.case.bent].to_numpy(float), self.knots)
        bent = {f"{self.case.bent}_s{j + 1}": spline[:, j] for j in range(spline.shape[1])}
        return pd.DataFrame(self.case.columns(X) | bent, index=X.index)

    def mu(self, X: pd.DataFrame) -> np.ndarray:
        d = self.design(X)[list(self.coef)].to_numpy()
        return self.intercept + d @ np.array(list(self.coef.values()))

    def survival(self, mu: np.ndarray, t: float) -> np.ndarray:
        return FAMILIES[self.family].sf((np.log(t) - mu) / self.scale)

    def times(self, rng: np.random.Generator, mu: np.ndarray) -> np.ndarray:
        return np.exp(mu + self.scale * FAMILIES[self.family].draw(rng, len(mu)))

    def bent_effect(self, real: pd.DataFrame) -> dict[str, float]:
        """The bent covariate's part of mu (log time ratio) at its 5th-95th percentiles,
        against its median: the shape the schema's linear term cannot follow."""
        x = real[self.case.bent].to_numpy(float)
        grid = np.percentile(x, [5, 10, 25, 50, 75, 90, 95])
        rows = real.iloc[np.zeros(len(grid), int)].reset_index(drop=True)
        rows[self.case.bent] = grid
        d = self.design(rows)
        names = [c for c in self.coef if c == self.case.bent or c.startswith(f"{self.case.bent}_s")]
        part = sum(self.coef[c] * d[c].to_numpy() for c in names)
        return {f"{g:.1f}": round(float(v - part[3]), 3) for g, v in zip(grid, part, strict=True)}


def fit_truth(case: Case, real: pd.DataFrame, schema) -> Truth:
    """Log-normal and Weibull AFT fitted by maximum likelihood; the lower AIC is the truth."""
    knots = np.percentile(real[case.bent], KNOT_PERCENTILES)
    proto = Truth(case, "lognormal", {}, 0.0, 1.0, knots, {})
    d = proto.design(real).assign(T=real[schema.time.name], E=real[schema.event.name])
    fits = {name: fam.fitter().fit(d, "T", "E") for name, fam in FAMILIES.items()}
    aic = {name: round(float(f.AIC_), 1) for name, f in fits.items()}
    family = min(aic, key=aic.get)
    params = fits[family].params_
    mu = params[FAMILIES[family].location]
    log_shape = float(params[FAMILIES[family].shape]["Intercept"])
    # lifelines: sigma is the log-normal's scale; the Weibull's rho is 1 / scale
    scale = np.exp(log_shape) if family == "lognormal" else np.exp(-log_shape)
    return Truth(
        case=case,
        family=family,
        coef={c: float(mu[c]) for c in d.columns if c not in ("T", "E")},
        intercept=float(mu["Intercept"]),
        scale=float(scale),
        knots=knots,
        aic=aic,
    )


# ------------------------------------------------------------------ the draws


@dataclass(frozen=True)
class Censoring:
    """The real data's censoring distribution (reverse Kaplan-Meier), to draw from."""

    times: np.ndarray
    surv: np.ndarray

    @classmethod
    def of(cls, real: pd.DataFrame, schema) -> Censoring:
        time, event = real[schema.time.name].to_numpy(float), real[schema.event.name].to_numpy()
        return cls(*kaplan_meier_estimator(event == 0, time))

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Inversion: the first time G(t) falls to u; past the last censoring, censored there."""
        u = rng.random(n)
        idx = np.searchsorted(-self.surv, -u, side="left")
        return self.times[np.minimum(idx, len(self.times) - 1)]


def _rows(rng: np.random.Generator, real: int, n: int) -> np.ndarray:
    """``n`` row numbers out of ``real``, each real row as often as any other to within one:
    no row twice up to ``real`` patients. Rows drawn with replacement put a copy of a
    patient in a training fold beside its twin in the held-out one, which favours flexible
    designs in cross-validation (WHAS500 at n = 500, seen in the run before this rule)."""
    full, rest = divmod(n, real)
    parts = [rng.permutation(real) for _ in range(full)]
    idx = np.concatenate([*parts, rng.choice(real, rest, replace=False)])
    rng.shuffle(idx)
    return idx


def draw(ctx: dict, n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray, pd.DataFrame]:
    """``n`` patients: the table a registry would hold (unknowns as NaN), the truth's mu and
    the real rows drawn (every value as recorded)."""
    real, truth, schema = ctx["real"], ctx["truth"], ctx["schema"]
    rng = np.random.default_rng(seed)
    rows = real.iloc[_rows(rng, len(real), n)].reset_index(drop=True)
    mu = truth.mu(rows)
    event_time = truth.times(rng, mu)
    censor = ctx["cens"].draw(rng, n)
    data = rows[schema.feature_names].copy()
    data.insert(0, schema.id_column, [f"{seed % 100000:05d}-{i + 1:05d}" for i in range(n)])
    data[schema.time.name] = np.maximum(np.ceil(np.minimum(event_time, censor)), 1).astype(int)
    data[schema.event.name] = (event_time <= censor).astype(int)
    for col, unknown in truth.case.mask(rng, rows).items():
        data.loc[unknown, col] = np.nan
    return data, mu, rows


def write_csv(data: pd.DataFrame, path: Path, integers) -> None:
    out = data.astype({c: "Int64" for c in integers})
    out.to_csv(path, index=False, lineterminator="\n", float_format="%g")


# ------------------------------------------------------------------ scores


def harrell_c(data: pd.DataFrame, schema, risk: np.ndarray) -> float:
    event = data[schema.event.name].to_numpy().astype(bool)
    time_ = data[schema.time.name].to_numpy(float)
    return float(concordance_index_censored(event, time_, risk)[0])


def by_group(x: np.ndarray, groups: dict, v: np.ndarray) -> dict[str, float | None]:
    means = {g: v[(x >= lo) & (x < hi)] for g, (lo, hi) in groups.items()}
    return {g: float(m.mean()) if len(m) else None for g, m in means.items()}


def tool_scores(preds: pd.DataFrame, ctx: dict) -> dict:
    """Error, band coverage and width, slope and C of ``predict``'s CSV against the truth."""
    test, schema, case = ctx["test"], ctx["schema"], ctx["truth"].case
    preds = preds.set_index("patient_id").loc[test["data"][schema.id_column].astype(str)]
    masks, bent = test["masks"], test["real_rows"][case.bent].to_numpy(float)
    out = {k: {} for k in ("mae", "coverage", "width", "slope", "coverage_by_group")}
    for m in schema.time_axis.marks:
        s, lo, hi = (preds[f"surv_{m.name}{x}"].to_numpy(float) for x in ("", "_lower", "_upper"))
        if np.isnan(s).any():
            continue  # beyond the training follow-up: predict says so per row
        true = test["true_s"][m.name]
        inside = ((lo <= true) & (true <= hi)).astype(float)
        out["mae"][m.name] = split_mean(np.abs(s - true), masks)
        out["coverage"][m.name] = split_mean(inside, masks)
        out["width"][m.name] = split_mean(hi - lo, masks)
        out["slope"][m.name] = slope_vs_truth(s, true)
        out["coverage_by_group"][m.name] = by_group(bent, case.groups, inside)
    out["harrell_c"] = harrell_c(test["data"], schema, preds["risk_score"].to_numpy(float))
    out["rows_with_warnings"] = int((preds["warnings"].fillna("") != "").sum())
    out["warning_kinds"] = warning_kinds(preds["warnings"])
    return out


def peer_mae(train_path: Path, ctx: dict) -> dict:
    """The plain CoxPH peer, fitted on the same training CSV, scored on the same patients."""
    test, schema = ctx["test"], ctx["schema"]
    train = validate_dataset(train_path, schema).raise_if_errors()
    frame = validate_dataset(test["path"], schema).raise_if_errors()
    pipe = peer_pipeline(schema, CoxPHSurvivalAnalysis(alpha=PEER_COX_ALPHA))
    pipe.fit(train[schema.feature_names], survival_target(train, schema))
    marks = schema.time_axis.marks
    grid = np.array([0.0, *(m.months for m in marks)])
    surv = survival_on_grid(pipe, frame[schema.feature_names], grid)
    return {
        m.name: split_mean(np.abs(surv[:, j + 1] - test["true_s"][m.name]), test["masks"])
        for j, m in enumerate(marks)
    }


def non_ph(true_s: dict[str, np.ndarray]) -> dict[str, float]:
    """How far the truth is from proportional hazards: the slope of its log(-log S(t)) on its
    log(-log S) at the middle landmark, across the test patients. Under proportional hazards
    every slope is 1 and a Cox model's calibration slope against the truth can be 1 at every
    landmark; where the spread changes with time, one hazard ratio cannot match all three."""
    names = list(true_s)
    mid = true_s[names[len(names) // 2]]
    return {t: slope_vs_truth(mid, s) for t, s in true_s.items()}


# ------------------------------------------------------------------ the run


def make_test(ctx: dict, tmp: Path) -> dict:
    schema = ctx["schema"]
    data, mu, rows = draw(ctx, TEST_N, TEST_SEED)
    path = tmp / "test.csv"
    write_csv(data, path, ctx["truth"].case.integers)
    complete = data[schema.feature_names].notna().all(axis=1).to_numpy()
    masks = {"complete": complete, "any_unknown": ~complete, "all": np.ones(len(data), bool)}
    return {
        "path": path,
        "data": data,
        "real_rows": rows,
        "masks": masks,
        "true_s": {m.name: ctx["truth"].survival(mu, m.value) for m in schema.time_axis.marks},
        "oracle_c": harrell_c(data, schema, -mu),
    }


def one_draw(n: int, k: int, ctx: dict, args, tmp: Path) -> dict:
    seed = TRAIN_SEED + 1000 * k + n
    train, _, _ = draw(ctx, n, seed)
    path = tmp / f"train_{n}_{k}.csv"
    write_csv(train, path, ctx["truth"].case.integers)
    event = ctx["schema"].event.name
    rec = {"n": n, "draw": k, "seed": seed, "events": int(train[event].sum())}
    unknown = train[ctx["schema"].feature_names].isna().mean()
    rec["unknown_share"] = {c: round(float(v), 3) for c, v in unknown.items() if v > 0}
    run = fit_and_predict(
        path, ctx["test"]["path"], tmp / f"reg_{n}_{k}", args.bootstrap, ctx["schema_path"]
    )
    rec["steps"], rec["design"] = run["steps"], run.get("design")
    if run["preds"] is not None:
        rec["tool"] = tool_scores(run["preds"], ctx)
    rec["peer_mae"] = peer_mae(path, ctx)
    return rec


def _mean(vals) -> float | None:
    vals = [v for v in vals if v is not None]
    return float(np.mean(vals)) if vals else None


def summarise(n: int, draws: list[dict], ctx: dict) -> dict:
    """Means over the draws (and the lowest coverage) of one training size."""
    ok = [d["tool"] for d in draws if "tool" in d]
    row = {"n": n, "draws": len(draws), "draws_scored": len(ok)}
    for t in (m.name for m in ctx["schema"].time_axis.marks):
        got = [d for d in ok if t in d["mae"]]
        for s in ("complete", "any_unknown", "all"):
            row[f"mae_{t}_{s}"] = _mean([d["mae"][t][s] for d in got])
            row[f"peer_mae_{t}_{s}"] = _mean([d["peer_mae"][t][s] for d in draws])
            cov = [d["coverage"][t][s] for d in got if d["coverage"][t][s] is not None]
            row[f"cov_{t}_{s}"] = _mean(cov)
            row[f"cov_{t}_{s}_min"] = min(cov) if cov else None
        row[f"width_{t}"] = _mean([d["width"][t]["all"] for d in got])
        row[f"slope_{t}"] = _mean([d["slope"][t] for d in got])
        for g in ctx["truth"].case.groups:
            row[f"cov_{t}_group_{g}"] = _mean([d["coverage_by_group"][t][g] for d in got])
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


def print_tables(rows: list[dict], ctx: dict) -> None:
    pair = lambda a, b: "—" if a is None else f"{a:.3f}/{b:.3f}"  # noqa: E731
    names = [m.name for m in ctx["schema"].time_axis.marks]
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
            + [r["harrell_c"], ctx["test"]["oracle_c"]]
        )
    print(table(header, body))
    print("c/m: test patients with every input known / with an unknown; MAE and peer in S(t)")
    case = ctx["truth"].case
    print(f"coverage by {case.bent} (mean over draws), " + " ; ".join(names) + ":")
    cell = lambda v: "—" if v is None else f"{v:.2f}"  # noqa: E731
    for r in rows:
        groups = ", ".join(
            f"{g} " + "/".join(cell(r[f"cov_{t}_group_{g}"]) for t in names) for g in case.groups
        )
        print(f"  n = {r['n']}: {groups}")
    for r in rows:
        for s in r["shortfalls"]:
            print(f"  n = {r['n']}: {s}")
    slopes = ", ".join(f"{t} {v:.2f}" for t, v in non_ph(ctx["test"]["true_s"]).items())
    print(f"the truth's own log(-log S) slope on the middle landmark's: {slopes}")


# ------------------------------------------------------------------ a user's slips


def slips(ctx: dict, tmp: Path) -> list[dict]:
    """Deliberately wrong GBSG2 files given to ``describe``: does the refusal name the column,
    the row and the allowed values? (A check of the messages, not of the model.)"""
    schema, good = ctx["schema"], draw(ctx, 40, 1)[0]
    text = ctx["truth"].case.schema_path.read_text()
    first = lambda col, v: good.assign(**{col: [v, *good[col][1:]]})  # noqa: E731
    cases = {
        "grade IV": (first("tgrade", "IV"), text),
        "horTh Yes": (first("horTh", "Yes"), text),
        "event 2": (first(schema.event.name, 2), text),
        "unquoted no/yes in the schema": (good, text.replace('["no", "yes"]', "[no, yes]")),
    }
    out = []
    for name, (data, schema_text) in cases.items():
        d, s = tmp / "slip.csv", tmp / "slip.yaml"
        write_csv(data, d, ctx["truth"].case.integers)
        s.write_text(schema_text)
        proc = cli("describe", "--data", str(d), "--schema", str(s))
        out.append({"case": name, "rc": proc.returncode, "messages": _lines(proc)[:6]})
    return out


def schema_copy(case: Case, nonlinear: list[str], tmp: Path) -> Path:
    """The schema with ``nonlinear: true`` on the named features (a control, not the user's)."""
    raw = yaml.safe_load(case.schema_path.read_text())
    unknown = set(nonlinear) - {f["name"] for f in raw["features"]}
    if unknown:
        raise SystemExit(f"--nonlinear: no feature {', '.join(sorted(unknown))} in {case.name}")
    for f in raw["features"]:
        if f["name"] in nonlinear:
            f["nonlinear"] = True
    path = tmp / f"{case.name}_nonlinear.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False, allow_unicode=True))
    return path


def run_case(case: Case, args, tmp: Path) -> dict:
    t0 = time.perf_counter()
    schema = load_schema(case.schema_path)
    real = case.load().reset_index(drop=True)
    truth = fit_truth(case, real, schema)
    ctx = {"real": real, "truth": truth, "schema": schema, "cens": Censoring.of(real, schema)}
    ctx["schema_path"] = (
        schema_copy(case, args.nonlinear, tmp) if args.nonlinear else case.schema_path
    )
    ctx["test"] = make_test(ctx, tmp)
    print(f"\n## {case.name}: {truth.family} truth (AIC {truth.aic}), {len(real)} real rows")
    rows, all_draws = [], []
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
        row = summarise(n, draws, ctx)
        row["shortfalls"] = shortfalls(row, schema.time_axis.marks)
        rows.append(row)
        all_draws += draws
    print_tables(rows, ctx)
    notes = findings(all_draws)
    print("\n".join(["", "fit / predict said:", *notes]))
    test = ctx["test"]
    return {
        "truth": {
            "family": f"{truth.family} AFT (lifelines), fitted on the {len(real)} real patients",
            "intercept": truth.intercept,
            "coef": truth.coef,
            "scale": truth.scale,
            "spline_on": case.bent,
            "knots": truth.knots.tolist(),
            "bent_log_time_ratio_vs_median": truth.bent_effect(real),
            "aic": truth.aic,
        },
        "test": {
            "n": TEST_N,
            "seed": TEST_SEED,
            "oracle_c": test["oracle_c"],
            "complete_share": float(test["masks"]["complete"].mean()),
            "events": int(test["data"][schema.event.name].sum()),
            "mean_true_s": {k: float(v.mean()) for k, v in test["true_s"].items()},
            "truth_cloglog_slope_on_middle_landmark": non_ph(test["true_s"]),
        },
        "schema": str(case.schema_path.relative_to(ROOT)),
        "declared_nonlinear": args.nonlinear,
        "rows": rows,
        "findings": notes,
        "slips": slips(ctx, tmp) if case.name == "gbsg2" else None,
        "draws": all_draws,
        "wall_seconds": round(time.perf_counter() - t0, 1),
    }


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--cases", nargs="+", choices=list(CASES), default=list(CASES))
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
    with tempfile.TemporaryDirectory(prefix="semi-synthetic-") as d:
        cases = {}
        for name in args.cases:
            tmp = Path(d) / name
            tmp.mkdir()
            cases[name] = run_case(CASES[name], args, tmp)
            for s in cases[name]["slips"] or []:
                print(f"  slip: {s['case']} (exit {s['rc']}): {' | '.join(s['messages'][:3])}")
            # written after each cohort, so a long run stopped early keeps what it measured
            result = {
                "bootstrap": args.bootstrap,
                "cases": cases,
                "cases_to_run": args.cases,
                "wall_seconds": round(time.perf_counter() - t0, 1),
            }
            path = write_result(args.result, result)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
