"""Validation: each kind of problem with its message, shapes, the cache, friendly errors from build."""
import pytest

from builder.experiments import templates
from builder.graph import validate
from builder.graph.build import build_model
from builder.model.spec import SpecError
from tests.builder_fixtures import spec


def lines(data) -> list[str]:
    return validate.check(data).lines()


def mlp(*extra, outputs=None):
    return spec(("x", "Input", {"shape": [4]}, ()), ("h", "Dense", {"units": 8}, ["x"]), *extra, outputs=outputs)


def test_valid_spec_reports_shapes_with_batch_none_and_param_counts():
    report = validate.check(mlp(("y", "Dense", {"units": 3, "activation": "softmax"}, ["h"])))
    assert report.ok and report.problems == []
    assert report.shapes == {"x": (None, 4), "h": (None, 8), "y": (None, 3)}
    assert report.params == {"x": 0, "h": 40, "y": 27}
    assert report.total_params == 67


def test_structure_problems_are_reported_not_raised():
    report = validate.check({"format": "layerlab/model@2", "nodes": [{"id": "1x", "type": "Dense", "colour": 1}]})
    text = report.lines()
    assert not report.ok
    assert any("expected 'layerlab/model@1'" in t for t in text)
    assert any(p.node == "1x" and "unknown key 'colour'" in p.message for p in report.problems)
    assert any("id must start with a letter" in t for t in text)


def test_unknown_layer_type_suggests_close_names():
    assert lines(mlp(("y", "Dens", {"units": 3}, ["h"]))) == ["y: unknown layer type 'Dens'; did you mean Dense?"]
    assert "did you mean Conv2D" in lines(mlp(("y", "conv2d", {}, ["h"])))[0]
    assert lines(mlp(("y", "Teleporter", {}, ["h"]))) == ["y: unknown layer type 'Teleporter'; pick a layer from the catalog"]


def test_unknown_and_invalid_params_name_the_node_and_param():
    problems = lines(mlp(("y", "Dense", {"units": 0, "colour": "red", "activation": "magic"}, ["h"])))
    assert "y: unknown parameter 'colour' (known: units, activation, use_bias, kernel_regularizer)" in problems
    assert "y: 'units' must be at least 1, got 0" in problems
    assert any(p.startswith("y: 'activation' must be one of 'linear', 'relu'") for p in problems)


def test_required_param_missing():
    assert lines(mlp(("y", "Dense", {}, ["h"]))) == ["y: 'units' is required — Number of output units (neurons)."]


def test_regularizer_and_wrapped_layer_are_checked():
    bad_reg = lines(mlp(("y", "Dense", {"units": 2, "kernel_regularizer": {"l3": 1}}, ["h"])))
    assert bad_reg == ["y: 'kernel_regularizer' knows only 'l1' and 'l2', not 'l3'; write it like {\"l1\": 0, \"l2\": 0.001}"]
    seq = ("s", "Input", {"shape": [5, 2]}, ())
    wrong_type = spec(seq, ("b", "Bidirectional", {"layer": {"type": "Dense", "params": {"units": 2}}}, ["s"]))
    assert lines(wrong_type) == ["b: 'layer' type must be one of SimpleRNN, LSTM, GRU, got 'Dense'"]
    wrong_param = spec(seq, ("b", "Bidirectional", {"layer": {"type": "GRU", "params": {"units": -1}}}, ["s"]))
    assert lines(wrong_param) == ["b: wrapped GRU: 'units' must be at least 1, got -1"]


def test_cycle_is_named_with_its_path():
    problems = lines(spec(("x", "Input", {"shape": [4]}, ()), ("a", "Dense", {"units": 2}, ["x", "b"]),
                          ("b", "Dense", {"units": 2}, ["a"]), ("y", "Dense", {"units": 2}, ["b"]),
                          outputs=["y"]))
    assert any("the graph has a cycle (" in p and "a → b" in p and "remove one of these connections" in p for p in problems)
    # Dense with two inputs is also reported, but the cycle is never reported as "disconnected"
    assert not any("not connected" in p for p in problems)


def test_self_loop_is_a_cycle():
    problems = lines(mlp(("y", "Add", {}, ["h", "y"])))
    assert "y: the graph has a cycle (y → y); remove one of these connections" in problems


def test_dangling_input():
    assert lines(mlp(("y", "Dense", {"units": 2}, ["ghost"]))) == [
        "y: input 'ghost' does not exist; connect an existing layer or remove it"]


def test_missing_input():
    problems = lines(mlp(("y", "Dense", {"units": 2}, ()), outputs=["h", "y"]))
    assert problems == ["y: Dense has no input; connect a layer to it"]


