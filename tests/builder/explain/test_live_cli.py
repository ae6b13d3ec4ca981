"""The live callback (per-epoch saliency / boundary files) and `python -m builder explain`."""
import json
import logging
import time

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from builder.explain import decision_boundary, explain, normalize, to_map  # noqa: E402
from builder.explain.live import LiveExplainCallback, live_saliency, shrink  # noqa: E402
from builder.explain_cli import cli_explain  # noqa: E402
from builder.store.watch import PICTURE_SIZE  # noqa: E402


def tiny_cnn(seed=0):
    keras.utils.set_random_seed(seed)
    inp = keras.Input((12, 12, 1))
    h = keras.layers.Conv2D(4, 3, activation="relu")(inp)
    h = keras.layers.GlobalAveragePooling2D()(h)
    model = keras.Model(inp, keras.layers.Dense(3, activation="softmax")(h))
    model.compile("adam", "sparse_categorical_crossentropy")
    return model


# -- live callback ------------------------------------------------------------------
def test_live_saliency_written_after_each_epoch(tmp_path):
    rng = np.random.default_rng(0)
    x, y = rng.uniform(size=(64, 12, 12, 1)).astype("float32"), rng.integers(0, 3, 64)
    model = tiny_cnn()
    callback = LiveExplainCallback(tmp_path, x[:8], y[:8], kind="saliency")
    model.fit(x, y, epochs=2, batch_size=16, verbose=0, callbacks=[callback])
    live = tmp_path / "live"
    assert sorted(p.name for p in live.iterdir()) == ["saliency_e001.npy", "saliency_e002.npy"]  # no temp files left
    last = np.load(live / "saliency_e002.npy")
    assert last.dtype == np.float32 and last.shape == (8, 12, 12)
    assert last.min() >= 0 and np.allclose(last.max(axis=(1, 2)), 1.0, atol=1e-5)
    # the file is the vanilla gradient of the true class, normalised per map
    expected = normalize(to_map(explain(model, x[:8], "saliency", target=y[:8])))
    np.testing.assert_allclose(last, expected, rtol=1e-5, atol=1e-6)
    assert not np.allclose(np.load(live / "saliency_e001.npy"), last)  # the model moved between epochs
    start = time.perf_counter()
    for _ in range(5):
        live_saliency(model, x[:8], y[:8])
    print(f"\nlive saliency for 8 probes: {(time.perf_counter() - start) / 5 * 1000:.1f} ms")


def test_live_saliency_of_big_pictures_is_saved_at_the_size_the_page_shows(tmp_path):
    side = 10 * PICTURE_SIZE  # 960² pictures: each saved map is the mean of 10×10 blocks of the full one
    keras.utils.set_random_seed(0)
    inp = keras.Input((side, side, 1))
    h = keras.layers.Conv2D(2, 3, strides=4, activation="relu")(inp)
    model = keras.Model(inp, keras.layers.Dense(3)(keras.layers.GlobalAveragePooling2D()(h)))
    x = np.random.default_rng(3).uniform(size=(2, side, side, 1)).astype("float32")
    callback = LiveExplainCallback(tmp_path, x, [0, 1], kind="saliency")
    callback.set_model(model)
    saved = np.load(callback.write(1))
    full = live_saliency(model, x, np.array([0, 1]))
    assert saved.shape == (2, PICTURE_SIZE, PICTURE_SIZE) and saved.nbytes == 2 * 96 * 96 * 4  # not 7 MB
    np.testing.assert_allclose(saved, full.reshape(2, PICTURE_SIZE, 10, PICTURE_SIZE, 10).mean(axis=(2, 4)),
                               rtol=1e-4, atol=1e-6)
    np.testing.assert_array_equal(shrink(x[:, :90, :60]), x[:, :90, :60])  # small pictures stay as they are


def test_live_callback_never_raises_into_training(tmp_path, caplog):
    rng = np.random.default_rng(1)
    x, y = rng.uniform(size=(32, 12, 12, 1)).astype("float32"), rng.integers(0, 3, 32)
    model = tiny_cnn()
    wrong = LiveExplainCallback(tmp_path, np.zeros((4, 5, 5, 1)), None, kind="saliency")  # probes do not fit the model
    with caplog.at_level(logging.WARNING, logger="builder.explain.live"):
        history = model.fit(x, y, epochs=2, verbose=0, callbacks=[wrong])
    assert len(history.history["loss"]) == 2  # training finished
    assert wrong.failures == 2 and "epoch 1 skipped" in caplog.text
    assert not (tmp_path / "live").exists() or not any((tmp_path / "live").iterdir())


