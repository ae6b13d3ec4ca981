"""Sound and text models end to end: the spectrogram inside the model, the vocabulary inside the deployable model,
raw waves and raw strings in outside Layerlab, explanations, and `train --data` on every kind of file."""
import csv
import json
import os
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from builder import cli
from builder.experiments import templates
from builder.experiments.experiment import coerce
from builder.graph import validate
from builder.store import runfolder
from builder.train import preprocessing
from builder.train.data import raw_parts
from builder.train.runner import run
from datasets import audio, registry, text
from datasets.uploads import save_npz


def _small(template: str, epochs: int, **options) -> dict:
    exp = templates.experiment(template)
    exp["training"]["epochs"] = epochs
    exp["data"]["options"] = options
    return exp


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("sound-text")
    for name, exp in {"sound": _small("sound-cnn", 6, n_samples=60),
                      "text": _small("bag-of-words", 4, n_samples=900)}.items():
        assert run(exp, root / name) == "completed", runfolder.read_status(root / name).get("error")
    return root


OUTSIDE = """
import json, sys
import numpy as np, keras
try:
    import builder
    sys.exit("Layerlab is importable here")
except ImportError:
    pass
with np.load(sys.argv[1]) as data:
    x, y = data["x"], data["y"]
model = keras.saving.load_model(sys.argv[2])
if x.dtype.kind == "U":  # Keras takes text as a TensorFlow string tensor
    import tensorflow as tf
    x = tf.constant(x)
print(json.dumps(float((model.predict(x, verbose=0).argmax(-1) == y).mean())))
"""


