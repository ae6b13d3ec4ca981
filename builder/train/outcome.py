"""What a finished run achieved, in words: its test score and, when it did not learn, the likely cause and a fix.

`outcome(evaluation, metrics, experiment)` reads what the run folder holds (evaluation.json, the rows of
metrics.jsonl, experiment.json) and judges it; the Train page only shows the answer. A classifier whose
test accuracy stays near chance, a regression no better than predicting the mean, or a loss that
became NaN or grew is named as such, with the cause the numbers point to and a one-click `fix` for
the experiment (`builder.experiment.apply_fix`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

NEAR_CHANCE = 0.1  # within this share of the way from chance to a perfect score: "near chance"
STILL_FALLING = 0.97  # the last epoch's loss below this × the loss LOOKBACK epochs earlier: still learning
LOOKBACK = 3
GREW = 2.0  # the last epoch's loss above this × the first one's: the loss diverged
HIGH_RATE = {"sgd": 1.0}  # learning rates above which a run likely overshoots; other optimizers (Adam…):
HIGH_RATE_OTHERS = 0.05
FEW_PER_CLASS = 50  # fewer training examples per class than this: more data, augmentation or transfer


@dataclass(frozen=True)
class Outcome:
    score: str  # "Test accuracy 93.4 % on 360 examples (chance 10 %)"; "" when there is no test score
    problem: str | None = None  # "ended near chance", "the loss diverged"; None when it learned
    cause: str | None = None  # the likely cause and what to do, in a student's words
    fix: dict | None = None  # an experiment fix for apply_fix (lower rate, more epochs)


def outcome(evaluation: dict, metrics: list[dict], experiment: dict) -> Outcome:
    """The verdict on a finished run (see the module docstring)."""
    training = experiment.get("training") or {}
    score, chance_line = _score(evaluation)
    if _diverged(metrics):
        return Outcome(score, "the loss diverged (it grew or became NaN)", *_rate_advice(training, diverged=True))
    if not chance_line:
        return Outcome(score)
    return Outcome(score, chance_line, *_cause(evaluation, metrics, training))


def _score(ev: dict) -> tuple[str, str | None]:
    """The test score line, and a "near chance" line when the score is no better than guessing."""
    n = ev.get("n")
    on = f" on {n} test examples" if n else ""
    if isinstance(ev.get("accuracy"), (int, float)):
        chance = chance_accuracy(ev)
        line = f"Test accuracy {ev['accuracy']:.1%}{on} (guessing the most common class: {chance:.0%})"
        near = ev["accuracy"] <= chance + NEAR_CHANCE * (1 - chance)
        return line, f"it ended near chance ({ev['accuracy']:.0%}, guessing gives {chance:.0%})" if near else None
    if isinstance(ev.get("r2"), (int, float)):
        line = f"Test R² {ev['r2']:.2f}, mean absolute error {ev.get('mae', float('nan')):.3g}{on}"
        return line, "it predicts no better than the average target (R² ≤ 0)" if ev["r2"] <= 0 else None
    if isinstance(ev.get("reconstruction_error"), (int, float)):
        return f"Test reconstruction error {ev['reconstruction_error']:.4g}{on}", None
    return "", None


def chance_accuracy(ev: dict) -> float:
    """The accuracy of always answering the test split's most common class (1/classes when unknown)."""
    support = [c.get("support", 0) for c in ev.get("per_class") or []]
    if sum(support):
        return max(support) / sum(support)
    names = ev.get("class_names") or [0, 1]
    return 1 / len(names)


def _losses(metrics: list[dict]) -> list[float]:
    return [float(r["loss"]) for r in metrics if isinstance(r.get("loss"), (int, float))]


def _diverged(metrics: list[dict]) -> bool:
    losses = _losses(metrics)
    if any(not math.isfinite(v) for v in losses) or any(r.get("loss") is None for r in metrics if "loss" in r):
        return True
    return len(losses) >= 2 and losses[-1] > GREW * losses[0]  # worse than after the first epoch, by far


def _rate_advice(training: dict, diverged: bool = False) -> tuple[str, dict]:
    from builder.experiment import HYPERPARAMS

    default = HYPERPARAMS["learning_rate"].default
    rate = training.get("learning_rate", default)
    lower = min(float(f"{rate / 10:.1g}"), default)
    why = "the weights jumped too far at each step" if diverged else "each step is likely too big to settle"
    return (f"The learning rate {rate:g} is likely too high: {why}. Try {lower:g}.",
            {"training": {"learning_rate": lower}})


def _cause(ev: dict, metrics: list[dict], training: dict) -> tuple[str, dict | None]:
    """The likely cause of a run that did not learn, in the order the numbers point to it."""
    from builder.experiment import HYPERPARAMS

    rate = training.get("learning_rate", HYPERPARAMS["learning_rate"].default)
    optimizer = training.get("optimizer", HYPERPARAMS["optimizer"].default)
    if isinstance(rate, (int, float)) and rate > HIGH_RATE.get(optimizer, HIGH_RATE_OTHERS):
        return _rate_advice(training)
    losses = _losses(metrics)
    if len(losses) > LOOKBACK and losses[-1] < STILL_FALLING * losses[-1 - LOOKBACK]:
        epochs = len(metrics)
        return (f"The loss was still falling after {epochs} epochs: train longer, e.g. {3 * epochs} epochs.",
                {"training": {"epochs": 3 * epochs}})
    classes = len(ev.get("class_names") or []) or 1
    n = ev.get("n") or 0
    if n and n * 3 / classes < FEW_PER_CLASS:  # a test split of ~20 % ⇒ ~3 training examples per test one
        return ("There are very few examples per class: add more data, turn augmentation on (Data page), or "
                "start from a pretrained model (a transfer template).", None)
    return ("The model may be too small or the inputs too hard to tell apart: try more epochs, a bigger model, "
            "or more data.", None)
