// Layerlab's graph canvas: React Flow drawn in the page (a Streamlit components-v2 component).
//
// The browser holds the view (positions while dragging, zoom, collapsed blocks, the search box);
// the server holds the model. Every change the student makes is sent as one small operation
// ("delete these layers", "connect a to b", "moved to x, y") naming layers by id, so an operation
// made while an earlier one is still on its way applies to the newer model instead of undoing it.
// Operations queue in `events` (a state value: a rerun that coalesces two sends still sees both)
// until the server's `ack` says they were applied.
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { createRoot } from "react-dom/client";
import {
  Background, Controls, Handle, MiniMap, Panel, Position, ReactFlow, ReactFlowProvider,
  applyEdgeChanges, applyNodeChanges, useReactFlow,
} from "@xyflow/react";
import "@xyflow/react/dist/style.css";
import "./canvas.css"; // built into static/canvas/canvas.css, loaded by ui/canvas.py

const MIN_READABLE_ZOOM = 0.86; // 14-15 px text and 16 px handles stay >= 12 px on screen
const MINIMAP_FROM = 12; // layers
const MENU_W = 210, MENU_H = 330; // px, the right-click menu's size

function LayerNode({ data, selected }) {
  return (
    <div className={`ll-node${data.error ? " ll-error" : ""}${data.frozen ? " ll-frozen" : ""}${selected ? " ll-selected" : ""}`}
         style={{ background: data.colour }} title={data.frozen || data.help || undefined}>
      {!data.isInput && <Handle type="target" position={Position.Top} className="ll-handle" />}
      {data.frozen && <span className="ll-frozen-tag">{data.frozen}</span>}
      <div className="ll-title">{data.id}</div>
      <div className="ll-type">{data.type}{data.detail ? ` · ${data.detail}` : ""}</div>
      {data.shape && <div className="ll-shape">{data.shape}</div>}
      {data.problem && <div className="ll-problem" title={data.problem}>⚠ {data.problem}</div>}
      <Handle type="source" position={Position.Bottom} className="ll-handle" />
    </div>
  );
}

function BlockNode({ data }) {
  return (
    <div className="ll-node ll-group" title="Click to open this block">
      <Handle type="target" position={Position.Top} className="ll-handle" isConnectable={false} />
      <div className="ll-title">▸ {data.label}</div>
      <div className="ll-type">block · {data.count} layers</div>
      <Handle type="source" position={Position.Bottom} className="ll-handle" isConnectable={false} />
    </div>
  );
}

const COL_W = 250, ROW_H = 110; // as ui/canvas.py lays out the spec

// Top-to-bottom layers for the graph as drawn with closed blocks: each box one row below its lowest input.
function layered(nodes, edges) {
  const inputs = new Map(nodes.map((n) => [n.id, []]));
  for (const e of edges) if (inputs.has(e.target)) inputs.get(e.target).push(e.source);
  const depth = new Map();
  const depthOf = (id, seen = new Set()) => {
    if (depth.has(id)) return depth.get(id);
    if (seen.has(id)) return 0; // a cycle: validation reports it
    seen.add(id);
    const d = Math.max(-1, ...(inputs.get(id) || []).map((i) => depthOf(i, seen))) + 1;
    depth.set(id, d);
    return d;
  };
  const perRow = new Map();
  for (const n of nodes) {
    const row = depthOf(n.id);
    const col = perRow.get(row) || 0;
    perRow.set(row, col + 1);
    n.position = { x: col * COL_W, y: row * ROW_H };
  }
  return nodes;
}

const NODE_TYPES = { layer: LayerNode, block: BlockNode }; // not "group": React Flow has its own of that name
const topGroup = (g) => (g ? g.split("/")[0] : null);

