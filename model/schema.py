"""Feature schemas: the declarative description of a model's inputs and outcome.

A schema is read from a YAML file (the default one, ``model/schemas/dmpm.yaml``,
describes diffuse malignant peritoneal mesothelioma). It is the single source of
truth for dataset validation, the training pipeline's columns, the page's form
and the model card; it travels inside every model bundle, so a researcher's own
schema with other variables works everywhere the default one does.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from model.errors import HipecError
from model.i18n import _, language
from model.timeaxis import UNITS, TimeAxis, default_landmarks
from model.translations import localize, parse_translations, restrict
from model.words import DEFAULT_STAGES, Stage, Words, parse_stages, parse_words

__all__ = [
    "KINDS",
    "MISSING_TOKENS",
    "NUMERIC_KINDS",
    "Feature",
    "OutcomeField",
    "Schema",
    "SchemaDefinitionError",
    "bundled_schema",
    "default_schema",
    "default_schema_path",
    "load_schema",
]

KINDS = ("continuous", "integer", "binary", "categorical", "ordinal")
NUMERIC_KINDS = KINDS[:2]  # the kinds with a range, which a spline can bend
TRANSFORMS = (None, "log1p")
# Cells that mean "unknown" in a patients file (compared without case or surrounding spaces);
# a category or text level may not be one of them, or its patients would be read as unknown
MISSING_TOKENS = frozenset({"", "na", "n/a", "nan", "none", "null", "unknown", "missing", "."})

Kind = Literal["continuous", "integer", "binary", "categorical", "ordinal"]

_SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"


class SchemaDefinitionError(HipecError, ValueError):
    """A schema file itself is malformed (not the data it describes)."""


@dataclass(frozen=True)
class Feature:
    """One input variable.

    Parameters
    ----------
    name : str
        Column name in data files.
    label : str
        Human-readable name for forms and reports.
    kind : {"continuous", "integer", "binary", "categorical", "ordinal"}
        ``binary`` is coded 0/1; ``categorical`` has text levels; ``ordinal`` has
        ordered levels, integers (e.g. the CC score) or text.
    stage : str
        When the value becomes known: a stage the schema declares (by default ``pre``,
        known when the decision is made, or ``post``, known only after it).
    help : str
        One-line clinical definition.
    unit : str, optional
    min, max : float, optional
        Allowed range (inclusive) for numeric kinds.
    step : float, optional
        Values must be multiples of ``step`` (e.g. KPS in steps of 10).
    categories : tuple of str, optional
        Allowed text levels of a categorical feature; the first is the reference.
    levels : tuple of int or of str, optional
        Allowed levels of an ordinal feature: integers, or text levels in their order
        (e.g. tumour grade "I", "II", "III").
    value_labels : dict, optional
        Display labels of categories or levels.
    transform : {None, "log1p"}
        Transformation applied inside the model pipeline.
    nonlinear : bool
        Let the Cox model bend this numeric feature's effect (a spline), where
        published evidence suggests a threshold or plateau.
    """

    name: str
    label: str
    kind: Kind
    stage: str
    help: str
    unit: str | None = None
    min: float | None = None
    max: float | None = None
    step: float | None = None
    categories: tuple[str, ...] | None = None
    levels: tuple[int, ...] | tuple[str, ...] | None = None
    value_labels: dict[Any, str] = field(default_factory=dict)
    transform: str | None = None
    nonlinear: bool = False

    @property
    def is_text(self) -> bool:
        """Values are text (categories, or text levels of an ordinal), not numbers."""
        return self.kind == "categorical" or (
            self.kind == "ordinal" and bool(self.levels) and isinstance(self.levels[0], str)
        )

    @property
    def allowed_values(self) -> tuple | None:
        """The finite set of allowed values, or None for a range."""
        if self.kind == "binary":
            return (0, 1)
        if self.kind == "categorical":
            return self.categories
        if self.kind == "ordinal":
            return self.levels
        return None

    def label_for(self, value) -> str:
        """Display label of a category, level or binary value."""
        if value in self.value_labels:
            return self.value_labels[value]
        if self.kind == "binary" and value in (0, 1):
            return (_("no"), _("yes"))[int(value)]
        if isinstance(value, float) and value.is_integer():
            return str(int(value))  # a level read from a number column: 3, not 3.0
        return str(value)

    def contrast_label(self, value, reference) -> str:
        """A hazard ratio's comparison in the active language: "Age: 63 vs 47 years",
        "Pathology: sarcomatoid vs epithelioid"."""
        if self.kind in ("continuous", "integer"):
            unit = f" {self.unit}" if self.unit else ""
            shown, ref = f"{float(value):g}", f"{float(reference):g}{unit}"
        else:
            shown, ref = self.label_for(value), self.label_for(reference)
        return _("{label}: {value} vs {reference}").format(
            label=self.label, value=shown, reference=ref
        )

    def describe_allowed(self) -> str:
        """The allowed values in words, for error messages and help text."""
        if self.kind == "binary":
            return _("0 ({no}) or 1 ({yes})").format(no=self.label_for(0), yes=self.label_for(1))
        if self.kind in ("categorical", "ordinal"):
            shown = (repr(v) if self.is_text else str(v) for v in self.allowed_values)
            return _("one of {values}").format(values=", ".join(shown))
        unit = f" {self.unit}" if self.unit and self.unit != "%" else (self.unit or "")
        span = dict(low=_fmt(self.min), high=_fmt(self.max), unit=unit, step=_fmt(self.step))
        if self.kind != "integer":
            return _("a number from {low} to {high}{unit}").format(**span)
        if self.step and self.step != 1:
            return _("a whole number from {low} to {high}{unit} in steps of {step}").format(**span)
        return _("a whole number from {low} to {high}{unit}").format(**span)


@dataclass(frozen=True)
class OutcomeField:
    """The survival time or the event indicator column."""

    name: str
    label: str
    unit: str | None = None
    max: float | None = None


@dataclass(frozen=True)
class Schema:
    """A feature set: features, the id column and the survival outcome."""

    name: str
    version: int
    title: str
    id_column: str
    time: OutcomeField
    event: OutcomeField
    features: tuple[Feature, ...]
    interactions: tuple[tuple[str, str], ...] = ()
    operative_outcomes: tuple[dict, ...] = ()
    landmarks: tuple[float, ...] | None = None  # in the time unit; None: 1, 3 and 5 years
    words: Words = Words()
    stages: tuple[Stage, ...] = DEFAULT_STAGES
    translations: dict = field(default_factory=dict)  # language -> texts (model/translations)

    def __post_init__(self):
        names = [f.name for f in self.features]
        reserved = {self.id_column, self.time.name, self.event.name}
        dupes = sorted({n for n in names if names.count(n) > 1} | (set(names) & reserved))
        if dupes:
            raise SchemaDefinitionError(f"schema {self.name!r}: column names used twice: {dupes}")
        for role, column in (("time", self.time.name), ("event", self.event.name)):
            if self.id_column == column:
                raise SchemaDefinitionError(
                    f"schema {self.name!r}: id_column {column!r} is also the {role} column; the "
                    "patients' id needs a column of its own"
                )

    # ------------------------------------------------------------------ access
    @property
    def feature_names(self) -> list[str]:
        return [f.name for f in self.features]

    @property
    def outcome_names(self) -> list[str]:
        return [self.time.name, self.event.name]

    def feature(self, name: str) -> Feature:
        for f in self.features:
            if f.name == name:
                return f
        raise KeyError(f"schema {self.name!r} has no feature {name!r}; it has {self.feature_names}")

    def encoded_label(self, column: str) -> str:
        """The words for an encoded column: a feature's label, and for an indicator column
        (``name=level``) the level's label after it."""
        name, _sep, level = column.partition("=")
        f = self.feature(name)
        if not level:
            return f.label
        # the encoded level is text; an ordinal feature's levels are numbers
        value = next((v for v in f.allowed_values or () if str(v) == level), level)
        return f"{f.label}: {f.label_for(value)}"

    @property
    def time_axis(self) -> TimeAxis:
        """The data's time unit and the landmarks every table and column uses."""
        unit = self.time.unit or "months"
        return TimeAxis(unit, self.landmarks or default_landmarks(unit))

    def stage_features(self, stage: str) -> list[Feature]:
        return [f for f in self.features if f.stage == stage]

    @property
    def decision_stage(self) -> str:
        """The stage known when a decision is made (the first declared)."""
        return self.stages[0].name

    @property
    def later_stages(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.stages[1:])

    def stage_label(self, stage: str) -> str:
        """ "before surgery": when values of ``stage`` become known."""
        for s in self.stages:
            if s.name == stage:
                return s.label
        raise KeyError(f"schema {self.name!r} has no stage {stage!r}; it has {self.stage_names}")

    @property
    def stage_names(self) -> list[str]:
        return [s.name for s in self.stages]

    @property
    def later_label(self) -> str:
        """ "after surgery": when the facts the decision stage lacks become known."""
        return " or ".join(self.stage_label(s) for s in self.later_stages) or "later"

    def localized(self, lang: str | None = None) -> Schema:
        """The schema with its labels, help texts and words in ``lang`` (the current
        language by default) where its file translates them: what the page shows."""
        return localize(self, lang or language())

    # ------------------------------------------------------------ serialising
    def to_dict(self) -> dict:
        d = asdict(self)
        d["features"] = [_feature_to_dict(f) for f in self.features]
        d["interactions"] = [list(pair) for pair in self.interactions]
        d["operative_outcomes"] = [dict(o, good=list(o["good"])) for o in self.operative_outcomes]
        if self.landmarks is not None:
            d["landmarks"] = list(self.landmarks)
        d["words"] = self.words.to_dict()
        d["stages"] = [asdict(s) for s in self.stages]
        return d

    def subset(self, names) -> Schema:
        """The same schema restricted to some features (e.g. the pre-operative ones)."""
        keep = set(names)
        d = self.to_dict()
        d["features"] = [f for f in d["features"] if f["name"] in keep]
        d["interactions"] = [p for p in d["interactions"] if set(p) <= keep]
        d["operative_outcomes"] = [o for o in d["operative_outcomes"] if o["feature"] in keep]
        d["translations"] = restrict(
            d["translations"], keep, [o["feature"] for o in d["operative_outcomes"]]
        )
        return Schema.from_dict(d)

    @classmethod
    def from_dict(cls, d: dict) -> Schema:
        return _parse(d, source="<dict>")

    @property
    def sha256(self) -> str:
        text = json.dumps(self.to_dict(), sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()


def _fmt(x: float | None) -> str:
    if x is None:
        return "?"
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def _feature_to_dict(f: Feature) -> dict:
    d = {k: v for k, v in asdict(f).items() if v is not None and v != {} and v is not False}
    for key in ("categories", "levels"):
        if key in d:
            d[key] = list(d[key])
    if "value_labels" in d:
        d["value_labels"] = {str(k): v for k, v in d["value_labels"].items()}
    return d


def default_schema_path() -> Path:
    return _SCHEMA_DIR / "dmpm.yaml"


def default_schema() -> Schema:
    """The DMPM feature schema shipped with the package."""
    return load_schema(default_schema_path())


def bundled_schema(d: dict) -> Schema:
    """The schema a bundle carries. Bundles trained before schemas declared their words,
    stages and translations hold none; for the shipped schema they get its own back, not
    neutral ones."""
    shipped = default_schema()
    if d.get("name") == shipped.name:
        if "words" not in d:
            d = {
                **d,
                "words": shipped.words.to_dict(),
                "stages": [asdict(s) for s in shipped.stages],
            }
        if "translations" not in d:
            d = {**d, "translations": shipped.translations}
    return Schema.from_dict(d)


def read_yaml(path: Path, what: str, error: type[Exception]):
    """A declaration file's YAML, or ``error`` saying the file is missing or not YAML."""
    try:
        return yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise error(f"{what} file not found: {path}") from None
    except yaml.YAMLError as exc:
        raise error(f"{what} file {path} is not valid YAML: {exc}") from None


def load_schema(path: str | Path) -> Schema:
    """Read and check a schema file.

    Raises
    ------
    SchemaDefinitionError
        With every problem found in the file.
    """
    path = Path(path)
    raw = read_yaml(path, "schema", SchemaDefinitionError)
    if not isinstance(raw, dict):
        raise SchemaDefinitionError(f"schema file {path} must hold a mapping at the top level")
    return _parse(raw, source=str(path), new=True)


# ------------------------------------------------------------------ parsing
# Each section of a schema file has its own reader. A reader adds what is wrong to
# ``problems`` and carries on, so that one error lists every problem in the file.


# the keys each section may hold: anything else is a typo or a feature of another version
TOP_KEYS = (
    "name",
    "version",
    "title",
    "id_column",
    "time",
    "event",
    "features",
    "interactions",
    "operative_outcomes",
    "landmarks",
    "words",
    "stages",
    "translations",
)
OUTCOME_KEYS = {"time": ("name", "label", "unit", "max"), "event": ("name", "label", "unit", "max")}
FEATURE_KEYS = (
    "name",
    "label",
    "kind",
    "stage",
    "help",
    "unit",
    "min",
    "max",
    "step",
    "categories",
    "category_labels",
    "levels",
    "level_labels",
    "value_labels",
    "transform",
    "nonlinear",
)
OPERATIVE_OUTCOME_KEYS = ("feature", "good", "label")


def _check_keys(d: dict, allowed, where: str, problems: list[str]) -> None:
    for key in d:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), allowed, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            problems.append(f"{where}: unknown key {key!r}{hint}; allowed: {', '.join(allowed)}")