def test_wrong_input_counts_for_merge_and_attention_and_input():
    assert lines(mlp(("y", "Add", {}, ["h"]))) == ["y: Add needs at least 2 inputs but has 1; connect more layers to it"]
    three = mlp(("a", "Dense", {"units": 8}, ["x"]), ("b", "Dense", {"units": 8}, ["x"]), ("y", "Subtract", {}, ["h", "a", "b"]))
    assert lines(three) == ["y: Subtract needs exactly 2 inputs but has 3; remove connections"]
    seq = spec(("s", "Input", {"shape": [5, 4]}, ()), ("att", "MultiHeadAttention", {"num_heads": 1, "key_dim": 2}, ["s"]))
    assert lines(seq) == ["att: MultiHeadAttention needs 2 or 3 inputs in this order (query, value[, key]) but has 1; "
                          "connect more layers to it"]
    assert lines(mlp(("y", "Dense", {"units": 2}, ["h", "x"]))) == [
        "y: Dense needs exactly 1 input but has 2; remove connections"]
    fed_input = spec(("x", "Input", {"shape": [4]}, ()), ("x2", "Input", {"shape": [4]}, ["x"]),
                     ("y", "Dense", {"units": 2}, ["x2"]))
    assert "x2: an Input layer takes no inputs; remove its incoming connections" in lines(fed_input)


def test_incompatible_merge_shapes():
    add = mlp(("a", "Dense", {"units": 16}, ["x"]), ("y", "Add", {}, ["h", "a"]))
    assert lines(add) == ["y: Add needs inputs of the same shape but gets (None, 8) from 'h' and (None, 16) from 'a'; "
                          "make their sizes match (e.g. the same units or filters)"]
    img = ("i", "Input", {"shape": [8, 8, 1]}, ())
    cat = spec(img, ("p", "MaxPooling2D", {}, ["i"]), ("c", "Concatenate", {}, ["i", "p"]))
    assert lines(cat) == ["c: Concatenate joins along axis -1, so all other sizes must match, but gets (None, 8, 8, 1) "
                          "from 'i' and (None, 4, 4, 1) from 'p'; pool, upsample or reshape one branch to match"]
    far = spec(img, ("p", "MaxPooling2D", {}, ["i"]), ("c", "Concatenate", {"axis": 5}, ["i", "p"]))
    assert lines(far) == ["c: Concatenate axis 5 does not exist for inputs of shape (None, 8, 8, 1); "
                          "use an axis from -3 to 3 (-1 is the last)"]
    ok = spec(img, ("p", "Conv2D", {"filters": 3, "kernel_size": 1}, ["i"]), ("c", "Concatenate", {}, ["i", "p"]))
    assert validate.check(ok).shapes["c"] == (None, 8, 8, 4)


def test_disconnected_nodes():
    problems = lines(mlp(("y", "Dense", {"units": 2}, ["h"]), ("side", "Dense", {"units": 2}, ["h"]), outputs=["y"]))
    assert problems == ["side: not connected to any output; connect it to the rest of the model or delete it"]
    orphan = spec(("x", "Input", {"shape": [4]}, ()), ("x2", "Input", {"shape": [4]}, ()),
                  ("y", "Dense", {"units": 2}, ["x"]), outputs=["y"])
    assert lines(orphan) == ["x2: not connected to any output; connect it to the rest of the model or delete it"]


def test_no_outputs_and_no_inputs():
    only_input = spec(("x", "Input", {"shape": [4]}, ()))
    assert lines(only_input) == ["the model has no output; mark the last layer as the output"]
    assert validate.check(only_input).problems[0].node is None
    missing = mlp(outputs=["nope"])
    assert lines(missing)[0] == "output 'nope' is not a layer in the model; pick an existing layer as output"


def test_wrong_rank_message_from_the_issue():
    bad = spec(("image", "Input", {"shape": [28, 28, 1]}, ()), ("flat", "Flatten", {}, ["image"]),
               ("conv1", "Conv2D", {"filters": 8, "kernel_size": [3, 3]}, ["flat"]))
    assert lines(bad) == ["conv1: Conv2D needs input of rank 4 (batch, height, width, channels) but gets (None, 784) "
                          "from 'flat'; remove Flatten or add Reshape"]


def test_wrong_rank_hints():
    gray = spec(("image", "Input", {"shape": [28, 28]}, ()), ("conv", "Conv2D", {"filters": 8, "kernel_size": 3}, ["image"]))
    assert lines(gray)[0].endswith("from 'image'; give the Input a channels axis, e.g. shape [28, 28, 1], "
                                   "or use Conv1D if the data is a sequence")
    seq = spec(("s", "Input", {"shape": [10, 2]}, ()), ("pool", "MaxPooling2D", {}, ["s"]))
    assert lines(seq)[0].endswith("give the Input a channels axis, e.g. shape [10, 2, 1], or use MaxPooling1D if the data is a sequence")
    conv = spec(("s", "Input", {"shape": [10, 2]}, ()), ("c", "Conv1D", {"filters": 2, "kernel_size": 3}, ["s"]),
                ("pool", "MaxPooling2D", {}, ["c"]))
    assert lines(conv)[0].endswith("from 'c'; use MaxPooling1D instead, or add a Reshape before it")
    flat = spec(("x", "Input", {"shape": [10]}, ()), ("rnn", "LSTM", {"units": 2}, ["x"]))
    assert lines(flat) == ["rnn: LSTM needs input of rank 3 (batch, steps, features) but gets (None, 10) from 'x'; "
                           "give the Input a features axis, e.g. shape [10, 1]"]


