"""The Build palette's Transfer menu and a pretrained base's settings in the settings panel.

A base comes from a `.keras` file the student uploads (weights kept) or from a keras.applications
model with ImageNet weights; the engine (`builder.graph.pretrained`) checks and stores it and says
plainly when it cannot. The menu returns the new node's params; the page adds the node.
"""
from __future__ import annotations

import os
import tempfile

import streamlit as st

from builder import limits
from builder.graph import pretrained
from builder.graph.pretrained import PretrainedError
from builder.limits import DiskFull
from builder.model import catalog
from builder.model.spec import SpecError
from builder.store.workspace import QuotaExceeded
from datasets.stored import uploads_dir
from ui import state
from ui.jobs import runs_root


def menu(anchor_shape) -> dict | None:
    """Draw the menu; the params of a `Pretrained` node to add once a base is ready, else None.

    `anchor_shape`: the output shape (with batch) of the layer the base will follow, or None.
    """
    st.caption("A model trained before, with its weights, as one layer: add your own head after it. "
               "Freeze options are in its settings.")
    up = st.file_uploader("A trained model (.keras), weights kept", type=["keras"], key="base_upload",
                          help="Opened in safe mode: models with custom code are refused.")
    if up is not None and st.button("Add as pretrained base", key="base_add_upload", width="stretch"):
        with st.spinner("Checking the model…"):
            return _ready(lambda: _store_upload(up.getvalue(), up.name))
    name = st.selectbox("Or a keras.applications model with ImageNet weights", list(pretrained.APPLICATIONS),
                        key="base_app", help="Needs the weights in Keras' cache (~/.keras/models) or internet.")
    if st.button(f"Add {name}", key="base_add_app", width="stretch"):
        with st.spinner(f"Getting {name} with its ImageNet weights…"):
            return _ready(lambda: pretrained.from_application(name, pretrained.application_input(name, anchor_shape)))
    return None


def _ready(make) -> dict | None:
    try:
        return {"model": make()}
    except PretrainedError as e:
        state.put("build_error", f"Could not add the pretrained base: {e.problem.message}")
    except (QuotaExceeded, DiskFull) as e:
        state.put("build_error", f"Could not add the pretrained base: {e}")
    return None


def _store_upload(raw: bytes, name: str) -> str:
    """Keep an uploaded base, counted against the workspace's upload budgets and the server's disk budget."""
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, os.path.basename(name) or "model.keras")
        with open(path, "wb") as f:
            f.write(raw)
        limits.check_disk(uploads_dir(), runs_root())  # the store lives in the uploads folder by default
        state.workspaces().add_upload(state.workspace_id(), pretrained.id_of(path), len(raw), os.path.basename(name))
        return pretrained.store_file(path, title=os.path.splitext(os.path.basename(name))[0] or None)


def settings(params: dict, key: str) -> dict:
    """A base's settings: its source (words, not its store id), how much of it learns, and where it ends, the
    layers picked from the base's own (never typed). Returns `params` with the student's changes."""
    try:
        base = pretrained.info(params.get("model", ""))
    except SpecError:
        return params  # the node's problem says what to do
    declared = {p.name: p for p in catalog.get("Pretrained").params}
    st.caption(f"**{base.title}** · input {base.input_shape} → output {base.output_shape} · {base.params:,} weights "
               f"· {len(base.layers)} layer{'s' if len(base.layers) != 1 else ''}")
    layers = list(base.layers)
    out = dict(params)
    freeze = st.selectbox("freeze", list(catalog.FREEZE), index=catalog.FREEZE.index(params.get("freeze", "all")),
                          key=f"{key}.freeze", help=declared["freeze"].help)
    _changed(out, "freeze", freeze, params.get("freeze", "all"))
    if freeze == "from":
        first = params.get("unfreeze_from")
        _changed(out, "unfreeze_from", st.selectbox(
            "unfreeze from", layers, index=layers.index(first) if first in layers else None, key=f"{key}.unfreeze_from",
            placeholder="Choose the first layer that learns…", help=declared["unfreeze_from"].help), first)
    end = params.get("output_layer")
    _changed(out, "output_layer", st.selectbox(
        "output layer", [None, *layers], index=layers.index(end) + 1 if end in layers else 0, key=f"{key}.output_layer",
        format_func=lambda name: "the whole model" if name is None else name, help=declared["output_layer"].help), end)
    return out


def _changed(out: dict, name: str, new, current) -> None:
    """Record a setting the student changed; None (nothing chosen) leaves the default."""
    if new == current:
        return
    if new is None:
        out.pop(name, None)
    else:
        out[name] = new
