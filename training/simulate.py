"""Simulated CRS+HIPEC worlds, each with a known true survival model.

Patients are drawn from a generative model whose settings are calibrated to the
Beijing Shijitan DMPM cohort (n=110, Int J Hyperthermia 2022; see
``../shared/CLINICAL.md``): PCI >= 20 in about 69 %, CC0/1 in about 54 %, SAE in
about 37 %, perioperative (30-day) mortality about 2.7 %, Kaplan-Meier median OS
about 32.6 months with about 56 % deaths at a median follow-up of about 43 months.

The true model
--------------
Two causes of death act independently given the patient:

* **perioperative death** within 30 days, possible only after a serious adverse
  event (Clavien-Dindo V is an SAE), with probability ``p_periop(x)`` and a time
  uniform on (0.1, 1.0) months;
* **disease death** with hazard ``h(t | x) = h0(t) exp(eta(x, t))``, a Weibull
  baseline ``h0`` that starts after the first month (deaths within 30 days count as
  perioperative), and a log hazard ratio ``eta`` over named design terms that the
  **world** defines (``WORLDS``, one :class:`World` subclass each):

  - ``milan`` (the default; the shipped cohorts): proportional hazards with a
    near-step Ki-67 effect (cut-point about 9.5 %) and a Ki-67-high x PCI-high
    interaction, mirroring the Milan tree (Kusamura 2016), so a main-effects linear
    Cox model cannot reach the true ranking;
  - ``linear``: proportional hazards, additive and log-linear in each feature as a
    main-effects Cox model on the schema's encoding enters it;
  - ``nonph``: the linear world's terms with log hazard ratios that change after the
    first year (SAE and CC effects fade, pathology and Ki-67 effects grow).

  Every world's baseline is calibrated to the same targets, and one seed draws the
  same patients, missing values and censoring times in every world; only the disease
  death times differ.

The patient's true survival is ``S(t | x) = (1 - p_periop(x) F_D(t)) S_main(t | x)``
where ``F_D`` is the distribution of the perioperative death time and ``S_main`` the
world's exact disease survival. ``true_risk`` is the true cumulative hazard at 36
months, ``-log S(36 | x)`` (higher = worse).

Censoring comes from staggered accrual (uniform entry over ``accrual_months``,
analysis ``min_followup_months`` after the last entry) plus loss to follow-up at
a constant rate. Missing values follow real registries and are not completely at
random: Ki-67 and tumour markers are more often unknown for early patients,
emboli and nodes more often unknown after incomplete cytoreduction.

Same seed and settings give the same bytes.
"""

from __future__ import annotations

import copy
import hashlib
import json
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd

from model.fileio import atomic_write_text
from model.schema import default_schema
from training.provenance import write_provenance

__all__ = [
    "SimulationSettings",
    "SimulatedCohort",
    "TrueModel",
    "World",
    "WORLDS",
    "DEFAULT_WORLD",
    "world_class",
    "simulate_cohort",
    "write_cohort",
    "TRUTH_TIMES",
]

TRUTH_TIMES = (12, 36, 60)
PATHOLOGIES = ("epithelioid", "biphasic", "sarcomatoid")


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


