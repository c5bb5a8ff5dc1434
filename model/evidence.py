"""Published evidence shown beside the model: prognostic systems and series from the literature.

A schema may have a data file of published evidence, ``<schema file stem>_evidence.yaml``
next to the schema file (``dmpm_evidence.yaml`` for ``dmpm.yaml``). It lives beside the
schema rather than inside it so that the schema's bytes, and the SHA-256 every bundle
records, do not change when a citation is added. A schema without such a file has none.

Each system places a patient in a group by the paper's own definition and cut-offs, never
by another paper's or by the model's; the figures are the paper's, with its citation, and
are always labelled as a published series, not this model's output. A patient whose
inputs are unknown is not guessed into a group: the answer names what is missing.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd

from model.errors import HipecError
from model.i18n import DEFAULT, LANGUAGES, N_, _, language
from model.schema import Feature, Schema, default_schema, default_schema_path, read_yaml
from model.timeaxis import unit_name

__all__ = [
    "MEASURES",
    "Assignment",
    "Condition",
    "Evidence",
    "EvidenceDefinitionError",
    "Figure",
    "Group",
    "NoGroup",
    "Source",
    "System",
    "assign",
    "default_evidence",
    "evidence_for",
    "evidence_path",
    "load_evidence",
]

# measure: (how it reads, with {years} where it needs them; unit of its value)
MEASURES = {
    "median_os": (N_("median OS"), "months"),
    "os": (N_("{years}-year OS"), "%"),
    "conditional_os": (N_("{years}-year conditional survival"), "%"),
    "hazard_ratio": (N_("HR"), ""),
    "auc": (N_("AUC at {years} years"), ""),
}

_TOP_KEYS = ("schema", "label", "caveats", "systems", "translations")
# translations: {language: {label, caveats, systems: {id: {...}}}}; lists in the English order
_TRANSLATED_SYSTEM_KEYS = (
    "title",
    "population",
    "groups",
    "no_group",
    "assumptions",
    "caveats",
    "notes",
)
_SYSTEM_KEYS = (
    "id",
    "title",
    "inputs",
    "population",
    "sources",
    "no_group",
    "groups",
    "figures",
    "assumptions",
    "caveats",
)
_SOURCE_KEYS = ("id", "citation", "doi", "pmid", "n", "note")
_GROUP_KEYS = ("id", "label", "when")
_NO_GROUP_KEYS = ("when", "reason")
_FIGURE_KEYS = ("group", "measure", "years", "value", "interval", "note", "source")
_CONDITION_KEYS = ("min", "max", "above", "below", "in")


class EvidenceDefinitionError(HipecError, ValueError):
    """An evidence file itself is malformed (not the patient it is applied to)."""


@dataclass(frozen=True)
class Condition:
    """One feature's part of a group's definition; bounds named after the paper's wording."""

    feature: str
    min: float | None = None
    max: float | None = None
    above: float | None = None
    below: float | None = None
    values: tuple | None = None

    def holds(self, value) -> bool:
        if self.values is not None and value not in self.values:
            return False
        return not (
            (self.min is not None and value < self.min)
            or (self.max is not None and value > self.max)
            or (self.above is not None and value <= self.above)
            or (self.below is not None and value >= self.below)
        )


# A rule: any of its alternatives holds, each when all of its conditions hold.
Rule = tuple[tuple[Condition, ...], ...]


@dataclass(frozen=True)
class Group:
    id: str
    label: str
    when: Rule = ()


@dataclass(frozen=True)
class NoGroup:
    """A case the paper's definition does not cover, with the reason shown to the user."""

    when: Rule
    reason: str


@dataclass(frozen=True)
class Source:
    id: str
    citation: str | None = None
    doi: str | None = None
    pmid: str | None = None
    n: int | None = None
    note: str | None = None

    @property
    def text(self) -> str:
        parts = [self.citation or self.note or ""]
        parts += [f"doi {self.doi}"] if self.doi else []
        parts += [f"PMID {self.pmid}"] if self.pmid else []
        parts += [f"n = {self.n:,}"] if self.n is not None else []
        parts += [self.note] if self.note and self.citation else []
        return ", ".join(parts)


