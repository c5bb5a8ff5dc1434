"""One patient's predicted survival, whatever the model: curve, band, landmarks, median.

Also what every model family shares: the training data's ranges and the warnings for
inputs outside them, and model-agnostic one-factor-at-a-time effects. How each family
computes its curve and band is in :mod:`model.families`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from model.bundle import Bundle
from model.i18n import N_, _
from model.predict import median_survival
from model.timeaxis import LANDMARKS

__all__ = [
    "BAND_METHOD",
    "RARELY_ALIVE",
    "Prognosis",
    "out_of_range_warnings",
    "reference_effects",
    "training_ranges",
    "unseen_as_unknown",
    "unseen_levels",
]

# the Cox family's band (model.families), the default of a result that has a band
BAND_METHOD = N_(
    "pointwise 95 % percentile band over bootstrap refits of the Cox model, their "
    "deviations from the final model stretched by a factor calibrated at training time "
    "per landmark (parametric bootstrap from a Cox fit to the training data whose hazard "
    "ratios may change over time), "
    "and over plausible values of unknown inputs (conditional imputation draws)"
)

# below this chance of being alive at the time given alive, survival from then on is a ratio
# of two near-zero numbers, which a flat stretch of the curve turns into 100 %
RARELY_ALIVE = 0.01


@dataclass
class Prognosis:
    """One patient's predicted survival on the bundle's grid (months)."""

    grid: np.ndarray
    survival: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    unknown: list[str]
    band_method: str = BAND_METHOD
    samples: np.ndarray | None = field(default=None, repr=False)
    contributions: list[dict] | None = None
    # the samples are ``n_draws`` equal blocks, one per imputation draw of the unknown inputs
    # (draw-major: sample k is draw k // (len(samples) / n_draws)); ``weights`` (None: equal)
    # are the samples' shares of the band, which survival to a time moves between draws
    n_draws: int = 1
    weights: np.ndarray | None = field(default=None, repr=False)
    # S(s) of the curve this one is conditional on (:meth:`conditional`): 1 for a curve
    # from the start
    alive_chance: float = 1.0

    @classmethod
    def from_samples(cls, grid, point, samples, unknown, n_draws=1, weights=None) -> Prognosis:
        """Curve plus the pointwise 95 % percentile band of sampled curves (kept for later use).

        ``n_draws``: how many imputation draws the samples are blocks of; ``weights``: each
        sample's share of the band (None: equal)."""
        lo, hi = np.percentile(samples[_equal_shares(weights)], [2.5, 97.5], axis=0)
        # the band is drawn around the curve: keep the curve inside it where percentiles of a
        # few samples fall just short of it
        return cls(
            grid=grid,
            survival=point,
            lower=np.minimum(lo, point),
            upper=np.maximum(hi, point),
            unknown=unknown,
            samples=samples,
            n_draws=n_draws,
            weights=weights,
        )

    @property
    def has_band(self) -> bool:
        """False for a curve drawn without uncertainty (its band is NaN)."""
        return bool(np.isfinite(self.lower).any())

    def at(self, t: float) -> tuple[float, float, float] | None:
        """(estimate, lower, upper) at t months; None outside the grid (beyond its end, or
        before its start: a conditional curve starts at the time given alive)."""
        if t > self.grid[-1] + 1e-9 or t < self.grid[0] - 1e-9:
            return None
        i = int(np.searchsorted(self.grid, t, side="right") - 1)
        return float(self.survival[i]), float(self.lower[i]), float(self.upper[i])

    @property
    def landmarks(self) -> dict[int, tuple[float, float, float] | None]:
        return {t: self.at(t) for t in LANDMARKS}

    @property
    def median(self) -> tuple[float | None, float | None, float | None]:
        """Median survival with its interval; None where not reached within the grid."""
        med = median_survival(np.vstack([self.survival, self.lower, self.upper]), self.grid)
        return tuple(None if np.isnan(m) else float(m) for m in med)

    @property
    def rests_on_few(self) -> bool:
        """Whether this curve is conditional on a time at which the curve it came from gave
        under :data:`RARELY_ALIVE` chance of being alive: its numbers rest on almost nothing
        and can jump with the time chosen."""
        return self.alive_chance < RARELY_ALIVE

    def after_start(self, t: float) -> bool:
        """Whether the curve says something at ``t`` months by its start: a conditional
        curve is 1 at its start by construction (survival given alive then), a figure that
        says nothing, so only times after it count; a curve from 0 counts from 0."""
        start = float(self.grid[0])
        return t > start + 1e-9 if start > 0 else t >= 0

    @property
    def last_step(self) -> float:
        """The last grid time at which the curve falls (its last death); 0 for a flat curve.
        After it the curve is flat (it may go on while patients are still followed), so
        survival given alive then says nothing."""
        falls = np.flatnonzero(np.diff(self.survival) < 0)
        return float(self.grid[falls[-1] + 1]) if len(falls) else 0.0

    @property
    def conditional_until(self) -> float:
        """The latest grid time given alive at which :meth:`conditional` answers: the grid
        point before :attr:`last_step` (0 when there is none)."""
        before = self.grid[self.grid < self.last_step]
        return float(before[-1]) if len(before) else 0.0

    def conditional(self, alive_at: float) -> Prognosis:
        """S(t | T > s) = S(t) / S(s) for t >= s, band from the same samples.

        The ratio is taken as it is, however small S(s): floating point keeps its relative
        precision far below 1e-12. A bootstrap curve with S(s) = 0 says nothing about
        survival after s and is left out of the band. Raises ValueError when s is outside
        the grid, when the curve itself is 0 at s (no measurable chance of being alive
        then, so nothing can be said given alive), or when s is at or after the curve's last
        step (:attr:`last_step`: no death was seen after s, and a flat 100 % would be read
        as a promise).
        """
        if not 0 <= alive_at <= self.grid[-1]:  # also refuses NaN
            raise ValueError(f"alive_at must be between 0 and {self.grid[-1]:g} months")
        # the curve holds each grid value until the next grid time, so S(s) between grid
        # points is the value at the point before: the time asked for is used as it is
        i = int(np.searchsorted(self.grid, alive_at, side="right") - 1)
        grid = self.grid[i:].copy()
        grid[0] = alive_at
        at_s = self.survival[i]
        if not at_s > 0:
            raise ValueError(
                f"the model gives this patient no measurable chance of being alive at "
                f"{alive_at:g} months, so survival given alive then cannot be estimated"
            )
        if alive_at > 0 and alive_at >= self.last_step:
            raise ValueError(
                f"no event was seen after {self.last_step:g} months in the training data, "
                f"so survival given alive at {alive_at:g} months cannot be estimated"
            )
        shown = self._given_alive(i, grid, at_s)
        shown.alive_chance = float(at_s) * self.alive_chance
        return shown

    def _given_alive(self, i: int, grid: np.ndarray, at_s: float) -> Prognosis:
        """The curve from grid index ``i`` on (``grid``: its times, the first the time
        given alive) divided by ``at_s``, and its band from the samples divided likewise."""
        # the clip guards against a last-digit excess over 1 in a ratio of equal numbers
        point = np.clip(self.survival[i:] / at_s, 0.0, 1.0)
        if self.samples is None:  # a curve without a band (the forest) keeps none
            nan = np.full_like(point, np.nan)
            return Prognosis(grid, point, nan, nan, self.unknown, band_method=self.band_method)
        d = self.samples[:, i]
        weights = self._alive_weights(d)
        keep = d > 0
        if not keep.any():
            return Prognosis.from_samples(grid, point, point[None, :], self.unknown)
        if weights is None:
            samples = np.clip(self.samples[keep, i:] / d[keep, None], 0.0, 1.0)
            return Prognosis.from_samples(grid, point, samples, self.unknown)
        # every sample is kept, so that the blocks stay one per draw; one not alive at s has
        # no share (and a curve of 0 in its place)
        ratio = np.divide(
            self.samples[:, i:],
            d[:, None],
            out=np.zeros_like(self.samples[:, i:]),
            where=keep[:, None],
        )
        samples = np.clip(ratio, 0.0, 1.0)
        return Prognosis.from_samples(
            grid, point, samples, self.unknown, n_draws=self.n_draws, weights=weights
        )

    def _alive_weights(self, at_s: np.ndarray) -> np.ndarray | None:
        """The samples' shares of a band given alive at s (``at_s``: each sample's S(s)).

        None where every sample keeps an equal share: the inputs are all known, so the
        samples differ only by refit, and being alive at s says nothing about the model's
        coefficients. Otherwise being alive at s makes the values of an unknown input that
        give a longer life likelier: within each refit, each draw's share is in proportion
        to its S(s) (as the estimate's mean S_d(t) / mean S_d(s) weights the final model's
        draws), and every refit with a curve alive at s keeps an equal share.
        """
        if self.n_draws <= 1 and self.weights is None:
            return None
        prior = np.full(len(at_s), 1.0) if self.weights is None else self.weights
        w = (prior * at_s).reshape(self.n_draws, -1)  # draws x refits
        per_refit = w.sum(axis=0)
        alive = per_refit > 0
        w[:, alive] /= per_refit[alive]
        w[:, ~alive] = 0.0
        return (w / max(int(alive.sum()), 1)).ravel()


