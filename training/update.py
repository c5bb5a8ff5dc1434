"""External validation and updating of a bundle on a new centre's data: recalibrate or refit.

Both methods write a new bundle into a registry (registered, never active until promoted)
whose manifest names its parent (version id, manifest SHA-256, method), with a report on
the new data before (the parent's models) and after (the updated ones): Harrell and Uno C,
integrated Brier score, calibration in the large and slope at the landmarks, and
calibration plots. "After" is apparent: the updated model on the patients it was updated
with; the bootstrap figures of the report correct that.

**Recalibrate** (Cox model only; Van Houwelingen, Stat Med 2000;19:3401-15; Steyerberg,
Clinical Prediction Models, 2nd ed. 2019, ch. 20). The parent's linear predictor ``lp``
keeps its coefficients' proportions; on the new data

* the calibration slope ``s`` is a one-parameter Cox fit of the new outcomes on ``lp``
  (Breslow's method for ties), and
* the baseline cumulative hazard is Breslow's estimator with ``s lp`` as offset,

so that ``H(t | x) = H0_new(t) exp(s lp(x))``: the model's ranking of patients (its C) is
unchanged, its spread (slope) and level (calibration in the large) are the new centre's.
The fitted Cox step is the parent's with its coefficients multiplied by ``s`` and its
baseline replaced, inside the parent's (outcome-free) preprocessing, so the page serves
the updated bundle exactly as a trained one. Its band: each of the parent's bootstrap
refits (deviations already stretched by the parent's inflation factor) is recalibrated in
turn on a bootstrap resample of the new data, so the band carries both the parent's
uncertainty about the coefficients' proportions (what recalibration cannot fix) and the
new data's about the slope and baseline. Internal validation repeats the recalibration on
bootstrap resamples of the new data.

A Cox model in time pieces (its hazard ratios change at the cuts) keeps its cuts and every
piece's coefficients' proportions: one slope over all pieces (the partial likelihoods of
the pieces added up, each piece's risk sets its own, as it was fitted) and each piece's
baseline re-estimated on its rows. Its refits are the parent's, their curves' deviations
stretched by the parent's factor over time on the parent's part of them only.

**Refit**: the parent's model families retrained on the new data with the parent's
schema, seed and the same hyper-parameter search (:func:`training.fit.fit_bundle`).
"""

from __future__ import annotations

import copy
import hashlib
import html
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import minimize_scalar
from sklearn.pipeline import Pipeline
from sksurv.linear_model.coxph import BreslowEstimator
from sksurv.util import Surv

from model.bundle import MANIFEST, Bundle, sha256_file
from model.fused_pieces import FusedPiecewiseCox, breslow_loglik
from model.manifest import Manifest, ModelEntry, TrainingData
from model.piecewise import PiecewiseCox, cumulative_hazard, pieces_of
from model.predict import cox_baseline_on_grid, survival_at, survival_on_grid
from model.prognosis import unseen_as_unknown
from model.timeaxis import TimeAxis, time_grid
from model.uncertainty import CoxEnsemble
from reporting.figures import calibration_figure
from training.bootstrap import VALIDATION_KEYS, bootstrap_validation
from training.describe import describe_cohort, in_months
from training.estimators import FULL_TERMS, cox_expander, survival_target
from training.metrics import calibration, decision_curve, performance, uno_tau
from training.provenance import declared_synthetic
from training.revision import (
    MAX_DRAWS,
    MIN_PARENT_REFITS,
    NullModel,
    RevisionTest,
    revision_test,
)
from training.subgroups import calibration_by_input
from training.tuning import TuningResult

__all__ = [
    "METHODS",
    "UpdateOptions",
    "before_after",
    "calibration_slope",
    "format_update",
    "recalibrate_pipeline",
    "update_bundle",
]

METHODS = ("recalibrate", "refit")
MIN_DEATHS = 10
SCORE_KEYS = ("harrell_c", "uno_c", "ibs", "ipa")


@dataclass
class UpdateOptions:
    """How to update; ``bootstrap`` and ``seed`` default to the parent's."""

    method: str
    bootstrap: int | None = None
    seed: int | None = None
    n_jobs: int = 2
    progress: bool = True
    command: str = ""


# --------------------------------------------------------------------- recalibration
def calibration_slope(lp: np.ndarray, event: np.ndarray, time: np.ndarray) -> float:
    """One-parameter Cox fit of the outcomes on a linear predictor (Breslow ties): the
    partial likelihood maximised along one direction (:func:`slope_in_pieces` with one
    piece; scikit-survival's Cox model gives the same slope to 1e-7 twenty times slower)."""
    y = np.empty(len(lp), dtype=[("event", bool), ("time", float)])
    y["event"], y["time"] = event, time
    return slope_in_pieces([(None, y, np.asarray(lp, dtype=float))])


def _breslow_on_grid(lp, event, time, grid) -> np.ndarray:
    """Breslow's baseline cumulative hazard with ``lp`` as offset, held beyond the last time."""
    fn = BreslowEstimator().fit(lp, event, time).cum_baseline_hazard_
    idx = np.searchsorted(fn.x, grid, side="right") - 1
    return np.maximum.accumulate(np.where(idx >= 0, fn.y[np.clip(idx, 0, None)], 0.0))


def _piece_parts(step: PiecewiseCox, Z: np.ndarray, event, time):
    """Per time piece: (rows alive at its start, their outcomes counted from it, their
    linear predictor in the piece)."""
    return [
        (alive, piece, Z[alive] @ coef)
        for alive, piece, coef in pieces_of(step, Surv.from_arrays(event, time))
    ]


# a calibration slope beyond this is no estimate but a likelihood rising without end (deaths
# ordered exactly by the linear predictor); real slopes lie within 0-3
MAX_SLOPE = 25.0


def slope_in_pieces(parts) -> float:
    """One calibration slope over the time pieces: the Cox fit of the outcomes on the
    linear predictor of the piece each death falls in, risk sets within pieces (the
    partial likelihoods of the pieces added up; with one piece, :func:`calibration_slope`)."""

    # a piece without a death adds nothing to the partial likelihood (nor one nobody reaches)
    used = [(piece, lp) for _a, piece, lp in parts if piece["event"].any()]

    def minus(s: float) -> float:
        return -sum(breslow_loglik(lp[:, None], piece, np.array([s])) for piece, lp in used)

    fit = minimize_scalar(minus, bracket=(0.0, 1.0)) if used else None
    if fit is None or not fit.success or not np.isfinite(fit.x) or abs(fit.x) > MAX_SLOPE:
        raise ValueError(
            "no calibration slope can be estimated on these data: the partial likelihood "
            "along the model's linear predictor has no finite maximum (no deaths, one "
            "linear predictor for everyone, or deaths ordered exactly by it)"
        )
    return float(fit.x)


