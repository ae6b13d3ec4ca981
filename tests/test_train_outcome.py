"""The verdict on a finished run (builder.train.outcome): its test score, and why it did not learn."""
from builder.train.outcome import Outcome, chance_accuracy, outcome


def classification(accuracy: float, supports=(30, 30), n=None) -> dict:
    return {"task": "classification", "n": n or sum(supports), "accuracy": accuracy,
            "class_names": [str(i) for i in range(len(supports))],
            "per_class": [{"class": str(i), "support": s} for i, s in enumerate(supports)]}


def rows(*losses) -> list[dict]:
    return [{"epoch": i + 1, "loss": loss} for i, loss in enumerate(losses)]


def exp(**training) -> dict:
    return {"training": training}


def test_a_run_that_learned_states_its_test_score_and_nothing_else():
    found = outcome(classification(0.9), rows(0.7, 0.4, 0.3), exp())
    assert found == Outcome("Test accuracy 90.0% on 60 test examples (guessing the most common class: 50%)")


def test_chance_is_the_most_common_test_class():
    assert chance_accuracy(classification(0.5, supports=(10, 30, 60))) == 0.6
    assert chance_accuracy({"class_names": ["a", "b", "c", "d"]}) == 0.25


def test_a_high_learning_rate_at_chance_is_named_and_the_fix_lowers_it():
    # the run: learning rate 10 ends at 50 % on two classes
    found = outcome(classification(0.5), rows(0.9, 0.7, 0.69), exp(learning_rate=10.0))
    assert found.problem == "it ended near chance (50%, guessing gives 50%)"
    assert found.cause.startswith("The learning rate 10 is likely too high")
    assert found.fix == {"training": {"learning_rate": 0.005}}  # never more than the declared default
    assert outcome(classification(0.5), rows(0.9, 0.8), exp(learning_rate=0.2)).fix == \
        {"training": {"learning_rate": 0.005}}
    assert outcome(classification(0.5), rows(0.9, 0.8), exp(learning_rate=0.2, optimizer="sgd")).fix is None


def test_a_loss_that_became_nan_or_grew_has_diverged():
    for metrics in (rows(0.7, float("nan")), rows(0.7, None), rows(0.7, 0.6, 1.5)):
        found = outcome(classification(0.9), metrics, exp(learning_rate=0.05))
        assert found.problem == "the loss diverged (it grew or became NaN)"
        assert found.fix == {"training": {"learning_rate": 0.005}}
    # a loss that rises a little after a low point, still far below where it started, has not diverged
    assert outcome(classification(0.9), rows(2.3, 0.05, 0.12), exp()).problem is None


def test_a_loss_still_falling_asks_for_more_epochs():
    found = outcome(classification(0.55), rows(1.0, 0.9, 0.8, 0.7, 0.6), exp())
    assert found.cause == "The loss was still falling after 5 epochs: train longer, e.g. 15 epochs."
    assert found.fix == {"training": {"epochs": 15}}


def test_few_examples_per_class_asks_for_data_augmentation_or_transfer():
    # 60 pictures in 3 classes: 12 in the test split
    found = outcome(classification(0.34, supports=(4, 4, 4)), rows(1.1, 1.1, 1.1, 1.1, 1.1), exp())
    assert found.problem == "it ended near chance (34%, guessing gives 33%)"
    assert "very few examples per class" in found.cause and "pretrained" in found.cause and found.fix is None


def test_regression_no_better_than_the_mean_and_reconstruction():
    ev = {"task": "regression", "n": 80, "r2": -0.1, "mae": 12.0}
    found = outcome(ev, rows(5.0, 5.0, 5.0, 5.0, 5.0), exp())
    assert found.score == "Test R² -0.10, mean absolute error 12 on 80 test examples"
    assert found.problem == "it predicts no better than the average target (R² ≤ 0)"
    recon = outcome({"task": "reconstruction", "n": 9, "reconstruction_error": 0.0123}, rows(0.1, 0.05), exp())
    assert recon == Outcome("Test reconstruction error 0.0123 on 9 test examples")


def test_a_run_without_an_evaluation_has_no_score():
    assert outcome({}, rows(0.5, 0.4), exp()) == Outcome("")
