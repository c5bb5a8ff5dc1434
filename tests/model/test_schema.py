import pytest
import yaml

from model.schema import Schema, SchemaDefinitionError, default_schema_path, load_schema

CANONICAL = [
    "age",
    "sex",
    "kps",
    "pathology",
    "ki67",
    "vascular_emboli",
    "lymph_nodes",
    "pci",
    "cc",
    "sae",
    "ca125",
    "cea",
    "ca199",
    "rbc_units",
]


def test_default_schema_has_the_canonical_columns(schema):
    assert schema.feature_names == CANONICAL
    assert schema.id_column == "patient_id"
    assert schema.outcome_names == ["os_months", "death"]


def test_every_feature_is_fully_described(schema):
    for f in schema.features:
        assert f.label and f.help and f.stage in ("pre", "post"), f.name
        if f.kind in ("continuous", "integer"):
            assert f.min is not None and f.max is not None and f.min < f.max, f.name
        else:
            assert f.allowed_values, f.name


def test_stages_follow_the_clinical_definitions(schema):
    # CLINICAL.md: pathology, Ki-67, KPS, markers and a PCI estimate are known before surgery;
    # CC, SAE, transfusion, emboli and nodes only after it.
    pre = {f.name for f in schema.stage_features("pre")}
    post = {f.name for f in schema.stage_features("post")}
    assert {"pathology", "ki67", "kps", "ca125", "cea", "ca199", "pci"} <= pre
    assert post == {"cc", "sae", "rbc_units", "vascular_emboli", "lymph_nodes"}


def test_published_ranges(schema):
    assert (schema.feature("pci").min, schema.feature("pci").max) == (0, 39)
    assert schema.feature("cc").levels == (0, 1, 2, 3)
    assert schema.feature("kps").step == 10
    assert schema.feature("pathology").categories == ("epithelioid", "biphasic", "sarcomatoid")


def test_ki67_pci_interaction_is_declared(schema):
    assert schema.interactions == (("ki67", "pci"),)


def test_round_trip_through_a_dict(schema):
    again = Schema.from_dict(schema.to_dict())
    assert again == schema
    assert again.sha256 == schema.sha256


def _write(tmp_path, doc):
    p = tmp_path / "s.yaml"
    p.write_text(yaml.safe_dump(doc))
    return p


def _base():
    return yaml.safe_load(default_schema_path().read_text())


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda d: d["features"][0].update(kind="number"), "kind 'number' is not one of"),
        (lambda d: d["features"][0].update(stage="during"), "stage 'during' is not one of"),
        (lambda d: d["features"][0].update(min=200), "min 200 is greater than max"),
        (lambda d: d["features"][1].update(categories=["F"]), "at least two values"),
        (
            lambda d: d["features"][1].update(categories=[False, True]),
            r"read as true/false: YAML takes unquoted yes/no.*quote them",
        ),
        (lambda d: d["features"][0].pop("name"), "'name' is required"),
        (lambda d: d["features"].append(dict(d["features"][0])), "used twice"),
        (lambda d: d.pop("time"), "'time' is required"),
        (lambda d: d.update(interactions=[["ki67", "albumin"]]), "'albumin' is not a feature"),
        (
            lambda d: d.update(interactions=[["ki67", "pci"], ["pci", "ki67"]]),
            r"\['pci', 'ki67'\]: declared twice",
        ),
        (
            lambda d: d.update(interactions="ki67*pci"),
            r"'interactions' must be a list of pairs of feature names, e\.g\. \[\[age, sex\]\]",
        ),
        (
            lambda d: d.update(interactions=[["os_months", "age"]]),
            "'os_months' is the time column, not a feature",
        ),
        (
            lambda d: d.update(interactions=[["Ki67", "pci"]]),
            r"'Ki67' is not a feature \(did you mean 'ki67'\?\)",
        ),
        (
            lambda d: d.update(operative_outcomes=[{"feature": "pci", "good": [1]}]),
            "known only after the first stage",
        ),
        (
            lambda d: d.update(operative_outcomes=[{"feature": "cc", "good": [7]}]),
            "'good' must list values of cc",
        ),
        (
            lambda d: d.update(landmarks=[12, 36, 600], time={"name": "os_months", "max": 240}),
            r"'landmarks': 600 lies beyond the time's 'max' \(240\)",
        ),
    ],
)
def test_malformed_schema_files_are_refused_with_the_reason(tmp_path, mutate, expected):
    doc = _base()
    mutate(doc)
    with pytest.raises(SchemaDefinitionError, match=expected):
        load_schema(_write(tmp_path, doc))


def test_missing_and_invalid_yaml_files(tmp_path):
    with pytest.raises(SchemaDefinitionError, match="not found"):
        load_schema(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("features: [unclosed")
    with pytest.raises(SchemaDefinitionError, match="not valid YAML"):
        load_schema(bad)


def test_a_bundles_schema_loads_as_it_was_trained(tmp_path):
    """A check added for schema files (a landmark beyond the time's max) does not stop a
    bundle written before it from loading its schema."""
    doc = _base()
    doc.update(landmarks=[12, 36, 600], time={"name": "os_months", "max": 240})
    assert Schema.from_dict(doc).landmarks == (12.0, 36.0, 600.0)
    with pytest.raises(SchemaDefinitionError, match="beyond the time's 'max'"):
        load_schema(_write(tmp_path, doc))