def _recalibrated_pieces(step: PiecewiseCox, Z: pd.DataFrame, event, time):
    """A Cox model in time pieces with every piece's coefficients times one slope ``s``
    (:func:`slope_in_pieces`) and each piece's baseline re-estimated on its rows of the new
    data: what :func:`_recalibrated_step` does, with hazard ratios that change over time."""
    Zn = Z.to_numpy(dtype=float)
    parts = _piece_parts(step, Zn, event, time)
    s = slope_in_pieces(parts)
    new = copy.deepcopy(step)
    new.calibration_slope_ = s
    new.coefs_ = step.coefs_ * s
    e, t = "event", "time"
    if isinstance(step, FusedPiecewiseCox):
        new.baselines_ = [
            BreslowEstimator().fit(s * lp, piece[e], piece[t]).cum_baseline_hazard_
            for _a, piece, lp in parts
        ]
    else:
        new.pieces_ = [
            _recalibrated_step(est, Z[alive], piece[e], piece[t], s)[0]
            for est, (alive, piece, _lp) in zip(step.pieces_, parts, strict=True)
        ]
    return new, s


def _recalibrated_step(step, Z: pd.DataFrame, event, time, s: float | None = None):
    """The parent's fitted Cox step with coefficients times ``s`` and a new baseline.

    scikit-survival's Coxnet predicts ``Z coef - offset`` and keeps one Breslow baseline
    per penalty (its ``_baseline_models``, fitted on that linear predictor); the copy gets
    ``s coef``, ``s offset`` and Breslow baselines fitted on the new data with ``s lp``.
    ``s``: the calibration slope on these data unless given.
    """
    if isinstance(step, PiecewiseCox):
        return _recalibrated_pieces(step, Z, event, time)
    lp = step.predict(Z)
    s = calibration_slope(lp, event, time) if s is None else s
    new = copy.deepcopy(step)
    new.calibration_slope_ = s  # recorded for the bootstrap's interval of the slope
    new.coef_ = step.coef_ * s
    new.offset_ = step.offset_ * s
    Zn = np.asarray(Z, dtype=float)
    new._baseline_models = tuple(
        BreslowEstimator().fit(Zn @ new.coef_[:, k] - new.offset_[k], event, time)
        for k in range(new.coef_.shape[1])
    )
    return new, s


def recalibrate_pipeline(pipe: Pipeline, X: pd.DataFrame, y: np.ndarray) -> tuple[Pipeline, float]:
    """A fitted Cox pipeline recalibrated on (X, y): same preprocessing; returns it and ``s``."""
    e, t = y.dtype.names
    step, s = _recalibrated_step(pipe[-1], pipe[:-1].transform(X), y[e].astype(bool), y[t])
    return Pipeline([*pipe.steps[:-1], (pipe.steps[-1][0], step)]), s


def _recalibrate_refit(Xb, yb, seed, *, base):
    return recalibrate_pipeline(base, Xb, yb)[0]


def _collect_slope(pipe: Pipeline) -> dict:
    return {"slope": pipe[-1].calibration_slope_}


def _resamples(event: np.ndarray, n_boot: int, seed: int):
    """Bootstrap resamples of the new data's rows, as (index, rows); one with under two
    deaths is left out (no slope can be fitted to it)."""
    rng = np.random.default_rng(seed)
    for b in range(n_boot):
        idx = rng.integers(0, len(event), len(event))
        if event[idx].sum() >= 2:
            yield b, idx


def _recalibrated_ensemble(
    parent: CoxEnsemble | None,
    final: Pipeline,
    Z: pd.DataFrame,
    y,
    grid,
    n_boot: int,
    seed: int,
    parent_grid: np.ndarray,
) -> CoxEnsemble:
    """The updated model and, per bootstrap resample of the new data, one of the parent's
    (inflated) refits recalibrated on it.

    Each refit takes the slope the parent's own model gets on the resample, as the updated
    model took it on all the new data. A slope fitted to the refit itself would shrink it
    towards the average by as much as the refit deviates from the parent (a noisier
    predictor earns a flatter slope): every refit less extreme than the updated model, whose
    estimate then sat on the band's edge (a Veterans' patient at high risk: S(91 days) 0.047,
    band 0.047-0.597)."""
    e, t = y.dtype.names
    event, time = y[e].astype(bool), y[t].astype(float)
    step = final[-1]
    if isinstance(step, PiecewiseCox):
        return _recalibrated_ensemble_in_pieces(
            parent, step, Z, event, time, grid, n_boot, seed, parent_grid
        )
    coef = np.asarray(step.coef_)[:, -1]
    columns = list(Z.columns)
    Zn = Z.to_numpy(dtype=float)
    members = parent.inflated()[0] if parent is not None and parent.n_boot else coef[None, :]
    own = np.asarray(parent.coef, dtype=float) if parent is not None else coef
    boot_coef, boot_h0 = [], []
    for b, idx in _resamples(event, n_boot, seed):
        beta = members[b % len(members)]
        lp = Zn[idx] @ own
        s = calibration_slope(lp, event[idx], time[idx])
        boot_coef.append(s * beta)
        boot_h0.append(_breslow_on_grid(s * lp, event[idx], time[idx], grid))
    ensemble = CoxEnsemble(
        columns=columns,
        coef=coef,
        h0=cox_baseline_on_grid(step, columns, grid),
        boot_coef=np.array(boot_coef).reshape(-1, len(coef)),
        boot_h0=np.array(boot_h0).reshape(-1, len(grid)),
        inflation=1.0,  # the parent's members carry its inflation already
    )
    return ensemble


