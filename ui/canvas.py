"""The graph canvas: the ONE module that knows which canvas technology draws the spec.

Today it is streamlit-flow-component (React Flow). Everything else in the app
talks to this module in spec terms only:

- `show(spec, feedback, selected)` draws the canvas and returns a `CanvasChange`
  (a new spec and/or a new selection) when the user moved, connected, deleted
  or clicked something, else None;
- `flow_elements` / `apply_flow` are the pure mapping spec ⇄ canvas (tested
  without a browser);
- `place_new` picks a position for a node added from the palette.

React Flow gives each node one target handle, so the order of a node's inputs
is kept in the spec (`inputs` list) and shown as edge labels 1, 2, 3 (query,
value, key for attention); it is changed in the side panel, not by dragging.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass

import streamlit as st

from ui.feedback import Feedback, format_count, format_shape

NODE_W, NODE_H = 220, 140  # layout grid (px); the graph flows left → right
_MOVE_EPS = 0.5
SCALE = 0.85  # canvas px per spec px: templates space layers 220 px apart (187 px drawn, boxes are 170 px)

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
ERROR_STYLE = {"border": "2px solid #d93025", "background": "#fdecea"}
INPUT_ROLES = {"MultiHeadAttention": ("query", "value", "key")}


@dataclass
class CanvasChange:
    spec: dict | None = None  # the edited spec, when the graph changed
    selected: str | None = None
    selection_changed: bool = False


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
        col = d(n["id"])  # depth from the inputs picks the column
        row = per_row.get(col, 0)
        per_row[col] = row + 1
        out[n["id"]] = (float(col * NODE_W), float(row * NODE_H))
    return out


def place_new(spec: dict, anchor: str | None) -> dict:
    """A free "ui" position for a new node: right of `anchor` when given, else below everything."""
    pos = positions(spec)
    if anchor in pos:
        x, y = pos[anchor]
        x += NODE_W
    else:
        x = min((p[0] for p in pos.values()), default=0.0)
        y = (max((p[1] for p in pos.values()), default=-NODE_H)) + NODE_H
    taken = set(pos.values())
    while any(abs(px - x) < NODE_W * 0.8 and abs(py - y) < NODE_H * 0.9 for px, py in taken):
        y += NODE_H
    return {"x": round(x), "y": round(y)}


# -- spec → canvas --------------------------------------------------------------------
def node_label(node: dict, fb: Feedback) -> str:
    """Markdown shown inside a node: id, type, output shape, params, problems."""
    nid, ntype = node["id"], node.get("type", "?")
    lines = [f"**{nid}**", f"{ntype}{_brief(node)}"]
    if nid in fb.shapes:
        count = fb.params.get(nid)
        lines.append(f"`{format_shape(fb.shapes[nid])}`" + (f" · {format_count(count)} params" if count else ""))
    problems = fb.node_problems(nid)
    if problems:  # the first problem, short; the full list is under the canvas and in the side panel
        msg = problems[0] if len(problems[0]) <= 90 else problems[0][:88].rstrip() + "…"
        lines.append(f"⚠️ {msg}" + (f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""))
    return "  \n".join(lines)


def _brief(node: dict) -> str:
    p = node.get("params") or {}
    bits = []
    for key in ("units", "filters", "shape", "rate", "pool_size", "num_heads", "kernel_size"):
        if key in p and p[key] is not None:
            v = p[key]
            bits.append(f"{key} {list(v) if isinstance(v, (list, tuple)) else v}")
            break
    if p.get("activation") and p["activation"] != "linear":
        bits.append(p["activation"])
    return (" · " + ", ".join(bits)) if bits else ""


def input_roles(type_name) -> tuple:
    """Names of a layer's inputs in order ("query", "value", "key"), from the catalog."""
    try:
        from builder import catalog

        return tuple(getattr(catalog.get(type_name), "input_names", ()) or ())
    except Exception:
        return INPUT_ROLES.get(type_name, ())


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


