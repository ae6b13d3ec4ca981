"""The hyperparameter form, generated from `builder.experiments.experiment.HYPERPARAMS`.

One `Param` declaration gives each widget its kind, default, range, choices and
tooltip; common settings are shown, `advanced` ones sit in an expander. The
form returns the new experiment "training" dict; the page stores it.
"""
from __future__ import annotations

import streamlit as st

from builder.experiments import experiment as ex
from builder.model.params import Param
from builder.train.finetune import total_epochs
from ui import state

DEFAULT_LOSS = "(usual for the task)"
FIELD_WIDTH = 170  # px: room for the longest label and value; fields wrap into the column
PHASES = ("fine_tune_epochs", "fine_tune_rate")  # beside the epochs when the model has a pretrained base
SCHEDULE_PARAMS = {"lr_step_epochs": ("step",), "lr_factor": ("step", "reduce_on_plateau"),
                   "lr_patience": ("reduce_on_plateau",)}
LABELS = {"lr_schedule": "learning-rate schedule", "lr_step_epochs": "schedule step (epochs)",
          "lr_factor": "schedule factor", "lr_patience": "plateau patience (epochs)", "l1": "L1 penalty",
          "l2": "L2 penalty (weight decay)", "max_batch_progress_rate": "progress updates per second"}


def label(name: str) -> str:
    return LABELS.get(name, name.replace("_", " "))


def _value(training: dict, p: Param):
    return training.get(p.name, p.default)


