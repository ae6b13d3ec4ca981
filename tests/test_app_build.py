"""AppTest for the Build page: widgets edit the spec, undo/redo, errors on nodes, templates, JSON loading."""
from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

TIMEOUT = 60
APP = str(Path(__file__).resolve().parent.parent / "app.py")

MLP = {
    "format": "layerlab/model@1",
    "name": "tiny-mlp",
    "nodes": [
        {"id": "x", "type": "Input", "params": {"shape": [4]}},
        {"id": "hidden", "type": "Dense", "params": {"units": 8, "activation": "relu"}, "inputs": ["x"]},
        {"id": "probs", "type": "Dense", "params": {"units": 3, "activation": "softmax"}, "inputs": ["hidden"]},
    ],
}


TAB = {"canvas": ":material/account_tree: Canvas", "list": ":material/list: Layer list",
       "code": ":material/code: Python code", "summary": ":material/table_chart: Summary",
       "files": ":material/save: Save / load"}


@pytest.fixture(autouse=True)
def _skip_component_scan(monkeypatch):
    """AppTest scans every installed package for v2 components (~1 s per app); we use none."""
    from streamlit.components.v2 import manifest_scanner

    monkeypatch.setattr(manifest_scanner, "scan_component_manifests", lambda *a, **k: [])


def _app(spec: dict | None = None, selected: str | None = None, tab: str = "canvas") -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["build_tab"] = TAB[tab]
    if spec is not None:
        at.session_state["spec"] = copy.deepcopy(spec)
        at.session_state["data"] = {"dataset": "iris", "options": {}, "validation_split": 0.2, "test_split": 0.2}
    at.session_state["selected"] = selected
    at.session_state["welcome_dismissed"] = True
    return at.run()


