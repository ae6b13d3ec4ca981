"""AppTest: a reload (a fresh session with the same ?ws= link) restores the student's work, a damaged saved
state is repaired and the student told, a stale second tab takes in the newer work instead of overwriting it;
Undo after a template brings the data back and the Data page lists earlier uploads by name; the teacher key
opens the Class page (and leaves the address), a wrong key does not; the class code is asked once."""
from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from app_train_fixtures import write_run
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[2] / "app.py")


@pytest.fixture(autouse=True)
def server(tmp_path, monkeypatch):
    monkeypatch.setenv("LAYERLAB_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("LAYERLAB_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("LAYERLAB_UPLOADS_DIR", str(tmp_path / "uploads"))
    monkeypatch.setenv("LAYERLAB_PREWARM", "0")
    from streamlit.components.v2 import manifest_scanner

    monkeypatch.setattr(manifest_scanner, "scan_component_manifests", lambda *a, **k: [])
    return tmp_path


def visit(**query) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    for k, v in query.items():
        at.query_params[k] = v
    return at.run()


def add_a_layer(at: AppTest) -> dict:
    """A Dropout after the selected layer, on the Build page: the student's first change. Returns the spec."""
    at.session_state["selected"] = "hidden"
    at.session_state["welcome_dismissed"] = True
    at.run()
    at.button(key="add_Dropout").click().run()
    return at.session_state["spec"]


def test_a_reload_with_the_link_restores_model_data_and_settings(server):
    first = visit()
    assert not first.exception
    ws = first.session_state["ws"]
    assert first.query_params["ws"] == [ws] or first.query_params["ws"] == ws  # the link is in the URL
    assert not (server / "home" / ws).exists()  # a visit alone makes no folder
    edited = add_a_layer(first)
    assert (server / "home" / ws / "state.json").is_file()  # the first change does
    assert "dropout_1" in {n["id"] for n in edited["nodes"]}

    again = visit(ws=ws)  # a reload, a new tab, or the link on another machine: a fresh session
    assert not again.exception
    assert again.session_state["ws"] == ws
    assert again.session_state["spec"] == edited
    again.button(key="undo").click().run()  # the undo history came along too
    assert "dropout_1" not in {n["id"] for n in again.session_state["spec"]["nodes"]}

    other = visit()  # no link: a new, empty workspace
    assert other.session_state["ws"] != ws
    assert "dropout_1" not in {n["id"] for n in other.session_state["spec"]["nodes"]}


def test_a_made_up_link_gets_a_new_workspace_not_someone_elses(server):
    at = visit(ws="../../etc/passwd")
    assert not at.exception
    assert at.session_state["ws"] != "../../etc/passwd" and len(at.session_state["ws"]) == 16


def test_a_new_workspace_on_a_shared_computer_keeps_nothing_of_the_last_student(server, monkeypatch):
    from streamlit.runtime.pages_manager import PagesManager

    made = PagesManager.__init__  # every run through app.py, as on a server (AppTest runs the page alone after one)
    monkeypatch.setattr(PagesManager, "__init__", lambda self, *a, **k: (
        made(self, *a, **k), setattr(PagesManager, "uses_pages_directory", False))[0])
    at = visit()
    at.text_input(key="ws_name").input("Grace").run()
    add_a_layer(at)
    ws = at.session_state["ws"]
    at.button(key="ws_leave").click().run()
    assert not at.exception and at.session_state["ws"] != ws
    assert at.text_input(key="ws_name").value == ""  # her name is not the next student's
    assert "dropout_1" not in {n["id"] for n in at.session_state["spec"]["nodes"]}
    at.run()
    assert not (server / "home" / at.session_state["ws"]).exists()  # nothing of hers was saved into the new one
    assert saved_state(server, ws)["name"] == "Grace"  # her workspace is kept, for her link


def test_teacher_key_opens_the_class_page_and_a_wrong_key_gets_nothing(server, monkeypatch):
    monkeypatch.setenv("LAYERLAB_TEACHER_KEY", "s3cret-key")
    student = visit()
    student.session_state["name"] = "Grace"
    add_a_layer(student)  # did something: the teacher lists it
    ws = student.session_state["ws"]
    visit()  # a visit that does nothing leaves no row (and no folder)

    write_run(server / "runs", "run-grace", status="running", metrics=[{"epoch": 1, "loss": 0.5, "val_accuracy": 0.8}],
              workspace=ws)
    wrong = visit(teacher="guess")
    assert "teacher" not in wrong.session_state
    with pytest.raises(ValueError, match="Could not find a navigation page"):  # not in a student's navigation
        wrong.switch_page("pages/class.py")

    teacher = visit(teacher="s3cret-key")
    teacher.switch_page("pages/class.py").run()
    assert not teacher.exception
    table = teacher.dataframe[0].value
    assert list(table["name"]) == ["Grace"]  # not the idle visit, the wrong key, nor the teacher's own workspace
    row = table.iloc[0]
    assert row["run now"] == "run-grace" and row["status"] == "running" and row["val accuracy now"] == 0.8
    assert "teacher" not in teacher.query_params  # the key left the address

    broken = "B" * 16  # a workspace whose saved state has the wrong types never breaks the page
    (server / "home" / broken).mkdir()
    (server / "home" / broken / "state.json").write_text('{"name": "Bo", "spec": "oops", "data": [1]}')
    teacher.run()
    assert not teacher.exception and sorted(teacher.dataframe[0].value["name"]) == ["Bo", "Grace"]
    from builder.store.workspace import owner_tag

    teacher.multiselect(key="class_hidden").select(owner_tag(broken)).run()
    assert list(teacher.dataframe[0].value["name"]) == ["Grace"]  # the teacher hid the row
    assert ws not in (server / "home" / "class.json").read_text()


def test_class_code_is_asked_once_per_workspace(server, monkeypatch):
    monkeypatch.setenv("LAYERLAB_CLASS_CODE", "owls")
    at = visit()
    assert at.text_input(key="class_code") is not None
    assert not at.get("flow")  # nothing else is drawn
    at.text_input(key="class_code").input("cats").run()
    assert any("not this class's code" in e.value for e in at.error)
    at.text_input(key="class_code").input("owls").run()
    assert not at.exception and any("Ready to train" in s.value for s in at.success)  # the Build page
    again = visit(ws=at.session_state["ws"])
    assert not [t for t in again.text_input if t.key == "class_code"]  # remembered by the workspace


def saved_state(server, ws: str) -> dict:
    return json.loads((server / "home" / ws / "state.json").read_text())


@pytest.mark.parametrize(("text", "reset"), [
    ('{"data": "digits", "training": [], "name": "Ada", "history": "x"}',
     "the data choice, the training settings, the undo history"),
    ('{"name": "Ada", "spec": {"nodes": [', "everything (the saved file was damaged or cut short)"),
])
def test_a_damaged_saved_state_is_repaired_and_the_student_told(server, text, reset):
    ws = visit().session_state["ws"]
    (server / "home" / ws).mkdir(parents=True)
    (server / "home" / ws / "state.json").write_text(text)
    at = visit(ws=ws)
    assert not at.exception and at.session_state["ws"] == ws
    assert any(f"could not be read and was reset: {reset}." in i.value for i in at.info)
    assert at.session_state["data"]["dataset"] == "digits" and isinstance(at.session_state["training"], dict)
    assert (at.session_state.name if "name" in at.session_state else "") == ("Ada" if "history" in text else "")
    again = visit(ws=ws)  # repaired: said once
    assert not [i for i in again.info if "could not be read" in i.value]


def test_a_stale_second_tab_takes_in_the_newer_work_and_is_told(server):
    first = visit()
    add_a_layer(first)
    ws = first.session_state["ws"]
    tab_b = visit(ws=ws)  # opened before tab A's next change
    tab_b.session_state["selected"] = "hidden"
    tab_b.run()
    tab_a = visit(ws=ws)
    tab_a.session_state["selected"] = "hidden"
    tab_a.run()
    tab_a.button(key="add_BatchNormalization").click().run()
    a_spec = tab_a.session_state["spec"]
    tab_b.button(key="add_Dropout").click().run()  # B never reloaded
    # told (app.py draws the sentence on the next page; the browser test reads it there)
    assert tab_b.session_state["ws_notice"].startswith("This workspace changed in another tab")
    kinds = [n["type"] for n in saved_state(server, ws)["spec"]["nodes"]]
    a_kinds = [n["type"] for n in a_spec["nodes"]]
    assert kinds.count("BatchNormalization") == 1 and kinds.count("Dropout") == a_kinds.count("Dropout") + 1
    assert len(kinds) == len(a_kinds) + 1  # A's layer kept, B's added on top of it


def test_undo_after_a_template_brings_the_upload_back_and_the_data_page_lists_uploads(server):
    buf = io.BytesIO()
    rng = np.random.default_rng(0)
    np.savez(buf, x=rng.normal(size=(40, 3)).astype("float32"), y=np.arange(40) % 2)
    at = visit()
    at.switch_page("pages/data.py").run()
    at.segmented_control(key="data_source").set_value("Upload your own").run()
    at.radio(key="upload_kind").set_value("NumPy arrays (NPZ)").run()
    at.file_uploader(key="upload_npz").upload("my points.npz", buf.getvalue(), "application/octet-stream").run()
    at.button(key="upload_use").click().run()
    upload = at.session_state["data"]["dataset"]
    assert upload.startswith("upload:")
    at.switch_page("pages/build.py").run()
    at.selectbox(key="template_pick").set_value("playground-mlp").run()
    at.button(key="template_load").click().run()
    assert at.session_state["data"]["dataset"] == "spirals"
    at.button(key="undo").click().run()
    assert at.session_state["data"]["dataset"] == upload  # the model and the data came back together
    at.button(key="redo").click().run()
    assert at.session_state["data"]["dataset"] == "spirals"

    again = visit(ws=at.session_state["ws"])  # another day: the upload is listed by its file name
    again.switch_page("pages/data.py").run()
    again.segmented_control(key="data_source").set_value("Upload your own").run()
    pick = again.selectbox(key="upload_pick")
    assert pick.options == ["my points.npz"]
    again.button(key="upload_again").click().run()
    assert not again.exception and again.session_state["data"]["dataset"] == upload
    assert any("Using my points.npz again" in s.value for s in again.success)


def _stopped_script():
    from ui import live

    live.status_message({"status": "stopped", "stopped_by": "teacher", "epochs_done": 3})
    live.status_message({"status": "stopped", "epochs_done": 4})


def test_a_student_whose_run_the_teacher_stopped_is_told_so(server):
    at = AppTest.from_function(_stopped_script, default_timeout=30).run()
    assert [w.value.split(".")[0] for w in at.warning] == ["Stopped by the teacher after epoch 3",
                                                            "Stopped after epoch 4"]
