"""The one verdict: `builder.experiments.experiment.check` finds model/data/training problems as values with fixes.

Build, Data, the sidebar and Train all show `check`'s list, so "valid" means the same everywhere; the
runner refuses exactly what it reports. Every fix, applied, removes its problem and leaves a model that
builds and trains a batch.
"""
import numpy as np
import pytest
from train_fixtures import diabetes_experiment, digits_experiment, variant

from builder.experiments import experiment as ex
from builder.experiments import templates
from builder.graph.build import build_model
from builder.graph.validate import Problem
from builder.model.params import Param
from builder.store import runfolder
from builder.train.data import prepare
from builder.train.runner import run
from datasets import registry, splits
from datasets.base import DatasetError


def trains_one_batch(exp_dict) -> float:
    exp = ex.coerce(exp_dict)
    data = prepare(exp)
    model = build_model(exp.model)
    model.compile(optimizer="adam", loss=exp.hp["loss"])
    loss = float(np.asarray(model.train_on_batch(data.x_train[:16], data.y_train[:16])).ravel()[0])
    assert np.isfinite(loss)
    return loss


def only_problem(exp_dict) -> Problem:
    problems = ex.check(exp_dict)
    assert len(problems) == 1, problems
    return problems[0]


def fixed(exp_dict, problem: Problem) -> dict:
    assert problem.fix is not None, problem
    out = ex.apply_fix(exp_dict, problem.fix)
    assert ex.check(out) == []
    trains_one_batch(out)
    return out


def test_ten_class_data_and_a_five_unit_output_is_a_problem_on_that_node_with_a_fix():
    exp = variant(digits_experiment(), **{"model.nodes.3.params.units": 5})
    p = only_problem(exp)
    assert (p.node, p.field) == ("probs", "units")
    assert p.message.startswith("has 5 units but the data has 10 classes")
    assert p.fix == {"node": "probs", "params": {"units": 10, "activation": "softmax"}}
    out = fixed(exp, p)
    assert out["model"]["nodes"][3]["params"] == {"units": 10, "activation": "softmax"}
    assert exp["model"]["nodes"][3]["params"]["units"] == 5  # apply_fix returns a copy


def test_spirals_with_a_fitting_input_but_ten_output_units_is_a_problem_with_a_fix():
    exp = templates.experiment("playground-mlp")
    exp["model"]["nodes"][-1]["params"]["units"] = 10
    p = only_problem(exp)
    assert (p.node, p.field) == ("probs", "units") and "2 classes" in p.message
    assert p.fix == {"node": "probs", "params": {"units": 2, "activation": "softmax"}}
    fixed(exp, p)


@pytest.mark.parametrize("shape, target", [([28, 28], [8, 8, 1]), ([784], [64])])
def test_an_input_that_does_not_take_the_data_gets_the_data_shape(shape, target):
    exp = variant(digits_experiment(), **{"model.nodes.0.params.shape": shape})
    if len(shape) == 1:  # a flat Input feeding Dense directly (the seed MLP's way)
        exp["model"]["nodes"].pop(1)
        exp["model"]["nodes"][1]["inputs"] = ["image"]
    p = only_problem(exp)
    assert (p.node, p.field) == ("image", "shape") and p.fix == {"node": "image", "params": {"shape": target}}
    fixed(exp, p)


def test_a_loss_that_does_not_fit_the_task_gets_the_task_loss():
    p = only_problem(digits_experiment(loss="mean_squared_error"))
    assert (p.node, p.field) == (None, "training.loss")
    assert p.fix == {"training": {"loss": "sparse_categorical_crossentropy"}}
    fixed(digits_experiment(loss="mean_squared_error"), p)


def test_regression_on_class_labels_is_a_task_problem_whose_fix_resets_the_loss():
    exp = digits_experiment(task="regression", loss="mean_absolute_error")
    p = only_problem(exp)
    assert p.field == "training.task" and p.fix == {"training": {"task": "classification", "loss": None}}
    assert "loss" not in fixed(exp, p)["training"]


