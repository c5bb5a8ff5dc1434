"""The contrasts the hazard-ratio tables compare, in the schema's own words."""

import yaml

from model.schema import default_schema_path, load_schema
from training.effects import contrasts
from training.simulate import simulate_cohort


def test_a_binary_contrast_uses_the_schemas_words_for_its_values(tmp_path):
    doc = yaml.safe_load(default_schema_path().read_text())
    sae = next(f for f in doc["features"] if f["name"] == "sae")
    data = simulate_cohort(60, seed=3).data
    plain = {c["feature"]: c["label"] for c in contrasts(data, load_schema(default_schema_path()))}
    assert plain["sae"] == f"{sae['label']}: yes vs no"  # no words given: yes and no
    sae["value_labels"] = {0: "uneventful", 1: "complicated"}
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    worded = {c["feature"]: c["label"] for c in contrasts(data, load_schema(path))}
    assert worded["sae"] == f"{sae['label']}: complicated vs uneventful"
