"""The sweep's space: defaults from the experiment, plain problems before anything runs, one trial's experiment."""
import copy

import pytest
from train_fixtures import digits_experiment

from builder.experiments.experiment import problem_text
from builder.jobs.submission import admit
from builder.store.workspace import QuotaExceeded
from builder.sweep import space


def with_dropout(**training) -> dict:
    exp = digits_experiment(**training)
    nodes = exp["model"]["nodes"]
    nodes.insert(3, {"id": "drop", "type": "Dropout", "params": {"rate": 0.1}, "inputs": ["hidden"]})
    nodes[4]["inputs"] = ["drop"]
    return exp


def swept(sweep: dict, exp=None) -> dict:
    return {**(exp or digits_experiment()), "sweep": sweep}


def messages(experiment) -> dict:
    return {p.field: p.message for p in space.problems(experiment)}


def test_the_default_space_follows_the_optimizer_and_the_model():
    adam = space.default_space(with_dropout())
    assert adam["learning_rate"] == {"low": 0.0001, "high": 0.03, "log": True}
    assert adam["batch_size"] == {"choices": [16, 32, 64, 128]}
    assert adam["units"] == {"low": 4, "high": 32, "log": True}  # the hidden layer has 16 units
    assert adam["dropout"] == {"low": 0.0, "high": 0.5}
    sgd = space.default_space(digits_experiment(optimizer="sgd"))
    assert sgd["learning_rate"]["low"] == 0.001 and sgd["learning_rate"]["high"] == 0.3
    assert "dropout" not in sgd  # no Dropout layer, nothing to vary


def test_the_widest_hidden_layer_is_the_one_whose_units_vary():
    exp = digits_experiment()
    nodes = exp["model"]["nodes"]
    nodes.insert(3, {"id": "wide", "type": "Dense", "params": {"units": 64}, "inputs": ["hidden"]})
    nodes[4]["inputs"] = ["wide"]
    assert space.units_node(exp) == "wide"
    assert space.units_node(exp) != "probs"  # the output layer's units are the classes: never varied


def test_settings_fill_in_defaults_and_rank_a_classifier_by_validation_accuracy():
    resolved = space.settings(swept({"trials": 5}))
    assert resolved["trials"] == 5 and resolved["pruning"] is True
    assert (resolved["objective"], resolved["direction"]) == ("val_accuracy", "maximize")
    no_validation = copy.deepcopy(digits_experiment())
    no_validation["data"]["validation_split"] = 0.0
    assert space.settings(swept({}, no_validation))["objective"] == "loss"


def test_a_trial_experiment_carries_the_values_and_no_sweep_key():
    exp = swept({"trials": 3}, with_dropout())
    trial = space.trial_experiment(exp, {"learning_rate": 0.02, "batch_size": 64, "units": 48, "dropout": 0.3})
    assert "sweep" not in trial and "sweep" in exp
    assert trial["training"]["learning_rate"] == 0.02 and trial["training"]["batch_size"] == 64
    nodes = {n["id"]: n for n in trial["model"]["nodes"]}
    assert nodes["hidden"]["params"]["units"] == 48 and nodes["drop"]["params"]["rate"] == 0.3
    assert nodes["probs"]["params"]["units"] == 10
    assert exp["model"]["nodes"][2]["params"]["units"] == 16  # the sweep's own experiment is unchanged


def test_a_valid_sweep_has_no_problems():
    assert space.problems(swept({"trials": 4, "space": {"learning_rate": {"low": 0.001, "high": 0.1, "log": True},
                                                        "batch_size": {"choices": [16, 64]}}})) == []


@pytest.mark.parametrize(("sweep", "field", "words"), [
    ({"space": {"learning_rate": {"low": 0.01, "high": 0.01}}}, "sweep.space.learning_rate", "is empty"),
    ({"space": {"learning_rate": {"low": 0.1, "high": 0.001}}}, "sweep.space.learning_rate", "upside down"),
    ({"space": {"batch_size": {"choices": list(range(1, 10_001))}}}, "sweep.space.batch_size", "10,000 choices"),
    ({"space": {"batch_size": {"choices": [16, 0]}}}, "sweep.space.batch_size", "choice 0"),
    ({"space": {"dropout": {"low": 0.0, "high": 0.5}}}, "sweep.space.dropout", "no Dropout layer"),
    ({"space": {"momentum": {"low": 0.0, "high": 0.9}}}, "sweep.space.momentum", "cannot vary 'momentum'"),
    ({"space": {"learning_rate": {"low": 0.0, "high": 0.1, "log": True}}}, "sweep.space.learning_rate", "at least 1e-07"),
    ({"space": {}}, "sweep.space", "at least one setting"),
    ({"trials": 51}, "sweep.trials", "51 trials is more than a sweep may have here (50"),
    ({"trials": 0}, "sweep.trials", "at least 1"),
    ({"parallel": 3}, "sweep.parallel", "LAYERLAB_MAX_SWEEP_PARALLEL"),
    ({"objective": "val_mae"}, "sweep.objective", "cannot rank trials by 'val_mae'"),
    ({"budget": 3}, "sweep.budget", "unknown sweep setting 'budget'"),
])
def test_bad_sweeps_are_plain_problems_before_anything_runs(sweep, field, words):
    found = messages(swept(sweep))
    assert field in found, found
    assert words in found[field]


def test_the_trial_budget_is_a_server_setting(monkeypatch):
    monkeypatch.setenv("LAYERLAB_MAX_SWEEP_TRIALS", "100")
    assert messages(swept({"trials": 51})) == {}


def test_a_gan_sweep_says_which_settings_would_apply():
    from builder.experiments.templates import experiment

    gan = experiment("mlp-gan")
    [problem] = space.problems(swept({"trials": 4}, gan))
    assert problem.field == "sweep"
    assert "learning_rate and batch_size" in problem.message
    assert problem_text(problem).startswith("sweep: a GAN cannot be swept")


def test_the_experiment_own_problems_come_first():
    found = space.problems(swept({"trials": 4}, digits_experiment(optimizer="nadam")))
    assert [p.field for p in found] == ["training.optimizer"]


def test_a_sweep_trial_is_admitted_beside_the_workspace_single_run(tmp_path, monkeypatch):
    monkeypatch.setenv("LAYERLAB_UPLOADS_DIR", str(tmp_path / "uploads"))
    assert admit(tmp_path, "ws", active=1, sweep=True) == []  # max_active_runs=1 is for single runs
    with pytest.raises(QuotaExceeded, match="already has 2 trials"):
        admit(tmp_path, "ws", active=2, sweep=True)
    with pytest.raises(QuotaExceeded, match="already have a run"):
        admit(tmp_path, "ws", active=1)


def test_validate_on_the_command_line_checks_the_sweep_key(tmp_path, capsys):
    import json

    from builder.cli import main

    path = tmp_path / "exp.json"
    path.write_text(json.dumps(swept({"space": {"dropout": {"low": 0.5, "high": 0.1}}}, with_dropout())))
    assert main(["validate", str(path)]) == 1
    assert capsys.readouterr().err.strip() == ("sweep: the range of 'dropout' is upside down (low 0.5 is above high "
                                               "0.1); swap them")
