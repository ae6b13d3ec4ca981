"""Do the maps point at the object? Scored against the shapes dataset's masks.

A small CNN (tests/builder/explain/conftest.py) is trained once, seeded, on CPU. For
each method we report, beside the chance level (the mask's area fraction):

* pointing game — strict (the map's maximum on a mask pixel) and with a 1-pixel
  tolerance (Zhang et al. use 15 px on 224-px images, ~7 % of the side; 1 px is
  ~4 % of 28). The tolerance matters for gradients: the steepest evidence of a
  bright shape on a dark background is its outline, which is half outside the
  mask, so strict pointing undersells a map that is right on the edge;
* relevance mass inside the mask.

Run with `-s` to see the table (it is copied into README's "Explainability").
"""
import numpy as np
import pytest

pytestmark = pytest.mark.slow  # trains a CNN (~10-30 s on 2 CPU cores)

N_ITEMS = 60
OPTIONS = {"smoothgrad": {"samples": 16}, "integrated_gradients": {"steps": 32}}
ALL = ("saliency", "smoothgrad", "integrated_gradients", "gradcam", "occlusion", "edges")


@pytest.fixture(scope="module")
def table(shapes_cnn):
    from builder.explain import chance, explain, pointing_game, relevance_mass, to_map
    from builder.explain.scoring import _dilate

    model, parts = shapes_cnn
    x, masks = parts.x_test[:N_ITEMS], parts.masks_test[:N_ITEMS]
    rows = {"chance": (chance(masks).mean(), chance(_dilate(masks, 1)).mean(), chance(masks).mean())}
    for method in ALL:
        maps = to_map(explain(model, x, method, **OPTIONS.get(method, {})))
        rows[method] = (pointing_game(maps, masks).mean(), pointing_game(maps, masks, tolerance=1).mean(),
                        relevance_mass(maps, masks).mean())
    print(f"\n{'method':24s} {'pointing':>9s} {'point±1px':>10s} {'rel. mass':>10s}   ({N_ITEMS} test images)")
    for name, (pg, pg1, rm) in rows.items():
        print(f"{name:24s} {pg:9.3f} {pg1:10.3f} {rm:10.3f}")
    return rows


def test_the_cnn_learned_the_shapes(shapes_cnn):
    model, parts = shapes_cnn
    accuracy = (model.predict(parts.x_test, verbose=0).argmax(axis=1) == parts.y_test).mean()
    assert accuracy >= 0.9, accuracy  # explanations of a guessing model would prove nothing


def test_gradient_and_gradcam_point_at_the_object(table):
    _, chance_pg1, chance_rm = table["chance"]
    for method in ("saliency", "gradcam"):
        pg, pg1, rm = table[method]
        # Pointing within 1 px: chance is ~0.26; both methods measured ≥ 0.95. Demanding
        # chance + 0.5 is a wide margin that still tolerates a few borderline shapes.
        assert pg1 >= chance_pg1 + 0.5, (method, pg1, chance_pg1)
        # Relevance mass: gradients spread small values over the whole noisy background
        # (~80 % of the pixels) and Grad-CAM is a 7×7 map blurred up to 28×28, so the mass
        # inside the mask is lower than pointing suggests; measured ≥ 1.5× chance, so
        # 1.25× chance is a clear, stable margin.
        assert rm >= 1.25 * chance_rm, (method, rm, chance_rm)
    assert table["gradcam"][0] >= table["chance"][0] + 0.4  # Grad-CAM even points strictly


def test_every_model_based_method_beats_chance(table):
    _, chance_pg1, chance_rm = table["chance"]
    for method in ("smoothgrad", "integrated_gradients", "occlusion"):
        pg, pg1, rm = table[method]
        assert pg1 > chance_pg1 + 0.3 and rm > 1.2 * chance_rm, (method, table[method])


def test_model_randomization_sanity_check(shapes_cnn):
    from builder.explain import model_randomization_check
    from builder.explain.sanity import THRESHOLD

    model, parts = shapes_cnn
    x = parts.x_test[:16]
    results = {m: model_randomization_check(model, x, m, **OPTIONS.get(m, {})) for m in ALL}
    print(f"\n{'method':24s} {'rank corr.':>10s}  passed (threshold {THRESHOLD})")
    for name, r in results.items():
        print(f"{name:24s} {r.correlation:10.3f}  {r.passed}")
    for method in ("saliency", "smoothgrad", "gradcam"):
        assert results[method].passed and abs(results[method].correlation) < 0.35, results[method]
    # The negative control: an edge detector of the input cannot change with the weights.
    control = results["edges"]
    assert not control.passed and control.correlation > 0.99, control


def test_randomized_copy_leaves_the_model_alone(shapes_cnn):
    from builder.explain.sanity import randomized_copy

    model, parts = shapes_cnn
    before = [w.copy() for w in model.get_weights()]
    copy = randomized_copy(model, seed=1)
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights(), strict=True))
    assert not np.allclose(copy.get_layer("conv1").get_weights()[0], model.get_layer("conv1").get_weights()[0])
    again = randomized_copy(model, seed=1)  # repeatable without touching Keras' global seed
    np.testing.assert_array_equal(again.get_layer("conv1").get_weights()[0], copy.get_layer("conv1").get_weights()[0])


def test_rank_correlation_basics():
    from builder.explain import rank_correlation

    a = np.random.default_rng(0).normal(size=(2, 5, 5))
    np.testing.assert_allclose(rank_correlation(a, a**3), 1.0)  # monotone: same ranking
    np.testing.assert_allclose(rank_correlation(a, -a), -1.0)
    np.testing.assert_array_equal(rank_correlation(a, np.zeros_like(a)), 0.0)  # a flat map has no ranking
