"""AppTest: Explain and Try on a sound run and a text run — saliency over the model's own spectrogram, highlighted
words (escaped), a typed sentence and a recorded clip."""
import base64
import io
import json
import re
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from builder import predict
from builder.experiments import templates
from datasets import audio

PAGES = Path(__file__).resolve().parents[2] / "pages"


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory):
    from builder.train.runner import run

    root = tmp_path_factory.mktemp("runs")
    for run_id, template, epochs, n in (("run-sound", "sound-cnn", 6, 60), ("run-text", "bag-of-words", 4, 900)):
        exp = templates.experiment(template)
        exp["training"]["epochs"] = epochs
        exp["data"]["options"] = {"n_samples": n}
        assert run(exp, root / run_id) == "completed"
    return root


def page(name: str, runs_dir, monkeypatch, run_id: str, **state) -> AppTest:
    monkeypatch.setenv("LAYERLAB_RUNS_DIR", str(runs_dir))
    at = AppTest.from_file(str(PAGES / name), default_timeout=120)
    at.query_params["run"] = run_id
    at.session_state["run_id"] = run_id
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def highlights(at) -> str:
    return next(h.proto.body for h in at.get("html") if "spoke for the class" in h.proto.body)


def words(body: str) -> list[tuple[str, float]]:
    """(word, share) of the highlighted sentence (the legend's two spans left out)."""
    spans = re.findall(r'title="([+-][0-9.]+)"[^>]*>([^<]*)</span>', body)
    return [(word, float(share)) for share, word in spans[:-2]]


def values(z) -> np.ndarray:
    """A figure's array as Plotly writes it: a list, or typed-array base64 {"dtype", "bdata", "shape"}."""
    if isinstance(z, dict):
        shape = tuple(int(n) for n in str(z["shape"]).split(","))
        return np.frombuffer(base64.b64decode(z["bdata"]), z["dtype"]).reshape(shape)
    return np.asarray(z)


def heatmaps(at, key: str) -> list[dict]:
    chart = next(c for c in at.get("plotly_chart") if c.proto.id.endswith(key) or key in c.proto.id)
    return [t for t in json.loads(chart.proto.spec)["data"] if t["type"] == "heatmap"]


def test_try_reads_a_typed_sentence_and_highlights_the_deciding_word_escaped(runs_dir, monkeypatch):
    at = page("try.py", runs_dir, monkeypatch, "run-text")
    at.text_input(key="try_sentence").set_value("my friend likes pizza today").run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(m.value.startswith("### Prediction: food (") for m in at.markdown)
    shares = words(highlights(at))
    assert [w for w, _ in shares] == "my friend likes pizza today".split()
    assert max(shares, key=lambda pair: pair[1])[0] == "pizza"  # the word that decided it is the reddest
    at.text_input(key="try_sentence").set_value("<img src=x onerror=alert(1)> pizza").run()
    body = highlights(at)
    assert "&lt;img" in body and "<img" not in body  # the student's text is shown, never run


def test_try_answers_a_recording_with_saliency_over_the_spectrogram(runs_dir, monkeypatch):
    at = page("try.py", runs_dir, monkeypatch, "run-sound")
    clips, labels = audio.synthesize(2, seed=3)
    buffer = io.BytesIO()
    audio.write_wav(buffer, np.concatenate([np.zeros(6000, np.float32), clips[0]]), rate=audio.RATE)
    at.get("audio_input")[0].set_value(("rec.wav", buffer.getvalue(), "audio/wav")).run()
    assert not at.exception, [e.value for e in at.exception]
    expected = predict.open_run(runs_dir / "run-sound").answer(
        audio.record_clip(buffer.getvalue(), "rec.wav"), method=None).text()
    assert f"### {expected}" in [m.value for m in at.markdown]
    spectrogram, saliency = heatmaps(at, "try_sound_saliency")
    z = values(saliency["z"])
    assert z.shape == (64, 32) and z.max() == pytest.approx(1.0) and values(spectrogram["z"]).shape == (64, 32)
    at.get("audio_input")[0].set_value(("rec.wav", b"ID3" + bytes(200), "audio/wav")).run()
    assert any("not a WAV file" in e.value for e in at.error)


@pytest.mark.parametrize("run_id", ["run-sound", "run-text"])
def test_explain_shows_spectrogram_saliency_or_word_shares_for_a_test_example(runs_dir, monkeypatch, run_id):
    at = page("explain.py", runs_dir, monkeypatch, run_id, explain_view="Saliency maps")
    assert any(m.value.startswith("true **") and "predicted **" in m.value for m in at.markdown)
    if run_id == "run-text":  # the words of the first test sentence, as the student wrote them
        shown = predict.open_run(runs_dir / run_id).examples()["test"][0][0]
        assert " ".join(w for w, _ in words(highlights(at))) == str(np.ravel(shown)[0])
    else:
        assert len(heatmaps(at, "sound_saliency")) == 2 and at.get("audio")
    at.number_input(key="st_example").set_value(3).run()
    at.selectbox(key="target_class").set_value(at.selectbox(key="target_class").options[2]).run()
    assert not at.exception, [e.value for e in at.exception]
