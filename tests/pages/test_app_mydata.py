"""AppTest: the Data page's My data section — classes, webcam snapshots, files, thumbnails, use this data."""
from __future__ import annotations

import copy
import io
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest
from test_data_page import IRIS_MLP

from builder.experiments import experiment
from builder.store.workspace import Workspaces
from datasets import audio, classes

TIMEOUT = 60
APP = str(Path(__file__).resolve().parents[2] / "app.py")


@pytest.fixture(autouse=True)
def _env(monkeypatch, tmp_path):
    from streamlit.components.v2 import manifest_scanner

    monkeypatch.setattr(manifest_scanner, "scan_component_manifests", lambda *a, **k: [])
    monkeypatch.setenv("LAYERLAB_UPLOADS_DIR", str(tmp_path / "uploads"))


def picture(colour, fmt="PNG", size=(64, 48)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, fmt)
    return buffer.getvalue()


def my_data_page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["data"] = {"dataset": "iris", "options": {}, "validation_split": 0.2, "test_split": 0.2}
    at.session_state["spec"] = copy.deepcopy(IRIS_MLP)
    at.switch_page("pages/data.py").run()
    at.segmented_control(key="data_source").set_value("My data").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def add_class(at: AppTest, name: str) -> None:
    at.text_input(key="mydata_new_class").set_value(name)
    at.button(key="mydata_add_class").click().run()
    assert not at.exception, [e.value for e in at.exception]


def own(at: AppTest) -> classes.ClassFolder:
    ws = at.session_state["ws"]
    return classes.ClassFolder(Workspaces(os.environ["LAYERLAB_HOME"]).folder(ws) / classes.HOME)


def snapshot(at: AppTest, colour) -> None:
    camera = next(c for c in at.camera_input if c.key.startswith("mydata_camera_"))
    camera.set_value(("shot.jpg", picture(colour, "JPEG"), "image/jpeg")).run()
    assert not at.exception, [e.value for e in at.exception]


def test_classes_filled_by_snapshots_show_thumbnails_counts_and_warnings():
    at = my_data_page()
    add_class(at, "thumbs up")
    add_class(at, "nothing")
    assert own(at).classes() == ["nothing", "thumbs up"]
    assert at.selectbox(key="mydata_class").value == "nothing"  # the class just made
    for _ in range(3):
        snapshot(at, "white")  # several in a row: each goes in, the camera comes back empty
    at.selectbox(key="mydata_class").set_value("thumbs up").run()
    snapshot(at, "black")
    assert own(at).counts() == {"nothing": 3, "thumbs up": 1}
    assert any("Snapshot added to “thumbs up”" in s.value for s in at.success)
    shown = [b.key for b in at.button if b.key.startswith("mydata_x_")]
    assert sorted(shown) == ["mydata_x_nothing_1.png", "mydata_x_nothing_2.png", "mydata_x_nothing_3.png",
                             "mydata_x_thumbs up_1.png"]
    assert "**nothing** · 3 examples" in [m.value for m in at.markdown]
    warnings = [w.value for w in at.warning]
    assert "'thumbs up' has 1 example; give every class at least 10." in warnings
    assert any("unbalanced (1 to 3 examples)" in w for w in warnings)
    at.button(key="mydata_x_nothing_2.png").click().run()
    assert [p.name for p in own(at).examples("nothing")] == ["1.png", "3.png"]


def test_rename_delete_and_a_refused_name_keep_the_pictures():
    at = my_data_page()
    add_class(at, "cats")
    snapshot(at, "white")
    at.text_input(key="mydata_rename_cats").set_value("kittens").run()
    assert own(at).counts() == {"kittens": 1}
    at.text_input(key="mydata_rename_kittens").set_value("../up").run()
    assert own(at).counts() == {"kittens": 1}
    assert any("cannot name a class" in e.value for e in at.error)
    assert at.text_input(key="mydata_rename_kittens").value == "kittens"
    add_class(at, "Kittens")
    assert any("already a class 'kittens'" in e.value for e in at.error)
    at.button(key="mydata_delete_kittens").click().run()
    assert own(at).classes() == []


