"""The single-input inference API (builder.predict) on runs trained for the test, one per data kind: answers equal
the deployable model's own predict and reproduce evaluation.json; saliency from builder.explain; the CLI."""
import json

import numpy as np
import pytest

from builder import predict
from builder.predict import PredictError
from tests.train_fixtures import mlp_spec


def _experiment(dataset, model, **training):
    base = {"epochs": 3, "batch_size": 32, "seed": 0, "learning_rate": 0.01}
    base.update(training)
    return {"format": "layerlab/experiment@1", "model": model, "data": {"dataset": dataset, "validation_split": 0.2,
            "test_split": 0.2}, "augmentation": [], "training": base}


def _cnn(shape, classes):
    return {"format": "layerlab/model@1", "name": "cnn", "nodes": [
        {"id": "image", "type": "Input", "params": {"shape": shape}},
        {"id": "conv", "type": "Conv2D", "params": {"filters": 4, "kernel_size": [3, 3], "activation": "relu"},
         "inputs": ["image"]},
        {"id": "flat", "type": "Flatten", "inputs": ["conv"]},
        {"id": "probs", "type": "Dense", "params": {"units": classes, "activation": "softmax"}, "inputs": ["flat"]}]}


EXPERIMENTS = {
    "digits-mlp": _experiment("digits", mlp_spec()),
    "digits-cnn": _experiment("digits", _cnn([8, 8, 1], 10)),
    "iris": _experiment("iris", mlp_spec(classes=3, shape=(4,)), epochs=10),
    "moons": _experiment("moons", mlp_spec(classes=2, shape=(2,)), epochs=5),
    "sine": _experiment("sine", mlp_spec(classes=1, shape=(20, 1)) | {"nodes": mlp_spec(classes=1, shape=(20, 1))["nodes"][:3] + [
        {"id": "probs", "type": "Dense", "params": {"units": 1}, "inputs": ["hidden"]}]}, task="regression"),
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    from builder.train.runner import run

    root = tmp_path_factory.mktemp("runs")
    for name, exp in EXPERIMENTS.items():
        run(exp, root / name)
    return root


@pytest.mark.parametrize("name", ["digits-mlp", "digits-cnn", "iris", "moons"])
def test_answers_equal_the_deployable_model_and_reproduce_the_evaluation(runs, name):
    trained = predict.open_run(runs / name)
    x, y = trained.examples()["test"]
    reference = trained.model.predict(x, verbose=0)
    answers = [trained.answer(xi, method=None) for xi in x]
    np.testing.assert_allclose([a.probabilities for a in answers], reference, atol=1e-5)
    evaluation = json.loads((runs / name / "evaluation.json").read_text())
    assert np.mean([a.index == t for a, t in zip(answers, y, strict=True)]) == pytest.approx(evaluation["accuracy"])
    assert answers[0].label == evaluation["class_names"][answers[0].index]
    assert answers[0].text() == f"Prediction: {answers[0].label} ({100 * max(answers[0].probabilities):.1f} %)"


def test_regression_answers_in_the_target_units(runs):
    trained = predict.open_run(runs / "sine")
    x, y = trained.examples()["test"]
    values = np.array([trained.answer(xi).value[0] for xi in x])
    np.testing.assert_allclose(values, trained.model.predict(x, verbose=0).ravel(), rtol=1e-5, atol=1e-5)
    evaluation = json.loads((runs / "sine" / "evaluation.json").read_text())
    assert np.abs(values - y).mean() == pytest.approx(evaluation["mae"], rel=1e-4)


def test_image_saliency_is_the_gradient_map_and_grad_cam_needs_a_convolution(runs):
    from builder.explain import explain, normalize, to_map

    mlp, cnn = predict.open_run(runs / "digits-mlp"), predict.open_run(runs / "digits-cnn")
    assert mlp.methods() == ["saliency"] and cnn.methods() == ["saliency", "gradcam"]
    x = mlp.examples()["test"][0][:1]
    answer = mlp.answer(x[0])
    expected = normalize(to_map(explain(mlp.model, x, "saliency")))[0]
    np.testing.assert_allclose(answer.saliency, expected, atol=1e-6)
    assert answer.saliency.shape == (8, 8) and answer.saliency.max() == pytest.approx(1, abs=1e-4)
    cam = cnn.answer(x[0], "gradcam")
    assert cam.method == "gradcam" and cam.saliency.shape == (8, 8) and cam.saliency.min() >= 0
    assert mlp.answer(x[0], "gradcam").method == "saliency"  # no convolution: the gradient instead


def test_table_bars_add_up_to_the_score_above_the_average_row(runs):
    from builder.explain.logits import Scores

    trained = predict.open_run(runs / "iris")
    row = trained.examples()["test"][0][0]
    answer = trained.answer(row)
    assert answer.method == "integrated_gradients" and answer.saliency.shape == (4,)
    scores = Scores.of(trained.core)
    inside = trained._to_core(row[None].astype(np.float32))
    gap = scores.predict(inside)[0, answer.index] - scores.predict(np.zeros_like(inside))[0, answer.index]
    assert answer.saliency.sum() == pytest.approx(gap, rel=0.05, abs=0.02)  # integrated gradients' completeness


def test_a_drawn_digit_is_read_like_the_data(runs):
    trained = predict.open_run(runs / "digits-mlp")
    x, _ = trained.examples()["test"]
    drawings = [np.kron(255 - xi[..., 0] * 255 / 16, np.ones((32, 32))).astype("uint8") for xi in x[:40]]
    agree = [trained.answer(trained.from_picture(d), None).index == trained.answer(xi, None).index
             for d, xi in zip(drawings, x[:40], strict=True)]
    assert np.mean(agree) >= 0.8


def test_points_take_crossed_features_and_wrong_sizes_are_refused(runs):
    trained = predict.open_run(runs / "moons")
    np.testing.assert_allclose(trained.from_point(1.0, -0.5), [1.0, -0.5])
    with pytest.raises(PredictError, match="takes raw \\(x, y\\) points \\(2 numbers\\); the input has 3"):
        trained.answer([1, 2, 3])
    with pytest.raises(PredictError, match="missing or infinite"):
        trained.answer([1, float("nan")])
    with pytest.raises(PredictError, match="not a picture"):
        trained.from_picture(np.zeros((4, 4), np.uint8))


def test_runs_without_a_deployable_model_say_so(runs, tmp_path):
    old = tmp_path / "old"
    old.mkdir()
    (old / "status.json").write_text(json.dumps({"status": "completed"}))
    assert "no deployable model" in predict.deploy_problem(old)
    with pytest.raises(PredictError, match="no deployable model"):
        predict.open_run(old)
    (old / "samples.npz").write_bytes(b"")
    assert "GAN run" in predict.deploy_problem(old)
    assert "no run folder" in predict.deploy_problem(tmp_path / "missing")


def test_loaded_runs_are_cached_within_the_budget(runs, monkeypatch):
    first = predict.open_run(runs / "iris")
    assert predict.open_run(runs / "iris") is first
    monkeypatch.setenv("LAYERLAB_MAX_LOADED_MODELS", "1")
    predict.open_run(runs / "moons")  # pushes iris out
    assert predict.open_run(runs / "iris") is not first


def test_the_cli_prints_the_answer_as_json(runs, tmp_path, capsys):
    from PIL import Image

    from builder.cli import main

    row = predict.open_run(runs / "iris").examples()["test"][0][0]
    csv = tmp_path / "row.csv"
    csv.write_text("sepal length,sepal width,petal length,petal width\n" + ",".join(map(str, row)) + "\n")
    assert main(["predict", str(runs / "iris"), str(csv)]) == 0
    out = json.loads(capsys.readouterr().out)
    expected = predict.open_run(runs / "iris").answer(row)
    assert out["label"] == expected.label and out["probabilities"] == pytest.approx(expected.probabilities, abs=1e-6)
    assert main(["predict", str(runs / "iris"), json.dumps(row.tolist()), "--no-saliency"]) == 0
    assert "saliency" not in json.loads(capsys.readouterr().out)
    digit = predict.open_run(runs / "digits-mlp").examples()["test"][0][0]
    Image.fromarray(np.kron(255 - digit[..., 0] * 255 / 16, np.ones((32, 32))).astype("uint8")).save(tmp_path / "d.png")
    assert main(["predict", str(runs / "digits-mlp"), str(tmp_path / "d.png")]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["text"].startswith("Prediction: ") and np.shape(out["saliency"]) == (8, 8)
    assert main(["predict", str(runs / "iris"), "[1, 2]"]) == 1
    assert "predict: this model takes 4 raw feature values" in capsys.readouterr().err


def test_a_gan_draws_the_picture_of_the_chosen_noise(tmp_path):
    from builder import templates
    from builder.train.gan_run import draw
    from builder.train.runner import run

    exp = templates.experiment("mlp-gan")
    exp["training"]["epochs"] = 1
    run(exp, tmp_path / "gan")
    assert "GAN run" in predict.deploy_problem(tmp_path / "gan")
    generator = predict.open_generator(tmp_path / "gan")
    assert generator.size == 16 and generator.image_shape == (8, 8, 1)
    z = generator.noise(3)
    np.testing.assert_array_equal(z, generator.noise(3))
    assert not np.array_equal(z, generator.noise(4))
    picture = generator.draw(z)
    np.testing.assert_allclose(picture, draw(generator.model, z[None], (8, 8, 1))[0])
    moved = z.copy()
    moved[0] += 3
    assert not np.allclose(generator.draw(moved), picture)  # a slider moves the picture
