"""Test-set evaluation with scikit-learn: the numbers a student reads after a run.

classification: accuracy, per-class precision/recall/F1, confusion matrix,
ROC curves + AUC (binary, or one-vs-rest); regression: MSE, MAE, R²;
reconstruction: reconstruction error and a few input/output pairs.
`evaluate_arrays` is pure NumPy → dict; `write_evaluation` runs the model and
writes evaluation.json and predictions.json.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from builder.train import runfolder

SAMPLE = 50  # test items kept in predictions.json
PAIRS = 6  # input/output pairs kept for reconstruction
ROC_POINTS = 200


def evaluate_arrays(task: str, y_true, y_pred, class_names=None) -> dict:
    """Metrics from targets and raw model outputs (probabilities for classification)."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred, dtype=np.float64)
    if task == "classification":
        return _classification(y_true.astype(int).reshape(-1), probabilities(y_pred), class_names)
    if task == "regression":
        return _regression(y_true.astype(np.float64), y_pred)
    return _reconstruction(y_true.astype(np.float64), y_pred)


def probabilities(y_pred: np.ndarray) -> np.ndarray:
    """(n, classes) probabilities; one sigmoid unit becomes two columns."""
    y_pred = np.asarray(y_pred, dtype=np.float64)
    if y_pred.ndim == 1 or y_pred.shape[-1] == 1:
        p1 = y_pred.reshape(-1)
        return np.stack([1 - p1, p1], axis=1)
    return y_pred.reshape(len(y_pred), -1)


def _classification(y: np.ndarray, probs: np.ndarray, class_names) -> dict:
    from sklearn import metrics

    n = probs.shape[1]
    labels = list(range(n))
    names = [str(c) for c in class_names] if class_names is not None and len(class_names) == n else [str(i) for i in labels]
    pred = probs.argmax(axis=1)
    precision, recall, f1, support = metrics.precision_recall_fscore_support(
        y, pred, labels=labels, zero_division=0)
    out = {
        "task": "classification",
        "n": int(len(y)),
        "accuracy": float(metrics.accuracy_score(y, pred)),
        "class_names": names,
        "per_class": [
            {"class": names[i], "precision": float(precision[i]), "recall": float(recall[i]),
             "f1": float(f1[i]), "support": int(support[i])} for i in labels
        ],
        "macro_f1": float(metrics.f1_score(y, pred, labels=labels, average="macro", zero_division=0)),
        "confusion_matrix": metrics.confusion_matrix(y, pred, labels=labels).tolist(),
        "roc": _roc_curves(y, probs, names),
    }
    aucs = [c["auc"] for c in out["roc"] if c["auc"] is not None]
    out["auc"] = out["roc"][0]["auc"] if n == 2 else (float(np.mean(aucs)) if aucs else None)
    return out


def _roc_curves(y: np.ndarray, probs: np.ndarray, names: list[str]) -> list[dict]:
    from sklearn import metrics

    n = probs.shape[1]
    targets = [1] if n == 2 else range(n)  # binary: one curve for the positive class
    curves = []
    for k in targets:
        positive = y == k
        if positive.all() or not positive.any():  # AUC is undefined with one class only
            curves.append({"class": names[k], "fpr": [], "tpr": [], "auc": None})
            continue
        fpr, tpr, _ = metrics.roc_curve(positive, probs[:, k])
        auc = float(metrics.auc(fpr, tpr))
        if len(fpr) > ROC_POINTS:
            keep = np.unique(np.linspace(0, len(fpr) - 1, ROC_POINTS).astype(int))
            fpr, tpr = fpr[keep], tpr[keep]
        curves.append({"class": names[k], "fpr": fpr.round(5).tolist(), "tpr": tpr.round(5).tolist(), "auc": auc})
    return curves


