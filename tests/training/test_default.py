"""The two-step default build of the first start (training/default.py, `training default`)."""

from __future__ import annotations

import fcntl
import json

import numpy as np
from typer.testing import CliRunner

from model.registry import Registry
from tests.conftest import promoted_copy
from training.cli import app
from training.default import (
    LOCK,
    LOG,
    PENDING,
    build_default,
    complete_default,
    pending,
    start_background,
)


def _manifest(root, vid) -> dict:
    return json.loads((root / vid / "manifest.json").read_text())


def test_cox_now_both_models_in_the_background_with_the_same_cox_model(tmp_path, small_cohort):
    root = tmp_path / "models"
    quick = build_default(root, small_cohort[0], bootstrap=2, progress=False)
    reg = Registry(root)
    assert reg.active_id == quick
    assert set(_manifest(root, quick)["models"]) == {"coxnet"}
    assert pending(root)["quick"] == quick
    # a second start with an active bundle fits nothing
    assert build_default(root, small_cohort[0], bootstrap=2, progress=False) is None

    child = start_background(root)  # the real `python -m training default --complete`
    assert child.wait(timeout=600) == 0, (root / LOG).read_text()
    full = reg.active_id
    assert full != quick
    assert "is active" in (root / LOG).read_text()
    assert pending(root) is None and start_background(root) is None
    full_manifest, quick_manifest = _manifest(root, full), _manifest(root, quick)
    assert set(full_manifest["models"]) == {"coxnet", "rsf"}
    # same data, seed and folds: the Cox model and its band ensemble are the same bytes, so a
    # patient's numbers do not change when the complete bundle takes over
    for name in ("coxnet.joblib", "coxnet_ensemble.joblib", "imputation_draws.joblib"):
        assert full_manifest["files"][name] == quick_manifest["files"][name], name
    patient = small_cohort[2].data.iloc[:5][reg.load(quick).schema.feature_names]
    np.testing.assert_array_equal(
        reg.load(quick).survival(patient, "coxnet"), reg.load(full).survival(patient, "coxnet")
    )
    # the quick bundle stays in the history: rollback returns to it
    assert reg.rollback() == quick


def test_a_bundle_promoted_meanwhile_is_never_replaced(tmp_path, small_bundle):
    # step 1 left "quick" pending; then a researcher promoted their own bundle
    root = promoted_copy(small_bundle, tmp_path / "models")
    (root / PENDING).write_text(
        json.dumps({"quick": "quick", "data": "d", "seed": 0, "bootstrap": 1})
    )
    message = complete_default(root)
    assert "not completed" in message and small_bundle.name in message
    reg = Registry(root)
    assert reg.active_id == small_bundle.name
    assert reg.ids() == [small_bundle.name]  # nothing fitted
    assert not (root / PENDING).exists()


def test_promote_only_while_the_expected_bundle_is_active(tmp_path, small_bundle):
    import pytest

    from model.registry import RegistryError

    root = promoted_copy(small_bundle, tmp_path / "models")
    reg = Registry(root)
    with pytest.raises(RegistryError, match="active bundle is now"):
        reg.promote(small_bundle.name, if_active="someone-else")
    reg.promote(small_bundle.name, if_active=small_bundle.name)  # no change, no error
    assert reg.active_id == small_bundle.name


def test_a_second_start_does_not_run_the_build_twice(tmp_path):
    root = tmp_path / "models"
    root.mkdir()
    (root / PENDING).write_text(json.dumps({"quick": "x", "data": "d", "seed": 0, "bootstrap": 1}))
    with open(root / LOCK, "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        assert "already running" in complete_default(root)
    assert pending(root) is not None  # left for the process that holds the lock


def test_cli_with_an_active_bundle_fits_nothing(tmp_path, small_bundle):
    root = promoted_copy(small_bundle, tmp_path / "models")
    before = sorted(p.name for p in root.iterdir())
    res = CliRunner().invoke(app, ["default", "--out", str(root), "--quiet"])
    assert res.exit_code == 0, res.output
    assert f"active bundle: {small_bundle.name}" in res.output
    assert sorted(p.name for p in root.iterdir()) == before


def test_cli_bad_data_names_the_problem_and_writes_no_bundle(tmp_path, small_cohort):
    bad = tmp_path / "bad.csv"
    text = small_cohort[0].read_text().splitlines()
    header = text[0].split(",")
    col = header.index("pci")
    row = text[1].split(",")
    row[col] = "85"
    bad.write_text("\n".join([text[0], ",".join(row), *text[2:]]) + "\n")
    root = tmp_path / "models"
    res = CliRunner().invoke(app, ["default", "--out", str(root), "--data", str(bad), "--quiet"])
    assert res.exit_code == 1
    assert "pci" in res.output and "39" in res.output  # field and allowed range
    assert Registry(root).active_id is None and pending(root) is None
