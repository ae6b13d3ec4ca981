"""Attribution methods against hand-derived values on models with fixed weights.

Every model here is tiny and its weights are set by hand, so each expected
value is a formula (captum's style: analytic values and axioms, not shapes).
"""
import numpy as np
import pytest

keras = pytest.importorskip("keras")

from builder.explain import (  # noqa: E402
    ExplainError,
    activations,
    decision_boundary,
    explain,
    normalize,
    overlay,
    per_feature,
    per_step,
    to_map,
)
from builder.explain.logits import Scores  # noqa: E402
from builder.explain.overlay import lut  # noqa: E402

RNG = np.random.default_rng(0)


def linear_classifier(w, b, activation="softmax", shape=None):
    """Input → (Flatten) → Dense(classes, activation) with kernel w (features, classes)."""
    shape = shape or (w.shape[0],)
    inp = keras.Input(shape)
    h = keras.layers.Flatten()(inp) if len(shape) > 1 else inp
    out = keras.layers.Dense(w.shape[1], activation=activation, name="out")(h)
    model = keras.Model(inp, out)
    model.get_layer("out").set_weights([w.astype("float32"), b.astype("float32")])
    return model


def bilinear(w1, w2):
    """f(x) = (w1·x)(w2·x): a quadratic through Multiply, one output unit."""
    inp = keras.Input((len(w1),))
    a = keras.layers.Dense(1, use_bias=False, name="a")(inp)
    c = keras.layers.Dense(1, use_bias=False, name="c")(inp)
    model = keras.Model(inp, keras.layers.Multiply()([a, c]))
    model.get_layer("a").set_weights([w1.reshape(-1, 1).astype("float32")])
    model.get_layer("c").set_weights([w2.reshape(-1, 1).astype("float32")])
    return model


def small_cnn(seed=0, activation="tanh"):
    keras.utils.set_random_seed(seed)
    inp = keras.Input((10, 10, 2))
    h = keras.layers.Conv2D(4, 3, activation=activation, name="c1")(inp)
    h = keras.layers.Conv2D(6, 3, activation=activation, name="c2")(h)
    h = keras.layers.Flatten()(h)
    out = keras.layers.Dense(3, activation="softmax", name="out")(h)
    return keras.Model(inp, out)


# -- vanilla gradient ----------------------------------------------------------
def test_linear_softmax_gradient_is_the_weight_column_of_the_target():
    w, b = RNG.normal(size=(5, 3)), RNG.normal(size=3)
    model = linear_classifier(w, b)
    x = RNG.normal(size=(4, 5)).astype("float32")
    for target in (0, 2):
        g = explain(model, x, "saliency", target=target)
        # pre-softmax score z_t = w[:, t]·x + b_t, so dz_t/dx = w[:, t] for every item
        np.testing.assert_allclose(g, np.tile(w[:, target], (4, 1)), rtol=1e-5, atol=1e-6)
    predicted = np.argmax(x @ w + b, axis=1)
    np.testing.assert_allclose(explain(model, x, "saliency"), w[:, predicted].T, rtol=1e-5, atol=1e-6)


def test_explaining_does_not_change_the_model():
    w, b = RNG.normal(size=(5, 3)), RNG.normal(size=3)
    model = linear_classifier(w, b)
    x = RNG.normal(size=(4, 5)).astype("float32")
    before = keras.ops.convert_to_numpy(model(x))
    explain(model, x, "integrated_gradients")
    after = keras.ops.convert_to_numpy(model(x))
    np.testing.assert_array_equal(before, after)
    np.testing.assert_allclose(after.sum(axis=1), 1.0, rtol=1e-5)  # still a softmax
    assert model.get_layer("out").activation.__name__ == "softmax"
    assert len(model.layers) == 2


