"""One entry point for every model of a bundle: what the page and the reports call.

The engine holds one :class:`model.families.Family` per model of the bundle, by name;
each returns :class:`model.prognosis.Prognosis` objects, so the page draws them the same
way and nothing here depends on which families a bundle holds.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from pandas.api.types import is_numeric_dtype

from model.bundle import Bundle
from model.candidacy import Candidacy, candidacy
from model.families import Family, ModelChoiceError, clinical_models, family
from model.i18n import N_, _
from model.prognosis import Prognosis, out_of_range_warnings, predict_columns, unseen_as_unknown

__all__ = ["Engine", "predict_table"]


class Engine:
    """Predictions from one loaded bundle for any of its models.

    Parameters
    ----------
    bundle : Bundle
        A verified, loaded bundle (see :mod:`model.registry`).
    """

    def __init__(self, bundle: Bundle):
        self.bundle = bundle
        self.schema = bundle.schema
        self.grid = bundle.grid
        self.families: dict[str, Family] = {name: family(name)(bundle) for name in bundle.models}

    @property
    def models(self) -> list[str]:
        return list(self.bundle.models)

    @property
    def clinical_models(self) -> list[str]:
        """The models that may be offered for clinical predictions (page, patient PDF).

        Those the manifest names (all whose family is clinical, for bundles written before
        the manifest named them); a family that is not clinical never is, whatever an old
        manifest says.
        """
        recorded = self.bundle.manifest.clinical_models
        named = self.models if recorded is None else list(recorded)
        return [n for n in clinical_models(self.models) if n in named]

    @property
    def comparison_models(self) -> list[str]:
        """The bundle's other models: comparisons for the validation report only."""
        return [n for n in self.models if n not in self.clinical_models]

    @property
    def default_model(self) -> str | None:
        """The model to show first: the manifest's default when it is clinical, else the
        first clinical model (a bundle chosen by an older rule may default to the forest);
        None when the bundle has no clinical model."""
        clinical = self.clinical_models
        if self.bundle.default_model in clinical:
            return self.bundle.default_model
        return clinical[0] if clinical else None

    def clinical(self, model: str | None = None) -> str:
        """``model`` (the default when None) if it may serve clinical predictions.

        Raises
        ------
        ModelChoiceError
            Naming the allowed models, or saying the bundle has none.
        """
        allowed = self.clinical_models
        if not allowed:
            raise ModelChoiceError(
                f"bundle {self.bundle.version_id} has no model for clinical predictions (it "
                f"holds {', '.join(self.models)}, offered only as a comparison); retrain it "
                "with the Cox model (--models coxnet,rsf)"
            )
        name = model or self.default_model
        if name not in allowed:
            why = (
                f"cannot serve clinical predictions ({self.families[name].comparison_note})"
                if name in self.families
                else f"is not in bundle {self.bundle.version_id}"
            )
            raise ModelChoiceError(f"model {name!r} {why}; choose from: {', '.join(allowed)}")
        return name

    def family(self, model: str | None = None) -> Family:
        """The family serving ``model`` (the default model when None)."""
        name = model or self.default_model or self.bundle.default_model
        if name not in self.families:
            raise ValueError(
                f"bundle {self.bundle.version_id} has no model {name!r}; "
                f"it has {', '.join(self.bundle.models)}"
            )
        return self.families[name]

    def has_band(self, model: str | None = None) -> bool:
        return self.family(model).has_band

    @property
    def candidacy_model(self) -> str | None:
        """The model that serves candidacy before surgery (None when no family does)."""
        return next((n for n, f in self.families.items() if f.supports_candidacy), None)

    def frame(self, patients: list[dict] | pd.DataFrame) -> pd.DataFrame:
        """Feature rows in schema order with unknown values as NaN (numeric kinds as float).

        Built column by column into one new frame: assigning columns one at a time into a
        copy cost the page's one-patient prediction 7 ms of its 20."""
        X = patients if isinstance(patients, pd.DataFrame) else pd.DataFrame(patients)
        columns = {}
        for f in self.schema.features:
            if f.name not in X:
                columns[f.name] = np.full(len(X), np.nan, dtype=object if f.is_text else float)
            elif f.is_text:
                v = X[f.name].to_numpy(dtype=object, copy=True)
                v[pd.isna(v)] = np.nan
                columns[f.name] = v
            else:
                v = X[f.name]
                v = v if is_numeric_dtype(v.dtype) else pd.to_numeric(v)
                columns[f.name] = v.to_numpy(dtype=float, na_value=np.nan)
        return pd.DataFrame(columns, index=pd.RangeIndex(len(X)))

    def predict(
        self, X: pd.DataFrame, model: str | None = None, contributions: bool = False
    ) -> list[Prognosis]:
        """Prognoses for validated feature rows (unknown values as NaN); a level that no
        training patient had is scored as unknown (:func:`model.prognosis.unseen_as_unknown`;
        :meth:`warnings` says so)."""
        return self.family(model).predict(self._scored(X), contributions=contributions)

    def _scored(self, X: pd.DataFrame) -> pd.DataFrame:
        """``X`` as the models score it: :meth:`frame`, a level no training patient had unknown."""
        return unseen_as_unknown(self.bundle.manifest.training_ranges, self.schema, self.frame(X))

    def _risk(self, p: Prognosis) -> float:
        """``predict``'s risk score: the cumulative hazard at the risk horizon."""
        h = min(self.bundle.risk_horizon, float(self.bundle.grid[-1]))
        return float(-np.log(max(p.at(h)[0], 1e-12)))

    def predict_table(
        self,
        data: pd.DataFrame,
        model: str | None = None,
        chunk: int = 200,
        progress: Callable[[int, int], None] | None = None,
    ) -> pd.DataFrame:
        """One row per patient: risk score, S(12/36/60) with 95 % intervals, median, warnings.

        ``data`` is validated (mode ``predict``); unknown feature values are allowed (the
        Cox model averages over their plausible values). A comparison model's rows say so
        in their warnings. ``risk_score`` is the cumulative
        hazard at the bundle's risk horizon, -log S(horizon) (higher = worse). Chunks of
        ``chunk`` patients bound the memory of the Cox model's bands. ``attrs["warned"]``
        counts the rows with a warning other than the notes that explain an empty cell (a
        landmark beyond the training follow-up, a median not reached);
        ``attrs["median_not_reached"]`` the rows whose median is not reached. ``progress``
        is told (patients scored, patients) after each chunk.
        """
        bundle, schema = self.bundle, self.schema
        fam = self.family(model)
        X = data[schema.feature_names].reset_index(drop=True)
        ids = (
            data[schema.id_column].astype(str).reset_index(drop=True)
            if schema.id_column in data
            else pd.Series([f"row {i + 1}" for i in range(len(X))])
        )
        notes = self.warnings(X)
        axis = schema.time_axis
        endpoint = schema.localized().words.endpoint  # in the messages' language
        columns = predict_columns(schema)
        median_column = columns[-2]
        rows, warned = [], []
        for i, p in enumerate(self._in_chunks(X, fam.name, chunk)):
            msgs = list(notes[i])
            msgs += self.risk_warnings(p, fam.name)
            if fam.comparison_note:
                msgs.append(fam.comparison_note)
            if not fam.has_band:
                msgs.append(fam.no_band_note)
            rec = {
                schema.id_column: ids[i],
                "risk_score": self._risk(p),
            }
            warned.append(bool(msgs))  # what follows explains empty cells, not the patient
            for m in axis.marks:
                r = p.at(m.months)
                n = m.name
                rec[f"surv_{n}"], rec[f"surv_{n}_lower"], rec[f"surv_{n}_upper"] = (
                    r if r else (np.nan,) * 3
                )
                if r is None:
                    msgs.append(
                        _("{endpoint} at {when} is beyond the training follow-up").format(
                            endpoint=endpoint, when=axis.text(m.value)
                        )
                    )
            med = p.median[0]
            # to the digits an estimate on the half-month grid has (whole days, tenths of months)
            rec[median_column] = (
                np.nan if med is None else round(float(axis.from_months(med)), axis.digits)
            )
            if med is None:
                msgs.append(
                    _("median {endpoint} not reached within {when}").format(
                        endpoint=endpoint, when=axis.said(bundle.grid[-1])
                    )
                )
            rec["warnings"] = "; ".join(msgs)
            rows.append(rec)
            if progress is not None and ((i + 1) % chunk == 0 or i + 1 == len(X)):
                progress(i + 1, len(X))
        table = pd.DataFrame(rows, columns=columns)
        table.attrs["warned"] = int(sum(warned))
        table.attrs["median_not_reached"] = int(table[median_column].isna().sum())
        # the digits a time estimated on the half-month grid has (whole days, tenths of months)
        table.attrs["digits"] = {median_column: axis.digits}
        return table

    def _in_chunks(self, X: pd.DataFrame, model: str, chunk: int):
        """Prognoses of ``X``'s rows in order, ``chunk`` patients predicted at a time: a
        chunk's bootstrap samples are let go before the next (on 3,000 patients, holding
        every patient's samples took 1.8 GB)."""
        for start in range(0, len(X), chunk):
            yield from self.predict(X.iloc[start : start + chunk], model)

    def curves(
        self, X: pd.DataFrame, model: str | None = None, chunk: int = 200
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The served curves of ``X``'s rows and their 95 % band (each rows x grid; the band
        NaN for a model without one), predicted in the chunks :meth:`predict_table` uses, so
        that a patient with an unknown input gets the same draws in both."""
        name = self.family(model).name
        surv, lower, upper = (np.empty((len(X), len(self.grid))) for _ in range(3))
        for i, p in enumerate(self._in_chunks(X, name, chunk)):
            surv[i], lower[i], upper[i] = p.survival, p.lower, p.upper
        return surv, lower, upper

    def risk_warnings(self, prognosis: Prognosis, model: str | None = None) -> list[str]:
        """A message where the patient's risk lies beyond every training patient's: each
        input can be inside its training range while their combination is not, and there
        the curve extrapolates the model's form (survival read as 0 % is such a case)."""
        name = self.family(model).name
        low_high = (self.bundle.manifest.metrics.get(name) or {}).get("risk_range")
        risk = self._risk(prognosis)
        if not low_high or low_high[0] <= risk <= low_high[1]:  # no range: fitted before it
            return []
        if risk > low_high[1]:
            said = N_(
                "the combined risk of these inputs is higher than that of every training "
                "patient: the estimate extrapolates the model beyond its data"
            )
        else:
            said = N_(
                "the combined risk of these inputs is lower than that of every training "
                "patient: the estimate extrapolates the model beyond its data"
            )
        return [_(said)]

    def warnings(self, X: pd.DataFrame) -> list[list[str]]:
        """Per row, the inputs outside what the training data covered."""
        return out_of_range_warnings(self.bundle, self.frame(X))

    def candidacy(self, patient: pd.DataFrame) -> Candidacy:
        """Pre-operative candidacy, from the model whose family serves it (the Cox model,
        which carries the band), whichever model the page shows."""
        name = self.candidacy_model
        if name is None:
            raise ValueError(
                f"bundle {self.bundle.version_id} has no model that serves candidacy "
                f"(it has {', '.join(self.bundle.models)})"
            )
        outcomes = self.bundle.artifacts.get("operative_outcomes") or {}
        return candidacy(self.families[name], outcomes, self._scored(patient))


def predict_table(
    bundle: Bundle, data: pd.DataFrame, model: str | None = None, chunk: int = 200
) -> pd.DataFrame:
    """:meth:`Engine.predict_table` for a bundle (``python -m training predict``)."""
    return Engine(bundle).predict_table(data, model, chunk)
