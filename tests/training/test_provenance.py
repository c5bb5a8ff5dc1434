"""Simulated data declare themselves; training records the declaration, not a folder name."""

import json
import shutil

from model.bundle import load_bundle
from training.provenance import declared_synthetic, provenance_path, read_provenance


def test_the_simulator_declares_its_cohorts(small_cohort, small_bundle):
    data = small_cohort[0]
    doc = read_provenance(data)
    assert doc["synthetic"] is True and doc["rows"] == 400
    # the bundle trained on it (in a temporary folder, not one called "synthetic") says so
    assert load_bundle(small_bundle).manifest.synthetic is True


def test_shipped_cohorts_declare_themselves(cohort_2000_path, cohort_110_path):
    for path in (cohort_2000_path, cohort_110_path):
        doc = json.loads(provenance_path(path).read_text())
        assert doc["synthetic"] is True and doc["world"] == "milan"


def test_no_declaration_means_real_data_whatever_the_folder(small_cohort, tmp_path):
    folder = tmp_path / "synthetic"
    folder.mkdir()
    shutil.copy(small_cohort[0], folder / "registry.csv")
    assert not declared_synthetic(folder / "registry.csv")
    provenance_path(folder / "registry.csv").write_text("{not json")
    assert not declared_synthetic(folder / "registry.csv")