@dataclass
class SimulationSettings:
    """Every number of a simulated world. Serialised next to each shipped cohort.

    The defaults are the ``milan`` world; :meth:`for_world` gives another world's
    defaults (its own hazard terms and baseline, the same patients, missingness and
    follow-up).
    """

    # the world whose true hazard the settings describe (see WORLDS)
    world: str = "milan"

    # --- who is operated on
    age_mean: float = 54.0
    age_sd: float = 10.0
    female: float = 0.5
    pathology_probs: tuple[float, float, float] = (0.72, 0.18, 0.10)
    # latent tumour burden z ~ N(0, 1) drives PCI, markers, CC, transfusion and SAE
    pci_mean: float = 23.28
    pci_sd: float = 8.5
    pci_non_epithelioid_shift: float = 1.5
    ki67_log_median: float = float(np.log(7.0))
    ki67_log_sd: float = 0.85
    ki67_biphasic: float = 0.55
    ki67_sarcomatoid: float = 0.95
    ki67_burden: float = 0.15
    # KPS: ordered latent, lower with higher burden
    kps_burden: float = -0.35
    kps_cuts: tuple[float, ...] = (-2.0, -1.25, -0.35, 0.75, 1.6)  # 50|60|70|80|90|100
    # CC: ordered latent, rising with PCI
    cc_pci_slope: float = 0.13
    cc_non_epithelioid: float = 0.3
    cc_cuts: tuple[float, float, float] = (-0.96, 0.194, 1.356)  # CC0|1|2|3
    # transfusion: Poisson with log mean
    rbc_log_mean: float = 0.75
    rbc_pci_slope: float = 0.035
    rbc_cc23: float = 0.3
    # SAE (Clavien-Dindo III-V within 30 days)
    sae_intercept: float = -1.038
    sae_pci_slope: float = 0.04
    sae_rbc_slope: float = 0.12
    sae_low_kps: float = 0.5
    # pathology of the specimen
    emboli_intercept: float = -1.9
    emboli_non_epithelioid: float = 1.0
    emboli_ki67_high: float = 0.5
    emboli_pci_slope: float = 0.03
    nodes_intercept: float = -1.8
    nodes_non_epithelioid: float = 0.8
    nodes_pci_slope: float = 0.04
    # tumour markers: log-normal, rising with PCI
    ca125_log_median: float = float(np.log(30.0))
    ca125_pci_slope: float = 0.07
    ca125_log_sd: float = 1.0
    cea_log_median: float = float(np.log(2.0))
    cea_pci_slope: float = 0.02
    cea_log_sd: float = 0.6
    ca199_log_median: float = float(np.log(12.0))
    ca199_pci_slope: float = 0.04
    ca199_log_sd: float = 0.9

    # --- the true hazard: log hazard ratios of the world's design terms (World.design); the
    # defaults are the milan world's, SimulationSettings.for_world gives the others
    log_hr: dict = field(
        default_factory=lambda: {
            "pathology_biphasic": 0.55,
            "pathology_sarcomatoid": 1.10,
            "vascular_emboli": 0.55,
            "lymph_nodes": 0.30,
            "sae": 0.60,
            "cc_1": 0.15,
            "cc_2": 0.45,
            "cc_3": 0.70,
            "ki67_high": 0.35,
            "ki67_high_x_pci_high": 1.10,
            "pci": 0.012,
            "kps_per_10": -0.15,
            "log_ca125": 0.10,
            "log_cea": 0.05,
            "log_ca199": 0.05,
            "rbc_units": 0.03,
            "age": 0.01,
            "sex_male": 0.05,
        }
    )
    ki67_cut: float = 9.5  # centre of the milan world's smooth Ki-67 step, %
    ki67_width: float = 1.0
    pci_cut: float = 17.5  # centre of the smooth PCI step in the milan interaction
    pci_width: float = 1.5
    weibull_shape: float = 1.15
    # deaths in the first 30 days are perioperative by definition; disease deaths start after
    disease_delay_months: float = 1.0
    weibull_scale_months: float = 196.46
    # non-proportional hazards: the change of a term's log hazard ratio from change_months on
    # (empty in a proportional-hazards world)
    log_hr_change: dict = field(default_factory=dict)
    change_months: float = 12.0
    # perioperative death: only after an SAE
    periop_intercept: float = -2.82
    periop_age_slope: float = 0.04
    periop_kps_per_10: float = -0.3

    # --- follow-up
    accrual_months: float = 36.0
    min_followup_months: float = 26.89
    loss_rate_per_month: float = 0.001

    # --- missingness (logit intercepts and slopes; "early" = 1 for the first entry, 0 for the last)
    miss_ki67: tuple[float, float, float] = (-3.4, 1.8, 0.4)  # intercept, early, cc>=2
    miss_markers: tuple[float, float, float] = (-3.3, 1.4, 0.5)  # intercept, early, kps<=70
    miss_cea_only: float = 0.04
    miss_emboli: tuple[float, float] = (-3.2, 0.9)  # intercept, cc>=2
    miss_nodes: tuple[float, float] = (-2.9, 1.1)  # intercept, cc>=2
    miss_kps: float = 0.03
    miss_rbc: float = 0.02

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    @classmethod
    def for_world(cls, name: str) -> SimulationSettings:
        """The default settings of the world called ``name``."""
        return replace(cls(), world=name, **copy.deepcopy(world_class(name).defaults))

    @classmethod
    def from_json(cls, text: str, world: str | None = None) -> SimulationSettings:
        """Settings from JSON; keys left out take the defaults of the settings' world.

        The world is the JSON's ``world``, else ``world``, else the default world; a
        JSON naming another world than ``world`` is refused.
        """
        raw = json.loads(text)
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise ValueError(f"unknown simulation settings: {', '.join(unknown)}")
        for f in fields(cls):
            if f.name in raw and isinstance(raw[f.name], list):
                raw[f.name] = tuple(raw[f.name])
        name = raw.get("world", world or DEFAULT_WORLD)
        if world is not None and name != world:
            raise ValueError(f"the settings are for the {name!r} world, not {world!r}")
        settings = replace(cls.for_world(name), **raw)
        world_class(name).check(settings)
        return settings

    @classmethod
    def load(cls, path: str | Path, world: str | None = None) -> SimulationSettings:
        text = Path(path).read_text(encoding="utf-8")
        data = json.loads(text)
        # a shipped settings file records the draw next to the settings
        if "settings" in data:
            text = json.dumps(data["settings"])
        return cls.from_json(text, world)


