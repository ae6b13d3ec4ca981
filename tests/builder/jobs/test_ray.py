"""The Ray executor against a real local Ray instance (`ray.init(num_cpus=2)`).

Each run is a Ray actor; its files come back through Ray into the run folder.
Skipped only when Ray is not installed (CI installs requirements-ray.txt).
"""
import json
import os
import signal
import sys
import time

import numpy as np
import pytest
from train_fixtures import digits_experiment, wait_for

from builder.store import runfolder

ray = pytest.importorskip("ray", reason="Ray is not installed: pip install -r requirements-ray.txt")

from builder.jobs.ray_executor import RayJobManager  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cluster():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, object_store_memory=200 * 2**20)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def jobs(cluster, tmp_path_factory):
    manager = RayJobManager(tmp_path_factory.mktemp("ray"), cpus=1, gpus=0)
    yield manager
    manager.shutdown()


def test_a_ray_run_completes_with_the_metrics_of_a_local_run(jobs, tmp_path):
    from builder.train.runner import run

    experiment = digits_experiment(epochs=2)
    run_id = jobs.submit(experiment)
    status = jobs.wait(run_id, timeout=180)
    assert status["status"] == "completed", status
    assert status["pid"] != os.getpid()  # trained in a Ray worker
    folder = jobs.root / run_id
    for name in ("model.keras", "evaluation.json", "train.log", "live/probes.npz", "live/saliency_e002.npy"):
        assert (folder / name).is_file(), name  # streamed back through Ray, no shared folder needed
    assert run(experiment, tmp_path / "local") == "completed"
    on_ray = runfolder.read_jsonl(folder / "metrics.jsonl")
    local = runfolder.read_jsonl(tmp_path / "local" / "metrics.jsonl")
    for key in ("loss", "val_loss", "accuracy"):
        np.testing.assert_allclose([r[key] for r in on_ray], [r[key] for r in local], rtol=1e-4)


def test_stop_ends_a_ray_run_with_its_model(jobs):
    run_id = jobs.submit(digits_experiment(epochs=300, batch_size=16))
    metrics = jobs.root / run_id / "metrics.jsonl"
    assert wait_for(lambda: len(runfolder.read_jsonl(metrics)) >= 1, 180)
    assert jobs.stop(run_id)
    status = jobs.wait(run_id, timeout=60)
    assert status["status"] == "stopped" and status["epochs_done"] < 300
    assert (jobs.root / run_id / "model.keras").is_file()


def test_a_killed_ray_worker_leaves_the_run_failed_with_a_reason(jobs):
    run_id = jobs.submit(digits_experiment(epochs=300, batch_size=16))
    metrics = jobs.root / run_id / "metrics.jsonl"
    assert wait_for(lambda: len(runfolder.read_jsonl(metrics)) >= 1, 180)
    os.kill(jobs.status(run_id)["pid"], signal.SIGKILL)
    status = jobs.wait(run_id, timeout=60)
    assert status["status"] == "failed"
    assert "Ray worker" in status["error"] and "metrics so far are kept" in status["error"]
    assert len(runfolder.read_jsonl(metrics)) >= 1


def test_runs_queue_while_the_cluster_is_full(cluster, tmp_path):
    jobs = RayJobManager(tmp_path, cpus=2, gpus=0)  # one run takes both CPUs
    try:
        first = jobs.submit(digits_experiment(epochs=300, batch_size=16))
        assert wait_for(lambda: first in jobs.running(), 120)
        second = jobs.submit(digits_experiment(epochs=1))
        time.sleep(1.0)
        assert jobs.queued() == [second]
        assert jobs.status(second)["status"] == "queued" and jobs.status(second)["queue_position"] == 1
        jobs.stop(first)
        assert jobs.wait(second, timeout=180)["status"] == "completed"
        assert jobs.status(first)["status"] == "stopped"
    finally:
        jobs.shutdown()


def test_cli_trains_on_ray_like_the_local_trainer(cluster, tmp_path, capsys):
    from builder.cli import main

    path = tmp_path / "experiment.json"
    path.write_text(json.dumps(digits_experiment(epochs=1)))
    assert main(["train", str(path), "--out", str(tmp_path / "run"), "--executor", "ray"]) == 0
    out = capsys.readouterr().out
    assert "epoch 1/1" in out and out.strip().endswith("completed")
    assert (tmp_path / "run" / "model.keras").is_file()


def test_missing_ray_says_how_to_install_it(monkeypatch):
    from builder.jobs.ray_executor import RayUnavailable, connect

    monkeypatch.setitem(sys.modules, "ray", None)  # as if it were not installed
    with pytest.raises(RayUnavailable, match="pip install -r requirements-ray.txt"):
        connect()
