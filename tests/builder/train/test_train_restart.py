"""A server that dies (kill -9) leaves no worker training on, and the next server finishes its runs."""
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from train_fixtures import digits_experiment, wait_for

from builder.jobs.local import JobManager
from builder.jobs.recovery import RESUMED_NOTE, recover
from builder.store import runfolder
from builder.train import checkpoint

ROOT = Path(__file__).resolve().parents[3]

SERVER = textwrap.dedent("""
    import json, sys, time
    from builder.jobs.local import JobManager
    manager = JobManager(sys.argv[1], max_concurrent=1, warm=False)
    first = manager.submit(json.loads(sys.argv[2]))
    second = manager.submit(json.loads(sys.argv[3]))
    print(json.dumps([first, second]), flush=True)
    time.sleep(600)
""")


def alive(pid):
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not stat.exists() or stat.read_text().rpartition(")")[2].split()[0] != "Z"


@pytest.mark.slow
def test_a_killed_server_leaves_no_worker_and_the_next_one_finishes_its_runs(tmp_path):
    runs = tmp_path / "runs"
    long_run = digits_experiment(epochs=40, batch_size=16)
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(runs), json.dumps(long_run),
                               json.dumps(digits_experiment(epochs=2))],
                              cwd=ROOT, stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        first, second = json.loads(server.stdout.readline())
        metrics = runs / first / runfolder.METRICS
        assert wait_for(lambda: len(runfolder.read_jsonl(metrics)) >= 2, 240), "the run did not train"
        worker = runfolder.read_status(runs / first)["pid"]
        server.send_signal(signal.SIGKILL)  # the server process only: its worker must notice by itself
        server.wait(10)
        assert wait_for(lambda: not alive(worker), 15), "the worker trained on after its server died"
    finally:
        server.kill()
    status = runfolder.read_status(runs / first)
    assert status["status"] == "interrupted" and status["resume_on_restart"] is True, status
    done = checkpoint.load(runs / first).epoch
    assert done == len(runfolder.read_jsonl(metrics)) < 40
    assert runfolder.read_status(runs / second)["status"] == "queued"

    manager = JobManager(runs, max_concurrent=1, warm=False)  # the next server
    try:
        assert manager.recovered.wait(60)
        with manager._lock:  # one look at the queue: the watcher may hand the first run to the worker meanwhile
            order = manager.running() + manager.queued()
        assert manager.resumed == [first] and order == [first, second]  # the old order
        assert manager.status(first)["note"] == RESUMED_NOTE
        assert manager.wait(first, timeout=240)["status"] == "completed"
        assert manager.wait(second, timeout=120)["status"] == "completed"
    finally:
        manager.shutdown()
    assert [row["epoch"] for row in runfolder.read_jsonl(metrics)] == list(range(1, 41))  # each epoch once
    final = runfolder.read_status(runs / first)
    assert final["epochs_done"] == 40 and final["note"] == RESUMED_NOTE and final["final"]["test_accuracy"] > 0.9


def fake_run(root, name, **status):
    (root / name).mkdir()
    runfolder.write_json(root / name / runfolder.EXPERIMENT, digits_experiment())
    runfolder.write_status(root / name, **status)


def test_restart_reaps_a_dead_servers_live_worker_and_sets_its_run_truthfully(tmp_path):
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_server = int(gone.stdout)
    # a worker that would never stop by itself (its argv marks it as a multiprocessing worker)
    orphan = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)", "--multiprocessing-fork"])
    try:
        fake_run(tmp_path, "orphaned", status="running", pid=orphan.pid, manager_pid=dead_server, created=1.0)
        runfolder.append_jsonl(tmp_path / "orphaned" / runfolder.METRICS, {"epoch": 1, "loss": 1.0})
        queued_again, interrupted = recover(tmp_path, grace=0.5)
        assert orphan.wait(10) == -signal.SIGKILL
    finally:
        orphan.kill()
    assert queued_again == [] and interrupted == ["orphaned"]
    status = runfolder.read_status(tmp_path / "orphaned")
    assert status["status"] == "interrupted" and "no checkpoint" in status["error"]


def test_recovery_waits_for_a_dead_servers_worker_on_the_watcher_thread_not_in_the_constructor(tmp_path):
    gone = subprocess.Popen(["true"])  # a server that has ended
    gone.wait()
    orphan = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)", "--multiprocessing-fork"])
    try:
        fake_run(tmp_path, "orphaned", status="running", pid=orphan.pid, manager_pid=gone.pid, created=1.0)
        manager = JobManager(tmp_path, lazy=True)
        try:
            assert not manager.recovered.is_set()  # the orphan has ORPHAN_GRACE_S to stop: the page is served
            assert manager.status("orphaned")["status"] == "running"
            assert manager.recovered.wait(60) and manager.interrupted == []
            assert orphan.wait(10) == -signal.SIGKILL
            assert manager.status("orphaned")["note"] == RESUMED_NOTE  # cut before epoch 1: it starts again
        finally:
            manager.shutdown()
    finally:
        orphan.kill()


def test_restart_queues_runs_again_oldest_first_and_leaves_live_ones_alone(tmp_path):
    fake_run(tmp_path, "b-queued-later", status="queued", created=20.0)
    fake_run(tmp_path, "a-queued-first", status="queued", created=10.0)
    fake_run(tmp_path, "cut-before-epoch-1", status="running", pid=2**22 + 12345, created=5.0)
    fake_run(tmp_path, "cli-run", status="running", pid=os.getpid(), created=1.0)  # no manager: a live CLI run
    fake_run(tmp_path, "done", status="completed", created=2.0)
    fake_run(tmp_path, "damaged", status="running", pid=2**22 + 12345, created=3.0)
    runfolder.append_jsonl(tmp_path / "damaged" / runfolder.METRICS, {"epoch": 1, "loss": 1.0})
    checkpoint.path(tmp_path / "damaged").write_bytes(b"PK\x03\x04 cut short")
    queued_again, interrupted = recover(tmp_path, grace=0.5)
    assert queued_again == [("cut-before-epoch-1", None), ("a-queued-first", None), ("b-queued-later", None)]
    assert interrupted == ["damaged"]
    assert "damaged or cut short" in runfolder.read_status(tmp_path / "damaged")["error"]
    assert runfolder.read_status(tmp_path / "cli-run")["status"] == "running"
    assert runfolder.read_status(tmp_path / "done")["status"] == "completed"