def _recalibrated_ensemble_in_pieces(
    parent: CoxEnsemble | None,
    step: PiecewiseCox,
    Z: pd.DataFrame,
    event,
    time,
    grid,
    n_boot: int,
    seed: int,
    parent_grid,
) -> CoxEnsemble:
    """:func:`_recalibrated_ensemble` of a Cox model in time pieces: per resample, one of the
    parent's refits (coefficients per piece) times the slope the parent's own model gets on
    the resample, with each piece's baseline re-estimated there. A model in pieces stretches
    curves, not coefficients, by a factor over time: the parent's, for the part of each
    refit's deviation that is the parent's, and none for the new data's part (the slope and
    baselines of the resample), weighed by their variances (:func:`split_factor`). The
    parent's factor on the whole deviation had over-covered at 12 months from 110 new
    patients (0.98-1.00; ``update.json``), where the new data's few early deaths are most of
    it. Stretching the parent's coefficients by its largest factor instead, as in one
    piece, gave a band wider at every size and centre measured
    (``benchmarks/results/update_coefficients_stretched.json`` against ``update.json``: at
    500 new patients 0.29-0.33 at 36 months, not 0.24-0.27, with coverage 0.96-1.00)."""
    Zn = Z.to_numpy(dtype=float)
    own = np.asarray(parent.coef if parent is not None else step.coefs_, dtype=float)
    members = parent.boot_coef if parent is not None and parent.n_boot else own[None]
    parent_model = copy.copy(step)
    parent_model.coefs_ = own
    spans = list(zip(step.edges_[:-1], step.edges_[1:], strict=True))
    boot_coef, boot_h0, chosen, slopes = [], [], [], []
    for b, idx in _resamples(event, n_boot, seed):
        parts = _piece_parts(parent_model, Zn[idx], event[idx], time[idx])
        if any(piece["event"].sum() == 0 for _a, piece, _lp in parts):
            continue  # a piece without a death in the resample has no baseline
        s = slope_in_pieces(parts)
        chosen.append(members[b % len(members)])
        slopes.append(s)
        boot_coef.append(s * chosen[-1])
        boot_h0.append(
            [
                _breslow_on_grid(
                    s * lp, piece["event"], piece["time"], np.clip(grid - a, 0.0, c - a)
                )
                * (grid > a)
                for (_alive, piece, lp), (a, c) in zip(parts, spans, strict=True)
            ]
        )
    k, p = own.shape
    coef, h0 = np.asarray(step.coefs_, dtype=float), step.baselines_on_grid(grid)
    boot_h0 = np.array(boot_h0).reshape(-1, k, len(grid))
    factor = _inflation_on(parent, parent_grid, grid)
    if factor is not None and len(chosen) >= 2:
        # each refit's two parts: the parent's (its member at the slope of all the new data,
        # on the updated baselines) and the new data's (the parent's own model at the
        # resample's slope and baselines); only the first is the parent's to stretch
        slope = float(getattr(step, "calibration_slope_", 1.0))
        parent_part = (slope * np.array(chosen), np.broadcast_to(h0, boot_h0.shape))
        new_part = (np.array(slopes)[:, None, None] * own[None], boot_h0)
        factor = split_factor(factor, (coef, h0), parent_part, new_part, Zn)
    return CoxEnsemble(
        columns=list(Z.columns),
        coef=coef,
        h0=h0,
        boot_coef=np.array(boot_coef).reshape(-1, k, p),
        boot_h0=boot_h0,
        inflation=float(getattr(parent, "inflation", 1.0)) if parent is not None else 1.0,
        inflation_grid=factor,
        cuts=tuple(step.cuts),
    )


# patients of the new data whose curves weigh the two parts of a refit's deviation
SPLIT_ROWS = 300


def _log_deviation_variance(final, refits, Z: np.ndarray) -> np.ndarray:
    """Mean over patients of the refits' variance of log H(t) about the final model's, at
    each grid time (0 where H is still 0)."""
    H = cumulative_hazard(Z, *final)
    H_b = np.array([cumulative_hazard(Z, c, h) for c, h in zip(*refits, strict=True)])
    both = (H[None] > 0) & (H_b > 0)
    dev = np.where(both, np.log(np.where(both, H_b, 1.0)) - np.log(np.where(H > 0, H, 1.0)), 0.0)
    return (dev**2).mean(axis=(0, 1))


def split_factor(factor: np.ndarray, final, parent_part, new_part, Z: np.ndarray) -> np.ndarray:
    """The factor over time that stretches a recalibrated refit's whole deviation as much as
    stretching its parent's part by the parent's ``factor`` and leaving the new data's part
    as it is: ``sqrt((k^2 V_parent + V_new) / (V_parent + V_new))``, the variances of log
    H(t) about the final model over a sample of the new patients (``final``, and each part:
    coefficients and baselines per piece)."""
    rows = np.random.default_rng(0).permutation(len(Z))[:SPLIT_ROWS]
    v_parent = _log_deviation_variance(final, parent_part, Z[rows])
    v_new = _log_deviation_variance(final, new_part, Z[rows])
    total = v_parent + v_new
    with np.errstate(invalid="ignore", divide="ignore"):
        split = np.sqrt((factor**2 * v_parent + v_new) / total)
    return np.where(total > 0, split, factor)


def _inflation_on(parent: CoxEnsemble | None, parent_grid, grid: np.ndarray) -> np.ndarray | None:
    """The parent's band factor over time (on its grid) at the new grid's times, each the
    factor at the parent's grid time before it (its last held after its end)."""
    k = getattr(parent, "inflation_grid", None)
    if k is None or parent_grid is None:
        return None
    at = np.searchsorted(np.asarray(parent_grid, dtype=float), grid, side="right") - 1
    return np.asarray(k, dtype=float)[np.clip(at, 0, len(k) - 1)]


# --------------------------------------------------------------------- before and after
def _scores(pipe: Pipeline, X, y, grid, risk_horizon: float, tau: float, horizons) -> dict:
    surv = survival_on_grid(pipe, X, grid)
    perf = performance(y, y, surv, grid, risk_horizon, tau, horizons)
    out = {k: perf.get(k) for k in SCORE_KEYS}
    out["calibration"] = {n: calibration(y, surv, grid, h) for n, h in horizons.items()}
    return out


def before_after(
    parent: Bundle, after: dict[str, Pipeline], grid: np.ndarray, data: pd.DataFrame
) -> dict:
    """The parent's models and the updated ones scored on the new data, each on its
    pipeline's curves (an unknown input filled once by its imputer), so that before and
    after differ by the model alone.

    Returns
    -------
    dict
        ``n``, ``deaths``, ``uno_tau_months``, and ``before`` / ``after``: per model,
        ``harrell_c``, ``uno_c``, ``ibs``, ``ipa`` and ``calibration`` at each landmark
        (groups, in the large, slope; None beyond follow-up).
    """
    schema = parent.schema
    X, y = data[schema.feature_names], survival_target(data, schema)
    # the parent scores a level its training data never held as unknown, as it does in use
    X_parent = unseen_as_unknown(parent.manifest.training_ranges, schema, X)
    horizons = {m.name: m.months for m in schema.time_axis.marks}
    tau = uno_tau(y, schema.time_axis.last_months)
    return {
        "landmarks": list(horizons),
        "time_unit": schema.time_axis.unit,
        "n": int(len(y)),
        "deaths": int(y[y.dtype.names[0]].sum()),
        "uno_tau_months": tau,
        "before": {
            m: _scores(p, X_parent, y, parent.grid, parent.risk_horizon, tau, horizons)
            for m, p in parent.models.items()
        },
        "after": {
            m: _scores(
                p,
                X,
                y,
                grid,
                min(schema.time_axis.risk_horizon_months, float(grid[-1])),
                tau,
                horizons,
            )
            for m, p in after.items()
        },
        "note": "after: apparent, the updated models on the patients they were updated with",
    }


