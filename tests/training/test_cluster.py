"""fit --cluster: the same bundle from a Dask cluster of two worker processes as from a local
run, a clear error when no scheduler answers, and a worker lost mid-run costs a retry only."""

import json
import os
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.conftest import SMALL_BUNDLE_DESIGNS
from training import cluster
from training.cli import app
from training.fit import FitOptions, fit_bundle

distributed = pytest.importorskip("distributed")

# what a run records about itself rather than about the model: when, under which name,
# by which command and how fast
RUN_RECORD = ("created", "version_id", "timings_seconds", "command")


@pytest.fixture(scope="module")
def local_cluster():
    with distributed.LocalCluster(
        n_workers=2, processes=True, threads_per_worker=1, dashboard_address=":0"
    ) as lc:
        yield lc


def _run_free(doc: dict) -> dict:
    return {k: v for k, v in doc.items() if k not in RUN_RECORD}


def _task_names(lc) -> set[str]:
    """The functions the scheduler ran (joblib names a batch ``batch_of_<function>_<n>_calls``)."""
    return {
        p.removeprefix("batch_of_").rsplit("_", 2)[0] if p.startswith("batch_of_") else p
        for p in lc.scheduler.task_prefixes
    }


def test_cluster_bundle_equals_local_bundle(
    local_cluster, small_bundle, small_cohort, schema, tmp_path
):
    # small_bundle: the same cohort and seed, fitted in one local process (n_jobs=1)
    path = fit_bundle(
        small_cohort[0],
        schema,
        tmp_path / "models",
        FitOptions(
            bootstrap=4,
            progress=False,
            cluster=local_cluster.scheduler_address,
            cox_designs=SMALL_BUNDLE_DESIGNS,
        ),
    )
    # the imputers and penalty paths of the folds, their Uno C, the bootstrap replicates and
    # the band calibration's refits ran on the workers, and nothing else did (a forest's
    # trees are built inside its task, not sent back as tasks of their own)
    ran = _task_names(local_cluster) - {"opened"}  # the shared data, sent once (_opened)
    assert ran == {
        "_imputed",
        "_cv_path",
        "concordance_ipcw_each",
        "_forest_fold",
        "_replicate",
        "_refit",
    }
    local = json.loads((small_bundle / "manifest.json").read_text())
    remote = json.loads((path / "manifest.json").read_text())
    models = [f for f in local["files"] if f.endswith(".joblib")]
    assert {"coxnet.joblib", "rsf.joblib", "coxnet_ensemble.joblib"} <= set(models)
    for fname in models:  # every fitted model and artifact, byte for byte
        assert (path / fname).read_bytes() == (small_bundle / fname).read_bytes(), fname
    # the manifest differs only in its run record and the reports' hashes (they print the
    # version id and date), the reports in nothing else
    reports = ("report.json", "report.html")
    for doc in (local, remote):
        for fname in reports:
            doc["files"].pop(fname)
    assert _run_free(remote) == _run_free(local)
    assert _run_free(json.loads((path / "report.json").read_text())) == _run_free(
        json.loads((small_bundle / "report.json").read_text())
    )
    html = (path / "report.html").read_text()
    for key in ("version_id", "created"):
        html = html.replace(remote[key], local[key])
    assert _plot_ids_out(html) == _plot_ids_out((small_bundle / "report.html").read_text())


def _plot_ids_out(html: str) -> str:
    """The page without the random ids plotly gives its figures' elements."""
    return re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "id", html)


def test_unreachable_scheduler_is_named_with_how_to_start_one(small_cohort, tmp_path, monkeypatch):
    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT_S", 1)
    address = "tcp://127.0.0.1:9"  # the discard port: nothing listens there
    res = CliRunner().invoke(
        app,
        ["fit", "--data", str(small_cohort[0]), "--out", str(tmp_path / "m"), "--quiet"]
        + ["--cluster", address],
    )
    assert res.exit_code != 0
    assert address in res.output and "dask scheduler" in res.output and "dask worker" in res.output
    assert not (tmp_path / "m").exists() or not any(p.is_dir() for p in (tmp_path / "m").iterdir())


class _KillOnce(distributed.WorkerPlugin):
    """Ends the worker's process when it starts its first bootstrap replicate (once per run,
    marked by a file), as a machine lost mid-run would."""

    def __init__(self, mark: str):
        self.mark = mark

    def setup(self, worker):
        self.worker = worker

    def transition(self, key, start, finish, **kwargs):
        if finish == "executing" and "_replicate" in str(key) and not os.path.exists(self.mark):
            Path(self.mark).touch()
            os._exit(1)


def test_lost_worker_costs_a_retry_not_the_bundle(small_bundle, small_cohort, schema, tmp_path):
    mark = tmp_path / "killed"
    with (
        distributed.LocalCluster(
            n_workers=2, processes=True, threads_per_worker=1, dashboard_address=":0"
        ) as lc,
        distributed.Client(lc) as client,
    ):
        client.register_plugin(_KillOnce(str(mark)))
        path = fit_bundle(
            small_cohort[0],
            schema,
            tmp_path / "models",
            FitOptions(
                models=("coxnet",),
                bootstrap=4,
                progress=False,
                cluster=lc.scheduler_address,
                cox_designs=SMALL_BUNDLE_DESIGNS,
            ),
        )
    assert mark.exists()  # a worker did die during the bootstrap
    manifest = json.loads((path / "manifest.json").read_text())
    assert manifest["metrics"]["coxnet"]["n_boot"] == 4
    # the replicate lost with its worker was run again, to the same result
    for fname in ("coxnet.joblib", "coxnet_ensemble.joblib"):
        assert (path / fname).read_bytes() == (small_bundle / fname).read_bytes(), fname
    # one complete bundle in the registry, no temporary folder left
    assert [p.name for p in (tmp_path / "models").iterdir() if p.is_dir()] == [path.name]