def _shared_terms(x: pd.DataFrame) -> dict[str, pd.Series]:
    """Design terms every world enters the same way: indicators and untransformed numbers."""
    return {
        "pathology_biphasic": (x["pathology"] == "biphasic").astype(float),
        "pathology_sarcomatoid": (x["pathology"] == "sarcomatoid").astype(float),
        "vascular_emboli": x["vascular_emboli"].astype(float),
        "lymph_nodes": x["lymph_nodes"].astype(float),
        "sae": x["sae"].astype(float),
        "cc_1": (x["cc"] == 1).astype(float),
        "cc_2": (x["cc"] == 2).astype(float),
        "cc_3": (x["cc"] == 3).astype(float),
        "pci": x["pci"] - 20.0,
        "kps_per_10": (x["kps"] - 80.0) / 10.0,
        "rbc_units": x["rbc_units"].astype(float),
        "age": x["age"] - 54.0,
        "sex_male": (x["sex"] == "M").astype(float),
    }


def _main_effects(x: pd.DataFrame) -> dict[str, pd.Series]:
    """The terms a main-effects Cox model on the schema's encoding uses, centred.

    Linear in each encoded feature of ``model.preprocess.SchemaEncoder``: indicators
    for the categories, Ki-67 and the markers as ``log1p`` (their schema transform),
    the other numbers as they are.
    """
    return {
        **_shared_terms(x),
        "log1p_ki67": np.log1p(x["ki67"]) - np.log1p(7.0),
        "log1p_ca125": np.log1p(x["ca125"]) - np.log1p(30.0),
        "log1p_cea": np.log1p(x["cea"]) - np.log1p(2.0),
        "log1p_ca199": np.log1p(x["ca199"]) - np.log1p(12.0),
    }