def test_pre_softmax_scores_are_the_logits():
    w, b = RNG.normal(size=(5, 3)), RNG.normal(size=3)
    x = RNG.normal(size=(4, 5)).astype("float32")
    for model in (linear_classifier(w, b), _with_softmax_layer(w, b)):
        np.testing.assert_allclose(Scores(model).predict(x), x @ w + b, rtol=1e-5, atol=1e-5)


def _with_softmax_layer(w, b):
    inp = keras.Input((5,))
    z = keras.layers.Dense(3, name="z")(inp)
    model = keras.Model(inp, keras.layers.Softmax()(z))
    model.get_layer("z").set_weights([w.astype("float32"), b.astype("float32")])
    return model


def test_single_sigmoid_unit_explains_both_classes():
    w, b = RNG.normal(size=(4, 1)), RNG.normal(size=1)
    model = linear_classifier(w, b, activation="sigmoid")
    x = RNG.normal(size=(3, 4)).astype("float32")
    np.testing.assert_allclose(explain(model, x, "saliency", target=1), np.tile(w[:, 0], (3, 1)), rtol=1e-5)
    np.testing.assert_allclose(explain(model, x, "saliency", target=0), -np.tile(w[:, 0], (3, 1)), rtol=1e-5)


def test_bilinear_gradient_matches_product_rule():
    w1, w2 = RNG.normal(size=4), RNG.normal(size=4)
    x = RNG.normal(size=(5, 4)).astype("float32")
    g = explain(bilinear(w1, w2), x, "saliency", target=0)
    expected = (x @ w2)[:, None] * w1 + (x @ w1)[:, None] * w2
    np.testing.assert_allclose(g, expected, rtol=1e-4, atol=1e-5)


