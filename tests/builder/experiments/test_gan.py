"""GAN experiments: the format and its checks, the adversarial step against hand-written TensorFlow,
a short run on every backend, the exported train.py, and (slow) the template's default run's quality."""
import copy
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from builder.experiments import templates
from builder.experiments.experiment import Experiment, apply_fix, check, coerce, validate
from builder.model.spec import SpecError

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "tests"))
import gan_check  # noqa: E402


def gan_experiment() -> dict:
    return templates.experiment("mlp-gan")


def _node(exp: dict, part: str, node_id: str) -> dict:
    spec = exp["model"] if part == "generator" else exp["gan"]["discriminator"]
    return next(n for n in spec["nodes"] if n["id"] == node_id)


# -- format and checks ----------------------------------------------------------------------
def test_template_is_a_valid_gan_experiment_that_round_trips():
    exp = gan_experiment()
    assert validate(exp) == []
    parsed = Experiment.from_dict(exp)
    assert parsed.gan["discriminator"].name == "mlp-gan-discriminator"
    assert parsed.to_dict() == Experiment.from_dict(parsed.to_dict()).to_dict()
    assert parsed.to_dict()["gan"] == exp["gan"]
    assert "gan" not in templates.experiment("seed-mlp")  # other experiments are unchanged


def test_malformed_gan_object_is_a_structure_problem():
    exp = gan_experiment()
    exp["gan"]["extra"] = 1
    with pytest.raises(SpecError, match="unknown key 'extra' in 'gan'"):
        Experiment.from_dict(exp)
    exp["gan"] = {"discriminator": "no"}
    assert check(exp)[0].message.startswith("'gan' must be an object")


def test_discriminator_output_must_be_one_unit_and_the_fix_applies():
    exp = gan_experiment()
    _node(exp, "discriminator", "real").update(params={"units": 10, "activation": "softmax"})
    [problem] = check(exp)
    assert (problem.node, problem.field) == ("real", "discriminator.units")
    assert "one number per image" in problem.message
    assert validate(exp) == [f"discriminator: real: {problem.message}"]
    assert check(apply_fix(exp, problem.fix)) == []


def test_generator_output_must_match_the_discriminator_input():
    exp = gan_experiment()
    _node(exp, "generator", "image")["params"]["target_shape"] = [4, 16, 1]
    [problem] = check(exp)
    assert (problem.node, problem.field) == ("image", "shape")
    assert "[4, 16, 1]" in problem.message and "[8, 8, 1]" in problem.message


def test_discriminator_input_must_fit_the_data_images_and_the_fix_applies():
    exp = gan_experiment()
    exp["data"]["dataset"] = "shapes"  # 28×28 images, the template draws 8×8
    found = check(exp)
    d_input = next(p for p in found if p.field == "discriminator.shape")
    assert d_input.node == "image" and "[28, 28, 1]" in d_input.message
    fixed = apply_fix(exp, d_input.fix)
    assert _node(fixed, "discriminator", "image")["params"]["shape"] == [28, 28, 1]
    # now the generator (8×8) no longer fits the discriminator: said on the generator's output
    assert [(p.node, p.field) for p in check(fixed)] == [("image", "shape")]


@pytest.mark.parametrize("shape", [[4, 4], [0]])
def test_noise_must_be_one_positive_size(shape):
    exp = gan_experiment()
    _node(exp, "generator", "noise")["params"]["shape"] = shape
    problems = [p for p in check(exp) if p.node == "noise"]
    assert problems, check(exp)
    fixed = next((p for p in problems if p.fix), None)
    if fixed:  # the spec check may catch a zero size first; where ours speaks, its fix works
        assert check(apply_fix(exp, fixed.fix)) == []


def test_settings_a_gan_cannot_use_are_problems_with_fixes():
    exp = gan_experiment()
    exp["training"].update(loss="mean_squared_error", early_stopping={"monitor": "val_loss", "patience": 2})
    found = check(exp)
    assert {p.field for p in found} == {"training.loss", "training.early_stopping"}
    for p in found:
        exp = apply_fix(exp, p.fix)
    assert check(exp) == []


def test_a_gan_needs_image_data():
    exp = gan_experiment()
    exp["data"]["dataset"] = "spirals"
    assert [p.field for p in check(exp)] == ["data.dataset"]


