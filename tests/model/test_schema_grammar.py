"""What a researcher's schema may say: text ordinal levels, labelled yes/no values, and
unknown keys refused with the allowed ones."""

import re

import numpy as np
import pandas as pd
import pytest
import yaml

from model.schema import Schema, SchemaDefinitionError, default_schema_path, load_schema


def _doc():
    return yaml.safe_load(default_schema_path().read_text())


def _write(tmp_path, doc):
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def _grade_and_albumin(doc):
    doc["name"] = "centre_g"
    doc["features"].append(
        {
            "name": "grade",
            "label": "Tumour grade",
            "kind": "ordinal",
            "levels": ["I", "II", "III"],
            "level_labels": {"I": "grade I (low)", "III": "grade III (high)"},
            "stage": "pre",
            "help": "Histological grade.",
        }
    )
    doc["features"].append(
        {
            "name": "ascites",
            "label": "Ascites",
            "kind": "binary",
            "value_labels": {0: "absent", 1: "present"},
            "stage": "pre",
            "help": "Ascites on imaging.",
        }
    )
    return doc


def test_text_ordinal_levels_keep_their_order_and_labels(tmp_path):
    s = load_schema(_write(tmp_path, _grade_and_albumin(_doc())))
    grade = s.feature("grade")
    assert grade.levels == ("I", "II", "III")  # as written, not sorted as text
    assert grade.is_text and grade.allowed_values == ("I", "II", "III")
    assert grade.label_for("III") == "grade III (high)" and grade.label_for("II") == "II"
    assert grade.describe_allowed() == "one of 'I', 'II', 'III'"
    ascites = s.feature("ascites")
    assert ascites.label_for(1) == "present" and ascites.label_for(0) == "absent"
    assert ascites.describe_allowed() == "0 (absent) or 1 (present)"
    assert load_schema(_write(tmp_path, s.to_dict())) == s  # round trip


@pytest.mark.parametrize(
    "where, key, expected",
    [
        ("top", "landmark", "top level: unknown key 'landmark'"),
        ("feature", "mn", "feature 'age': unknown key 'mn' (did you mean 'min'?)"),
        ("time", "units", "'time': unknown key 'units' (did you mean 'unit'?)"),
        ("outcome", "goods", "operative outcome 'cc': unknown key 'goods' (did you mean 'good'?)"),
    ],
)
def test_unknown_keys_are_named_with_the_allowed_ones(tmp_path, where, key, expected):
    doc = _doc()
    target = {
        "top": doc,
        "feature": doc["features"][0],
        "time": doc["time"],
        "outcome": doc["operative_outcomes"][0],
    }[where]
    target[key] = 1
    with pytest.raises(SchemaDefinitionError) as err:
        load_schema(_write(tmp_path, doc))
    assert expected in str(err.value)
    assert "allowed: " in str(err.value)


@pytest.mark.parametrize(
    "levels, labels, expected",
    [
        (["I", 2], None, "at least two integers, or at least two text levels"),
        (["I", "I"], None, "levels repeat a value"),
        ([0, 1], None, None),
        # a label for no level is a misspelt key, which would silently never be shown
        ([0, 1], {"2": "x"}, "level_labels has a label for '2', which is not one of its values"),
    ],
)
def test_malformed_ordinal_levels(tmp_path, levels, labels, expected):
    doc = _doc()
    f = next(f for f in doc["features"] if f["name"] == "cc")
    f["levels"] = levels
    f.pop("level_labels")
    if labels:
        f["level_labels"] = labels
    doc["operative_outcomes"] = []
    if expected is None:
        load_schema(_write(tmp_path, doc))
        return
    with pytest.raises(SchemaDefinitionError, match=expected):
        load_schema(_write(tmp_path, doc))


def test_binary_labels_for_other_values_are_refused(tmp_path):
    doc = _doc()
    f = next(f for f in doc["features"] if f["name"] == "sae")
    f["value_labels"] = {1: "yes", 2: "maybe"}
    with pytest.raises(
        SchemaDefinitionError, match=r"label for '2', which is not one of its values \(0, 1\)"
    ):
        load_schema(_write(tmp_path, doc))


