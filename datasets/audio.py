"""Sound: WAV clips, one folder per class, brought to one rate and length.

A clip's header (rate, channels, sample width, frames) is read first and held
against the seconds budget (`max_clip_seconds`) before a sample is decoded; a
file that is not WAV is refused in plain words. Every clip becomes mono float32
in -1..1 at `RATE` Hz, cut or padded with silence to `SECONDS`, so a dataset's
`x` is (clips, RATE * SECONDS): the raw waveform the sound models take (their
spectrogram is a layer inside the model, so the deployable model takes raw audio).

The class folder layout `<folder>/<class name>/<files>` is shared with images
and text (docs/interfaces.md, "Class folders").
"""
from __future__ import annotations

import io
import math
import os
import wave
from dataclasses import dataclass

import numpy as np

from builder import limits as budgets
from datasets.base import Dataset, DatasetInfo
from datasets.uploads import Limits, UploadError, class_entries, is_class_file, open_zip, read_bytes, upload_name

RATE = 16_000  # Hz: speech and most sounds a workshop records fit below 8 kHz
SECONDS = 1.0
WAV_EXTENSIONS = (".wav", ".wave")
_OTHER_AUDIO = {b"ID3": "an MP3", b"\xff\xfb": "an MP3", b"OggS": "an OGG", b"fLaC": "a FLAC",
                b"\x1aE\xdf\xa3": "a WebM", b"ftyp": "an MP4/M4A"}


@dataclass(frozen=True)
class WavHeader:
    rate: int
    channels: int
    width: int  # bytes per sample
    frames: int  # as the header declares them

    @property
    def seconds(self) -> float:
        return self.frames / self.rate


def _kind_of(raw: bytes) -> str:
    for magic, kind in _OTHER_AUDIO.items():
        if raw.startswith(magic) or raw[4:8] == magic:
            return kind
    return "not a sound file Layerlab reads"


def wav_header(raw: bytes, name: str, max_seconds: int | None = None) -> WavHeader:
    """The clip's header, checked against the budget; nothing past the header is read."""
    if raw[:4] != b"RIFF" or raw[8:12] != b"WAVE":
        raise UploadError(f"'{name}' is {_kind_of(raw)}, not a WAV file; record again, or convert it to WAV "
                          "(for example in Audacity: File › Export › WAV) and upload that")
    try:
        with wave.open(io.BytesIO(raw)) as w:
            header = WavHeader(w.getframerate(), w.getnchannels(), w.getsampwidth(), w.getnframes())
    except (wave.Error, EOFError) as exc:
        raise UploadError(f"'{name}' is a WAV file Layerlab cannot read ({exc}); save it again as 16-bit PCM WAV") from None
    cap = max_seconds or budgets.get("max_clip_seconds")
    if not (1_000 <= header.rate <= 384_000) or not 1 <= header.channels <= 32:
        raise UploadError(f"'{name}' declares {header.rate} Hz and {header.channels} channels, which no recording "
                          "has; save it again as 16-bit PCM WAV")
    if header.seconds > cap:
        raise UploadError(f"'{name}' declares {header.seconds:,.0f} s of sound, over the limit of {cap} s for one clip "
                          "(server setting LAYERLAB_MAX_CLIP_SECONDS); cut it into short clips")
    return header


def _samples(frames: bytes, header: WavHeader) -> np.ndarray:
    """PCM bytes → float32 (frames, channels) in -1..1."""
    width = header.width
    usable = len(frames) // (width * header.channels) * width * header.channels
    buf = np.frombuffer(frames[:usable], np.uint8)
    if width == 1:  # 8-bit WAV is unsigned
        values = buf.astype(np.float32) - 128.0
    elif width == 3:  # 24-bit: widen each sample to 32 bits, sign kept by the top byte
        triples = buf.reshape(-1, 3).astype(np.int32)
        values = ((triples[:, 0] << 8 | triples[:, 1] << 16 | triples[:, 2] << 24) >> 8).astype(np.float32)
    else:
        values = np.frombuffer(buf.tobytes(), f"<i{width}").astype(np.float32)
    return (values / float(2 ** (8 * width - 1))).reshape(-1, header.channels)