# -- Integrated Gradients ---------------------------------------------------------
def test_integrated_gradients_bilinear_closed_form():
    w1, w2 = RNG.normal(size=4), RNG.normal(size=4)
    x = RNG.normal(size=(5, 4)).astype("float32")
    ig = explain(bilinear(w1, w2), x, "integrated_gradients", target=0, steps=8)
    # along αx the gradient is α·(product rule); ∫α dα = 1/2 (trapezoid is exact for a linear integrand)
    expected = 0.5 * x * ((x @ w2)[:, None] * w1 + (x @ w1)[:, None] * w2)
    np.testing.assert_allclose(ig, expected, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(ig.sum(axis=1), (x @ w1) * (x @ w2), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("baseline", [None, 0.5, "array"])
def test_integrated_gradients_completeness_on_a_nonlinear_cnn(baseline):
    model = small_cnn()
    x = RNG.uniform(size=(3, 10, 10, 2)).astype("float32")
    if baseline == "array":
        baseline = RNG.uniform(size=(10, 10, 2)).astype("float32")
    t = np.array([0, 1, 2])
    ig = explain(model, x, "integrated_gradients", target=t, baseline=baseline, steps=64)
    base = np.broadcast_to(np.zeros(1) if baseline is None else baseline, x.shape).astype("float32")
    z = Scores(model).predict(x)[np.arange(3), t] - Scores(model).predict(base)[np.arange(3), t]
    sums = ig.reshape(3, -1).sum(axis=1)
    assert np.all(np.abs(sums - z) <= 0.01 * np.abs(z) + 1e-6), (sums, z)


# -- SmoothGrad -----------------------------------------------------------------
def test_smoothgrad_without_noise_is_the_gradient():
    model = small_cnn()
    x = RNG.uniform(size=(4, 10, 10, 2)).astype("float32")
    g = explain(model, x, "saliency", target=1)
    np.testing.assert_allclose(explain(model, x, "smoothgrad", target=1, noise=0.0, samples=5), g, rtol=1e-5, atol=1e-7)
    tiny = explain(model, x, "smoothgrad", target=1, noise=1e-5, samples=5)
    np.testing.assert_allclose(tiny, g, rtol=1e-3, atol=1e-5)


def test_smoothgrad_of_a_linear_model_is_exact_for_any_noise():
    w, b = RNG.normal(size=(6, 2)), RNG.normal(size=2)
    x = RNG.normal(size=(3, 6)).astype("float32")
    sg = explain(linear_classifier(w, b), x, "smoothgrad", target=1, noise=0.5, samples=7)
    np.testing.assert_allclose(sg, np.tile(w[:, 1], (3, 1)), rtol=1e-5)


# -- occlusion ------------------------------------------------------------------
def test_occlusion_of_a_linear_image_model_is_the_patch_contribution():
    w, b = RNG.normal(size=(36, 2)), RNG.normal(size=2)
    model = linear_classifier(w, b, shape=(6, 6, 1))
    x = RNG.normal(size=(2, 6, 6, 1)).astype("float32")
    occ = explain(model, x, "occlusion", target=1, window=2, stride=2)
    contrib = (x[..., 0] * w[:, 1].reshape(6, 6))  # w·x per pixel
    patch = contrib.reshape(2, 3, 2, 3, 2).sum(axis=(2, 4))  # per 2×2 patch
    expected = np.repeat(np.repeat(patch, 2, axis=1), 2, axis=2)[..., None]
    np.testing.assert_allclose(occ, expected, rtol=1e-4, atol=1e-5)


def test_occlusion_overlapping_windows_average_the_drops():
    w, b = RNG.normal(size=(5, 2)), RNG.normal(size=2)
    x = RNG.normal(size=(1, 5)).astype("float32")
    occ = explain(linear_classifier(w, b), x, "occlusion", target=0, window=2, stride=1)
    c = x[0] * w[:, 0]
    windows = [c[i : i + 2].sum() for i in range(4)]  # windows start at 0..3
    expected = [windows[0], (windows[0] + windows[1]) / 2, (windows[1] + windows[2]) / 2,
                (windows[2] + windows[3]) / 2, windows[3]]
    np.testing.assert_allclose(occ[0], expected, rtol=1e-4, atol=1e-5)


def test_occlusion_on_tables_and_sequences():
    w, b = RNG.normal(size=(4, 2)), RNG.normal(size=2)
    x = RNG.normal(size=(3, 4)).astype("float32")
    occ = explain(linear_classifier(w, b), x, "occlusion", target=1, window=1)
    np.testing.assert_allclose(per_feature(occ), x * w[:, 1], rtol=1e-4, atol=1e-5)  # w_i x_i per feature
    ws, bs = RNG.normal(size=(8, 2)), RNG.normal(size=2)  # sequence of 4 steps × 2 features
    xs = RNG.normal(size=(3, 4, 2)).astype("float32")
    occ = explain(linear_classifier(ws, bs, shape=(4, 2)), xs, "occlusion", target=0, window=1)
    step = (xs * ws[:, 0].reshape(4, 2)).sum(-1)  # the whole time step is occluded
    np.testing.assert_allclose(per_step(occ, signed=True), 2 * step, rtol=1e-4, atol=1e-5)  # each of 2 features carries it


def test_per_step_of_gradients_sums_features():
    ws, bs = RNG.normal(size=(8, 2)), RNG.normal(size=2)
    xs = RNG.normal(size=(3, 4, 2)).astype("float32")
    g = explain(linear_classifier(ws, bs, shape=(4, 2)), xs, "saliency", target=1)
    np.testing.assert_allclose(per_step(g), np.tile(np.abs(ws[:, 1].reshape(4, 2)).sum(-1), (3, 1)), rtol=1e-5)


# -- Grad-CAM -------------------------------------------------------------------
def gap_cnn(kernel, bias, dense):
    """Conv2D(k filters, linear) → GlobalAveragePooling → Dense(2, softmax): Grad-CAM has a closed form."""
    inp = keras.Input((6, 6, 1))
    a = keras.layers.Conv2D(kernel.shape[-1], 3, name="conv")(inp)
    out = keras.layers.Dense(2, activation="softmax", name="out")(keras.layers.GlobalAveragePooling2D()(a))
    model = keras.Model(inp, out)
    model.get_layer("conv").set_weights([kernel.astype("float32"), bias.astype("float32")])
    model.get_layer("out").set_weights([dense.astype("float32"), np.zeros(2, "float32")])
    return model


def test_gradcam_closed_form_on_a_gap_network():
    kernel, bias, dense = RNG.normal(size=(3, 3, 1, 3)), RNG.normal(size=3), RNG.normal(size=(3, 2))
    model = gap_cnn(kernel, bias, dense)
    x = RNG.uniform(size=(2, 6, 6, 1)).astype("float32")
    cam = explain(model, x, "gradcam", target=1)
    assert cam.shape == (2, 6, 6)
    a = np.stack([activations(model, "conv", xi) for xi in x])  # (2, 4, 4, 3)
    # dz/dA_k(i,j) = dense[k, 1] / 16 at every position, so α_k = dense[k, 1] / 16
    raw = np.maximum((a * dense[:, 1] / 16).sum(-1), 0)
    expected4 = raw / (raw.max(axis=(1, 2), keepdims=True) + 1e-8)
    # the 4×4 map is resized to 6×6; compare on the resized grid of the hand-computed map
    from builder.explain.methods import resize

    np.testing.assert_allclose(cam, resize(expected4, (6, 6)), rtol=1e-4, atol=1e-5)
    assert cam.min() >= 0 and cam.max() <= 1 + 1e-6


def test_gradcam_is_finite_zero_when_every_activation_is_negative():
    kernel = np.abs(RNG.normal(size=(3, 3, 1, 2)))
    model = gap_cnn(kernel, np.full(2, -100.0), np.abs(RNG.normal(size=(2, 2))))
    x = RNG.uniform(size=(3, 6, 6, 1)).astype("float32")
    assert (activations(model, "conv", x[0]) < 0).all()  # all feature-map values negative, all α > 0
    cam = explain(model, x, "gradcam", layer="conv", target=0)
    assert np.isfinite(cam).all() and (cam >= 0).all()
    np.testing.assert_array_equal(cam, 0.0)


def test_gradcam_errors_in_plain_words():
    w, b = RNG.normal(size=(5, 3)), RNG.normal(size=3)
    with pytest.raises(ExplainError, match="no convolutional|has none"):
        explain(linear_classifier(w, b), RNG.normal(size=(2, 5)), "gradcam")
    with pytest.raises(ExplainError, match="no layer named 'nope'"):
        explain(small_cnn(), RNG.normal(size=(1, 10, 10, 2)), "gradcam", layer="nope")


# -- batches and inputs -------------------------------------------------------------
@pytest.mark.parametrize("method,options", [
    ("saliency", {}), ("smoothgrad", {"samples": 6, "noise": 0.2}), ("integrated_gradients", {"steps": 8}),
    ("gradcam", {}), ("occlusion", {"window": 3, "stride": 2}),
])
def test_a_batch_equals_each_item_alone(method, options):
    model = small_cnn(activation="relu")
    x = RNG.uniform(size=(4, 10, 10, 2)).astype("float32")
    batch = explain(model, x, method, **options)
    alone = np.stack([explain(model, x[i], method, **options) for i in range(4)])  # single item, no batch axis
    np.testing.assert_allclose(batch, alone, rtol=1e-4, atol=1e-6)


def test_bad_requests_raise_plain_errors():
    model = small_cnn()
    with pytest.raises(ExplainError, match="unknown explanation method 'magic'"):
        explain(model, np.zeros((1, 10, 10, 2)), "magic")
    with pytest.raises(ExplainError, match="does not fit the model"):
        explain(model, np.zeros((1, 9, 10, 2)), "saliency")
    with pytest.raises(ExplainError, match="between 0 and 2"):
        explain(model, np.zeros((1, 10, 10, 2)), "saliency", target=5)
    with pytest.raises(ExplainError, match="Integrated Gradients"):
        explain(model, np.zeros((1, 10, 10, 2)), "ig", steps_typo=3)


# -- maps, overlays, boundary, activations --------------------------------------------
def test_to_map_and_normalize():
    attr = np.array([[[[1.0, -3.0], [0.5, 0.2]]]], dtype="float32")  # (1, 1, 2, 2)
    np.testing.assert_allclose(to_map(attr), [[[3.0, 0.5]]])
    np.testing.assert_allclose(to_map(attr, "sum"), [[[-2.0, 0.7]]], rtol=1e-6)
    np.testing.assert_allclose(normalize(to_map(attr)), [[[1.0, 0.5 / 3]]], rtol=1e-5)
    np.testing.assert_array_equal(normalize(np.zeros((2, 3, 3))), 0.0)  # no 0/0


def test_overlay_blends_the_image_and_the_colormap():
    image = np.linspace(0, 1, 16, dtype="float32").reshape(4, 4, 1)
    heat = np.arange(16, dtype="float32").reshape(4, 4)
    gray = overlay(image, heat, alpha=0.0)
    assert gray.dtype == np.uint8 and gray.shape == (4, 4, 3)
    np.testing.assert_array_equal(gray[..., 0], np.round(image[..., 0] * 255))
    full = overlay(image, heat, alpha=1.0)
    np.testing.assert_array_equal(full[0, 0], [0x44, 0x01, 0x54])  # viridis low end
    np.testing.assert_array_equal(full[-1, -1], [0xFD, 0xE7, 0x25])  # viridis high end
    np.testing.assert_array_equal(lut("jet")[0], [0, 0, 128])
    assert overlay(image, np.zeros((4, 4)), 0.5).dtype == np.uint8  # a flat map is fine
    assert overlay(np.stack([image] * 3), np.stack([heat] * 3)).shape == (3, 4, 4, 3)
    with pytest.raises(ValueError, match="does not match"):
        overlay(image, np.zeros((3, 3)))


def test_decision_boundary_matches_the_hand_computed_logistic():
    w, b = np.array([[2.0], [-1.0]]), np.array([0.5])
    model = linear_classifier(w, b, activation="sigmoid")
    pts = RNG.normal(size=(20, 2)).astype("float32")
    xx, yy, probs = decision_boundary(model, pts, steps=15, margin=0.5)
    assert xx.shape == yy.shape == (15, 15) and probs.shape == (15, 15, 2)
    np.testing.assert_allclose([xx.min(), xx.max()], [pts[:, 0].min() - 0.5, pts[:, 0].max() + 0.5], rtol=1e-5)
    p1 = 1 / (1 + np.exp(-(2 * xx - yy + 0.5)))
    np.testing.assert_allclose(probs[..., 1], p1, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(probs.sum(-1), 1.0, rtol=1e-5)
    with pytest.raises(ValueError, match="2-D points"):
        decision_boundary(model, np.zeros((3, 3)))


def test_activations_equal_a_hand_convolution():
    kernel, bias = RNG.normal(size=(3, 3, 1, 2)), RNG.normal(size=2)
    model = gap_cnn(kernel, bias, RNG.normal(size=(2, 2)))
    x = RNG.uniform(size=(6, 6, 1)).astype("float32")
    maps = activations(model, "conv", x)
    expected = np.zeros((4, 4, 2))
    for i in range(4):
        for j in range(4):
            expected[i, j] = np.tensordot(x[i : i + 3, j : j + 3, :], kernel, axes=3) + bias
    np.testing.assert_allclose(maps, expected, rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="no layer named"):
        activations(model, "missing", x)


def test_softmax_on_another_layer_type_uses_a_linear_copy():
    # EinsumDense(activation="softmax"): not Dense, so the generic path (a linear twin from get_config)
    inp = keras.Input((4,))
    layer = keras.layers.EinsumDense("ab,bc->ac", output_shape=3, bias_axes="c", activation="softmax", name="out")
    model = keras.Model(inp, layer(inp))
    w, b = RNG.normal(size=(4, 3)).astype("float32"), RNG.normal(size=3).astype("float32")
    layer.set_weights([w, b])
    x = RNG.normal(size=(5, 4)).astype("float32")
    np.testing.assert_allclose(Scores.of(model).predict(x), x @ w + b, rtol=1e-5, atol=1e-5)
    layer.set_weights([2 * w, b])  # cached wrapper follows new weights (e.g. after another epoch)
    np.testing.assert_allclose(Scores.of(model).predict(x), x @ (2 * w) + b, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(explain(model, x, "saliency", target=2), np.tile(2 * w[:, 2], (5, 1)), rtol=1e-5)


def test_gradcam_refuses_a_layer_that_a_skip_connection_bypasses():
    inp = keras.Input((8, 8, 2))
    a = keras.layers.Conv2D(2, 3, padding="same", name="early")(inp)
    b = keras.layers.Conv2D(2, 3, padding="same", name="late")(a)
    h = keras.layers.GlobalAveragePooling2D()(keras.layers.Add()([a, b]))
    model = keras.Model(inp, keras.layers.Dense(2, activation="softmax")(h))
    with pytest.raises(ExplainError, match="a skip connection goes around it"):
        explain(model, RNG.normal(size=(1, 8, 8, 2)), "gradcam", layer="late")
    x = RNG.normal(size=(2, 8, 8, 2))
    by_default = explain(model, x, "gradcam")  # the last conv no skip goes around: 'early'
    np.testing.assert_allclose(by_default, explain(model, x, "gradcam", layer="early"))


def test_wrapper_models_are_explained_through_the_inner_logits():
    # the trainer puts augmentation in front of the model while training: a model inside a model
    w, b = RNG.normal(size=(5, 3)), RNG.normal(size=3)
    inner = linear_classifier(w, b)
    inp = keras.Input((5,))
    wrapper = keras.Model(inp, inner(keras.layers.GaussianNoise(0.1)(inp)))
    x = RNG.normal(size=(4, 5)).astype("float32")
    np.testing.assert_allclose(explain(wrapper, x, "saliency", target=1), np.tile(w[:, 1], (4, 1)), rtol=1e-5)


def test_sequential_models_and_no_leak_through_the_cache():
    import gc
    import weakref

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(4, activation="relu"),
                              keras.layers.Dense(2, activation="softmax")])
    x = RNG.normal(size=(3, 6)).astype("float32")
    h = np.maximum(x @ model.layers[0].kernel.numpy() + model.layers[0].bias.numpy(), 0)
    w2 = model.layers[1].kernel.numpy()
    np.testing.assert_allclose(Scores.of(model).predict(x), h @ w2 + model.layers[1].bias.numpy(), rtol=1e-5, atol=1e-5)
    assert explain(model, x, "saliency").shape == x.shape
    ref = weakref.ref(model)
    del model
    gc.collect()
    assert ref() is None  # explaining a model does not keep it alive


def test_token_models_get_occlusion_and_a_clear_word_for_gradients():
    keras.utils.set_random_seed(0)
    inp = keras.Input((6,), dtype="int32")
    h = keras.layers.GlobalAveragePooling1D()(keras.layers.Embedding(10, 4)(inp))
    model = keras.Model(inp, keras.layers.Dense(2, activation="softmax")(h))
    tokens = np.array([[1, 2, 3, 4, 5, 6], [7, 8, 9, 1, 2, 3]])
    with pytest.raises(ExplainError, match="use occlusion"):
        explain(model, tokens, "saliency")
    occ = explain(model, tokens, "occlusion", window=1, target=1)
    # replacing one token by token 0 changes the mean embedding by (e_tok − e_0)/6: the drop is linear in it
    emb = model.layers[1].embeddings.numpy()
    w = model.layers[-1].kernel.numpy()[:, 1]
    expected = (emb[tokens] - emb[0]) @ w / 6
    np.testing.assert_allclose(occ, expected, rtol=1e-4, atol=1e-6)
