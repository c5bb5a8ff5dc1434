"""A bundle's manifest as a typed, immutable record.

``manifest.json`` is read in one place (:func:`model.bundle.read_manifest`) and turned into
a :class:`Manifest`; everything else reads attributes, so a missing or misspelt key fails
once, at loading, with the key's name, instead of deep inside a page. ``to_dict`` writes
the same JSON layout that ``from_dict`` reads (the bundle format is a contract).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any

from model.errors import HipecError

__all__ = ["Manifest", "ManifestError", "ModelEntry", "TrainingData"]


class ManifestError(HipecError, ValueError):
    """A manifest lacks a key or holds a value of the wrong type."""


def _need(doc: dict, key: str, kind, where: str):
    if key not in doc:
        raise ManifestError(f"{where} has no {key!r}")
    value = doc[key]
    if (
        not isinstance(value, kind)
        or isinstance(value, bool)
        and kind in (int, float, (int, float))
    ):
        raise ManifestError(f"{where}: {key!r} is {type(value).__name__}, not {_kind_name(kind)}")
    return value


def _kind_name(kind) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(k.__name__ for k in kinds)


def _number_or_none(doc: dict, key: str, where: str) -> float | None:
    value = doc.get(key)
    if value is None:
        return None
    return float(_need(doc, key, (int, float), where))


@dataclass(frozen=True)
class TrainingData:
    """Where the training data came from (TRIPOD+AI: data source, size, dates)."""

    file: str
    sha256: str
    rows: int
    deaths: int
    median_followup_months: float | None
    km_median_months: float | None
    file_modified: str
    synthetic: bool

    @classmethod
    def from_dict(cls, doc: Any) -> TrainingData:
        where = "the manifest's training_data"
        if not isinstance(doc, dict):
            raise ManifestError(f"{where} is not a mapping")
        return cls(
            file=_need(doc, "file", str, where),
            sha256=_need(doc, "sha256", str, where),
            rows=_need(doc, "rows", int, where),
            deaths=_need(doc, "deaths", int, where),
            median_followup_months=_number_or_none(doc, "median_followup_months", where),
            km_median_months=_number_or_none(doc, "km_median_months", where),
            file_modified=_need(doc, "file_modified", str, where),
            synthetic=_need(doc, "synthetic", bool, where),
        )

    def to_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def _clinical(doc: dict, models: dict) -> tuple[str, ...] | None:
    if "clinical_models" not in doc:
        return None
    names = _need(doc, "clinical_models", list, "the manifest")
    unknown = [n for n in names if not isinstance(n, str) or n not in models]
    if unknown:
        raise ManifestError(
            f"the manifest's clinical models {unknown!r} are not among its models "
            f"({', '.join(map(str, models)) or 'none'})"
        )
    return tuple(names)


@dataclass(frozen=True)
class ModelEntry:
    """One fitted model of the bundle: its chosen settings and cross-validated score.

    ``details`` holds what only its family records (the forest's time grain, the Cox
    model's band calibration), written beside the common keys.
    """

    label: str
    params: dict
    cv_uno_c: float
    details: dict = field(default_factory=dict)
    file: str | None = None

    COMMON = ("label", "params", "cv_uno_c", "file")

    @classmethod
    def from_dict(cls, name: str, doc: Any) -> ModelEntry:
        where = f"the manifest's model {name!r}"
        if not isinstance(doc, dict):
            raise ManifestError(f"{where} is not a mapping")
        file = doc.get("file")
        if file is not None and not isinstance(file, str):
            raise ManifestError(f"{where}: 'file' is not text")
        return cls(
            label=_need(doc, "label", str, where),
            params=_need(doc, "params", dict, where),
            cv_uno_c=float(_need(doc, "cv_uno_c", (int, float), where)),
            details={k: v for k, v in doc.items() if k not in cls.COMMON},
            file=file,
        )

    def to_dict(self) -> dict:
        doc = {"label": self.label, "params": self.params, "cv_uno_c": self.cv_uno_c}
        doc.update(self.details)
        if self.file is not None:
            doc["file"] = self.file
        return doc

    @property
    def band(self) -> dict | None:
        """How the band's inflation factor was estimated (Cox model), or None."""
        return self.details.get("band")


@dataclass(frozen=True)
class Manifest:
    """What a bundle is: provenance, settings, metrics and the hash of every file.

    The last four fields (``format``, ``artifacts``, ``libraries``, ``files``) are filled
    in when the bundle is written (:func:`model.bundle.write_bundle`). ``parent`` names the
    bundle an updated one came from (``version_id``, ``manifest_sha256``, ``method``:
    ``python -m training update``); it is absent from the JSON of every other bundle.
    ``clinical_models`` names the models that may serve clinical predictions (the page, the
    patient PDF); the others are comparisons for the validation report. ``default_model``
    is one of them whenever there is one. Bundles written before it existed have None.
    """

    version_id: str
    created: str
    schema: dict
    schema_sha256: str
    training_data: TrainingData
    grid_months: tuple[float, ...]
    risk_horizon_months: float
    uno_tau_months: float
    default_model: str
    models: dict[str, ModelEntry]
    metrics: dict[str, dict]
    reference_patient: dict
    training_ranges: dict
    seed: int
    command: str
    timings_seconds: dict = field(default_factory=dict)
    parent: dict | None = None
    clinical_models: tuple[str, ...] | None = None
    format: int | None = None
    artifacts: dict[str, str] = field(default_factory=dict)
    libraries: dict[str, str] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, doc: Any) -> Manifest:
        """Parse a manifest; raise :class:`ManifestError` naming the first bad key."""
        if not isinstance(doc, dict):
            raise ManifestError("the manifest is not a mapping")
        where = "the manifest"
        models = _need(doc, "models", dict, where)
        grid = _need(doc, "grid_months", list, where)
        if not grid or not all(isinstance(t, int | float) for t in grid):
            raise ManifestError("the manifest's grid_months is not a list of numbers")
        fmt = doc.get("format")
        manifest = cls(
            version_id=_need(doc, "version_id", str, where),
            created=_need(doc, "created", str, where),
            schema=_need(doc, "schema", dict, where),
            schema_sha256=_need(doc, "schema_sha256", str, where),
            training_data=TrainingData.from_dict(_need(doc, "training_data", dict, where)),
            grid_months=tuple(float(t) for t in grid),
            risk_horizon_months=float(_need(doc, "risk_horizon_months", (int, float), where)),
            uno_tau_months=float(_need(doc, "uno_tau_months", (int, float), where)),
            default_model=_need(doc, "default_model", str, where),
            models={str(k): ModelEntry.from_dict(str(k), v) for k, v in models.items()},
            metrics=_need(doc, "metrics", dict, where),
            reference_patient=_need(doc, "reference_patient", dict, where),
            training_ranges=_need(doc, "training_ranges", dict, where),
            seed=_need(doc, "seed", int, where),
            command=_need(doc, "command", str, where),
            timings_seconds=doc.get("timings_seconds") or {},
            parent=_need(doc, "parent", dict, where) if "parent" in doc else None,
            clinical_models=_clinical(doc, models),
            format=fmt if isinstance(fmt, int) and not isinstance(fmt, bool) else None,
            artifacts=_need(doc, "artifacts", dict, where) if "artifacts" in doc else {},
            libraries=_need(doc, "libraries", dict, where) if "libraries" in doc else {},
            files=_need(doc, "files", dict, where) if "files" in doc else {},
        )
        if manifest.default_model not in manifest.models:
            raise ManifestError(
                f"the manifest's default model {manifest.default_model!r} is not one of its "
                f"models ({', '.join(manifest.models) or 'none'})"
            )
        clinical = manifest.clinical_models
        if clinical and manifest.default_model not in clinical:
            raise ManifestError(
                f"the manifest's default model {manifest.default_model!r} is not one of its "
                f"clinical models ({', '.join(clinical)})"
            )
        return manifest

    def to_dict(self) -> dict:
        """The JSON document, keys in the order they are written."""
        doc = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "training_data":
                value = value.to_dict()
            elif f.name == "models":
                value = {k: m.to_dict() for k, m in value.items()}
            elif f.name == "grid_months":
                value = list(value)
            elif f.name in ("format", "parent", "clinical_models") and value is None:
                continue
            elif f.name == "clinical_models":
                value = list(value)
            doc[f.name] = value
        return doc

    def replace(self, **changes) -> Manifest:
        return replace(self, **changes)

    @property
    def fitted_on(self) -> int | None:
        """Patients the Cox model's coefficients were fitted on: the training data's, or
        None for a recalibrated bundle (they are its parent's; the rows here are the new
        centre's, which set only its slope and baseline)."""
        recalibrated = (self.parent or {}).get("method") == "recalibrate"
        return None if recalibrated else self.training_data.rows

    @property
    def synthetic(self) -> bool:
        """True when the training data declared themselves simulated."""
        return self.training_data.synthetic

    def label(self, model: str) -> str:
        """The model's name for people (its key when the bundle records none)."""
        entry = self.models.get(model)
        return entry.label if entry is not None else model
