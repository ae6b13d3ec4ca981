"""Compute estimates: per-layer FLOPs against TensorFlow's own count, memory by hand, and the step budgets."""
import pytest

from builder import compute, experiment, templates, validate
from builder.experiment import apply_fix
from tests.builder_fixtures import spec

MODEL = "layerlab/model@1"


def conv_spec():
    return spec(("img", "Input", {"shape": [32, 32, 3]}, ()),
                ("conv", "Conv2D", {"filters": 16, "kernel_size": 5, "padding": "same"}, ["img"]),
                ("pool", "MaxPooling2D", {"pool_size": 2}, ["conv"]),
                ("sep", "SeparableConv2D", {"filters": 8, "kernel_size": 3, "padding": "same"}, ["pool"]),
                ("up", "Conv2DTranspose", {"filters": 8, "kernel_size": 3, "strides": 2, "padding": "same"}, ["sep"]),
                ("flat", "Flatten", {}, ["up"]),
                ("out", "Dense", {"units": 10}, ["flat"]))


def tf_float_ops(data) -> dict[str, int]:
    """TensorFlow's profiler count of a model's float operations for one example, per layer."""
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    from builder.build import build_model

    model = build_model(data)
    shape = [1, *data["nodes"][0]["params"]["shape"]]
    graph = convert_variables_to_constants_v2(tf.function(model).get_concrete_function(tf.TensorSpec(shape))).graph
    options = {**tf.compat.v1.profiler.ProfileOptionBuilder.float_operation(), "output": "none"}
    out = {}
    for op in tf.compat.v1.profiler.profile(graph=graph, options=options).children:
        layer = op.name.split("/")[1].rsplit("_", 1)[0]
        out[layer] = out.get(layer, 0) + op.total_float_ops
    return out


def test_forward_flops_match_tensorflows_count_layer_by_layer():
    ours = compute.estimate(validate.check(conv_spec())).flops
    theirs = tf_float_ops(conv_spec())
    for layer in ("conv", "pool", "sep", "up", "out"):
        assert theirs[layer] > 0 and ours[layer] == pytest.approx(theirs[layer], rel=0.05), (layer, ours, theirs)


def test_attention_memory_and_flops_by_hand():
    heads, steps, width, key_dim = 4, 50, 8, 16
    report = validate.check(spec(("seq", "Input", {"shape": [steps, width]}, ()),
                                 ("att", "MultiHeadAttention", {"num_heads": heads, "key_dim": key_dim},
                                  ["seq", "seq"])))
    cost = compute.estimate(report)
    scores = heads * steps * steps
    projected = heads * (steps * key_dim + steps * 2 * key_dim)  # queries; keys and values
    assert cost.memory["att"] == 4 * (steps * width + 2 * scores + projected)
    weights = report.params["att"]  # q, k, v: width→heads·key_dim each, out: heads·key_dim→width, with biases
    assert weights == 3 * (width * heads * key_dim + heads * key_dim) + heads * key_dim * width + width
    assert cost.flops["att"] == 2 * weights * steps + 2 * scores * 2 * key_dim


def test_recurrent_layers_cost_their_weights_per_time_step():
    report = validate.check(spec(("seq", "Input", {"shape": [30, 5]}, ()),
                                 ("lstm", "LSTM", {"units": 7}, ["seq"])))
    assert compute.estimate(report).flops["lstm"] == 2 * 4 * (5 * 7 + 7 * 7 + 7) * 30


def exp_with(model, batch_size=32, dataset="digits"):
    return {"format": "layerlab/experiment@1", "model": model, "data": {"dataset": dataset}, "augmentation": [],
            "training": {"batch_size": batch_size}}


def compute_problems(exp):
    return [p for p in experiment.check(exp) if "LAYERLAB_MAX_STEP_" in p.message]


def test_a_huge_kernel_over_a_big_picture_is_refused_naming_the_layer():
    model = {"format": MODEL, "nodes": [
        {"id": "img", "type": "Input", "params": {"shape": [2048, 2048, 1]}},
        {"id": "conv", "type": "Conv2D", "params": {"filters": 2, "kernel_size": 31, "padding": "same"},
         "inputs": ["img"]},
        {"id": "pool", "type": "GlobalAveragePooling2D", "inputs": ["conv"]},
        {"id": "out", "type": "Dense", "params": {"units": 10, "activation": "softmax"}, "inputs": ["pool"]}]}
    assert validate.check(model).ok  # small in weights and per-example activations
    [problem] = compute_problems(exp_with(model))
    assert problem.message.startswith("one training step (batch 32) needs about 1.6 T operations, over the limit "
                                      "of 1.0 T (server setting LAYERLAB_MAX_STEP_FLOPS)"), problem.message
    assert "biggest layers: 'conv' (Conv2D) 1.5 T" in problem.message  # 3 × 32 × 2 × (31² · 2 + 2) × 2048²
    fixed = apply_fix(exp_with(model), problem.fix)  # the largest batch that fits
    assert fixed["training"]["batch_size"] == 20 and compute_problems(fixed) == []
    assert compute_problems(apply_fix(exp_with(model), {"training": {"batch_size": 21}}))


def test_attention_scores_count_against_activation_memory():
    model = {"format": MODEL, "nodes": [
        {"id": "seq", "type": "Input", "params": {"shape": [20_000, 4]}},
        {"id": "att", "type": "MultiHeadAttention", "params": {"num_heads": 64, "key_dim": 2},
         "inputs": ["seq", "seq"]},
        {"id": "pool", "type": "GlobalAveragePooling1D", "inputs": ["att"]},
        {"id": "out", "type": "Dense", "params": {"units": 10, "activation": "softmax"}, "inputs": ["pool"]}]}
    assert validate.check(model).ok
    problems = compute_problems(exp_with(model, batch_size=1))
    memory = next(p for p in problems if "LAYERLAB_MAX_STEP_MEMORY_MB" in p.message)
    att = 2 * 4 * (20_000 * 4 + 2 * 64 * 20_000**2 + 64 * 20_000 * 3 * 2)  # output, scores + softmax, q k v
    assert f"biggest layers: 'att' (MultiHeadAttention) {att / 1024**3:.1f} GB" in memory.message, memory.message
    assert "over the limit of 4.0 GB (server setting LAYERLAB_MAX_STEP_MEMORY_MB)" in memory.message
    assert memory.fix is None and memory.field == "model"  # even one example is too much


def test_the_batch_is_at_most_the_dataset(monkeypatch):
    model = spec(("x", "Input", {"shape": [64]}, ()), ("h", "Dense", {"units": 10, "activation": "softmax"}, ["x"]))
    monkeypatch.setenv("LAYERLAB_MAX_STEP_FLOPS", str(3 * 1797 * 2 * 650))  # the whole digits set in one batch
    assert compute_problems(exp_with(model, batch_size=65_536)) == []
    monkeypatch.setenv("LAYERLAB_MAX_STEP_FLOPS", str(3 * 1797 * 2 * 650 - 1))
    assert "batch 1,797" in compute_problems(exp_with(model, batch_size=65_536))[0].message


@pytest.mark.parametrize("template_id", list(templates.TEMPLATES))
def test_every_template_fits_the_default_step_budgets(template_id):
    assert compute_problems(templates.experiment(template_id)) == []
