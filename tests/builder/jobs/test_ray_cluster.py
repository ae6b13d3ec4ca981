"""The Ray executor against a multi-node cluster: Ray's own `ray.cluster_utils.Cluster`, in this process.

A head with no CPUs and two worker nodes with one CPU each (three raylets on this machine, as three
machines would have), so a run can only train on a worker node and its files can only reach the run folder
here through Ray. The manager keeps both workers' actors warm: later runs reuse them.
"""
import zipfile

import pytest
from train_fixtures import digits_experiment, wait_for

from builder.store import runfolder

ray = pytest.importorskip("ray", reason="Ray is not installed: pip install -r requirements-ray.txt")
psutil = pytest.importorskip("psutil", reason="psutil is not installed: pip install -r requirements-dev.txt")

from ray.cluster_utils import Cluster  # noqa: E402

from builder.jobs.ray_executor import RayJobManager  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.ray_cluster]  # deselected by default (pyproject.toml): 1–2.5 min
EPOCHS = 2


@pytest.fixture(scope="module")
def cluster():
    nodes = Cluster(initialize_head=True, head_node_args={"num_cpus": 0, "object_store_memory": 100 * 2**20})
    workers = [nodes.add_node(num_cpus=1, object_store_memory=100 * 2**20) for _ in range(2)]
    ray.init(address=nodes.address, log_to_driver=False)
    nodes.wait_for_nodes()
    yield nodes.head_node, workers
    ray.shutdown()
    nodes.shutdown()


@pytest.fixture(scope="module")
def jobs(cluster, tmp_path_factory):
    manager = RayJobManager(tmp_path_factory.mktemp("cluster"), cpus=1, gpus=0)  # warm: as many as fit
    assert manager.warm == 2
    yield manager
    manager.shutdown()


def raylet_pid(node) -> int:
    return node.all_processes[ray._private.ray_constants.PROCESS_TYPE_RAYLET][0].process.pid


def trained_by(status: dict) -> int:
    """The raylet (one per node) that started the Ray worker process which trained the run."""
    return psutil.Process(status["pid"]).ppid()


def assert_files_came_back(folder, epochs: int = EPOCHS) -> None:
    rows = runfolder.read_jsonl(folder / runfolder.METRICS)
    assert [r["epoch"] for r in rows] == list(range(1, epochs + 1))  # its own curve, once: no earlier run's rows
    assert all(0 < r["loss"] < 10 and 0 <= r["val_accuracy"] <= 1 for r in rows)
    with zipfile.ZipFile(folder / "model.keras") as model:  # whole, as written on the worker node
        assert model.testzip() is None and "config.json" in model.namelist()
    assert (folder / "evaluation.json").is_file() and (folder / "live" / "probes.npz").is_file()


def test_two_runs_train_on_the_two_worker_nodes_and_their_files_come_back(cluster, jobs):
    head, workers = cluster
    assert jobs.wait_ready(timeout=240)
    run_ids = [jobs.submit(digits_experiment(epochs=EPOCHS, seed=seed)) for seed in (1, 2)]
    statuses = [jobs.wait(run_id, timeout=240) for run_id in run_ids]
    assert [s["status"] for s in statuses] == ["completed", "completed"], statuses
    assert {trained_by(s) for s in statuses} == {raylet_pid(w) for w in workers}  # one run on each worker node
    assert raylet_pid(head) not in {trained_by(s) for s in statuses}
    for run_id in run_ids:
        assert_files_came_back(jobs.root / run_id)


def test_later_runs_reuse_the_warm_actors_and_a_third_waits_for_room(jobs):
    earlier = {runfolder.read_status(jobs.root / r)["pid"] for r in jobs.root.iterdir() if r.is_dir()}
    run_ids = [jobs.submit(digits_experiment(epochs=EPOCHS, seed=seed)) for seed in (3, 4, 5)]
    statuses = [jobs.wait(run_id, timeout=240) for run_id in run_ids]
    assert [s["status"] for s in statuses] == ["completed"] * 3, statuses
    assert {s["pid"] for s in statuses[:2]} == earlier  # the two warm actors, cleaned between runs
    for run_id in run_ids:
        assert_files_came_back(jobs.root / run_id)


def test_a_warm_actor_whose_run_was_stopped_trains_the_next_run_whole(jobs):
    long_run = jobs.submit(digits_experiment(epochs=300, batch_size=16))
    assert wait_for(lambda: runfolder.read_jsonl(jobs.root / long_run / runfolder.METRICS), 120)
    assert jobs.stop(long_run)
    stopped = jobs.wait(long_run, timeout=60)
    assert stopped["status"] == "stopped" and stopped["epochs_done"] < 300
    run_ids = [jobs.submit(digits_experiment(epochs=EPOCHS, seed=seed)) for seed in (6, 7)]
    statuses = [jobs.wait(run_id, timeout=240) for run_id in run_ids]
    assert [s["status"] for s in statuses] == ["completed", "completed"], statuses  # the stop flag went down
    assert stopped["pid"] in {s["pid"] for s in statuses}  # one of them on the stopped run's actor
    for run_id in run_ids:
        assert_files_came_back(jobs.root / run_id)