def _parse(raw: dict, source: str, new: bool = False) -> Schema:
    """``new``: a schema file being read, held to checks added after bundles were written
    with their schemas (a bundle's schema always loads as it was trained)."""
    problems: list[str] = []
    _check_keys(raw, TOP_KEYS, "top level", problems)
    for key in ("name", "id_column", "time", "event", "features"):
        _need(raw, key, "top level", problems)
    _raise_if(problems, source)
    time = _parse_outcome_field(raw["time"], "time", problems)
    event = _parse_outcome_field(raw["event"], "event", problems)
    if event.name == time.name:
        problems.append(f"'time' and 'event' must be different columns (both {time.name!r})")
    if not isinstance(raw["features"], list) or not raw["features"]:
        raise SchemaDefinitionError(f"{source}: 'features' must be a non-empty list")
    stages = parse_stages(raw.get("stages"), problems, _check_keys)
    features = _parse_features(raw["features"], tuple(s.name for s in stages), problems)
    by_name = {f.name: f for f in features}
    others = {
        str(raw["id_column"]): "the id column",
        time.name: "the time column",
        event.name: "the event column",
    }
    interactions = _parse_interactions(raw.get("interactions") or [], by_name, others, problems)
    outcomes = _parse_operative_outcomes(
        raw.get("operative_outcomes") or [], by_name, stages[0].name, problems
    )
    landmarks = _parse_landmarks(raw.get("landmarks"), problems)
    if new and landmarks and time.max is not None and landmarks[-1] > time.max:
        # no patient can be followed to it: every estimate there would be 'not reached'
        problems.append(
            f"'landmarks': {landmarks[-1]:g} lies beyond the time's 'max' ({time.max:g}); "
            "landmarks must be times the data can reach"
        )
    words = parse_words(raw.get("words"), problems, _check_keys)
    translations = parse_translations(
        raw.get("translations"), features, stages, outcomes, problems, _check_keys
    )
    _raise_if(problems, source)
    try:
        return Schema(
            name=str(raw["name"]),
            version=int(raw.get("version", 1)),
            title=str(raw.get("title", raw["name"])),
            id_column=str(raw["id_column"]),
            time=time,
            event=event,
            features=tuple(features),
            interactions=tuple(interactions),
            operative_outcomes=tuple(outcomes),
            landmarks=landmarks,
            words=words,
            stages=stages,
            translations=translations,
        )
    except SchemaDefinitionError as exc:
        raise SchemaDefinitionError(f"{source}: {exc}") from None


