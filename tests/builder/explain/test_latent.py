"""Latent map: an autoencoder's code as 2-D points, checked against hand computation and a trained model."""
import keras
import numpy as np
import pytest

from builder.experiments import templates
from builder.explain.latent import code_layer, latent_map
from builder.explain.logits import ExplainError
from builder.graph.build import build_model
from tests.builder_fixtures import spec

L = keras.layers


def _linear_autoencoder(width: int, code: int):
    return build_model(spec(("x", "Input", {"shape": [width]}, ()),
                            ("code", "Dense", {"units": code}, ["x"]),
                            ("out", "Dense", {"units": width}, ["code"]), name="linear-ae"))


def test_bottleneck_is_found_in_the_autoencoder_template():
    assert code_layer(build_model(templates.get("dense-autoencoder"))) == "code"


def test_two_number_code_is_the_map_itself():
    model = _linear_autoencoder(4, 2)
    w, b = model.get_layer("code").get_weights()
    x = np.random.default_rng(0).normal(size=(20, 4)).astype("float32")
    labels = np.arange(20) % 3
    result = latent_map(model, x, labels)
    assert (result.layer, result.method, result.explained) == ("code", "code", 1.0)
    np.testing.assert_allclose(result.coords, x @ w + b, rtol=1e-5, atol=1e-5)
    assert result.labels.tolist() == labels.tolist()


def test_wider_code_is_shown_on_its_principal_plane():
    model = _linear_autoencoder(6, 5)
    rng = np.random.default_rng(1)
    plane = rng.normal(size=(200, 2))
    x = (plane @ rng.normal(size=(2, 6))).astype("float32")  # data on a plane: the linear code is a plane too
    result = latent_map(model, x)
    assert result.method == "pca" and result.coords.shape == (200, 2)
    assert result.explained == pytest.approx(1.0, abs=1e-6)
    # the map is the plane again, up to a linear change of axes
    fit, residual, *_ = np.linalg.lstsq(np.c_[plane, np.ones(200)], result.coords, rcond=None)
    assert residual.max() < 1e-6 * len(plane)
    noisy = latent_map(model, rng.normal(size=(200, 6)).astype("float32"))
    assert 0.4 - 1e-6 < noisy.explained < 1.0  # random 5-D codes: two of five axes hold less than all


def test_bad_requests_are_plain_errors():
    model = _linear_autoencoder(4, 2)
    x = np.zeros((5, 4), dtype="float32")
    with pytest.raises(ExplainError, match="4 labels for 5 examples"):
        latent_map(model, x, labels=[0, 1, 2, 3])
    with pytest.raises(ExplainError, match="no layer named 'nope'"):
        latent_map(model, x, layer="nope")
    one = build_model(spec(("x", "Input", {"shape": [3]}, ()), ("code", "Dense", {"units": 1}, ["x"]),
                           ("out", "Dense", {"units": 3}, ["code"])))
    with pytest.raises(ExplainError, match="at least 2 numbers"):
        latent_map(one, np.zeros((4, 3), dtype="float32"))


def test_training_the_autoencoder_pulls_the_classes_apart_on_its_map():
    """Four overlapping classes in 10-D: on the untrained 2-D code a nearest-neighbour vote mixes them
    up; after training to reconstruct (no labels used) the map keeps them apart."""
    from sklearn.datasets import make_blobs
    from sklearn.model_selection import cross_val_score
    from sklearn.neighbors import KNeighborsClassifier

    keras.utils.set_random_seed(0)
    x, y = make_blobs(n_samples=400, n_features=10, centers=4, cluster_std=3.0, random_state=0)
    x = ((x - x.mean(axis=0)) / x.std(axis=0)).astype("float32")
    model = build_model(spec(("x", "Input", {"shape": [10]}, ()),
                             ("hidden", "Dense", {"units": 16, "activation": "tanh"}, ["x"]),
                             ("code", "Dense", {"units": 2}, ["hidden"]),
                             ("up", "Dense", {"units": 16, "activation": "tanh"}, ["code"]),
                             ("out", "Dense", {"units": 10}, ["up"])))

    def vote_accuracy():
        result = latent_map(model, x, y)
        return cross_val_score(KNeighborsClassifier(5), result.coords, result.labels, cv=5).mean()

    before = vote_accuracy()
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    model.fit(x, x, epochs=40, batch_size=32, verbose=0)
    after = vote_accuracy()
    assert after > 0.95 and after > before + 0.15
