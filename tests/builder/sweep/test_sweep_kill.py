"""A headless sweep whose process is killed (SIGKILL) while a trial trains, started again on the same folder:
the study goes on to its N trials, the finished trial is not redone and the cut-off one goes on from its
checkpoint in its own run folder (docs/architecture.md, "Sweep folder")."""
import json
import os
import signal
import subprocess
import sys
import threading
import time
import types

import optuna
import pytest
from train_fixtures import digits_experiment, wait_for

from builder.jobs.recovery import RESUMED_NOTE
from builder.store import runfolder
from builder.sweep.study import JOURNAL, Sweep

EPOCHS = 6


def trials_now(out) -> list:
    storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(out / JOURNAL)))
    return optuna.load_study(study_name="layerlab", storage=storage).trials


def run_of_trial(out, number: int):
    """The run folder of trial `number` (by its status.json), or None before it is made."""
    for run_dir in (out / "trials").glob("*"):
        if runfolder.read_status(run_dir).get("trial") == number:
            return run_dir
    return None


@pytest.mark.slow
def test_a_killed_sweep_goes_on_to_its_trials_without_redoing_the_finished_ones(tmp_path):
    exp_file = tmp_path / "exp.json"
    exp_file.write_text(json.dumps({**digits_experiment(epochs=EPOCHS, batch_size=8), "sweep": {
        "trials": 3, "parallel": 1, "pruning": False,
        "space": {"learning_rate": {"low": 0.005, "high": 0.05, "log": True}}}}))
    out = tmp_path / "s"
    command = [sys.executable, "-m", "builder", "sweep", str(exp_file), "--out", str(out)]
    with open(tmp_path / "first.log", "w") as log:
        first = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    try:
        def second_trial_mid_way() -> bool:
            run_dir = run_of_trial(out, 1)
            return bool(run_dir) and 1 <= len(runfolder.read_jsonl(run_dir / runfolder.METRICS)) < EPOCHS - 1

        assert wait_for(second_trial_mid_way, 300), (tmp_path / "first.log").read_text()[-3000:]
        os.kill(first.pid, signal.SIGKILL)  # a server killed mid-trial: no shutdown, no last words
        assert first.wait(timeout=30) == -signal.SIGKILL
    finally:
        if first.poll() is None:
            first.kill()
    before = trials_now(out)
    assert [t.state.name for t in before] == ["COMPLETE", "RUNNING"]
    cut = run_of_trial(out, 1)
    done_before = len(runfolder.read_jsonl(cut / runfolder.METRICS))

    again = subprocess.run(command, capture_output=True, text=True, timeout=400)  # the next server
    assert again.returncode == 0, again.stdout[-2000:] + again.stderr[-3000:]
    lines = again.stdout.strip().splitlines()
    assert lines[0] == f"going on with the sweep in {out}"
    assert [line.split(":")[0] for line in lines if line.startswith("trial ")] == ["trial 1", "trial 2"]
    summary = json.loads(lines[-1])
    assert (summary["trials"], summary["completed"], summary["pruned"], summary["failed"]) == (3, 3, 0, 0)

    after = trials_now(out)
    assert [t.state.name for t in after] == ["COMPLETE"] * 3
    assert (after[0].params, after[0].value, after[0].user_attrs) == (  # the finished trial is kept, not redone
        before[0].params, before[0].value, before[0].user_attrs)
    assert after[1].params == before[1].params and after[1].user_attrs["run"] == cut.name  # the cut-off one went on
    assert len(list((out / "trials").iterdir())) == 3  # one run folder per trial: none trained twice
    status = runfolder.read_status(cut)
    assert (status["status"], status["note"]) == ("completed", RESUMED_NOTE)
    rows = runfolder.read_jsonl(cut / runfolder.METRICS)
    assert [r["epoch"] for r in rows] == list(range(1, EPOCHS + 1))  # from its checkpoint: each epoch once
    assert len(rows) > done_before
    assert after[1].value == pytest.approx(max(r["val_accuracy"] for r in rows))
    assert sorted(after[1].intermediate_values) == list(range(1, EPOCHS + 1))
    assert summary["best"]["value"] == pytest.approx(max(t.value for t in after))


def test_a_restarted_sweep_waits_for_the_job_manager_to_take_over_its_cut_off_trial(tmp_path):
    """Until the new manager has recovered the gone server's runs, a cut-off trial's run reads `interrupted`;
    the sweep must not fail the trial for it, but follow the run as the manager sets it going again."""
    jobs = types.SimpleNamespace(root=tmp_path / "runs", recovered=threading.Event(), running=lambda: [],
                                 stop=lambda run_id: False)  # the parts of a job manager a sweep's loop uses
    cut = tmp_path / "runs" / "cut"
    cut.mkdir(parents=True)
    runfolder.write_status(cut, status="interrupted", resume_on_restart=True)  # as its worker left it
    experiment = {**digits_experiment(epochs=2), "sweep": {
        "trials": 1, "pruning": False, "space": {"learning_rate": {"low": 0.005, "high": 0.05, "log": True}}}}
    sweep = Sweep.create(tmp_path / "s", experiment, jobs)
    trial = sweep.study().ask()
    trial.suggest_float("learning_rate", 0.005, 0.05, log=True)
    trial.set_user_attr("run", "cut")  # the gone server's sweep had submitted it
    outcome = {}
    going_on = threading.Thread(target=lambda: outcome.update(sweep.run(poll=0.02)))
    going_on.start()
    time.sleep(0.5)  # many of the sweep's polls
    assert [t.state.name for t in trials_now(tmp_path / "s")] == ["RUNNING"]  # not failed for `interrupted`
    runfolder.write_status(cut, status="queued", resume_on_restart=None)  # the manager queued it again
    jobs.recovered.set()
    for epoch, value in ((1, 0.7), (2, 0.8)):  # it trained on, and finished
        runfolder.append_jsonl(cut / runfolder.METRICS, {"epoch": epoch, "val_accuracy": value})
    runfolder.write_status(cut, status="completed")
    going_on.join(timeout=30)
    assert (outcome["completed"], outcome["failed"]) == (1, 0)
    assert trials_now(tmp_path / "s")[0].value == pytest.approx(0.8)
