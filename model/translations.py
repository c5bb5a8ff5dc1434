"""A schema's own words in other languages: the ``translations`` section of a schema file.

The page's messages are in the catalogues under ``locale/``; what only a schema knows (its
title, feature labels, help texts, units, value labels, words and stage names) is translated
in the schema file itself, so that a centre's own schema carries its own translations::

    translations:
      zh-CN:
        title: 腹膜恶性间皮瘤
        words: {endpoint: 总生存期, origin: CRS+HIPEC 后}
        stages: {pre: 手术前, post: 手术后}
        features:
          sex: {label: 性别, value_labels: {F: 女, M: 男}}
        operative_outcomes: {cc: 完全或接近完全的减瘤 (CC0/1)}

Anything not translated is shown as the schema writes it. As in the schema's own
``level_labels``, labels of values a categorical or ordinal feature does not allow are
harmless (ignored), and so is an ``operative_outcomes`` label for a feature that is not an
operative outcome; names that are no feature at all are refused. A schema cut down to some
features (:meth:`model.schema.Schema.subset`) keeps the translations of those it keeps
(:func:`restrict`).
"""

from __future__ import annotations

from dataclasses import replace

from model.i18n import DEFAULT, LANGUAGES, _
from model.words import DEFAULT_STAGES, WORD_KEYS, Words

__all__ = ["TRANSLATION_KEYS", "localize", "parse_translations", "restrict"]

TRANSLATION_KEYS = (
    "title",
    "time",
    "event",
    "words",
    "stages",
    "features",
    "operative_outcomes",
)
FEATURE_TEXT_KEYS = ("label", "help", "unit", "value_labels")
_PHRASE = (str,)


def _phrases(d, allowed, where: str, problems: list[str], check_keys) -> dict:
    """A mapping of names to non-empty phrases, its keys among ``allowed``."""
    if not isinstance(d, dict):
        problems.append(f"{where} must be a mapping")
        return {}
    if allowed is not None:
        check_keys(d, tuple(allowed), where, problems)
    for key, value in d.items():
        ok = isinstance(value, str) and value.strip()
        if key == "not_for":
            ok = isinstance(value, list) and all(isinstance(v, str) and v for v in value)
        if not ok:
            problems.append(f"{where}: {key!r} must be a non-empty phrase")
    return d


def _mapping_of(d, keys, where: str, problems: list[str], check_keys) -> bool:
    """Whether ``d`` is a mapping (its keys among ``keys``, each stranger named)."""
    if not isinstance(d, dict):
        problems.append(f"{where} must be a mapping of {', '.join(keys)}")
        return False
    check_keys(d, keys, where, problems)
    return True


def _features(d, by_name: dict, where: str, problems: list[str], check_keys) -> dict:
    if not isinstance(d, dict):
        problems.append(f"{where} must be a mapping of feature names")
        return {}
    strangers = [str(n) for n in d if n not in by_name]
    if len(strangers) > 2:  # most likely a section copied from another schema
        problems.append(
            f"{where}: texts of {len(strangers)} features this schema does not have "
            f"({', '.join(strangers)}); was the section copied from another schema? Remove "
            f"them, or translate this schema's features: {', '.join(by_name)}"
        )
    else:
        check_keys(d, tuple(by_name), where, problems)
    for name, texts in d.items():
        here = f"{where} {name!r}"
        if not _mapping_of(texts, FEATURE_TEXT_KEYS, here, problems, check_keys):
            continue
        labels = texts.get("value_labels", {})
        f = by_name.get(name)
        allowed = {str(v) for v in (f.allowed_values or ())} if f is not None else set()
        # as in the schema: labels of unknown levels or categories are harmless, a binary
        # feature's are for 0 and 1 only
        strict = f is None or f.kind not in ("categorical", "ordinal")
        if (
            not isinstance(labels, dict)
            or (strict and any(str(k) not in allowed for k in labels))
            or any(not isinstance(v, str) or not v.strip() for v in labels.values())
        ):
            problems.append(
                f"{here}: 'value_labels' must map values of {name} "
                f"({', '.join(sorted(allowed)) or 'none'}) to phrases"
            )
        _phrases(
            {k: v for k, v in texts.items() if k != "value_labels"},
            None,
            here,
            problems,
            check_keys,
        )
    return d


