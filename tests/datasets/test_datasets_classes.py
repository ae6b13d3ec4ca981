"""My data: a workspace's own class folders (datasets/classes.py) — classes, examples, caps, the Dataset."""
import io
import json
import zipfile

import numpy as np
import pytest
from PIL import Image

from datasets import audio, classes
from datasets.classes import ClassError, ClassFolder, SoundFolder


def png(colour, size=(40, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture
def folder(tmp_path):
    return ClassFolder(tmp_path / "ws" / "mydata")


def test_classes_are_added_renamed_and_deleted_as_plain_folders(folder):
    assert folder.add_class("  thumbs   up ") == "thumbs up"
    folder.add_class("nothing")
    assert folder.classes() == ["nothing", "thumbs up"]
    with pytest.raises(ClassError, match="already a class 'nothing'"):
        folder.add_class("Nothing")
    folder.add_example("thumbs up", png("white"))
    assert folder.rename_class("thumbs up", "up") == "up"
    assert folder.counts() == {"nothing": 0, "up": 1}
    assert (folder.root / "up" / "1.png").is_file()
    folder.delete_class("nothing")
    assert folder.classes() == ["up"]
    with pytest.raises(ClassError, match="no class 'nothing'"):
        folder.add_example("nothing", png("black"))


@pytest.mark.parametrize("bad", ["", "../up", "a/b", ".hidden", "x" * 41, "_under"])
def test_a_name_that_could_leave_the_folder_is_refused(folder, bad):
    with pytest.raises(ClassError, match="cannot name a class"):
        folder.add_class(bad)
    assert not folder.root.exists() or folder.classes() == []


def test_examples_are_numbered_shrunk_and_deleted(folder):
    folder.add_class("a")
    first = folder.add_example("a", png((255, 0, 0), (600, 300)))
    second = folder.add_picture("a", np.zeros((20, 20), np.float32))
    assert [p.name for p in folder.examples("a")] == ["1.png", "2.png"]
    with Image.open(first) as img:
        assert img.size == (classes.STORED_SIDE, classes.STORED_SIDE // 2) and img.getpixel((5, 5)) == (255, 0, 0)
    folder.delete_example("a", first.name)
    folder.add_example("a", png("white"))
    assert [p.name for p in folder.examples("a")] == ["2.png", "3.png"]  # numbers are never reused while one is kept
    assert second.exists()
    with pytest.raises(ClassError, match="not an example"):
        folder.delete_example("a", "../meta.json")


def test_version_moves_with_every_change(folder):
    start = folder.version()
    folder.add_class("a")
    folder.add_example("a", png("white"))
    folder.rename_class("a", "b")
    assert folder.version() == start + 3
    assert json.loads((folder.root / classes.META).read_text())["format"] == classes.FORMAT


def test_a_picture_is_checked_by_header_before_decoding(folder, monkeypatch):
    folder.add_class("a")
    monkeypatch.setenv("LAYERLAB_MAX_IMAGE_PIXELS", "100")
    with pytest.raises(ValueError, match="LAYERLAB_MAX_IMAGE_PIXELS"):
        folder.add_example("a", png("white", (20, 20)))
    with pytest.raises(ValueError, match="not a picture"):
        folder.add_example("a", b"GIF89a not really")
    assert folder.counts() == {"a": 0}


def test_class_and_workspace_caps_bound_a_flood(folder, monkeypatch):
    monkeypatch.setenv("LAYERLAB_MAX_CLASS_EXAMPLES", "3")
    monkeypatch.setenv("LAYERLAB_MAX_MYDATA_EXAMPLES", "5")
    folder.add_class("a")
    folder.add_class("b")
    for _ in range(3):
        folder.add_example("a", png("white"))
    with pytest.raises(ClassError, match="LAYERLAB_MAX_CLASS_EXAMPLES"):
        folder.add_example("a", png("white"))
    other = ClassFolder(folder.mydata, "second")  # the workspace cap counts every own dataset
    other.add_class("c")
    other.add_example("c", png("white"))
    folder.add_example("b", png("black"))
    with pytest.raises(ClassError, match="LAYERLAB_MAX_MYDATA_EXAMPLES"):
        folder.add_example("b", png("black"))
    with pytest.raises(ClassError, match="LAYERLAB_MAX_CLASS_EXAMPLES"):  # a batch that would pass is refused whole
        folder.add_files("b", [("x.png", png("black"))] * 3)
    assert folder.counts() == {"a": 3, "b": 1}


def test_many_files_skip_what_is_not_a_picture(folder):
    folder.add_class("a")
    added = folder.add_files("a", [("1.png", png("white")), ("notes.txt", b"hello"), ("2.png", png("black"))])
    assert added.counts == {"a": 2} and len(added.skipped) == 1 and "'notes.txt'" in added.skipped[0]


def test_a_zip_with_a_folder_per_class_fills_the_classes(folder):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for i in range(3):
            zf.writestr(f"set/cats/{i}.png", png("white"))
        zf.writestr("set/dogs/1.jpg", png("black"))
        zf.writestr("__MACOSX/set/cats/._0.png", b"junk")
        zf.writestr("readme.txt", b"hi")
    added = folder.add_zip(buffer.getvalue(), "pets.zip")
    assert folder.counts() == {"cats": 3, "dogs": 1} and added.total == 4
    slip = io.BytesIO()
    with zipfile.ZipFile(slip, "w") as zf:
        zf.writestr("../evil/1.png", png("white"))
    with pytest.raises(ValueError, match="outside the archive"):
        folder.add_zip(slip.getvalue(), "slip.zip")


def test_warnings_name_small_and_unbalanced_classes(folder):
    assert folder.warnings() == ["Make at least two classes: the model learns to tell them apart."]
    folder.add_class("a")
    folder.add_class("b")
    folder.add_files("a", [("p.png", png("white"))] * 12)
    folder.add_files("b", [("p.png", png("black"))] * 3)
    assert folder.warnings() == [
        f"'b' has 3 examples; give every class at least {classes.FEW}.",
        "The classes are unbalanced (3 to 12 examples): the model will favour the big ones; add examples to the "
        "small classes."]
    folder.add_files("b", [("p.png", png("black"))] * 9)
    assert folder.warnings() == []


def test_the_dataset_has_one_size_labels_in_class_order_and_examples_in_added_order(folder):
    for name in ("zebra", "apple", "empty"):
        folder.add_class(name)
    folder.add_example("zebra", png((0, 0, 255)))
    folder.add_example("apple", png((255, 0, 0)))
    folder.add_example("zebra", png((0, 255, 0)))
    grey = folder.to_dataset(16, "grayscale")
    assert grey.class_names == ["apple", "zebra"] and grey.info.classes == ["apple", "zebra"]  # empty left out
    assert grey.x.shape == (3, 16, 16, 1) and grey.x.dtype == np.float32
    np.testing.assert_array_equal(grey.y, [0, 1, 1])
    rgb = folder.to_dataset(8, "rgb")
    np.testing.assert_allclose(rgb.x[:, 4, 4], [[1, 0, 0], [0, 0, 1], [0, 1, 0]], atol=1 / 255)
    np.testing.assert_allclose(grey.x[0, 4, 4, 0], 0.299, atol=2 / 255)  # Pillow's luma of pure red
    assert grey.info.kind == "image" and grey.info.task == "classification"


def test_a_dataset_needs_two_classes_with_examples_and_fits_the_memory_budget(folder, monkeypatch):
    folder.add_class("a")
    folder.add_example("a", png("white"))
    with pytest.raises(ClassError, match="at least two classes"):
        folder.to_dataset()
    folder.add_class("b")
    folder.add_example("b", png("black"))
    assert len(folder.to_dataset()) == 2
    monkeypatch.setenv("LAYERLAB_MAX_DATASET_MB", "1")
    with pytest.raises(ClassError, match="LAYERLAB_MAX_DATASET_MB"):
        folder.to_dataset(256, "rgb")  # 2 × 256 × 256 × 3 × 4 bytes = 1.5 MB > 1 MB


def test_a_small_real_training_on_own_pictures_learns_them(folder, tmp_path, monkeypatch):
    """Light and dark noisy snapshots, stored like an upload, train to a perfect test score."""
    from builder.train.runner import run
    from datasets import stored
    from tests.train_fixtures import mlp_spec

    monkeypatch.setenv("LAYERLAB_UPLOADS_DIR", str(tmp_path / "uploads"))
    rng = np.random.default_rng(0)
    for name, level in (("dark", 40), ("light", 215)):
        folder.add_class(name)
        for _ in range(30):
            folder.add_picture(name, np.clip(level + rng.normal(0, 25, (48, 48, 3)), 0, 255).astype(np.uint8))
    dataset_id = stored.store(folder.to_dataset(12, "grayscale"), "mine", "my data")
    experiment = {"format": "layerlab/experiment@1", "model": mlp_spec(classes=2, shape=(12, 12, 1)),
                  "data": {"dataset": dataset_id}, "augmentation": [],
                  "training": {"epochs": 15, "seed": 0, "learning_rate": 0.01}}
    assert run(experiment, tmp_path / "run") == "completed"
    evaluation = json.loads((tmp_path / "run" / "evaluation.json").read_text())
    assert evaluation["accuracy"] == 1.0
    assert (tmp_path / "run" / "labels.txt").read_text().split() == ["dark", "light"]


def wav(freq: float, seconds: float = 0.5, rate: int = 8000) -> bytes:
    t = np.arange(int(rate * seconds)) / rate
    buffer = io.BytesIO()
    audio.write_wav(buffer, 0.5 * np.sin(2 * np.pi * freq * t), rate)
    return buffer.getvalue()


@pytest.fixture
def sounds(tmp_path):
    return SoundFolder(tmp_path / "ws" / "mydata")


def test_recordings_are_kept_as_one_second_wav_clips_and_become_a_sound_dataset(sounds):
    sounds.add_class("high")
    sounds.add_class("low")
    for _ in range(2):
        sounds.add_example("high", wav(2000))
        sounds.add_example("low", wav(300, seconds=2.0, rate=44_100))
    assert sounds.counts() == {"high": 2, "low": 2} and sounds.name == classes.SOUNDS
    kept = sounds.examples("low")[0]
    assert kept.name == "1.wav" and audio.wav_header(kept.read_bytes(), "x").rate == audio.RATE
    data = sounds.to_dataset()
    assert data.info.kind == "sound" and data.class_names == ["high", "low"]
    assert data.x.shape == (4, audio.RATE) and list(data.y) == [0, 0, 1, 1]
    tone = data.x[2]
    assert abs(np.abs(np.fft.rfft(tone)).argmax() - 300) <= 1  # 1 Hz bins: the 300 Hz tone survived the rate change
    sounds.delete_example("low", "1.wav")
    assert [p.name for p in sounds.examples("low")] == ["2.wav"]


def test_a_sound_class_refuses_what_is_not_wav_and_a_zip_fills_sound_classes(sounds):
    sounds.add_class("yes")
    with pytest.raises(ValueError, match="not a WAV file"):
        sounds.add_example("yes", png("white"), "'photo.png'")
    added = sounds.add_files("yes", [("a.wav", wav(500)), ("b.mp3", b"ID3junk")])
    assert added.counts == {"yes": 1} and "MP3" in added.skipped[0]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("clips/yes/1.wav", wav(500))
        zf.writestr("clips/no/1.WAV", wav(900))
        zf.writestr("clips/no/cover.png", png("black"))
    assert sounds.add_zip(buffer.getvalue(), "clips.zip").counts == {"yes": 1, "no": 1}
    assert sounds.counts() == {"no": 1, "yes": 2}


def test_pictures_and_sounds_share_the_workspace_count(sounds, monkeypatch):
    monkeypatch.setenv("LAYERLAB_MAX_MYDATA_EXAMPLES", "2")
    pictures = ClassFolder(sounds.mydata)
    pictures.add_class("a")
    pictures.add_example("a", png("white"))
    sounds.add_class("b")
    sounds.add_example("b", wav(440))
    assert classes.workspace_examples(sounds.mydata) == 2
    with pytest.raises(ClassError, match="LAYERLAB_MAX_MYDATA_EXAMPLES"):
        sounds.add_example("b", wav(440))
    assert pictures.counts() == {"a": 1} and sounds.counts() == {"b": 1}  # each sees only its own kind