def _regression(y: np.ndarray, pred: np.ndarray) -> dict:
    from sklearn import metrics

    y2, p2 = y.reshape(len(y), -1), pred.reshape(len(pred), -1)
    return {
        "task": "regression",
        "n": int(len(y)),
        "mse": float(metrics.mean_squared_error(y2, p2)),
        "mae": float(metrics.mean_absolute_error(y2, p2)),
        "r2": float(metrics.r2_score(y2, p2)) if len(y) > 1 else None,
    }


def _reconstruction(x: np.ndarray, out: np.ndarray) -> dict:
    flat_x, flat_o = x.reshape(len(x), -1), out.reshape(len(out), -1)
    per_item = ((flat_x - flat_o) ** 2).mean(axis=1)
    return {
        "task": "reconstruction",
        "n": int(len(x)),
        "reconstruction_error": float(per_item.mean()) if len(x) else None,
        "mse": float(per_item.mean()) if len(x) else None,
        "mae": float(np.abs(flat_x - flat_o).mean()) if len(x) else None,
        "worst_items": np.argsort(per_item)[::-1][:5].tolist(),
        "pairs": [{"index": i, "input": np.round(x[i], 4).tolist(), "output": np.round(out[i], 4).tolist(),
                   "error": float(per_item[i])} for i in range(min(PAIRS, len(x)))],
    }


def predictions_sample(task: str, y_true, y_pred, class_names=None, n: int = SAMPLE) -> list[dict]:
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    rows = []
    for i in range(min(n, len(y_true))):
        if task == "classification":
            probs = probabilities(y_pred[i:i + 1])[0]
            rows.append({"index": i, "true": int(y_true[i]), "predicted": int(probs.argmax()),
                         "probabilities": np.round(probs, 4).tolist()})
        elif task == "regression":
            rows.append({"index": i, "true": np.round(y_true[i], 5).tolist(), "predicted": np.round(y_pred[i], 5).tolist()})
        else:
            err = float(((y_true[i].astype(float) - y_pred[i]) ** 2).mean())
            rows.append({"index": i, "error": err})
    return rows


def mistakes(y_true, y_pred) -> list[dict]:
    """Every misclassified test item (index, true, predicted): Explain pages through all of them, not a sample."""
    true, predicted = np.asarray(y_true).astype(int).reshape(-1), probabilities(y_pred).argmax(axis=1)
    return [{"index": int(i), "true": int(true[i]), "predicted": int(predicted[i])}
            for i in np.flatnonzero(true != predicted)]


def headline(evaluation: dict) -> dict:
    """The few numbers shown in run lists (status.json 'final', compare tables)."""
    keys = ("accuracy", "auc", "macro_f1", "mse", "mae", "r2", "reconstruction_error")
    return {k: evaluation[k] for k in keys if evaluation.get(k) is not None}


def write_evaluation(model, data, task: str, run_dir, class_names=None) -> dict:
    """Evaluate on the test split, write evaluation.json + predictions.json; returns the headline numbers."""
    run_dir = Path(run_dir)
    if len(data.x_test) == 0:
        runfolder.write_json(run_dir / runfolder.EVALUATION, {"task": task, "n": 0, "note": "no test split"})
        return {}
    y_pred = np.asarray(model.predict(data.x_test, batch_size=256, verbose=0))
    y_true = data.y_test
    if data.preprocessing is not None:  # regression: the numbers in the target's own units, not standardized
        y_true, y_pred = data.preprocessing.unscale_targets(y_true), data.preprocessing.unscale_targets(y_pred)
    evaluation = evaluate_arrays(task, y_true, y_pred, class_names)
    if task == "classification" and class_names is None:
        class_names = evaluation["class_names"]
    runfolder.write_json(run_dir / runfolder.EVALUATION, evaluation)
    predictions = {"task": task, "class_names": class_names,
                   "items": predictions_sample(task, y_true, y_pred, class_names)}
    if task == "classification":
        predictions["mistakes"] = mistakes(y_true, y_pred)
    runfolder.write_json(run_dir / runfolder.PREDICTIONS, predictions)
    return headline(evaluation)
