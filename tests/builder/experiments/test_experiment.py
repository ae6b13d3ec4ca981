"""Experiment format: round trip, defaults, and problems caught before any process starts."""
import pytest
from train_fixtures import digits_experiment, mlp_spec, variant

from builder.experiments import experiment as ex
from builder.model.spec import SpecError


def test_round_trip_through_json_and_file(tmp_path):
    data = digits_experiment(optimizer="sgd", momentum=0.9, early_stopping={"monitor": "val_loss", "patience": 2})
    data["augmentation"] = [{"type": "RandomFlip", "params": {"mode": "horizontal"}}]
    exp = ex.Experiment.from_dict(data)
    assert exp.to_dict() == data
    ex.save(exp, tmp_path / "e.json")
    again = ex.load(tmp_path / "e.json")
    assert again.to_dict() == data
    assert again.model.node("hidden").params == {"units": 16, "activation": "relu"}


def test_defaults_fill_in_by_task():
    hp = ex.Experiment.from_dict(digits_experiment()).hp
    assert hp["loss"] == "sparse_categorical_crossentropy" and hp["metrics"] == ["accuracy"]
    assert hp["optimizer"] == "adam" and hp["early_stopping"] is None
    reg = ex.Experiment.from_dict(variant(digits_experiment(), **{"training.task": "regression"})).hp
    assert reg["loss"] == "mean_squared_error"
    es = ex.Experiment.from_dict(digits_experiment(early_stopping={"patience": 1})).hp["early_stopping"]
    assert es == {"monitor": "val_loss", "patience": 1}
    assert all(p.help for p in ex.HYPERPARAMS.values())


def test_unknown_keys_are_rejected():
    with pytest.raises(SpecError, match="unknown key 'trainig'"):
        ex.Experiment.from_dict({**digits_experiment(), "trainig": {}})
    with pytest.raises(SpecError, match="format"):
        ex.Experiment.from_dict({**digits_experiment(), "format": "layerlab/model@1"})
    assert any("unknown setting 'epochz'" in p for p in ex.validate(digits_experiment(epochz=3)))
    assert any("data: unknown key 'shuffle'" in p for p in ex.validate(variant(digits_experiment(), **{"data.shuffle": True})))


def test_a_good_experiment_has_no_problems():
    assert ex.validate(digits_experiment()) == []
    assert ex.validate(digits_experiment(optimizer="sgd", momentum=0.9, lr_schedule="cosine", l2=1e-4)) == []


@pytest.mark.parametrize("change, words", [
    ({"training.optimizer": "nadam"}, "unknown optimizer 'nadam'"),
    ({"training.learning_rate": -0.1}, "learning rate must be a positive number"),
    ({"training.loss": "mean_squared_error"}, "does not fit a classification task"),
    ({"training.task": "regression", "training.loss": "sparse_categorical_crossentropy"}, "does not fit a regression task"),
    ({"training.batch_size": 0}, "'batch_size' must be at least 1"),
    ({"model.nodes.0.params.shape": [28, 28]}, "data shape [8, 8, 1] does not match the model input 'image' shape [28, 28]"),
    ({"model.nodes.3.params.units": 3}, "has 3 units but the data has 10 classes"),
    ({"data.dataset": "no-such-data"}, "unknown dataset 'no-such-data'"),
    ({"model.nodes.2.type": "Dense2"}, "model: hidden"),
])
def test_bad_experiments_are_rejected_with_clear_messages(change, words):
    problems = ex.validate(variant(digits_experiment(), **change))
    assert problems, change
    assert any(words in p for p in problems), problems
    assert all("Traceback" not in p for p in problems)


def test_data_with_channel_axis_fits_an_input_without_it():
    assert ex.shapes_fit((8, 8, 1), (8, 8)) and ex.shapes_fit((8, 8), (8, 8, 1))
    assert ex.shapes_fit((8, 8, 1), (None, None, 1))
    assert ex.shapes_fit((8, 8, 1), (64,))  # a flat Input takes the image flattened
    assert not ex.shapes_fit((8, 8, 1), (63,)) and not ex.shapes_fit((8, 8, 1), (4, 16))
    three = variant(digits_experiment(), **{"model.nodes.0.params.shape": [8, 8, 1]})
    assert ex.validate(three) == []


def test_reconstruction_needs_output_shaped_like_input():
    spec = mlp_spec(classes=64)
    exp = {**digits_experiment(task="reconstruction"), "model": spec}
    problems = ex.validate(exp)
    assert any("for reconstruction the output 'probs' must have the input's shape" in p for p in problems), problems