def _no_exception(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def test_first_visit_loads_a_model_that_fits_the_default_dataset():
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    _no_exception(at)
    spec = at.session_state["spec"]
    assert at.session_state["data"]["dataset"] == "digits"
    first = spec["nodes"][0]
    assert first["type"] == "Input" and first["params"]["shape"] == [8, 8, 1]
    assert any("Welcome" in m.value for m in at.markdown)
    assert any("Ready to train" in s.value for s in at.success)


def test_palette_adds_a_connected_layer_and_undo_redo_restore_it():
    at = _app(MLP, selected="hidden")
    at.button(key="add_Dropout").click().run()
    _no_exception(at)
    nodes = {n["id"]: n for n in at.session_state["spec"]["nodes"]}
    assert nodes["dropout_1"]["inputs"] == ["hidden"]
    assert nodes["dropout_1"]["params"] == {"rate": 0.5}
    assert at.session_state["selected"] == "dropout_1"
    at.button(key="undo").click().run()
    assert at.session_state["spec"] == MLP
    at.button(key="redo").click().run()
    assert "dropout_1" in {n["id"] for n in at.session_state["spec"]["nodes"]}


def test_side_panel_widget_changes_the_param_and_the_shape():
    at = _app(MLP, selected="hidden")
    version = at.session_state["spec_version"]
    at.number_input(key=f"side_hidden_{version}.units").set_value(16).run()
    _no_exception(at)
    hidden = at.session_state["spec"]["nodes"][1]
    assert hidden["params"]["units"] == 16
    assert hidden["params"]["activation"] == "relu"
    # summary table: 4*16+16 params in 'hidden', 16*3+3 in 'probs'
    at.session_state["build_tab"] = TAB["summary"]
    at.run()
    table = at.dataframe[0].value
    counts = dict(zip(table["layer"], table["params"], strict=True))
    assert counts["hidden"] == 80 and counts["probs"] == 51


def test_invalid_spec_shows_the_error_on_the_node():
    bad = copy.deepcopy(MLP)
    bad["nodes"][1]["type"] = "Conv2D"  # a 2-D convolution cannot take 4 numbers
    bad["nodes"][1]["params"] = {"filters": 4, "kernel_size": [3, 3]}
    at = _app(bad, selected="hidden")
    _no_exception(at)
    errors = " ".join(e.value for e in at.error)
    assert "problem" in errors  # the toolbar and the sidebar say the model has problems
    assert "rank 4" in errors  # the selected layer's own panel shows its problem
    listed = [m.value for m in at.markdown if m.value.startswith("**hidden**:")]
    assert listed and "Reshape" in listed[0]  # the list under the canvas names the node and the fix


def test_input_order_buttons_reorder_a_merge():
    spec = {
        "format": "layerlab/model@1", "name": "merge",
        "nodes": [
            {"id": "a", "type": "Input", "params": {"shape": [4]}},
            {"id": "b", "type": "Input", "params": {"shape": [6]}},
            {"id": "cat", "type": "Concatenate", "inputs": ["a", "b"]},
            {"id": "out", "type": "Dense", "params": {"units": 1}, "inputs": ["cat"]},
        ],
    }
    at = _app(spec, selected="cat")
    version = at.session_state["spec_version"]
    at.button(key=f"side_cat_{version}.down0").click().run()
    _no_exception(at)
    assert at.session_state["spec"]["nodes"][2]["inputs"] == ["b", "a"]
    at.button(key="undo").click().run()
    assert at.session_state["spec"]["nodes"][2]["inputs"] == ["a", "b"]


def test_delete_layer_takes_it_out_of_its_chain():
    at = _app(MLP, selected="hidden")
    version = at.session_state["spec_version"]
    at.button(key=f"side_hidden_{version}.delete").click().run()
    _no_exception(at)
    spec = at.session_state["spec"]
    assert [n["id"] for n in spec["nodes"]] == ["x", "probs"]
    assert spec["nodes"][1]["inputs"] == ["x"]  # what the deleted layer fed now takes its input
    assert at.session_state["selected"] is None


def test_template_load_replaces_the_model_and_undo_brings_it_back():
    at = _app(MLP)
    at.selectbox(key="template_pick").set_value("playground-mlp").run()
    at.button(key="template_load").click().run()
    _no_exception(at)
    assert at.session_state["spec"]["name"] == "playground-mlp"
    at.button(key="undo").click().run()
    assert at.session_state["spec"] == MLP


@pytest.mark.parametrize("content, words", [
    (b'{"format": "layerlab/model@1", "nodes": [', "not valid JSON"),
    (json.dumps({"format": "layerlab/model@1", "nodes": [
        {"id": "x", "type": "Input", "params": {"shape": [4]}},
        {"id": "d", "type": "Dense", "params": {"units": -3}, "inputs": ["x"]}]}).encode(), "units"),
])
def test_bad_json_upload_shows_an_error_and_keeps_the_model(content, words):
    at = _app(MLP, tab="files")
    at.file_uploader(key="upload_json").upload("broken.json", content, "application/json").run()
    at.button(key="load_json").click().run()
    _no_exception(at)
    errors = " ".join(e.value for e in at.error)
    assert "unchanged" in errors and words in errors
    assert at.session_state["spec"] == MLP


def test_good_json_upload_replaces_the_model():
    other = copy.deepcopy(MLP)
    other["name"] = "from-file"
    at = _app(MLP, tab="files")
    at.file_uploader(key="upload_json").upload("m.json", json.dumps(other).encode(), "application/json").run()
    at.button(key="load_json").click().run()
    _no_exception(at)
    assert at.session_state["spec"]["name"] == "from-file"


def test_fallback_list_editor_adds_and_moves_layers():
    at = _app(MLP, tab="list")
    version = at.session_state["spec_version"]
    at.selectbox(key="list_add_type").set_value("Dropout").run()
    at.button(key="list_add").click().run()
    _no_exception(at)
    ids = [n["id"] for n in at.session_state["spec"]["nodes"]]
    assert ids == ["x", "hidden", "probs", "dropout_1"]
    assert at.session_state["spec"]["nodes"][3]["inputs"] == ["probs"]
    version = at.session_state["spec_version"]
    at.button(key=f"list_up_dropout_1_{version}").click().run()
    assert [n["id"] for n in at.session_state["spec"]["nodes"]] == ["x", "hidden", "dropout_1", "probs"]


def test_code_tab_shows_the_keras_script_of_the_model():
    at = _app(MLP, tab="code")
    _no_exception(at)
    code = at.code[0].value
    assert "def build_model" in code and "Dense(" in code and "'hidden'" in code.replace('"', "'")


def test_experiment_json_round_trip_restores_data_and_training():
    exp = {
        "format": "layerlab/experiment@1",
        "model": {**MLP, "name": "from-experiment"},
        "data": {"dataset": "wine", "validation_split": 0.1, "test_split": 0.3},
        "augmentation": [],
        "training": {"epochs": 3, "batch_size": 16},
    }
    at = _app(MLP, tab="files")
    at.file_uploader(key="upload_json").upload("exp.json", json.dumps(exp).encode(), "application/json").run()
    at.button(key="load_json").click().run()
    _no_exception(at)
    assert at.session_state["spec"]["name"] == "from-experiment"
    assert at.session_state["data"]["dataset"] == "wine" and at.session_state["data"]["test_split"] == 0.3
    assert at.session_state["training"] == {"epochs": 3, "batch_size": 16}


def test_keras_import_of_a_broken_file_is_refused_in_words():
    at = _app(MLP, tab="files")
    at.file_uploader(key="upload_keras").upload("model.keras", b"PK\x03\x04 not really a zip", "application/zip").run()
    at.button(key="load_keras").click().run()
    _no_exception(at)
    assert any("model.keras" in e.value and "unchanged" in e.value for e in at.error)
    assert at.session_state["spec"] == MLP


def test_opening_a_padding_layer_form_keeps_its_pairs():
    """Paddings are pairs ([[top, bottom], [left, right]]): the form shows them as JSON and leaves them be."""
    spec = {"format": "layerlab/model@1", "name": "pad", "nodes": [
        {"id": "x", "type": "Input", "params": {"shape": [8, 8, 1]}},
        {"id": "pad", "type": "ZeroPadding2D", "params": {"padding": [[1, 2], [3, 4]]}, "inputs": ["x"]}]}
    at = _app(spec, selected="pad")
    _no_exception(at)
    assert at.session_state["spec"]["nodes"][1]["params"] == {"padding": [[1, 2], [3, 4]]}
    box = next(t for t in at.text_input if t.key.endswith(".padding"))
    assert json.loads(box.value) == [[1, 2], [3, 4]]
    box.input("[[0, 0], [2, 2]]").run()
    _no_exception(at)
    assert at.session_state["spec"]["nodes"][1]["params"] == {"padding": [[0, 0], [2, 2]]}


def test_the_convolution_form_edits_dilation_and_names_a_clash_with_strides():
    spec = {"format": "layerlab/model@1", "name": "dilated", "nodes": [
        {"id": "x", "type": "Input", "params": {"shape": [16, 16, 1]}},
        {"id": "conv", "type": "Conv2D", "params": {"filters": 4, "kernel_size": [3, 3], "dilation_rate": [2, 2]},
         "inputs": ["x"]}]}
    at = _app(spec, selected="conv")
    _no_exception(at)
    box = next(t for t in at.text_input if t.key.endswith(".dilation_rate"))
    assert box.value == "2, 2"
    box.input("4, 1").run()
    _no_exception(at)
    assert at.session_state["spec"]["nodes"][1]["params"]["dilation_rate"] == [4, 1]
    next(t for t in at.text_input if t.key.endswith(".strides")).input("2, 2").run()
    _no_exception(at)
    assert "a Conv2D cannot have both strides and dilation_rate above 1" in " ".join(e.value for e in at.error)


def test_new_model_is_sized_to_the_data_and_a_changed_template_gets_its_own_name():
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()  # first visit: the digits template
    template_name = at.session_state["spec"]["name"]
    at.session_state["welcome_dismissed"] = True
    at.run()
    at.button(key="new_model").click().run()
    _no_exception(at)
    spec = at.session_state["spec"]
    assert spec["name"] == "my-model" and spec["name"] != template_name
    assert spec["nodes"][0]["params"]["shape"] == [8, 8, 1] and spec["nodes"][-1]["params"]["units"] == 10
    assert any("Ready to train" in s.value for s in at.success)  # already trainable, no empty-model message
    at.button(key="undo").click().run()
    assert at.session_state["spec"]["name"] == template_name
    at.session_state["selected"] = at.session_state["spec"]["nodes"][1]["id"]
    at.run()
    at.button(key="add_Dropout").click().run()
    assert at.session_state["spec"]["name"] == "my-model"  # no longer the template: a name of its own
