"""Small edits of a spec dict made by the Build page's buttons (pure functions).

They only rearrange the document; what it means is checked by builder.graph.validate.
Each returns a new dict and leaves its argument alone.
"""
from __future__ import annotations

import copy
import re

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def base_name(type_name: str) -> str:
    """Dense → dense, Conv2D → conv2d, MultiHeadAttention → multi_head_attention."""
    return _CAMEL.sub("_", type_name).lower()


def new_id(spec: dict, type_name: str) -> str:
    taken = {n.get("id") for n in spec.get("nodes", [])}
    base = base_name(type_name)
    i = 1
    while f"{base}_{i}" in taken:
        i += 1
    return f"{base}_{i}"


def add_node(spec: dict, type_name: str, params: dict, connect_to: str | None = None, ui: dict | None = None) -> tuple[dict, str]:
    new = copy.deepcopy(spec)
    nid = new_id(new, type_name)
    node = {"id": nid, "type": type_name}
    if params:
        node["params"] = dict(params)
    if connect_to and connect_to in {n["id"] for n in new["nodes"]}:
        node["inputs"] = [connect_to]
    if ui:
        node["ui"] = dict(ui)
    new["nodes"].append(node)
    return new, nid


def delete_node(spec: dict, node_id: str) -> dict:
    """The spec without `node_id`. A layer with one input is taken out of its chain: what it fed takes
    its input instead (deleting the Dropout in hidden1 → dropout → hidden2 leaves hidden1 → hidden2)."""
    new = copy.deepcopy(spec)
    gone = next((n for n in new["nodes"] if n.get("id") == node_id), {})
    bridge = gone.get("inputs") or []
    bridge = bridge[0] if len(bridge) == 1 else None
    new["nodes"] = [n for n in new["nodes"] if n.get("id") != node_id]
    for n in new["nodes"]:
        if node_id in n.get("inputs", []):
            n["inputs"] = ([bridge if i == node_id else i for i in n["inputs"]] if bridge
                           else [i for i in n["inputs"] if i != node_id])
            if not n["inputs"]:
                n.pop("inputs")
    if new.get("outputs"):
        new["outputs"] = [o for o in new["outputs"] if o != node_id]
        if not new["outputs"]:
            new.pop("outputs")
    return new


def duplicate_node(spec: dict, node_id: str, ui: dict | None = None) -> tuple[dict, str]:
    """A copy of a layer (same type, settings and inputs), at canvas position `ui`; returns the new spec and
    the copy's id."""
    node = _node(spec, node_id)
    new, nid = add_node(spec, node["type"], node.get("params") or {}, None, ui)
    if node.get("inputs"):
        new["nodes"][-1]["inputs"] = list(node["inputs"])
    return new, nid


def rename_node(spec: dict, old: str, new_name: str) -> dict:
    new = copy.deepcopy(spec)
    for n in new["nodes"]:
        if n.get("id") == old:
            n["id"] = new_name
        if old in n.get("inputs", []):
            n["inputs"] = [new_name if i == old else i for i in n["inputs"]]
    if new.get("outputs"):
        new["outputs"] = [new_name if o == old else o for o in new["outputs"]]
    return new


def set_params(spec: dict, node_id: str, params: dict) -> dict:
    new = copy.deepcopy(spec)
    node = _node(new, node_id)
    if params:
        node["params"] = dict(params)
    else:
        node.pop("params", None)
    return new


def move_input(spec: dict, node_id: str, index: int, delta: int) -> dict:
    """Swap input `index` of `node_id` with its neighbour `index + delta`."""
    new = copy.deepcopy(spec)
    ins = _node(new, node_id).get("inputs", [])
    j = index + delta
    if 0 <= index < len(ins) and 0 <= j < len(ins):
        ins[index], ins[j] = ins[j], ins[index]
    return new


def remove_input(spec: dict, node_id: str, index: int) -> dict:
    new = copy.deepcopy(spec)
    node = _node(new, node_id)
    ins = node.get("inputs", [])
    if 0 <= index < len(ins):
        del ins[index]
    if not ins:
        node.pop("inputs", None)
    return new


def add_input(spec: dict, node_id: str, source: str) -> dict:
    new = copy.deepcopy(spec)
    node = _node(new, node_id)
    node.setdefault("inputs", []).append(source)
    return new


def move_node(spec: dict, node_id: str, delta: int) -> dict:
    """Move a node up/down in the node list (the fallback editor's order)."""
    new = copy.deepcopy(spec)
    ids = [n["id"] for n in new["nodes"]]
    i = ids.index(node_id)
    j = i + delta
    if 0 <= j < len(ids):
        new["nodes"][i], new["nodes"][j] = new["nodes"][j], new["nodes"][i]
    return new


def _node(spec: dict, node_id: str) -> dict:
    for n in spec["nodes"]:
        if n.get("id") == node_id:
            return n
    raise KeyError(node_id)


def consumers(spec: dict, node_id: str) -> list[str]:
    """Ids of the nodes that take `node_id` as an input."""
    return [n["id"] for n in spec.get("nodes", []) if node_id in (n.get("inputs") or [])]


def current_output(spec: dict) -> str | None:
    """The node a new layer is appended to when nothing is selected: the declared output, else the last
    node nobody consumes."""
    if spec.get("outputs"):
        return spec["outputs"][-1]
    free = [n["id"] for n in spec.get("nodes", []) if not consumers(spec, n["id"])]
    return free[-1] if free else None


def insert_after(spec: dict, type_name: str, params: dict, anchor: str | None) -> tuple[dict, str]:
    """Add a one-input layer after `anchor` (or after the current output when None) and move the anchor's
    consumers onto it: selecting `hidden` and adding Dropout gives hidden → dropout → (what hidden fed).
    Positions are dropped so the layered layout places every node again (the canvas tidies itself)."""
    anchor = anchor or current_output(spec)
    new, nid = add_node(spec, type_name, params, anchor)
    if anchor:
        for n in new["nodes"]:
            if n["id"] != nid and anchor in (n.get("inputs") or []):
                n["inputs"] = [nid if i == anchor else i for i in n["inputs"]]
        if new.get("outputs"):
            new["outputs"] = [nid if o == anchor else o for o in new["outputs"]]
    return tidy(new), nid


def tidy(spec: dict) -> dict:
    """The spec without stored canvas positions: the canvas lays every node out again, layer by layer."""
    new = copy.deepcopy(spec)
    for n in new["nodes"]:
        n.pop("ui", None)
    return new


def fresh_name(taken: set[str], base: str = "my-model") -> str:
    """"my-model", else "my-model-2", "my-model-3"… — a name not in `taken`."""
    if base not in taken:
        return base
    i = 2
    while f"{base}-{i}" in taken:
        i += 1
    return f"{base}-{i}"


def new_model(input_shape: list[int] | None, classes: int | None, name: str) -> dict:
    """A clean start: one Input sized to the data and, for class data, an output layer sized to the classes
    (with a Flatten before it when examples are not flat)."""
    shape = list(input_shape or [2])
    nodes = [{"id": "input", "type": "Input", "params": {"shape": shape}}]
    if classes:
        last = "input"
        if len(shape) > 1:
            nodes.append({"id": "flatten", "type": "Flatten", "inputs": ["input"]})
            last = "flatten"
        nodes.append({"id": "output", "type": "Dense", "inputs": [last],
                      "params": {"units": classes, "activation": "softmax"}})
    return {"format": "layerlab/model@1", "name": name, "nodes": nodes}
