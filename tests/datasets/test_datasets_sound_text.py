"""Sound and text data: WAV reading and its bounds, class folders and ZIPs, text CSVs and their budgets."""
import io
import wave
import zipfile

import numpy as np
import pytest

from datasets import audio, files, registry, stored, text
from datasets.uploads import UploadError


def wav_bytes(samples: np.ndarray, rate: int, width: int = 2) -> bytes:
    """PCM WAV of int samples (frames, channels) at `width` bytes per sample, written by the stdlib."""
    frames = np.atleast_2d(samples.T).T
    if width == 3:
        data = b"".join(int(v).to_bytes(3, "little", signed=True) for v in frames.reshape(-1))
    else:
        data = frames.astype({1: "u1", 2: "<i2", 4: "<i4"}[width]).tobytes()
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as w:
        w.setnchannels(frames.shape[1])
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(data)
    return buffer.getvalue()


def test_a_stereo_8_khz_tone_becomes_one_second_of_mono_16_khz_at_its_pitch():
    t = np.arange(4000) / 8000  # half a second
    left = np.round(16000 * np.sin(2 * np.pi * 440 * t))
    clip = audio.read_wav(wav_bytes(np.stack([left, left], axis=1), 8000), "tone.wav")
    assert clip.shape == (16000,) and clip.dtype == np.float32
    heard = clip[:8000]  # the sound; the rest is silence added up to one second
    spectrum = np.abs(np.fft.rfft(heard))
    assert np.fft.rfftfreq(len(heard), 1 / 16000)[spectrum.argmax()] == pytest.approx(440, abs=2)
    assert np.abs(heard).max() == pytest.approx(16000 / 32768, rel=0.02)
    assert not clip[8100:].any()


@pytest.mark.parametrize(("width", "values", "expected"), [
    (1, [0, 128, 255], [-1.0, 0.0, 127 / 128]),
    (2, [-32768, 0, 16384], [-1.0, 0.0, 0.5]),
    (3, [-(2 ** 23), 0, 2 ** 22], [-1.0, 0.0, 0.5]),
    (4, [-(2 ** 31), 0, 2 ** 30], [-1.0, 0.0, 0.5]),
])
def test_every_pcm_width_reads_to_minus_one_to_one(width, values, expected):
    raw = wav_bytes(np.array(values), 16000, width)
    clip = audio.read_wav(raw, "x.wav")
    assert clip[:3].tolist() == pytest.approx(expected)


def test_a_clip_longer_than_the_budget_is_refused_from_its_header(monkeypatch):
    monkeypatch.setenv("LAYERLAB_MAX_CLIP_SECONDS", "2")
    raw = wav_bytes(np.zeros(3 * 16000), 16000)
    assert audio.wav_header(wav_bytes(np.zeros(2 * 16000), 16000), "ok.wav").seconds == 2
    with pytest.raises(UploadError, match=r"declares 3 s of sound, over the limit of 2 s"):
        audio.read_wav(raw, "long.wav")


@pytest.mark.parametrize(("head", "kind"), [(b"ID3\x04", "an MP3"), (b"OggS", "an OGG"), (b"fLaC", "a FLAC"),
                                            (b"\x00\x00\x00\x20ftypM4A ", "an MP4/M4A"), (b"hello", "not a sound")])
def test_a_file_that_is_not_wav_is_refused_in_plain_words(head, kind):
    with pytest.raises(UploadError, match=f"'clip.wav' is {kind}"):
        audio.read_wav(head + bytes(100), "clip.wav")


def test_a_wav_zip_and_a_wav_folder_give_the_same_clips_and_classes(tmp_path):
    clips, labels = audio.synthesize(3, seed=1)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for i, (clip, label) in enumerate(zip(clips, labels, strict=True)):
            one = io.BytesIO()
            audio.write_wav(one, clip)
            zf.writestr(f"{label}/{i:02d}.wav", one.getvalue())
            (tmp_path / label).mkdir(exist_ok=True)
            (tmp_path / label / f"{i:02d}.wav").write_bytes(one.getvalue())
        zf.writestr("__MACOSX/chirp/._00.wav", b"junk")
    buffer.name = "sounds.zip"
    zipped, folder = audio.load_wav_zip(buffer), audio.load_wav_folder(tmp_path)
    assert zipped.class_names == folder.class_names == ["chirp", "hiss", "tone"]
    assert zipped.y.tolist() == folder.y.tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    np.testing.assert_array_equal(zipped.x, folder.x)
    np.testing.assert_allclose(folder.x, np.clip(np.stack(clips), -1, 1), atol=2 / 32767)  # 16-bit rounding, written as x·32767 and read as n / 32768
    assert folder.info.kind == "sound" and files.load_path(tmp_path).info.kind == "sound"


