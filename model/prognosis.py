"""Individual prognosis from a bundle's Cox model: curve, 95 % band, landmarks, median.

Band method (stated on every result): for each plausible completion of the patient's
unknown inputs (:class:`model.uncertainty.ImputationDraws`; one completion when all
inputs are known) and each bootstrap refit of the Cox model
(:class:`model.uncertainty.CoxEnsemble`), a survival curve; the band is the pointwise
2.5-97.5 percentile of all of them, so it reflects both estimation uncertainty and
what unknown inputs leave open. The curve is the final model's curve averaged over
the completions.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from model.bundle import Bundle

__all__ = ["BAND_METHOD", "LANDMARKS", "CoxPrognosis", "Prognosis"]

LANDMARKS = (12, 36, 60)
BAND_METHOD = (
    "pointwise 95 % percentile band over bootstrap refits of the Cox model and over "
    "plausible values of unknown inputs (conditional imputation draws)"
)


def _first_at_or_below(curve: np.ndarray, grid: np.ndarray, level: float) -> float | None:
    idx = np.flatnonzero(curve <= level)
    return float(grid[idx[0]]) if len(idx) else None


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

    def at(self, t: float) -> tuple[float, float, float] | None:
        """(estimate, lower, upper) at t months; None beyond the grid."""
        if t > self.grid[-1] + 1e-9:
            return None
        i = int(np.searchsorted(self.grid, t, side="right") - 1)
        return float(self.survival[i]), float(self.lower[i]), float(self.upper[i])

    @property
    def landmarks(self) -> dict[int, tuple[float, float, float] | None]:
        return {t: self.at(t) for t in LANDMARKS}

    @property
    def median(self) -> tuple[float | None, float | None, float | None]:
        """Median survival with its interval; None where not reached within the grid."""
        return (
            _first_at_or_below(self.survival, self.grid, 0.5),
            _first_at_or_below(self.lower, self.grid, 0.5),
            _first_at_or_below(self.upper, self.grid, 0.5),
        )

    def conditional(self, alive_at: float) -> Prognosis:
        """S(t | T > s) = S(t) / S(s) for t >= s, band from the same samples."""
        if alive_at < 0 or alive_at > self.grid[-1]:
            raise ValueError(f"alive_at must be between 0 and {self.grid[-1]:g} months")
        i = int(np.searchsorted(self.grid, alive_at, side="right") - 1)
        grid = self.grid[i:]
        point = self.survival[i:] / max(self.survival[i], 1e-12)
        samples = self.samples[:, i:] / np.maximum(self.samples[:, i : i + 1], 1e-12)
        lo, hi = np.percentile(samples, [2.5, 97.5], axis=0)
        return Prognosis(
            grid=grid,
            survival=point,
            lower=np.minimum(lo, point),
            upper=np.maximum(hi, point),
            unknown=self.unknown,
            samples=samples,
        )


class CoxPrognosis:
    """Prognosis engine for a bundle's Cox model.

    Parameters
    ----------
    bundle : Bundle
        Must carry the ``coxnet_ensemble`` and ``imputation_draws`` artifacts.
    """

    def __init__(self, bundle: Bundle):
        missing = [a for a in ("coxnet_ensemble", "imputation_draws") if a not in bundle.artifacts]
        if "coxnet" not in bundle.models or missing:
            raise ValueError(
                f"bundle {bundle.version_id} has no Cox uncertainty ensemble ({', '.join(missing)}); "
                "retrain it with this version"
            )
        self.bundle = bundle
        self.pipeline = bundle.models["coxnet"]
        self.ensemble = bundle.artifacts["coxnet_ensemble"]
        self.draws = bundle.artifacts["imputation_draws"]
        self.grid = bundle.grid
        self.schema = bundle.schema

    def _transformed(self, X: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
        encoded = self.pipeline.named_steps["encode"].transform(X[self.schema.feature_names])
        rows, owner = self.draws.draws(encoded)
        Z = self.pipeline[2:-1].transform(rows)  # splines and interactions, then scaling
        return np.asarray(Z[self.ensemble.columns], dtype=float), owner, encoded

    def predict(self, X: pd.DataFrame) -> list[Prognosis]:
        """Prognoses for validated feature rows (unknown values as NaN)."""
        Z, owner, encoded = self._transformed(X)
        final = self.ensemble.survival(Z)  # rows x G
        boot = self.ensemble.boot_survival(Z)  # rows x B x G
        out = []
        for i in range(len(X)):
            mine = owner == i
            point = final[mine].mean(axis=0)
            samples = boot[mine].reshape(-1, len(self.grid))
            lo, hi = np.percentile(samples, [2.5, 97.5], axis=0)
            unknown = [f.name for f in self.schema.features if pd.isna(X.iloc[i][f.name])]
            out.append(
                Prognosis(
                    grid=self.grid,
                    survival=point,
                    lower=np.minimum(lo, point),
                    upper=np.maximum(hi, point),
                    unknown=unknown,
                    samples=samples,
                )
            )
        return out