def fit_clip(mono: np.ndarray, rate: int, to_rate: int = RATE, seconds: float = SECONDS) -> np.ndarray:
    """One clip at `to_rate`, cut or padded with silence at the end to `seconds`."""
    from scipy.signal import resample_poly

    if rate != to_rate:
        step = math.gcd(rate, to_rate)
        mono = resample_poly(mono, to_rate // step, rate // step).astype(np.float32)
    length = int(round(to_rate * seconds))
    out = np.zeros(length, np.float32)
    out[:min(length, len(mono))] = mono[:length]
    return out


def read_wav(raw: bytes, name: str, to_rate: int = RATE, seconds: float = SECONDS) -> np.ndarray:
    """A WAV file's bytes as one mono clip of `seconds` at `to_rate` (header checked first)."""
    header = wav_header(raw, name)
    with wave.open(io.BytesIO(raw)) as w:
        frames = w.readframes(header.frames)  # at most what the header declared, which the budget allowed
    return fit_clip(_samples(frames, header).mean(axis=1), header.rate, to_rate, seconds)


def loudest(clip: np.ndarray, length: int) -> np.ndarray:
    """The `length` samples of `clip` that hold the most energy (the word, not the silence before it), the sound
    centred when a shorter one fits in many windows."""
    if len(clip) <= length:
        return fit_clip(clip, RATE, RATE, length / RATE)
    energy = np.concatenate([[0.0], np.cumsum(clip.astype(np.float64) ** 2)])
    windows = energy[length:] - energy[:-length]
    best = np.flatnonzero(windows >= 0.99 * windows.max())
    start = int(best[0] + best[-1]) // 2
    return clip[start:start + length].astype(np.float32)


def record_clip(raw: bytes, name: str) -> np.ndarray:
    """A recording's bytes (WAV, header checked first) as one clip of `SECONDS` at `RATE`: its loudest part, since
    a recording starts with a click and a pause."""
    whole = read_wav(raw, name, RATE, max(wav_header(raw, name).seconds, SECONDS))
    return loudest(whole, int(round(RATE * SECONDS)))


def spectrogram(clip: np.ndarray, rate: int = RATE, window: int = 512) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(frequencies in Hz, times in s, loudness in dB (frequencies, times)) of one clip, for looking at it: a
    short-time Fourier transform with `window`-sample Hann windows, half overlapping."""
    from scipy.signal import spectrogram as stft_power

    freqs, times, power = stft_power(np.asarray(clip, np.float64), rate, window="hann", nperseg=window,
                                     noverlap=window // 2, scaling="spectrum")
    return freqs, times, 10 * np.log10(np.maximum(power, 1e-10))


def write_wav(path_or_file, clip: np.ndarray, rate: int = RATE) -> None:
    """A mono float clip (-1..1) as a 16-bit PCM WAV file."""
    pcm = np.round(np.clip(clip, -1.0, 1.0) * 32767).astype("<i2")
    with wave.open(path_or_file, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())


def sound_dataset(clips: list[np.ndarray], labels: list[str], name: str, description: str,
                  to_rate: int = RATE, notes: list[str] | None = None) -> Dataset:
    """Clips of one length with their class names as a sound Dataset (classes sorted by name)."""
    classes = sorted(set(labels))
    if len(classes) < 2:
        raise UploadError(f"'{name}' needs clips in at least two class folders (found {len(classes)}); "
                          "e.g. yes/1.wav and no/1.wav")
    index = {c: i for i, c in enumerate(classes)}
    x = np.stack(clips).astype(np.float32)
    y = np.array([index[c] for c in labels], np.int32)
    info = DatasetInfo(f"upload:{name}", name, "classification", x.shape[1:], classes, len(x), description,
                       kind="sound", extra={"rate": to_rate})
    return Dataset(x, y, info, classes, notes=notes or [f"{len(x)} clips in {len(classes)} classes"])


def _check_memory(count: int, to_rate: int, seconds: float, name: str, limits: Limits) -> None:
    needed = count * int(round(to_rate * seconds)) * 4
    if needed > limits.max_decoded_bytes:
        raise UploadError(f"'{name}': {count} clips of {seconds:g} s would take {needed // 2**20:,} MB of memory "
                          f"(limit {limits.max_decoded_bytes // 2**20:,} MB, server setting LAYERLAB_MAX_DATASET_MB); "
                          "use fewer clips")


def load_wav_folder(folder, to_rate: int = RATE, seconds: float = SECONDS, limits: Limits | None = None) -> Dataset:
    """`<folder>/<class>/<clip>.wav` as a sound Dataset; each file is checked like an upload."""
    limits = limits or Limits()
    items = [(cls, os.path.join(folder, cls, f)) for cls in sorted(os.listdir(folder))
             if os.path.isdir(os.path.join(folder, cls)) and not cls.startswith(".")
             for f in sorted(os.listdir(os.path.join(folder, cls))) if is_class_file([cls, f], WAV_EXTENSIONS)]
    name = os.path.basename(os.path.normpath(folder))
    _check_memory(len(items), to_rate, seconds, name, limits)
    clips = [read_wav(read_bytes(path, limits, cap=limits.max_entry_bytes), os.path.basename(path), to_rate, seconds)
             for _cls, path in items]
    return sound_dataset(clips, [c for c, _ in items], name, f"Your sounds '{name}'.", to_rate)


def load_wav_zip(file, to_rate: int = RATE, seconds: float = SECONDS, limits: Limits | None = None) -> Dataset:
    """A ZIP with one folder per class of WAV clips (yes/1.wav, no/7.wav) as a sound Dataset."""
    name = upload_name(file)
    limits = limits or Limits()
    zf = open_zip(read_bytes(file, limits), name)
    items = class_entries(zf, name, limits, WAV_EXTENSIONS)
    _check_memory(len(items), to_rate, seconds, name, limits)
    clips = [read_wav(zf.read(e), e.filename, to_rate, seconds) for _cls, e in items]
    return sound_dataset(clips, [c for c, _ in items], name, f"Your sounds '{name}'.", to_rate)


def synthesize(n_per_class: int = 40, seed: int = 0, to_rate: int = RATE, seconds: float = SECONDS,
               noise: float = 0.05) -> tuple[list[np.ndarray], list[str]]:
    """Offline clips in three classes a student hears apart: a steady tone, a rising chirp, a hiss.

    Each clip has a random pitch, loudness, start and background noise, so the classes are told
    apart by their shape in time and frequency, not by one fixed value.
    """
    rng = np.random.default_rng(seed)
    t = np.arange(int(round(to_rate * seconds)), dtype=np.float64) / to_rate
    clips, labels = [], []
    for label in ("chirp", "hiss", "tone"):
        for _ in range(n_per_class):
            f0 = rng.uniform(200, 1200)
            if label == "tone":
                wave_ = np.sin(2 * np.pi * f0 * t + rng.uniform(0, 2 * np.pi))
            elif label == "chirp":
                f1 = f0 * rng.uniform(2.5, 5.0)  # the frequency climbs from f0 to f1 over the clip
                wave_ = np.sin(2 * np.pi * (f0 * t + (f1 - f0) * t ** 2 / (2 * seconds)))
            else:
                wave_ = rng.uniform(-1, 1, t.shape)
            envelope = (t >= rng.uniform(0, 0.3 * seconds)) * rng.uniform(0.3, 0.9)
            clips.append((wave_ * envelope + rng.normal(0, noise, t.shape)).astype(np.float32))
            labels.append(label)
    return clips, labels


def sounds(n_samples: int = 120, noise: float = 0.05, seed: int = 0) -> dict:
    """The built-in 'sounds' set (datasets.registry): `n_samples` clips, a third per class."""
    clips, labels = synthesize(max(1, n_samples // 3), seed, noise=noise)
    data = sound_dataset(clips, labels, "sounds", "")
    return {"x": data.x, "y": data.y, "class_names": data.class_names}