class World(ABC):
    """The disease cause of death in one simulated world.

    Every world shares the patients, the perioperative deaths, the missingness and the
    censoring, and the delayed Weibull baseline ``H0(t) = ((t - d)+ / scale) ** shape``
    (``d`` = ``disease_delay_months``). A world defines the named terms of its design,
    how their log hazard ratios act over time, and from that the exact cumulative
    hazard of disease death and its inverse (to draw death times).

    Subclasses set ``name``, ``summary`` and ``defaults`` (the settings in which the
    world differs from :class:`SimulationSettings`'s defaults) and implement
    :meth:`design`, :meth:`log_hazard_ratio`, :meth:`cumulative_hazard` and
    :meth:`disease_time`.
    """

    name: ClassVar[str]
    summary: ClassVar[str]
    defaults: ClassVar[dict]
    proportional: ClassVar[bool] = True

    def __init__(self, settings: SimulationSettings):
        self.check(settings)
        self.settings = settings

    @classmethod
    def terms(cls) -> tuple[str, ...]:
        """The names of the design terms."""
        return tuple(cls.defaults.get("log_hr", SimulationSettings().log_hr))

    @classmethod
    def check(cls, settings: SimulationSettings) -> None:
        """Refuse settings whose hazard terms do not fit this world."""
        terms = set(cls.terms())
        lacking = terms - set(settings.log_hr)
        if lacking:
            raise ValueError(
                f"log_hr lacks terms of the {cls.name} world: {', '.join(sorted(lacking))}"
            )
        extra = set(settings.log_hr) - terms
        if extra:
            raise ValueError(
                f"log_hr has terms the {cls.name} world does not use: {', '.join(sorted(extra))}"
            )
        if cls.proportional and settings.log_hr_change:
            raise ValueError(
                f"the {cls.name} world has proportional hazards: log_hr_change must be empty"
            )
        extra = set(settings.log_hr_change) - terms
        if extra:
            raise ValueError(f"log_hr_change has unknown terms: {', '.join(sorted(extra))}")
        if not cls.proportional and settings.change_months <= settings.disease_delay_months:
            raise ValueError("change_months must come after disease_delay_months")

    @abstractmethod
    def design(self, x: pd.DataFrame) -> pd.DataFrame:
        """The named terms of the true log hazard ratio, in the order of ``log_hr``."""

    @abstractmethod
    def log_hazard_ratio(self, x: pd.DataFrame, months) -> np.ndarray:
        """``log h(t | x) - log h0(t)``, shape (n_patients, n_times)."""

    @abstractmethod
    def cumulative_hazard(self, x: pd.DataFrame, months) -> np.ndarray:
        """Exact cumulative hazard of disease death, shape (n_patients, n_times)."""

    @abstractmethod
    def disease_time(self, x: pd.DataFrame, target: np.ndarray) -> np.ndarray:
        """The time at which each patient's cumulative hazard reaches ``target``."""

    def _beta(self, coefficients: dict) -> np.ndarray:
        return (
            pd.Series(coefficients).reindex(list(self.settings.log_hr), fill_value=0.0).to_numpy()
        )

    def baseline_cumulative_hazard(self, months) -> np.ndarray:
        """``H0(t)``, zero in the first ``disease_delay_months``; shape (n_times,)."""
        s = self.settings
        since = np.maximum(
            np.atleast_1d(np.asarray(months, dtype=float)) - s.disease_delay_months, 0.0
        )
        return (since / s.weibull_scale_months) ** s.weibull_shape

    def baseline_time(self, h: np.ndarray) -> np.ndarray:
        """The inverse of the baseline cumulative hazard (for ``h`` > 0)."""
        s = self.settings
        return s.disease_delay_months + s.weibull_scale_months * h ** (1.0 / s.weibull_shape)


class _ProportionalHazardsWorld(World):
    """``h(t | x) = h0(t) exp(eta(x))`` with ``eta = design(x) @ log_hr``."""

    def linear_predictor(self, x: pd.DataFrame) -> np.ndarray:
        return self.design(x).to_numpy() @ self._beta(self.settings.log_hr)

    def log_hazard_ratio(self, x, months):
        t = np.atleast_1d(np.asarray(months, dtype=float))
        return np.repeat(self.linear_predictor(x)[:, None], len(t), axis=1)

    def cumulative_hazard(self, x, months):
        eta = self.linear_predictor(x)[:, None]
        return self.baseline_cumulative_hazard(months)[None, :] * np.exp(eta)

    def disease_time(self, x, target):
        return self.baseline_time(target * np.exp(-self.linear_predictor(x)))


class MilanWorld(_ProportionalHazardsWorld):
    """Proportional hazards with a near-step Ki-67 effect and a Ki-67-high x PCI-high
    interaction, as in the Milan tree (Kusamura 2016); markers on the log scale.

    The near-step is ``sigmoid((ki67 - ki67_cut) / ki67_width)`` and the interaction its
    product with ``sigmoid((pci - pci_cut) / pci_width)``, so a main-effects linear Cox
    model cannot reach the true ranking. The shipped cohorts come from this world.
    """

    name = "milan"
    summary = "proportional hazards, near-step Ki-67 effect and Ki-67 x PCI interaction"
    defaults: ClassVar[dict] = {}

    def design(self, x):
        s = self.settings
        ki_hi = _sigmoid((x["ki67"] - s.ki67_cut) / s.ki67_width)
        pci_hi = _sigmoid((x["pci"] - s.pci_cut) / s.pci_width)
        d = pd.DataFrame(
            {
                **_shared_terms(x),
                "ki67_high": ki_hi,
                "ki67_high_x_pci_high": ki_hi * pci_hi,
                "log_ca125": np.log(x["ca125"] / 30.0),
                "log_cea": np.log(x["cea"] / 2.0),
                "log_ca199": np.log(x["ca199"] / 12.0),
            },
            index=x.index,
        )
        return d[list(s.log_hr)]


