"""AppTest for the Data page: picking a dataset changes the session's data, uploads, augmentation, model fit."""
from __future__ import annotations

import copy
import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

TIMEOUT = 60
APP = str(Path(__file__).resolve().parents[2] / "app.py")

IRIS_MLP = {
    "format": "layerlab/model@1", "name": "iris-mlp",
    "nodes": [
        {"id": "x", "type": "Input", "params": {"shape": [4]}},
        {"id": "probs", "type": "Dense", "params": {"units": 3, "activation": "softmax"}, "inputs": ["x"]},
    ],
}


@pytest.fixture(autouse=True)
def _env(monkeypatch, tmp_path):
    from streamlit.components.v2 import manifest_scanner

    monkeypatch.setattr(manifest_scanner, "scan_component_manifests", lambda *a, **k: [])
    monkeypatch.setenv("LAYERLAB_UPLOADS_DIR", str(tmp_path / "uploads"))


def _data_page(dataset: str = "iris", spec: dict | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["data"] = {"dataset": dataset, "options": {}, "validation_split": 0.2, "test_split": 0.2}
    at.session_state["spec"] = copy.deepcopy(spec or IRIS_MLP)
    at.switch_page("pages/data.py").run()  # straight to the page, without drawing Build first
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_picking_a_dataset_changes_the_session_data_and_shows_split_sizes():
    at = _data_page("iris")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Examples"] == "150"
    assert metrics["Test"] == "30" and metrics["Validation"] == "30" and metrics["Training"] == "90"
    assert any("fits this data and is ready to train" in s.value for s in at.success)
    at.selectbox(key="data_pick").set_value("moons").run()
    assert not at.exception
    assert at.session_state["data"]["dataset"] == "moons"
    assert at.session_state["data"]["options"] == {}
    # the engine's verdict, the same list Train shows, each problem on its node with a fix
    listed = [m.value for m in at.markdown if m.value.startswith("**")]
    assert any(t.startswith("**x**: data shape [2] does not match") for t in listed)
    assert any(t.startswith("**probs**: has 3 units but the data has 2 classes") for t in listed)
    assert {b.label for b in at.button if b.key.startswith("data_fix_")} == {"Set x: shape 2",
                                                                               "Set probs: units 2, activation softmax"}


def test_fit_button_sets_the_model_input_to_the_data_shape():
    at = _data_page("wine")
    at.button(key="data_fix_0").click().run()
    assert not at.exception
    assert at.session_state["spec"]["nodes"][0]["params"]["shape"] == [13]
    assert at.session_state["history"][-1] == IRIS_MLP  # undoable from the Build page


def test_generator_options_are_stored_in_the_data_settings():
    at = _data_page("moons")
    at.number_input(key="opt_moons.n_samples").set_value(200).run()
    assert not at.exception
    assert at.session_state["data"]["options"] == {"n_samples": 200}
    assert {m.label: m.value for m in at.metric}["Examples"] == "200"


def test_unavailable_keras_dataset_shows_the_offline_message():
    at = _data_page("cifar10")
    assert not at.exception
    assert at.warning and at.error  # the card warns, the loader refuses in plain words
    assert at.session_state["data"]["dataset"] == "cifar10"


def _upload_npz(name: str, x: np.ndarray, y: np.ndarray) -> AppTest:
    """The Data page after uploading x and y as an NPZ file and pressing "Use this data"."""
    buf = io.BytesIO()
    np.savez(buf, x=x, y=y)
    at = _data_page("iris")
    at.segmented_control(key="data_source").set_value("Upload your own").run()
    at.radio(key="upload_kind").set_value("NumPy arrays (NPZ)").run()
    at.file_uploader(key="upload_npz").upload(name, buf.getvalue(), "application/octet-stream").run()
    at.button(key="upload_use").click().run()
    assert not at.exception
    return at


def test_npz_upload_becomes_the_session_dataset():
    rng = np.random.default_rng(0)
    at = _upload_npz("points.npz", rng.normal(size=(40, 3)).astype("float32"), np.arange(40) % 2)
    upload_id = at.session_state["upload_id"]
    assert upload_id and at.session_state["data"]["dataset"] == f"upload:{upload_id}"
    assert {m.label: m.value for m in at.metric}["Examples"] == "40"


def test_bad_upload_shows_an_error_and_keeps_the_data():
    at = _data_page("iris")
    at.segmented_control(key="data_source").set_value("Upload your own").run()
    at.radio(key="upload_kind").set_value("NumPy arrays (NPZ)").run()
    at.file_uploader(key="upload_npz").upload("broken.npz", b"not a zip at all", "application/octet-stream").run()
    at.button(key="upload_use").click().run()
    assert not at.exception
    assert any("broken.npz" in e.value for e in at.error)
    assert at.session_state["data"]["dataset"] == "iris"


def test_augmentation_choice_is_stored_as_entries():
    at = _data_page("digits", spec={**IRIS_MLP, "nodes": [{"id": "x", "type": "Input", "params": {"shape": [8, 8, 1]}}]})
    at.multiselect(key="aug_pick").set_value(["RandomRotation"]).run()
    assert not at.exception
    entries = at.session_state["augmentation"]
    assert [e["type"] for e in entries] == ["RandomRotation"]


def test_csv_upload_with_a_chosen_target_column():
    rows = ["a,b,label"] + [f"{i},{i % 3},{'yes' if i % 2 else 'no'}" for i in range(30)]
    at = _data_page("iris")
    at.segmented_control(key="data_source").set_value("Upload your own").run()
    at.file_uploader(key="upload_csv").upload("t.csv", "\n".join(rows).encode(), "text/csv").run()
    assert at.selectbox(key="csv_target").value == "label"  # the last column by default
    at.button(key="upload_use").click().run()
    assert not at.exception
    assert at.session_state["data"]["dataset"].startswith("upload:")
    assert {m.label: m.value for m in at.metric}["Examples"] == "30"
    whole = AppTest.from_file(APP, default_timeout=TIMEOUT)  # the whole app, with its sidebar
    whole.session_state["data"], whole.session_state["spec"] = at.session_state["data"], copy.deepcopy(IRIS_MLP)
    whole.session_state["welcome_dismissed"] = True
    whole.run()
    assert "**Data:** `t.csv`" in [m.value for m in whole.sidebar.markdown]  # by its file, not upload:3b7f…


def test_an_offline_keras_set_offers_the_nearest_built_in_one(monkeypatch, tmp_path):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))  # an empty Keras cache: MNIST is not here
    at = _data_page("iris")
    needs_download = ["needs a download" in label for label in at.selectbox(key="data_pick").options]
    assert needs_download == sorted(needs_download) and needs_download[-1]  # the offline sets come first
    at.selectbox(key="data_pick").set_value("mnist").run()
    assert not at.exception
    assert any("not available offline" in w.value for w in at.warning)
    at.button(key="use_stand_in").click().run()
    assert not at.exception
    assert at.session_state["data"]["dataset"] == "digits"