def _rows(doc: dict, model: str) -> list[tuple[str, float | None, float | None]]:
    before, after = doc["before"].get(model) or {}, doc["after"][model]
    rows = [
        ("Harrell C", before.get("harrell_c"), after["harrell_c"]),
        (
            f"Uno C (tau {TimeAxis(doc['time_unit']).said(doc['uno_tau_months'])})",
            before.get("uno_c"),
            after["uno_c"],
        ),
        ("Integrated Brier score", before.get("ibs"), after["ibs"]),
    ]
    for h in doc["landmarks"]:
        b = (before.get("calibration") or {}).get(h) or {}
        a = after["calibration"].get(h) or {}
        rows.append(
            (
                f"Calibration in the large, {TimeAxis(doc['time_unit']).text(float(h))}",
                b.get("in_the_large"),
                a.get("in_the_large"),
            )
        )
        rows.append(
            (
                f"Calibration slope, {h} {TimeAxis(doc['time_unit']).short}",
                b.get("slope"),
                a.get("slope"),
            )
        )
    return rows


def _f(v) -> str:
    return "—" if v is None else f"{v:.3f}"


def format_update(doc: dict, labels: dict[str, str], events: str = "events") -> str:
    """Plain-text before/after table per updated model (``doc``: :func:`before_after`;
    ``events``: the schema's word for them)."""
    lines = [
        f"On the new data ({doc['n']} patients, {doc['deaths']} {events}); after = apparent, "
        "on the patients the update used:"
    ]
    for model in doc["after"]:
        lines.append(f"{labels.get(model, model):<36}{'before':>10}{'after':>10}")
        lines += [f"  {name:<34}{_f(b):>10}{_f(a):>10}" for name, b, a in _rows(doc, model)]
    test = doc.get("revision_test")
    if test and test["by_factor"]:
        top = test["by_factor"][0]
        lines.append(
            f"Recalibrate or refit? The factor most different from the parent here: "
            f"{top['label']} ({p_said(top['p_value'], test.get('p_floor'))}, adjusted for the "
            f"{test.get('factors_tested', len(test['by_factor']))} factors tested: the "
            f"decision's); all terms together, beside it: {overall_said(test)}."
        )
    return "\n".join(lines)


def _table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _update_html(
    doc: dict, labels: dict[str, str], parent_ref: dict, about: str, events: str
) -> str:
    parts = [
        "<h2>Update on the new data: before and after</h2>",
        f"<p>Parent bundle <code>{html.escape(parent_ref['version_id'])}</code> (manifest "
        f"SHA-256 <code>{parent_ref['manifest_sha256']}</code>), updated by "
        f"<b>{html.escape(parent_ref['method'])}</b>. {html.escape(about)} Before: the "
        "parent's models on these data (external validation). After: the updated models on "
        f"the same {doc['n']} patients ({doc['deaths']} {events}), so apparent; the bootstrap "
        "figures above correct for that. Both columns fill an unknown input once, as each "
        "model's own pipeline does, so that they differ by the model alone; the curves the "
        "page serves average over draws of it (what <code>evaluate</code> scores), which "
        "moves these figures only through the patients with an unknown input.</p>",
        *(f"<p><b>Warning:</b> {html.escape(w)}</p>" for w in doc.get("warnings") or []),
        _revision_html(doc.get("revision_test")),
    ]
    for model in doc["after"]:
        parts.append(f"<h3>{html.escape(labels.get(model, model))}</h3>")
        parts.append(
            _table(
                ["Measure", "Before (parent)", "After (updated)"],
                [[html.escape(n), _f(b), _f(a)] for n, b, a in _rows(doc, model)],
            )
        )
        for h in doc["landmarks"]:
            series = {
                f"{labels.get(model, model)}, before": (doc["before"].get(model) or {}).get(
                    "calibration", {}
                ),
                f"{labels.get(model, model)}, after": doc["after"][model]["calibration"],
            }
            if any((c or {}).get(str(h)) for c in series.values()):
                fig = calibration_figure(series, h, doc["time_unit"])
                fig.update_layout(template="simple_white", height=420)
                parts.append(fig.to_html(full_html=False, include_plotlyjs=False))
    return "".join(parts)


def _revision_html(test: dict | None) -> str:
    if not test:
        return ""
    floor = test.get("p_floor")
    rows = [
        [
            html.escape(r["label"]),
            f"{r['statistic']:.1f}",
            str(r["df"]),
            f"{r['p_chi2']:.3f}" if r["p_chi2"] >= 0.0005 else "&lt; 0.001",
            html.escape(p_said(r["p_value"], floor).removeprefix("p = ").removeprefix("p ")),
        ]
        if r["df"]
        else [html.escape(r["label"]), "—", "0", "—", "not tested: no variation here"]
        for r in test["by_factor"]
    ]
    return (
        "<h3>Recalibrate or refit?</h3>"
        "<p>Recalibration keeps the parent's hazard ratios in their proportions; a refit "
        "(revision) re-estimates each, and may add the bends and interactions the schema "
        "declares that the parent's design lacks. Score tests of revision against the parent "
        "recalibrated on these data (Breslow partial likelihood; the last step of the closed "
        "testing procedure of Vergouwe et al., Stat Med 2017;36:4529-39), per factor (its "
        f"terms in every time piece): <b>{html.escape(p_said(test['p_value'], floor))}</b> "
        f"({html.escape(test['p_value_is'])}). All terms together, beside the decision "
        "(one or two changed effects are diluted over all the terms' degrees of freedom): "
        f"{html.escape(overall_said(test))}. "
        f"Below {test['alpha']:g}, the parent's hazard ratios stand in other proportions on "
        "these data: the centre differs, or the parent's estimates were off by more than "
        "its bootstrap refits vary (where it has them, the simulations stand them in for it), "
        "as a design that misses a shape in the data can be. Above "
        f"it, the data give no evidence that they do ({LITTLE_POWER}).</p>"
        + _table(["Factor", "Chi-squared", "df", "p (chi-squared)", "p (adjusted)"], rows)
    )


