"""The verdict's problems on screen, each with a one-click fix where the engine offers one.

Problems arrive as `builder.graph.validate.Problem` values (node, field, message, fix); this module turns them
into words and buttons. A fix is applied by the engine (`builder.experiments.experiment.apply_fix`) to the whole
experiment and stored back through ui.state (the model change is undoable).
"""
from __future__ import annotations

import streamlit as st

from builder.experiments import experiment as ex
from builder.experiments.experiment import problem_text
from ui import state, train_form


def fix_label(fix: dict) -> str:
    """Button words for a fix: "Set probs: units 10, activation softmax", "Set loss: mse"."""
    if "discriminator" in fix:  # a GAN's discriminator node
        return "Discriminator: " + fix_label(fix["discriminator"])
    if "node" in fix:
        changes, where = fix.get("params") or {}, fix["node"]
    else:
        where, changes = next(((k, v) for k, v in fix.items() if k in ("training", "data")), ("", {}))
        where = ""
    words = ", ".join(f"{k.replace('_', ' ')} {_short(v)}" if v is not None else f"{k.replace('_', ' ')} default"
                      for k, v in changes.items())
    return f"Set {where}: {words}" if where else f"Set {words}"


def _short(value) -> str:
    if isinstance(value, (list, tuple)):
        return "×".join(str(v) for v in value)
    return str(value)


def apply(fix: dict) -> None:
    try:
        state.load_experiment_dict(ex.apply_fix(state.experiment_dict(), fix))
    except ValueError as e:  # the node is gone meanwhile: say so, change nothing
        state.put("fix_error", str(e))
        return
    train_form.show_changes(fix.get("training") or {})
    st.rerun()  # from a callback: one whole-page run, so the form, the verdict and the sidebar all follow


def show(items, key: str, title: str = "Fix these before training:") -> None:
    """One line per problem (the node first), a fix button beside those that have one."""
    if not items:
        return
    if err := state.take("fix_error"):
        st.error(err)
    with st.container(border=True):
        st.markdown(f":red[:material/error: **{title}**]")
        for i, p in enumerate(items):
            text = f"**{p.node}**: {p.message}" if p.node else problem_text(p)
            st.markdown(text)
            if p.fix:  # under its problem, as wide as its words: a narrow column never cuts the label
                st.button(fix_label(p.fix), key=f"{key}_fix_{i}", on_click=apply, args=(p.fix,),
                          icon=":material/auto_fix_high:")