def test_a_small_picture_upload_gets_size_defaults_in_view_and_warns_about_small_classes():
    rng = np.random.default_rng(0)  # the upload: 60 pictures in 3 classes
    at = _upload_npz("pics.npz", rng.random((60, 8, 8, 1)).astype("float32"), np.arange(60) % 3)
    assert at.session_state["training"]["epochs"] == 60
    assert [a["type"] for a in at.session_state["augmentation"]] == ["RandomFlip", "RandomRotation"]
    [notice] = [s.value for s in at.success if s.value.startswith("Using pics.npz")]
    assert "60 times (epochs)" in notice and "Augmentation is on" in notice and "“Transfer learning”" in notice
    warnings = [w.value for w in at.warning]
    assert [w for w in warnings if w.startswith("Class ")] == [
        f"Class '{c}' has only 20 examples; give it at least 30 (more is better), or the model will rarely learn it."
        for c in ("0", "1", "2")]


def test_a_text_table_and_a_zip_of_wav_folders_are_uploaded_as_text_and_sound():
    from datasets import audio

    rows = ["id,review,mood"] + [f"{i},{'what a lovely day' if i % 2 else 'rain again so gloomy'} {i},"
                                 f"{'happy' if i % 2 else 'sad'}" for i in range(20)]
    at = _data_page("iris")
    at.segmented_control(key="data_source").set_value("Upload your own").run()
    at.radio(key="upload_kind").set_value("Text table (CSV)").run()
    at.file_uploader(key="upload_csv").upload("reviews.csv", "\n".join(rows).encode(), "text/csv").run()
    at.selectbox(key="text_column").set_value("review").run()
    assert at.selectbox(key="text_target").options == ["id", "mood"]
    at.selectbox(key="text_target").set_value("mood")
    at.button(key="upload_use").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert {m.label: m.value for m in at.metric}["Examples"] == "20"
    table = at.dataframe[0].value
    assert list(table.columns) == ["target", "text"] and set(table["target"]) == {"happy", "sad"}
    assert all(t.startswith(("what a lovely day", "rain again")) for t in table["text"])

    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        for label, freq in (("high", 3000), ("low", 200)):
            for i in range(4):
                clip = io.BytesIO()
                audio.write_wav(clip, 0.5 * np.sin(2 * np.pi * freq * np.arange(8000) / 8000), 8000)
                zf.writestr(f"{label}/{i}.wav", clip.getvalue())
    at.radio(key="upload_kind").set_value("Sound folders (ZIP)").run()
    at.file_uploader(key="upload_sound_zip").upload("clips.zip", archive.getvalue(), "application/zip").run()
    at.button(key="upload_use").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert {m.label: m.value for m in at.metric}["Examples"] == "8"
    assert at.number_input(key="sound_clip").value == 0 and len(at.get("audio")) == 1
    assert any("1 s at 16,000 Hz" in c.value for c in at.caption)  # brought to one rate and length
