"""How much of the machine training takes: thread caps per worker, default number of concurrent runs."""
import pytest

from builder.jobs.local import JobManager, default_max_runs
from builder.train import devices


@pytest.mark.parametrize(("cores", "gpus", "runs"), [
    (1, 0, 16), (2, 0, 20), (16, 0, 20),           # CPU: the runs share the cores, as many as memory holds
    (2, 1, 1), (16, 1, 4), (16, 2, 8), (4, 2, 3),  # GPU: 4 runs share a GPU, one host core each
])
def test_default_concurrent_runs_follow_cores_memory_and_gpus(cores, gpus, runs, monkeypatch):
    monkeypatch.setenv("LAYERLAB_MAX_POOL_MB", "8000")
    monkeypatch.setenv("LAYERLAB_WORKER_RESERVE_MB", "400")  # room for 20 workers; 16 a core at most
    assert devices.default_max_runs(cores, gpus) == runs


@pytest.mark.parametrize(("cores", "sharers"), [(1, 1), (2, 1), (4, 1), (5, 2), (16, 7)])
def test_thread_pools_are_sized_for_two_cores_a_run_after_the_servers(cores, sharers):
    assert devices.core_sharers(cores) == sharers


def test_warm_workers_are_a_class_worth_within_the_memory_budget(monkeypatch):
    monkeypatch.setenv("LAYERLAB_MAX_POOL_MB", "8000")
    monkeypatch.setenv("LAYERLAB_WORKER_RESERVE_MB", "400")
    assert [devices.warm_workers(cores) for cores in (1, 2, 16)] == [10, 20, 20]
    monkeypatch.setenv("LAYERLAB_WARM_WORKERS", "3")
    assert devices.warm_workers(16) == 3


def test_the_server_setting_overrides_the_default(monkeypatch):
    monkeypatch.setenv("LAYERLAB_MAX_RUNS", "5")
    assert default_max_runs() == 5
    monkeypatch.setenv("LAYERLAB_MAX_RUNS", "lots")
    assert default_max_runs() == devices.default_max_runs()


@pytest.mark.parametrize(("runs", "cores", "threads", "expected"), [
    (1, 2, None, 1), (1, 16, None, 15), (3, 16, None, 5), (8, 4, None, 1), (2, 16, 4, 4),
])
def test_thread_share_leaves_the_server_a_core(runs, cores, threads, expected):
    assert devices.thread_plan(runs, threads, cores=cores).threads == expected


@pytest.mark.skipif(devices.cpu_cores() < 2, reason="pinning needs at least two cores")
def test_workers_pinned_off_the_servers_core_report_their_caps(tmp_path):
    jobs = JobManager(tmp_path / "capped", max_concurrent=1, warm=False)
    free = devices.cpu_cores() - 1
    try:
        assert jobs.wait_ready(180)
        [reported] = jobs.worker_threads()
    finally:
        jobs.shutdown()
    assert reported["cores"] == free  # the first core is left to the web server
    assert reported["threads"] == free
    assert reported["backend"] == devices.backend_name()


def test_the_thread_setting_gives_a_worker_the_whole_machine(tmp_path, monkeypatch):
    monkeypatch.setenv("LAYERLAB_TRAIN_THREADS", str(devices.cpu_cores()))
    jobs = JobManager(tmp_path / "all", max_concurrent=1, warm=False)
    try:
        assert jobs.wait_ready(180)
        [reported] = jobs.worker_threads()
    finally:
        jobs.shutdown()
    assert reported["cores"] == devices.cpu_cores() and reported["threads"] == devices.cpu_cores()


def test_an_unknown_executor_is_named_in_plain_words(tmp_path, monkeypatch):
    from builder.jobs.local import make_job_manager

    monkeypatch.setenv("LAYERLAB_EXECUTOR", "slurm")
    with pytest.raises(ValueError, match="unknown executor 'slurm': choose one of local, ray"):
        make_job_manager(tmp_path)
