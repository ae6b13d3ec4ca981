"""ui/edits.py: building by intent — insert after the selected layer, append after the output, tidy,
a clean new model sized to the data, fresh names."""
from __future__ import annotations

from builder.graph import validate
from builder.model.spec import ModelSpec
from ui import edits

MLP = {"format": "layerlab/model@1", "name": "m", "nodes": [
    {"id": "x", "type": "Input", "params": {"shape": [4]}, "ui": {"x": 0, "y": 0}},
    {"id": "h", "type": "Dense", "params": {"units": 8}, "inputs": ["x"], "ui": {"x": 300, "y": 40}},
    {"id": "p", "type": "Dense", "params": {"units": 3, "activation": "softmax"}, "inputs": ["h"]}]}


def inputs(spec):
    return {n["id"]: n.get("inputs") for n in spec["nodes"]}


def test_insert_after_the_selected_layer_goes_between_it_and_its_consumer():
    new, nid = edits.insert_after(MLP, "Dropout", {"rate": 0.5}, "h")
    assert nid == "dropout_1"
    assert inputs(new) == {"x": None, "h": ["x"], "dropout_1": ["h"], "p": ["dropout_1"]}
    assert all("ui" not in n for n in new["nodes"])  # laid out again, in order
    assert validate.check(ModelSpec.from_dict(new)).ok
    assert MLP["nodes"][2]["inputs"] == ["h"]  # the argument is left alone


def test_with_nothing_selected_a_layer_is_appended_after_the_output():
    new, nid = edits.insert_after(MLP, "Dense", {"units": 2}, None)
    assert inputs(new)[nid] == ["p"] and inputs(new)["p"] == ["h"]
    declared = {**MLP, "outputs": ["h"]}  # an explicit output moves to the new layer
    new, nid = edits.insert_after(declared, "Dropout", {"rate": 0.1}, None)
    assert new["outputs"] == [nid] and inputs(new)[nid] == ["h"] and inputs(new)["p"] == [nid]


def test_three_clicks_build_the_digits_mlp_from_a_new_model():
    spec = edits.new_model([8, 8, 1], 10, "my-model")
    assert [n["type"] for n in spec["nodes"]] == ["Input", "Flatten", "Dense"]
    spec, a = edits.insert_after(spec, "Dense", {"units": 64, "activation": "relu"}, "flatten")
    spec, b = edits.insert_after(spec, "Dropout", {"rate": 0.2}, a)
    report = validate.check(ModelSpec.from_dict(spec))
    assert report.ok
    assert inputs(spec) == {"input": None, "flatten": ["input"], a: ["flatten"], b: [a], "output": [b]}
    assert report.total_params == 64 * 64 + 64 + 64 * 10 + 10
    assert edits.new_model([4], None, "n")["nodes"] == [{"id": "input", "type": "Input", "params": {"shape": [4]}}]


def test_fresh_names_skip_taken_ones():
    assert edits.fresh_name(set()) == "my-model"
    assert edits.fresh_name({"my-model", "my-model-2"}) == "my-model-3"