def test_many_files_and_a_zip_are_added_and_the_data_is_used_with_the_transfer_template():
    at = my_data_page()
    add_class(at, "light")
    uploader = next(f for f in at.file_uploader if f.key.startswith("mydata_files_"))
    for i in range(12):
        uploader.upload(f"l{i}.png", picture("white"), "image/png")
    uploader.upload("notes.png", b"not a picture", "image/png")
    at.run()
    at.button(key="mydata_add_files").click().run()
    assert any("12 pictures added. Skipped 1" in s.value for s in at.success)
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        for i in range(12):
            zf.writestr(f"dark/{i}.png", picture("black"))
    uploader = next(f for f in at.file_uploader if f.key.startswith("mydata_files_"))
    uploader.upload("more.zip", archive.getvalue(), "application/zip").run()
    at.button(key="mydata_add_files").click().run()
    assert own(at).counts() == {"dark": 12, "light": 12}
    assert not at.warning
    at.button(key="mydata_use").click().run()
    assert not at.exception, [e.value for e in at.exception]
    upload_id = at.session_state["upload_id"]
    assert at.session_state["data"]["dataset"] == f"upload:{upload_id}"
    assert {m.label: m.value for m in at.metric}["Examples"] == "24"
    names = [u["name"] for u in own_uploads(at)]
    assert names == ["My data: my-data (28 px, grey)"]
    at.button(key="mydata_template").click().run()
    assert not at.exception, [e.value for e in at.exception]
    spec = at.session_state["spec"]
    assert any(n["type"] == "Pretrained" for n in spec["nodes"])
    assert next(n for n in spec["nodes"] if n["id"] == "probs")["params"]["units"] == 2
    assert at.session_state["data"]["dataset"] == f"upload:{upload_id}"
    assert experiment.check(_experiment(at)) == []
    reopened = AppTest.from_file(APP, default_timeout=TIMEOUT)
    reopened.query_params["ws"] = at.session_state["ws"]
    reopened.switch_page("pages/data.py").run()
    assert reopened.segmented_control(key="data_source").value == "My data"  # the data in use is My data
    snapshot(at, "white")  # a changed folder makes a new upload that replaces the old one in the list
    at.button(key="mydata_use").click().run()
    assert [u["name"] for u in own_uploads(at)] == names and at.session_state["upload_id"] != upload_id


def own_uploads(at):
    return Workspaces(os.environ["LAYERLAB_HOME"]).uploads(at.session_state["ws"])


def _experiment(at) -> dict:
    return {"format": "layerlab/experiment@1", "model": at.session_state["spec"], "data": at.session_state["data"],
            "augmentation": at.session_state["augmentation"], "training": at.session_state["training"]}


def test_the_picture_budget_refuses_a_bomb_snapshot_in_plain_words(monkeypatch):
    at = my_data_page()
    add_class(at, "a")
    monkeypatch.setenv("LAYERLAB_MAX_IMAGE_PIXELS", "1000")
    snapshot(at, "white")
    assert any("LAYERLAB_MAX_IMAGE_PIXELS" in e.value for e in at.error)
    assert own(at).counts() == {"a": 0}


# -- sounds and texts ------------------------------------------------------------------------


def wav(freq: float, seconds: float = 1.5, rate: int = 16_000) -> bytes:
    t = np.arange(int(rate * seconds)) / rate
    buffer = io.BytesIO()
    audio.write_wav(buffer, 0.5 * np.sin(2 * np.pi * freq * t) * (t > 0.4), rate)  # a pause, then the tone
    return buffer.getvalue()


def record(at: AppTest, raw: bytes, name: str = "rec.wav") -> None:
    mic = next(a for a in at.get("audio_input") if a.key.startswith("mydata_mic_"))
    mic.set_value((name, raw, "audio/wav")).run()
    assert not at.exception, [e.value for e in at.exception]


def sounds_page() -> AppTest:
    at = my_data_page()
    at.segmented_control(key="mydata_kind").set_value("Sounds").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def own_sounds(at: AppTest) -> classes.SoundFolder:
    return classes.SoundFolder(own(at).mydata)


