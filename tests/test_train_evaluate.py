"""Evaluation numbers against scikit-learn and hand-computed values on tiny known cases."""
import numpy as np
import pytest
from sklearn import metrics

from builder.train.evaluate import evaluate_arrays, predictions_sample, probabilities


def test_multiclass_matches_sklearn_and_hand_values():
    y = np.array([0, 0, 1, 1, 2, 2])
    probs = np.array([
        [0.8, 0.1, 0.1], [0.3, 0.6, 0.1],  # second 0 is mistaken for a 1
        [0.1, 0.7, 0.2], [0.2, 0.5, 0.3],
        [0.1, 0.2, 0.7], [0.5, 0.1, 0.4],  # second 2 is mistaken for a 0
    ])
    ev = evaluate_arrays("classification", y, probs, ["cat", "dog", "fox"])
    pred = probs.argmax(1)
    assert ev["accuracy"] == pytest.approx(4 / 6)
    assert ev["confusion_matrix"] == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]
    p, r, f, s = metrics.precision_recall_fscore_support(y, pred, zero_division=0)
    assert [c["precision"] for c in ev["per_class"]] == pytest.approx(p)
    assert [c["recall"] for c in ev["per_class"]] == pytest.approx(r)
    assert [c["f1"] for c in ev["per_class"]] == pytest.approx(f)
    assert [c["support"] for c in ev["per_class"]] == [2, 2, 2]
    assert ev["per_class"][1]["precision"] == pytest.approx(2 / 3)  # by hand: 2 of 3 "dog" calls are right
    aucs = [c["auc"] for c in ev["roc"]]
    for k in range(3):
        assert aucs[k] == pytest.approx(metrics.roc_auc_score(y == k, probs[:, k]))
    assert ev["auc"] == pytest.approx(metrics.roc_auc_score(y, probs, multi_class="ovr", average="macro"))
    assert [c["class"] for c in ev["roc"]] == ["cat", "dog", "fox"]


def test_binary_from_one_sigmoid_unit():
    y = np.array([0, 0, 1, 1, 1])
    p1 = np.array([0.1, 0.6, 0.4, 0.8, 0.9])
    ev = evaluate_arrays("classification", y, p1[:, None])
    assert ev["accuracy"] == pytest.approx(metrics.accuracy_score(y, p1 > 0.5))
    assert len(ev["roc"]) == 1
    assert ev["auc"] == pytest.approx(metrics.roc_auc_score(y, p1)) == pytest.approx(5 / 6)
    fpr, tpr, _ = metrics.roc_curve(y, p1)
    assert ev["roc"][0]["fpr"] == pytest.approx(fpr, abs=1e-4) and ev["roc"][0]["tpr"] == pytest.approx(tpr, abs=1e-4)
    assert probabilities(p1[:, None])[:, 1] == pytest.approx(p1)


def test_class_missing_from_test_set_has_no_auc_instead_of_crashing():
    ev = evaluate_arrays("classification", np.array([0, 1, 0]), np.eye(3)[[0, 1, 0]])
    assert ev["roc"][2]["auc"] is None and ev["accuracy"] == 1.0


def test_regression_matches_sklearn():
    y = np.array([3.0, -0.5, 2.0, 7.0])
    pred = np.array([2.5, 0.0, 2.0, 8.0])[:, None]
    ev = evaluate_arrays("regression", y, pred)
    assert ev["mse"] == pytest.approx(0.375)
    assert ev["mae"] == pytest.approx(0.5)
    assert ev["r2"] == pytest.approx(metrics.r2_score(y, pred[:, 0]))


def test_reconstruction_error_and_pairs():
    x = np.zeros((3, 2, 2, 1))
    out = np.zeros((3, 2, 2, 1))
    out[1] += 0.5
    ev = evaluate_arrays("reconstruction", x, out)
    assert ev["reconstruction_error"] == pytest.approx(0.25 / 3)
    assert ev["worst_items"][0] == 1
    assert ev["pairs"][1]["error"] == pytest.approx(0.25)
    assert np.asarray(ev["pairs"][1]["output"]).shape == (2, 2, 1)


def test_prediction_sample_rows():
    rows = predictions_sample("classification", np.array([2, 0]), np.array([[0.1, 0.2, 0.7], [0.9, 0.05, 0.05]]))
    assert rows[0] == {"index": 0, "true": 2, "predicted": 2, "probabilities": [0.1, 0.2, 0.7]}
    assert rows[1]["predicted"] == 0


def test_every_mistake_is_kept_not_only_those_in_the_sample():
    from builder.train.evaluate import SAMPLE, mistakes

    y = np.arange(200) % 2
    probs = np.eye(2)[y]
    probs[[5, 120, 199]] = probs[[5, 120, 199]][:, ::-1]  # three wrong answers, two past the sample of 50
    assert SAMPLE < 120
    assert mistakes(y, probs) == [{"index": 5, "true": 1, "predicted": 0}, {"index": 120, "true": 0, "predicted": 1},
                                  {"index": 199, "true": 1, "predicted": 0}]
    assert mistakes(y, np.eye(2)[y]) == []
    # one sigmoid unit: above 0.5 is class 1
    assert mistakes([0, 1, 1], [[0.2], [0.7], [0.4]]) == [{"index": 2, "true": 1, "predicted": 0}]
