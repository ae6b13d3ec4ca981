"""The graph canvas: the ONE module that knows which canvas technology draws the spec.

It is Layerlab's own component (ui/canvas_app: React Flow in the page, through Streamlit's
components v2). Everything else in the app talks to this module in spec terms only:

- `show(spec, feedback, selected, version, ack, on_events)` draws the canvas; the student's edits
  arrive as small operations (`select`, `move`, `connect`, `delete`, `duplicate`, `insert_after`)
  that name layers by id, and `on_events` applies them;
- `canvas_data` (spec → what the browser draws) and `apply_event` (one operation → a new spec)
  are pure and tested without a browser;
- `place_new` picks a position for a node added from the palette.

Because an operation names layers rather than carrying a copy of the whole graph, one made while
an earlier one is still on its way applies to the newer spec: quick successive deletions all
count. An operation on a layer that is already gone is refused with a notice that says so.

React Flow gives each node one target handle, so the order of a node's inputs is kept in the spec
(`inputs` list) and shown as edge labels 1, 2, 3 (query, value, key for attention); it is changed
in the side panel, not by dragging.
"""
from __future__ import annotations

import copy
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import streamlit as st

from builder.graph import pretrained
from builder.model import catalog, describe
from builder.model.spec import SpecError
from ui import edits, state
from ui.feedback import Feedback, format_count, format_shape

COL_W, ROW_H = 250, 110  # layout grid (px): the graph flows top → bottom, branches side by side
# The canvas' code (ui/canvas_app, built into static/canvas/) is served once by Streamlit's static file
# serving and cached by the browser; each redraw sends only this loader and the model's data.
BUNDLE = Path(__file__).parent.parent / "static" / "canvas"
LOADER = """
const loading = {};
export default function (args) {
  const { css, js } = args.data.bundle;
  if (!document.querySelector(`link[href="${css}"]`)) {
    const link = document.createElement("link");
    link.rel = "stylesheet";
    link.href = css;
    document.head.appendChild(link);
  }
  // the loader itself runs from a blob: address, so the module's address is made absolute
  loading[js] = loading[js] || import(new URL(js, window.location.href).href);
  let cleanup = null, gone = false;
  loading[js].then((m) => { if (!gone) cleanup = m.default(args); });
  return () => { gone = true; if (cleanup) cleanup(); };
}
"""
# The layers offered by the right-click menu's "Insert after".
QUICK_TYPES = ("Dense", "Dropout", "Conv2D", "MaxPooling2D", "Flatten", "BatchNormalization", "Activation", "LSTM")

# Soft colours per layer family, so a graph reads at a glance.
FAMILY_COLOURS = {
    "core": "#eef4ff",
    "activation": "#fdeef4",
    "convolution": "#eefaf1",
    "pooling": "#f3f0ff",
    "reshaping": "#f1f6e9",
    "recurrent": "#fff6e8",
    "attention & normalization": "#e9f8fb",
    "merge": "#fff9db",
    "regularization": "#f4f4f4",
    "transfer": "#fdf1e3",
}
COLLAPSE_FROM = 40  # layers: bigger imported models open with their blocks closed
# Keras' own models name their repeated blocks ("conv2_block1_1_conv" in ResNet, "block_3_expand" in
# MobileNetV2, "block2a_se_squeeze" in EfficientNet): a big model without sub-models is grouped by that name.
NAMED_BLOCK = re.compile(r"^(.*?block_?\d+[a-z]?)_")