def test_live_boundary_grid(tmp_path):
    rng = np.random.default_rng(2)
    pts = rng.normal(size=(80, 2)).astype("float32")
    labels = (pts[:, 0] * pts[:, 1] > 0).astype("int32")
    keras.utils.set_random_seed(0)
    inp = keras.Input((2,))
    model = keras.Model(inp, keras.layers.Dense(2, activation="softmax")(keras.layers.Dense(8, activation="tanh")(inp)))
    model.compile("adam", "sparse_categorical_crossentropy")
    callback = LiveExplainCallback(tmp_path, pts, labels, kind="boundary", steps=30)
    model.fit(pts, labels, epochs=1, verbose=0, callbacks=[callback])
    with np.load(tmp_path / "live" / "boundary_e001.npz") as f:
        xx, yy, probs = f["xx"], f["yy"], f["probs"]
    assert xx.shape == yy.shape == (30, 30) and probs.shape == (30, 30, 2)
    np.testing.assert_allclose(probs, decision_boundary(model, pts, steps=30)[2], rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="unknown live explanation kind"):
        LiveExplainCallback(tmp_path, pts, labels, kind="movie")



# -- command line -------------------------------------------------------------------
@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, shapes_cnn, shapes_experiment):
    """A finished run folder: the trained shapes CNN and the experiment that made it."""
    model, _ = shapes_cnn
    folder = tmp_path_factory.mktemp("run")
    model.save(folder / "model.keras")
    (folder / "experiment.json").write_text(json.dumps(shapes_experiment))
    return folder


def test_cli_writes_maps_and_overlays_for_the_runs_test_items(run_dir, shapes_cnn, tmp_path, capsys):
    from PIL import Image

    model, parts = shapes_cnn
    assert cli_explain(run_dir, "gradcam", 3, tmp_path) == 0
    assert "wrote 3 gradcam explanations" in capsys.readouterr().out
    maps = np.load(tmp_path / "maps_gradcam.npy")
    np.testing.assert_allclose(maps, normalize(to_map(explain(model, parts.x_test[:3], "gradcam"))), atol=1e-5)
    for i in range(3):
        overlay_png = Image.open(tmp_path / f"{i:03d}_gradcam_overlay.png")
        assert overlay_png.mode == "RGB" and overlay_png.size == (224, 224)  # 28 px × 8
        assert Image.open(tmp_path / f"{i:03d}_gradcam_map.png").size == (224, 224)
        np.testing.assert_allclose(np.load(tmp_path / f"{i:03d}_gradcam.npy"), maps[i])
    index = json.loads((tmp_path / "index.json").read_text())
    assert [item["true"] for item in index["items"]] == parts.y_test[:3].tolist()
    assert np.load(tmp_path / "attributions_gradcam.npy").shape == (3, 28, 28)


def test_cli_default_folder_and_probe_fallback(run_dir, shapes_cnn, tmp_path, capsys):
    assert cli_explain(run_dir, "saliency", 2, None) == 0
    assert (run_dir / "explain" / "saliency" / "001_saliency_overlay.png").exists()
    # a run whose dataset cannot be loaded falls back to its saved probes, and says so
    bare = tmp_path / "bare"
    (bare / "live").mkdir(parents=True)
    (bare / "model.keras").write_bytes((run_dir / "model.keras").read_bytes())
    _, parts = shapes_cnn
    np.savez(bare / "live" / "probes.npz", x=parts.x_test[:4], y=parts.y_test[:4])
    capsys.readouterr()
    assert cli_explain(bare, "occlusion", 10, tmp_path / "out") == 0
    err = capsys.readouterr().err
    assert "live/probes.npz" in err and "Traceback" not in err
    assert np.load(tmp_path / "out" / "maps_occlusion.npy").shape == (4, 28, 28)


@pytest.mark.parametrize("case,expected", [
    ("missing", "does not exist"), ("no_model", "model.keras not found"), ("method", "unknown explanation method"),
    ("samples", "at least 1"), ("corrupt", "cannot load"), ("no_data", "no live/probes.npz"),
    ("shrunk_probes", "shrunk for the live view [14, 14, 1], not the model's input [28, 28, 1]"),
])
def test_cli_errors_are_one_plain_line(run_dir, tmp_path, capsys, case, expected):
    folder, method, samples = tmp_path / "run", "saliency", 2
    folder.mkdir()
    if case == "missing":
        folder = tmp_path / "nowhere"
    elif case == "method":
        folder, method = run_dir, "astrology"
    elif case == "samples":
        folder, samples = run_dir, 0
    elif case == "corrupt":
        (folder / "model.keras").write_bytes(b"not a zip")
    elif case in ("no_data", "shrunk_probes"):
        (folder / "model.keras").write_bytes((run_dir / "model.keras").read_bytes())
    if case == "shrunk_probes":  # a run of pictures bigger than the live view keeps its probes at that size
        (folder / "live").mkdir()
        np.savez(folder / "live" / "probes.npz", x=np.zeros((4, 14, 14, 1), "float32"), y=np.zeros(4))
    assert cli_explain(folder, method, samples, tmp_path / "out") == 1
    err = capsys.readouterr().err
    assert expected in err and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
