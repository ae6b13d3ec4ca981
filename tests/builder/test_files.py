"""The one atomic writer: readers see the old file or the whole new one, and no temporary file stays."""
import numpy as np
import pytest

from builder.files import atomic_write, atomic_write_text


def test_atomic_write_leaves_the_old_file_when_writing_fails(tmp_path):
    path = tmp_path / "live" / "saliency_e001.npy"
    atomic_write(path, lambda f: np.save(f, np.ones(3)))

    def broken(f):
        f.write(b"half")
        raise OSError("disk full")

    with pytest.raises(OSError):
        atomic_write(path, broken)
    np.testing.assert_array_equal(np.load(path), np.ones(3))
    assert [p.name for p in path.parent.iterdir()] == ["saliency_e001.npy"]


def test_text_round_trips_and_replaces(tmp_path):
    path = tmp_path / "status.json"
    atomic_write_text(path, "first")
    atomic_write_text(path, "ünïcode second")
    assert path.read_text(encoding="utf-8") == "ünïcode second"
    assert [p.name for p in tmp_path.iterdir()] == ["status.json"]


def test_a_model_is_saved_into_a_new_folder_and_loads_back(tmp_path):
    keras = pytest.importorskip("keras")
    from builder.files import atomic_save_model

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    path = atomic_save_model(model, tmp_path / "deploy" / "model.keras")
    again = keras.saving.load_model(path, compile=False)
    for a, b in zip(model.get_weights(), again.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert [p.name for p in path.parent.iterdir()] == ["model.keras"]