def test_keras_errors_become_plain_problems_on_the_node():
    small = spec(("i", "Input", {"shape": [2, 2, 1]}, ()), ("conv", "Conv2D", {"filters": 1, "kernel_size": [3, 3]}, ["i"]))
    (problem,) = validate.check(small).problems
    assert problem.node == "conv"
    assert problem.message == ("Conv2D would make its output smaller than nothing from input (None, 2, 2, 1); use "
                               "padding 'same', a smaller kernel or pool size, or fewer downsampling layers before it")
    reshape = spec(("x", "Input", {"shape": [10]}, ()), ("r", "Reshape", {"target_shape": [3, 3]}, ["x"]))
    (problem,) = validate.check(reshape).problems
    assert problem.node == "r" and problem.message.startswith("Reshape cannot work on input (None, 10): ")
    assert problem.message.endswith("check its params or the layers before it")
    assert "\n" not in problem.message and "Traceback" not in problem.message and "\x1b" not in problem.message


def test_unknown_feature_size_is_explained():
    free = spec(("x", "Input", {"shape": [3, None]}, ()), ("y", "Dense", {"units": 2}, ["x"]))
    assert lines(free) == ["y: Dense needs a fixed size on the last axis but gets (None, 3, None); give the Input a "
                           "number there instead of null (None)"]


def test_problems_downstream_of_a_bad_node_do_not_pile_up():
    report = validate.check(mlp(("y", "Dense", {"units": -1}, ["h"]), ("z", "Dense", {"units": 2}, ["y"])))
    assert report.lines() == ["y: 'units' must be at least 1, got -1"]
    assert "z" not in report.shapes and report.shapes["h"] == (None, 8)


def test_repeated_check_uses_the_cache(monkeypatch):
    spec_ = templates.get("tiny-transformer")
    first = validate.check(spec_)
    calls = []
    real = validate._keras_infer_uncached
    monkeypatch.setattr(validate, "_keras_infer_uncached", lambda *a: calls.append(a) or real(*a))
    again = validate.check(spec_)
    assert calls == [] and again.shapes == first.shapes and again.params == first.params
    spec_.node("hidden").params["units"] = 7  # one edit → only the edited node and its consumer are recomputed
    edited = validate.check(spec_)
    assert sorted(a[0].id for a in calls) == ["hidden", "probs"]
    assert edited.shapes["hidden"] == (None, 7)


def test_ensure_valid_and_build_raise_spec_error_with_lines():
    bad = mlp(("y", "Dens", {"units": 2}, ["h"]))
    with pytest.raises(SpecError) as e:
        validate.ensure_valid(bad)
    assert e.value.problems == ["y: unknown layer type 'Dens'; did you mean Dense?"]
    with pytest.raises(SpecError) as e:
        build_model(bad)
    assert e.value.problems == ["y: unknown layer type 'Dens'; did you mean Dense?"]


def test_shapes_agree_with_the_built_model_for_every_template():
    for template_id in templates.TEMPLATES:
        spec_ = templates.get(template_id)
        report = validate.check(spec_)
        model = build_model(spec_)
        for node in spec_.nodes:
            layer = model.get_layer(node.id)
            assert report.shapes[node.id] == tuple(layer.output.shape), (template_id, node.id)
            assert report.params[node.id] == layer.count_params()
        assert report.total_params == model.count_params()


def test_budgets_are_server_settings_read_when_checked(monkeypatch):
    data = spec(("x", "Input", {"shape": [64]}, []), ("wide", "Dense", {"units": 32}, ["x"]),
                ("out", "Dense", {"units": 10}, ["wide"]))
    assert validate.check(data).ok
    monkeypatch.setenv("LAYERLAB_MAX_PARAMS", "1000")  # 64*32+32 + 32*10+10 = 2410 weights
    lines = validate.check(data).lines()
    assert len(lines) == 1 and "2.4 k weights" in lines[0] and "LAYERLAB_MAX_PARAMS" in lines[0]
    assert lines[0].index("'wide' (Dense) 2.1 k") < lines[0].index("'out' (Dense) 330")
    monkeypatch.setenv("LAYERLAB_MAX_INPUT_DIM", "63")
    assert validate.check(data).problems_for("x")[0].startswith("shape [64] has an axis of 64, over the limit of 63")


def test_validation_is_linear_and_capped():
    from builder import limits

    cap = limits.get("max_nodes")
    nodes = [("n0", "Input", {"shape": [4]}, [])] + [(f"n{i}", "Dropout", {"rate": 0.1}, [f"n{i - 1}"]) for i in range(1, cap + 1)]
    assert validate.check(spec(*nodes)).lines() == [
        f"the model has {cap + 1:,} layers; the limit is {cap:,} (server setting LAYERLAB_MAX_NODES) — use a smaller model"]
    assert validate.check(spec(*nodes[:cap])).ok