def parse_translations(raw, features, stages, outcomes, problems: list[str], check_keys) -> dict:
    """The ``translations`` section: language tag -> the schema's texts in that language."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        problems.append("'translations' must be a mapping of language tags, e.g. {zh-CN: {...}}")
        return {}
    others = tuple(lang for lang in LANGUAGES if lang != DEFAULT)
    check_keys(raw, others, "'translations'", problems)
    by_name = {f.name: f for f in features}
    out = {}
    for lang, texts in raw.items():
        where = f"'translations' {lang!r}"
        if not _mapping_of(texts, TRANSLATION_KEYS, where, problems, check_keys):
            continue
        for key, allowed in (
            ("words", WORD_KEYS),
            ("stages", [s.name for s in stages]),
            # a label for a feature that is not (or no longer) an outcome is harmless
            ("operative_outcomes", [f.name for f in features]),
            ("time", ("label",)),
            ("event", ("label",)),
        ):
            if key in texts:
                _phrases(texts[key], allowed, f"{where} {key}", problems, check_keys)
        if "title" in texts:
            _phrases({"title": texts["title"]}, None, where, problems, check_keys)
        if "features" in texts:
            _features(texts["features"], by_name, f"{where} features", problems, check_keys)
        out[str(lang)] = _normalised(texts)
    return out


def _normalised(texts: dict) -> dict:
    """Value labels keyed by the value as text, as a schema read back from a bundle's JSON
    has them, so that the file's schema and the bundle's are equal."""
    features = texts.get("features")
    if not isinstance(features, dict):
        return texts
    fixed = {
        name: dict(t, value_labels={str(k): v for k, v in t["value_labels"].items()})
        if isinstance(t, dict) and isinstance(t.get("value_labels"), dict)
        else t
        for name, t in features.items()
    }
    return {**texts, "features": fixed}


def restrict(translations: dict, names, outcome_features) -> dict:
    """``translations`` without the texts of features and operative outcomes a cut-down
    schema no longer has (features ``names``, outcomes of ``outcome_features``)."""
    keep, outcomes = set(names), set(outcome_features)
    out = {}
    for lang, texts in translations.items():
        texts = dict(texts)
        if "features" in texts:
            texts["features"] = {k: v for k, v in texts["features"].items() if k in keep}
        if "operative_outcomes" in texts:
            texts["operative_outcomes"] = {
                k: v for k, v in texts["operative_outcomes"].items() if k in outcomes
            }
        out[lang] = texts
    return out


def _feature(f, texts: dict):
    if not texts:
        return f
    labels = dict(f.value_labels)
    by_text = {str(v): v for v in (f.allowed_values or ())}
    for key, label in texts.get("value_labels", {}).items():
        if str(key) in by_text:
            labels[by_text[str(key)]] = label
    plain = {k: texts[k] for k in ("label", "help", "unit") if k in texts}
    return replace(f, value_labels=labels, **plain)


def _neutral(schema) -> tuple[dict, dict]:
    """The neutral words and stage names a schema left as they are, in the current language
    (the schema's own words are its to translate)."""
    plain = Words()
    words = {
        k: _(getattr(plain, k))
        for k in WORD_KEYS
        if isinstance(getattr(plain, k), str) and getattr(schema.words, k) == getattr(plain, k)
    }
    if schema.words.not_for == plain.not_for:
        words["not_for"] = tuple(_(x) for x in plain.not_for)
    if schema.words.intended_users == plain.intended_users:
        words["intended_users"] = _(plain.intended_users)
    stages = {s.name: _(s.label) for s in DEFAULT_STAGES if s in schema.stages}
    return words, stages


def localize(schema, lang: str):
    """``schema`` with its texts in ``lang`` where the schema file translates them (and its
    neutral words, where it declares none, in the catalogue's words)."""
    if lang == DEFAULT:
        return schema
    texts = schema.translations.get(lang, {})
    neutral_words, neutral_stages = _neutral(schema)
    words = {**neutral_words, **texts.get("words", {})}
    words = {k: tuple(v) if k == "not_for" else v for k, v in words.items()}
    names = {**neutral_stages, **texts.get("stages", {})}
    outcome_labels = texts.get("operative_outcomes", {})
    feature_texts = texts.get("features", {})
    return replace(
        schema,
        title=texts.get("title", schema.title),
        time=replace(schema.time, **texts.get("time", {})),
        event=replace(schema.event, **texts.get("event", {})),
        features=tuple(_feature(f, feature_texts.get(f.name, {})) for f in schema.features),
        operative_outcomes=tuple(
            dict(o, label=outcome_labels.get(o["feature"], o["label"]))
            for o in schema.operative_outcomes
        ),
        words=replace(schema.words, **words),
        stages=tuple(replace(s, label=names.get(s.name, s.label)) for s in schema.stages),
    )
