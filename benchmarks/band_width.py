"""Where the Cox band's width comes from: the plain bootstrap, the inflation factor, the
penalty and the refits, per simulated world x training n, against the truth.

For each world and n the training cohort is ``benchmarks/accuracy.py``'s (same seed) and
the Cox model is tuned as ``fit`` tunes it (design, l1 ratio and penalty by cross-validated
IBS, the penalty by :func:`training.tuning._least_penalty`). Then, for each **penalty rule**
(``--rules``) applied to the chosen design's path:

* ``least``: the shipped rule, the least penalty within one standard error of the best;
* ``best``: the penalty with the lowest cross-validated IBS;
* ``one_se``: the classic one-standard-error rule, the largest penalty within one standard
  error of the best (the simplest model the folds cannot tell from the best);

the final Cox step is fitted on the shared preprocessing and its band built by each
**refit scheme** (``--schemes``), from the same ``--bootstrap`` resamples as
``training/bootstrap.py`` draws (seed 0):

* ``full``: the shipped ensemble, the Cox step refitted at the chosen penalty on every term;
* ``active``: refitted at the same penalty on the final model's non-zero terms only (the
  others held at 0): the band without selection instability.

Every band is widened by training/band.py's inflation factor computed for that band from
each **stand-in** (``--stand-ins``; the replicates' errors depend on the penalty and the
stand-in, only the half-widths they are divided by on the band):

* ``pieces``: the shipped stand-in (hazard ratios free between time pieces);
* ``ph``: one piece, the final design and penalty under proportional hazards (the factor
  then measures the refits' spread and the penalty's shrinkage only);
* ``shrunk``: the pieces' departure from proportional hazards shrunk by its noise,
  ``H_ph^(1-c) H_pieces^c`` with ``c = 1 - var / mean(d^2)`` (:func:`stand_in`).

The band is served as ``Engine.predict`` serves it (imputation draws of unknown inputs,
percentiles of all sampled curves at 12, 36 and 60 months) to ``--test-n`` test patients
(accuracy.py's test set). Per cell: the number of non-zero terms, the plain (factor 1) and
final width at 36 months (complete, masked and all patients), the stand-in's factors by
landmark beside the **oracle factor** (what the truth asks for: over the complete test
patients, the 95th percentile of |log H_model - log H_true| over the plain half-width, as
benchmarks/band_factor.py computes it), coverage of the true S(12/36/60) with complete
and with masked inputs, MAE of S(36) and the calibration slope against the truth.

Findings (benchmarks/results/band_width.json; 50 refits, 40 replicates, 5,000 test
patients; widths at 36 months, all patients, the targets' measure; the shipped model is
``least``/``full``/``pieces``):

* **The plain bootstrap is at the floor except in milan.** With complete inputs the
  shipped model's plain band is 0.244 wide in linear and nonph at n = 500 (the correctly
  specified model's own: 0.244) and 0.118-0.121 at 2,000 (floor 0.120-0.122). In milan it
  is 0.302 at 500 and 0.144 at 2,000 (floor 0.239, 0.115): the design there has 27 and 36
  columns against the truth's 18 terms.
* **Masked inputs** add 0.02-0.04 to the all-patient width in every cell (their own band
  is 0.06-0.11 wider: the spread over plausible values, honest, covering 0.91-0.98).
* **The factor is mostly needed.** Oracle factor against the stand-in's (12/36/60): milan
  500 1.24/1.15 vs 1.31/1.26; milan 2,000 1.71/1.51/1.53 vs 1.62/1.32/1.64; nonph 500
  1.78/1.28 vs 1.62/1.36; nonph 2,000 3.77/2.15 vs 3.37/1.88 (the PH model's bias: the
  true-design Cox band covers 0.36 at 12 months there). Only in linear is it more than the
  truth asks for (500: 0.97/0.73 vs 1.21/1.11; 2,000: 1.35/1.14/0.99 vs 1.41/1.25/1.46),
  hence the over-coverage (0.992, 0.993). The plain band meets the n = 2,000 width limit
  in every world (0.157-0.182) but covers 0.35-0.86 in milan and nonph.
* **Selection instability is not a source**: the chosen penalties are small (lasso share
  0.2 or 0.9), 26-28 of 27-36 terms are non-zero in milan and all 17 elsewhere, refits
  keep as many; refits on the active set change the plain width by at most 0.01 and the
  recalibrated factor takes it back (milan 2,000: 0.196 vs 0.189 with complete inputs).
* **Heavier penalties** (``best`` where it differs from ``least``, ``one_se``) narrow the
  plain band (milan 500: 0.302 to 0.195 with complete inputs) but the final all-patient
  width by 0.00-0.11 (milan 500: 0.401 to 0.289) while the lowest coverage falls to
  0.63-0.91 and slopes rise to 1.09-1.36: the stand-in, fitted at the same penalty,
  shares the shrinkage and cannot see it (oracle factors 2-3 at n = 500).
* **Stand-ins**: ``ph`` brings linear to 0.89-0.98 and under-covers milan (0.83-0.94)
  and nonph (0.37-0.90); ``shrunk`` (``c`` 0.15-0.89) under-covers milan
  (0.88-0.89) and nonph 500 at 12 months (0.80) and leaves linear's 60-month band at
  0.991. Neither helps in every world.
* **Not the missing training inputs** (``--complete-training``, training on the latent
  values; results/band_width_complete_training.json): with complete inputs the shipped
  band is 0.345 wide at milan 500 (0.372 trained on the registry's gaps) and 0.180 at
  2,000 (0.189), and the oracle factor stays 1.17/1.12 and 1.82/1.59/1.53: milan's factor
  pays for the design's shape (the near-step Ki-67 effect, the Ki-67-high x PCI-high
  interaction), nonph's for proportional hazards.
* **Not too few knots** (``--knots 11 6``; results/band_width_knots_11_6.json): in milan
  the band widens at 500 (0.437) and at 2,000 narrows to 0.200 only by losing coverage
  (0.79-0.91, oracle factor 2.0-2.3, MAE S(36) 0.055 against 0.051); linear and nonph keep
  main effects and are unchanged.
* **A baseline bug, fixed** (model.predict.cox_baseline_on_grid read scikit-survival's
  stored Breslow curve without the zero row's factor ``exp(-mean(z) . coef)``, so every
  bootstrap refit's baseline and every later stand-in piece's was ``exp(mean(z) . coef)``
  off; the results above predate the fix). With it
  (results/band_width_baseline_fixed.json) the all-patient widths move from 0.401, 0.225,
  0.297, 0.183, 0.345, 0.250 (milan, linear, nonph at 500 and 2,000) to 0.386, 0.226,
  0.290, 0.178, 0.350, 0.273: the stand-in now tracks the truth's factor more closely
  (nonph 2,000 at 36 months 2.12 against 2.22, was 1.88 against 2.15) and coverage stays
  where it was (lowest 0.889, nonph 500 at 12 months, complete inputs; highest 0.997,
  linear 2,000 at 60 months). A correction, not a cure for the width.

``--piecewise`` adds a row for the stand-in itself served as the model, Cox in time pieces
with its plain bootstrap band and no factor (results/band_width_piecewise.json, after the
fix; linear and nonph only, milan at 2,000 takes 8 minutes). In nonph it is what the
shipped model is not: all-patient width 0.303 and 0.165 at 500 and 2,000 (shipped 0.350,
0.273), coverage 0.90-0.98, MAE S(36) 0.053 and 0.036 (shipped 0.065, 0.045), slope
1.06, the truth asking a factor of 0.78-1.13 of it. In linear it costs accuracy (MAE
0.055 against 0.046 at 500, 0.037 against 0.035 at 2,000) for no narrower band (0.305,
0.166) and covers 0.898 at 2,000; in milan (results/band_width_piecewise_milan.json) it
is less accurate (MAE 0.092 against 0.076 at 500) and, without a factor, covers 0.89 at
500 and 0.76-0.94 at 2,000 (width 0.395, 0.196). A model to choose by cross-validation
where the hazard ratios change, not a band.

    .venv/bin/python benchmarks/band_width.py    # three worlds x n = 500, 2,000: about 5 min
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
from _common import table, write_result
from accuracy import TRAIN_SEEDS, slope_vs_truth, test_set
from sksurv.nonparametric import kaplan_meier_estimator

import training.estimators as estimators
import training.tuning as tuning
from model.piecewise import PiecewiseCox
from model.predict import cox_baseline_on_grid
from model.schema import default_schema
from model.timeaxis import LANDMARKS
from model.uncertainty import CoxEnsemble, ImputationDraws
from model.validation import validate_dataset
from training.band import (
    BAND_REPLICATES,
    COVERAGE,
    _fit_cox,
    _half_widths,
    _log_h,
    _replicate,
    stand_in_pieces,
)
from training.estimators import coxnet_step, fit_quietly
from training.families import CoxnetTrainer
from training.fit import FitOptions, _training_set
from training.simulate import WORLDS, SimulationSettings, simulate_cohort, write_cohort

RULES = ("least", "best", "one_se")
SCHEMES = ("full", "active")
STAND_INS = ("pieces", "ph", "shrunk")
NOISE_RESAMPLES = 10  # bootstrap refits of the stand-in that measure its noise ("shrunk")


# ------------------------------------------------------------------ penalty rules


def one_se(path, best: int) -> int:
    """The largest penalty (alphas decrease along the path) within one standard error of
    the paired fold differences from the best."""
    j = best
    for k in range(best - 1, -1, -1):
        if tuning._paired_worse(path, k, best):
            break
        j = k
    return j


def tuned_with_path(trainer: CoxnetTrainer):
    """The trainer's tuning and the chosen design's path with its best penalty's index."""
    seen = {}
    original = tuning._least_penalty

    def spy(path, best):
        seen["path"], seen["best"] = path, best
        return original(path, best)

    tuning._least_penalty = spy
    try:
        tuned = trainer.tune()
        # the proportional-hazards model's band (fit serves time pieces where its check
        # chooses them; accuracy.py measures that band)
        tuned.params.pop("time_cuts_months", None)
    finally:
        tuning._least_penalty = original
    return tuned, seen["path"], seen["best"]