def test_the_deployable_models_take_raw_waves_and_strings_outside_layerlab_and_give_the_run_score(runs, tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    for name in ("sound", "text"):
        folder = runs / name
        x, y = raw_parts(coerce(folder / runfolder.EXPERIMENT), preprocessing.read(folder))["test"]
        assert x.dtype.kind == ("f" if name == "sound" else "U")  # raw waves; raw strings
        np.savez(tmp_path / f"{name}.npz", x=x, y=y)
        done = subprocess.run([sys.executable, "-c", OUTSIDE, str(tmp_path / f"{name}.npz"),
                               str(folder / preprocessing.DEPLOY_MODEL)], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]
        recorded = json.loads((folder / runfolder.EVALUATION).read_text())["accuracy"]
        assert json.loads(done.stdout.splitlines()[-1]) == pytest.approx(recorded, abs=1e-9), name


def test_the_vocabulary_is_learned_from_the_training_split_and_travels_in_the_deployable_model(runs):
    import keras

    folder = runs / "text"
    parts = raw_parts(coerce(folder / runfolder.EXPERIMENT), preprocessing.read(folder))
    fresh = keras.layers.TextVectorization(max_tokens=2000)
    fresh.adapt(parts["train"][0])
    deployed = keras.saving.load_model(folder / preprocessing.DEPLOY_MODEL)
    layer = next(lyr for lyr in deployed.get_layer("bag-of-words").layers if isinstance(lyr, keras.layers.TextVectorization))
    assert layer.get_vocabulary() == fresh.get_vocabulary()
    assert json.loads((folder / preprocessing.FILE).read_text())["raw_dtype"] == "string"


def test_the_spectrogram_is_a_layer_of_the_model_with_the_expected_shape():
    import keras

    report = validate.check(templates.get("sound-cnn"))
    assert report.ok and report.shapes["spectrogram"] == (None, 64, 1 + 16000 // 512)  # centred frames
    mel = keras.layers.MelSpectrogram(fft_length=1024, sequence_stride=512, num_mel_bins=64)
    t = np.arange(16000) / 16000
    bands = [int(np.asarray(mel(np.sin(2 * np.pi * f * t)[None].astype("float32")))[0].mean(axis=1).argmax())
             for f in (300, 1000, 4000)]
    assert bands[0] < bands[1] < bands[2]  # a higher tone lights a higher band


def test_explanations_point_at_the_topic_word_and_cover_the_spectrogram(runs):
    import keras

    from builder.explain.sound_text import spectrogram_saliency, word_attribution

    texts = keras.saving.load_model(runs / "text" / preprocessing.DEPLOY_MODEL)
    scores = word_attribution(texts, "my friend likes pizza today")
    assert scores.target == 0 and scores.words[int(np.argmax(scores.scores))] == "pizza"  # class 0: food
    sounds = keras.saving.load_model(runs / "sound" / "model.keras")
    pictures, saliency = spectrogram_saliency(sounds, registry.load("sounds", n_samples=6).x)
    assert pictures.shape == saliency.shape == (6, 64, 32)
    assert saliency.min() >= 0 and np.allclose(saliency.reshape(6, -1).max(axis=1), 1.0)


# -- train --data ---------------------------------------------------------------------


def _sound_folder(root):
    clips, labels = audio.synthesize(8, seed=5)
    for i, (clip, label) in enumerate(zip(clips, labels, strict=True)):
        (root / label).mkdir(parents=True, exist_ok=True)
        audio.write_wav(str(root / label / f"{i}.wav"), clip, rate=8000 if i % 2 else 16000)
    return root


def _zip_of(folder, path):
    with zipfile.ZipFile(path, "w") as zf:
        for file in sorted(folder.glob("*/*")):
            zf.write(file, f"{file.parent.name}/{file.name}")
    return path


def _text_csv(path):
    sentences, topics = text.generate_sentences(300, seed=4)
    with open(path, "w", newline="") as f:
        csv.writer(f).writerows([("sentence", "topic"), *zip(sentences, topics, strict=True)])
    return path


def _text_folder(root):
    sentences, topics = text.generate_sentences(120, seed=6)
    for topic in set(topics):
        (root / topic).mkdir(parents=True)
        (root / topic / "lines.txt").write_text("\n".join(s for s, t in zip(sentences, topics, strict=True)
                                                          if t == topic))
    return root


def _picture_folder(root):
    from PIL import Image

    shapes = registry.load("shapes", n_samples=60)
    for i, (picture, label) in enumerate(zip(shapes.x, shapes.y, strict=True)):
        (root / shapes.class_names[label]).mkdir(parents=True, exist_ok=True)
        Image.fromarray((picture[..., 0] * 255).astype("uint8")).save(root / shapes.class_names[label] / f"{i}.png")
    return root


def _iris_npz(path):
    save_npz(registry.load("iris"), path)
    return path


def _wine_csv(path):
    wine = registry.load("wine")
    with open(path, "w", newline="") as f:
        csv.writer(f).writerows([(*wine.feature_names, "cultivar"),
                                 *([*row, wine.class_names[label]] for row, label in zip(wine.x, wine.y, strict=True))])
    return path


DATA = {  # kind of file: (make it under a tmp folder, the template chosen, its classes)
    "sound folder": (lambda tmp: _sound_folder(tmp / "sounds"), "sound-cnn", ["chirp", "hiss", "tone"]),
    "sound zip": (lambda tmp: _zip_of(_sound_folder(tmp / "s"), tmp / "sounds.zip"), "sound-cnn",
                  ["chirp", "hiss", "tone"]),
    "text csv": (lambda tmp: _text_csv(tmp / "topics.csv"), "bag-of-words", ["food", "sport", "weather"]),
    "text folder": (lambda tmp: _text_folder(tmp / "topics"), "bag-of-words", ["food", "sport", "weather"]),
    "picture folder": (lambda tmp: _picture_folder(tmp / "pictures"), "small-cnn", ["circle", "square", "triangle"]),
    "picture zip": (lambda tmp: _zip_of(_picture_folder(tmp / "p"), tmp / "pictures.zip"), "small-cnn",
                    ["circle", "square", "triangle"]),
    "npz": (lambda tmp: _iris_npz(tmp / "iris.npz"), "playground-mlp", ["setosa", "versicolor", "virginica"]),
    "table csv": (lambda tmp: _wine_csv(tmp / "wine.csv"), "playground-mlp", ["class_0", "class_1", "class_2"]),
}


@pytest.mark.parametrize("kind", list(DATA))
def test_train_data_picks_the_template_for_each_kind_and_records_the_classes(kind, tmp_path, monkeypatch):
    monkeypatch.setenv("LAYERLAB_UPLOADS_DIR", str(tmp_path / "uploads"))
    make, template, classes = DATA[kind]
    source, out = make(tmp_path), tmp_path / "run"
    assert cli.main(["train", "--data", str(source), "--out", str(out), "--epochs", "1"]) == 0
    exp = json.loads((out / runfolder.EXPERIMENT).read_text())
    assert exp["model"]["name"] == templates.TEMPLATES[template].spec_dict["name"]
    assert json.loads((out / preprocessing.FILE).read_text())["class_names"] == classes
    assert (out / "labels.txt").read_text().split("\n")[:-1] == classes
    assert runfolder.read_status(out)["status"] == "completed"


def test_train_data_says_plainly_when_the_named_template_does_not_fit(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LAYERLAB_UPLOADS_DIR", str(tmp_path / "uploads"))
    source = _text_csv(tmp_path / "topics.csv")
    assert cli.main(["train", "--data", str(source), "--out", str(tmp_path / "run"), "--template", "sound-cnn"]) == 1
    err = capsys.readouterr().err
    assert "template 'sound-cnn' does not fit this data" in err and "Traceback" not in err
    assert not (tmp_path / "run").exists()


def test_a_text_run_that_goes_on_keeps_its_vocabulary(tmp_path):
    import keras

    from builder.train.runner import resume

    folder = tmp_path / "run"
    assert run(_small("bag-of-words", 1, n_samples=300), folder) == "completed"

    def vocabulary():
        model = keras.saving.load_model(folder / preprocessing.DEPLOY_MODEL)
        return next(lyr for lyr in model.get_layer("bag-of-words").layers
                    if isinstance(lyr, keras.layers.TextVectorization)).get_vocabulary()

    before = vocabulary()
    assert resume(folder, 1) == "completed"
    assert vocabulary() == before and len(runfolder.read_jsonl(folder / "metrics.jsonl")) == 2


def test_try_answers_a_typed_sentence_and_a_recording_with_their_explanations(runs):
    import io

    from builder import predict

    texts = predict.open_run(runs / "text")
    answer = texts.answer(texts.from_sentence("  my friend   likes pizza today "), method=None)
    assert answer.label == "food" and answer.class_names == ["food", "sport", "weather"]
    scores = texts.word_scores("my friend likes pizza today")
    assert scores.words[int(np.argmax(scores.scores))] == "pizza" and scores.target == answer.index
    with pytest.raises(predict.PredictError, match="not a sentence"):
        predict.open_run(runs / "sound").from_sentence("hello")

    sounds = predict.open_run(runs / "sound")
    clips, labels = audio.synthesize(3, seed=11)
    recording = np.concatenate([np.zeros(8000, np.float32), clips[0], np.zeros(4000, np.float32)])  # a pause first
    buffer = io.BytesIO()
    audio.write_wav(buffer, recording)
    clip = sounds.from_recording(buffer.getvalue(), "rec.wav")
    starts = [s for s in range(len(recording) - audio.RATE + 1)
              if np.allclose(recording[s:s + audio.RATE], clip, atol=1e-4)]  # a second of the recording, as it was
    assert clip.shape == (audio.RATE,) and starts and 4000 <= starts[0] <= 12000  # the pause before it left out
    assert sounds.answer(clip, method=None).label == labels[0]
    picture, saliency = sounds.sound_saliency(clip)
    assert picture.shape == saliency.shape == (64, 32) and saliency.max() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="not a WAV file"):
        sounds.from_recording(b"OggS" + bytes(60), "rec.ogg")