def _raise_if(problems: list[str], source: str) -> None:
    if problems:
        raise SchemaDefinitionError(f"{source}: " + "; ".join(problems))


def _need(d: dict, key: str, where: str, problems: list[str]):
    if key not in d or d[key] in (None, ""):
        problems.append(f"{where}: '{key}' is required")
        return None
    return d[key]


def _parse_outcome_field(d, what: str, problems: list[str]) -> OutcomeField:
    """``time`` or ``event``: a mapping, or just the column name."""
    if isinstance(d, str):
        d = {"name": d}
    if not isinstance(d, dict) or "name" not in d:
        problems.append(f"'{what}' must be a mapping with a 'name'")
        return OutcomeField(name=f"<{what}>", label=what)
    _check_keys(d, OUTCOME_KEYS[what], f"'{what}'", problems)
    if what == "time" and d.get("unit") is not None and d["unit"] not in UNITS:
        problems.append(f"'time': unit {d['unit']!r} is not one of {', '.join(UNITS)}")
    most = d.get("max")
    if most is not None and (_number(most) is None or most <= 0):
        problems.append(f"'{what}': 'max' must be a positive number (got {most!r})")
        most = None
    return OutcomeField(
        name=str(d["name"]),
        label=str(d.get("label", d["name"])),
        unit=d.get("unit"),
        max=most,
    )


