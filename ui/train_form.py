"""The hyperparameter form, generated from `builder.experiment.HYPERPARAMS`.

One `Param` declaration gives each widget its kind, default, range, choices and
tooltip; common settings are shown, `advanced` ones sit in an expander. The
form returns the new experiment "training" dict; the page stores it.
"""
from __future__ import annotations

import streamlit as st

from builder import experiment as ex
from builder.params import Param

DEFAULT_LOSS = "(usual for the task)"
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
    if p.kind == "int":
        return int(st.number_input(label(p.name), min_value=int(p.min) if p.min is not None else None,
                                   max_value=int(p.max) if p.max is not None else None,
                                   value=int(value if value is not None else p.default or 0),
                                   step=int(p.step or 1), help=p.help, key=key, disabled=disabled))
    fmt = "%.5f" if (p.step or 1) < 0.001 or p.name == "learning_rate" else "%.4f"
    lo = float(p.min) if p.min is not None else None
    if p.name == "learning_rate":
        lo = 1e-6  # a friendlier floor than the declared 1e-7 for a widget with 5 decimals
    return float(st.number_input(label(p.name), min_value=lo, max_value=float(p.max) if p.max is not None else None,
                                 value=float(value if value is not None else p.default or 0.0),
                                 step=float(p.step or 0.01), format=fmt, help=p.help, key=key, disabled=disabled))


def widget(p: Param, training: dict, task: str, disabled: bool = False):
    """One widget for one declared hyperparameter; returns its value (None = use the default)."""
    key = f"hp_{p.name}"
    value = _value(training, p)
    if p.name == "loss":
        options = [DEFAULT_LOSS, *ex.LOSSES_BY_TASK.get(task, ex.ALL_LOSSES)]
        current = ex.LOSS_ALIASES.get(value, value) or DEFAULT_LOSS
        index = options.index(current) if current in options else 0
        chosen = st.selectbox(label(p.name), options, index=index, help=p.help, key=key, disabled=disabled)
        return None if chosen == DEFAULT_LOSS else chosen
    if p.name == "metrics":
        options = list(ex.METRICS_BY_TASK.get(task, ex.ALL_METRICS))
        for extra in ex.ALL_METRICS:
            if extra not in options:
                options.append(extra)
        default = value if value is not None else list(ex.METRICS_BY_TASK.get(task, ()))
        chosen = st.multiselect(label(p.name), options, default=[m for m in default if m in options],
                                help=p.help, key=key, disabled=disabled)
        return list(chosen)
    if p.name == "early_stopping":
        return _early_stopping(p, value, disabled)
    if p.kind == "choice":
        options = list(p.choices)
        index = options.index(value) if value in options else 0
        return st.selectbox(label(p.name), options, index=index, help=p.help, key=key, disabled=disabled)
    if p.kind == "bool":
        return st.checkbox(label(p.name), value=bool(value), help=p.help, key=key, disabled=disabled)
    if p.kind in ("int", "float"):
        return _number(p, value, key, disabled)
    return value  # kinds the training settings do not use


def _early_stopping(p: Param, value, disabled: bool):
    on = st.checkbox("stop early when validation stops improving", value=isinstance(value, dict),
                     help=p.help, key="hp_early_stopping", disabled=disabled)
    if not on:
        return None
    current = value if isinstance(value, dict) else dict(p.extra.get("object") or {})
    monitor_p, patience_p = ex.EARLY_STOPPING["monitor"], ex.EARLY_STOPPING["patience"]
    c1, c2 = st.columns(2)
    monitor = current.get("monitor", monitor_p.default)
    with c1:
        monitor = st.selectbox("watch", list(monitor_p.choices),
                               index=list(monitor_p.choices).index(monitor) if monitor in monitor_p.choices else 0,
                               help=monitor_p.help, key="hp_es_monitor", disabled=disabled)
    with c2:
        patience = st.number_input("patience (epochs)", min_value=int(patience_p.min), max_value=int(patience_p.max),
                                   value=int(current.get("patience", patience_p.default)), help=patience_p.help,
                                   key="hp_es_patience", disabled=disabled)
    return {"monitor": monitor, "patience": int(patience)}


def _shown(p: Param, values: dict) -> bool:
    """Settings that only matter for some choices are hidden otherwise (momentum only for SGD/RMSprop…)."""
    if p.name == "momentum":
        return values.get("optimizer") in p.extra.get("optimizers", ())
    if p.name in SCHEDULE_PARAMS:
        return values.get("lr_schedule") in SCHEDULE_PARAMS[p.name]
    return True


def hyperparameter_form(training: dict, default_task: str | None = None, disabled: bool = False) -> dict:
    """Draw the form and return the new "training" dict (only settings that are shown and set)."""
    values: dict = {}
    task = training.get("task") or default_task or ex.HYPERPARAMS["task"].default
    training = {**training, "task": task}
    basic = [p for p in ex.HYPERPARAMS.values() if not p.advanced]
    advanced = [p for p in ex.HYPERPARAMS.values() if p.advanced]
    c1, c2 = st.columns(2)
    for i, p in enumerate(basic):
        if not _shown(p, training | values):
            continue
        target = (c1, c2)[i % 2] if p.name != "early_stopping" else st.container()
        with target:
            values[p.name] = widget(p, training | values, values.get("task", task), disabled)
    with st.expander("Advanced settings"):
        for p in advanced:
            if _shown(p, training | values):
                values[p.name] = widget(p, training | values, values.get("task", task), disabled)
    if values.get("optimizer") not in ex.MOMENTUM_OPTIMIZERS:
        values.pop("momentum", None)
    # keep the experiment small: drop "use the default" values
    return {k: v for k, v in values.items() if v is not None and not (k == "metrics" and v == [])}
