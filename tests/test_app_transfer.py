"""AppTest: the Build palette's Transfer menu and a pretrained base's settings."""
from __future__ import annotations

import urllib.error
from pathlib import Path

import keras
import pytest
from streamlit.testing.v1 import AppTest

from builder import pretrained

APP = str(Path(__file__).resolve().parent.parent / "app.py")
CANVAS = ":material/account_tree: Canvas"


@pytest.fixture(autouse=True)
def _setup(tmp_path, monkeypatch):
    from streamlit.components.v2 import manifest_scanner

    monkeypatch.setattr(manifest_scanner, "scan_component_manifests", lambda *a, **k: [])  # we use none
    monkeypatch.setenv("LAYERLAB_PRETRAINED_DIR", str(tmp_path / "store"))
    monkeypatch.setenv("LAYERLAB_HOME", str(tmp_path / "home"))


def _app(spec: dict, selected: str | None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["build_tab"] = CANVAS
    at.session_state["spec"] = spec
    at.session_state["data"] = {"dataset": "digits", "options": {}, "validation_split": 0.2, "test_split": 0.2}
    at.session_state["selected"] = selected
    at.session_state["welcome_dismissed"] = True
    return at.run()


def _spec(base_id: str) -> dict:
    return {"format": "layerlab/model@1", "name": "transfer", "nodes": [
        {"id": "image", "type": "Input", "params": {"shape": [8, 8, 1]}},
        {"id": "base", "type": "Pretrained", "params": {"model": base_id}, "inputs": ["image"]},
        {"id": "gap", "type": "GlobalAveragePooling2D", "inputs": ["base"]},
        {"id": "probs", "type": "Dense", "params": {"units": 10, "activation": "softmax"}, "inputs": ["gap"]}]}


def test_settings_describe_the_base_and_offer_the_freeze_options(tmp_path):
    inp = keras.Input((8, 8, 1))
    keras.Model(inp, keras.layers.Conv2D(4, 3, name="c1")(inp), name="mine").save(tmp_path / "b.keras")
    at = _app(_spec(pretrained.store_file(tmp_path / "b.keras")), "base")
    assert not at.exception, [e.value for e in at.exception]
    assert any("**mine** · input (8, 8, 1) → output (6, 6, 4) · 40 weights · 1 layer" in c.value for c in at.caption)
    assert not any(t.label == "model" for t in at.text_input)  # the base is named by its source, not its id
    freeze = next(s for s in at.selectbox if s.label == "freeze")
    assert freeze.value == "all" and freeze.options == ["all", "none", "from"]
    freeze.set_value("from").run()
    node = next(n for n in at.session_state["spec"]["nodes"] if n["id"] == "base")
    assert node["params"]["freeze"] == "from"
    assert any("freeze 'from': name the first layer that learns" in e.value for e in at.error)
    start = next(s for s in at.selectbox if s.label == "unfreeze from")  # the base's own layers, not free text
    assert start.options == ["c1"] and start.value is None
    start.set_value("c1").run()
    node = next(n for n in at.session_state["spec"]["nodes"] if n["id"] == "base")
    assert node["params"] == {"model": node["params"]["model"], "freeze": "from", "unfreeze_from": "c1"}
    assert not any("name the first layer" in e.value for e in at.error)


def test_an_application_without_its_weights_offline_is_said_plainly(tmp_path, monkeypatch):
    from keras.src.backend import config
    from keras.src.utils import file_utils

    def offline(*args, **kwargs):
        raise urllib.error.URLError("no route to host")

    monkeypatch.setattr(config, "_KERAS_DIR", str(tmp_path / "keras-home"))  # nothing cached
    monkeypatch.setattr(file_utils, "urlretrieve", offline)
    spec = _spec("")
    at = _app(spec, None)
    at.button(key="base_add_app").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.session_state["spec"]["nodes"] == spec["nodes"]  # nothing added
    assert any("could not get the ImageNet weights of MobileNetV2" in e.value and "offline" in e.value
               for e in at.error)


def _upload_script(raw: bytes):
    import streamlit as st

    from ui import state, transfer

    state.init()
    st.session_state["added"] = transfer._ready(lambda: transfer._store_upload(raw, "mine.keras"))


def test_an_uploaded_base_counts_against_the_workspace_budgets(tmp_path, monkeypatch):
    raws = []
    for units in (4, 5):
        inp = keras.Input((8, 8, 1))
        keras.Model(inp, keras.layers.Conv2D(units, 3, name="c1")(inp), name="mine").save(tmp_path / "b.keras")
        raws.append((tmp_path / "b.keras").read_bytes())
    at = AppTest.from_function(_upload_script, args=(raws[0],), default_timeout=60).run()
    assert not at.exception, [e.value for e in at.exception]
    base_id, ws = at.session_state["added"]["model"], at.session_state["ws"]
    assert pretrained.info(base_id).title == "mine"
    from builder.workspace import Workspaces

    assert Workspaces(tmp_path / "home").load(ws)["uploads"] == [{"id": base_id, "bytes": len(raws[0]), "name": "mine.keras"}]
    monkeypatch.setenv("LAYERLAB_MAX_WORKSPACE_UPLOADS", "1")
    at = AppTest.from_function(_upload_script, args=(raws[1],), default_timeout=60)
    at.query_params["ws"] = ws
    at.run()
    assert at.session_state["added"] is None
    assert "Could not add the pretrained base: Your workspace already keeps 1 uploads" in at.session_state["build_error"]
