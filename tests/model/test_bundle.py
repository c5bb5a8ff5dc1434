"""Bundles are verified before anything is unpickled, and refused with a clear message."""

import json
import shutil

import joblib
import numpy as np
import pytest

import model.bundle as bundle_mod
from model.bundle import BundleError, load_bundle, verify_bundle
from model.validation import validate_dataset


@pytest.fixture
def copy(small_bundle, tmp_path):
    dest = tmp_path / small_bundle.name
    shutil.copytree(small_bundle, dest)
    return dest


@pytest.fixture
def no_unpickling(monkeypatch):
    def refuse(*a, **k):
        raise AssertionError("joblib.load was called on a bundle that should have been refused")

    monkeypatch.setattr(joblib, "load", refuse)


def test_layout_and_manifest(small_bundle):
    names = {p.name for p in small_bundle.iterdir()}
    assert names == {
        "manifest.json",
        "coxnet.joblib",
        "rsf.joblib",
        "report.html",
        "report.json",
        "coxnet_ensemble.joblib",
        "imputation_draws.joblib",
        "operative_outcomes.joblib",
    }
    m = json.loads((small_bundle / "manifest.json").read_text())
    for key in (
        "version_id",
        "created",
        "schema",
        "training_data",
        "libraries",
        "metrics",
        "files",
        "grid_months",
        "default_model",
        "models",
    ):
        assert key in m
    assert m["training_data"]["rows"] == 400 and len(m["training_data"]["sha256"]) == 64
    assert set(m["files"]) == names - {"manifest.json"}
    assert m["default_model"] in ("coxnet", "rsf")
    assert m["artifacts"] == {
        "coxnet_ensemble": "coxnet_ensemble.joblib",
        "imputation_draws": "imputation_draws.joblib",
        "operative_outcomes": "operative_outcomes.joblib",
    }


def test_loads_and_predicts(small_bundle, small_cohort, schema):
    b = load_bundle(small_bundle)
    assert b.models["rsf"][-1].n_jobs == 1  # fast single predictions
    X = validate_dataset(small_cohort[0], schema).data[schema.feature_names].iloc[:5]
    for name in ("coxnet", "rsf"):
        s = b.survival(X, name)
        assert s.shape == (5, len(b.grid)) and (np.diff(s, axis=1) <= 1e-12).all()


def test_flipped_byte_is_refused_before_unpickling(copy, no_unpickling):
    target = copy / "coxnet.joblib"
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0xFF
    target.write_bytes(bytes(data))
    with pytest.raises(BundleError, match="coxnet.joblib does not match its recorded SHA-256"):
        load_bundle(copy)


def test_altered_artifact_is_refused(copy, no_unpickling):
    (copy / "coxnet_ensemble.joblib").write_bytes(b"\x80\x04K\x01.")
    with pytest.raises(BundleError, match="coxnet_ensemble.joblib does not match"):
        load_bundle(copy)


def test_swapped_file_is_refused(copy, no_unpickling):
    (copy / "rsf.joblib").write_bytes((copy / "coxnet.joblib").read_bytes())
    with pytest.raises(BundleError, match="rsf.joblib does not match"):
        load_bundle(copy)


def test_foreign_pickle_dropped_in_is_refused(copy, no_unpickling):
    (copy / "extra.pkl").write_bytes(b"\x80\x04K\x01.")
    with pytest.raises(BundleError, match="unlisted files"):
        load_bundle(copy)


def test_other_library_versions_are_refused(copy, no_unpickling):
    m = json.loads((copy / "manifest.json").read_text())
    m["libraries"]["scikit-learn"] = "0.0.1"
    (copy / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(BundleError, match=r"scikit-learn 0.0.1 \(installed"):
        load_bundle(copy)


def test_missing_or_broken_manifest(copy, tmp_path):
    with pytest.raises(BundleError, match="no bundle"):
        verify_bundle(tmp_path / "nothing")
    (copy / "manifest.json").write_text("{broken")
    with pytest.raises(BundleError, match="not valid JSON"):
        verify_bundle(copy)


def test_write_is_atomic_when_it_fails(tmp_path, monkeypatch, small_bundle):
    loaded = load_bundle(small_bundle)
    pipe = loaded.models["coxnet"]

    def boom(path):
        raise OSError("disk full")

    monkeypatch.setattr(bundle_mod, "_fsync", boom)
    with pytest.raises(OSError, match="disk full"):
        bundle_mod.write_bundle(tmp_path, "v1", {"coxnet": pipe}, loaded.manifest)
    assert list(tmp_path.iterdir()) == []  # neither the bundle nor its temporary folder
