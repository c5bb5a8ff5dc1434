"""Model families at training time: one class per family behind one interface.

Each trainer tunes its family on the shared folds, fits the final model, says how a
bootstrap resample refits it, and explains it (tables for the report, files for the
bundle, details for the manifest). :func:`training.fit.fit_bundle` loops over trainers
without knowing which families they are; adding a family means adding a trainer here and
its prediction class in :mod:`model.families` under the same name.

Bootstrap refits are module-level functions bound with :func:`functools.partial` to the
few objects they need (never the data), so parallel workers receive small tasks.
"""

from __future__ import annotations

import warnings
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import ClassVar

import numpy as np
import pandas as pd
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import Pipeline

from model.candidacy import OperativeOutcomeModel
from model.families import CoxnetFamily, Family, ForestFamily
from model.fused_pieces import FusedPiecewiseCox
from model.manifest import ModelEntry
from model.piecewise import PiecewiseCox, coef_and_baseline, piece_span
from model.schema import Schema
from model.uncertainty import CoxEnsemble, ImputationDraws
from training.band import StandIn, calibrate_inflation
from training.effects import hazard_ratio_table, log_hazard_ratios, permutation_table
from training.estimators import (
    FULL_TERMS,
    RSF_TIME_GRAIN,
    coxnet_step,
    fit_quietly,
    make_coxnet,
    make_rsf,
    round_times,
)
from training.time_pieces import hazards_over_time, hazards_over_time_html
from training.tuning import TuningResult, tune_coxnet, tune_rsf

__all__ = [
    "TRAINERS",
    "CoxnetTrainer",
    "Explanation",
    "ForestTrainer",
    "Trainer",
    "TrainingSet",
    "trainer",
]

RSF_TREES = 200
BOOT_TREES = 50  # trees per forest refit inside the bootstrap (keeps validation within budget)


@dataclass
class TrainingSet:
    """The validated data and the settings every family is trained and validated with."""

    data: pd.DataFrame
    X: pd.DataFrame
    y: np.ndarray
    schema: Schema
    grid: np.ndarray
    risk_horizon: float
    tau: float
    folds: list
    reference: dict
    contrasts: list[dict]
    seed: int = 0
    n_jobs: int = 2
    progress: bool = True
    cox_designs: tuple[str, ...] | None = None  # None: every design the schema tells apart
    one_piece: bool = False  # the Cox model in one piece whatever its check finds

    @property
    def horizons(self) -> dict[str, float]:
        """The schema's landmarks, ``{name in its unit: months}``."""
        return {m.name: m.months for m in self.schema.time_axis.marks}

    @property
    def decision_horizon(self) -> float:
        """Decision curves and the risk score: the middle landmark (3 years by default)."""
        return self.risk_horizon


@dataclass
class Explanation:
    """What a family adds after validation.

    ``tables`` go into the validation report, ``artifacts`` into the bundle (one joblib
    file each), ``details`` into the model's manifest entry, ``sections`` (``{key: (value,
    HTML)}``) into the report as sections of their own, before its limitations.
    """

    tables: dict = field(default_factory=dict)
    artifacts: dict = field(default_factory=dict)
    details: dict = field(default_factory=dict)
    sections: dict = field(default_factory=dict)


class Trainer(ABC):
    """Trains one model family; ``family`` is its class at prediction time."""

    family: ClassVar[type[Family]]
    # what :meth:`tune` chooses by, for the report ({tau}: Uno C's horizon, as said)
    tuned_by: ClassVar[str]

    def __init__(self, data: TrainingSet):
        self.data = data

    @property
    def name(self) -> str:
        return self.family.name

    @property
    def label(self) -> str:
        return self.family.label

    @abstractmethod
    def tune(self) -> TuningResult:
        """Hyper-parameters chosen on the shared folds, with their cross-validated score."""

    @abstractmethod
    def fit(self, params: dict) -> Pipeline:
        """The final model on all the data."""

    @abstractmethod
    def refit(self, final: Pipeline, params: dict) -> Callable[..., Pipeline]:
        """``f(X, y, seed)`` refitting the model on a bootstrap resample."""

    def collect(self, final: Pipeline) -> Callable[[Pipeline], dict] | None:
        """What to keep of every bootstrap refit (None: nothing)."""
        return None

    @abstractmethod
    def explain(self, final: Pipeline, tuned: TuningResult, validation: dict) -> Explanation:
        """Report tables, bundle artifacts and manifest details after validation."""

    def entry(self, tuned: TuningResult, explanation: Explanation) -> ModelEntry:
        cv = {} if tuned.cv_ibs is None else {"cv_ibs": tuned.cv_ibs}
        return ModelEntry(
            label=self.label,
            params=tuned.params,
            cv_uno_c=tuned.cv_score,
            details={**cv, **explanation.details},
        )