def _equal_shares(weights: np.ndarray | None):
    """Indices of the samples that, taken once each, hold them in proportion to ``weights``
    (all of them, in order, where the weights are None or equal): systematic resampling, so
    that the band's percentiles are the plain ones of the samples weighted, within 1 / n
    of probability, at the cost of one unweighted percentile (numpy's weighted percentiles
    sort every grid column: ten times slower for 1,000 curves)."""
    if weights is None:
        return slice(None)
    total = weights.sum()
    if not total > 0:  # every share underflowed: no sample says more than another
        return slice(None)
    n = len(weights)
    edges = np.cumsum(weights / total)
    return np.minimum(np.searchsorted(edges, (np.arange(n) + 0.5) / n), n - 1)


def training_ranges(data: pd.DataFrame, schema) -> dict:
    """What the training data covered: min and max of numeric features, levels seen otherwise."""
    out = {}
    for f in schema.features:
        known = data[f.name].dropna()
        if not len(known):
            out[f.name] = None
        elif f.kind in ("continuous", "integer"):
            out[f.name] = {"min": float(known.min()), "max": float(known.max())}
        else:
            seen = set(known.tolist())
            out[f.name] = {"levels": [lv for lv in f.allowed_values if lv in seen]}
    return out


def unseen_levels(ranges: dict, schema, X: pd.DataFrame) -> pd.DataFrame:
    """True where a list, ordinal or yes/no input holds a level that no training patient had."""
    names = [f.name for f in schema.features]
    out = np.zeros((len(X), len(names)), dtype=bool)
    for j, f in enumerate(schema.features):
        r = ranges.get(f.name)
        if f.name in X and r is not None and "levels" in r:
            # a set lookup per value, not Series.isin: a page's one patient pays per call
            seen = set(r["levels"])
            v = X[f.name].to_numpy(dtype=object)
            out[:, j] = [not gone and x not in seen for x, gone in zip(v, pd.isna(v), strict=True)]
    return pd.DataFrame(out, index=X.index, columns=names)