# Linear world: the Shijitan pattern (pathology, emboli, Ki-67 and SAE strong) with every
# effect log-linear in the encoded feature.
_LINEAR_LOG_HR = {
    "pathology_biphasic": 0.55,
    "pathology_sarcomatoid": 1.10,
    "vascular_emboli": 0.55,
    "lymph_nodes": 0.30,
    "sae": 0.60,
    "cc_1": 0.15,
    "cc_2": 0.45,
    "cc_3": 0.70,
    "log1p_ki67": 0.60,
    "pci": 0.02,
    "kps_per_10": -0.15,
    "log1p_ca125": 0.10,
    "log1p_cea": 0.05,
    "log1p_ca199": 0.05,
    "rbc_units": 0.03,
    "age": 0.01,
    "sex_male": 0.05,
}


class LinearWorld(_ProportionalHazardsWorld):
    """Proportional hazards, log-linear in each feature as a main-effects Cox model
    on the schema's encoding enters it (Ki-67 and markers as ``log1p``): the world in
    which that model is correctly specified.
    """

    name = "linear"
    summary = "proportional hazards, additive and log-linear in each encoded feature"
    defaults: ClassVar[dict] = {
        "log_hr": _LINEAR_LOG_HR,
        # calibrated like the milan world: 56.4 % deaths, Kaplan-Meier median OS 32.6 months
        "weibull_shape": 1.04,
        "weibull_scale_months": 161.2,
    }

    def design(self, x):
        return pd.DataFrame(_main_effects(x), index=x.index)[list(self.settings.log_hr)]


class NonProportionalWorld(World):
    """The linear world's terms with log hazard ratios that change at ``change_months``.

    ``log h(t | x) - log h0(t) = design(x) @ (log_hr + [t >= change_months] log_hr_change)``:
    SAE and incomplete cytoreduction weigh most in the first year (complications, fast
    regrowth of residual disease) and fade after it; pathology and Ki-67 (tumour biology)
    weigh more later. With a piecewise-constant coefficient the cumulative hazard and its
    inverse are exact in closed form:
    ``H(t | x) = exp(eta_early) H0(min(t, c)) + exp(eta_late) (H0(max(t, c)) - H0(c))``.
    """

    name = "nonph"
    summary = "non-proportional hazards: SAE and CC effects fade after the first year, pathology and Ki-67 effects grow"
    proportional = False
    defaults: ClassVar[dict] = {
        "log_hr": {
            **_LINEAR_LOG_HR,
            "pathology_biphasic": 0.20,
            "pathology_sarcomatoid": 0.50,
            "sae": 1.20,
            "cc_1": 0.30,
            "cc_2": 0.80,
            "cc_3": 1.20,
            "log1p_ki67": 0.20,
        },
        "log_hr_change": {
            "pathology_biphasic": 0.60,
            "pathology_sarcomatoid": 1.00,
            "sae": -1.00,
            "cc_1": -0.20,
            "cc_2": -0.50,
            "cc_3": -0.70,
            "log1p_ki67": 0.60,
        },
        "change_months": 12.0,
        # calibrated like the milan world: 56.4 % deaths, Kaplan-Meier median OS 32.6 months
        "weibull_shape": 1.22,
        "weibull_scale_months": 134.5,
    }

    def design(self, x):
        return pd.DataFrame(_main_effects(x), index=x.index)[list(self.settings.log_hr)]

    def _early_late(self, x) -> tuple[np.ndarray, np.ndarray]:
        d = self.design(x).to_numpy()
        early = d @ self._beta(self.settings.log_hr)
        return early, early + d @ self._beta(self.settings.log_hr_change)

    def log_hazard_ratio(self, x, months):
        t = np.atleast_1d(np.asarray(months, dtype=float))
        early, late = self._early_late(x)
        return np.where(t[None, :] < self.settings.change_months, early[:, None], late[:, None])

    def cumulative_hazard(self, x, months):
        t = np.atleast_1d(np.asarray(months, dtype=float))
        c = self.settings.change_months
        early, late = self._early_late(x)
        before = self.baseline_cumulative_hazard(np.minimum(t, c))
        after = self.baseline_cumulative_hazard(np.maximum(t, c)) - self.baseline_cumulative_hazard(
            c
        )
        return np.exp(early)[:, None] * before[None, :] + np.exp(late)[:, None] * after[None, :]

    def disease_time(self, x, target):
        early, late = self._early_late(x)
        h0_c = self.baseline_cumulative_hazard(self.settings.change_months)[0]
        h_c = np.exp(early) * h0_c  # each patient's cumulative hazard at the change
        before = self.baseline_time(target * np.exp(-early))
        after = self.baseline_time(h0_c + np.maximum(target - h_c, 0.0) * np.exp(-late))
        return np.where(target <= h_c, before, after)