@dataclass(frozen=True)
class Figure:
    """A published figure exactly as the paper gives it: a number or a range."""

    measure: str
    value: float | tuple[float, float]
    source: Source
    group: str | None = None
    years: int | None = None
    interval: tuple[float, float] | None = None
    note: str | None = None

    @property
    def measure_text(self) -> str:
        return _(MEASURES[self.measure][0]).format(years=self.years)

    @property
    def value_text(self) -> str:
        v = self.value
        text = f"{_num(v[0])}-{_num(v[1])}" if isinstance(v, tuple) else _num(v)
        if self.interval:
            text += f" ({_num(self.interval[0])}-{_num(self.interval[1])})"
        unit = MEASURES[self.measure][1]
        if unit == "%":
            return _("{value} %").format(value=text)
        return _("{number} {unit}").format(number=text, unit=unit_name(unit)) if unit else text

    @property
    def text(self) -> str:
        text = f"{self.measure_text} {self.value_text}"
        return f"{text}, {self.note}" if self.note else text


@dataclass(frozen=True)
class System:
    """One published system or series; population-level when its groups have no rules."""

    id: str
    title: str
    sources: tuple[Source, ...]
    figures: tuple[Figure, ...]
    inputs: tuple[str, ...] = ()
    groups: tuple[Group, ...] = ()
    no_group: tuple[NoGroup, ...] = ()
    population: str | None = None
    assumptions: tuple[str, ...] = ()
    caveats: tuple[str, ...] = ()

    @property
    def assignable(self) -> bool:
        return any(g.when for g in self.groups)


@dataclass(frozen=True)
class Assignment:
    """What one system says about one patient.

    ``group`` is None for a population-level system (``reason`` is then None too) and for a
    patient the system cannot place (``reason`` says why; ``missing`` names the unknown
    inputs, as schema feature names).
    """

    system: System
    group: Group | None
    reason: str | None
    missing: tuple[str, ...]
    label: str

    @property
    def figures(self) -> tuple[Figure, ...]:
        """The patient's group's figures and the series-level ones; all of them when no group."""
        if self.group is None:
            return self.system.figures
        return tuple(f for f in self.system.figures if f.group in (None, self.group.id))

    @property
    def sources(self) -> tuple[Source, ...]:
        return self.system.sources

    @property
    def caveats(self) -> tuple[str, ...]:
        return self.system.assumptions + self.system.caveats


@dataclass(frozen=True)
class Evidence:
    """A schema's published evidence, checked against that schema."""

    schema: Schema
    label: str
    systems: tuple[System, ...]
    caveats: tuple[str, ...] = ()
    path: Path | None = None
    translations: dict = field(default_factory=dict)

    def localized(self, lang: str | None = None) -> Evidence:
        """The evidence with its texts in ``lang`` (the current language by default) where
        the file translates them; citations stay as published."""
        texts = self.translations.get(lang or language())
        if not texts:
            return self
        by_id = texts.get("systems", {})
        return replace(
            self,
            label=texts.get("label", self.label),
            caveats=tuple(texts.get("caveats", self.caveats)),
            systems=tuple(_localize_system(s, by_id.get(s.id, {})) for s in self.systems),
        )

    def system(self, system_id: str) -> System:
        for s in self.systems:
            if s.id == system_id:
                return s
        raise KeyError(
            f"no published system {system_id!r}; there are {[s.id for s in self.systems]}"
        )

    def assign(self, patient: dict) -> list[Assignment]:
        """Every system's answer for one patient (a mapping of feature name to value)."""
        return [self._assign(s, patient) for s in self.systems]

    def _assign(self, system: System, patient: dict) -> Assignment:
        def answer(group=None, reason=None, missing=()):
            return Assignment(system, group, reason, tuple(missing), self.label)

        if not system.assignable:
            return answer()
        undecided: set[str] = set()
        cases = [(x.when, x) for x in system.no_group] + [(g.when, g) for g in system.groups]
        for rule, case in cases:
            holds, unknown = _evaluate(rule, patient, self.schema)
            if holds is None:
                undecided |= unknown
            elif holds and undecided:
                break
            elif holds and isinstance(case, NoGroup):
                return answer(reason=case.reason)
            elif holds:
                return answer(group=case)
        if undecided:
            missing = [n for n in self.schema.feature_names if n in undecided]
            missing += sorted(undecided - set(missing))
            return answer(reason=self._missing_text(missing), missing=missing)
        return answer(reason=self._outside_text(system, patient))

    def _missing_text(self, names) -> str:
        known = set(self.schema.feature_names)
        return _("; ").join(
            _("{label} unknown").format(label=self.schema.feature(n).label)
            if n in known
            else _("'{name}' is not an input of this model").format(name=n)
            for n in names
        )

    def _outside_text(self, system: System, patient: dict) -> str:
        values = [
            f"{self.schema.feature(n).label}: {_show(self.schema.feature(n), patient[n])}"
            for n in system.inputs
            if n in patient and n in self.schema.feature_names
        ]
        return _("outside the published groups ({values})").format(values=_("; ").join(values))