// The spec's nodes and edges as React Flow's, with collapsed blocks drawn as one box each.
function toFlow(data, collapsed, selected) {
  const hidden = new Map(); // layer id -> the block box standing for it
  const blocks = new Map();
  for (const n of data.nodes) {
    const g = topGroup(n.group);
    if (g && collapsed.has(g)) {
      hidden.set(n.id, `group:${g}`);
      const b = blocks.get(g) || { count: 0, x: n.x, y: n.y };
      b.count += 1;
      b.x = Math.min(b.x, n.x);
      b.y = Math.min(b.y, n.y);
      blocks.set(g, b);
    }
  }
  const nodes = data.nodes.filter((n) => !hidden.has(n.id)).map((n) => ({
    id: n.id, type: "layer", position: { x: n.x, y: n.y }, data: { ...n, isInput: n.kind === "input" },
    selected: selected.has(n.id),
  }));
  for (const [g, b] of blocks) {
    nodes.push({ id: `group:${g}`, type: "block", position: { x: b.x, y: b.y }, data: { label: g, count: b.count },
                 deletable: false });
  }
  const seen = new Set();
  const edges = [];
  for (const e of data.edges) {
    const source = hidden.get(e.source) || e.source;
    const target = hidden.get(e.target) || e.target;
    if (source === target) continue; // inside one closed block
    const id = source === e.source && target === e.target ? e.id : `${source}->${target}`;
    if (seen.has(id)) continue;
    seen.add(id);
    edges.push({
      id, source, target, label: e.label || undefined, markerEnd: { type: "arrowclosed" },
      deletable: id === e.id, data: { index: e.index },
      labelStyle: { fontWeight: 700, fontSize: 13 }, labelBgStyle: { fill: "#fff7d6" },
    });
  }
  return { nodes: blocks.size ? layered(nodes, edges) : nodes, edges };
}

function Menu({ menu, quick, onAction, onClose }) {
  if (!menu) return null;
  return (
    <div className="ll-menu" style={{ left: menu.x, top: menu.y }} onMouseLeave={onClose} role="menu">
      <div className="ll-menu-head">{menu.id}</div>
      <button role="menuitem" onClick={() => onAction({ action: "select", id: menu.id })}>Settings</button>
      <div className="ll-menu-sub">Insert after</div>
      <div className="ll-menu-types">
        {quick.map((t) => (
          <button key={t} role="menuitem" onClick={() => onAction({ action: "insert_after", id: menu.id, type: t })}>
            {t}
          </button>
        ))}
      </div>
      <button role="menuitem" onClick={() => onAction({ action: "duplicate", id: menu.id })}>Duplicate</button>
      <button role="menuitem" className="ll-danger"
              onClick={() => onAction({ action: "delete", nodes: [menu.id], edges: [] })}>Delete</button>
    </div>
  );
}

