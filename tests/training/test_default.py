"""The two-step default build of the first start (training/default.py, `training default`)."""

from __future__ import annotations

import fcntl
import json
import shutil
import subprocess
import sys

import numpy as np
from typer.testing import CliRunner

from model.registry import Registry
from reporting.wording import BAND_LIMITATION
from tests.conftest import ROOT, promoted_copy
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


def test_cox_now_both_models_in_the_background_with_the_same_cox_model(tmp_path):
    from training.simulate import simulate_cohort, write_cohort

    # a small cohort: the background step tunes and fits the forest as well
    root, data, cohort = tmp_path / "models", tmp_path / "cohort.csv", simulate_cohort(150, seed=5)
    write_cohort(cohort, data)
    quick = build_default(root, data, bootstrap=2, progress=False)
    reg = Registry(root)
    assert reg.active_id == quick
    assert set(_manifest(root, quick)["models"]) == {"coxnet"}
    assert pending(root)["quick"] == quick
    # a second start with an active bundle fits nothing
    assert build_default(root, data, bootstrap=2, progress=False) is None

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
    patient = cohort.data.iloc[:5][reg.load(quick).schema.feature_names]
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


def _pending_record(**fields) -> str:
    base = {"token": "t", "quick": "q", "data": "d.csv", "seed": 0, "bootstrap": 1}
    return json.dumps({**base, **fields})


def test_a_failed_step_2_is_recorded_shown_and_tried_at_most_three_times(tmp_path, small_bundle):
    import pytest

    from training.default import MAX_ATTEMPTS, retry_allowed

    root = promoted_copy(small_bundle, tmp_path / "models")
    # a moved clone or a deleted --data file: the recorded training data is gone
    (root / PENDING).write_text(
        _pending_record(quick=small_bundle.name, data=str(tmp_path / "gone.csv"))
    )
    for attempt in range(1, MAX_ATTEMPTS + 1):
        assert retry_allowed(pending(root))
        with pytest.raises(FileNotFoundError):
            complete_default(root)
        record = pending(root)
        assert record["attempts"] == attempt and "gone.csv" in record["last_error"]
    assert not retry_allowed(pending(root)) and start_background(root) is None
    res = CliRunner().invoke(app, ["default", "--out", str(root), "--quiet"])
    assert res.exit_code == 0, res.output
    assert "failed 3 time(s)" in res.output and "gone.csv" in res.output
    assert "Not trying again" in res.output and "--complete" in res.output
    assert Registry(root).active_id == small_bundle.name  # nothing else changed


def test_step_1_stopped_before_recording_its_bundle_is_adopted(tmp_path, small_bundle):
    import pytest

    root = tmp_path / "models"
    root.mkdir()
    quick = root / "quick"
    shutil.copytree(small_bundle, quick)
    m = json.loads((quick / "manifest.json").read_text())
    m.update(version_id="quick", command="python -m training default --data d.csv --seed 0")
    m["models"] = {"coxnet": m["models"]["coxnet"]}
    (quick / "manifest.json").write_text(json.dumps(m))
    reg = Registry(root)
    reg.register(quick)
    reg.promote("quick")
    (root / PENDING).write_text(_pending_record(quick=None, data=str(tmp_path / "gone.csv")))
    with pytest.raises(FileNotFoundError):  # it goes on to step 2 (here without data)
        complete_default(root)
    assert pending(root)["quick"] == "quick"


def test_an_active_bundle_that_cannot_be_served_counts_as_none(
    tmp_path, small_bundle, small_cohort
):
    from training.default import active_problem

    root = promoted_copy(small_bundle, tmp_path / "models")
    model_file = root / small_bundle.name / "coxnet.joblib"
    blob = bytearray(model_file.read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    model_file.write_bytes(bytes(blob))
    assert small_bundle.name in active_problem(root)
    vid = build_default(root, small_cohort[0], bootstrap=1, progress=False)
    reg = Registry(root)
    assert reg.active_id == vid != small_bundle.name
    assert small_bundle.name in reg.ids()  # the refused bundle stays in the registry
    assert pending(root)["quick"] == vid
    # one refit: no band factor was estimated, so the report does not claim the band's limits
    report = json.loads((root / vid / "report.json").read_text())
    assert "coxnet" in report["clinical_models"] and BAND_LIMITATION not in report["limitations"]


def test_registering_a_registered_bundle_again_is_refused(tmp_path, small_bundle):
    root = promoted_copy(small_bundle, tmp_path / "models")
    res = CliRunner().invoke(app, ["models", "register", small_bundle.name, "--out", str(root)])
    assert res.exit_code == 1 and "already registered" in res.output


def test_the_quick_look_of_start_sh(tmp_path, small_bundle):
    """start.sh skips the training command line only when there is nothing to build or say."""
    from model.default_build import needs_work

    assert needs_work(tmp_path / "empty")  # no registry at all
    root = promoted_copy(small_bundle, tmp_path / "models")
    assert not needs_work(root)
    # as start.sh runs it, in a fresh interpreter: a verified bundle without importing
    # scikit-learn or pandas (their import was most of a later start's wait)
    look = (
        "import sys; from model.default_build import needs_work; "
        f"print(needs_work({str(root)!r}), 'sklearn' in sys.modules, 'pandas' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", look], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == ["False", "False", "False"]
    (root / PENDING).write_text(_pending_record(quick=small_bundle.name))
    assert needs_work(root)  # a build to start again, or its failure to report
    (root / PENDING).unlink()
    (root / small_bundle.name / "report.json").write_text("{}")  # altered after registration
    assert needs_work(root)