def update_section(
    parent: Bundle,
    after: dict[str, Pipeline],
    grid: np.ndarray,
    data: pd.DataFrame,
    parent_ref: dict,
    about: str,
    validation: dict | None = None,
) -> tuple[dict, str]:
    """The report's ``update`` entry and its HTML (before/after table and calibration plots);
    ``validation``: a refit's bootstrap validation by model, for :func:`refit_warnings`."""
    doc = before_after(parent, after, grid, data)
    doc["parent"] = parent_ref
    doc["about"] = about
    labels = {m: parent.manifest.label(m) for m in {*parent.models, *after}}
    test, untested = revision_tried(parent, data)
    doc["revision_test"] = None if test is None else test.to_dict()
    # a recalibration keeps the parent's model and fits one slope to it, which can miss every
    # landmark; a refit is a new model, scored on the patients it learned from
    recalibrated = parent_ref.get("method") == "recalibrate"
    doc["warnings"] = (
        follow_up_warnings(grid, parent.schema)
        + (slope_warnings(doc) if recalibrated else refit_warnings(doc, validation or {}, labels))
        + revision_warnings(test, recalibrated)
        + ([untested] if untested else [])
    )
    return doc, _update_html(doc, labels, parent_ref, about, parent.schema.words.events)


def follow_up_warnings(grid, schema) -> list[str]:
    """Where the new data's follow-up ends before a landmark: the updated bundle's curves
    end with it, and its estimates there are blank (the parent's were not)."""
    if grid is None or not len(grid):
        return []
    axis = schema.time_axis
    end = float(grid[-1])
    beyond = [m for m in axis.marks if m.months > end]
    if not beyond:
        return []
    return [
        f"the new data follow patients to {axis.said(end)} only: the updated bundle's curves "
        f"end there, and its estimates at {', '.join(axis.said(m.months) for m in beyond)} "
        "are blank. Update with data followed past the times that matter, or keep the parent."
    ]


def revision_tried(
    parent: Bundle, data: pd.DataFrame, max_draws: int = MAX_DRAWS
) -> tuple[RevisionTest | None, str | None]:
    """:func:`revision_on`, or None and why where these data cannot be tested (a piece
    nobody reaches, a slope with no finite estimate): the update or evaluation goes on."""
    try:
        return revision_on(parent, data, max_draws), None
    except (ValueError, ArithmeticError, np.linalg.LinAlgError) as exc:
        return None, f"the score tests of revision against recalibration could not be run: {exc}"


def revision_on(
    parent: Bundle, data: pd.DataFrame, max_draws: int = MAX_DRAWS
) -> RevisionTest | None:
    """The score test of revision against the parent's Cox model recalibrated on ``data``
    (:mod:`training.revision`), its p-value simulated under that recalibration; None for a
    bundle without a Cox model."""
    cox = _cox_models(parent)
    if not cox:
        return None
    schema = parent.schema
    data = unseen_as_unknown(parent.manifest.training_ranges, schema, data)
    X, y = data[schema.feature_names], survival_target(data, schema)
    base = parent.models[cox[0]]
    pipe, _s = recalibrate_pipeline(base, X, y)
    e, t = y.dtype.names
    event, time = y[e].astype(bool), y[t].astype(float)
    Z = base[:-1].transform(X)
    deaths = np.unique(time[event])
    wider = pd.concat([Z, _declared_terms_lacking(base, X, Z, schema)], axis=1)
    members = _parent_members(parent, cox[0], base[-1], list(Z.columns))
    null = NullModel(
        surv=survival_on_grid(pipe, X, deaths),
        grid=deaths,
        refit=partial(_slope_only, base[-1], Z, members),
        seed=parent.manifest.seed,
        max_draws=max_draws,
        parent_refits=0 if members is None else len(members),
    )
    return revision_test(pipe[-1], wider, event, time, schema, null)


def _declared_terms_lacking(pipe: Pipeline, X: pd.DataFrame, Z: pd.DataFrame, schema):
    """The terms of the schema's declared design (its non-linear features' bends, its
    interactions) that the parent's design ``Z`` lacks, on the new data, standardised: the
    revision a refit could make that recalibration cannot, besides new proportions."""
    names = [n for n, _ in pipe.steps]
    if "expand" not in names:
        return pd.DataFrame(index=Z.index)
    imputed = pipe[: names.index("expand")].transform(X)
    wide = cox_expander(schema, FULL_TERMS).fit(imputed).transform(imputed)
    wide = wide[[c for c in wide.columns if c not in Z.columns]]
    spread = wide.std(ddof=0)
    wide = wide.loc[:, spread > 0]
    return ((wide - wide.mean()) / spread[spread > 0]).set_index(Z.index)


def _parent_members(parent: Bundle, name: str, step, columns: list[str]) -> np.ndarray | None:
    """The coefficients of the Cox model ``name``'s bootstrap refits as fitted, without the
    band's inflation (:mod:`training.revision`), those with a direction (a refit the penalty
    left empty has no slope); None where fewer than :data:`MIN_PARENT_REFITS` remain. A
    recalibrated bundle's refits are its parent's as its band drew them (in one piece,
    stretched by that parent's factor, which it does not record)."""
    ens = parent.artifacts.get(f"{name}_ensemble")
    if ens is None or not ens.n_boot:
        return None
    coef = step.coefs_ if isinstance(step, PiecewiseCox) else np.asarray(step.coef_)[:, -1]
    members = np.asarray(ens.boot_coef, dtype=float)
    if list(ens.columns) != columns or members.shape[1:] != np.shape(coef):
        raise ValueError("the parent's bootstrap refits are not on its model's design columns")
    members = members[np.abs(members).reshape(len(members), -1).max(axis=1) > 0]
    return members if len(members) >= MIN_PARENT_REFITS else None


def _slope_only(step, Z: pd.DataFrame, members: np.ndarray | None, event, time, draw: int = 0):
    """The parent's Cox step, or its ``draw``-th bootstrap refit in ``members`` in turn, with
    its coefficients times the slope fitted on (event, time), without the baselines: all the
    score test needs of a recalibration."""
    new = copy.copy(step)
    member = None if members is None else members[draw % len(members)]
    Zn = Z.to_numpy(dtype=float)
    if isinstance(step, PiecewiseCox):
        new.coefs_ = step.coefs_ if member is None else member
        new.coefs_ = new.coefs_ * slope_in_pieces(_piece_parts(new, Zn, event, time))
    else:
        coef = np.asarray(step.coef_ if member is None else member[:, None], dtype=float)
        new.coef_ = coef * calibration_slope(Zn @ coef[:, -1], event, time)
    return new


def p_said(p: float, floor: float | None) -> str:
    """A simulated p-value as text: "p <= 0.005" at the least the simulations can give."""
    if floor is not None and p <= floor * (1 + 1e-9):
        return f"p <= {floor:.3f}"
    return f"p = {p:.3f}"


