"""Augmentation: catalog declarations, validation, Keras pipelines (TensorFlow and JAX), preview."""
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from builder.model.catalog import LayerType  # noqa: E402
from datasets import augment, registry  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
ALL = [
    {"type": "RandomFlip", "params": {"mode": "horizontal_and_vertical"}},
    {"type": "RandomRotation", "params": {"factor": 0.1}},
    {"type": "RandomZoom", "params": {"height_factor": 0.2}},
    {"type": "RandomTranslation"},
    {"type": "RandomContrast", "params": {"factor": 0.3}},
    {"type": "RandomBrightness"},
    {"type": "GaussianNoise", "params": {"stddev": 0.1}},
]


@pytest.fixture(scope="module")
def images():
    return registry.load("shapes", n_samples=8, seed=0).x


def test_catalog_declares_every_augmentation_like_a_layer():
    assert list(augment.AUGMENTATIONS) == ["RandomFlip", "RandomRotation", "RandomZoom", "RandomTranslation",
                                           "RandomContrast", "RandomBrightness", "GaussianNoise"]
    for name, kind in augment.AUGMENTATIONS.items():
        assert isinstance(kind, LayerType) and kind.family == "augmentation" and kind.help
        assert hasattr(keras.layers, name)
        for p in kind.params:
            assert p.help, f"{name}.{p.name} needs help text"
            assert p.check(p.default) is None, f"{name}.{p.name}: default {p.default!r} fails its own check"
    assert augment.AUGMENTATIONS["RandomFlip"].input_ranks == (4,)
    assert augment.AUGMENTATIONS["GaussianNoise"].input_ranks == ()  # any data


def test_validate_against_data_shape_and_declarations():
    assert augment.validate(ALL, (28, 28, 1)) == []
    assert augment.validate([{"type": "GaussianNoise"}], (4,)) == []
    problems = augment.validate([{"type": "RandomFlip"}], (4,))
    assert len(problems) == 1 and "RandomFlip" in problems[0] and "(height, width, channels)" in problems[0]
    assert "(4,)" in problems[0]
    problems = augment.validate([{"type": "Mixup"}, {"type": "RandomRotation", "params": {"factor": 2.0}},
                                 {"type": "RandomFlip", "params": {"mode": "diagonal", "colour": 1}}, {}], (8, 8, 1))
    text = "\n".join(problems)
    assert "unknown type 'Mixup'" in text and "'factor' must be at most 0.5" in text
    assert "'mode' must be one of" in text and "unknown parameter 'colour'" in text and "step 4: needs a 'type'" in text
    assert augment.validate({"type": "RandomFlip"}, (8, 8, 1))[0].startswith("augmentation must be a list")
    bad_range = [{"type": "RandomContrast", "params": {"value_range": [1.0, 0.0]}}]
    assert "low < high" in augment.validate(bad_range, (8, 8, 1))[0]


def test_build_matches_hand_written_keras_layers():
    pipeline = augment.build(ALL, seed=7)
    assert isinstance(pipeline, keras.Sequential) and len(pipeline.layers) == len(ALL)
    flip = pipeline.layers[0].get_config()
    reference = keras.layers.RandomFlip("horizontal_and_vertical", seed=7).get_config()
    assert {k: v for k, v in flip.items() if k != "name"} == {k: v for k, v in reference.items() if k != "name"}
    contrast, brightness = pipeline.layers[4], pipeline.layers[5]
    assert tuple(contrast.value_range) == (0.0, 1.0) and tuple(brightness.value_range) == (0.0, 1.0)
    assert tuple(contrast.factor) == (0.3, 0.3)  # symmetric: 70%..130% contrast
    with pytest.raises(ValueError, match="unknown type"):
        augment.build([{"type": "Nope"}])
    with pytest.raises(ValueError, match="RandomFlip"):
        augment.build([{"type": "RandomFlip"}], input_shape=(10,))


def test_augmentation_is_identity_at_inference_and_changes_data_in_training(images):
    pipeline = augment.build(ALL, seed=0)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(pipeline(images, training=False)), images)
    trained = keras.ops.convert_to_numpy(pipeline(images, training=True))
    assert trained.shape == images.shape and np.abs(trained - images).mean() > 0.02
    # inside a model, predict() runs in inference mode: the augmentation must not change predictions
    keras.utils.set_random_seed(0)
    head = keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(3)])
    with_aug = keras.Sequential([keras.Input(images.shape[1:]), pipeline, head])
    without = keras.Sequential([keras.Input(images.shape[1:]), head])
    np.testing.assert_allclose(with_aug.predict(images, verbose=0), without.predict(images, verbose=0), atol=1e-6)