# -- the adversarial step against hand-written TensorFlow -----------------------------------
def test_one_gan_step_equals_the_two_players_separate_gradient_steps():
    """Same noise, plain SGD: the GAN's one step moves the discriminator by its own loss's gradient and
    the generator by the generator loss's gradient (through the discriminator, whose weights stay)."""
    import keras
    import tensorflow as tf

    from builder.train.adversarial import GAN

    keras.utils.set_random_seed(3)
    z = np.random.default_rng(0).normal(size=(16, 4)).astype("float32")
    real = np.random.default_rng(1).uniform(size=(16, 6)).astype("float32")
    g = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="tanh"),
                          keras.layers.Dense(6, activation="sigmoid")])
    d = keras.Sequential([keras.Input((6,)), keras.layers.Dense(5, activation="tanh"),
                          keras.layers.Dense(1, activation="sigmoid")])
    g0, d0 = [w.copy() for w in g.get_weights()], [w.copy() for w in d.get_weights()]

    bce = keras.losses.BinaryCrossentropy()
    with tf.GradientTape(persistent=True) as tape:
        fake = g(z)
        d_loss = bce(tf.ones((16, 1)), d(real)) + bce(tf.zeros((16, 1)), d(fake))
        g_loss = bce(tf.ones((16, 1)), d(fake))
    lr = 0.1
    d_want = [w - lr * gr.numpy() for w, gr in zip(d0, tape.gradient(d_loss, d.trainable_weights), strict=True)]
    g_want = [w - lr * gr.numpy() for w, gr in zip(g0, tape.gradient(g_loss, g.trainable_weights), strict=True)]

    class FixedNoise(GAN):
        def noise(self, n):
            return keras.ops.convert_to_tensor(z)

    gan = FixedNoise(g, d, 4)
    gan.compile(optimizer=keras.optimizers.SGD(lr))
    logs = gan.train_on_batch(real, return_dict=True)
    for got, want in zip(d.get_weights() + g.get_weights(), d_want + g_want, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6)
    assert logs["d_loss"] == pytest.approx(float(d_loss), rel=1e-5)
    assert logs["g_loss"] == pytest.approx(float(g_loss), rel=1e-5)
    assert logs["loss"] == pytest.approx(float(d_loss + g_loss), rel=1e-5)


# -- a short run: run folder, live samples, exports -------------------------------------------
@pytest.fixture(scope="module")
def short_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("gan") / "run"
    return out, gan_check.check(str(out))


def test_short_run_trains_both_networks_with_finite_losses(short_run):
    _, result = short_run
    assert result["status"] == "completed"
    assert result["epochs"] == list(range(1, gan_check.EPOCHS + 1))
    assert result["finite"] and result["changed"] == {"generator": True, "discriminator": True}
    assert result["images"] == [256, 8, 8, 1] and result["interpolation"] == [4, 10, 8, 8, 1]
    assert result["in_range"]


def test_short_run_writes_a_sample_grid_per_epoch_and_an_interpolation_from_end_to_end(short_run):
    import keras

    from builder.store.watch import latest_live_file
    from builder.train.gan_run import SAMPLES, STEPS, interpolation_noise, live_path

    run_dir, _ = short_run
    grids = [np.load(live_path(run_dir, e)) for e in range(gan_check.EPOCHS + 1)]
    assert all(g.shape == (SAMPLES, 8, 8, 1) for g in grids)
    assert not np.allclose(grids[0], grids[-1])  # the generator learned between epoch 0 and the last
    assert latest_live_file(run_dir, "samples") == (live_path(run_dir, gan_check.EPOCHS), gan_check.EPOCHS)
    # the interpolation's rows start and end at their two noise vectors
    generator = keras.saving.load_model(run_dir / "model.keras")
    z = interpolation_noise(generator.input_shape[-1], 0)
    walk = np.load(run_dir / "samples.npz")["interpolation"]
    np.testing.assert_allclose(walk[1, 0], keras.ops.convert_to_numpy(generator(z[STEPS:STEPS + 1]))[0], atol=1e-5)
    np.testing.assert_allclose(walk[1, -1], keras.ops.convert_to_numpy(generator(z[2 * STEPS - 1:2 * STEPS]))[0],
                               atol=1e-5)