def test_a_text_ordinal_trains_validates_and_predicts(tmp_path, small_cohort):
    """End to end: the data are checked against the levels, the model learns the grade's
    effect, and the engine predicts for each grade and for an unknown one."""
    from model.bundle import load_bundle
    from model.engine import Engine
    from model.validation import validate_dataset
    from training.fit import FitOptions, fit_bundle

    schema = load_schema(_write(tmp_path, _grade_and_albumin(_doc())))
    data = small_cohort[2].data.copy()
    rng = np.random.default_rng(5)
    # grade made from the outcome itself, so that any model must give it an effect
    short = (data["death"] == 1) & (data["os_months"] < 24)
    grade = np.where(short, "III", np.where(data["os_months"] < 48, "II", "I"))
    data["grade"] = np.where(rng.random(len(data)) < 0.1, "", grade)
    data["ascites"] = (rng.random(len(data)) < 0.3).astype(int)
    path = tmp_path / "centre.csv"
    data.to_csv(path, index=False)

    bad = data.copy()
    bad.loc[3, "grade"] = "IV"
    bad.to_csv(tmp_path / "bad.csv", index=False)
    report = validate_dataset(tmp_path / "bad.csv", schema, mode="train")
    assert any(p.column == "grade" and "'I', 'II', 'III'" in p.message for p in report.errors)

    bundle = fit_bundle(
        path,
        schema,
        tmp_path / "models",
        FitOptions(models=("coxnet",), bootstrap=3, progress=False, n_jobs=1),
    )
    engine = Engine(load_bundle(bundle))
    ref = engine.bundle.manifest.reference_patient
    rows = [{**ref, "grade": g} for g in ("I", "II", "III", None)]
    progs = engine.predict(pd.DataFrame(rows), contributions=True)
    s36 = [p.at(36)[0] for p in progs]
    assert s36[0] > s36[2], "higher grade, lower survival"
    assert progs[3].unknown == ["grade"]
    assert any(c["feature"] == "grade" for c in progs[1].contributions)


def test_words_and_stages_come_from_the_schema(tmp_path):
    doc = _doc()
    doc["words"] = {
        "origin": "from randomisation",
        "endpoint": "recurrence-free survival",
        "event": "recurrence or death",
        "events": "recurrences or deaths",
        "not_for": ["Men."],
    }
    doc["stages"] = [
        {"name": "pre", "label": "at diagnosis"},
        {"name": "post", "label": "after surgery"},
        {"name": "adjuvant", "label": "after adjuvant therapy"},
    ]
    doc["features"][0]["stage"] = "adjuvant"
    s = load_schema(_write(tmp_path, doc))
    assert (
        s.words.endpoint_title == "Recurrence-free survival"
        and s.words.events_title == "Recurrences or deaths"
    )
    assert s.words.event_free == "event-free"  # not declared: the neutral word
    assert [x.name for x in s.stages] == ["pre", "post", "adjuvant"]
    assert s.decision_stage == "pre" and s.later_stages == ("post", "adjuvant")
    assert s.stage_label("adjuvant") == "after adjuvant therapy"
    assert load_schema(_write(tmp_path, s.to_dict())) == s  # round trip


def test_a_schema_without_words_gets_neutral_ones(tmp_path):
    doc = _doc()
    del doc["words"], doc["stages"]
    s = load_schema(_write(tmp_path, doc))
    assert (s.words.endpoint, s.words.events, s.words.origin) == (
        "survival",
        "events",
        "from the start of follow-up",
    )
    assert s.stage_label("pre") == "before treatment"
    assert s.words.purpose() == (
        "Estimates survival from the start of follow-up for patients like those it was trained on."
    )


@pytest.mark.parametrize(
    "mutate, expected",
    [
        (
            lambda d: d["words"].update(endpont="x"),
            "'words': unknown key 'endpont' .*did you mean 'endpoint'",
        ),
        (lambda d: d["words"].update(events=""), "'events' must be a non-empty phrase"),
        (lambda d: d["words"].update(not_for="Men."), "'not_for' must be a list of sentences"),
        (lambda d: d.update(words=["x"]), "'words' must be a mapping"),
        (lambda d: d.update(stages=[{"name": "pre"}]), "stage 1: 'name' and 'label' are required"),
        (lambda d: d["stages"].append({"name": "pre", "label": "x"}), "names used twice"),
        (lambda d: d["stages"][0].update(when="x"), "stage 1: unknown key 'when'"),
        (lambda d: d["features"][0].update(stage="later"), "stage 'later' is not one of pre, post"),
    ],
)
def test_malformed_words_and_stages_are_refused_naming_the_key(tmp_path, mutate, expected):
    doc = _doc()
    mutate(doc)
    with pytest.raises(SchemaDefinitionError, match=expected):
        load_schema(_write(tmp_path, doc))


def test_a_bundle_of_the_shipped_schema_from_before_words_keeps_its_words(schema):
    from model.schema import bundled_schema

    old = schema.to_dict()
    del old["words"], old["stages"]
    assert bundled_schema(old).words == schema.words
    assert bundled_schema(old).stage_label("pre") == "before surgery"
    other = dict(old, name="centre_g")
    assert bundled_schema(other).words.endpoint == "survival"  # another schema: neutral words


def _with_translations(tmp_path, translations: dict):
    import yaml

    doc = yaml.safe_load(default_schema_path().read_text())
    doc["translations"] = translations
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True))
    return path