# -- layout --------------------------------------------------------------------
def positions(spec: dict) -> dict[str, tuple[float, float]]:
    """Each node's canvas position: its stored "ui" position, else a layered auto-layout."""
    nodes = [n for n in spec.get("nodes", []) if isinstance(n, dict) and isinstance(n.get("id"), str)]
    by_id = {n["id"]: n for n in nodes}
    depth: dict[str, int] = {}

    def d(nid, seen=()):
        if nid in depth:
            return depth[nid]
        if nid in seen or nid not in by_id:  # cycles and dangling inputs: validation reports them
            return 0
        ins = [i for i in by_id[nid].get("inputs", []) if isinstance(i, str)]
        depth[nid] = 0 if not ins else 1 + max(d(i, seen + (nid,)) for i in ins)
        return depth[nid]

    out, per_row = {}, {}
    for n in nodes:
        ui = n.get("ui") or {}
        if isinstance(ui.get("x"), (int, float)) and isinstance(ui.get("y"), (int, float)):
            out[n["id"]] = (float(ui["x"]), float(ui["y"]))
    for n in nodes:
        if n["id"] in out:
            continue
        row = d(n["id"])  # depth from the inputs picks the row; layers at one depth stand side by side
        col = per_row.get(row, 0)
        per_row[row] = col + 1
        out[n["id"]] = (float(col * COL_W), float(row * ROW_H))
    return out


def place_new(spec: dict, anchor: str | None) -> dict:
    """A free "ui" position for a new node: below `anchor` when given, else right of everything."""
    pos = positions(spec)
    if anchor in pos:
        x, y = pos[anchor]
        y += ROW_H
    else:
        x = (max((p[0] for p in pos.values()), default=-COL_W)) + COL_W
        y = min((p[1] for p in pos.values()), default=0.0)
    taken = set(pos.values())
    while any(abs(px - x) < COL_W * 0.8 and abs(py - y) < ROW_H * 0.9 for px, py in taken):
        x += COL_W
    return {"x": round(x), "y": round(y)}


# -- spec → canvas --------------------------------------------------------------------
def input_roles(type_name) -> tuple:
    """Names of a layer's inputs in order ("query", "value", "key"), from the catalog."""
    try:
        return catalog.get(type_name).input_names
    except KeyError:  # an unknown type: validation reports it
        return ()


def edge_label(target: dict, index: int) -> str:
    """The input's position (1, 2, 3…) on edges into multi-input layers, with its role if it has one."""
    ins = target.get("inputs", [])
    roles = input_roles(target.get("type"))
    if len(ins) < 2 and not roles:
        return ""
    if index < len(roles):
        return f"{index + 1} {roles[index]}"
    return str(index + 1)


def edge_id(src: str, dst: str, index: int) -> str:
    return f"{src}->{dst}#{index}"


def _family_of(type_name) -> str | None:
    try:
        return catalog.get(type_name).family
    except KeyError:
        return None


def _base_brief(params: dict | None) -> str:
    """A pretrained base by its source ("MobileNetV2 (ImageNet weights)", the uploaded file's name), never by its
    store id; "every layer learns" when nothing of it is frozen."""
    p = params or {}
    try:
        source = pretrained.info(str(p.get("model", ""))).title
    except SpecError:  # no such base: the node's problem says so
        source = ""
    learns = "" if describe.frozen_brief(p) else "every layer learns"  # a frozen base wears a tag instead
    return " · ".join(part for part in (source, learns) if part)


def structure_key(spec: dict) -> str:
    """Changes when layers or connections do (not when a layer moves or a setting changes): the canvas
    fits its view to the model again after such a change."""
    shape = [(n.get("id"), tuple(n.get("inputs") or ())) for n in spec.get("nodes", []) if isinstance(n, dict)]
    return hashlib.sha1(json.dumps(shape, default=str).encode()).hexdigest()[:12]


