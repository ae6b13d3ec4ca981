"""A sweep whose trials train on a real local Ray instance (`ray.init(num_cpus=2)`): each trial a Ray actor,
two at once, its files streamed back into an ordinary run folder; the pruner's stop reaches the actor.
Skipped only when Ray is not installed (CI installs requirements-ray.txt)."""
import os

import pytest
from train_fixtures import digits_experiment

from builder.store import runfolder

ray = pytest.importorskip("ray", reason="Ray is not installed: pip install -r requirements-ray.txt")

from builder.jobs.ray_executor import RayJobManager  # noqa: E402
from builder.sweep.study import Sweep  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.fixture
def jobs(tmp_path):
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, object_store_memory=200 * 2**20)
    manager = RayJobManager(tmp_path / "runs", cpus=1, gpus=0)  # two trials fit at once
    yield manager
    manager.shutdown()
    ray.shutdown()


def test_ray_carries_a_sweeps_trials_to_completed_and_pruned_run_folders(jobs, tmp_path):
    experiment = {**digits_experiment(epochs=12, batch_size=16),
                  "sweep": {"trials": 3, "parallel": 2,
                            "space": {"learning_rate": {"low": 1e-7, "high": 0.1, "log": True}}}}
    sweep = Sweep.create(tmp_path / "s", experiment, jobs, workspace="student-a")
    study = sweep.study()
    for rate in (0.05, 0.05, 1e-7):  # two good trials side by side set the median; then one that cannot learn
        study.enqueue_trial({"learning_rate": rate})
    summary = sweep.run()

    assert (summary["trials"], summary["completed"], summary["pruned"], summary["failed"]) == (3, 2, 1, 0), \
        sweep.trial_rows()
    rows = sorted(sweep.trial_rows(), key=lambda r: r["number"])
    statuses = [runfolder.read_status(jobs.root / r["run"]) for r in rows]
    assert [s["status"] for s in statuses] == ["completed", "completed", "pruned"]  # Ray's stop reads `pruned`
    for row, status in zip(rows, statuses, strict=True):
        assert (status["sweep"], status["trial"]) == ("s", row["number"])
        assert status["pid"] != os.getpid()  # trained in a Ray worker, not here
        metrics = runfolder.read_jsonl(jobs.root / row["run"] / runfolder.METRICS)
        assert [m["epoch"] for m in metrics] == list(range(1, len(metrics) + 1))  # streamed back, each epoch once
        if row["state"] == "completed":
            assert len(metrics) == 12 and (jobs.root / row["run"] / "model.keras").is_file()
            assert row["value"] == pytest.approx(max(m["val_accuracy"] for m in metrics))
    first, second = statuses[:2]
    assert first["started"] < second["finished"] and second["started"] < first["finished"]  # side by side
    hopeless = sweep.study().trials[2]
    assert len(runfolder.read_jsonl(jobs.root / rows[2]["run"] / runfolder.METRICS)) < 12  # it was stopped early
    assert hopeless.user_attrs["pruned_after_epochs"] < 12
    best = max(rows[:2], key=lambda r: r["value"])
    assert summary["best"] == {"value": pytest.approx(best["value"]), "params": best["params"],
                               "run": str(jobs.root / best["run"])}
    assert summary["best"]["value"] == pytest.approx(sweep.study().best_value)