def unseen_as_unknown(ranges: dict, schema, X: pd.DataFrame) -> pd.DataFrame:
    """``X`` with every level that no training patient had set to unknown.

    The model's coding gives such a level the reference level's risk (its indicator was 0
    for every training patient): a sarcomatoid patient scored by a model that saw none
    would get the epithelioid patients' survival. As unknown, the patient is averaged over
    the levels the model knows, and the warnings say so.
    """
    unseen = unseen_levels(ranges, schema, X)
    if not unseen.to_numpy().any():
        return X
    X = X.copy()
    for name in unseen.columns[unseen.any(axis=0)]:
        X[name] = X[name].astype(object).where(~unseen[name], np.nan)
        if not schema.feature(name).is_text:
            X[name] = pd.to_numeric(X[name]).astype(float)
    return X


def out_of_range_warnings(bundle: Bundle, X: pd.DataFrame) -> list[list[str]]:
    """Per row, a message for every input outside what the training data covered."""
    ranges = bundle.manifest.training_ranges
    out = []
    schema = bundle.schema.localized()
    for _i, row in X.iterrows():
        msgs = []
        for f in schema.features:
            r, v = ranges.get(f.name), row.get(f.name)
            if r is None or v is None or pd.isna(v):
                continue
            if "min" in r and r["min"] == r["max"] and v != r["min"]:
                # a constant column: every fitted coefficient on it is 0, so nothing extrapolates
                msgs.append(
                    _(
                        "{label} {value}: every training patient had {low}, so the model "
                        "cannot tell this input's effect and gives it none"
                    ).format(label=f.label, value=f"{v:g}", low=f"{r['min']:g}")
                )
            elif "min" in r and not (r["min"] <= v <= r["max"]):
                msgs.append(
                    _(
                        "{label} {value} is outside the training data ({low} to {high}); the "
                        "prediction extrapolates"
                    ).format(
                        label=f.label, value=f"{v:g}", low=f"{r['min']:g}", high=f"{r['max']:g}"
                    )
                )
            elif "levels" in r and v not in r["levels"]:
                msgs.append(
                    _(
                        "{label} '{value}' did not occur in the training data: the model "
                        "cannot tell its effect and scores it as unknown"
                    ).format(label=f.label, value=f.label_for(v))
                )
        out.append(msgs)
    return out