def flow_elements(spec: dict, fb: Feedback, selected: str | None = None, family_of=None) -> tuple[list[dict], list[dict]]:
    """Plain node and edge dicts (React Flow's fields) for `spec`."""
    family_of = family_of or _family_of
    pos = positions(spec)
    nodes, edges = [], []
    ids = {n.get("id") for n in spec.get("nodes", []) if isinstance(n, dict)}
    for n in spec.get("nodes", []):
        if not isinstance(n, dict) or not isinstance(n.get("id"), str):
            continue
        nid = n["id"]
        style = {
            "background": FAMILY_COLOURS.get(family_of(n.get("type")), "#ffffff"),
            "border": "1px solid #9aa5b1", "borderRadius": "8px", "fontSize": "14px",
            "padding": "6px 9px", "width": "170px", "textAlign": "left", "lineHeight": "1.35",
        }
        if fb.node_problems(nid):
            style.update(ERROR_STYLE)
        nodes.append({
            "id": nid, "x": pos[nid][0], "y": pos[nid][1],
            "content": node_label(n, fb),
            "kind": "input" if n.get("type") == "Input" else "default",
            "style": style, "selected": nid == selected,
        })
        for i, src in enumerate(n.get("inputs", []) or []):
            if src in ids:
                edges.append({"id": edge_id(src, nid, i), "source": src, "target": nid, "label": edge_label(n, i)})
    return nodes, edges


def _family_of(type_name) -> str | None:
    try:
        from builder import catalog

        return catalog.get(type_name).family
    except Exception:
        return None


# -- canvas → spec ----------------------------------------------------------------------
def apply_flow(spec: dict, flow_nodes: list[dict], flow_edges: list[dict]) -> dict:
    """The spec after the canvas edits: moved nodes, new/removed edges, deleted nodes.

    `flow_nodes` are {"id", "x", "y"} and `flow_edges` {"source", "target"}. Positions
    that did not move keep the spec as it was (no "ui" is added just for being drawn).
    """
    new = copy.deepcopy(spec)
    kept = {n["id"] for n in flow_nodes}
    old_pos = positions(spec)
    # deleted nodes go, and so do the connections to them
    new["nodes"] = [n for n in new["nodes"] if n.get("id") in kept]
    for n in new["nodes"]:
        if n.get("inputs"):
            n["inputs"] = [i for i in n["inputs"] if i in kept or i not in old_pos]
            if not n["inputs"]:
                n.pop("inputs")
    if new.get("outputs"):
        new["outputs"] = [o for o in new["outputs"] if o in kept]
        if not new["outputs"]:
            new.pop("outputs")
    by_id = {n["id"]: n for n in new["nodes"]}
    # moves
    for fn in flow_nodes:
        nid = fn["id"]
        if nid not in by_id or nid not in old_pos:
            continue
        ox, oy = old_pos[nid]
        if abs(fn["x"] - ox) > _MOVE_EPS or abs(fn["y"] - oy) > _MOVE_EPS:
            by_id[nid]["ui"] = {"x": round(fn["x"]), "y": round(fn["y"])}
    # edges: compare the multiset of (source, target) pairs
    want: dict[str, list[str]] = {}
    for e in flow_edges:
        if e["target"] in by_id and e["source"] in by_id:
            want.setdefault(e["target"], []).append(e["source"])
    for nid, node in by_id.items():
        have = list(node.get("inputs", []))
        wanted = list(want.get(nid, []))
        result = []
        for src in have:  # keep surviving inputs in their order
            if src in wanted:
                wanted.remove(src)
                result.append(src)
            elif src not in by_id:
                result.append(src)  # a dangling input is not an edge on the canvas: keep it for validation
        result += wanted  # new connections come last
        if result:
            node["inputs"] = result
        else:
            node.pop("inputs", None)
    return new


def legend() -> None:
    """One coloured chip per layer family, in the colours the canvas uses."""
    chips = " ".join(
        f"<span style='background:{colour};border:1px solid #9aa5b1;border-radius:6px;padding:1px 8px;"
        f"margin-right:4px;font-size:13px'>{family}</span>" for family, colour in FAMILY_COLOURS.items())
    st.html(f"<div style='line-height:2'>{chips}</div>")