def _in_pieces(step, params: dict, horizon: float):
    """The Cox step, in time pieces where the check of proportional hazards chose them
    (fused towards the first piece's coefficients where it chose a fusion)."""
    cuts = params.get("time_cuts_months")
    if not cuts:
        return step
    fusion = params.get("time_fusion")
    if fusion:
        return FusedPiecewiseCox(step, tuple(cuts), horizon, fusion)
    return PiecewiseCox(step, tuple(cuts), horizon)


def _coxnet_refit(Xb, yb, seed, *, schema, params, seed0, horizon):
    pipe = make_coxnet(
        schema,
        params["l1_ratio"],
        alphas=[params["alpha"]],
        fit_baseline_model=True,
        seed=seed0,
        terms=params.get("terms", FULL_TERMS),
    )
    pipe.steps[-1] = ("coxnet", _in_pieces(pipe.steps[-1][1], params, horizon))
    return fit_quietly(pipe, Xb, yb)


def _coxnet_boot_refit(Xb, yb, seed, *, schema, params, pre, horizon):
    # refit the Cox step only: the shared preprocessing never sees the outcome, and shared
    # features let the refits serve as the bundle's uncertainty ensemble
    est = _served_step(params["alpha"], schema=schema, params=params, horizon=horizon)
    est = fit_quietly(est, pre.transform(Xb), yb)
    return Pipeline([*pre.steps, ("coxnet", est)])


def _served_step(alpha: float, *, schema, params, horizon):
    return _in_pieces(coxnet_step(schema, params["l1_ratio"], alpha), params, horizon)


def _coxnet_collect(m, *, schema, reference, contrasts, columns, grid):
    coef, h0 = coef_and_baseline(m[-1], columns, grid)
    return {"log_hr": log_hazard_ratios(m, schema, reference, contrasts), "coef": coef, "h0": h0}


class CoxnetTrainer(Trainer):
    """Penalised Cox: elastic net on splines and declared interactions."""

    family = CoxnetFamily
    tuned_by = "the integrated Brier score (the Cox model's design and penalty)"

    def tune(self) -> TuningResult:
        d = self.data
        tuned = tune_coxnet(
            d.X,
            d.y,
            d.schema,
            d.folds,
            d.tau,
            d.grid,
            seed=d.seed,
            n_jobs=d.n_jobs,
            progress=d.progress,
            ibs_max=d.schema.time_axis.last_months,
            designs=d.cox_designs,
        )
        # proportional hazards checked on the tuned design; where time pieces predict
        # held-out patients better, the model is served in them (same design and penalty)
        one = self.fit(tuned.params)
        check = hazards_over_time(
            one, d.X, d.y, d.schema, tuned.params["l1_ratio"], d.folds, d.grid, d.reference,
            d.contrasts,
        )  # fmt: skip
        # fit() returns this model for the same settings in one piece instead of refitting it
        self._one_piece = (dict(tuned.params), one)
        check["one_piece_requested"] = d.one_piece
        if check["pieces"] > 1 and not d.one_piece:
            tuned.params["time_cuts_months"] = check["cuts_months"]
            if check.get("fusion"):
                tuned.params["time_fusion"] = check["fusion"]
        tuned.proportional_hazards = check
        return tuned

    def fit(self, params: dict) -> Pipeline:
        d = self.data
        fitted = getattr(self, "_one_piece", None)
        if fitted is not None and fitted[0] == params:
            return fitted[1]
        return _coxnet_refit(
            d.X, d.y, d.seed, schema=d.schema, params=params, seed0=d.seed, horizon=d.risk_horizon
        )

    def refit(self, final: Pipeline, params: dict) -> Callable[..., Pipeline]:
        return partial(
            _coxnet_boot_refit,
            schema=self.data.schema,
            params=params,
            pre=final[:-1],
            horizon=self.data.risk_horizon,
        )

    def collect(self, final: Pipeline) -> Callable[[Pipeline], dict]:
        d = self.data
        return partial(
            _coxnet_collect,
            schema=d.schema,
            reference=d.reference,
            contrasts=d.contrasts,
            columns=self._columns(final),
            grid=d.grid,
        )

    def _columns(self, final: Pipeline) -> list[str]:
        return list(final[:-1].transform(self.data.X.iloc[:1]).columns)

    def _stand_in(self, final: Pipeline, tuned: TuningResult) -> StandIn | None:
        """The band's second stand-in truth: the design with the lowest cross-validated IBS
        at its own penalty, where that is not the served design (None where it is)."""
        best = min(tuned.designs, key=lambda x: x["cv_ibs"], default=None)
        if best is None or best["terms"] == tuned.params.get("terms", FULL_TERMS):
            return None
        d = self.data
        imputed = final[:2].transform(d.X)
        Z = make_coxnet(d.schema, seed=d.seed, terms=best["terms"])[2:-1].fit_transform(imputed)
        step = partial(coxnet_step, d.schema, best["l1_ratio"])
        return StandIn(Z, step, best["alpha"], best["terms"])

    def explain(self, final: Pipeline, tuned: TuningResult, validation: dict) -> Explanation:
        d = self.data
        point = log_hazard_ratios(final, d.schema, d.reference, d.contrasts)
        collected = validation["collected"]
        table = hazard_ratio_table(point, [c["log_hr"] for c in collected], d.contrasts)
        step = final[-1]
        if isinstance(step, PiecewiseCox):  # the ratios of the piece holding the horizon
            span = list(piece_span(step.cuts, step.horizon_piece()))
            for r in table:
                r["span_months"] = span
        out = Explanation(tables={"hazard_ratios": table})
        check = dict(tuned.proportional_hazards or {}, served=isinstance(step, PiecewiseCox))
        if check["served"] and isinstance(step, FusedPiecewiseCox):
            check["fused_penalties"] = {
                "first_piece": step.piece_alphas_[0],
                "each_change": step.piece_alphas_[1],
            }
        elif check["served"]:
            check["piece_penalties"] = step.piece_alphas_
        out.sections["proportional_hazards"] = (check, hazards_over_time_html(check, d.schema))
        if not collected:  # no refits: no band, so nothing the page could serve
            return out
        columns = self._columns(final)
        coef, h0 = coef_and_baseline(final[-1], columns, d.grid)
        params = tuned.params
        ensemble = CoxEnsemble(
            columns=columns,
            coef=coef,
            h0=h0,
            boot_coef=np.array([c["coef"] for c in collected]),
            boot_h0=np.array([c["h0"] for c in collected]),
            cuts=tuple(params.get("time_cuts_months") or ()),
        )
        band = calibrate_inflation(
            final,
            d.X,
            d.y,
            d.grid,
            ensemble,
            partial(coxnet_step, d.schema, params["l1_ratio"]),
            seed=d.seed,
            landmarks=d.horizons,
            n_jobs=d.n_jobs,
            progress=d.progress,
            stand_in=self._stand_in(final, tuned),
            served_step=partial(
                _served_step, schema=d.schema, params=params, horizon=d.risk_horizon
            ),
        )
        ensemble.inflation = band["inflation"]
        if "grid" in band:  # per grid time: in the ensemble, not the manifest
            ensemble.inflation_grid = np.asarray(band.pop("grid"))
        out.details["band"] = band
        out.artifacts["coxnet_ensemble"] = ensemble
        encoder = final.named_steps["encode"]
        out.artifacts["imputation_draws"] = ImputationDraws(
            seed=d.seed, discrete=encoder.discrete_groups()
        ).fit(encoder.transform(d.X))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            out.artifacts["operative_outcomes"] = {
                o["feature"]: OperativeOutcomeModel(d.schema, o["feature"]).fit(d.data)
                for o in d.schema.operative_outcomes
                if d.data[o["feature"]].nunique() >= 2  # a chance needs both outcomes seen
            }
        return out


