"""The 'features' data setting: Playground crosses of 2-D points, made before normalization, the same for
every split, in the runner's data path and in the exported training script alike."""
import numpy as np
import pytest

from builder.experiments import experiment as ex
from builder.experiments import templates
from builder.train.data import prepare
from datasets import registry, splits
from datasets.base import DatasetError


def test_crosses_of_known_points():
    points = np.array([[0.0, 0.0], [1.0, 2.0], [-3.0, 0.5]], np.float32)
    crossed = splits.add_features(points, "crosses")
    expected = [[0, 0, 0, 0, 0, 0, 0],
                [1, 2, 1, 4, 2, np.sin(1.0), np.sin(2.0)],
                [-3, 0.5, 9, 0.25, -1.5, np.sin(-3.0), np.sin(0.5)]]
    np.testing.assert_allclose(crossed, expected, rtol=1e-6)
    assert crossed.shape[1] == len(splits.CROSSES) and splits.feature_shape((2,), "crosses") == (7,)
    assert splits.add_features(points, "raw") is points and splits.feature_shape((8, 8, 1), "raw") == (8, 8, 1)


def test_crosses_need_two_d_points():
    with pytest.raises(DatasetError, match="made from 2-D points"):
        splits.add_features(np.zeros((3, 4), np.float32), "crosses")


def test_crosses_are_made_before_normalization_the_same_way_for_every_split():
    moons = registry.load("moons")
    raw = splits.prepare(moons, 0.2, 0.2, seed=3)
    crossed = splits.prepare(moons, 0.2, 0.2, seed=3, features="crosses")
    np.testing.assert_array_equal(crossed.idx_test, raw.idx_test)
    assert crossed.x_train.shape == (len(raw.x_train), 7)
    np.testing.assert_allclose(crossed.x_train.mean(axis=0), 0.0, atol=1e-5)  # fitted on the training split
    np.testing.assert_allclose(crossed.x_train.std(axis=0), 1.0, atol=1e-4)
    norm = crossed.normalizer
    for part, idx in ((crossed.x_val, crossed.idx_val), (crossed.x_test, crossed.idx_test)):
        np.testing.assert_allclose(part, norm.transform(splits.add_features(moons.x[idx], "crosses")), atol=1e-6)
        np.testing.assert_allclose(part[:, :2], raw.x_val if idx is crossed.idx_val else raw.x_test, atol=1e-5)


def test_the_run_and_the_exported_script_see_the_same_crossed_data(tmp_path):
    from builder.exports import classic as exports

    exp_dict = templates.experiment("playground-mlp", "circles")
    exp_dict["data"]["features"] = "crosses"
    exp_dict["model"]["nodes"][0]["params"]["shape"] = [7]
    exp = ex.coerce(exp_dict)
    assert ex.check(exp) == []
    ours = prepare(exp)
    steps = {title: code for title, _, code in exports.sections(exp)}
    assert "x = crosses(x)" in steps["split"]
    exports.write_data_file(exp, tmp_path / "data.npz", prepare(exp).preprocessing)  # circles has no public loader: it travels as a file
    setup = "\n".join(line for line in steps["settings"].splitlines() if "build_model" not in line and "HERE" not in line)
    scope = {"HERE": tmp_path}
    # the script's own data, split and preprocessing steps, generated from our experiment
    exec("\n".join([setup, steps["data"], steps["split"], steps["preprocessing"]]), scope)  # noqa: S102
    normalized = (scope["x_train"] - scope["shift"]) / scope["scale"]
    np.testing.assert_allclose(normalized, ours.x_train, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(scope["y_test"], ours.y_test)