WORLDS: dict[str, type[World]] = {
    w.name: w for w in (MilanWorld, LinearWorld, NonProportionalWorld)
}
DEFAULT_WORLD = MilanWorld.name


def world_class(name: str) -> type[World]:
    """The world called ``name``, or a ValueError naming the worlds there are."""
    try:
        return WORLDS[name]
    except KeyError:
        raise ValueError(f"unknown world {name!r}; choose one of: {', '.join(WORLDS)}") from None


class TrueModel:
    """The data-generating survival model of the settings' world, on complete (latent)
    covariates: the world's disease hazard plus perioperative death after an SAE."""

    def __init__(self, settings: SimulationSettings):
        self.settings = settings
        self.world = world_class(settings.world)(settings)

    def design(self, x: pd.DataFrame) -> pd.DataFrame:
        """The named terms of the true log hazard ratio."""
        return self.world.design(x)

    def linear_predictor(self, x: pd.DataFrame) -> np.ndarray:
        """The true log hazard ratio at the start of follow-up (at every time in a
        proportional-hazards world)."""
        return self.world.log_hazard_ratio(x, [0.0])[:, 0]

    def periop_probability(self, x: pd.DataFrame) -> np.ndarray:
        s = self.settings
        logit = (
            s.periop_intercept
            + s.periop_age_slope * (x["age"] - 54.0)
            + s.periop_kps_per_10 * (x["kps"] - 80.0) / 10.0
        )
        return x["sae"].to_numpy() * _sigmoid(logit.to_numpy())

    def survival(self, x: pd.DataFrame, times) -> np.ndarray:
        """True S(t | x), shape (n_patients, n_times)."""
        t = np.atleast_1d(np.asarray(times, dtype=float))
        s_main = np.exp(-self.world.cumulative_hazard(x, t))
        p = self.periop_probability(x)[:, None]
        f_d = np.clip((t[None, :] - 0.1) / 0.9, 0.0, 1.0)
        return (1.0 - p * f_d) * s_main

    def risk(self, x: pd.DataFrame) -> np.ndarray:
        """True cumulative hazard at 36 months, -log S(36 | x)."""
        return -np.log(self.survival(x, [36.0])[:, 0])


@dataclass
class SimulatedCohort:
    """A draw: the observed data, the truth per patient, and what the observer cannot see."""

    data: pd.DataFrame  # schema columns as a registry would hold them (with missing values)
    truth: pd.DataFrame  # patient_id, true_risk, true_surv_12/36/60
    latent: pd.DataFrame  # complete covariates, event times, cause of death, entry time