def _parse_landmarks(value, problems: list[str]) -> tuple[float, ...] | None:
    """Time points in the data's unit, increasing (None: 1, 3 and 5 years)."""
    if value is None:
        return None
    ok = (
        isinstance(value, list)
        and value
        and all(isinstance(v, int | float) and not isinstance(v, bool) and v > 0 for v in value)
        and all(a < b for a, b in zip(value, value[1:], strict=False))
    )
    if not ok:
        problems.append("'landmarks' must list increasing positive times in the time unit")
        return None
    return tuple(float(v) for v in value)


def _parse_features(items: list, stages: tuple[str, ...], problems: list[str]) -> list[Feature]:
    features = []
    for i, fd in enumerate(items, start=1):
        if not isinstance(fd, dict):
            problems.append(f"feature {i}: must be a mapping")
            continue
        feature = _parse_feature(fd, i, stages, problems)
        if feature is not None:
            features.append(feature)
    return features


def _parse_feature(
    fd: dict, i: int, stages: tuple[str, ...], problems: list[str]
) -> Feature | None:
    """One feature, or None when its name, kind or stage is unusable (already reported)."""
    name = _need(fd, "name", f"feature {i}", problems)
    where = f"feature {name or i!r}"
    _check_keys(fd, FEATURE_KEYS, where, problems)
    kind = _need(fd, "kind", where, problems)
    stage = _need(fd, "stage", where, problems)
    if kind is not None and kind not in KINDS:
        problems.append(f"{where}: kind {kind!r} is not one of {', '.join(KINDS)}")
    if stage is not None and stage not in stages:
        problems.append(f"{where}: stage {stage!r} is not one of {', '.join(stages)}")
    transform = fd.get("transform")
    if transform not in TRANSFORMS:
        problems.append(f"{where}: transform {transform!r} is not one of none, log1p")
    categories, levels, labels = _parse_values(fd, kind, transform, where, problems)
    nonlinear = _parse_nonlinear(fd, kind, where, problems)
    if name is None or kind not in KINDS or stage not in stages:
        return None
    lo, hi, step = fd.get("min"), fd.get("max"), fd.get("step")
    return Feature(
        name=str(name),
        label=str(fd.get("label", name)),
        kind=kind,
        stage=stage,
        help=str(fd.get("help", "")),
        unit=fd.get("unit"),
        min=_number(lo) if kind in NUMERIC_KINDS else None,
        max=_number(hi) if kind in NUMERIC_KINDS else None,
        step=_number(step),
        categories=categories,
        levels=levels,
        value_labels=labels,
        transform=transform,
        nonlinear=bool(nonlinear),
    )