def rule_alphas(path, best: int, rules) -> dict[str, float]:
    index = {"least": tuning._least_penalty(path, best), "best": best, "one_se": one_se(path, best)}
    return {r: float(path.alphas[index[r]]) for r in rules}


# ------------------------------------------------------------------ bands


def resamples(y: np.ndarray, n_boot: int, seed: int = 0) -> list[np.ndarray]:
    """training/bootstrap.py's resamples (those with at least two deaths)."""
    rng = np.random.default_rng(seed)
    event = y[y.dtype.names[0]]
    out = []
    for _ in range(n_boot):
        idx = rng.integers(0, len(y), len(y))
        if event[idx].sum() >= 2:
            out.append(idx)
    return out


def refits(Z, y, grid, make_step, idxs, keep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Coefficients (on every column, 0 outside ``keep``) and baselines of the Cox step
    refitted on each resample with the columns ``keep``."""
    cols = list(Z.columns[keep])
    coefs, h0s = [], []
    for idx in idxs:
        est = fit_quietly(make_step(), Z.iloc[idx][cols], y[idx])
        c = np.zeros(Z.shape[1])
        c[keep] = est.coef_[:, 0]
        coefs.append(c)
        h0s.append(cox_baseline_on_grid(est, cols, grid))
    return np.array(coefs), np.array(h0s)


def piece_fits(Z, y, grid, make_step, alpha, cuts) -> list:
    """training/band.py's piecewise stand-in with given cuts: each piece's (coef, h0)."""
    model = PiecewiseCox(make_step(alpha), tuple(cuts)).fit(Z, y)
    return list(zip(model.coefs_, model.baselines_on_grid(grid), strict=True))


def cum_hazard(Zn: np.ndarray, fits: list) -> np.ndarray:
    return sum(h0[None, :] * np.exp(Zn @ coef)[:, None] for coef, h0 in fits)


def stand_in(kind, Z, y, grid, make_step, alpha, seed=0) -> tuple[np.ndarray, dict]:
    """The stand-in truth's cumulative hazards (patients x grid).

    ``pieces``: hazard ratios free between time pieces cut at quantiles of the death times
    (training/band.py's stand-in when this benchmark was written); ``ph``: one
    piece (the shipped design and penalty, proportional hazards); ``shrunk``: the geometric
    mix ``H_ph^(1-c) H_pieces^c`` (non-decreasing as both are), ``c`` the share of the
    pieces' departure from proportional hazards, ``d = log H_pieces - log H_ph``, that is
    not noise: ``1 - var / mean(d^2)`` (at least 0), ``var`` the departure's bootstrap
    variance over ``NOISE_RESAMPLES`` resamples (the James-Stein / Wiener shrinkage).
    """
    e, t = y.dtype.names
    deaths = y[t][y[e]]
    pieces = stand_in_pieces(len(deaths))
    cuts = [float(np.quantile(deaths, q)) for q in np.arange(1, pieces) / pieces]
    Zn = Z.to_numpy(dtype=float)
    ph = cum_hazard(Zn, piece_fits(Z, y, grid, make_step, alpha, []))
    if kind == "ph":
        return ph, {}
    pw = cum_hazard(Zn, piece_fits(Z, y, grid, make_step, alpha, cuts))
    if kind == "pieces":
        return pw, {}
    cols = (ph[0] > 0) & (pw[0] > 0) & (grid >= 1.0)
    dev = lambda a, b: np.log(b[:, cols]) - np.log(a[:, cols])  # noqa: E731
    rng = np.random.default_rng(seed + 1)
    devs = []
    for _ in range(NOISE_RESAMPLES):
        idx = rng.integers(0, len(y), len(y))
        Zb, yb = Z.iloc[idx], y[idx]
        devs.append(dev(cum_hazard(Zn, piece_fits(Zb, yb, grid, make_step, alpha, [])),
                        cum_hazard(Zn, piece_fits(Zb, yb, grid, make_step, alpha, cuts))))  # fmt: skip
    noise = float(np.mean(np.var(np.stack(devs), axis=0, ddof=1)))
    total = float(np.mean(dev(ph, pw) ** 2))
    c = float(np.clip(1.0 - noise / total, 0.0, 1.0)) if total > 0 else 0.0
    both = (ph > 0) & (pw > 0)
    mixed = np.where(both, np.exp((1 - c) * np.log(np.where(both, ph, 1.0))
                                  + c * np.log(np.where(both, pw, 1.0))), pw)  # fmt: skip
    return np.maximum.accumulate(mixed, axis=1), {"c": c, "noise": noise, "total": total}


def replicate_errors(H_true, Z, y, grid, make_step, alpha, marks, n_rep, seed=0) -> np.ndarray:
    """training/band.py's replicates from the stand-in ``H_true``: |log H_refit - log H_true|
    per replicate, patient and landmark (calibrate_inflation's loop before the division by
    the half-widths)."""
    e_name, t_name = y.dtype.names
    event, t = y[e_name].astype(bool), y[t_name].astype(float)
    true_log_h = np.log(np.maximum(H_true[:, marks], 1e-300))
    cens_t, cens_s = kaplan_meier_estimator(~event, t)
    rng = np.random.default_rng(seed)
    Zn = Z.to_numpy(dtype=float)
    errs = []
    for _ in range(n_rep):
        y_rep = _replicate(H_true, grid, cens_t, cens_s, t.max(), rng, y.dtype)
        if y_rep[e_name].sum() < 10:
            continue
        try:
            coef_r, h0_r = _fit_cox(lambda: make_step(alpha), Z, y_rep, grid)
        except ArithmeticError:
            continue
        errs.append(np.abs(_log_h(h0_r[marks], Zn @ coef_r) - true_log_h))
    return np.concatenate(errs)


def factors(errs: np.ndarray, ens: CoxEnsemble, Zn: np.ndarray, marks) -> list[float]:
    r = errs / np.tile(_half_widths(ens, Zn, marks), (len(errs) // len(Zn), 1))
    return [float(max(1.0, np.quantile(r[:, i], COVERAGE))) for i in range(len(marks))]


# ------------------------------------------------------------------ served on test patients


def served(ens: CoxEnsemble, marks, k, Zt: np.ndarray, owner: np.ndarray, draws: int):
    """Point, lower, upper at the landmarks as Engine.predict serves them (the ensemble
    restricted to the landmark columns, factor ``k`` per landmark)."""
    sub = CoxEnsemble(
        ens.columns, ens.coef, ens.h0[marks], ens.boot_coef, ens.boot_h0[:, marks],
        inflation=max(k), inflation_grid=np.asarray(k, dtype=float),
    )  # fmt: skip
    final, boot = sub.survival(Zt), sub.boot_survival(Zt)  # rows x L, rows x B x L
    return percentile_band(final, boot, owner, draws)


def percentile_band(final: np.ndarray, boot: np.ndarray, owner: np.ndarray, draws: int):
    """Per patient: the curve averaged over its rows, the 2.5-97.5 percentiles of all its
    sampled curves (model.prognosis.Prognosis.from_samples)."""
    reps = np.bincount(owner)
    out = [np.empty((len(reps), final.shape[1])) for _ in range(3)]
    for m in (1, draws):
        pats = np.flatnonzero(reps == m)
        rows = np.isin(owner, pats)
        f = final[rows].reshape(len(pats), m, -1)
        b = boot[rows].reshape(len(pats), m * boot.shape[1], -1)
        point = f.mean(axis=1)
        lo, hi = np.percentile(b, [2.5, 97.5], axis=1)
        out[0][pats], out[1][pats], out[2][pats] = (
            point,
            np.minimum(lo, point),
            np.maximum(hi, point),
        )
    return out


def band_record(c, point, lower, upper) -> dict:
    """Coverage of the true S at the landmarks (complete / masked inputs), the width at 36
    months (and over all patients, the measure of the width targets), MAE S(36), slope."""
    masks = {"complete": c.test.masks["complete"], "masked": c.test.masks["any_unknown"]}
    rec = {"coverage": {}, "width_36": {}}
    for i, t in enumerate(c.inside):
        truth = c.test.truth_at(t)
        hit = (lower[:, i] <= truth) & (truth <= upper[:, i])
        rec["coverage"][str(t)] = {k: float(hit[m].mean()) for k, m in masks.items()}
        if t == 36:
            width = upper[:, i] - lower[:, i]
            rec["width_36"] = {k: float(width[m].mean()) for k, m in masks.items()}
            rec["width_36"]["all"] = float(width.mean())
            rec["mae_36"] = float(np.abs(point[:, i] - truth).mean())
            rec["slope_36"] = slope_vs_truth(point[:, i], truth)
    return rec


# ------------------------------------------------------------------ one cell


@dataclass
class Cell:
    """One world and n: the training set, the shared preprocessing, the test rows."""

    world: str
    n: int
    d: object  # training.families.TrainingSet
    tuned: object  # training.tuning.TuningResult
    Z: pd.DataFrame  # training features, transformed
    Zt: np.ndarray  # test rows (complete patients once, the others once per imputation draw)
    owner: np.ndarray
    n_draws: int
    inside: list
    marks: list
    idxs: list
    test: object
    t0: float

    @property
    def l1(self) -> float:
        return self.tuned.params["l1_ratio"]


def prepared(world, n, schema, test, tmp: Path, args) -> tuple[Cell, object, int]:
    """The training draw, tuned as ``fit`` tunes it; the chosen path and its best index."""
    seed = TRAIN_SEEDS.get(n, n)
    path = tmp / f"train_{world}_{n}.csv"
    cohort = simulate_cohort(n, seed, SimulationSettings.for_world(world))
    if args.complete_training:  # every input known in training: the latent values
        data = cohort.data.assign(**{f: cohort.latent[f] for f in schema.feature_names})
        cohort = replace(cohort, data=data)
    write_cohort(cohort, path)
    df = validate_dataset(path, schema).raise_if_errors()
    d = _training_set(df, schema, FitOptions(progress=False, n_jobs=1))
    t0 = time.perf_counter()
    trainer = CoxnetTrainer(d)
    tuned, cv_path, best = tuned_with_path(trainer)
    final = trainer.fit(tuned.params)  # the shipped rule's pipeline: its preprocessing is shared
    encode = final.named_steps["encode"]
    draws = ImputationDraws(seed=d.seed).fit(encode.transform(d.X))
    rows, owner = draws.draws(encode.transform(test.data[schema.feature_names]))
    inside = [m for m in LANDMARKS if m <= d.grid[-1]]
    cell = Cell(
        world, n, d, tuned, final[:-1].transform(d.X),
        final[2:-1].transform(rows).to_numpy(dtype=float), owner, draws.n_draws, inside,
        [int(np.searchsorted(d.grid, m)) for m in inside], resamples(d.y, args.bootstrap, d.seed),
        test, t0,
    )  # fmt: skip
    return cell, cv_path, best


def oracle_factors(c: Cell, ens: CoxEnsemble) -> list[float]:
    """What the truth asks for: over test patients with every input known, the 95th
    percentile of |log H_model - log H_true| / plain half-width (benchmarks/band_factor.py's)."""
    keep = c.test.masks["complete"]
    Zc = c.Zt[np.isin(c.owner, np.flatnonzero(keep))]  # complete patients: one row each
    half = _half_widths(ens, Zc, c.marks)
    log_h = _log_h(ens.h0[c.marks], Zc @ ens.coef)
    out = []
    for i, t in enumerate(c.inside):
        s_true = np.clip(c.test.truth_at(t)[keep], 1e-12, 1 - 1e-12)
        out.append(
            float(np.quantile(np.abs(log_h[:, i] - np.log(-np.log(s_true))) / half[:, i], 0.95))
        )
    return out


def stand_in_errors(c: Cell, schema, alpha: float, args) -> dict:
    """Per stand-in: its replicates' errors and what it reports (training/band.py's loop)."""
    step = lambda a: coxnet_step(schema, c.l1, a)  # noqa: E731
    out = {}
    for kind in args.stand_ins:
        H, info = stand_in(kind, c.Z, c.d.y, c.d.grid, step, alpha, c.d.seed)
        errs = replicate_errors(H, c.Z, c.d.y, c.d.grid, step, alpha, c.marks,
                                args.replicates, c.d.seed)  # fmt: skip
        out[kind] = (errs, info)
    return out


def scheme_rows(c: Cell, rule, alpha, est, scheme, errs: dict, make_step) -> list[dict]:
    """One refit scheme's band, widened by each stand-in's factor."""
    columns = list(c.Z.columns)
    coef, h0 = est.coef_[:, 0], cox_baseline_on_grid(est, columns, c.d.grid)
    keep = coef != 0 if scheme == "active" else np.ones(len(columns), dtype=bool)
    ens = CoxEnsemble(columns, coef, h0, *refits(c.Z, c.d.y, c.d.grid, make_step, c.idxs, keep))
    serve = lambda k: band_record(c, *served(ens, c.marks, k, c.Zt, c.owner, c.n_draws))  # noqa: E731
    plain = serve([1.0] * len(c.marks))
    oracle = dict(zip(map(str, c.inside), oracle_factors(c, ens), strict=True))
    out = []
    for kind, (e, info) in errs.items():
        k = factors(e, ens, c.Z.to_numpy(dtype=float), c.marks)
        rec = {
            "world": c.world, "train_n": c.n, "rule": rule, "scheme": scheme,
            "stand_in": kind, "stand_in_info": info, "terms": c.tuned.params["terms"],
            "l1_ratio": c.l1, "alpha": alpha, "alpha_shipped": c.tuned.params["alpha"],
            "columns": len(columns), "nonzero": int((coef != 0).sum()),
            "boot_nonzero_mean": float((ens.boot_coef != 0).sum(axis=1).mean()),
            "factor": dict(zip(map(str, c.inside), k, strict=True)), "oracle_factor": oracle,
            "plain": plain, "band": serve(k), "seconds": round(time.perf_counter() - c.t0, 1),
        }  # fmt: skip
        out.append(rec)
        print(summary_line(rec), flush=True)
    return out


def piecewise_row(c: Cell, schema, alpha: float) -> dict:
    """The stand-in itself as the model (hazard ratios free between time pieces, the shipped
    design and penalty): its plain bootstrap band, served, and the factor the truth asks of it."""
    e, t = c.d.y.dtype.names
    deaths = c.d.y[t][c.d.y[e]]
    pieces = stand_in_pieces(len(deaths))
    cuts = [float(np.quantile(deaths, q)) for q in np.arange(1, pieces) / pieces]
    step = lambda a: coxnet_step(schema, c.l1, a)  # noqa: E731
    H = lambda Z, y: cum_hazard(c.Zt, piece_fits(Z, y, c.d.grid, step, alpha, cuts))[:, c.marks]  # noqa: E731
    final = H(c.Z, c.d.y)
    boot = np.stack([H(c.Z.iloc[idx], c.d.y[idx]) for idx in c.idxs], axis=1)  # rows x B x L
    band = band_record(c, *percentile_band(np.exp(-final), np.exp(-boot), c.owner, c.n_draws))
    complete = np.isin(c.owner, np.flatnonzero(c.test.masks["complete"]))
    log_b = np.log(np.maximum(boot[complete], 1e-300))
    half = np.maximum(np.diff(np.percentile(log_b, [2.5, 97.5], axis=1), axis=0)[0] / 2, 1e-6)
    oracle = {}
    for i, m in enumerate(c.inside):
        s_true = np.clip(c.test.truth_at(m)[c.test.masks["complete"]], 1e-12, 1 - 1e-12)
        err = np.abs(np.log(np.maximum(final[complete, i], 1e-300)) - np.log(-np.log(s_true)))
        oracle[str(m)] = float(np.quantile(err / half[:, i], 0.95))
    rec = {
        "world": c.world, "train_n": c.n, "rule": "least", "scheme": "piecewise_model",
        "stand_in": "-", "stand_in_info": {"pieces": pieces, "cuts": cuts},
        "terms": c.tuned.params["terms"], "l1_ratio": c.l1, "alpha": alpha,
        "alpha_shipped": c.tuned.params["alpha"], "columns": c.Z.shape[1] * pieces,
        "nonzero": -1, "boot_nonzero_mean": -1.0,
        "factor": dict.fromkeys(oracle, 1.0), "oracle_factor": oracle,
        "plain": band, "band": band, "seconds": round(time.perf_counter() - c.t0, 1),
    }  # fmt: skip
    print(summary_line(rec), flush=True)
    return rec


def run_cell(world, n, schema, test, tmp, args) -> list[dict]:
    c, cv_path, best = prepared(world, n, schema, test, tmp, args)
    out = [piecewise_row(c, schema, c.tuned.params["alpha"])] if args.piecewise else []
    for rule, alpha in rule_alphas(cv_path, best, args.rules).items():
        make_step = lambda a=alpha: coxnet_step(schema, c.l1, a)  # noqa: E731
        est = fit_quietly(make_step(), c.Z, c.d.y)
        errs = stand_in_errors(c, schema, alpha, args)
        for scheme in args.schemes:
            out += scheme_rows(c, rule, alpha, est, scheme, errs, make_step)
    return out


# ------------------------------------------------------------------ output


def summary_line(r: dict) -> str:
    b, p = r["band"], r["plain"]
    cov = " ".join(f"{t}:{v['complete']:.3f}/{v['masked']:.3f}" for t, v in b["coverage"].items())
    return (
        f"{r['world']} n={r['train_n']} {r['rule']}/{r['scheme']}/{r['stand_in']} "
        f"{r['stand_in_info'].get('c', '')} a={r['alpha']:.4g} "
        f"l1={r['l1_ratio']} {r['terms']} nz={r['nonzero']}/{r['columns']} "
        f"plain={p['width_36']['complete']:.3f}/{p['width_36']['masked']:.3f} "
        f"k={[round(v, 2) for v in r['factor'].values()]} "
        f"oracle={[round(v, 2) for v in r['oracle_factor'].values()]} "
        f"width={b['width_36']['complete']:.3f}/{b['width_36']['masked']:.3f}"
        f"/{b['width_36']['all']:.3f} cov {cov} "
        f"mae={b['mae_36']:.4f} slope={b['slope_36']:.3f} [{r['seconds']} s]"
    )


def _pair(d: dict) -> str:
    return f"{d['complete']:.3f}/{d['masked']:.3f}"


def print_table(rows: list[dict]) -> None:
    header = ["world", "n", "rule", "scheme", "stand-in", "l1", "nz", "plain w36 c/m",
              "k 12/36/60", "oracle k", "w36 c/m", "w36 all", "cov 12", "cov 36", "cov 60",
              "MAE36", "slope"]  # fmt: skip
    body = []
    for r in rows:
        b, cov = r["band"], r["band"]["coverage"]
        body.append([
            r["world"], r["train_n"], r["rule"], r["scheme"], r["stand_in"], r["l1_ratio"],
            f"{r['nonzero']}/{r['columns']}", _pair(r["plain"]["width_36"]),
            "/".join(f"{v:.2f}" for v in r["factor"].values()),
            "/".join(f"{v:.2f}" for v in r["oracle_factor"].values()),
            _pair(b["width_36"]), b["width_36"]["all"],
            *[_pair(cov[t]) if t in cov else None for t in ("12", "36", "60")],
            b["mae_36"], b["slope_36"],
        ])  # fmt: skip
    print(table(header, body))


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--worlds", nargs="+", choices=list(WORLDS), default=list(WORLDS))
    ap.add_argument("--n", nargs="+", type=int, default=[500, 2000])
    ap.add_argument("--test-n", type=int, default=5000)
    ap.add_argument("--test-seed", type=int, default=777)
    ap.add_argument("--bootstrap", type=int, default=50, help="refits of each band (fit's 50)")
    ap.add_argument("--replicates", type=int, default=BAND_REPLICATES)
    ap.add_argument("--rules", nargs="+", choices=RULES, default=list(RULES))
    ap.add_argument("--schemes", nargs="+", choices=SCHEMES, default=list(SCHEMES))
    ap.add_argument("--stand-ins", nargs="+", choices=STAND_INS, default=list(STAND_INS))
    ap.add_argument("--complete-training", action="store_true",
                    help="train on every input known (the latent values): what missing training "
                    "inputs cost")  # fmt: skip
    ap.add_argument("--knots", nargs=2, type=int, default=None, metavar=("OWN", "PAIR"),
                    help="spline knots of every design (default: the expander's 7 and 4)")  # fmt: skip
    ap.add_argument("--piecewise", action="store_true",
                    help="also the stand-in (Cox in time pieces) as the model, plain band")  # fmt: skip
    ap.add_argument("--result", default="band_width")
    return ap.parse_args()


def use_knots(knots) -> None:
    """Every Cox design of this run with ``knots`` = (own, interaction) knots a spline."""
    if knots is None:
        return
    plain = estimators.cox_expander

    def finer(schema, terms=estimators.FULL_TERMS):
        ex = plain(schema, terms)
        return ex.set_params(n_knots=knots[0], interaction_knots=knots[1])

    estimators.cox_expander = finer


def main() -> None:
    args = parse_args()
    use_knots(args.knots)
    schema = default_schema()
    start = time.perf_counter()
    rows = []
    with tempfile.TemporaryDirectory(prefix="hipec-width-") as tmp:
        for world in args.worlds:
            test = test_set(world, args.test_n, args.test_seed, schema, Path(tmp))
            for n in args.n:
                rows += run_cell(world, n, schema, test, Path(tmp), args)
    print_table(rows)
    out = write_result(
        args.result,
        {
            "worlds": args.worlds,
            "train_n": args.n,
            "train_seeds": {n: TRAIN_SEEDS.get(n, n) for n in args.n},
            "test_n": args.test_n,
            "test_seed": args.test_seed,
            "bootstrap": args.bootstrap,
            "replicates": args.replicates,
            "noise_resamples": NOISE_RESAMPLES,
            "complete_training": args.complete_training,
            "knots": args.knots,
            "wall_seconds": time.perf_counter() - start,
            "rows": rows,
        },
    )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