# -- drawing ----------------------------------------------------------------------------
def show(spec: dict, fb: Feedback, selected: str | None, version: int, key: str = "canvas",
         height: int = 560) -> CanvasChange | None:
    """Draw the canvas; return what the user changed on it since the last call, if anything.

    `version` changes whenever the spec changed outside the canvas; the canvas then
    redraws from the spec (React Flow otherwise keeps its own copy between reruns).
    """
    from streamlit_flow import streamlit_flow
    from streamlit_flow.elements import StreamlitFlowEdge, StreamlitFlowNode
    from streamlit_flow.state import StreamlitFlowState

    ss = st.session_state
    k_reset, k_seen, k_ver = f"_{key}_reset_ts", f"_{key}_seen_ts", f"_{key}_version"
    k_drawn, k_sync = f"_{key}_drawn", f"_{key}_sync"
    if ss.get(k_ver) != version:
        # Redraw from the spec: the component replaces its own copy when our timestamp is >= the
        # last one it sent. Deriving ours from its timestamps keeps browser and server clocks apart.
        last = ss.get(key)
        last_ts = last.get("timestamp", 0) if isinstance(last, dict) else 0
        ss[k_seen] = max(ss.get(k_seen, 0), last_ts or 0)
        ss[k_reset] = ss[k_seen] + 1
        ss[k_ver] = ss[k_drawn] = ss[k_sync] = version
    nodes, edges = flow_elements(spec, fb, selected)
    flow_nodes = [
        StreamlitFlowNode(
            n["id"], (n["x"] * SCALE, n["y"] * SCALE), {"content": n["content"], "v": ss[k_drawn]}, n["kind"],
            source_position="right", target_position="left", draggable=True, selectable=True,
            connectable=True, deletable=True, style=n["style"], selected=n["selected"],
        )
        for n in nodes
    ]
    flow_edges = [
        StreamlitFlowEdge(
            e["id"], e["source"], e["target"], edge_type="default", marker_end={"type": "arrowclosed"},
            deletable=True, focusable=True, label=e["label"], label_show_bg=bool(e["label"]),
            label_style={"fontWeight": 700, "fontSize": 12},
            label_bg_style={"fill": "#fff7d6"},
        )
        for e in edges
    ]
    state = StreamlitFlowState(flow_nodes, flow_edges, timestamp=ss[k_reset])
    result = streamlit_flow(
        key, state, height=height, fit_view=True, show_controls=True, allow_new_edges=True,
        get_node_on_click=True, get_edge_on_click=False, enable_node_menu=False, enable_edge_menu=False,
        enable_pane_menu=False,
        hide_watermark=True, min_zoom=0.2, style={"background": "#fbfcfe"},
    )
    ts = getattr(result, "timestamp", None)
    if not ts or ts <= ss[k_reset] or ts == ss.get(k_seen):
        return None
    ss[k_seen] = ts
    drawn = {n.data.get("v") for n in result.nodes if isinstance(n.data, dict)}
    if (drawn and drawn != {ss[k_drawn]}) or ss[k_sync] != version:
        # An event about a graph the spec has moved on from (an edit elsewhere raced with it):
        # applying it would undo that edit, so drop it and redraw.
        ss[k_ver] = None
        st.rerun()
    got_nodes = [{"id": n.id, "x": n.position["x"] / SCALE, "y": n.position["y"] / SCALE} for n in result.nodes]
    got_edges = [{"source": e.source, "target": e.target} for e in result.edges]
    new_spec = apply_flow(spec, got_nodes, got_edges)
    moved = _only_moves(spec, new_spec)
    change = CanvasChange()
    if new_spec != spec:
        change.spec = new_spec
        ss[k_sync] = version + 1  # the caller stores it as the next version: what the canvas shows
        if moved:
            ss[k_ver] = version + 1  # positions only: the canvas already shows them, no redraw
    # A click on a layer selects it. The component also reports "nothing selected" after every
    # redraw and drag, so None never clears the selection (the side panel can).
    sel = result.selected_id
    if sel and any(n["id"] == sel for n in got_nodes):
        change.selected, change.selection_changed = sel, sel != selected
    else:
        change.selected = selected
    if change.spec is None and not change.selection_changed:
        return None
    return change


def _only_moves(old: dict, new: dict) -> bool:
    if old == new:
        return False
    strip = lambda s: [{k: v for k, v in n.items() if k != "ui"} for n in s.get("nodes", [])]  # noqa: E731
    return strip(old) == strip(new) and old.get("outputs") == new.get("outputs")
