"""The Ray executor against a real local Ray instance (`ray.init(num_cpus=2)`).

Each run is a Ray actor; its files come back through Ray into the run folder.
Skipped only when Ray is not installed (CI installs requirements-ray.txt).
"""
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from train_fixtures import digits_experiment, wait_for

from builder.store import runfolder
from builder.train import checkpoint

ray = pytest.importorskip("ray", reason="Ray is not installed: pip install -r requirements-ray.txt")

from builder.jobs.ray_executor import RayJobManager, runs_that_fit  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cluster():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, object_store_memory=200 * 2**20)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def jobs(cluster, tmp_path_factory):
    manager = RayJobManager(tmp_path_factory.mktemp("ray"), cpus=1, gpus=0, warm=0)
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
    travelled, here = checkpoint.load(folder), checkpoint.load(tmp_path / "local")  # came back with the files
    assert travelled.epoch == 2
    for a, b in zip(travelled.model + travelled.optimizer, here.model + here.optimizer, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


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


def test_a_restarted_server_resumes_a_ray_run_from_its_checkpoint_and_continue_works(cluster, tmp_path):
    """As a server killed mid-run leaves it: `running`, its server and its Ray worker gone, 2 of 4 epochs
    and their checkpoint in the run folder."""
    from builder.jobs.recovery import RESUMED_NOTE
    from builder.train.runner import run

    gone = subprocess.Popen(["true"])  # a pid that has ended
    gone.wait()
    assert run(digits_experiment(epochs=2), tmp_path / "runs" / "cut") == "completed"
    assert run(digits_experiment(epochs=4), tmp_path / "whole") == "completed"
    cut = tmp_path / "runs" / "cut"
    runfolder.write_json(cut / runfolder.EXPERIMENT, digits_experiment(epochs=4))
    runfolder.write_status(cut, status="running", epochs=4, manager_pid=gone.pid, pid=gone.pid, finished=None)
    jobs = RayJobManager(tmp_path / "runs", cpus=1, gpus=0, warm=0)
    try:
        assert jobs.recovered.wait(60) and jobs.resumed == ["cut"]
        status = jobs.wait("cut", timeout=180)
        assert status["status"] == "completed" and status["note"] == RESUMED_NOTE, status
        rows, whole = (runfolder.read_jsonl(p / runfolder.METRICS) for p in (cut, tmp_path / "whole"))
        assert [r["epoch"] for r in rows] == [1, 2, 3, 4]  # each epoch once
        np.testing.assert_allclose([r["loss"] for r in rows], [r["loss"] for r in whole], atol=1e-4)
        assert checkpoint.load(cut).epoch == 4  # the resumed actor's checkpoint came back too
        jobs.resume("cut", 1)  # Continue
        assert jobs.wait("cut", timeout=180)["status"] == "completed"
        assert [r["epoch"] for r in runfolder.read_jsonl(cut / runfolder.METRICS)] == [1, 2, 3, 4, 5]
    finally:
        jobs.shutdown()


def test_runs_queue_while_the_cluster_is_full(cluster, tmp_path):
    jobs = RayJobManager(tmp_path, cpus=2, gpus=0, warm=0)  # one run takes both CPUs
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


def test_waiting_runs_are_handed_to_ray_by_workspace_in_turn_and_stay_queued_at_shutdown(cluster, tmp_path,
                                                                                          monkeypatch):
    monkeypatch.setenv("LAYERLAB_MAX_ACTIVE_RUNS", "2")
    jobs = RayJobManager(tmp_path, cpus=2, gpus=0, warm=0)  # one run takes both CPUs
    try:
        first = jobs.submit(digits_experiment(epochs=300, batch_size=16), workspace="student-a")
        assert wait_for(lambda: first in jobs.running(), 120)
        second = jobs.submit(digits_experiment(epochs=1), workspace="student-a")
        other = jobs.submit(digits_experiment(epochs=300, batch_size=16), workspace="student-b")
        assert jobs.queued() == [other, second]  # student-a was served last: student-b goes first
        jobs.stop(first)
        assert wait_for(lambda: jobs.running() == [other], 120)
        assert jobs.status(second)["queue_position"] == 1
    finally:
        jobs.shutdown()
    assert jobs.status(other)["status"] == "stopped"
    assert runfolder.read_status(tmp_path / second)["status"] == "queued"  # the next server starts it


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


def test_the_warm_pool_fills_what_the_cluster_holds():
    assert runs_that_fit({"CPU": 2.0}, cpus=1, gpus=0) == 2
    assert runs_that_fit({"CPU": 16.0, "GPU": 2.0}, cpus=1, gpus=0.25) == 8  # the GPUs bound it
    assert runs_that_fit({"CPU": 3.0, "GPU": 4.0}, cpus=2, gpus=0.5) == 1  # the CPUs bound it
    assert runs_that_fit({"CPU": 0.0}, cpus=1, gpus=0) == 0  # a head without CPUs keeps no actor
