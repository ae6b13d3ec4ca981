"""The worker pool: warm workers from the fork server, runs sharing the processor, the memory budget, and a
workspace that presses Train many times at once."""
import os
import threading
import time
from pathlib import Path

import pytest
from train_fixtures import digits_experiment, wait_for

from builder.jobs.local import MEMORY_FULL_NOTE, JobManager
from builder.store import runfolder
from builder.store.workspace import QuotaExceeded
from builder.train import devices

pytestmark = pytest.mark.slow
LONG = {"epochs": 300, "batch_size": 16}  # minutes of training: stopped by the test


def epochs_logged(manager, run_id) -> int:
    return len(runfolder.read_jsonl(manager.root / run_id / runfolder.METRICS))


def thread_niceness(pid: int) -> set[int]:
    """The niceness of each thread of a process (Linux keeps one per thread: /proc/<pid>/task/<tid>/stat)."""
    niceness = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            niceness.add(int((task / "stat").read_text().rpartition(")")[2].split()[16]))
        except FileNotFoundError:  # the thread ended between the listing and the read
            continue
    return niceness


@pytest.fixture(scope="module")
def pool(tmp_path_factory):
    manager = JobManager(tmp_path_factory.mktemp("pool"), max_concurrent=3)
    assert manager.wait_ready(timeout=240), "the spare worker did not start"
    yield manager
    manager.shutdown()


def test_workers_come_warm_from_the_fork_server(pool):
    reports = pool.worker_threads()
    assert reports and all(r["warm_start"] for r in reports)  # Keras was in sys.modules before the worker began
    assert {os.getpriority(os.PRIO_PROCESS, pid) for pid in pool.worker_pids()} == {devices.FIRST_EPOCH_NICE}


def test_a_second_workspace_gets_its_first_epoch_while_the_first_trains(pool):
    first = pool.submit(digits_experiment(**LONG), workspace="student-one")
    assert wait_for(lambda: epochs_logged(pool, first) >= 1, 180)
    worker = pool.status(first)["pid"]
    assert wait_for(lambda: thread_niceness(worker) == {devices.LATER_EPOCHS_NICE}, 30)  # every thread yields
    second = pool.submit(digits_experiment(epochs=2), workspace="student-two")
    try:
        assert wait_for(lambda: epochs_logged(pool, second) >= 1, 180)
        assert pool.status(first)["status"] == "running"  # not waiting for the first run to finish
        assert sorted(pool.running()) == sorted([first, second])
        assert pool.wait(second, timeout=180)["status"] == "completed"
    finally:
        pool.stop(first)
    assert pool.wait(first, timeout=60)["status"] == "stopped"


def test_a_worker_takes_one_run_then_a_fresh_one_takes_the_next(pool):
    run_id = pool.submit(digits_experiment(epochs=1), workspace="student-three")
    assert pool.wait(run_id, timeout=180)["status"] == "completed"
    pid = pool.status(run_id)["pid"]
    assert wait_for(lambda: pool.worker_pids() and pid not in pool.worker_pids(), 60)
    assert wait_for(lambda: len(pool.worker_threads()) >= pool.spare, 60)  # a spare is back


def test_a_new_spare_waits_until_the_run_that_took_the_last_one_shows_its_first_point(tmp_path, monkeypatch):
    monkeypatch.setenv("LAYERLAB_WARM_WORKERS", "1")
    manager = JobManager(tmp_path, max_concurrent=3, warm=False)
    try:
        assert manager.wait_ready(timeout=240)
        run_id = manager.submit(digits_experiment(epochs=2, batch_size=1), workspace="student-one")  # a slow epoch
        seen = []  # (workers, first epoch logged): workers counted first, so a spare seen means the point came before
        end = time.monotonic() + 150
        while epochs_logged(manager, run_id) < 1 and time.monotonic() < end:
            seen.append((len(manager.worker_pids()), epochs_logged(manager, run_id) >= 1))
            time.sleep(0.05)
        assert wait_for(lambda: len(manager.worker_pids()) == 2, 60)  # then the spare is back
        assert manager.wait(run_id, timeout=180)["status"] == "completed"
    finally:
        manager.shutdown()
    assert len(seen) > 5  # the first epoch took a while: there was a window to start a spare in
    assert all(workers == 1 or logged for workers, logged in seen)


