"""A sweep's settings and search space (the experiment's `sweep` key), checked into plain Problems.

    {"trials": 12, "parallel": 2, "pruning": true, "objective": "val_accuracy",
     "space": {"learning_rate": {"low": 0.0001, "high": 0.03, "log": true},
               "batch_size": {"choices": [16, 32, 64, 128]},
               "units": {"low": 16, "high": 256, "log": true},   # the widest hidden Dense layer
               "dropout": {"low": 0.0, "high": 0.5}}}            # every Dropout layer

Every key may be left out: `settings` fills in the defaults (`default_space` follows the optimizer and
the model). `problems` is the one verdict before a sweep starts: the experiment's own check plus the
sweep's, as `Problem` values with fields "sweep.<key>" or "sweep.space.<setting>".
"""
from __future__ import annotations

import copy
import math

from builder import limits
from builder.experiments.experiment import HYPERPARAMS, check, coerce, monitor_choices
from builder.graph.validate import Problem

KEYS = ("trials", "parallel", "pruning", "objective", "space")
SETTINGS = ("learning_rate", "batch_size", "units", "dropout")
DEFAULT_TRIALS = 12
GAN_SETTINGS = ("learning_rate", "batch_size")  # what would apply to a GAN, named in its problem

# Log-uniform learning-rate ranges around each optimizer's usual values.
LEARNING_RATES = {"sgd": (0.001, 0.3), "adam": (0.0001, 0.03), "adamw": (0.0001, 0.03), "rmsprop": (0.0001, 0.03)}
BATCH_SIZES = (16, 32, 64, 128)
UNITS_RANGE = (1, 4096)  # what one trial's widest hidden layer may have; the model's budgets still apply per trial
DROPOUT_RANGE = (0.0, 0.9)

HELP = {
    "learning_rate": "Tried on a log scale between the two numbers: as many tries between 0.001 and 0.01 as "
                     "between 0.01 and 0.1.",
    "batch_size": "Each trial takes one of these batch sizes.",
    "units": "The units of the widest hidden Dense layer (the network's width), between the two numbers.",
    "dropout": "The rate of every Dropout layer, between the two numbers.",
}


def units_node(experiment: dict) -> str | None:
    """The widest hidden Dense layer (not an output) of the experiment dict's model, or None."""
    model = experiment.get("model") or {}
    outputs = set(model.get("outputs") or ())
    consumed = {i for n in model.get("nodes") or () for i in n.get("inputs") or ()}
    hidden = [n for n in model.get("nodes") or () if n.get("type") == "Dense" and n.get("id") not in outputs
              and n.get("id") in consumed and isinstance((n.get("params") or {}).get("units"), int)]
    return max(hidden, key=lambda n: n["params"]["units"])["id"] if hidden else None


def dropout_nodes(experiment: dict) -> list[str]:
    return [n["id"] for n in (experiment.get("model") or {}).get("nodes") or () if n.get("type") == "Dropout"]


