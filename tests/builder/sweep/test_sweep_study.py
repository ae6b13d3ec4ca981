"""Sweeps with a real Optuna study whose trials are tiny digits runs in real warm worker processes."""
import json
import subprocess
import sys
import threading

import optuna
import pytest
from train_fixtures import digits_experiment, wait_for

from builder.jobs.local import JobManager
from builder.store import runfolder
from builder.store.workspace import owner_tag
from builder.sweep.study import JOURNAL, Sweep

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def jobs(tmp_path_factory):
    manager = JobManager(tmp_path_factory.mktemp("runs"), max_concurrent=2)
    assert manager.wait_ready(timeout=240), "the warm workers did not start"
    yield manager
    manager.shutdown()


def sweep_of(sweep: dict, **training) -> dict:
    return {**digits_experiment(**training), "sweep": sweep}


def best_epoch_value(run_dir, name="val_accuracy") -> float:
    return max(row[name] for row in runfolder.read_jsonl(run_dir / runfolder.METRICS))


def test_each_trial_is_a_run_of_the_sweep_and_the_best_is_optunas_best(jobs, tmp_path):
    experiment = sweep_of({"trials": 3, "pruning": False,
                           "space": {"learning_rate": {"low": 0.001, "high": 0.1, "log": True},
                                     "batch_size": {"choices": [16, 64]}}}, epochs=2)
    sweep = Sweep.create(tmp_path / "s", experiment, jobs, workspace="student-a")
    seen = []
    summary = sweep.run(on_trial=seen.append)
    assert (summary["trials"], summary["completed"], summary["pruned"], summary["failed"]) == (3, 3, 0, 0)
    assert [row["number"] for row in sorted(seen, key=lambda r: r["number"])] == [0, 1, 2]
    study = optuna.load_study(study_name="layerlab", storage=optuna.storages.JournalStorage(
        optuna.storages.journal.JournalFileBackend(str(tmp_path / "s" / JOURNAL))))
    for trial in study.trials:
        run_dir = jobs.root / trial.user_attrs["run"]
        status = runfolder.read_status(run_dir)
        assert (status["sweep"], status["trial"], status["owner"]) == ("s", trial.number, owner_tag("student-a"))
        assert "student-a" not in json.dumps(status)  # a run folder never holds a workspace id
        training = runfolder.read_json(run_dir / runfolder.EXPERIMENT)["training"]
        assert training["learning_rate"] == trial.params["learning_rate"]
        assert training["batch_size"] == trial.params["batch_size"]
        assert trial.value == pytest.approx(best_epoch_value(run_dir))  # the best epoch's validation accuracy
    assert summary["best"]["value"] == pytest.approx(study.best_value)
    assert summary["best"]["params"] == study.best_params
    assert summary["best"]["run"] == str(jobs.root / study.best_trial.user_attrs["run"])
    manifest = runfolder.read_json(tmp_path / "s" / "sweep.json")
    assert manifest["status"] == "completed" and "sweep" not in manifest["experiment"]
    assert 0 < manifest["overhead_s"] < manifest["wall_s"]


def test_the_pruner_really_stops_a_hopeless_trial(jobs, tmp_path):
    experiment = sweep_of({"trials": 3, "parallel": 1,
                           "space": {"learning_rate": {"low": 1e-7, "high": 0.1, "log": True}}},
                          epochs=25, batch_size=8)
    sweep = Sweep.create(tmp_path / "s", experiment, jobs)
    study = sweep.study()
    for rate in (0.05, 0.05, 1e-7):  # two good trials set the median, then one that cannot learn
        study.enqueue_trial({"learning_rate": rate})
    summary = sweep.run()
    assert (summary["completed"], summary["pruned"]) == (2, 1), (summary, sweep.trial_rows())
    hopeless = sweep.study().trials[2]
    run_dir = jobs.root / hopeless.user_attrs["run"]
    assert runfolder.read_status(run_dir)["status"] == "pruned"
    rows = runfolder.read_jsonl(run_dir / runfolder.METRICS)
    assert len(rows) < 25  # it did not train to the end
    assert len(rows) <= hopeless.user_attrs["pruned_after_epochs"] + 1  # within one epoch of the decision