def canvas_data(spec: dict, fb: Feedback, selected: str | None = None, family_of=None) -> dict:
    """What the browser draws: each layer with its text, colour and problem; each connection."""
    family_of = family_of or _family_of
    pos = positions(spec)
    nodes, edges = [], []
    ids = {n.get("id") for n in spec.get("nodes", []) if isinstance(n, dict)}
    for n in spec.get("nodes", []):
        if not isinstance(n, dict) or not isinstance(n.get("id"), str):
            continue
        nid = n["id"]
        problems = fb.node_problems(nid)
        shape = ""
        if nid in fb.shapes:
            count = fb.params.get(nid)
            shape = format_shape(fb.shapes[nid]) + (f" · {format_count(count)} params" if count else "")
        problem = ""
        if problems:  # the first, short; the full list is under the canvas and in the side panel
            problem = problems[0] if len(problems[0]) <= 90 else problems[0][:88].rstrip() + "…"
            problem += f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
        base = n.get("type") == "Pretrained"
        nodes.append({
            "id": nid, "type": str(n.get("type", "?")), "detail": _base_brief(n.get("params")) if base else
            describe.layer_brief(n.get("params")), "frozen": describe.frozen_brief(n.get("params")) if base else "",
            "shape": shape, "problem": problem,
            "error": bool(problems), "colour": FAMILY_COLOURS.get(family_of(n.get("type")), "#ffffff"),
            "kind": "input" if n.get("type") == "Input" else "layer", "group": n.get("group"),
            "x": pos[nid][0], "y": pos[nid][1],
        })
        for i, src in enumerate(n.get("inputs", []) or []):
            if src in ids:
                edges.append({"id": edge_id(src, nid, i), "source": src, "target": nid, "index": i,
                              "label": edge_label(n, i)})
    if len(nodes) >= COLLAPSE_FROM and not any(n["group"] for n in nodes):  # a view of the canvas, not the spec
        for n in nodes:
            m = NAMED_BLOCK.match(n["id"])
            n["group"] = m.group(1) if m else None
    groups = sorted({n["group"].split("/")[0] for n in nodes if n["group"]})
    return {"nodes": nodes, "edges": edges, "selected": selected if selected in ids else None,
            "structure": structure_key(spec), "quick": list(QUICK_TYPES),
            "collapsed": groups if len(nodes) >= COLLAPSE_FROM else []}


# -- canvas → spec: the student's operations ------------------------------------------------
@dataclass
class Outcome:
    """What applying the canvas' operations did: the new spec, the layer to select, notices to show."""
    spec: dict
    selected: str | None
    notices: list[str] = field(default_factory=list)
    changed: bool = False


def apply_events(spec: dict, events: list[dict], selected: str | None, new_params, max_inputs) -> Outcome:
    """Apply the canvas' operations in order. `new_params(type)` gives a new layer's params and
    `max_inputs(type)` how many inputs a layer type takes (None: any)."""
    out = Outcome(spec=spec, selected=selected)
    for ev in events:
        _apply(out, ev, new_params, max_inputs)
    out.changed = out.spec != spec
    return out


def _apply(out: Outcome, ev: dict, new_params, max_inputs) -> None:
    ids = {n["id"] for n in out.spec.get("nodes", [])}
    action = ev.get("action")
    named = [i for i in [ev.get("id"), ev.get("source"), ev.get("target"), *(ev.get("nodes") or [])] if i]
    gone = [i for i in named if i not in ids]
    if gone:
        out.notices.append(f"The layer {', '.join(repr(g) for g in gone)} is no longer in the model, so that "
                           f"{action} was not applied.")
        return
    if action == "select":
        out.selected = ev["id"]
    elif action == "move":
        out.spec = _moved(out.spec, ev.get("positions") or {})
    elif action == "connect":
        out.spec = _connected(out, ev["source"], ev["target"], max_inputs)
    elif action == "delete":
        for nid in ev.get("nodes") or []:
            out.spec = edits.tidy(edits.delete_node(out.spec, nid))  # laid out again, like an insertion
        for e in ev.get("edges") or []:
            out.spec = _disconnected(out.spec, e)
        if out.selected in (ev.get("nodes") or []):
            out.selected = None
    elif action == "duplicate":
        out.spec, out.selected = edits.duplicate_node(out.spec, ev["id"], place_new(out.spec, ev["id"]))
    elif action == "insert_after":
        out.spec, out.selected = edits.insert_after(out.spec, ev["type"], new_params(ev["type"]), ev["id"])