def test_flip_only_mirrors_and_brightness_shifts_within_range(images):
    flipped = keras.ops.convert_to_numpy(
        augment.build([{"type": "RandomFlip", "params": {"mode": "horizontal"}}], seed=1)(images, training=True))
    mirrored = 0
    for out, src in zip(flipped, images, strict=True):
        same, mirror = np.array_equal(out, src), np.allclose(out, src[:, ::-1])
        assert same or mirror
        mirrored += mirror and not same
    assert 0 < mirrored < len(images)  # a coin per image, not per batch
    brighter = keras.ops.convert_to_numpy(
        augment.build([{"type": "RandomBrightness", "params": {"factor": 0.3}}], seed=1)(images, training=True))
    assert brighter.min() >= 0.0 and brighter.max() <= 1.0  # value_range 0..1 matches our data
    unclipped = (brighter > 0.001) & (brighter < 0.999) & (images > 0.001) & (images < 0.999)
    shifts = [np.ptp((b - i)[u]) for b, i, u in zip(brighter, images, unclipped, strict=True) if u.any()]
    assert max(shifts) < 1e-5  # one brightness shift per image
    assert np.abs(brighter - images).max() <= 0.3 + 1e-6


def test_preview_grid_is_seeded_and_in_range(images):
    grid = augment.preview(ALL, images[0], n=6, seed=3)
    assert grid.shape == (6, 28, 28, 1) and grid.dtype == np.float32
    assert grid.min() >= 0.0 and grid.max() <= 1.0
    np.testing.assert_array_equal(grid, augment.preview(ALL, images[0], n=6, seed=3))
    assert not np.array_equal(grid, augment.preview(ALL, images[0], n=6, seed=4))
    assert len({g.tobytes() for g in grid}) == 6  # every tile differs
    plain = augment.preview([], images[0][..., 0], n=2)  # 2-D sample gets its channel axis
    np.testing.assert_array_equal(plain, np.stack([images[0]] * 2))


# One subprocess for the whole JAX check: importing a second backend costs seconds.
# Batches of 8 everywhere, so JAX compiles each operation once.
JAX_SCRIPT = textwrap.dedent("""
    import json, numpy as np, keras
    from datasets import augment, registry
    ALL = json.loads(%r)
    x = registry.load("shapes", n_samples=8, seed=0).x
    pipeline = augment.build(ALL, seed=0)
    train = keras.ops.convert_to_numpy(pipeline(x, training=True))
    infer = keras.ops.convert_to_numpy(pipeline(x, training=False))
    grid = augment.preview(ALL, x[0], n=8, seed=3)
    flip = augment.build([{"type": "RandomFlip", "params": {"mode": "horizontal"}}], seed=1)
    flipped = keras.ops.convert_to_numpy(flip(x, training=True))
    print(json.dumps({
        "backend": keras.backend.backend(),
        "train_shape": list(train.shape), "train_finite": bool(np.isfinite(train).all()),
        "train_changed": float(np.abs(train - x).mean()),
        "identity_at_inference": bool(np.array_equal(infer, x)),
        "grid_shape": list(grid.shape), "grid_range": [float(grid.min()), float(grid.max())],
        "grid_repeatable": bool(np.array_equal(grid, augment.preview(ALL, x[0], n=8, seed=3))),
        "flip_only_mirrors": all(np.array_equal(o, s) or np.allclose(o, s[:, ::-1]) for o, s in zip(flipped, x)),
    }))
""") % json.dumps(ALL)


@pytest.mark.slow
def test_same_pipeline_under_the_jax_backend():
    pytest.importorskip("jax")
    env = dict(os.environ, KERAS_BACKEND="jax", JAX_PLATFORMS="cpu", CUDA_VISIBLE_DEVICES="",
               PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    done = subprocess.run([sys.executable, "-c", JAX_SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["backend"] == "jax"
    assert result["train_shape"] == [8, 28, 28, 1] and result["train_finite"] and result["train_changed"] > 0.02
    assert result["identity_at_inference"]
    assert result["grid_shape"] == [8, 28, 28, 1] and 0.0 <= result["grid_range"][0] <= result["grid_range"][1] <= 1.0
    assert result["grid_repeatable"] and result["flip_only_mirrors"]
