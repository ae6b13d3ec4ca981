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


MAX_INPUTS = {"Input": 0, "Dense": 1, "Dropout": 1, "Add": None}


def _apply(*events, spec=SPEC, selected=None):
    seq = iter(range(1, 100))
    return canvas.apply_events(spec, [{"seq": next(seq), **e} for e in events], selected,
                               new_params=lambda t: {"rate": 0.5} if t == "Dropout" else {},
                               max_inputs=MAX_INPUTS.get)


def test_canvas_data_shows_shapes_params_errors_and_input_order():
    data = canvas.canvas_data(SPEC, FB, selected="a")
    by_id = {n["id"]: n for n in data["nodes"]}
    assert by_id["a"]["shape"] == "(None, 8) · 72 params" and by_id["a"]["detail"] == "units 8"
    assert by_id["b"]["problem"] == "something is wrong" and by_id["b"]["error"]
    assert by_id["x"]["kind"] == "input" and data["selected"] == "a"
    labels = {(e["source"], e["target"]): e["label"] for e in data["edges"]}
    assert labels[("a", "sum")] == "1" and labels[("b", "sum")] == "2"
    assert labels[("x", "a")] == ""  # single-input layers need no number


def test_structure_key_changes_with_connections_not_with_moves_or_settings():
    key = canvas.structure_key(SPEC)
    assert canvas.structure_key(_apply({"action": "move", "positions": {"a": {"x": 5, "y": 9}}}).spec) == key
    assert canvas.structure_key(edits.set_params(SPEC, "a", {"units": 99})) == key
    assert canvas.structure_key(_apply({"action": "connect", "source": "x", "target": "sum"}).spec) != key


def test_auto_layout_puts_each_node_below_its_inputs():
    pos = canvas.positions(SPEC)
    assert pos["x"][1] < pos["a"][1] < pos["b"][1] < pos["sum"][1]
    assert len(set(pos.values())) == 4


def test_selecting_changes_nothing_but_the_selection():
    out = _apply({"action": "select", "id": "b"})
    assert out.spec == SPEC and out.selected == "b" and not out.changed


def test_move_stores_the_position_of_the_moved_layer_only():
    out = _apply({"action": "move", "positions": {"a": {"x": 300.4, "y": 20}}})
    assert out.spec["nodes"][1]["ui"] == {"x": 300, "y": 20}
    assert "ui" not in out.spec["nodes"][0]


def test_connect_appends_to_a_merge_and_replaces_a_one_input_layer():
    out = _apply({"action": "connect", "source": "x", "target": "sum"})
    assert out.spec["nodes"][3]["inputs"] == ["a", "b", "x"] and not out.notices
    out = _apply({"action": "connect", "source": "x", "target": "b"})
    assert out.spec["nodes"][2]["inputs"] == ["x"]
    assert out.notices == ["'b' takes one input: it now takes 'x' instead of 'a'."]
    out = _apply({"action": "connect", "source": "a", "target": "x"})
    assert out.spec == SPEC and "Input" in out.notices[0]


def test_delete_removes_layers_and_cut_connections():
    out = _apply({"action": "delete", "nodes": [], "edges": [{"source": "a", "target": "sum", "index": 0}]})
    assert out.spec["nodes"][3]["inputs"] == ["b"]
    out = _apply({"action": "delete", "nodes": ["b"], "edges": []}, selected="b")
    assert [n["id"] for n in out.spec["nodes"]] == ["x", "a", "sum"]
    assert out.spec["nodes"][2]["inputs"] == ["a", "a"]  # b's place in the sum is taken by b's own input
    assert out.selected is None


def test_quick_successive_deletions_all_apply_and_a_repeat_is_refused_visibly():
    # three deletions sent before the canvas heard back: each names its layer, so none undoes another
    out = _apply({"action": "delete", "nodes": ["b"], "edges": []}, {"action": "delete", "nodes": ["a"], "edges": []},
                 {"action": "delete", "nodes": ["b"], "edges": []})
    assert [n["id"] for n in out.spec["nodes"]] == ["x", "sum"]
    assert out.notices == ["The layer 'b' is no longer in the model, so that delete was not applied."]