def test_recordings_fill_sound_classes_with_a_player_each_and_train_with_the_sound_template():
    at = sounds_page()
    add_class(at, "high")
    add_class(at, "low")
    assert at.selectbox(key="mydata_class").value == "low"
    for _ in range(3):  # several in a row: each is kept, the recorder comes back empty
        record(at, wav(300))
    assert any("Clip added to “low”" in s.value for s in at.success)
    at.selectbox(key="mydata_class").set_value("high").run()
    record(at, wav(3000))
    assert own_sounds(at).counts() == {"high": 1, "low": 3} and own(at).counts() == {}  # pictures stay apart
    assert sorted(b.key for b in at.button if b.key.startswith("mydata_x_")) == [
        "mydata_x_high_1.wav", "mydata_x_low_1.wav", "mydata_x_low_2.wav", "mydata_x_low_3.wav"]
    assert len(at.get("audio")) == 4 and "**low** · 3 examples" in [m.value for m in at.markdown]
    assert any("unbalanced (1 to 3 examples)" in w.value for w in at.warning)
    at.button(key="mydata_x_low_2.wav").click().run()
    assert [p.name for p in own_sounds(at).examples("low")] == ["1.wav", "3.wav"]
    record(at, b"OggS" + bytes(100))  # a browser that records OGG under a .wav name: refused in plain words
    assert any("not a WAV file" in e.value for e in at.error) and own_sounds(at).counts()["high"] == 1
    at.button(key="mydata_use").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert [u["name"] for u in own_uploads(at)] == ["My data: my-sounds (sounds)"]
    assert {m.label: m.value for m in at.metric}["Examples"] == "3"
    assert len(at.get("audio")) >= 1 and at.number_input(key="sound_clip").value == 0  # the data view plays a clip
    heat = next(c for c in at.get("plotly_chart") if "spectrogram" in c.proto.id or c.key == "spectrogram")
    assert '"heatmap"' in heat.proto.spec and "frequency (Hz)" in heat.proto.spec
    at.button(key="mydata_template").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(n["type"] == "MelSpectrogram" for n in at.session_state["spec"]["nodes"])
    assert experiment.check(_experiment(at)) == []


def test_pasted_lines_per_class_become_a_text_dataset_with_the_row_budget(monkeypatch):
    at = my_data_page()
    at.segmented_control(key="mydata_kind").set_value("Texts").run()
    at.text_input(key="mytext_name_0").set_value("happy")
    at.text_input(key="mytext_name_1").set_value("Happy").run()
    assert at.button(key="mydata_use").disabled  # the same name twice
    at.text_input(key="mytext_name_1").set_value("sad")
    at.text_area(key="mytext_lines_0").set_value("what a lovely day\nI love it\n\n")
    at.text_area(key="mytext_lines_1").set_value("this is awful\nI hate rain\nso gloomy").run()
    assert "2 examples" in [c.value for c in at.caption] and "3 examples" in [c.value for c in at.caption]
    assert any("'happy' has 2 examples" in w.value for w in at.warning)
    at.segmented_control(key="mydata_kind").set_value("Pictures").run()  # away and back: the lines are kept
    at.segmented_control(key="mydata_kind").set_value("Texts").run()
    assert at.text_area(key="mytext_lines_1").value == "this is awful\nI hate rain\nso gloomy"
    monkeypatch.setenv("LAYERLAB_MAX_TEXT_CHARS", "12")
    at.button(key="mydata_use").click().run()
    assert any("LAYERLAB_MAX_TEXT_CHARS" in e.value for e in at.error) and not own_uploads(at)
    monkeypatch.delenv("LAYERLAB_MAX_TEXT_CHARS")
    at.button(key="mydata_use").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert [u["name"] for u in own_uploads(at)] == ["My data: texts"]
    assert {m.label: m.value for m in at.metric}["Examples"] == "5"
    at.button(key="mydata_template").click().run()
    assert any(n["type"] == "TextVectorization" for n in at.session_state["spec"]["nodes"])