def evidence_path(schema_path: str | Path) -> Path:
    """Where a schema file's published evidence lives, whether or not there is any."""
    schema_path = Path(schema_path)
    return schema_path.with_name(f"{schema_path.stem}_evidence.yaml")


def evidence_for(schema: Schema, schema_path: str | Path | None = None) -> Evidence | None:
    """A schema's published evidence, or None when it has none.

    Without ``schema_path`` (a schema read from a bundle), the shipped schemas' folder is
    searched by the schema's name.
    """
    if schema_path is None:
        schema_path = default_schema_path().with_name(f"{schema.name}.yaml")
    path = evidence_path(schema_path)
    try:
        stamp = path.stat().st_mtime_ns
    except OSError:
        return None
    return _read_for(str(path), stamp, schema.sha256, schema)


_READ: dict[tuple, Evidence | None] = {}


def _read_for(path: str, stamp: int, schema_sha: str, schema: Schema) -> Evidence | None:
    """Read once per file version and schema (every page rerun asks). An evidence file
    that does not fit the schema (a researcher's schema under a shipped name, with other
    categories) gives no evidence rather than stopping a prediction."""
    key = (path, stamp, schema_sha)
    if key not in _READ:
        if len(_READ) >= 8:
            _READ.clear()
        try:
            _READ[key] = load_evidence(Path(path), schema)
        except EvidenceDefinitionError:
            _READ[key] = None
    return _READ[key]


@functools.cache
def default_evidence() -> Evidence:
    """The DMPM schema's published evidence, shipped with the package."""
    return load_evidence(evidence_path(default_schema_path()), default_schema())


def assign(patient: dict, evidence: Evidence | None = None) -> list[Assignment]:
    """Every published system's answer for one patient (default: the DMPM evidence)."""
    return (evidence or default_evidence()).assign(patient)


# ------------------------------------------------------------------ evaluation
def _evaluate(rule: Rule, patient: dict, schema: Schema) -> tuple[bool | None, set[str]]:
    """Three-valued: True, False, or None when unknown inputs could change the answer."""
    any_unknown: set[str] = set()
    for alternative in rule:
        unknown: set[str] = set()
        failed = False
        for c in alternative:
            value = _value(c.feature, patient, schema)
            if value is None:
                unknown.add(c.feature)
            elif not c.holds(value):
                failed = True
                break
        if failed:
            continue
        if not unknown:
            return True, set()
        any_unknown |= unknown
    return (None, any_unknown) if any_unknown else (False, set())


