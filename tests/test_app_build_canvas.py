"""The canvas mapping spec ⇄ React Flow elements, without a browser."""
from __future__ import annotations

from ui import canvas, edits
from ui.feedback import Feedback

SPEC = {
    "format": "layerlab/model@1", "name": "res",
    "nodes": [
        {"id": "x", "type": "Input", "params": {"shape": [8]}},
        {"id": "a", "type": "Dense", "params": {"units": 8}, "inputs": ["x"]},
        {"id": "b", "type": "Dense", "params": {"units": 8}, "inputs": ["a"]},
        {"id": "sum", "type": "Add", "inputs": ["a", "b"]},
    ],
}
FB = Feedback(ok=False, problems=[("b", "something is wrong")], shapes={"x": (None, 8), "a": (None, 8)},
              params={"x": 0, "a": 72})


def _flow(spec):
    nodes, edges = canvas.flow_elements(spec, FB)
    return ([{"id": n["id"], "x": n["x"], "y": n["y"]} for n in nodes],
            [{"source": e["source"], "target": e["target"]} for e in edges])


def test_elements_show_shapes_params_errors_and_input_order():
    nodes, edges = canvas.flow_elements(SPEC, FB, selected="a")
    by_id = {n["id"]: n for n in nodes}
    assert "(None, 8)" in by_id["a"]["content"] and "72 params" in by_id["a"]["content"]
    assert "something is wrong" in by_id["b"]["content"]
    assert by_id["b"]["style"]["border"] == canvas.ERROR_STYLE["border"]
    assert by_id["x"]["kind"] == "input" and by_id["a"]["selected"]
    labels = {(e["source"], e["target"]): e["label"] for e in edges}
    assert labels[("a", "sum")] == "1" and labels[("b", "sum")] == "2"
    assert labels[("x", "a")] == ""  # single-input layers need no number


def test_auto_layout_puts_each_node_right_of_its_inputs():
    pos = canvas.positions(SPEC)
    assert pos["x"][0] < pos["a"][0] < pos["b"][0] < pos["sum"][0]
    assert len(set(pos.values())) == 4


def test_unchanged_canvas_leaves_the_spec_alone():
    nodes, edges = _flow(SPEC)
    assert canvas.apply_flow(SPEC, nodes, edges) == SPEC


def test_move_stores_the_position():
    nodes, edges = _flow(SPEC)
    nodes[1]["x"] += 50
    new = canvas.apply_flow(SPEC, nodes, edges)
    assert new["nodes"][1]["ui"] == {"x": round(nodes[1]["x"]), "y": round(nodes[1]["y"])}
    assert "ui" not in new["nodes"][0]


def test_new_edge_appends_to_the_target_inputs_in_order():
    nodes, edges = _flow(SPEC)
    edges.append({"source": "x", "target": "sum"})
    new = canvas.apply_flow(SPEC, nodes, edges)
    assert new["nodes"][3]["inputs"] == ["a", "b", "x"]


def test_removed_edge_and_node_disappear_from_the_spec():
    nodes, edges = _flow(SPEC)
    edges = [e for e in edges if (e["source"], e["target"]) != ("a", "sum")]
    new = canvas.apply_flow(SPEC, nodes, edges)
    assert new["nodes"][3]["inputs"] == ["b"]
    nodes = [n for n in nodes if n["id"] != "b"]
    edges = [e for e in edges if "b" not in (e["source"], e["target"])]
    new = canvas.apply_flow(SPEC, nodes, edges)
    assert [n["id"] for n in new["nodes"]] == ["x", "a", "sum"]
    assert "inputs" not in new["nodes"][2]


def test_place_new_avoids_existing_nodes():
    spot = canvas.place_new(SPEC, "a")
    taken = canvas.positions(SPEC).values()
    assert all(abs(spot["x"] - x) > 1 or abs(spot["y"] - y) > 1 for x, y in taken)
    assert spot["x"] > canvas.positions(SPEC)["a"][0]


def test_edits_ids_rename_and_input_order():
    assert edits.new_id(SPEC, "MultiHeadAttention") == "multi_head_attention_1"
    assert edits.new_id({"nodes": [{"id": "dense_1"}]}, "Dense") == "dense_2"
    renamed = edits.rename_node(SPEC, "a", "first")
    assert renamed["nodes"][3]["inputs"] == ["first", "b"] and renamed["nodes"][2]["inputs"] == ["first"]
    assert edits.move_input(SPEC, "sum", 0, +1)["nodes"][3]["inputs"] == ["b", "a"]
    assert SPEC["nodes"][3]["inputs"] == ["a", "b"]  # edits never change their argument


def test_every_family_has_its_own_colour():
    from builder import catalog

    assert set(canvas.FAMILY_COLOURS) == set(catalog.FAMILIES)
    assert len(set(canvas.FAMILY_COLOURS.values())) == len(canvas.FAMILY_COLOURS)