def simulate_cohort(
    n: int, seed: int, settings: SimulationSettings | None = None
) -> SimulatedCohort:
    """Draw ``n`` patients.

    Parameters
    ----------
    n : int
        Number of patients (>= 1).
    seed : int
        Seed of the random generator; the same seed and settings give the same cohort.
    settings : SimulationSettings, optional
        The world and its numbers; defaults to the default (``milan``) world.
        ``SimulationSettings.for_world(name)`` gives another world's defaults.
    """
    if n < 1:
        raise ValueError(f"n must be at least 1 (got {n})")
    if seed < 0:
        raise ValueError(f"seed must be 0 or more (got {seed})")
    s = settings or SimulationSettings()
    rng = np.random.default_rng(seed)

    # the order of draws is part of the reproducibility contract: add new draws at the end
    age = np.clip(np.round(rng.normal(s.age_mean, s.age_sd, n)), 18, 85)
    sex = np.where(rng.random(n) < s.female, "F", "M")
    path_idx = rng.choice(3, size=n, p=np.asarray(s.pathology_probs) / sum(s.pathology_probs))
    pathology = np.asarray(PATHOLOGIES)[path_idx]
    biphasic, sarcomatoid = path_idx == 1, path_idx == 2
    non_epi = (path_idx > 0).astype(float)
    z = rng.normal(0.0, 1.0, n)

    pci = np.clip(
        np.round(s.pci_mean + s.pci_sd * z + s.pci_non_epithelioid_shift * non_epi), 1, 39
    )
    log_ki = (
        s.ki67_log_median
        + s.ki67_biphasic * biphasic
        + s.ki67_sarcomatoid * sarcomatoid
        + s.ki67_burden * z
        + rng.normal(0.0, s.ki67_log_sd, n)
    )
    ki67 = np.clip(np.round(np.exp(log_ki)), 1, 90)
    kps_latent = s.kps_burden * z + rng.normal(0.0, 1.0, n)
    kps = 50.0 + 10.0 * np.searchsorted(np.asarray(s.kps_cuts), kps_latent)
    cc_latent = s.cc_pci_slope * (pci - 24.0) + s.cc_non_epithelioid * non_epi + rng.normal(0, 1, n)
    cc = np.searchsorted(np.asarray(s.cc_cuts), cc_latent).astype(float)
    rbc = rng.poisson(
        np.exp(s.rbc_log_mean + s.rbc_pci_slope * (pci - 24.0) + s.rbc_cc23 * (cc >= 2))
    )
    rbc = np.minimum(rbc, 60).astype(float)
    sae_logit = (
        s.sae_intercept
        + s.sae_pci_slope * (pci - 24.0)
        + s.sae_rbc_slope * rbc
        + s.sae_low_kps * (kps < 80)
    )
    sae = (rng.random(n) < _sigmoid(sae_logit)).astype(float)
    emboli_logit = (
        s.emboli_intercept
        + s.emboli_non_epithelioid * non_epi
        + s.emboli_ki67_high * (ki67 > 10)
        + s.emboli_pci_slope * (pci - 24.0)
    )
    emboli = (rng.random(n) < _sigmoid(emboli_logit)).astype(float)
    nodes_logit = (
        s.nodes_intercept + s.nodes_non_epithelioid * non_epi + s.nodes_pci_slope * (pci - 24.0)
    )
    nodes = (rng.random(n) < _sigmoid(nodes_logit)).astype(float)

    def marker(log_median, slope, sd):
        v = np.exp(log_median + slope * (pci - 24.0) + rng.normal(0.0, sd, n))
        return np.maximum(np.round(v, 1), 0.1)

    ca125 = marker(s.ca125_log_median, s.ca125_pci_slope, s.ca125_log_sd)
    cea = marker(s.cea_log_median, s.cea_pci_slope, s.cea_log_sd)
    ca199 = marker(s.ca199_log_median, s.ca199_pci_slope, s.ca199_log_sd)

    latent = pd.DataFrame(
        {
            "patient_id": [f"SIM{i:05d}" for i in range(1, n + 1)],
            "age": age,
            "sex": sex,
            "kps": kps,
            "pathology": pathology,
            "ki67": ki67,
            "vascular_emboli": emboli,
            "lymph_nodes": nodes,
            "pci": pci,
            "cc": cc,
            "sae": sae,
            "ca125": ca125,
            "cea": cea,
            "ca199": ca199,
            "rbc_units": rbc,
        }
    )

    # --- survival
    model = TrueModel(s)
    u = rng.random(n)
    t_main = model.world.disease_time(latent, -np.log(u))
    periop = rng.random(n) < model.periop_probability(latent)
    t_periop = rng.uniform(0.1, 1.0, n)
    t_death = np.where(periop, np.minimum(t_periop, t_main), t_main)
    cause = np.where(periop & (t_periop <= t_main), "perioperative", "disease")

    entry = rng.uniform(0.0, s.accrual_months, n)
    c_admin = s.accrual_months + s.min_followup_months - entry
    c_loss = (
        rng.exponential(1.0 / s.loss_rate_per_month, n) if s.loss_rate_per_month > 0 else np.inf
    )
    censor = np.minimum(c_admin, c_loss)
    died = t_death <= censor
    time = np.where(died, t_death, censor)
    os_months = np.maximum(np.round(time, 1), 0.1)

    latent["entry_month"] = entry
    latent["death_time"] = t_death
    latent["cause"] = cause
    latent["censor_time"] = censor
    latent["os_months"] = os_months
    latent["death"] = died.astype(int)

    # --- what the registry records: values missing not completely at random
    early = 1.0 - entry / s.accrual_months
    cc23 = (cc >= 2).astype(float)

    def drop(p):
        return rng.random(n) < p

    # the registry's columns, in the order of the schema the simulated world is written for
    schema = default_schema()
    data = latent[[schema.id_column, *schema.feature_names, *schema.outcome_names]].copy()
    m_ki = drop(_sigmoid(s.miss_ki67[0] + s.miss_ki67[1] * early + s.miss_ki67[2] * cc23))
    m_mark = drop(
        _sigmoid(s.miss_markers[0] + s.miss_markers[1] * early + s.miss_markers[2] * (kps <= 70))
    )
    m_cea = drop(s.miss_cea_only)
    m_emb = drop(_sigmoid(s.miss_emboli[0] + s.miss_emboli[1] * cc23))
    m_nod = drop(_sigmoid(s.miss_nodes[0] + s.miss_nodes[1] * cc23))
    m_kps = drop(s.miss_kps)
    m_rbc = drop(s.miss_rbc)
    data.loc[m_ki, "ki67"] = np.nan
    data.loc[m_mark, ["ca125", "cea", "ca199"]] = np.nan
    data.loc[m_cea, "cea"] = np.nan
    data.loc[m_emb, "vascular_emboli"] = np.nan
    data.loc[m_nod, "lymph_nodes"] = np.nan
    data.loc[m_kps, "kps"] = np.nan
    data.loc[m_rbc, "rbc_units"] = np.nan

    surv = model.survival(latent, TRUTH_TIMES)
    truth = pd.DataFrame({"patient_id": latent["patient_id"], "true_risk": model.risk(latent)})
    for j, t in enumerate(TRUTH_TIMES):
        truth[f"true_surv_{t}"] = surv[:, j]
    return SimulatedCohort(data=data, truth=truth, latent=latent)