def _parse_values(fd: dict, kind, transform, where: str, problems: list[str]):
    """What values a feature of this kind allows: (categories, levels, value labels)."""
    if kind in NUMERIC_KINDS:
        _check_range(fd, transform, where, problems)
        return None, None, {}
    if kind == "categorical":
        categories = _parse_categories(fd, where, problems)
        return categories, None, _labels(fd, "category_labels", categories, where, problems)
    if kind == "ordinal":
        levels = _parse_levels(fd, where, problems)
        return None, levels, _labels(fd, "level_labels", levels, where, problems)
    if kind == "binary":
        return None, None, _labels(fd, "value_labels", (0, 1), where, problems)
    return None, None, {}


def _number(v) -> float | None:
    """A finite number as float; None for anything else (:func:`_check_range` reports it)."""
    ok = isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
    return float(v) if ok else None


def _check_range(fd: dict, transform, where: str, problems: list[str]) -> None:
    lo, hi, step = fd.get("min"), fd.get("max"), fd.get("step")
    for key, v in (("min", lo), ("max", hi)):
        if _number(v) is None:
            problems.append(f"{where}: '{key}' must be a finite number")
    if isinstance(lo, int | float) and isinstance(hi, int | float) and lo > hi:
        problems.append(f"{where}: min {lo} is greater than max {hi}")
    if step is not None and (_number(step) is None or step <= 0):
        problems.append(f"{where}: step must be a positive number")
    if transform == "log1p" and isinstance(lo, int | float) and lo <= -1:
        problems.append(f"{where}: log1p needs min > -1")