def test_binary_cross_entropy_wants_one_sigmoid_unit():
    exp = templates.experiment("playground-mlp", "moons")
    exp["training"]["loss"] = "binary_crossentropy"
    p = only_problem(exp)
    assert p.fix == {"node": "probs", "params": {"units": 1, "activation": "sigmoid"}}
    fixed(exp, p)


def test_feature_crosses_make_seven_inputs_and_the_input_must_follow():
    exp = templates.experiment("playground-mlp", "xor")
    exp["data"]["features"] = "crosses"
    p = only_problem(exp)
    assert (p.node, p.field) == ("point", "shape") and p.fix == {"node": "point", "params": {"shape": [7]}}
    assert "data shape [7]" in p.message
    out = fixed(exp, p)
    assert prepare(ex.coerce(out)).x_train.shape[1:] == (7,)


def test_feature_crosses_on_images_are_a_data_problem():
    exp = {**digits_experiment(), "data": {"dataset": "digits", "features": "crosses"}}
    p = only_problem(exp)
    assert p.field == "data.features" and p.fix == {"data": {"features": "raw"}}
    assert ex.problem_text(p).startswith("data: feature crosses are made from 2-D points")
    fixed(exp, p)


def test_a_regression_output_of_several_numbers_gets_one_unit():
    exp = diabetes_experiment()
    exp["model"]["nodes"][1]["params"] = {"units": 3, "activation": "relu"}
    p = only_problem(exp)
    assert (p.node, p.field) == ("y", "units") and p.fix == {"node": "y", "params": {"units": 1, "activation": None}}
    assert fixed(exp, p)["model"]["nodes"][1]["params"] == {"units": 1}


def test_every_fixable_setting_problem_is_fixed_by_its_fix():
    exp = digits_experiment(optimizer="nadam", learning_rate=-1.0, epochz=3)
    exp["data"].update(shuffle=True, validation_split=0.5, test_split=0.45)
    problems = ex.check(exp)
    assert {p.field for p in problems} == {"training.optimizer", "training.learning_rate", "training.epochz",
                                           "data.shuffle", "data.validation_split"}
    for p in problems:
        exp = ex.apply_fix(exp, p.fix)
    assert ex.check(exp) == []
    trains_one_batch(exp)


def test_validate_is_the_same_verdict_as_text():
    exp = variant(digits_experiment(optimizer="nadam"), **{"model.nodes.3.params.units": 5,
                                                           "model.nodes.2.params.activation": "nope"})
    problems = ex.check(exp)
    assert ex.validate(exp) == [ex.problem_text(p) for p in problems]
    lines = ex.validate(exp)
    assert "training: unknown optimizer 'nadam'; choose one of sgd, adam, adamw, rmsprop" in lines
    assert any(line.startswith("model: hidden: 'activation' must be one of") for line in lines)


def test_the_runner_refuses_exactly_the_verdict(tmp_path):
    exp = variant(digits_experiment(), **{"model.nodes.3.params.units": 5})
    assert run(exp, tmp_path) == "failed"
    assert runfolder.read_status(tmp_path)["error"] == "; ".join(ex.validate(exp))


def test_apply_fix_refuses_a_node_that_is_gone():
    with pytest.raises(ValueError, match="no node 'gone'"):
        ex.apply_fix(digits_experiment(), {"node": "gone", "params": {"units": 1}})


def test_the_split_limits_are_one_declaration_for_the_check_the_splitter_and_the_sliders():
    for name in ("validation_split", "test_split"):
        param: Param = ex.DATA[name]
        assert (param.min, param.max) == (0.0, splits.MAX_FRACTION)
    moons = registry.load("moons", n_samples=200)
    for vs in np.arange(0.0, 1.0, 0.05):
        for ts in np.arange(0.0, 1.0, 0.05):
            vs, ts = round(float(vs), 2), round(float(ts), 2)
            exp = templates.experiment("playground-mlp", "moons")
            exp["data"].update(validation_split=vs, test_split=ts)
            refused = any(p.field.startswith("data.") for p in ex.check(exp))
            try:
                splits.split(moons, vs, ts)
                split_fails = False
            except DatasetError:
                split_fails = True
            assert refused == split_fails, (vs, ts)