def overall_said(test: dict) -> str:
    """The overall test (``RevisionTest.to_dict``) as text: "chi-squared 51.3 on 35 df,
    p = 0.156 by simulation"."""
    floor, p = test.get("p_floor"), test.get("p_overall")
    said = f"chi-squared {test['statistic']:.1f} on {test['df']} df"
    if p is None:
        return said
    return f"{said}, {p_said(p, floor)}" + (" by simulation" if floor else "")


def _test_said(test: RevisionTest) -> str:
    floor = test.to_dict()["p_floor"]
    top = ", ".join(
        f"{r['label']} ({p_said(r['p_value'], floor)})" for r in test.by_factor[:3] if r["df"]
    )
    overall = overall_said(test.to_dict())
    return (
        f"score tests of revision against recalibration: {p_said(test.p_value, floor)} for the "
        f"factor most different, adjusted for the {test.factors_tested} factors tested"
        + (f"; most different: {top}" if top else "")
        + f"; all terms together, beside the decision: {overall}"
    )


# what "no evidence" is worth (benchmarks/README.md: 0-25 % of centres of 110 whose
# proportions differ were seen; an independent check's one effect doubled at 4 centres of 500,
# none)
LITTLE_POWER = "a test of little power from few events, and for one effect's moderate change"


def revision_warnings(test: RevisionTest | None, recalibrated: bool) -> list[str]:
    """Where the method chosen is not the one the new data support: a recalibration where
    the parent's hazard ratios stand in other proportions at the new centre, or a refit
    where the data give no evidence of that."""
    if test is None:
        return []
    if recalibrated and test.proportions_differ:
        return [
            "on the new data the parent's hazard ratios stand in other proportions than it "
            "says (" + _test_said(test) + "): the centre differs, or the parent's estimates "
            "were off by more than its bootstrap refits vary. Recalibration keeps the "
            "parent's proportions, and its band does not know they are wrong: it may cover "
            "the truth far less often than it says. "
            "Compare with --method refit."
        ]
    if not recalibrated and not test.proportions_differ:
        return [
            "the new data give no evidence that the parent's hazard ratios stand in other "
            "proportions here (" + _test_said(test) + f"; {LITTLE_POWER}). "
            "--method recalibrate keeps them and re-estimates the slope and baseline; "
            "where the proportions held, it predicted better than a refit at every simulated "
            "centre measured (benchmarks/README.md, updating at a new centre)."
        ]
    return []


# a refit whose optimism-corrected integrated Brier score on the new data is worse than the
# parent's own there by more than this (about 3 % of a typical 0.15-0.20) predicts worse than
# the model it would replace: at 110 new patients refit's error of S(36) was three times the
# parent's (benchmarks/update.py)
IBS_WORSE = 0.005


def refit_warnings(doc: dict, validation: dict, labels: dict[str, str]) -> list[str]:
    """Where a refitted model's integrated Brier score on the new data, corrected for the
    optimism of scoring it on the patients it learned from, is worse than the parent's on
    the same patients by more than :data:`IBS_WORSE`. The correction does not repeat the
    tuning, so it is itself optimistic: a refit said to be worse is."""
    out = []
    for m, v in validation.items():
        before = (doc["before"].get(m) or {}).get("ibs")
        after = (doc["after"].get(m) or {}).get("ibs")
        optimism = (v.get("optimism") or {}).get("ibs")
        if before is None or after is None or optimism is None:
            continue
        corrected = after - optimism
        if corrected > before + IBS_WORSE:
            out.append(
                f"the refitted {labels.get(m, m)} is expected to predict worse than the parent "
                f"on patients like these: integrated Brier score {corrected:.3f} after "
                f"optimism correction against the parent's {before:.3f} on the same "
                f"{doc['n']} patients (lower is better). Keep the parent, or compare with "
                "--method recalibrate, which keeps its hazard ratios."
            )
    return out


# an update that moves a landmark's calibration slope further from 1 by more than this
# made the model worse there on the very patients it was updated with. Against the truth
# (benchmarks/slope_warning.py, 100 simulated centres of 110 and 500), the update had moved
# the slope at a landmark it named further from 1 by this much in 15 of the 25 where it warned
# (54 centres had such a landmark). Asking as well that the slope differ from 1 beyond its
# standard error (5 % over the landmarks; 0.05-0.10 at 500 patients, 0.11-0.23 at 110)
# warned at none: recalibration's miss at a landmark is real and smaller than that.
SLOPE_WORSE = 0.05


def slope_warnings(doc: dict) -> list[str]:
    """Where an updated Cox model's calibration slope at a landmark is further from 1 than
    the parent's was, on the same new data, by more than :data:`SLOPE_WORSE`: one slope
    fitted over the whole follow-up does not fit every landmark (as where hazard ratios
    change over time). Each is given with the updated slope's standard error, which says how
    well these data place that slope, not whether the update moved it: it did."""
    before = (doc["before"].get("coxnet") or {}).get("calibration") or {}
    after = (doc["after"].get("coxnet") or {}).get("calibration") or {}
    axis = TimeAxis(doc["time_unit"])
    worse = []
    for h in doc["landmarks"]:
        b, cal = (before.get(h) or {}).get("slope"), after.get(h) or {}
        a, se = cal.get("slope"), cal.get("slope_se")
        if b is not None and a is not None and abs(a - 1) > abs(b - 1) + SLOPE_WORSE:
            error = "" if se is None else f", the updated slope's standard error {se:.2f}"
            worse.append(f"{axis.text(float(h))} ({b:.2f} -> {a:.2f}{error})")
    if not worse:
        return []
    return [
        "the update moved the Cox model's calibration slope further from 1 at "
        + ", ".join(worse)
        + ", on the same new data: one slope over the whole follow-up does not fit each "
        "landmark (hazard ratios that change over time?). A slope within its standard error "
        "of 1 is no reassurance here: the update itself moved it. Compare with --method "
        "refit, and keep the parent where it calibrates better at the times that matter."
    ]


# --------------------------------------------------------------------- the verb
def _check(parent: Bundle, data: pd.DataFrame, method: str) -> None:
    if method not in METHODS:
        raise ValueError(f"unknown update method {method!r}; choose recalibrate or refit")
    y = survival_target(data, parent.schema)
    if y[y.dtype.names[0]].sum() < MIN_DEATHS:
        raise ValueError(
            f"the new data have fewer than {MIN_DEATHS} {parent.schema.words.events}; too few "
            "to update a model"
        )
    if method == "recalibrate" and _cox_models(parent):
        _check_pieces(parent, y)
    if method == "recalibrate" and not _cox_models(parent):
        names = ", ".join(parent.manifest.label(m) for m in parent.models)
        raise ValueError(
            f"bundle {parent.version_id} has no Cox model to recalibrate (it holds: {names}); a "
            "random survival forest has no linear predictor whose slope and baseline could be "
            "re-estimated. Update it with --method refit."
        )


