"""AppTest: Try's "Add to my data as <label>", and the teacher opening a student's shared run on Try (issue 21,
items 3 and 6)."""
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest
from test_app_try_page import _experiment

from builder import predict
from builder.store.workspace import Workspaces, new_id, owner_tag
from datasets import classes
from tests.train_fixtures import mlp_spec

ROOT = Path(__file__).resolve().parents[2]
TRY = str(ROOT / "pages" / "try.py")
STUDENT = new_id()  # the workspace that trained and shared the runs


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory):
    """A digits run of another student's, shared, and a copy of it not shared."""
    from builder.train.runner import run

    root = tmp_path_factory.mktemp("runs")
    run(_experiment("digits", mlp_spec(), 5), root / "run-shared")
    shutil.copytree(root / "run-shared", root / "run-private")
    for name, shared in (("run-shared", True), ("run-private", False)):
        status = json.loads((root / name / "status.json").read_text())
        status.update(run_id=name, owner=owner_tag(STUDENT), shared=shared)
        (root / name / "status.json").write_text(json.dumps(status))
    return root


def try_page(runs_dir, monkeypatch, run=None, teacher=False) -> AppTest:
    monkeypatch.setenv("LAYERLAB_RUNS_DIR", str(runs_dir))
    at = AppTest.from_file(TRY, default_timeout=120)
    if teacher:
        at.session_state["teacher"] = True
    if run:
        at.query_params["run"] = run
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def own_data(at) -> classes.ClassFolder:
    return classes.ClassFolder(Workspaces(os.environ["LAYERLAB_HOME"]).folder(at.session_state["ws"]) / classes.HOME)


def test_a_test_example_is_added_to_my_data_under_the_label_picked(runs_dir, monkeypatch):
    at = try_page(runs_dir, monkeypatch, run="run-shared")
    at.segmented_control(key="try_source").set_value("Test example").run()
    at.number_input(key="try_example").set_value(3).run()
    trained = predict.open_run(runs_dir / "run-shared")
    x, _ = trained.examples()["test"]
    answer = trained.answer(x[3])
    label = next(s for s in at.selectbox if s.key.startswith("try_keep_label_"))
    assert label.value == answer.label  # the model's answer first, for every new input
    label.set_value("7").run()
    assert at.button(key="try_keep").proto.label == "Add to my data as “7”"
    at.button(key="try_keep").click().run()
    assert not at.exception and any("as “7”" in s.value for s in at.success)
    mine = own_data(at)
    assert mine.counts() == {"7": 1}
    from PIL import Image

    with Image.open(mine.examples("7")[0]) as kept:  # the 8 × 8 input itself, its 0..16 levels as 0..255
        np.testing.assert_allclose(np.asarray(kept.convert("L"), np.float32),
                                   np.asarray(x[3], np.float32).reshape(8, 8) / 16 * 255, atol=1)


def test_adding_beyond_the_class_cap_is_refused_in_words(runs_dir, monkeypatch):
    monkeypatch.setenv("LAYERLAB_MAX_CLASS_EXAMPLES", "1")
    at = try_page(runs_dir, monkeypatch, run="run-shared")
    at.segmented_control(key="try_source").set_value("Test example").run()
    at.button(key="try_keep").click().run()
    at.button(key="try_keep").click().run()
    assert any("LAYERLAB_MAX_CLASS_EXAMPLES" in e.value for e in at.error)
    assert sum(own_data(at).counts().values()) == 1


def test_the_teacher_opens_any_shared_run_and_a_classmate_only_shared_ones(runs_dir, monkeypatch):
    teacher = try_page(runs_dir, monkeypatch, run="run-shared", teacher=True)
    assert teacher.selectbox(key="try_run").value == "run-shared"
    assert sorted(o.split(" — ")[0] for o in teacher.selectbox(key="try_run").options) == ["run-private", "run-shared"]
    teacher.segmented_control(key="try_source").set_value("Test example").run()
    assert any(m.value.startswith("### Prediction") for m in teacher.markdown)
    classmate = try_page(runs_dir, monkeypatch, run="run-private")
    assert [o.split(" — ")[0] for o in classmate.selectbox(key="try_run").options] == ["run-shared"]  # not the private
    assert classmate.query_params["run"] == "run-shared"


def test_the_class_page_links_each_shared_run_to_its_try_page(runs_dir, monkeypatch):
    monkeypatch.setenv("LAYERLAB_RUNS_DIR", str(runs_dir))
    Workspaces(os.environ["LAYERLAB_HOME"]).save(STUDENT, {"name": "Ada"})
    at = AppTest.from_file(str(ROOT / "pages" / "class.py"), default_timeout=120)
    at.session_state["teacher"] = True
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    shared = next(d.value for d in at.dataframe if "try it" in d.value.columns)
    assert shared.to_dict("records") == [{"student": "Ada", "run": "run-shared", "model": "tiny-mlp",
                                          "dataset": "digits", "try it": "/try?run=run-shared"}]