def predict_columns(schema) -> list[str]:
    """The columns of ``predict``: the schema's id column, survival at its landmarks (named
    in its unit, ``surv_12`` for 12 months) and the median named after the time column
    (``median_os_months``), in the time column's unit."""
    marks = [m.name for m in schema.time_axis.marks]
    return (
        [schema.id_column, "risk_score"]
        + [f"surv_{t}{s}" for t in marks for s in ("", "_lower", "_upper")]
        + [f"median_{schema.time.name}", "warnings"]
    )


# the default schema's columns (a contract of the command line)
PREDICT_COLUMNS = (
    ["patient_id", "risk_score"]
    + [f"surv_{t}{s}" for t in LANDMARKS for s in ("", "_lower", "_upper")]
    + ["median_os_months", "warnings"]
)


def reference_effects(
    bundle: Bundle, X: pd.DataFrame, model: str | None = None
) -> list[list[dict]]:
    """Model-agnostic factor effects for any model of a bundle (used for the forest).

    For each patient and feature, log H(h | x) - log H(h | x with that feature at the
    reference value), H the cumulative hazard at the bundle's risk horizon. Positive means
    the patient's value raises the risk compared with the typical patient. Unknown inputs
    are filled by the model's own imputation and marked.
    """
    name = model or bundle.default_model
    schema = bundle.schema
    ref = bundle.reference_patient().iloc[0]
    h = min(bundle.risk_horizon, float(bundle.grid[-1]))
    i_h = int(np.searchsorted(bundle.grid, h, side="right") - 1)
    out = []
    for i in range(len(X)):
        row = X[schema.feature_names].iloc[[i]]
        variants = [row]
        for f in schema.features:
            v = row.copy()
            v[f.name] = ref[f.name]
            variants.append(v)
        batch = pd.concat(variants, ignore_index=True)
        for f in schema.features:
            if not f.is_text:
                batch[f.name] = pd.to_numeric(batch[f.name]).astype(float)
        cum_haz = -np.log(np.clip(bundle.survival(batch, name)[:, i_h], 1e-12, 1.0))
        log_h = np.log(np.maximum(cum_haz, 1e-12))
        out.append(
            [
                {
                    "feature": f.name,
                    "label": f.label,
                    "value": row.iloc[0][f.name],
                    "reference": ref[f.name],
                    "log_hr": float(log_h[0] - log_h[j + 1]),
                    "unknown": bool(pd.isna(row.iloc[0][f.name])),
                }
                for j, f in enumerate(schema.features)
            ]
        )
    return out
