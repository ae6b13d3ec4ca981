"""The job manager with one real warm worker process (spawned once for the whole module)."""
import os
import signal

import pytest
from train_fixtures import digits_experiment, wait_for

from builder.jobs.local import JobManager
from builder.jobs.recovery import recover
from builder.model.spec import SpecError
from builder.store import runfolder

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def jobs(tmp_path_factory):
    manager = JobManager(tmp_path_factory.mktemp("jobs"), max_concurrent=1)
    assert manager.wait_ready(timeout=180), "the warm worker did not start"
    yield manager
    manager.shutdown()


def test_a_submitted_run_completes_in_the_worker_process(jobs):
    run_id = jobs.submit(digits_experiment(epochs=2))
    status = jobs.wait(run_id, timeout=120)
    assert status["status"] == "completed", status
    assert status["pid"] != os.getpid()  # trained in the worker, not here
    assert len(runfolder.read_jsonl(jobs.root / run_id / "metrics.jsonl")) == 2
    assert (jobs.root / run_id / "model.keras").is_file()


def test_bad_experiment_is_rejected_before_any_process_starts(jobs):
    before = set(os.listdir(jobs.root))
    with pytest.raises(SpecError) as err:
        jobs.submit(digits_experiment(optimizer="nadam", learning_rate=-1))
    assert any("unknown optimizer 'nadam'" in p for p in err.value.problems)
    assert any("learning rate must be a positive number" in p for p in err.value.problems)
    assert set(os.listdir(jobs.root)) == before


def test_a_killed_worker_leaves_failed_with_its_metrics_and_is_replaced(jobs):
    run_id = jobs.submit(digits_experiment(epochs=300, batch_size=16))
    metrics = jobs.root / run_id / "metrics.jsonl"
    assert wait_for(lambda: len(runfolder.read_jsonl(metrics)) >= 1)
    pid = jobs.status(run_id)["pid"]
    os.kill(pid, signal.SIGKILL)
    status = jobs.wait(run_id, timeout=30)
    assert status["status"] == "failed"
    assert "killed" in status["error"] and "memory" in status["error"]
    assert len(runfolder.read_jsonl(metrics)) >= 1  # what was written before the kill is still there
    assert wait_for(lambda: jobs.worker_pids() and pid not in jobs.worker_pids(), 30)


def test_a_run_over_the_workers_memory_cap_ends_failed_with_the_reason(tmp_path, monkeypatch):
    monkeypatch.setenv("LAYERLAB_MAX_WORKER_MB", "1000")  # Keras and TensorFlow take ~600 MB of it
    manager = JobManager(tmp_path, max_concurrent=1, warm=False)
    try:
        assert manager.wait_ready(timeout=180)
        [pid] = manager.worker_pids()
        limit = next(line for line in open(f"/proc/{pid}/limits") if line.startswith("Max data size"))
        assert limit.split()[3] == str(1000 << 20), limit  # the soft limit, in bytes
        exp = digits_experiment(epochs=1, batch_size=1024)  # within the 1,078 training digits
        exp["model"]["nodes"][2]["params"]["units"] = 65_536
        status = manager.wait(manager.submit(exp), timeout=180)  # 256 MB a copy of the hidden layer's output
    finally:
        manager.shutdown()
    assert status["status"] == "failed" and "memory" in status["error"], status


def test_stop_mid_run_keeps_the_model_so_far(jobs):
    run_id = jobs.submit(digits_experiment(epochs=300, batch_size=16))
    metrics = jobs.root / run_id / "metrics.jsonl"
    assert wait_for(lambda: len(runfolder.read_jsonl(metrics)) >= 1, 180)
    assert jobs.stop(run_id)
    status = jobs.wait(run_id, timeout=60)
    assert status["status"] == "stopped" and status["epochs_done"] < 300
    assert (jobs.root / run_id / "model.keras").is_file()


def test_queued_run_can_be_stopped_before_it_starts(jobs):
    first = jobs.submit(digits_experiment(epochs=300, batch_size=16))
    assert wait_for(lambda: jobs.running() == [first], 60)  # a fresh worker took it (the last one has left)
    second = jobs.submit(digits_experiment(epochs=1))
    assert jobs.status(second)["status"] == "queued" and jobs.status(second)["queue_position"] == 1
    assert jobs.stop(second)
    assert jobs.status(second)["status"] == "stopped"
    jobs.stop(first)
    assert jobs.wait(first, timeout=60)["status"] in ("stopped", "completed")


def test_restart_marks_a_run_without_a_usable_checkpoint_interrupted(tmp_path):
    for name, state in (("was-running", "running"), ("done", "completed")):
        (tmp_path / name).mkdir()
        runfolder.write_json(tmp_path / name / "experiment.json", digits_experiment())
        runfolder.write_status(tmp_path / name, status=state, pid=2**22 + 12345)  # no such process
    runfolder.append_jsonl(tmp_path / "was-running" / "metrics.jsonl", {"epoch": 1, "loss": 1.0})
    manager = JobManager(tmp_path, lazy=True)  # lazy, and nothing to queue again: no worker process for this test
    try:
        assert manager.recovered.wait(30) and manager.interrupted == ["was-running"]
        assert runfolder.read_status(tmp_path / "was-running")["status"] == "interrupted"
        assert "no checkpoint" in runfolder.read_status(tmp_path / "was-running")["error"]
        assert runfolder.read_status(tmp_path / "done")["status"] == "completed"
        assert runfolder.read_jsonl(tmp_path / "was-running" / "metrics.jsonl") == [{"epoch": 1, "loss": 1.0}]
        assert manager.worker_pids() == []
    finally:
        manager.shutdown()
    assert recover(tmp_path) == ([], [])  # nothing left to mark