def default_space(experiment: dict) -> dict:
    """Learning rate and batch size always; the widest hidden layer's units and the dropout rate where present."""
    optimizer = (experiment.get("training") or {}).get("optimizer", HYPERPARAMS["optimizer"].default)
    low, high = LEARNING_RATES.get(optimizer, LEARNING_RATES["adam"])
    space = {"learning_rate": {"low": low, "high": high, "log": True},
             "batch_size": {"choices": list(BATCH_SIZES)}}
    node = units_node(experiment)
    if node:
        units = next(n["params"]["units"] for n in experiment["model"]["nodes"] if n["id"] == node)
        space["units"] = {"low": max(UNITS_RANGE[0], units // 4), "high": min(UNITS_RANGE[1], units * 2),
                          "log": True}
    if dropout_nodes(experiment):
        space["dropout"] = {"low": 0.0, "high": 0.5}
    return space


def default_objective(experiment: dict) -> str:
    """Validation accuracy for a classifier, else the validation loss; the training loss without validation."""
    exp = coerce(experiment)
    if not exp.data_settings["validation_split"]:
        return "loss"
    return "val_accuracy" if "accuracy" in exp.hp["metrics"] else "val_loss"


def direction(objective: str) -> str:
    return "maximize" if objective.endswith("accuracy") else "minimize"


def objective_words(objective: str) -> str:
    """How the pages name a sweep's score: "val_accuracy" → "validation accuracy", "loss" → "training loss"."""
    kind = "validation" if objective.startswith("val_") else "training"
    return f"{kind} {objective.removeprefix('val_').replace('_', ' ')}"


def settings(experiment: dict) -> dict:
    """The `sweep` key with every default filled in (assumes `problems` found none)."""
    given = experiment.get("sweep") or {}
    objective = given.get("objective") or default_objective(experiment)
    return {"trials": given.get("trials", DEFAULT_TRIALS),
            "parallel": given.get("parallel", limits.get("max_sweep_parallel")),
            "pruning": given.get("pruning", True), "objective": objective, "direction": direction(objective),
            "space": copy.deepcopy(given.get("space") or default_space(experiment))}


# -- the verdict ----------------------------------------------------------------------------------
def problems(experiment: dict) -> list[Problem]:
    """Everything wrong before a sweep starts: the experiment's own problems, then the sweep's."""
    own = check(without_sweep(experiment))
    if own or not isinstance(experiment.get("sweep") or {}, dict):
        return own
    return sweep_problems(experiment)


def without_sweep(experiment: dict) -> dict:
    return {k: v for k, v in experiment.items() if k != "sweep"}


def sweep_problems(experiment: dict) -> list[Problem]:
    given = experiment.get("sweep") or {}
    if experiment.get("gan"):
        return [_problem("sweep", "a GAN cannot be swept: it has no validation score to rank its trials by. Of the "
                         f"sweep's settings only {' and '.join(GAN_SETTINGS)} would apply to it; try them by hand "
                         "on Train")]
    out = [_problem(f"sweep.{k}", f"unknown sweep setting '{k}' (known: {', '.join(KEYS)})") for k in given
           if k not in KEYS]
    out += _count_problems(given)
    if "pruning" in given and not isinstance(given["pruning"], bool):
        out.append(_problem("sweep.pruning", "'pruning' must be true or false"))
    out += _objective_problems(experiment, given.get("objective"))
    space = given.get("space")
    if space is None:
        return out
    if not isinstance(space, dict) or not space:
        return out + [_problem("sweep.space", "the space must name at least one setting to vary, such as "
                               "{\"learning_rate\": {\"low\": 0.0001, \"high\": 0.1}}")]
    for name, dim in space.items():
        out += _dimension_problems(experiment, name, dim)
    return out


def _count_problems(given: dict) -> list[Problem]:
    out = []
    for key, budget, what in (("trials", "max_sweep_trials", "trials"), ("parallel", "max_sweep_parallel",
                                                                           "trials at once")):
        value, most = given.get(key), limits.get(budget)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            out.append(_problem(f"sweep.{key}", f"'{key}' must be a whole number of at least 1, got {value!r}"))
        elif value > most:
            out.append(_problem(f"sweep.{key}", f"{value} {what} is more than a sweep may have here ({most}, server "
                                f"setting {limits.BUDGETS[budget].env}); ask for {most} or fewer"))
    return out


def _objective_problems(experiment: dict, objective) -> list[Problem]:
    if objective is None:
        return []
    exp = coerce(experiment)
    known = monitor_choices(exp.hp["task"])
    if objective not in known:
        return [_problem("sweep.objective", f"the sweep cannot rank trials by {objective!r}; choose one of "
                         f"{', '.join(known)}")]
    if objective.startswith("val_") and not exp.data_settings["validation_split"]:
        return [_problem("sweep.objective", f"{objective!r} needs validation data, but the validation split is 0; "
                         "set a validation split or rank trials by 'loss'")]
    return []


def _dimension_problems(experiment: dict, name: str, dim) -> list[Problem]:
    field = f"sweep.space.{name}"
    if name not in SETTINGS:
        return [_problem(field, f"the sweep cannot vary '{name}'; it varies {', '.join(SETTINGS)}")]
    if not isinstance(dim, dict):
        return [_problem(field, f"'{name}' must be an object such as {{\"low\": 1, \"high\": 2}} or "
                         "{\"choices\": [16, 32]}")]
    if name == "units" and not units_node(experiment):
        return [_problem(field, "the model has no hidden Dense layer whose units could vary; take 'units' out of "
                         "the space")]
    if name == "dropout" and not dropout_nodes(experiment):
        return [_problem(field, "the model has no Dropout layer; add one on Build or take 'dropout' out of the space")]
    if "choices" in dim:
        return _choice_problems(name, dim["choices"])
    return _range_problems(name, dim)


def _choice_problems(name: str, choices) -> list[Problem]:
    field, most = f"sweep.space.{name}", limits.get("max_sweep_choices")
    if not isinstance(choices, list) or not choices:
        return [_problem(field, f"'{name}' choices must be a list of at least one value")]
    if len(choices) > most:
        return [_problem(field, f"'{name}' has {len(choices):,} choices, more than a sweep may try ({most}, server "
                         "setting LAYERLAB_MAX_SWEEP_CHOICES); keep a few values that differ a lot, such as "
                         "16, 32, 64, 128")]
    for value in choices:
        if problem := _value_problem(name, value):
            return [_problem(field, f"choice {value!r}: {problem}")]
    return []


def _range_problems(name: str, dim: dict) -> list[Problem]:
    field = f"sweep.space.{name}"
    unknown = [k for k in dim if k not in ("low", "high", "log")]
    if unknown:
        return [_problem(field, f"'{name}': unknown key '{unknown[0]}' (a range has low, high and log)")]
    low, high = dim.get("low"), dim.get("high")
    for value in (low, high):
        if problem := _value_problem(name, value):
            return [_problem(field, problem)]
    if low == high:
        return [_problem(field, f"the range of '{name}' is empty ({low} to {high}); make high larger than low")]
    if low > high:
        return [_problem(field, f"the range of '{name}' is upside down (low {low} is above high {high}); swap them")]
    if dim.get("log") and low <= 0:
        return [_problem(field, f"a log-scale range of '{name}' must start above 0, not at {low}")]
    return []


def _value_problem(name: str, value) -> str | None:
    if name in HYPERPARAMS:
        return HYPERPARAMS[name].check(value)
    if name == "units":
        whole = isinstance(value, int) and not isinstance(value, bool)
        return None if whole and UNITS_RANGE[0] <= value <= UNITS_RANGE[1] else \
            f"units must be a whole number from {UNITS_RANGE[0]} to {UNITS_RANGE[1]}, got {value!r}"
    number = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    return None if number and DROPOUT_RANGE[0] <= value <= DROPOUT_RANGE[1] else \
        f"the dropout rate must be a number from {DROPOUT_RANGE[0]} to {DROPOUT_RANGE[1]}, got {value!r}"


def _problem(field: str, message: str) -> Problem:
    return Problem(None, message, field=field)


# -- one trial --------------------------------------------------------------------------------------
def suggest(trial, space: dict) -> dict:
    """The trial's values, asked of Optuna (its sampler picks them), one per setting of the space."""
    params = {}
    for name, dim in space.items():
        if "choices" in dim:
            params[name] = trial.suggest_categorical(name, dim["choices"])
        elif name in ("units", "batch_size"):
            params[name] = trial.suggest_int(name, dim["low"], dim["high"], log=bool(dim.get("log")))
        else:
            params[name] = trial.suggest_float(name, dim["low"], dim["high"], log=bool(dim.get("log")))
    return params


def trial_experiment(experiment: dict, params: dict) -> dict:
    """The plain experiment one trial trains: the sweep's experiment with the trial's values, no `sweep` key."""
    out = copy.deepcopy(without_sweep(experiment))
    training = out.setdefault("training", {})
    for name in ("learning_rate", "batch_size"):
        if name in params:
            training[name] = params[name]
    targets = {"units": ([units_node(experiment)], "units"), "dropout": (dropout_nodes(experiment), "rate")}
    for name, (ids, param) in targets.items():
        if name in params:
            for node in out["model"]["nodes"]:
                if node["id"] in ids:
                    node.setdefault("params", {})[param] = params[name]
    return out