def test_insert_after_and_duplicate_from_the_menu():
    out = _apply({"action": "insert_after", "id": "a", "type": "Dropout"})
    drop = out.selected
    by_id = {n["id"]: n for n in out.spec["nodes"]}
    assert by_id[drop]["inputs"] == ["a"] and by_id[drop]["params"] == {"rate": 0.5}
    assert by_id["b"]["inputs"] == [drop] and by_id["sum"]["inputs"] == [drop, "b"]
    out = _apply({"action": "duplicate", "id": "b"})
    copy_ = {n["id"]: n for n in out.spec["nodes"]}[out.selected]
    assert out.selected == "dense_1" and copy_["inputs"] == ["a"] and copy_["params"] == {"units": 8}


def test_pending_events_are_the_unapplied_ones_in_order(monkeypatch):
    import streamlit as st

    monkeypatch.setattr(st, "session_state", {"canvas": {"events": [{"seq": 7, "action": "select"},
                                                                    {"seq": 5, "action": "move"},
                                                                    {"seq": 3, "action": "select"}]}})
    assert [e["seq"] for e in canvas.pending_events("canvas", 4)] == [5, 7]


def test_place_new_avoids_existing_nodes():
    spot = canvas.place_new(SPEC, "a")
    taken = canvas.positions(SPEC).values()
    assert all(abs(spot["x"] - x) > 1 or abs(spot["y"] - y) > 1 for x, y in taken)
    assert spot["y"] > canvas.positions(SPEC)["a"][1]


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


def test_a_big_model_without_blocks_is_grouped_by_keras_block_names():
    nodes = [{"id": "input_layer", "type": "Input", "params": {"shape": [8]}}]
    for block in range(1, 5):
        for step in range(1, 11):
            nodes.append({"id": f"conv2_block{block}_{step}_dense", "type": "Dense", "params": {"units": 4},
                          "inputs": [nodes[-1]["id"]]})
    nodes.append({"id": "predictions", "type": "Dense", "params": {"units": 2}, "inputs": [nodes[-1]["id"]]})
    data = canvas.canvas_data({"format": "layerlab/model@1", "name": "deep", "nodes": nodes}, FB)
    group_of = {n["id"]: n["group"] for n in data["nodes"]}
    assert group_of["conv2_block3_7_dense"] == "conv2_block3" and group_of["predictions"] is None
    assert data["collapsed"] == ["conv2_block1", "conv2_block2", "conv2_block3", "conv2_block4"]
    small = canvas.canvas_data(SPEC, FB)  # a small model is drawn as it is
    assert small["collapsed"] == [] and all(n["group"] is None for n in small["nodes"])


def test_a_pretrained_base_is_named_by_its_source_and_marked_frozen(tmp_path, monkeypatch):
    import keras

    from builder import pretrained

    monkeypatch.setenv("LAYERLAB_PRETRAINED_DIR", str(tmp_path / "store"))
    inp = keras.Input((8, 8, 1))
    keras.Model(inp, keras.layers.Conv2D(4, 3, name="c1")(inp)).save(tmp_path / "shapes CNN.keras")
    base_id = pretrained.store_file(tmp_path / "shapes CNN.keras", title="shapes CNN")
    spec = {"format": "layerlab/model@1", "name": "t", "nodes": [
        {"id": "image", "type": "Input", "params": {"shape": [8, 8, 1]}},
        {"id": "base", "type": "Pretrained", "params": {"model": base_id}, "inputs": ["image"]}]}
    seen = {}
    for freeze in ({}, {"freeze": "from", "unfreeze_from": "c1"}, {"freeze": "none"}):
        spec["nodes"][1]["params"] = {"model": base_id, **freeze}
        node = next(n for n in canvas.canvas_data(spec, FB)["nodes"] if n["id"] == "base")
        seen[freeze.get("freeze", "all")] = (node["detail"], node["frozen"])
    assert seen == {"all": ("shapes CNN", "frozen"), "from": ("shapes CNN", "frozen before c1"),
                    "none": ("shapes CNN · every layer learns", "")}  # "frozen": the tag on the box; "": none
    assert "pretrained:" not in str(seen)