def _parse_categories(fd: dict, where: str, problems: list[str]) -> tuple[str, ...] | None:
    cats = fd.get("categories")
    if not isinstance(cats, list) or len(cats) < 2:
        problems.append(f"{where}: 'categories' must list at least two values")
        return None
    if _read_as_booleans(cats, "categories", where, problems):
        return None
    categories = tuple(str(c) for c in cats)
    if len(set(categories)) != len(categories):
        problems.append(f"{where}: categories repeat a value")
    _check_readable(categories, "category", where, problems)
    return categories


def _check_readable(values: tuple[str, ...], what: str, where: str, problems: list[str]) -> None:
    """Text values a patients file can hold as written: not a word for an unknown value, no
    surrounding spaces (cells are read without them), no two alike but for case."""
    tokens = ", ".join(repr(t) for t in sorted(MISSING_TOKENS) if t)
    seen: dict[str, str] = {}
    for v in values:
        # "<unknown>" too: the page's form holds "unknown" as that option
        if v.strip().lower().strip("<>") in MISSING_TOKENS:
            problems.append(
                f"{where}: {what} {v!r} is a word a patients file uses for an unknown value "
                f"(an empty cell or {tokens}), so its patients would be read as unknown: "
                "name it otherwise, in the schema and in the data (e.g. 'absent')"
            )
        elif v != v.strip():
            problems.append(
                f"{where}: {what} {v!r} starts or ends with a space, which a patients file's "
                "cells are read without: remove it"
            )
        other = seen.setdefault(v.strip().lower(), v)
        if other != v:
            problems.append(
                f"{where}: {what} values {other!r} and {v!r} differ only in case or spaces; "
                "a patients file could not tell them apart: keep one"
            )


def _parse_levels(fd: dict, where: str, problems: list[str]) -> tuple | None:
    """Integer levels (sorted), or text levels in the order written (e.g. grade I, II, III)."""
    lv = fd.get("levels")
    if isinstance(lv, list) and _read_as_booleans(lv, "levels", where, problems):
        return None
    integers = isinstance(lv, list) and all(
        isinstance(v, int) and not isinstance(v, bool) for v in lv
    )
    texts = isinstance(lv, list) and all(isinstance(v, str) and v.strip() for v in lv)
    if not isinstance(lv, list) or len(lv) < 2 or not (integers or texts):
        problems.append(
            f"{where}: 'levels' must list at least two integers, or at least two text levels "
            "in their order"
        )
        return None
    if len(set(lv)) != len(lv):
        problems.append(f"{where}: levels repeat a value")
        return None
    if texts:
        _check_readable(tuple(lv), "level", where, problems)
    return tuple(sorted(lv)) if integers else tuple(lv)


def _read_as_booleans(values: list, key: str, where: str, problems: list[str]) -> bool:
    """Whether YAML turned unquoted yes/no (or true/false, on/off) into booleans; says so."""
    if not any(isinstance(v, bool) for v in values):
        return False
    problems.append(
        f"{where}: {key} {values} were read as true/false: YAML takes unquoted yes/no, "
        "true/false and on/off for booleans; quote them, e.g. ['no', 'yes']"
    )
    return True


