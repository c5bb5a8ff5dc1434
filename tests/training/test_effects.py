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


def test_quartile_contrasts_are_values_a_reader_can_enter():
    """A whole-number input is compared at values the data hold (3 vs 0 units, not 3.25 vs 0)
    and a measurement at three significant digits, the hazard ratio at exactly those values."""
    import pandas as pd

    schema = load_schema(default_schema_path())
    data = simulate_cohort(200, seed=4).data
    data["rbc_units"] = pd.Series([0, 0, 0, 1, 3, 3, 4, 6] * 25, dtype=float)
    data["ca125"] = pd.Series([2.5, 2.5, 2.5, 9.9, 9.95, 9.95, 12.0, 40.0] * 25)
    rows = {c["feature"]: c for c in contrasts(data, schema)}
    rbc = rows["rbc_units"]
    # linear interpolation gives 0 and 3.25; the values the data hold nearest those ranks
    # (the 50th and the 150th of 200 sorted) are 0 and 3
    assert (rbc["reference"], rbc["value"]) == (0.0, 3.0)
    assert rbc["label"].endswith(": 3 vs 0 units")
    ca = rows["ca125"]
    # the 150th of 200 sorted values lies a quarter of the way from 9.95 to 12: 10.4625
    assert (ca["reference"], ca["value"]) == (2.5, 10.5)
    assert ca["label"].endswith(": 10.5 vs 2.5 U/mL")


def test_a_level_no_patient_has_gets_no_contrast():
    """A model cannot tell the effect of a level nobody had (it scores it as unknown), so the
    hazard-ratio table shows no '1.00 (1.00 to 1.00)' for it; the other levels keep theirs,
    against the first level present (integer-coded levels read as floats from a file)."""
    schema = load_schema(default_schema_path())
    data = simulate_cohort(300, seed=5).data
    data = data[data["pathology"] != "sarcomatoid"].copy()
    data["cc"] = data["cc"].astype(float)
    data = data[data["cc"] != 0]
    rows = contrasts(data, schema)
    path = [r for r in rows if r["feature"] == "pathology"]
    assert [(r["value"], r["reference"]) for r in path] == [("biphasic", "epithelioid")]
    cc = [r for r in rows if r["feature"] == "cc"]
    assert [(r["value"], r["reference"]) for r in cc] == [(2, 1), (3, 1)]


def test_the_reference_patient_holds_whole_numbers_a_reader_could_enter():
    """KPS in steps of 10 with an even count split between 80 and 90: the reference is one of
    them, not 85; a measurement keeps its median."""
    import pandas as pd

    from training.effects import reference_patient

    schema = load_schema(default_schema_path())
    data = simulate_cohort(200, seed=4).data
    data["kps"] = pd.Series([80.0, 90.0] * 100)
    data["age"] = pd.Series([50.0, 51.0] * 100)
    ref = reference_patient(data, schema)
    assert ref["kps"] == 80.0 and ref["age"] == 50.5