def test_a_stopped_sweep_goes_on_with_the_same_study_after_a_restart(jobs, tmp_path):
    experiment = sweep_of({"trials": 4, "parallel": 1, "pruning": False,
                           "space": {"learning_rate": {"low": 0.001, "high": 0.1, "log": True}}}, epochs=2)
    first = Sweep.create(tmp_path / "s", experiment, jobs)
    first.run(on_trial=lambda row: row["number"] == 1 and first.stop())
    before = [(t.number, t.params, t.value) for t in first.study().trials]
    assert len(before) == 2 and runfolder.read_json(tmp_path / "s" / "sweep.json")["status"] == "stopped"
    summary = Sweep.open(tmp_path / "s", jobs).run()  # a new server: only the folder is known
    after = Sweep.open(tmp_path / "s", jobs).study().trials
    assert summary["trials"] == 4 and summary["completed"] == 4
    assert [(t.number, t.params, t.value) for t in after[:2]] == before  # the first half is kept, not redone
    assert len({t.user_attrs["run"] for t in after}) == 4
    assert after[2].params != after[0].params  # the resumed sampler draws new values


def test_another_workspaces_run_starts_before_the_sweeps_remaining_trials(tmp_path):
    single_slot = JobManager(tmp_path / "runs", max_concurrent=1)
    try:
        assert single_slot.wait_ready(timeout=240)
        experiment = sweep_of({"trials": 3, "parallel": 2, "pruning": False,
                               "space": {"learning_rate": {"low": 0.001, "high": 0.1, "log": True}}}, epochs=4)
        sweep = Sweep.create(tmp_path / "s", experiment, single_slot, workspace="student-a")
        thread = threading.Thread(target=sweep.run)
        thread.start()
        assert wait_for(lambda: len(single_slot.running()) == 1 and len(single_slot.queued()) == 1, 120)
        other = single_slot.submit(digits_experiment(epochs=1), workspace="student-b")
        assert single_slot.queued()[0] == other  # the sweep's second trial waits behind it
        thread.join(timeout=300)
        trials = sorted((r for r in single_slot.root.iterdir() if runfolder.read_status(r).get("sweep")),
                        key=lambda r: runfolder.read_status(r)["trial"])
        started = [runfolder.read_status(r)["started"] for r in trials]
        other_started = single_slot.status(other)["started"]
        assert started[0] < other_started < started[1] < started[2]
    finally:
        single_slot.shutdown()


def test_the_command_line_prints_one_line_per_trial_and_json_last(tmp_path):
    exp_file = tmp_path / "exp.json"
    exp_file.write_text(json.dumps(digits_experiment(epochs=2)))
    space = tmp_path / "space.json"
    space.write_text(json.dumps({"learning_rate": {"low": 0.001, "high": 0.1, "log": True}}))
    done = subprocess.run([sys.executable, "-m", "builder", "sweep", str(exp_file), "--trials", "2", "--out",
                           str(tmp_path / "s"), "--space", str(space)], capture_output=True, text=True, timeout=400)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert sum(line.startswith("trial ") for line in lines) == 2
    summary = json.loads(lines[-1])
    assert (summary["trials"], summary["completed"] + summary["pruned"] + summary["failed"]) == (2, 2)
    assert set(summary["best"]["params"]) == {"learning_rate"}
    assert summary["best"]["value"] == pytest.approx(best_epoch_value(tmp_path / "s" / "trials" /
                                                                      summary["best"]["run"].rsplit("/", 1)[1]))
    elsewhere = tmp_path / "elsewhere"  # sweep.py runs on its own: Optuna and Keras, no Layerlab on the path
    elsewhere.mkdir()
    (elsewhere / "sweep.py").write_bytes((tmp_path / "s" / "sweep.py").read_bytes())
    alone = subprocess.run([sys.executable, "-I", "sweep.py", "--trials", "1"], cwd=elsewhere, capture_output=True,
                           text=True, timeout=300)
    assert alone.returncode == 0, alone.stderr[-2000:]
    rerun = json.loads(alone.stdout.strip().splitlines()[-1])["best"]
    assert set(rerun["params"]) == {"learning_rate"} and 0.001 <= rerun["params"]["learning_rate"] <= 0.1
    assert 0.0 < rerun["value"] <= 1.0  # a validation accuracy
    assert (elsewhere / "trial_0" / "train.py").is_file()


def test_the_command_line_refuses_a_bad_space_in_plain_lines(tmp_path):
    exp_file = tmp_path / "exp.json"
    exp_file.write_text(json.dumps(digits_experiment()))
    space = tmp_path / "space.json"
    space.write_text(json.dumps({"learning_rate": {"low": 0.1, "high": 0.001}}))
    done = subprocess.run([sys.executable, "-m", "builder", "sweep", str(exp_file), "--trials", "2", "--out",
                           str(tmp_path / "s"), "--space", str(space)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert done.stderr.strip() == ("sweep: the range of 'learning_rate' is upside down (low 0.1 is above high "
                                   "0.001); swap them")
    assert not (tmp_path / "s").exists()  # nothing written, no worker started
