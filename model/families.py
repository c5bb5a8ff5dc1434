"""Model families at prediction time: one class per family behind one interface.

A family turns validated feature rows into :class:`model.prognosis.Prognosis` objects
(curve on the bundle's grid, a 95 % band or none, factor contributions), so the engine,
the page and the reports treat every model alike. Training a family is the matching
class in :mod:`training.families` (the page never imports training code); both are
registered under the same name, the key of the model in a bundle.

The Cox model's band (stated on every result): for each plausible completion of the
patient's unknown inputs (:class:`model.uncertainty.ImputationDraws`; one completion when
all inputs are known) and each bootstrap refit of the Cox model
(:class:`model.uncertainty.CoxEnsemble`), a survival curve, with the refit's deviation
from the final model stretched by the bundle's inflation factor at that time; the band is
the pointwise 2.5-97.5 percentile of all of them. The factors are estimated at training
time from the training data alone (training/band.py): a parametric bootstrap from a
stand-in for the truth whose hazard ratios may change over time measures how far the
model's refits fall from it at each landmark, which plain bootstrap refits cannot show
(they share the final model's shrinkage and its proportional hazards). The curve is the
final model's curve averaged over the completions. Where ``fit`` found hazard ratios that
change over time, the Cox model and its refits are in time pieces
(:class:`model.piecewise.PiecewiseCox`): the same band on their cumulative hazards, and
contributions from the piece that holds the risk horizon, saying which span that is.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

import numpy as np
import pandas as pd

from model.bundle import Bundle
from model.errors import HipecError
from model.i18n import N_
from model.piecewise import piece_at, piece_span
from model.preprocess import column_sources, encoded_columns
from model.prognosis import BAND_METHOD, Prognosis, reference_effects

__all__ = [
    "FAMILIES",
    "HEADLINE_MEANING",
    "HEADLINE_WORDS",
    "NO_BAND",
    "CoxnetFamily",
    "ModelChoiceError",
    "Family",
    "ForestFamily",
    "clinical_models",
    "family",
    "headline_metrics",
]

# the forest's band statement (the page and tables test has_band, not this text)
NO_BAND = N_("none: the random survival forest has no uncertainty band in this version")


class ModelChoiceError(ValueError, HipecError):
    """A model asked for where only a clinical model may serve, or a bundle without one."""


class Family(ABC):
    """One model family of a loaded bundle.

    Class attributes say what the family offers, so callers never branch on its name:
    ``has_band`` (a 95 % band around the curve), ``band_method`` (stated on every
    result), ``contribution_method`` (how factor contributions are computed, for the
    page), ``additive_contributions`` (they add up to the patient's log hazard ratio
    against the reference patient), ``no_band_note`` (said in tables when there is no band) and
    ``supports_candidacy`` (serves the pre-operative candidacy view), ``clinical`` (may be
    offered for clinical predictions: page, patient PDF, default model; otherwise it is a
    comparison in the validation report only) and ``comparison_note`` (why not, said
    wherever its predictions are written).
    """

    name: ClassVar[str]
    label: ClassVar[str]
    has_band: ClassVar[bool]
    band_method: ClassVar[str]
    contribution_method: ClassVar[str]
    # which internal validation to headline: Harrell's optimism correction suits a model
    # that does not memorise its training rows; a forest's stays optimistic (out-of-bag)
    headline: ClassVar[str] = "corrected"
    additive_contributions: ClassVar[bool] = False
    no_band_note: ClassVar[str] = ""
    supports_candidacy: ClassVar[bool] = False
    clinical: ClassVar[bool] = False
    comparison_note: ClassVar[str] = ""

    def __init__(self, bundle: Bundle):
        self.bundle = bundle
        self.schema = bundle.schema
        self.grid = bundle.grid

    @abstractmethod
    def predict(self, X: pd.DataFrame, contributions: bool = False) -> list[Prognosis]:
        """Prognoses for validated feature rows in schema order (unknown values as NaN)."""


def _by_piece(by_piece: np.ndarray | None, cuts) -> dict:
    """A factor's log hazard ratio in every time piece (``pieces``: ``by_piece`` holds one
    per piece), for a model in pieces."""
    if by_piece is None:
        return {}
    return {
        "pieces": [
            {"span_months": list(piece_span(cuts, k)), "log_hr": float(v)}
            for k, v in enumerate(by_piece)
        ]
    }


def _on(v: np.ndarray, cols: list[int]) -> np.ndarray:
    """``v`` on ``cols``, zero elsewhere."""
    out = np.zeros_like(v)
    out[cols] = v[cols]
    return out


class CoxnetFamily(Family):
    """The penalised Cox model: curve, 95 % band, exact additive contributions.

    Parameters
    ----------
    bundle : Bundle
        Must carry the ``coxnet_ensemble`` and ``imputation_draws`` artifacts.
    """

    name = "coxnet"
    label = N_("Penalised Cox (Coxnet)")
    has_band = True
    band_method = BAND_METHOD
    contribution_method = N_(
        "Exact and additive for the Cox model: the factors' log hazard ratios add up to this "
        "patient's log hazard ratio against the reference patient (the training data's typical "
        "values). Spline terms count towards their factor. A factor in a declared interaction "
        "shows its effect with the other factor at the reference value; the interaction's own "
        "entry is what the two add together beyond that. An unknown factor contributes its "
        "average over plausible values."
    )
    additive_contributions = True
    supports_candidacy = True
    clinical = True

    def __init__(self, bundle: Bundle):
        missing = [a for a in ("coxnet_ensemble", "imputation_draws") if a not in bundle.artifacts]
        if "coxnet" not in bundle.models or missing:
            raise ValueError(
                f"bundle {bundle.version_id} has no Cox uncertainty ensemble ({', '.join(missing)}); "
                "retrain it with this version"
            )
        super().__init__(bundle)
        self.pipeline = bundle.models["coxnet"]
        self.ensemble = bundle.artifacts["coxnet_ensemble"]
        self.draws = bundle.artifacts["imputation_draws"]

    def contribution_piece(self) -> tuple[float, float | None] | None:
        """Where the model is in time pieces (its hazard ratios change at the cuts), the
        span (start, end months; end None for the last piece) whose ratios the contributions
        show: the one holding the risk horizon. None for one piece."""
        if not self.ensemble.in_pieces:
            return None
        cuts = self.ensemble.cuts
        return piece_span(cuts, piece_at(cuts, self.bundle.risk_horizon))

    def _sources(self) -> list[tuple[str, ...]]:
        """The schema feature(s) each column of the Cox design comes from."""
        return column_sources(self.schema, self.ensemble.columns)

    def contributions(self, X: pd.DataFrame) -> list[list[dict]]:
        """What each factor adds to the log hazard compared with the reference patient.

        Exact and additive: the entries of a patient sum to its log hazard ratio against
        the reference patient (the training data's median or most common values, stored in
        the bundle). Spline terms count towards their feature. A declared interaction's
        terms are split three ways: each factor gets what they add with the other factor at
        its reference value (so a patient who differs from the reference in one factor
        sees its whole effect there), and the pair's own entry is what is left, the excess
        of the two together. For an unknown input the contribution is averaged over its
        plausible values.
        """
        Z, owner, rows = self._transformed(X)
        return self._contributions(X, Z, owner, rows)

    def _reference(self) -> tuple[pd.DataFrame, np.ndarray, dict, pd.DataFrame]:
        if not hasattr(self, "_ref_cache"):
            ref = self.bundle.reference_patient()
            Z, _, rows = self._transformed(ref)
            groups: dict[tuple[str, ...], list[int]] = {}
            for j, src in enumerate(self._sources()):
                groups.setdefault(src, []).append(j)
            self._ref_cache = (ref, Z.mean(axis=0), groups, rows.iloc[:1])
        return self._ref_cache

    def _one_factor_at_reference(self, rows: pd.DataFrame, pairs: list[tuple[str, str]]):
        """For each interacting pair (a, b): the design of ``rows`` with b at the reference
        patient's value (a's own effect) and with a at it (b's own), in one transform."""
        # on arrays, one frame for the lot: per-pair frames cost the page ~2 ms a patient
        ref = self._reference()[3].to_numpy(dtype=float)[0]
        A = rows.to_numpy(dtype=float)
        at = {c: j for j, c in enumerate(rows.columns)}
        blocks = []
        for pair in pairs:
            for fixed in reversed(pair):
                cols = [at[c] for c in encoded_columns(self.schema.feature(fixed))]
                block = A.copy()
                block[:, cols] = ref[cols]
                blocks.append(block)
        Z = self._design(pd.DataFrame(np.vstack(blocks), columns=rows.columns))
        n = len(rows)
        return {
            pair: (Z[2 * k * n : (2 * k + 1) * n], Z[(2 * k + 1) * n : (2 * k + 2) * n])
            for k, pair in enumerate(pairs)
        }

    def _contributions(
        self, X: pd.DataFrame, Z: np.ndarray, owner: np.ndarray, rows: pd.DataFrame
    ) -> list[list[dict]]:
        ref, z_ref, groups, _ = self._reference()
        ens = self.ensemble
        coef = ens.coef_at(self.bundle.risk_horizon)
        piece = self.contribution_piece()
        span = {} if piece is None else {"span_months": list(piece)}
        labels = {f.name: f.label for f in self.schema.features}
        pairs = [src for src in groups if len(src) == 2]
        alone = self._one_factor_at_reference(rows, pairs) if pairs else {}
        out = []
        reference = ref.iloc[0].to_dict()
        # plain dicts of Python values: a Series per row cost ~1 ms, and DataFrame.to_dict ~1 ms
        columns = {c: X[c].tolist() for c in X.columns}
        records = [{c: v[i] for c, v in columns.items()} for i in range(len(X))]
        for i, row in enumerate(records):
            mine = owner == i
            z = Z[mine].mean(axis=0)  # linear in z: the mean term is the mean contribution
            delta = {src: _on(z - z_ref, cols) for src, cols in groups.items()}
            for (a, b), (a_alone, b_alone) in alone.items():
                cols = groups[(a, b)]
                za, zb = a_alone[mine].mean(axis=0), b_alone[mine].mean(axis=0)
                delta[(a,)] = delta.get((a,), 0.0) + _on(za - z_ref, cols)
                delta[(b,)] = delta.get((b,), 0.0) + _on(zb - z_ref, cols)
                delta[(a, b)] = _on(z - za - zb + z_ref, cols)
            out.append(
                [
                    {
                        "feature": " x ".join(src),
                        "label": " x ".join(labels.get(s, s) for s in src),
                        # a pair's: both of its values
                        "value": [row[s] for s in src] if len(src) > 1 else row[src[0]],
                        "reference": (
                            [reference[s] for s in src] if len(src) > 1 else reference[src[0]]
                        ),
                        "log_hr": float(d @ coef),
                        "unknown": any(pd.isna(row[s]) for s in src),
                        **span,
                        # every piece's ratios, so that a reader sees an effect that fades or grows
                        **_by_piece(ens.coef @ d if ens.in_pieces else None, ens.cuts),
                    }
                    for src, d in delta.items()
                ]
            )
        return out

    def _transformed(self, X: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
        """The design of ``X``'s rows (one per imputation draw of a patient with unknown
        inputs), each row's patient, and the encoded rows it was made from."""
        encoded = self.pipeline.named_steps["encode"].transform(X[self.schema.feature_names])
        rows, owner = self.draws.draws(encoded)
        return self._design(rows), owner, rows

    def _design(self, rows: pd.DataFrame) -> np.ndarray:
        """Encoded, imputed rows through the splines, interactions and scaling."""
        steps = self.pipeline.named_steps
        scale = steps.get("scale")
        expanded = steps["expand"].transform(rows) if "expand" in steps else None
        if (
            expanded is not None
            and hasattr(scale, "scale_")
            and list(expanded.columns) == list(self.ensemble.columns)
        ):
            # StandardScaler's arithmetic without its per-call checks (about 1 ms a patient)
            return (expanded.to_numpy(dtype=float) - scale.mean_) / scale.scale_
        Z = self.pipeline[2:-1].transform(rows)  # splines and interactions, then scaling
        return np.asarray(Z[self.ensemble.columns], dtype=float)

    def predict(self, X: pd.DataFrame, contributions: bool = False) -> list[Prognosis]:
        """Prognoses for validated feature rows (unknown values as NaN).

        With ``contributions=True`` each result also carries :meth:`contributions`,
        computed from the same transformed inputs.
        """
        Z, owner, rows = self._transformed(X)
        contrib = self._contributions(X, Z, owner, rows) if contributions else None
        final = self.ensemble.survival(Z)  # rows x G
        boot = self.ensemble.boot_survival(Z)  # rows x B x G
        names = self.schema.feature_names
        missing = X[names].isna().to_numpy()  # once: per-row pandas lookups cost ~1 ms a patient
        out = []
        for i in range(len(X)):
            mine = owner == i
            point = final[mine].mean(axis=0)
            samples = boot[mine].reshape(-1, len(self.grid))
            unknown = [n for n, m in zip(names, missing[i], strict=True) if m]
            p = Prognosis.from_samples(self.grid, point, samples, unknown, n_draws=int(mine.sum()))
            p.contributions = contrib[i] if contrib is not None else None
            out.append(p)
        return out


class ForestFamily(Family):
    """The random survival forest: curve without a band; one-factor-at-a-time effects."""

    name = "rsf"
    label = N_("Random survival forest")
    has_band = False
    band_method = NO_BAND
    contribution_method = N_(
        "Random survival forest, one factor at a time: the change in log cumulative hazard at "
        "the risk horizon when this factor alone is set to the reference patient's value; "
        "effects need not add up."
    )
    headline = "out_of_bag"
    no_band_note = N_("no uncertainty interval for the random survival forest in this version")
    # its curves are too moderate where a centre retrains (calibration slope 1.4-1.9 against
    # the simulators' truths at 110-2,000 patients) and nothing measures a band's coverage
    comparison_note = N_(
        "comparison only, not for clinical use: the random survival forest's survival "
        "probabilities are not calibrated and carry no uncertainty interval"
    )

    def predict(self, X: pd.DataFrame, contributions: bool = False) -> list[Prognosis]:
        surv = self.bundle.survival(X, self.name)
        effects = reference_effects(self.bundle, X, self.name) if contributions else None
        missing = X[self.schema.feature_names].isna().to_numpy()
        out = []
        for i, s in enumerate(surv):
            nan = np.full_like(s, np.nan)
            unknown = [n for n, m in zip(self.schema.feature_names, missing[i], strict=True) if m]
            out.append(
                Prognosis(
                    grid=self.grid,
                    survival=s,
                    lower=nan,
                    upper=nan,
                    unknown=unknown,
                    band_method=self.band_method,
                    contributions=effects[i] if effects else None,
                )
            )
        return out


FAMILIES: dict[str, type[Family]] = {f.name: f for f in (CoxnetFamily, ForestFamily)}


HEADLINE_WORDS = {"corrected": N_("bootstrap optimism-corrected"), "out_of_bag": N_("out-of-bag")}
# what the figure means, where there is room to say it (report footers, the model card)
HEADLINE_MEANING = {
    "corrected": "",
    "out_of_bag": N_(" (each patient scored by bootstrap refits that did not see them)"),
}


def headline_metrics(manifest, model: str) -> tuple[str, dict, dict | None]:
    """The honest internal-validation figures of ``model``: (which, metrics, intervals).

    ``which`` is "corrected" or "out_of_bag" (see :attr:`Family.headline`); intervals are
    recorded for the corrected figures only.
    """
    m = manifest.metrics.get(model) or {}
    which = FAMILIES[model].headline if model in FAMILIES else "corrected"
    if not m.get(which):
        which = "corrected"
    return which, m.get(which) or {}, (m.get("ci") or None) if which == "corrected" else None


def clinical_models(names) -> list[str]:
    """The names among ``names`` whose family may serve clinical predictions, in order."""
    return [n for n in names if n in FAMILIES and FAMILIES[n].clinical]


def family(name: str) -> type[Family]:
    """The family registered under ``name``; a clear error names the known ones."""
    try:
        return FAMILIES[name]
    except KeyError:
        raise ValueError(
            f"unknown model family {name!r}; this version knows {', '.join(FAMILIES)}"
        ) from None