def _moved(spec: dict, moves: dict) -> dict:
    new = copy.deepcopy(spec)
    for n in new["nodes"]:
        xy = moves.get(n["id"])
        if isinstance(xy, dict) and all(isinstance(xy.get(k), (int, float)) for k in ("x", "y")):
            n["ui"] = {"x": round(xy["x"]), "y": round(xy["y"])}
    return new


def _connected(out: Outcome, source: str, target: str, max_inputs) -> dict:
    """`source` becomes an input of `target`; a one-input layer swaps its old input for the new one."""
    spec = out.spec
    node = next(n for n in spec["nodes"] if n["id"] == target)
    ins = node.get("inputs") or []
    if source == target or source in ins:
        return spec
    if max_inputs(node.get("type")) == 0:
        out.notices.append(f"'{target}' is an Input: it takes no connections in. Connect it to other layers instead.")
        return spec
    if max_inputs(node.get("type")) == 1 and ins:
        out.notices.append(f"'{target}' takes one input: it now takes '{source}' instead of '{ins[0]}'.")
        return edits.add_input(edits.remove_input(spec, target, 0), target, source)
    return edits.add_input(spec, target, source)


def _disconnected(spec: dict, edge: dict) -> dict:
    node = next((n for n in spec["nodes"] if n["id"] == edge.get("target")), None)
    ins = (node or {}).get("inputs") or []
    index = edge.get("index")
    if not isinstance(index, int) or index >= len(ins) or ins[index] != edge.get("source"):
        index = ins.index(edge.get("source")) if edge.get("source") in ins else None
    return spec if index is None else edits.remove_input(spec, edge["target"], index)


def legend() -> None:
    """One coloured chip per layer family, in the colours the canvas uses."""
    chips = " ".join(
        f"<span style='background:{colour};border:1px solid #9aa5b1;border-radius:6px;padding:1px 8px;"
        f"margin-right:4px;font-size:13px'>{family}</span>" for family, colour in FAMILY_COLOURS.items())
    chips += (" <span style='border:1px solid #9aa5b1;border-left:6px solid #52606d;border-radius:6px;padding:1px 8px;"
              "font-size:13px;background:repeating-linear-gradient(135deg,rgba(82,96,109,.09) 0 6px,transparent 6px 12px)'>"
              "frozen: keeps its trained weights</span>")
    st.html(f"<div style='line-height:2'>{chips}</div>")


# -- drawing ----------------------------------------------------------------------------
@st.cache_resource(show_spinner=False)
def _component():
    return st.components.v2.component("layerlab_canvas", js=LOADER, isolate_styles=False)


@st.cache_resource(show_spinner=False)
def _bundle_urls() -> dict:
    """Where the browser loads the canvas' code and styles; the content hash makes an update load afresh."""
    base = "/" + "/".join(p for p in (st.get_option("server.baseUrlPath") or "").split("/") if p)
    urls = {}
    for kind in ("js", "css"):
        path = BUNDLE / f"canvas.{kind}"
        digest = hashlib.sha1(path.read_bytes()).hexdigest()[:10]
        urls[kind] = f"{base.rstrip('/')}/app/static/canvas/{path.name}?v={digest}"
    return urls


def show(spec: dict, fb: Feedback, selected: str | None, version: int, ack: int, on_events,
         key: str = "canvas", height: int = 520) -> None:
    """Draw the canvas. The student's operations arrive in `on_events` (a callback, run before the next
    redraw) as the session value of `key` ("events"); `ack` is the last operation already applied."""
    data = canvas_data(spec, fb, selected)
    data.update(version=version, ack=ack, height=height, bundle=_bundle_urls())
    _component()(key=key, data=data, default={"events": []}, on_events_change=on_events, height=height)


def pending_events(key: str, ack: int) -> list[dict]:
    """The canvas' operations not applied yet (sequence number above `ack`), in order."""
    result = state.peek(key)
    events = (result or {}).get("events") if isinstance(result, dict) else getattr(result, "events", None)
    fresh = [e for e in events or [] if isinstance(e, dict) and isinstance(e.get("seq"), (int, float)) and e["seq"] > ack]
    return sorted(fresh, key=lambda e: e["seq"])