def _number(p: Param, value, key: str, disabled: bool):
    """A number box without bounds: a value out of the declared range reaches the engine's verdict (a problem
    with a fix, Train disabled) instead of being held back by the widget while the box shows it."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        value = p.default or 0
    if p.kind == "int":
        return int(st.number_input(label(p.name), value=int(value), step=int(p.step or 1), help=p.help, key=key,
                                   disabled=disabled, width=FIELD_WIDTH))
    fmt = "%.5f" if (p.step or 1) < 0.001 or p.name == "learning_rate" else "%.4f"
    return float(st.number_input(label(p.name), value=float(value), step=float(p.step or 0.01), format=fmt,
                                 help=p.help, key=key, disabled=disabled, width=FIELD_WIDTH))


def widget_key(name: str) -> str:
    return f"hp_{name}"


def show_changes(changes: dict) -> None:
    """Put settings changed elsewhere (a one-click fix) into their boxes: a box keeps what the browser holds
    unless its value is set. None means the declared default."""
    for name, value in changes.items():
        p = ex.HYPERPARAMS.get(name)
        if p is None or name == "metrics":
            state.take(widget_key(name))
        elif name == "early_stopping":
            state.put(widget_key(name), value is not None)
        elif name == "loss":
            state.put(widget_key(name), value or DEFAULT_LOSS)
        else:
            state.put(widget_key(name), p.default if value is None else value)


def widget(p: Param, training: dict, task: str, disabled: bool = False):
    """One widget for one declared hyperparameter; returns its value (None = use the default)."""
    key = widget_key(p.name)
    value = _value(training, p)
    if p.name == "loss":
        options = [DEFAULT_LOSS, *ex.LOSSES_BY_TASK.get(task, ex.ALL_LOSSES)]
        current = ex.LOSS_ALIASES.get(value, value) or DEFAULT_LOSS
        index = options.index(current) if current in options else 0
        chosen = st.selectbox(label(p.name), options, index=index, help=p.help, key=key, disabled=disabled,
                              width=FIELD_WIDTH)
        return None if chosen == DEFAULT_LOSS else chosen
    if p.name == "metrics":
        options = list(ex.metric_choices(task))
        default = value if value is not None else options
        chosen = st.multiselect(label(p.name), options, default=[m for m in default if m in options],
                                help=p.help, key=key, disabled=disabled, width=FIELD_WIDTH)
        return list(chosen)
    if p.name == "early_stopping":
        return _early_stopping(p, value, task, disabled)
    if p.kind == "choice":
        options = list(p.choices)
        index = options.index(value) if value in options else 0
        return st.selectbox(label(p.name), options, index=index, help=p.help, key=key, disabled=disabled,
                            width=FIELD_WIDTH)
    if p.kind == "bool":
        return st.checkbox(label(p.name), value=bool(value), help=p.help, key=key, disabled=disabled,
                           width=FIELD_WIDTH)
    if p.kind in ("int", "float"):
        return _number(p, value, key, disabled)
    return value  # kinds the training settings do not use


def _early_stopping(p: Param, value, task: str, disabled: bool):
    on = st.checkbox("stop early when validation stops improving", value=isinstance(value, dict),
                     help=p.help, key=widget_key(p.name), disabled=disabled)
    if not on:
        return None
    current = value if isinstance(value, dict) else dict(p.extra.get("object") or {})
    monitor_p, patience_p = ex.EARLY_STOPPING["monitor"], ex.EARLY_STOPPING["patience"]
    monitor, choices = current.get("monitor", monitor_p.default), list(ex.monitor_choices(task))
    with st.container(horizontal=True, gap="small"):
        monitor = st.selectbox("watch", choices, index=choices.index(monitor) if monitor in choices else 0,
                               help=monitor_p.help, key="hp_es_monitor", disabled=disabled, width=FIELD_WIDTH)
        patience = st.number_input("patience (epochs)", value=int(current.get("patience", patience_p.default)),
                                   help=patience_p.help, key="hp_es_patience", disabled=disabled, width=FIELD_WIDTH)
    return {"monitor": monitor, "patience": int(patience)}


def _shown(p: Param, values: dict) -> bool:
    """Settings that only matter for some choices are hidden otherwise (momentum only for SGD/RMSprop…)."""
    if p.name == "momentum":
        return values.get("optimizer") in p.extra.get("optimizers", ())
    if p.name in SCHEDULE_PARAMS:
        return values.get("lr_schedule") in SCHEDULE_PARAMS[p.name]
    return True


def hyperparameter_form(training: dict, default_task: str | None = None, disabled: bool = False,
                        shown: tuple = tuple(ex.HYPERPARAMS)) -> dict:
    """Draw the settings in `shown` (`builder.experiments.experiment.shown_settings`: those that apply to the run's kind)
    and return the new "training" dict (only settings that are shown and set).

    Fields have one width and wrap into as many per row as the column holds, so no label or value is cut
    off on a narrow screen."""
    values: dict = {}
    task = training.get("task") or default_task or ex.HYPERPARAMS["task"].default
    training = {**training, "task": task}
    params = [ex.HYPERPARAMS[name] for name in shown]
    basic = [p for p in params if not p.advanced or p.name in PHASES]
    advanced = [p for p in params if p.advanced and p.name not in PHASES]
    _fields(basic, training, values, task, disabled)
    if any(p.name == "fine_tune_epochs" for p in basic):
        st.caption(phases_line(values.get("epochs", training.get("epochs")), values.get("fine_tune_epochs")))
    with st.expander("Advanced settings"):
        _fields(advanced, training, values, task, disabled)
    if values.get("optimizer") not in ex.MOMENTUM_OPTIMIZERS:
        values.pop("momentum", None)
    # keep the experiment small: drop "use the default" values
    return {k: v for k, v in values.items() if v is not None and not (k == "metrics" and v == [])}


def _fields(params: list[Param], training: dict, values: dict, task: str, disabled: bool) -> None:
    """The widgets of `params` that the current choices show, into `values`."""
    row = st.container(horizontal=True, gap="small")
    for p in params:
        if not _shown(p, training | values):
            continue
        with row if p.name != "early_stopping" else st.container():
            values[p.name] = widget(p, training | values, values.get("task", task), disabled)


def phases_line(epochs, fine_tune_epochs) -> str:
    """What a transfer run does: the head's epochs, then the fine-tuning ones, and how many in all."""
    epochs = epochs if isinstance(epochs, int) else ex.HYPERPARAMS["epochs"].default
    fine = fine_tune_epochs if isinstance(fine_tune_epochs, int) else 0
    if fine <= 0:
        return f"One phase: {epochs} epochs with the pretrained base as its freeze option says."
    total = total_epochs({"epochs": epochs, "fine_tune_epochs": fine})
    return (f"{total} epochs in all: {epochs} training the new head (base frozen), then {fine} "
            "fine-tuning the base at the fine-tune rate.")