def _labels(fd: dict, key: str, allowed, where: str, problems: list[str]) -> dict:
    """Display labels, under the kind's own key or the shared ``value_labels``, each for one
    of the ``allowed`` values (a label for no value would never be shown)."""
    raw = fd.get(key) or fd.get("value_labels") or {}
    if not isinstance(raw, dict):
        problems.append(f"{where}: {key} must map each value to its label")
        return {}
    if not allowed:
        return {}  # the values themselves are reported as malformed
    by_text = {str(a): a for a in allowed}
    labels, unknown = {}, []
    _read_as_booleans(list(raw.values()), key, where, problems)
    for k, v in raw.items():
        value = by_text.get(str(k))
        if value is None or isinstance(k, bool):
            unknown.append(str(k))
        else:
            labels[value] = str(v)
    if unknown:
        problems.append(
            f"{where}: {key} has a label for {', '.join(repr(u) for u in unknown)}, which is not "
            f"one of its values ({', '.join(str(a) for a in allowed)})"
        )
    return labels


def _parse_nonlinear(fd: dict, kind, where: str, problems: list[str]):
    nonlinear = fd.get("nonlinear", False)
    if not isinstance(nonlinear, bool):
        problems.append(f"{where}: nonlinear must be true or false")
    elif nonlinear and kind not in NUMERIC_KINDS:
        problems.append(f"{where}: only continuous or integer features can be nonlinear")
    return nonlinear


def _parse_interactions(
    items, by_name: dict[str, Feature], others: dict[str, str], problems: list[str]
) -> list[tuple[str, str]]:
    """The declared pairs; ``others``: the schema's columns that are not features (the id,
    time and event), named as such where a pair uses one."""
    if not isinstance(items, list):
        example = ", ".join(list(by_name)[:2])  # this schema's own names
        problems.append(
            f"'interactions' must be a list of pairs of feature names, e.g. [[{example}]] "
            f"(got {items!r})"
        )
        return []
    interactions, seen = [], set()
    for pair in items:
        if not isinstance(pair, list | tuple) or len(pair) != 2:
            problems.append(f"interaction {pair!r}: must be a pair of feature names")
            continue
        if pair[0] == pair[1]:
            problems.append(f"interaction {pair!r}: must pair two different features")
            continue
        if frozenset(map(str, pair)) in seen:
            problems.append(f"interaction {pair!r}: declared twice")
            continue
        seen.add(frozenset(map(str, pair)))
        for name in pair:
            if name in by_name:
                continue
            if str(name) in others:
                what = f"is {others[str(name)]}, not a feature"
            else:
                close = difflib.get_close_matches(str(name), list(by_name), n=1, cutoff=0.6)
                lower = {n.lower(): n for n in by_name}.get(str(name).lower())
                hint = lower or (close[0] if close else None)
                what = "is not a feature" + (
                    f" (did you mean {hint!r}?)" if hint else f" (features: {', '.join(by_name)})"
                )
            problems.append(f"interaction {pair!r}: {name!r} {what}")
        interactions.append((str(pair[0]), str(pair[1])))
    return interactions


def _parse_operative_outcomes(
    items: list, by_name: dict[str, Feature], decision: str, problems: list[str]
) -> list[dict]:
    outcomes = []
    for o in items:
        outcome = _parse_operative_outcome(o, by_name, decision, problems)
        if outcome is not None:
            outcomes.append(outcome)
    return outcomes


def _parse_operative_outcome(
    o, by_name: dict[str, Feature], decision: str, problems: list[str]
) -> dict | None:
    """One outcome of the operation shown on the page: a feature known only after the
    decision stage, with a finite set of values, some of them good."""
    name = o.get("feature") if isinstance(o, dict) else None
    if isinstance(o, dict):
        _check_keys(o, OPERATIVE_OUTCOME_KEYS, f"operative outcome {name!r}", problems)
    f = by_name.get(name)
    if f is None:
        problems.append(f"operative outcome {o!r}: 'feature' must name a feature")
        return None
    if f.stage == decision or f.kind not in ("binary", "ordinal", "categorical"):
        problems.append(
            f"operative outcome {name!r}: must be a binary, ordinal or categorical feature "
            f"known only after the first stage ({decision!r})"
        )
        return None
    if f.allowed_values is None:  # its own values are unusable, already reported
        return None
    good = o.get("good")
    if not isinstance(good, list) or not good or any(g not in f.allowed_values for g in good):
        problems.append(f"operative outcome {name!r}: 'good' must list values of {name}")
        return None
    if len(good) == len(f.allowed_values):
        problems.append(f"operative outcome {name!r}: 'good' cannot hold every value")
        return None
    return {"feature": name, "good": tuple(good), "label": str(o.get("label", name))}