def _value(name: str, patient: dict, schema: Schema):
    """The patient's value in the rules' terms, or None when unknown or not in the schema."""
    value = patient.get(name)
    if name not in schema.feature_names or value is None or _isna(value):
        return None
    if schema.feature(name).is_text:
        return str(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        label = schema.feature(name).label
        raise ValueError(f"{label}: {value!r} is not a number") from None


def _isna(value) -> bool:
    return not isinstance(value, str) and bool(pd.isna(value))


def _show(feature: Feature, value) -> str:
    if _isna(value) or value is None:
        return _("unknown")
    if feature.is_text:
        pass
    elif feature.kind in ("binary", "ordinal"):
        value = int(value) if float(value).is_integer() else value
    else:
        return _num(float(value))
    return feature.label_for(value)


def _num(x: float) -> str:
    return f"{x:g}"


# --------------------------------------------------------------------- loading
def load_evidence(path: str | Path, schema: Schema) -> Evidence:
    """Read and check a schema's evidence file.

    An input the schema lacks (e.g. a schema cut down to pre-operative facts) is not an
    error: the systems that need it say so for every patient.

    Raises
    ------
    EvidenceDefinitionError
        With every problem found, each naming the file and the system.
    """
    path = Path(path)
    raw = read_yaml(path, "evidence", EvidenceDefinitionError)
    problems: list[str] = []
    evidence = _parse(raw, schema, path, problems)
    if problems:
        raise EvidenceDefinitionError(f"{path}: " + "; ".join(problems))
    return evidence


def _keys(d, allowed, where: str, problems: list[str]) -> bool:
    if not isinstance(d, dict):
        problems.append(f"{where}: must be a mapping")
        return False
    for key in d:
        if key not in allowed:
            problems.append(f"{where}: unknown key {key!r}; allowed: {', '.join(allowed)}")
    return True


def _text(d: dict, key: str, where: str, problems: list[str], required=True) -> str | None:
    value = d.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        problems.append(f"{where}: {key!r} must be non-empty text")
        return None
    return value


def _texts(d: dict, key: str, where: str, problems: list[str]) -> tuple[str, ...]:
    value = d.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        problems.append(f"{where}: {key!r} must be a list of texts")
        return ()
    return tuple(value)


def _is_number(v) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _parse(raw, schema: Schema, path: Path, problems: list[str]) -> Evidence | None:
    if not _keys(raw, _TOP_KEYS, "top level", problems):
        return None
    if raw.get("schema") != schema.name:
        problems.append(
            f"top level: 'schema' is {raw.get('schema')!r} but this is schema {schema.name!r}"
        )
    label = _text(raw, "label", "top level", problems)
    systems_raw = raw.get("systems")
    if not isinstance(systems_raw, list) or not systems_raw:
        problems.append("top level: 'systems' must be a non-empty list")
        systems_raw = []
    systems = []
    for i, sd in enumerate(systems_raw, start=1):
        sid = sd.get("id") if isinstance(sd, dict) else None
        system = _system(sd, f"system {sid or i!r}", schema, problems)
        if system is not None:
            systems.append(system)
    ids = [s.id for s in systems]
    for dupe in sorted({x for x in ids if ids.count(x) > 1}):
        problems.append(f"system {dupe!r}: id used twice")
    evidence = Evidence(
        schema=schema,
        label=label or "",
        systems=tuple(systems),
        caveats=_texts(raw, "caveats", "top level", problems),
        path=path,
    )
    return replace(
        evidence, translations=_translations(raw.get("translations"), evidence, problems)
    )


def _translations(raw, evidence: Evidence, problems: list[str]) -> dict:
    """The ``translations`` section, checked against the English texts it translates."""
    if raw is None:
        return {}
    if not _keys(raw, [lang for lang in LANGUAGES if lang != DEFAULT], "translations", problems):
        return {}
    for lang, texts in raw.items():
        where = f"translations {lang!r}"
        if not _keys(texts, ("label", "caveats", "systems"), where, problems):
            continue
        _same_length(texts, "caveats", evidence.caveats, where, problems)
        systems = texts.get("systems", {})
        if not _keys(systems, [s.id for s in evidence.systems], f"{where} systems", problems):
            continue
        ids = {s.id for s in evidence.systems}
        for sid, st in systems.items():
            if sid in ids:  # a system that did not parse is reported already
                _check_system_texts(st, evidence.system(sid), f"{where} system {sid!r}", problems)
    return raw


def _check_system_texts(st, system: System, where: str, problems: list[str]) -> None:
    if not _keys(st, _TRANSLATED_SYSTEM_KEYS, where, problems):
        return
    _keys(st.get("groups", {}), [g.id for g in system.groups], f"{where} groups", problems)
    _same_length(st, "no_group", [x.reason for x in system.no_group], where, problems)
    _same_length(st, "assumptions", system.assumptions, where, problems)
    _same_length(st, "caveats", system.caveats, where, problems)


def _same_length(texts: dict, key: str, english, where: str, problems: list[str]) -> None:
    if key in texts and (not isinstance(texts[key], list) or len(texts[key]) != len(english)):
        problems.append(
            f"{where}: {key!r} must translate each of the {len(english)} texts, in order"
        )


def _localize_system(system: System, st: dict) -> System:
    if not st:
        return system
    groups = st.get("groups", {})
    notes = st.get("notes", {})

    def note(text):
        return notes.get(text, text) if text else text

    return replace(
        system,
        title=st.get("title", system.title),
        population=st.get("population", system.population),
        groups=tuple(replace(g, label=groups.get(g.id, g.label)) for g in system.groups),
        no_group=tuple(
            replace(x, reason=r)
            for x, r in zip(
                system.no_group,
                st.get("no_group", [x.reason for x in system.no_group]),
                strict=True,
            )
        ),
        assumptions=tuple(st.get("assumptions", system.assumptions)),
        caveats=tuple(st.get("caveats", system.caveats)),
        figures=tuple(
            replace(f, note=note(f.note), source=replace(f.source, note=note(f.source.note)))
            for f in system.figures
        ),
        sources=tuple(replace(src, note=note(src.note)) for src in system.sources),
    )


def _system(sd, where: str, schema: Schema, problems: list[str]) -> System | None:
    if not _keys(sd, _SYSTEM_KEYS, where, problems):
        return None
    sid = _text(sd, "id", where, problems)
    title = _text(sd, "title", where, problems)
    inputs = _texts(sd, "inputs", where, problems)
    sources = _sources(sd.get("sources"), where, problems)
    groups = tuple(
        g
        for i, gd in enumerate(_list(sd, "groups", where, problems), start=1)
        if (g := _group(gd, f"{where}: group {_id(gd, i)!r}", schema, inputs, problems))
    )
    with_rules = [bool(g.when) for g in groups]
    if any(with_rules) and not all(with_rules):
        problems.append(f"{where}: either every group has 'when' or none does")
    no_group = tuple(
        x
        for i, nd in enumerate(_list(sd, "no_group", where, problems), start=1)
        if (x := _no_group(nd, f"{where}: no_group {i}", schema, inputs, problems))
    )
    if no_group and not any(with_rules):
        problems.append(f"{where}: 'no_group' needs groups with 'when'")
    group_ids = [g.id for g in groups]
    for dupe in sorted({x for x in group_ids if group_ids.count(x) > 1}):
        problems.append(f"{where}: group id {dupe!r} used twice")
    figures = tuple(
        f
        for i, fd in enumerate(_list(sd, "figures", where, problems), start=1)
        if (f := _figure(fd, f"{where}: figure {i}", sources, group_ids, problems))
    )
    if not figures:
        problems.append(f"{where}: 'figures' must list at least one published figure")
    if sid is None or title is None or not sources:
        return None
    return System(
        id=sid,
        title=title,
        sources=tuple(sources.values()),
        figures=figures,
        inputs=inputs,
        groups=groups,
        no_group=no_group,
        population=_text(sd, "population", where, problems, required=False),
        assumptions=_texts(sd, "assumptions", where, problems),
        caveats=_texts(sd, "caveats", where, problems),
    )


def _id(d, i: int):
    return d.get("id", i) if isinstance(d, dict) else i


def _list(d: dict, key: str, where: str, problems: list[str]) -> list:
    value = d.get(key) or []
    if not isinstance(value, list):
        problems.append(f"{where}: {key!r} must be a list")
        return []
    return value


def _sources(raw, where: str, problems: list[str]) -> dict[str, Source]:
    if not isinstance(raw, list) or not raw:
        problems.append(f"{where}: 'sources' must list at least one source")
        return {}
    sources: dict[str, Source] = {}
    for i, d in enumerate(raw, start=1):
        here = f"{where}: source {_id(d, i)!r}"
        if not _keys(d, _SOURCE_KEYS, here, problems):
            continue
        if len(raw) > 1 and "id" not in d:
            problems.append(f"{here}: 'id' is required when a system has several sources")
        if not d.get("citation") and not d.get("note"):
            problems.append(f"{here}: needs a 'citation' or a 'note' saying why there is none")
        n = d.get("n")
        if n is not None and (not isinstance(n, int) or isinstance(n, bool) or n < 1):
            problems.append(f"{here}: 'n' must be a positive whole number")
        sid = str(d.get("id", i))
        sources[sid] = Source(
            id=sid,
            citation=_text(d, "citation", here, problems, required=False),
            doi=_text(d, "doi", here, problems, required=False),
            pmid=None if d.get("pmid") is None else str(d["pmid"]),
            n=n if isinstance(n, int) else None,
            note=_text(d, "note", here, problems, required=False),
        )
    return sources


def _group(gd, where: str, schema, inputs, problems: list[str]) -> Group | None:
    if not _keys(gd, _GROUP_KEYS, where, problems):
        return None
    gid = gd.get("id")
    label = _text(gd, "label", where, problems)
    if not isinstance(gid, str | int) or isinstance(gid, bool):
        problems.append(f"{where}: 'id' is required")
        return None
    when = _rule(gd["when"], where, schema, inputs, problems) if "when" in gd else ()
    return Group(id=str(gid), label=label or "", when=when)


def _no_group(nd, where: str, schema, inputs, problems: list[str]) -> NoGroup | None:
    if not _keys(nd, _NO_GROUP_KEYS, where, problems):
        return None
    reason = _text(nd, "reason", where, problems)
    when = _rule(nd.get("when"), where, schema, inputs, problems)
    return NoGroup(when=when, reason=reason or "")


def _rule(raw, where: str, schema: Schema, inputs, problems: list[str]) -> Rule:
    alternatives = raw if isinstance(raw, list) else [raw]
    if not alternatives or not all(isinstance(a, dict) and a for a in alternatives):
        problems.append(f"{where}: 'when' must be a mapping of conditions or a list of them")
        return ()
    rule = []
    for alternative in alternatives:
        conditions = []
        for name, spec in alternative.items():
            here = f"{where}: condition on {name!r}"
            if name not in inputs:
                problems.append(f"{here}: {name!r} is not among the system's 'inputs'")
            c = _condition(name, spec, here, schema, problems)
            if c is not None:
                conditions.append(c)
        rule.append(tuple(conditions))
    return tuple(rule)


def _condition(name: str, spec, where: str, schema: Schema, problems: list[str]):
    if not _keys(spec, _CONDITION_KEYS, where, problems):
        return None
    if not spec:
        problems.append(f"{where}: needs at least one of {', '.join(_CONDITION_KEYS)}")
        return None
    feature = schema.feature(name) if name in schema.feature_names else None
    bounds: dict[str, Any] = {k: spec[k] for k in ("min", "max", "above", "below") if k in spec}
    for key, v in bounds.items():
        if not _is_number(v):
            problems.append(f"{where}: {key!r} must be a number")
    if bounds and feature is not None and feature.is_text:
        problems.append(f"{where}: {name!r} has text values; use 'in'")
    values = spec.get("in")
    if values is not None:
        if not isinstance(values, list) or not values:
            problems.append(f"{where}: 'in' must list at least one value")
            values = None
        elif feature is not None:
            values = _check_values(feature, values, where, problems)
    if any(not _is_number(v) for v in bounds.values()):
        return None
    return Condition(feature=name, values=None if values is None else tuple(values), **bounds)


def _check_values(feature: Feature, values: list, where: str, problems: list[str]) -> list:
    allowed = feature.allowed_values
    if feature.is_text:
        values = [str(v) for v in values]
    bad = [v for v in values if (v not in allowed if allowed else not _is_number(v))]
    if bad:
        problems.append(
            f"{where}: {bad} not allowed; {feature.name} is {feature.describe_allowed()}"
        )
    return values


def _figure(fd, where: str, sources: dict, group_ids: list, problems: list[str]) -> Figure | None:
    if not _keys(fd, _FIGURE_KEYS, where, problems):
        return None
    measure = fd.get("measure")
    if measure not in MEASURES:
        problems.append(f"{where}: measure {measure!r} is not one of {', '.join(MEASURES)}")
        return None
    years = fd.get("years")
    needs_years = "{years}" in MEASURES[measure][0]
    if needs_years != (years is not None) or (needs_years and not _is_number(years)):
        problems.append(
            f"{where}: {measure} {'needs a number of' if needs_years else 'takes no'} 'years'"
        )
    value = _figure_value(fd.get("value"), f"{where}: 'value'", problems)
    interval = fd.get("interval")
    if interval is not None:
        interval = _figure_value(interval, f"{where}: 'interval'", problems, pair_only=True)
    group = fd.get("group")
    if group is not None and str(group) not in group_ids:
        problems.append(f"{where}: group {group!r} is not one of the system's groups {group_ids}")
    source = _figure_source(fd.get("source"), where, sources, problems)
    if value is None or source is None:
        return None
    return Figure(
        measure=measure,
        value=value,
        source=source,
        group=None if group is None else str(group),
        years=years,
        interval=interval,
        note=_text(fd, "note", where, problems, required=False),
    )


def _figure_value(v, where: str, problems: list[str], pair_only=False):
    if isinstance(v, list) and len(v) == 2 and all(_is_number(x) for x in v) and v[0] < v[1]:
        return (v[0], v[1])
    if _is_number(v) and not pair_only:
        return v
    kind = "" if pair_only else "a number or "
    problems.append(f"{where} must be {kind}[low, high] with low < high")
    return None


def _figure_source(sid, where: str, sources: dict, problems: list[str]) -> Source | None:
    if sid is None and len(sources) == 1:
        return next(iter(sources.values()))
    if sid is None:
        problems.append(f"{where}: 'source' must name one of the system's sources {list(sources)}")
        return None
    if str(sid) not in sources:
        problems.append(f"{where}: source {sid!r} is not one of {list(sources)}")
        return None
    return sources[str(sid)]
