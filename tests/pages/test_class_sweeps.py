"""AppTest: the teacher's Class page lists each student's sweeps (trials done of all, state, best score) by the
student's name, and never shows a workspace id."""
from __future__ import annotations

import json
import types
from pathlib import Path

import optuna
import pytest
from app_train_fixtures import DIGITS_SPEC, write_run
from streamlit.testing.v1 import AppTest

from builder.store.workspace import new_id, owner_tag
from builder.sweep.study import Sweep

APP = str(Path(__file__).resolve().parents[2] / "app.py")
DATA = {"dataset": "digits", "options": {}, "validation_split": 0.2, "test_split": 0.2}


@pytest.fixture
def server(tmp_path, monkeypatch):
    for name, folder in (("RUNS", "runs"), ("HOME", "home"), ("UPLOADS", "uploads"), ("SWEEPS", "sweeps")):
        monkeypatch.setenv(f"LAYERLAB_{name}_DIR" if name != "HOME" else "LAYERLAB_HOME", str(tmp_path / folder))
    monkeypatch.setenv("LAYERLAB_PREWARM", "0")
    monkeypatch.setenv("LAYERLAB_TEACHER_KEY", "s3cret-key")
    from streamlit.components.v2 import manifest_scanner

    monkeypatch.setattr(manifest_scanner, "scan_component_manifests", lambda *a, **k: [])
    (tmp_path / "runs").mkdir()
    return tmp_path


def student(server: Path, name: str) -> str:
    """A workspace that gave its name (so the Class page lists it); returns its id."""
    ws = new_id()
    (server / "home" / ws).mkdir(parents=True)
    (server / "home" / ws / "state.json").write_text(json.dumps({"name": name}))
    return ws


def sweep_with(server: Path, folder: str, ws: str | None, outcomes: list, trials: int, status: str) -> Sweep:
    """A sweep of `ws` whose study holds `outcomes` (a value: completed; None: pruned), over hand-written runs."""
    experiment = {"format": "layerlab/experiment@1", "model": DIGITS_SPEC, "data": DATA, "augmentation": [],
                  "training": {}, "sweep": {"trials": trials,
                                            "space": {"learning_rate": {"low": 0.001, "high": 0.1}}}}
    sweep = Sweep.create(server / "sweeps" / folder, experiment, types.SimpleNamespace(root=server / "runs"),
                         workspace=ws)
    study = sweep.study()
    for number, value in enumerate(outcomes):
        run_id = f"{folder}-trial-{number}"
        write_run(server / "runs", run_id, status="completed" if value is not None else "pruned", workspace=ws)
        trial = study.ask()
        trial.suggest_float("learning_rate", 0.001, 0.1)
        trial.set_user_attr("run", run_id)
        if value is None:
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        else:
            study.tell(trial, value)
    sweep._set(status=status)
    return sweep


def sweep_tables(at: AppTest) -> list:
    return [frame.value for frame in at.dataframe if "scored by" in frame.value.columns]


def test_the_class_page_shows_each_students_sweep_and_its_best_score(server):
    ada, bo = student(server, "Ada"), student(server, "Bo")
    sweep_with(server, "s-ada", ada, [0.82, 0.915, None], trials=4, status="running")
    sweep_with(server, "s-bo", bo, [], trials=12, status="stopped")
    sweep_with(server, "s-cli", None, [0.5], trials=1, status="completed")  # the command line's: no student's
    teacher = AppTest.from_file(APP, default_timeout=60)
    teacher.query_params["teacher"] = "s3cret-key"
    teacher.run()
    teacher.switch_page("pages/class.py").run()
    assert not teacher.exception
    [sweeps] = sweep_tables(teacher)
    by_student = {row["student"]: row for row in sweeps.to_dict("records")}
    assert set(by_student) == {"Ada", "Bo"}
    assert (by_student["Ada"]["trials done"], by_student["Ada"]["state"]) == ("3 of 4", "running")
    assert by_student["Ada"]["best score"] == "91.5%"  # the best completed trial, as a percentage
    assert by_student["Ada"]["scored by"] == "validation accuracy (higher is better)"
    assert (by_student["Bo"]["trials done"], by_student["Bo"]["state"], by_student["Bo"]["best score"]) == (
        "0 of 12", "stopped", "—")
    assert by_student["Ada"]["model"] == "MLP on digits"
    shown = json.dumps([frame.value.to_dict("records") for frame in teacher.dataframe], default=str) + \
        " ".join(e.value for e in teacher.markdown) + " ".join(str(e.value) for e in teacher.caption)
    assert ada not in shown and bo not in shown  # no workspace id ever leaves the server

    teacher.multiselect(key="class_hidden").select(owner_tag(bo)).run()
    [sweeps] = sweep_tables(teacher)
    assert list(sweeps["student"]) == ["Ada"]  # a hidden student's sweeps leave with the row