def test_the_built_in_sounds_are_the_same_for_a_seed_and_balanced():
    a, b = registry.load("sounds", seed=3), registry.load("sounds", seed=3)
    np.testing.assert_array_equal(a.x, b.x)
    assert a.x.shape == (120, 16000) and np.bincount(a.y).tolist() == [40, 40, 40]
    assert not np.array_equal(a.x, registry.load("sounds", seed=4).x)


def test_sound_and_text_keep_their_kind_through_the_upload_store(tmp_path, monkeypatch):
    monkeypatch.setenv("LAYERLAB_UPLOADS_DIR", str(tmp_path))
    for dataset_id in ("sounds", "sentences"):
        original = registry.load(dataset_id, n_samples=30)
        back = registry.load(stored.store(original, dataset_id))
        assert back.info.kind == original.info.kind and back.class_names == original.class_names
        assert back.x.dtype == original.x.dtype and back.x.tolist() == original.x.tolist()


# -- text ---------------------------------------------------------------------------


def test_a_text_csv_finds_its_sentence_and_label_columns(tmp_path):
    path = tmp_path / "reviews.csv"
    path.write_text('stars,review\n5,"Lovely, would go again"\n1,Awful food and slow\n5,Great staff\n')
    data = text.load_text_csv(path)
    assert data.x[:, 0].tolist() == ["Lovely, would go again", "Awful food and slow", "Great staff"]
    assert data.class_names == ["1", "5"] and data.y.tolist() == [1, 0, 1] and data.info.kind == "text"
    assert data.info.extra["vocabulary"] == 10 + 2  # 10 different words, padding and unknown


def test_a_text_csv_with_more_columns_needs_its_label_named(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("text,topic,author\nrain all day long,weather,ann\ngoal in the last minute,sport,bob\n")
    with pytest.raises(UploadError, match="name the label column"):
        text.load_text_csv(path)
    assert text.load_text_csv(path, target="topic").class_names == ["sport", "weather"]


def test_a_line_over_the_row_budget_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("LAYERLAB_MAX_TEXT_CHARS", "50")
    path = tmp_path / "t.csv"
    path.write_text("text,label\n" + "word " * 20 + ",a\nshort,b\n")
    with pytest.raises(UploadError, match="line of 102 characters, over the limit of 50"):
        text.load_text_csv(path)


def test_the_vocabulary_budget_caps_what_a_model_keeps(monkeypatch):
    monkeypatch.setenv("LAYERLAB_MAX_VOCABULARY", "5")
    data = text.load_text_lines({"a": "one two three\nfour five", "b": "six seven\neight"})
    assert data.info.extra["vocabulary"] == 5 + 2 and "keeps the 5 most frequent" in data.notes[-1]


def test_lines_per_class_and_a_text_folder_agree(tmp_path):
    for cls, lines in {"happy": "what a day\nso glad\n\n", "sad": "it rained\n"}.items():
        (tmp_path / cls).mkdir()
        (tmp_path / cls / "lines.txt").write_text(lines)
    folder = text.load_text_folder(tmp_path)
    pasted = text.load_text_lines({"happy": "what a day\nso glad\n\n", "sad": "it rained\n"})
    assert folder.x.tolist() == pasted.x.tolist() == [["what a day"], ["so glad"], ["it rained"]]
    assert folder.y.tolist() == [0, 0, 1] and files.class_folder_kind(tmp_path) == "text"


def test_generated_sentences_name_their_topic_and_repeat_for_a_seed():
    texts, labels = text.generate_sentences(300, seed=2, noise=0.0)
    assert (texts, labels) == text.generate_sentences(300, seed=2, noise=0.0)
    for sentence, topic in zip(texts, labels, strict=True):
        assert any(word in sentence for word in text._TOPICS[topic])
    assert sorted(set(labels)) == ["food", "sport", "weather"]


def test_a_recording_keeps_its_loudest_second_with_the_sound_centred():
    recording = np.zeros(3 * 8000, np.int16)
    recording[15000:17000] = 16000  # a quarter-second burst, 1.9 s into a 3 s recording at 8 kHz
    clip = audio.record_clip(wav_bytes(recording, 8000), "rec.wav")
    loud = np.flatnonzero(np.abs(clip) > 0.25)
    assert clip.shape == (audio.RATE,)
    assert abs((loud[0] + loud[-1]) / 2 - audio.RATE / 2) < 200  # centred in the kept second
    assert abs(len(loud) - audio.RATE // 4) < 200  # all of the burst is kept


def test_a_spectrogram_peaks_at_the_tone_and_spans_the_clip():
    t = np.arange(audio.RATE) / audio.RATE
    freqs, times, db = audio.spectrogram(0.5 * np.sin(2 * np.pi * 1000 * t))
    assert db.shape == (len(freqs), len(times))
    assert abs(freqs[db.mean(axis=1).argmax()] - 1000) <= freqs[1]
    assert freqs[-1] == audio.RATE / 2 and 0.9 < times[-1] + times[0] <= 1.0
