"""How long from a webcam snapshot to its thumbnail? Server time of the Data page's My data section taking one
snapshot (a 640 × 480 JPEG, as Chromium's camera sends) into a class and drawing the page again with it; with
`--sounds`, one microphone recording (2 s of 16 kHz WAV, as st.audio_input sends) to its player.

    python bench/bench_mydata.py [--repeats 20] [--filled 0 200] [--sounds]

Runs the page in Streamlit's AppTest (the script runs a browser would cause: the one that keeps the snapshot,
then the rerun that draws the class's thumbnails), in a temp workspace whose two classes already hold
`--filled` examples each. Prints the median and the 90th percentile per fill. Target: ≤ 300 ms.
"""
from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

TARGET_MS = 300


def snapshot(seed: int) -> bytes:
    from PIL import Image

    pixels = np.random.default_rng(seed).integers(0, 255, (480, 640, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def recording(seed: int) -> bytes:
    from datasets import audio

    buffer = io.BytesIO()
    audio.write_wav(buffer, np.random.default_rng(seed).uniform(-0.5, 0.5, 2 * audio.RATE))
    return buffer.getvalue()


def page(filled: int, sounds: bool = False):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.session_state["data"] = {"dataset": "iris", "options": {}}
    at.switch_page("pages/data.py").run()
    at.segmented_control(key="data_source").set_value("My data").run()
    if sounds:
        at.segmented_control(key="mydata_kind").set_value("Sounds").run()
    for name in ("thumbs up", "nothing"):
        at.text_input(key="mydata_new_class").set_value(name)
        at.button(key="mydata_add_class").click().run()
    from builder.store.workspace import Workspaces
    from datasets.classes import HOME, ClassFolder, SoundFolder
    from ui import mydata  # noqa: F401 - the page's module, loaded by now

    home = Workspaces(os.environ["LAYERLAB_HOME"]).folder(at.session_state["ws"]) / HOME
    mine = SoundFolder(home) if sounds else ClassFolder(home)
    small, clip = np.full((96, 128, 3), 128, np.uint8), recording(10_000)
    for cls in ("thumbs up", "nothing"):
        for _ in range(filled):
            if sounds:
                mine.add_example(cls, clip)
            else:
                mine.add_picture(cls, small)
    at.run()
    return at


def time_adds(at, repeats: int, sounds: bool) -> list[float]:
    """Server time of each add (a snapshot, or a recording with `sounds`): the run that keeps it and the rerun
    that draws it (its thumbnail, or its player)."""
    prefix, said = ("mydata_mic_", "Clip added") if sounds else ("mydata_camera_", "Snapshot added")
    times = []
    for k in range(repeats + 1):
        widget = next(w for w in (at.get("audio_input") if sounds else at.camera_input) if w.key.startswith(prefix))
        widget.set_value(("rec.wav", recording(k), "audio/wav") if sounds else ("shot.jpg", snapshot(k), "image/jpeg"))
        start = time.perf_counter()
        at.run()
        elapsed = 1000 * (time.perf_counter() - start)
        assert not at.exception and any(said in s.value for s in at.success)
        if k:  # the first is warm-up
            times.append(elapsed)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--filled", type=int, nargs="+", default=[0, 200])
    parser.add_argument("--sounds", action="store_true", help="recordings into sound classes instead of snapshots")
    args = parser.parse_args()
    what = "recording → player" if args.sounds else "snapshot → thumbnail"
    print(f"{'examples per class':19} {'median ms':>10} {'p90 ms':>8}  (target ≤ {TARGET_MS} ms, {what})")
    for filled in args.filled:
        with tempfile.TemporaryDirectory() as tmp:
            os.environ.update(LAYERLAB_HOME=f"{tmp}/workspaces", LAYERLAB_UPLOADS_DIR=f"{tmp}/uploads",
                              LAYERLAB_RUNS_DIR=f"{tmp}/runs", LAYERLAB_PREWARM="0")
            at = page(filled, args.sounds)
            times = time_adds(at, args.repeats, args.sounds)
        p90 = statistics.quantiles(times, n=10)[-1]
        print(f"{filled:<19} {statistics.median(times):10.0f} {p90:8.0f}")


if __name__ == "__main__":
    main()
