"""Training settings the run would not use are problems with fixes (never clamped); the settings that apply to a
run's kind; defaults that follow the data's size."""
import pytest
from train_fixtures import digits_experiment

from builder import experiment as ex
from builder import templates
from datasets.registry import DatasetInfo


@pytest.mark.parametrize("name,value,message", [
    ("learning_rate", 100.0, "'learning_rate' must be at most 10.0, got 100.0"),
    ("epochs", 0, "'epochs' must be at least 1, got 0"),
    ("momentum", 1.5, "'momentum' must be at most 0.999, got 1.5"),
    ("batch_size", 0, "'batch_size' must be at least 1, got 0"),
])
def test_a_value_out_of_its_range_is_a_problem_whose_fix_restores_the_default(name, value, message):
    exp = digits_experiment(**{name: value}, optimizer="sgd")
    [problem] = ex.check(exp)
    assert (problem.field, problem.message) == (f"training.{name}", message)
    assert problem.fix == {"training": {name: ex.HYPERPARAMS[name].default}}
    assert ex.check(ex.apply_fix(exp, problem.fix)) == []


def test_a_batch_larger_than_the_training_split_is_a_problem_sized_to_the_split():
    # digits: 1797 examples; 20 % test and 20 % validation leave 1077 to train on
    exp = digits_experiment(batch_size=2000)
    [problem] = ex.check(exp)
    assert problem.field == "training.batch_size"
    assert problem.message == ("the batch size 2000 is larger than the 1077 training examples, so each epoch "
                               "would be one batch of 1077; choose 1077 or less")
    assert problem.fix == {"training": {"batch_size": 32}}
    assert ex.check(digits_experiment(batch_size=1077)) == []
    # a generated set: its size comes from the options
    tiny = {**templates.experiment("playground-mlp"), "training": {"batch_size": 64}}
    tiny["data"] = {"dataset": "spirals", "options": {"n_samples": 40}, "validation_split": 0.2, "test_split": 0.2}
    [problem] = ex.check(tiny)
    assert problem.fix == {"training": {"batch_size": 24}}  # 40 − 8 test − 8 validation


def test_the_settings_shown_follow_the_run_kind():
    every = tuple(ex.HYPERPARAMS)
    plain = ex.shown_settings(digits_experiment())
    assert plain == tuple(n for n in every if n not in ("fine_tune_epochs", "fine_tune_rate"))
    gan = ex.shown_settings(templates.experiment("mlp-gan"))
    assert not {"task", "loss", "metrics", "early_stopping", "fine_tune_epochs"} & set(gan)
    assert {"learning_rate", "optimizer", "epochs", "batch_size", "seed"} <= set(gan)
    assert {"fine_tune_epochs", "fine_tune_rate"} <= set(ex.shown_settings(templates.experiment("transfer-cnn")))


def test_only_metrics_and_monitors_that_mean_something_for_the_task_are_offered():
    assert ex.metric_choices("classification") == ("accuracy",)
    assert "accuracy" not in ex.metric_choices("reconstruction")
    assert ex.monitor_choices("reconstruction") == ("val_loss", "loss", "val_mae", "mae")
    assert ex.monitor_choices("classification") == ("val_loss", "loss", "val_accuracy", "accuracy")


def pictures(n: int) -> DatasetInfo:
    return DatasetInfo("upload:pics", "pics", "classification", (32, 32, 3), ["a", "b", "c"], n, "", kind="image")


def test_a_small_image_set_gets_more_epochs_augmentation_and_the_transfer_advice():
    exp = templates.experiment("small-cnn")
    found = ex.size_defaults(exp, pictures(60))
    assert found.training == {"epochs": 60}
    assert [a["type"] for a in found.augmentation] == ["RandomFlip", "RandomRotation"]
    assert any("Transfer learning" in note for note in found.notes)
    assert ex.size_defaults(exp, pictures(600)).training == {"epochs": 30}
    # what the student chose is kept: more epochs, their own augmentation; a transfer model needs no advice
    chosen = {**templates.experiment("transfer-cnn"), "augmentation": [{"type": "RandomZoom"}]}
    chosen["training"] = {**chosen["training"], "epochs": 80}
    assert ex.size_defaults(chosen, pictures(60)) == ex.SizeDefaults({}, [], [])


def test_large_or_non_image_data_keeps_the_declared_defaults():
    exp = templates.experiment("small-cnn")
    assert ex.size_defaults(exp, pictures(5000)) == ex.SizeDefaults({}, [], [])
    table = DatasetInfo("upload:t", "t", "classification", (4,), ["a", "b"], 60, "", kind="table")
    assert ex.size_defaults(exp, table) == ex.SizeDefaults({}, [], [])