def _check_pieces(parent: Bundle, y) -> None:
    """A Cox model in time pieces is recalibrated with each piece's baseline re-estimated on
    the new data: every piece needs deaths there."""
    step = parent.models[_cox_models(parent)[0]][-1]
    if not isinstance(step, PiecewiseCox):
        return
    axis, events = parent.schema.time_axis, parent.schema.words.events
    spans = zip(step.edges_[:-1], step.edges_[1:], strict=True)
    for (a, b), (_alive, piece, _coef) in zip(spans, pieces_of(step, y), strict=True):
        if not piece[piece.dtype.names[0]].any():
            span = (
                f"after {axis.said(a)}"
                if not np.isfinite(b)
                else f"between {axis.said(a)} and {axis.said(b)}"
            )
            raise ValueError(
                f"the new data have no {events} {span}, where the parent's Cox model has a "
                "time piece of its own (its hazard ratios change at "
                f"{', '.join(axis.said(c) for c in step.cuts)}): recalibration re-estimates "
                "each piece's baseline and cannot without them. Update with data followed "
                "past that time, or with --method refit."
            )


def _cox_models(bundle: Bundle) -> list[str]:
    """The bundle's models with a linear predictor and Breslow baselines (recalibratable):
    in one piece or in time pieces (:class:`model.piecewise.PiecewiseCox`)."""
    return [
        m
        for m, p in bundle.models.items()
        if isinstance(p[-1], PiecewiseCox)
        or (hasattr(p[-1], "coef_") and getattr(p[-1], "fit_baseline_model", False))
    ]


def parent_reference(parent: Bundle, method: str) -> dict:
    """What the updated bundle's manifest records about its parent."""
    return {
        "version_id": parent.version_id,
        "manifest_sha256": sha256_file(Path(parent.path) / MANIFEST),
        "method": method,
    }


def update_bundle(
    parent: Bundle,
    data_path: Path,
    out: Path,
    options: UpdateOptions,
    validated: pd.DataFrame,
) -> Path:
    """Update ``parent`` on validated new data; write and register the new bundle.

    The new bundle is registered in ``out`` and never made active; the parent's files are
    only read.

    Raises
    ------
    ValueError
        Unknown method, too few deaths, or ``recalibrate`` asked of a bundle without a Cox
        model (the message names the allowed method).
    """
    _check(parent, validated, options.method)
    ref = parent_reference(parent, options.method)
    if options.method == "refit":
        return _refit(parent, Path(data_path), out, options, validated, ref)
    return _recalibrate(parent, Path(data_path), out, options, validated, ref)


def _parent_boot(parent: Bundle) -> int:
    return int(parent.manifest.metrics.get(parent.default_model, {}).get("n_boot") or 0)


def _refit(parent, data_path, out, options: UpdateOptions, data, ref) -> Path:
    from training.fit import FitOptions, fit_bundle

    about = (
        "The parent's model families were retrained on these data with its schema, seed and "
        "the same hyper-parameter search."
    )
    fit_options = FitOptions(
        models=tuple(parent.models),
        cox_designs=_parent_designs(parent),
        proportional_hazards=_parent_one_piece(parent),
        bootstrap=_parent_boot(parent) if options.bootstrap is None else options.bootstrap,
        seed=parent.manifest.seed if options.seed is None else options.seed,
        n_jobs=options.n_jobs,
        progress=options.progress,
        command=options.command,
        parent=ref,
        report_sections=lambda models, grid, validation: {
            "update": update_section(parent, models, grid, data, ref, about, validation)
        },
    )
    return fit_bundle(data_path, parent.schema, out, fit_options, validated=data)


@dataclass
class _Recalibrated:
    pipeline: Pipeline
    slope: float
    grid: np.ndarray
    validation: dict
    ensemble: CoxEnsemble
    slopes: list[float]


def _recalibrate_cox(parent: Bundle, name: str, data, n_boot: int, options, seed) -> _Recalibrated:
    schema = parent.schema
    X, y = data[schema.feature_names], survival_target(data, schema)
    base = parent.models[name]
    final, slope = recalibrate_pipeline(base, X, y)
    axis = schema.time_axis
    grid = time_grid(y, axis)
    validation = bootstrap_validation(
        final,
        partial(_recalibrate_refit, base=base),
        X,
        y,
        grid,
        min(axis.risk_horizon_months, float(grid[-1])),
        uno_tau(y, axis.last_months),
        n_boot,
        seed=seed,
        collect=_collect_slope,
        progress=options.progress,
        desc=f"bootstrap recalibration {name}",
        n_jobs=options.n_jobs,
        horizons={m.name: m.months for m in axis.marks},
    )
    ensemble = _recalibrated_ensemble(
        parent.artifacts.get(f"{name}_ensemble"),
        final,
        base[:-1].transform(X),
        y,
        grid,
        n_boot,
        seed,
        parent.grid,
    )
    slopes = [c["slope"] for c in validation["collected"]]
    return _Recalibrated(final, slope, grid, validation, ensemble, slopes)


def _recalibration_details(r: _Recalibrated, parent: Bundle, name: str) -> dict:
    lo, hi = np.percentile(r.slopes, [2.5, 97.5]) if len(r.slopes) >= 2 else (None, None)
    parent_band = parent.manifest.models[name].band or {}
    return {
        "slope": r.slope,
        "slope_interval": [None if lo is None else float(lo), None if hi is None else float(hi)],
        "baseline": "Breslow's estimator on the new data with the slope times the parent's "
        "linear predictor as offset",
        "band": (
            "each of the parent's bootstrap refits in time pieces recalibrated on a bootstrap "
            f"resample of the new data ({r.ensemble.n_boot} resamples) with the one slope and "
            "each piece's baseline the parent's own model gets there, each curve's deviation "
            "stretched by the parent's factor over time (up to "
            f"{parent_band.get('inflation', 1.0):.2f}) on the parent's part of it, none on "
            "the new data's"
            if r.ensemble.in_pieces
            else "each of the parent's bootstrap refits (deviations stretched by its inflation "
            f"factor, {parent_band.get('inflation', 1.0):.2f}) recalibrated on a bootstrap "
            f"resample of the new data ({r.ensemble.n_boot} resamples) with the slope and "
            "baseline the parent's own model gets there"
        ),
        "references": "Van Houwelingen, Stat Med 2000;19:3401-15; Steyerberg, Clinical "
        "Prediction Models, 2nd ed. 2019, ch. 20",
    }