def test_the_runs_at_once_follow_the_pool_memory_budget(monkeypatch):
    monkeypatch.setenv("LAYERLAB_MAX_POOL_MB", "8000")
    monkeypatch.setenv("LAYERLAB_WORKER_RESERVE_MB", "1000")
    assert devices.default_max_runs(cores=2, gpus=0) == 8
    monkeypatch.setenv("LAYERLAB_MAX_POOL_MB", "100000")
    assert devices.default_max_runs(cores=2, gpus=0) == 2 * devices.RUNS_PER_CORE
    monkeypatch.setenv("LAYERLAB_MAX_POOL_MB", "500")
    assert devices.default_max_runs(cores=2, gpus=0) == 1  # one run always trains


def test_the_pool_starts_no_worker_past_its_memory_budget(tmp_path, monkeypatch):
    monkeypatch.setenv("LAYERLAB_MAX_POOL_MB", "1300")
    monkeypatch.setenv("LAYERLAB_WORKER_RESERVE_MB", "600")  # room for two workers, not three
    manager = JobManager(tmp_path, max_concurrent=10, warm=False)
    seen_workers, seen_memory, done = [], [], threading.Event()

    def sample():
        while not done.is_set():
            seen_workers.append(len(manager.worker_pids()))
            seen_memory.append(manager.pool_memory_mb())
            done.wait(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    try:
        runs = [manager.submit(digits_experiment(epochs=2), workspace=f"student-{i}") for i in range(3)]
        sampler.start()
        finals = [manager.wait(run_id, timeout=300)["status"] for run_id in runs]
    finally:
        done.set()
        manager.shutdown()
    assert finals == ["completed"] * 3
    assert max(seen_workers) == 2
    assert 0 < max(seen_memory) <= 1300


def test_fifty_presses_of_train_give_one_run(tmp_path, monkeypatch):
    monkeypatch.setattr(JobManager, "_workers_wanted", lambda self: [])  # the queue and its checks, no process
    manager = JobManager(tmp_path, lazy=True)
    made, refused, go = [], [], threading.Barrier(50)

    def press():
        go.wait()
        try:
            made.append(manager.submit(digits_experiment(), workspace="eager-student"))
        except QuotaExceeded as e:
            refused.append(str(e))

    presses = [threading.Thread(target=press) for _ in range(50)]
    for thread in presses:
        thread.start()
    for thread in presses:
        thread.join()
    manager._closed = True
    assert len(made) == 1 and len(refused) == 49
    assert all("already have a run" in message for message in refused)
    assert [p.name for p in tmp_path.iterdir()] == made  # one run folder: the refused presses made none
    assert manager.queued() == made


def test_a_run_that_takes_the_pool_past_its_budget_goes_back_to_the_queue_and_goes_on(tmp_path, monkeypatch):
    monkeypatch.setenv("LAYERLAB_WARM_WORKERS", "1")
    manager = JobManager(tmp_path, max_concurrent=4, warm=False)
    try:
        first = manager.submit(digits_experiment(**LONG), workspace="student-one")
        assert wait_for(lambda: epochs_logged(manager, first) >= 1, 180)
        second = manager.submit(digits_experiment(**LONG), workspace="student-two")
        assert wait_for(lambda: epochs_logged(manager, second) >= 1, 180)
        training = sum(devices.memory_mb(manager.status(run)["pid"]) for run in (first, second))
        monkeypatch.setenv("LAYERLAB_MAX_POOL_MB", str(int(training - 50)))  # the two runs grew past it
        assert wait_for(lambda: manager.status(second)["status"] == "queued", 60)
        assert manager.status(second)["note"] == MEMORY_FULL_NOTE
        assert manager.status(first)["status"] == "running"  # the older run keeps going
        paused_at = epochs_logged(manager, second)
        manager.stop(first)
        assert wait_for(lambda: epochs_logged(manager, second) >= paused_at + 1, 180)  # it went on by itself
        manager.stop(second)
        status = manager.wait(second, timeout=60)
    finally:
        manager.shutdown()
    assert status["status"] == "stopped", status
    epochs = [row["epoch"] for row in runfolder.read_jsonl(tmp_path / second / runfolder.METRICS)]
    assert epochs == list(range(1, len(epochs) + 1))  # from its checkpoint: each epoch once, none lost
