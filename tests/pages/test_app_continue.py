"""AppTest: "Continue N more epochs" on the Runs and Train pages, and the note of a run resumed after a restart."""
from pathlib import Path

import pytest
from app_train_fixtures import DIGITS_SPEC, experiment, write_run
from streamlit.testing.v1 import AppTest

from builder.jobs.recovery import RESUMED_NOTE
from builder.store import runfolder
from builder.store.workspace import owner_tag
from builder.train import checkpoint

PAGES = Path(__file__).resolve().parents[2] / "pages"
ME, OTHER = "me-workspace-001", "other-student-01"


@pytest.fixture
def runs_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("LAYERLAB_RUNS_DIR", str(tmp_path))
    monkeypatch.setenv("LAYERLAB_PREWARM", "0")
    return tmp_path


def page(name: str, run_id: str, workspace: str = ME) -> AppTest:
    at = AppTest.from_file(str(PAGES / name), default_timeout=60)
    at.session_state["ws"] = workspace
    at.session_state["run_id"] = run_id
    if name == "train.py":
        at.session_state["spec"] = DIGITS_SPEC
        at.session_state["data"] = {"dataset": "digits", "options": {}, "validation_split": 0.2, "test_split": 0.2}
        at.session_state["augmentation"] = []
        at.session_state["training"] = {}
    return at.run()


def with_checkpoint(folder: Path) -> Path:
    checkpoint.save(folder, checkpoint.Checkpoint(epoch=3, phase=1, model=[], optimizer=[]))
    return folder


@pytest.mark.slow
def test_continue_on_the_runs_page_trains_more_epochs_in_the_same_folder(runs_dir, monkeypatch):
    from builder.jobs.local import JobManager
    from builder.train.runner import run
    from ui import jobs

    folder = runs_dir / "run-one"
    assert run(experiment(epochs=1), folder) == "completed"
    runfolder.write_status(folder, workspace=ME)
    manager = JobManager(runs_dir, max_concurrent=1, warm=False, lazy=True)
    monkeypatch.setattr(jobs, "get_job_manager", lambda: manager)
    try:
        at = page("runs.py", "run-one")
        assert not at.exception
        at.number_input(key="runs_more_epochs").set_value(2).run()
        assert at.button(key="runs_continue").label == "Continue 2 more epochs"
        at.button(key="runs_continue").click().run()
        assert not at.exception and not at.error
        assert manager.wait("run-one", timeout=240)["status"] == "completed"
    finally:
        manager.shutdown()
    assert [r["epoch"] for r in runfolder.read_jsonl(folder / runfolder.METRICS)] == [1, 2, 3]
    status = runfolder.read_status(folder)
    assert status["epochs"] == status["epochs_done"] == 3 and status["owner"] == owner_tag(ME)  # still ME's


def test_continue_is_offered_only_for_ones_own_run_that_may_go_on(runs_dir):
    with_checkpoint(write_run(runs_dir, "mine-done", workspace=ME))
    with_checkpoint(write_run(runs_dir, "theirs", workspace=OTHER, shared=True))
    with_checkpoint(write_run(runs_dir, "mine-training", status="running", workspace=ME))
    write_run(runs_dir, "mine-old", workspace=ME)  # trained before checkpoints existed
    assert page("runs.py", "mine-done").button(key="runs_continue").label == "Continue 5 more epochs"
    assert "runs_continue" not in [b.key for b in page("runs.py", "theirs").button]
    assert "train_continue" not in [b.key for b in page("train.py", "mine-training").button]
    old = page("runs.py", "mine-old").button(key="runs_continue")
    assert old.disabled and "no checkpoint" in old.help


def test_a_failing_continue_says_why_in_plain_words(runs_dir, monkeypatch):
    from builder.jobs.local import JobManager
    from ui import jobs

    folder = write_run(runs_dir, "cut-short", workspace=ME)
    checkpoint.path(folder).write_bytes(b"PK\x03\x04 half a file")
    manager = JobManager(runs_dir, lazy=True)  # lazy: the refusal comes before any worker starts
    monkeypatch.setattr(jobs, "get_job_manager", lambda: manager)
    at = page("train.py", "cut-short")
    at.button(key="train_continue").click().run()
    manager.shutdown()
    assert not at.exception
    assert "Could not continue the run" in at.error[0].value and "damaged or cut short" in at.error[0].value
    assert runfolder.read_status(folder)["status"] == "completed"


def test_the_train_page_says_a_run_was_resumed_after_a_restart(runs_dir):
    folder = write_run(runs_dir, "resumed", status="running", workspace=ME)
    runfolder.write_status(folder, note=RESUMED_NOTE)
    at = page("train.py", "resumed")
    assert any("resumed after a server restart" in i.value for i in at.info)