def test_exported_train_py_reproduces_the_run(short_run, tmp_path):
    from builder.exports.classic import export_all
    from builder.store.runfolder import METRICS, read_jsonl

    run_dir, _ = short_run
    made = export_all(run_dir)
    assert (run_dir / "code" / "discriminator.py").exists() and (run_dir / "model.keras").exists()  # the generator
    # standalone: the code folder copied elsewhere, no Layerlab on the path
    shutil.copytree(made["code/train.py"].parent, tmp_path / "code")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | {"CUDA_VISIBLE_DEVICES": ""}
    proc = subprocess.run([sys.executable, "train.py"], cwd=tmp_path / "code", env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    final = json.loads(proc.stdout.strip().splitlines()[-1])
    last = read_jsonl(run_dir / METRICS)[-1]
    for key in ("d_loss", "g_loss"):
        assert final[key] == pytest.approx(last[key], rel=1e-4), (key, final, last)
    assert (tmp_path / "code" / "generator.keras").exists()


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_gan_trains_on_other_backends(backend, tmp_path):
    if importlib.util.find_spec(backend) is None:
        pytest.fail(f"{backend} is not installed: pip install -r requirements-dev.txt")
    env = dict(os.environ, KERAS_BACKEND=backend, PYTHONPATH=str(ROOT), CUDA_VISIBLE_DEVICES="")
    proc = subprocess.run([sys.executable, str(ROOT / "tests" / "gan_check.py"), str(tmp_path / "run")],
                          env=env, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["backend"] == backend and result["status"] == "completed"
    assert result["finite"] and result["changed"] == {"generator": True, "discriminator": True}


# -- the template's default run draws recognizable digits ------------------------------------
def sample_quality(images: np.ndarray, exp) -> dict:
    """A digit classifier trained on the run's real training images: how many samples it names with
    confidence (and, for scale, how many held-out real digits); nearest-neighbour distances of samples
    to the training images against those of held-out real digits."""
    from sklearn.neural_network import MLPClassifier

    from builder.train.gan_run import training_data

    data = training_data(coerce(exp))
    train = data.x_train.reshape(len(data.x_train), -1)
    held_out = data.x_test.reshape(len(data.x_test), -1)
    samples = images.reshape(len(images), -1)
    clf = MLPClassifier((128,), max_iter=1000, random_state=0).fit(train, data.y_train)

    def nearest(x):
        return np.sqrt(((x[:, None, :] - train[None, :, :]) ** 2).sum(-1)).min(1)

    confident = clf.predict_proba(samples).max(1) > 0.9
    return {
        "confident": float(confident.mean()),
        "real_confident": float((clf.predict_proba(held_out).max(1) > 0.9).mean()),
        "classes": np.bincount(clf.predict(samples[confident]), minlength=10).tolist(),
        "nn_min": float(nearest(samples).min()), "nn_median": float(np.median(nearest(samples))),
        "real_nn_median": float(np.median(nearest(held_out))),
    }


@pytest.mark.slow
def test_template_default_run_draws_confident_digits_that_are_not_copies(tmp_path):
    from builder.train.runner import run

    exp = gan_experiment()
    assert run(copy.deepcopy(exp), tmp_path / "run") == "completed"
    quality = sample_quality(np.load(tmp_path / "run" / "samples.npz")["images"], exp)
    print(quality)
    assert quality["confident"] > 0.6, quality  # most samples are clearly one digit
    assert sum(n > 0 for n in quality["classes"]) >= 8, quality  # of many kinds, not one (no mode collapse)
    # not copies: no sample sits on a training image, and typical distances match real unseen digits'
    assert quality["nn_min"] > 0.3, quality
    assert quality["nn_median"] > 0.8 * quality["real_nn_median"], quality


def test_explain_cli_says_a_gan_run_has_samples_not_classes(short_run, capsys):
    from builder.explain_cli import cli_explain

    run_dir, _ = short_run
    assert cli_explain(run_dir, "saliency") == 1
    assert "this is a GAN run" in capsys.readouterr().err


def test_discriminator_problems_show_even_while_the_dataset_is_unknown():
    exp = gan_experiment()
    exp["data"]["dataset"] = "no-such-set"
    _node(exp, "discriminator", "hidden1")["params"]["units"] = -4
    found = {(p.node, p.field) for p in check(exp)}
    assert (None, "data.dataset") in found and ("hidden1", "discriminator.model") in found, found