function Canvas({ data, bridge }) {
  const flow = useReactFlow();
  const wrapper = useRef(null);
  const [collapsed, setCollapsed] = useState(() => new Set(data.collapsed || []));
  const [selected, setSelected] = useState(() => new Set(data.selected ? [data.selected] : []));
  const [menu, setMenu] = useState(null);
  const [query, setQuery] = useState("");
  const [{ nodes, edges }, setGraph] = useState(() => toFlow(data, collapsed, selected));

  // A new model from the server (or a block opened/closed): draw it, keeping the local selection.
  useEffect(() => {
    setGraph(toFlow(data, collapsed, selected));
  }, [data, collapsed]); // eslint-disable-line react-hooks/exhaustive-deps
  // The server picked a layer (a new one was added, the side panel chose one): select it here too. When it is
  // already among the selected (the answer to this browser's own click), a Shift-click made since stays.
  useEffect(() => {
    if (data.selected) setSelected((s) => (s.has(data.selected) ? s : new Set([data.selected])));
  }, [data.selected, data.version]);
  useEffect(() => {
    setGraph((g) => ({ ...g, nodes: g.nodes.map((n) => ({ ...n, selected: selected.has(n.id) })) }));
  }, [selected]);
  // The view fits after every structural change (layers or connections added or removed).
  const focusing = useRef(false); // a search opened a block: go to the layer, not back to the top
  useEffect(() => {
    if (focusing.current) {
      focusing.current = false;
      return undefined;
    }
    const t = setTimeout(() => {
      const some = data.nodes.length > 30 ? data.nodes.slice(0, 8).map((n) => ({ id: n.id })) : undefined;
      flow.fitView({ nodes: some, padding: 0.06, minZoom: MIN_READABLE_ZOOM, maxZoom: 1.1 }).then(showTheTop);
    }, 30);
    return () => clearTimeout(t);
  }, [data.structure, collapsed, flow]);

  const send = useCallback((ev) => bridge.send(ev), [bridge]);
  // A model too tall to fit at a readable zoom starts at its inputs, not in its middle.
  const showTheTop = useCallback(() => {
    const { x, zoom } = flow.getViewport();
    const top = Math.min(...flow.getNodes().map((n) => n.position.y));
    if (flow.getNodesBounds(flow.getNodes()).height * zoom > wrapper.current.clientHeight) {
      flow.setViewport({ x, y: -top * zoom + 16, zoom });
    }
  }, [flow]);

  const onNodesChange = useCallback((changes) => {
    const kept = changes.filter((c) => c.type !== "remove" && c.type !== "select");
    setGraph((g) => ({ ...g, nodes: applyNodeChanges(kept, g.nodes) }));
    const sel = changes.filter((c) => c.type === "select");
    if (sel.length) {
      setSelected((s) => {
        const next = new Set(s);
        for (const c of sel) (c.selected ? next.add(c.id) : next.delete(c.id));
        return next;
      });
    }
  }, []);
  const onEdgesChange = useCallback((changes) => {
    setGraph((g) => ({ ...g, edges: applyEdgeChanges(changes.filter((c) => c.type !== "remove"), g.edges) }));
  }, []);
  const onNodeClick = useCallback((event, node) => {
    setMenu(null);
    if (node.type === "block") {
      setCollapsed((c) => { const n = new Set(c); n.delete(node.data.label); return n; });
      return;
    }
    // Shift/Ctrl-click gathers several layers here, for deleting together; the settings panel keeps its one
    if (!(event.shiftKey || event.ctrlKey || event.metaKey)) send({ action: "select", id: node.id });
  }, [send]);
  const onNodeDragStop = useCallback((_, __, dragged) => {
    const moves = {};
    for (const n of dragged) if (n.type === "layer") moves[n.id] = { x: n.position.x, y: n.position.y };
    if (Object.keys(moves).length) send({ action: "move", positions: moves });
  }, [send]);
  const connect = useCallback((source, target) => {
    if (!source || !target || source === target || source.startsWith("group:") || target.startsWith("group:")) return;
    setGraph((g) => ({ ...g, edges: [...g.edges, { id: `pending:${source}->${target}`, source, target,
                                                     markerEnd: { type: "arrowclosed" } }] }));
    send({ action: "connect", source, target });
  }, [send]);
  const onConnect = useCallback((c) => connect(c.source, c.target), [connect]);
  // Dropped on a layer's box rather than on its dot: connect to that layer all the same.
  const onConnectEnd = useCallback((event, state) => {
    if (state.isValid || !state.fromNode) return;
    const point = "changedTouches" in event ? event.changedTouches[0] : event;
    const under = document.elementFromPoint(point.clientX, point.clientY);
    const box = under && under.closest(".react-flow__node");
    if (!box) return;
    const other = box.getAttribute("data-id");
    if (state.fromHandle && state.fromHandle.type === "target") connect(other, state.fromNode.id);
    else connect(state.fromNode.id, other);
  }, [connect]);
  const onDelete = useCallback(({ nodes: gone, edges: cut }) => {
    const ids = gone.filter((n) => n.type === "layer").map((n) => n.id);
    const cutEdges = cut.filter((e) => !e.id.startsWith("pending:") && !ids.includes(e.target) && !ids.includes(e.source))
      .map((e) => ({ source: e.source, target: e.target, index: e.data ? e.data.index : null }));
    if (!ids.length && !cutEdges.length) return;
    setGraph((g) => ({
      nodes: g.nodes.filter((n) => !ids.includes(n.id)),
      edges: g.edges.filter((e) => !ids.includes(e.source) && !ids.includes(e.target) && !cut.some((c) => c.id === e.id)),
    }));
    setSelected(new Set());
    send({ action: "delete", nodes: ids, edges: cutEdges });
  }, [send]);
  const onNodeContextMenu = useCallback((event, node) => {
    event.preventDefault();
    if (node.type !== "layer") return;
    const box = wrapper.current.getBoundingClientRect();
    const x = Math.min(event.clientX - box.left, box.width - MENU_W);
    const y = Math.min(event.clientY - box.top, box.height - MENU_H); // opens upwards near the bottom edge
    setMenu({ id: node.id, x: Math.max(0, x), y: Math.max(0, y) });
  }, []);
  const onMenuAction = useCallback((ev) => {
    setMenu(null);
    if (ev.action === "delete") onDelete({ nodes: [{ id: ev.nodes[0], type: "layer" }], edges: [] });
    else send(ev);
  }, [send, onDelete]);

  const findLayer = useCallback((name) => {
    const hit = data.nodes.find((n) => n.id === name) ||
      data.nodes.find((n) => n.id.toLowerCase().includes(name.toLowerCase()));
    if (!hit) return;
    const g = topGroup(hit.group);
    if (g && collapsed.has(g)) {
      focusing.current = true;
      setCollapsed((c) => { const n = new Set(c); n.delete(g); return n; });
    }
    setTimeout(() => { // once its block is open and laid out: where it is drawn, not where the spec has it
      const drawn = flow.getNode(hit.id);
      const at = drawn ? drawn.position : { x: hit.x, y: hit.y };
      const w = drawn?.measured?.width ?? 210, h = drawn?.measured?.height ?? 70;
      flow.setCenter(at.x + w / 2, at.y + h / 2, { zoom: 1, duration: 300 });
    }, 60);
    setSelected(new Set([hit.id]));
    send({ action: "select", id: hit.id });
  }, [data.nodes, collapsed, flow, send]);

  const groups = useMemo(() => [...new Set(data.nodes.map((n) => topGroup(n.group)).filter(Boolean))], [data.nodes]);
  const selectedLayers = [...selected].filter((id) => data.nodes.some((n) => n.id === id));

  return (
    <div className="ll-wrap" ref={wrapper} style={{ height: data.height }} onContextMenu={(e) => e.preventDefault()}>
      <ReactFlow
        nodes={nodes} edges={edges} nodeTypes={NODE_TYPES}
        onNodesChange={onNodesChange} onEdgesChange={onEdgesChange}
        onNodeClick={onNodeClick} onNodeDragStop={onNodeDragStop} onPaneClick={() => setMenu(null)}
        onConnect={onConnect} onConnectEnd={onConnectEnd} onDelete={onDelete}
        onNodeContextMenu={onNodeContextMenu}
        deleteKeyCode={["Delete", "Backspace"]} multiSelectionKeyCode={["Shift", "Meta", "Control"]}
        selectionKeyCode={null}
        connectionRadius={36} minZoom={0.1} maxZoom={2} fitView
        fitViewOptions={{ padding: 0.06, minZoom: MIN_READABLE_ZOOM, maxZoom: 1.1 }}
        proOptions={{ hideAttribution: true }}
      >
        <Background gap={20} color="#e3e8ef" />
        <Controls showInteractive={false} />
        {data.nodes.length > MINIMAP_FROM && <MiniMap pannable zoomable nodeColor={(n) => (n.selected ? "#1a73e8" : "#9aa5b1")} />}
        <Panel position="top-left" className="ll-tools">
          <input className="ll-search" placeholder="Find a layer…" list="ll-layer-names" value={query}
                 aria-label="Find a layer by name"
                 onChange={(e) => setQuery(e.target.value)}
                 onKeyDown={(e) => { if (e.key === "Enter") findLayer(query.trim()); }} />
          <datalist id="ll-layer-names">{data.nodes.map((n) => <option key={n.id} value={n.id} />)}</datalist>
          {groups.length > 0 && (
            <button className="ll-btn" onClick={() => setCollapsed(collapsed.size ? new Set() : new Set(groups))}>
              {collapsed.size ? "Open all blocks" : "Close all blocks"}
            </button>
          )}
          {selectedLayers.length > 1 && (
            <button className="ll-btn ll-danger"
                    onClick={() => onDelete({ nodes: selectedLayers.map((id) => ({ id, type: "layer" })), edges: [] })}>
              Delete {selectedLayers.length} selected layers
            </button>
          )}
        </Panel>
      </ReactFlow>
      <Menu menu={menu} quick={data.quick || []} onAction={onMenuAction} onClose={() => setMenu(null)} />
    </div>
  );
}

// One React root per mounted canvas; each call from Streamlit brings new data.
const mounted = new WeakMap();
let lastSeq = 0;

export default function mount({ parentElement, data, setStateValue }) {
  let entry = mounted.get(parentElement);
  if (!entry) {
    const el = document.createElement("div");
    el.className = "ll-root";
    parentElement.appendChild(el);
    entry = { root: createRoot(el), pending: [], bridge: {} };
    mounted.set(parentElement, entry);
  }
  entry.pending = entry.pending.filter((e) => e.seq > (data.ack || 0));
  entry.bridge.send = (ev) => {
    lastSeq = Math.max(lastSeq + 1, Date.now() * 100);
    entry.pending.push({ ...ev, seq: lastSeq, version: data.version });
    setStateValue("events", entry.pending.slice());
  };
  entry.root.render(<ReactFlowProvider><Canvas data={data} bridge={entry.bridge} /></ReactFlowProvider>);
  return () => {
    entry.root.unmount();
    mounted.delete(parentElement);
  };
}