def _version_id(parent: Bundle, created: datetime, data_sha: str, method: str, seed: int) -> str:
    tag = hashlib.sha256(f"{parent.version_id}:{data_sha}:{method}:{seed}".encode()).hexdigest()
    return f"{parent.schema.name}-{created:%Y%m%d-%H%M%S}-{tag[:6]}"


def _recalibrated_manifest(
    parent: Bundle, name: str, r: _Recalibrated, data_path: Path, data, ref, options, seed
) -> Manifest:
    created = datetime.now(UTC)
    data_sha = sha256_file(data_path)
    summary = describe_cohort(data, parent.schema)
    y = survival_target(data, parent.schema)
    axis = parent.schema.time_axis
    entry = parent.manifest.models[name]
    details = {**entry.details, "recalibration": _recalibration_details(r, parent, name)}
    return parent.manifest.replace(
        version_id=_version_id(parent, created, data_sha, options.method, seed),
        created=created.isoformat(timespec="seconds"),
        training_data=TrainingData(
            file=data_path.name,
            sha256=data_sha,
            rows=int(len(data)),
            deaths=int(summary["deaths"]),
            median_followup_months=in_months(summary, parent.schema, "median_followup"),
            km_median_months=in_months(summary, parent.schema, "km_median"),
            file_modified=datetime.fromtimestamp(data_path.stat().st_mtime, UTC).isoformat(
                timespec="seconds"
            ),
            # the coefficients come from the parent's data: simulated if either was
            synthetic=declared_synthetic(data_path) or parent.manifest.synthetic,
        ),
        grid_months=tuple(r.grid.tolist()),
        risk_horizon_months=min(axis.risk_horizon_months, float(r.grid[-1])),
        uno_tau_months=uno_tau(y, axis.last_months),
        default_model=name,
        models={name: ModelEntry(entry.label, entry.params, entry.cv_uno_c, details)},
        metrics={name: {k: r.validation.get(k) for k in VALIDATION_KEYS}},
        seed=seed,
        command=options.command,
        timings_seconds={},
        parent=ref,
        format=None,
        artifacts={},
        libraries={},
        files={},
    )


def _parent_designs(parent: Bundle) -> tuple[str, ...] | None:
    """The Cox designs the parent's search was restricted to (a pre-specified model), or
    None where it searched every design its schema tells apart."""
    cox = _cox_models(parent)
    allowed = [d for m in cox for d in _parent_tuning(parent, m).allowed or []]
    return tuple(dict.fromkeys(allowed)) or None


def _parent_one_piece(parent: Bundle) -> bool:
    """Whether the parent's Cox model was asked to stay in one piece (--proportional-hazards)."""
    from reporting.card import load_report

    check = load_report(parent.path).get("proportional_hazards") or {}
    return bool(check.get("one_piece_requested"))


def _parent_tuning(parent: Bundle, name: str) -> TuningResult:
    """The parent's tuning, from its report (the recalibrated model keeps its settings)."""
    from reporting.card import load_report

    cv = ((load_report(parent.path).get("cross_validation") or {}).get("models") or {}).get(name)
    entry = parent.manifest.models[name]
    if cv is None or not cv.get("candidates"):
        point = {**entry.params, "cv_uno_c": entry.cv_uno_c}
        cv = {"fold_uno_c": [], "candidates": [point]}
    return TuningResult(
        name,
        entry.params,
        entry.cv_uno_c,
        cv["fold_uno_c"],
        cv["candidates"],
        designs=cv.get("designs", []),
        repeats=int(cv.get("cv_repeats", 1)),
        allowed=cv.get("designs_allowed"),
    )


def _recalibrate(parent: Bundle, data_path: Path, out: Path, options, data, ref) -> Path:
    from training.fit import publish
    from training.report import build_report

    t0 = time.perf_counter()
    # the recalibrated model keeps the parent's coding: a level the parent never saw is
    # unknown to it (and the bundle keeps the parent's training ranges, so also in use)
    data = unseen_as_unknown(parent.manifest.training_ranges, parent.schema, data)
    name = _cox_models(parent)[0]
    n_boot = _parent_boot(parent) if options.bootstrap is None else options.bootstrap
    seed = parent.manifest.seed if options.seed is None else options.seed
    r = _recalibrate_cox(parent, name, data, n_boot, options, seed)
    manifest = _recalibrated_manifest(parent, name, r, data_path, data, ref, options, seed)
    y = survival_target(data, parent.schema)
    oob = r.validation["oob_surv"]
    horizons = {m.name: m.months for m in parent.schema.time_axis.marks}
    decision = manifest.risk_horizon_months
    dropped = [parent.manifest.label(m) for m in parent.models if m != name]
    cuts = getattr(r.pipeline[-1], "cuts", ())
    pieces = (
        f"in each of its time pieces (cut at "
        f"{', '.join(parent.schema.time_axis.said(c) for c in cuts)}) and "
        "each piece's baseline hazard"
        if cuts
        else "and the baseline hazard"
    )
    about = (
        f"Calibration slope {r.slope:.3f} applied to the parent's linear predictor {pieces} "
        "re-estimated on these data (Breslow); the coefficients' proportions, "
        "the preprocessing and the imputation models are the parent's."
        + (
            f" Not carried over: {', '.join(dropped)} (cannot be recalibrated; "
            "--method refit updates every model)."
            if dropped
            else ""
        )
    )
    tuned = _parent_tuning(parent, name)
    json_text, html_text = build_report(
        manifest=manifest,
        summary=describe_cohort(data, parent.schema),
        tuned={name: tuned},
        validation={name: r.validation},
        extras={
            name: {
                "calibration": {n: calibration(y, oob, r.grid, h) for n, h in horizons.items()},
                "calibration_by_input": calibration_by_input(
                    y, oob, r.grid, decision, data[parent.schema.feature_names], parent.schema
                ),
            }
        },
        dca=decision_curve(y, {name: 1.0 - survival_at(oob, r.grid, decision)}, decision),
        folds=len(tuned.fold_scores) or 5,
        sections={"update": update_section(parent, {name: r.pipeline}, r.grid, data, ref, about)},
    )
    # the parent's other artifacts (imputation draws, operative outcomes) belong to the
    # preprocessing it keeps; without resamples there is no band to serve (as in fit)
    artifacts = {k: v for k, v in parent.artifacts.items() if not k.endswith("_ensemble")}
    if r.ensemble.n_boot:
        artifacts[f"{name}_ensemble"] = r.ensemble
    manifest = manifest.replace(timings_seconds={"total": round(time.perf_counter() - t0, 2)})
    return publish(out, manifest, {name: r.pipeline}, (json_text, html_text), artifacts)