_INTEGER_COLUMNS = (
    "age",
    "kps",
    "ki67",
    "vascular_emboli",
    "lymph_nodes",
    "pci",
    "cc",
    "sae",
    "rbc_units",
    "death",
)


def cohort_to_csv(data: pd.DataFrame) -> str:
    """Fixed text layout: integers without decimals, other numbers with one decimal."""
    out = data.copy()
    for c in out.columns:
        if c in _INTEGER_COLUMNS:
            out[c] = out[c].astype("Int64")
        elif pd.api.types.is_float_dtype(out[c]):
            out[c] = out[c].map(lambda v: "" if pd.isna(v) else f"{v:.1f}")
    return out.to_csv(index=False, lineterminator="\n")


def truth_to_csv(truth: pd.DataFrame) -> str:
    return truth.to_csv(index=False, lineterminator="\n", float_format="%.6f")


def write_cohort(
    cohort: SimulatedCohort,
    out: str | Path,
    truth_out: str | Path | None = None,
    about: dict | None = None,
) -> None:
    """Write the observed data (and optionally the truth) as CSV, atomically, and beside
    the data the declaration that its patients are simulated (``about``: how they were
    drawn, e.g. world, size and seed), which training records in the bundle."""
    text = cohort_to_csv(cohort.data)
    # the declaration first: a crash between the two never leaves simulated data undeclared
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    write_provenance(
        out,
        {
            "synthetic": True,
            "generator": "hipec-prognosis simulator (python -m training simulate)",
            **(about or {}),
            "rows": len(cohort.data),
            "sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(),
        },
    )
    _write_text(Path(out), text)
    if truth_out is not None:
        _write_text(Path(truth_out), truth_to_csv(cohort.truth))


def _write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, text, newline="")