def _forest_refit(Xb, yb, seed, *, schema, params, trees, n_jobs):
    return fit_quietly(
        make_rsf(schema, n_estimators=trees, seed=seed, n_jobs=n_jobs, **params),
        Xb,
        round_times(yb),
    )


class ForestTrainer(Trainer):
    """Random survival forest on times rounded to :data:`RSF_TIME_GRAIN`."""

    family = ForestFamily
    tuned_by = "Uno C truncated at {tau} (the random survival forest's settings)"

    def tune(self) -> TuningResult:
        d = self.data
        return tune_rsf(
            d.X,
            d.y,
            d.schema,
            d.folds,
            d.tau,
            d.grid,
            d.risk_horizon,
            seed=d.seed,
            n_jobs=d.n_jobs,
            progress=d.progress,
            ibs_max=d.schema.time_axis.last_months,
        )

    def fit(self, params: dict) -> Pipeline:
        d = self.data
        return _forest_refit(
            d.X, d.y, d.seed, schema=d.schema, params=params, trees=RSF_TREES, n_jobs=d.n_jobs
        )

    def refit(self, final: Pipeline, params: dict) -> Callable[..., Pipeline]:
        # fewer trees per refit keeps validation in budget; one job each, replicates run in
        # parallel
        return partial(
            _forest_refit, schema=self.data.schema, params=params, trees=BOOT_TREES, n_jobs=1
        )

    def explain(self, final: Pipeline, tuned: TuningResult, validation: dict) -> Explanation:
        d = self.data
        return Explanation(
            tables={
                "permutation_importance": permutation_table(
                    final, d.X, d.y, d.grid, d.risk_horizon, seed=d.seed
                )
            },
            details={"time_grain_months": RSF_TIME_GRAIN, "n_estimators": RSF_TREES},
        )


TRAINERS: dict[str, type[Trainer]] = {t.family.name: t for t in (CoxnetTrainer, ForestTrainer)}


def trainer(name: str) -> type[Trainer]:
    """The trainer registered under ``name``; a clear error names the known ones."""
    try:
        return TRAINERS[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; choose from {', '.join(TRAINERS)}") from None