@pytest.mark.parametrize(
    "translations, message",
    [
        ({"fr": {"title": "x"}}, "'translations': unknown key 'fr'"),
        ({"zh-CN": {"titel": "x"}}, "unknown key 'titel' (did you mean 'title'?)"),
        ({"zh-CN": {"features": {"pcii": {"label": "x"}}}}, "unknown key 'pcii'"),
        ({"zh-CN": {"features": {"sae": {"value_labels": {2: "x"}}}}}, "'value_labels'"),
        ({"zh-CN": {"stages": {"during": "x"}}}, "stages: unknown key 'during'"),
        ({"zh-CN": {"words": {"endpoint": ""}}}, "'endpoint' must be a non-empty phrase"),
        (
            {"zh-CN": {"features": {"a": {"label": "x"}, "b": {}, "c": {}}}},
            "copied from another schema",
        ),
    ],
)
def test_a_bad_translation_is_named(tmp_path, translations, message):
    with pytest.raises(SchemaDefinitionError, match=re.escape(message)):
        load_schema(_with_translations(tmp_path, translations))


def test_translations_reach_the_schemas_texts_and_survive_a_bundle(tmp_path):
    from model.i18n import use

    path = _with_translations(
        tmp_path,
        {
            "zh-CN": {
                "title": "标题",
                "words": {"endpoint": "总生存期"},
                "stages": {"pre": "手术前"},
                "features": {"cc": {"label": "细胞减灭程度", "value_labels": {0: "无残留"}}},
                "operative_outcomes": {"sae": "无严重不良事件"},
            }
        },
    )
    schema = load_schema(path)
    assert schema.localized("en") == schema  # English is the file's own words
    with use("zh-CN"):
        zh = schema.localized()
    assert (zh.title, zh.words.endpoint, zh.stage_label("pre")) == ("标题", "总生存期", "手术前")
    assert zh.feature("cc").label == "细胞减灭程度" and zh.feature("cc").label_for(0) == "无残留"
    assert zh.feature("cc").label_for(1) == schema.feature("cc").label_for(1)  # untranslated
    assert [o["label"] for o in zh.operative_outcomes][1] == "无严重不良事件"
    # a bundle carries the schema as JSON: the same schema, translations included
    assert Schema.from_dict(schema.to_dict()) == schema
    pre = schema.subset([f.name for f in schema.stage_features("pre")])
    assert "cc" not in pre.translations["zh-CN"].get("features", {})


def _feature(doc, name):
    return next(f for f in doc["features"] if f["name"] == name)


@pytest.mark.parametrize(
    "mutate, expected",
    [
        (lambda d: _feature(d, "age").update(max="old"), "feature 'age': 'max' must be a finite"),
        (lambda d: _feature(d, "pci").update(step="one"), "feature 'pci': step must be a positive"),
        # an operative outcome on a feature whose levels are unusable: one message, not a crash
        (lambda d: _feature(d, "cc").update(levels="0-3"), "feature 'cc': 'levels' must list"),
        (lambda d: d["time"].update(max="lots"), "'time': 'max' must be a positive number"),
        (lambda d: d["time"].update(max=-5), "'time': 'max' must be a positive number"),
        (lambda d: d["event"].update(name=d["time"]["name"]), "must be different columns"),
        (lambda d: d.update(id_column=d["event"]["name"]), "id_column 'death' is also the event"),
        (lambda d: d.update(id_column=d["time"]["name"]), "id_column 'os_months' is also the time"),
        # YAML reads an unquoted no as false: "False" would have been the label shown
        (
            lambda d: _feature(d, "lymph_nodes").update(value_labels={0: False, 1: "yes"}),
            r"feature 'lymph_nodes': value_labels \[False, 'yes'\] were read as true/false",
        ),
        (lambda d: _feature(d, "pci").update(step=True), "feature 'pci': step must be a positive"),
        (lambda d: d.update(interactions=[["ki67", "ki67"]]), "must pair two different features"),
        # a level that is also a word for "unknown" would turn its patients into unknowns
        (
            lambda d: _feature(d, "pathology").update(categories=["epithelioid", "None"]),
            "feature 'pathology': category 'None' is a word a patients file uses for an unknown",
        ),
        # and "<unknown>", the form's own word for an unknown choice
        (
            lambda d: _feature(d, "pathology").update(categories=["epithelioid", "<unknown>"]),
            "feature 'pathology': category '<unknown>' is a word a patients file uses",
        ),
        (
            lambda d: _feature(d, "sex").update(categories=["F", "M", "m"]),
            "'M' and 'm' differ only in case",
        ),
        (lambda d: _feature(d, "sex").update(categories=["F", "M "]), "'M ' starts or ends with"),
        # a label for no value would never be shown: the key is misspelt
        (
            lambda d: _feature(d, "sex").update(category_labels={"F": "female", "male": "male"}),
            r"category_labels has a label for 'male', which is not one of its values \(F, M\)",
        ),
        (
            lambda d: _feature(d, "cc").update(level_labels={0: "CC0", 4: "CC4"}),
            r"level_labels has a label for '4', which is not one of its values \(0, 1, 2, 3\)",
        ),
    ],
)
def test_a_malformed_value_is_named_not_a_traceback(tmp_path, mutate, expected):
    doc = _doc()
    mutate(doc)
    with pytest.raises(SchemaDefinitionError, match=expected):
        load_schema(_write(tmp_path, doc))
