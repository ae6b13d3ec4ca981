"""The canvas as a new student meets it, in a real browser: readable at the first fit, a model built from
an empty start with palette clicks alone, quick deletions that all count, the right-click menu, and Train
within reach on a laptop screen."""
from __future__ import annotations

import re

from playwright.sync_api import expect

expect.set_options(timeout=30_000)

MIN_TEXT_PX = 12  # the bar for text and handles on screen at the initial fit


def _node(page, node_id: str):
    return page.locator(f".react-flow__node[data-id='{node_id}']")


def _ids(page) -> list[str]:
    return sorted(page.locator(".react-flow__node").evaluate_all("els => els.map(e => e.dataset.id)"))


def _edges(page) -> set[tuple[str, str]]:
    ids = page.locator(".react-flow__edge").evaluate_all("els => els.map(e => e.dataset.id)")
    return {tuple(i.split("#")[0].split("->")) for i in ids}


def _add(page, family: str, layer: str, idle) -> None:
    page.get_by_role("button", name=family, exact=True).click()
    page.get_by_role("button", name=layer, exact=True).click()
    idle(page)
    page.keyboard.press("Escape")  # close the palette pop-over


def _load_spec(page, app_url, spec: dict, path, first: str, idle) -> None:
    """Open Build, load `spec` from a file through Save / load, and wait on the canvas for its node `first`."""
    import json

    path.write_text(json.dumps(spec))
    page.goto(f"{app_url}/build")
    _node(page, "image").wait_for(timeout=180_000)
    idle(page)
    page.get_by_text("Save / load").click()
    page.locator("[data-testid='stFileUploader']").first.locator("input[type='file']").set_input_files(str(path))
    page.get_by_role("button", name="Load this file").click()
    page.get_by_text(f"Loaded the model from {path.name}").wait_for()
    page.get_by_text("Canvas", exact=True).click()
    _node(page, first).wait_for()
    idle(page)


def _selected(page, node_id: str) -> None:
    page.locator("h4", has_text=re.compile(f"^{node_id} ·")).wait_for()


def test_readable_at_the_first_fit(page, app_url, screenshot, idle):
    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(f"{app_url}/build")
    _node(page, "image").wait_for(timeout=180_000)
    idle(page)
    page.wait_for_timeout(500)  # the view fits a moment after the first drawing
    sizes = page.evaluate("""() => {
        const zoom = parseFloat(document.querySelector('.react-flow__viewport').style.transform.match(/scale\\(([^)]+)\\)/)[1]);
        const texts = [...document.querySelectorAll('.ll-node div')].map(d => parseFloat(getComputedStyle(d).fontSize) * zoom);
        const handles = [...document.querySelectorAll('.react-flow__handle')].map(h => h.getBoundingClientRect().width);
        const pane = document.querySelector('.react-flow').getBoundingClientRect();
        const inside = [...document.querySelectorAll('.react-flow__node')].every(n => {
            const r = n.getBoundingClientRect();
            return r.top >= pane.top - 1 && r.bottom <= pane.bottom + 1 && r.left >= pane.left && r.right <= pane.right;
        });
        return {zoom, smallestText: Math.min(...texts), smallestHandle: Math.min(...handles), inside};
    }""")
    screenshot(page, "canvas-01-first-fit")
    assert sizes["smallestText"] >= MIN_TEXT_PX, sizes
    assert sizes["smallestHandle"] >= MIN_TEXT_PX, sizes
    assert sizes["inside"], f"the first-visit model does not fit the canvas: {sizes}"
    # every family's colour is explained next to the canvas
    for family in ("core", "convolution", "regularization"):
        expect(page.get_by_text(family, exact=True).first).to_be_visible()


def test_build_the_digits_mlp_from_empty_by_clicks_then_delete_quickly(page, app_url, screenshot, idle):
    page.goto(f"{app_url}/build")
    _node(page, "image").wait_for(timeout=180_000)
    idle(page)
    page.get_by_role("button", name="New model").click()
    _node(page, "output").wait_for()
    idle(page)
    assert _ids(page) == ["flatten", "input", "output"]
    assert _edges(page) == {("input", "flatten"), ("flatten", "output")}
    expect(page.locator("[data-testid='stSidebar']")).to_contain_text("my-model")
    screenshot(page, "canvas-02-new-model")

    # select the Flatten and add Dense, Dropout, Dense: each goes after the one before, before the output
    _node(page, "flatten").click()
    _selected(page, "flatten")
    _add(page, "Core", "Dense", idle)
    _node(page, "dense_1").wait_for()
    _selected(page, "dense_1")
    _add(page, "Core", "Dropout", idle)
    _node(page, "dropout_1").wait_for()
    _selected(page, "dropout_1")
    _add(page, "Core", "Dense", idle)
    _node(page, "dense_2").wait_for()
    idle(page)
    assert _edges(page) == {("input", "flatten"), ("flatten", "dense_1"), ("dense_1", "dropout_1"),
                            ("dropout_1", "dense_2"), ("dense_2", "output")}
    page.get_by_text(re.compile("Ready to train")).first.wait_for()
    screenshot(page, "canvas-03-digits-mlp-by-clicks")

    # the code's header describes these layers, not a template
    page.get_by_text("Python code").click()
    code = page.get_by_test_id("stMainBlockContainer").get_by_test_id("stCode")
    expect(code).to_contain_text('# Model "my-model" (MLP), exported by Layerlab.')
    expect(code).to_contain_text("# Layers: Input · shape [8, 8, 1] → Flatten → Dense · units 64, relu → Dropout · rate 0.5")
    page.get_by_text("Canvas", exact=True).click()
    _node(page, "dense_2").wait_for()
    idle(page)

    # two quick deletions by keyboard (the second before the first has come back): both count
    _node(page, "dense_2").click()
    page.keyboard.press("Delete")
    _node(page, "dropout_1").click()
    page.keyboard.press("Delete")
    expect(page.locator(".react-flow__node")).to_have_count(4)
    idle(page)
    page.wait_for_timeout(1500)  # both operations have reached the server and the canvas redrew from it
    idle(page)
    assert _ids(page) == ["dense_1", "flatten", "input", "output"]
    assert _edges(page) == {("input", "flatten"), ("flatten", "dense_1"), ("dense_1", "output")}
    screenshot(page, "canvas-04-after-quick-deletions")

    # right-click: Layerlab's own menu inserts a layer after this one
    _node(page, "dense_1").click(button="right")
    menu = page.locator(".ll-menu")
    expect(menu).to_contain_text("Settings")
    screenshot(page, "canvas-05-right-click-menu")
    menu.get_by_role("menuitem", name="Dropout").click()
    _node(page, "dropout_1").wait_for()
    idle(page)
    assert ("dense_1", "dropout_1") in _edges(page) and ("dropout_1", "output") in _edges(page)
    # and Undo takes it back
    page.get_by_role("button", name="Undo").click()
    expect(page.locator(".react-flow__node")).to_have_count(4)
    idle(page)

    # Shift-click two layers: one button deletes both, and the input joins the output
    _node(page, "flatten").click()
    _node(page, "dense_1").click(modifiers=["Shift"])
    page.get_by_role("button", name="Delete 2 selected layers").click()
    expect(page.locator(".react-flow__node")).to_have_count(2)
    idle(page)
    expect(page.locator(".react-flow__edge")).to_have_count(1)  # the joining edge is drawn once the server answers
    assert _ids(page) == ["input", "output"] and _edges(page) == {("input", "output")}


def test_train_is_in_view_on_a_laptop_screen(page, app_url, screenshot, idle):
    page.set_viewport_size({"width": 1366, "height": 768})
    page.goto(f"{app_url}/train")
    train = page.get_by_role("button", name="Train", exact=True)
    train.wait_for(timeout=180_000)
    idle(page)
    box = train.bounding_box()
    screenshot(page, "canvas-06-train-at-1366x768")
    assert box and box["y"] + box["height"] <= 768 and box["x"] + box["width"] <= 1366, box


def _blocks_spec(blocks: int = 4, per_block: int = 12) -> dict:
    """A valid digits model of `blocks` imported blocks (groups) of Dense layers: 50 layers in all."""
    nodes = [{"id": "image", "type": "Input", "params": {"shape": [8, 8, 1]}},
             {"id": "flat", "type": "Flatten", "inputs": ["image"]}]
    previous = "flat"
    for b in range(1, blocks + 1):
        for i in range(1, per_block + 1):
            nid = f"b{b}_dense_{i}"
            nodes.append({"id": nid, "type": "Dense", "params": {"units": 8, "activation": "relu"},
                          "inputs": [previous], "group": f"block_{b}"})
            previous = nid
    nodes.append({"id": "probs", "type": "Dense", "params": {"units": 10, "activation": "softmax"},
                  "inputs": [previous]})
    return {"format": "layerlab/model@1", "name": "deep-blocks", "nodes": nodes}


def test_a_big_model_opens_as_blocks_with_a_minimap_and_search(page, app_url, screenshot, idle, tmp_path):
    _load_spec(page, app_url, _blocks_spec(), tmp_path / "deep-blocks.json", "group:block_1", idle)
    # 50 layers: four closed blocks between the input and the output, and a minimap
    assert _ids(page) == ["flat", "group:block_1", "group:block_2", "group:block_3", "group:block_4", "image", "probs"]
    expect(_node(page, "group:block_2")).to_contain_text("block · 12 layers")
    assert ("group:block_1", "group:block_2") in _edges(page)
    expect(page.locator(".react-flow__minimap")).to_be_visible()
    screenshot(page, "canvas-07-big-model-as-blocks")

    # a click on a closed block opens it
    _node(page, "group:block_1").click()
    _node(page, "b1_dense_12").wait_for()
    assert "group:block_1" not in _ids(page)

    # search a layer by name: its block opens, the view goes there and the layer's settings open
    search = page.get_by_placeholder("Find a layer…")
    search.fill("b3_dense_5")
    search.press("Enter")
    _selected(page, "b3_dense_5")
    expect(_node(page, "b3_dense_5")).to_be_in_viewport()
    assert "group:block_3" not in _ids(page) and "group:block_2" in _ids(page)  # the others stay closed
    screenshot(page, "canvas-08-search-focus")


def test_a_frozen_pretrained_base_is_marked_and_named_by_its_source(page, app_url, app_runs_dir, screenshot, idle,
                                                                     tmp_path, monkeypatch):
    import keras

    from builder.graph import pretrained

    monkeypatch.setenv("LAYERLAB_PRETRAINED_DIR", str(app_runs_dir.parent / "uploads" / "pretrained"))  # the server's
    inp = keras.Input((8, 8, 1))
    out = keras.layers.Conv2D(8, 3, padding="same", name="c2")(keras.layers.Conv2D(4, 3, padding="same", name="c1")(inp))
    keras.Model(inp, out).save(tmp_path / "digits CNN.keras")
    base_id = pretrained.store_file(tmp_path / "digits CNN.keras", title="digits CNN")
    spec = {"format": "layerlab/model@1", "name": "transfer", "nodes": [
        {"id": "image", "type": "Input", "params": {"shape": [8, 8, 1]}},
        {"id": "base", "type": "Pretrained", "params": {"model": base_id, "freeze": "from", "unfreeze_from": "c2"},
         "inputs": ["image"]},
        {"id": "gap", "type": "GlobalAveragePooling2D", "inputs": ["base"]},
        {"id": "probs", "type": "Dense", "params": {"units": 10, "activation": "softmax"}, "inputs": ["gap"]}]}
    page.set_viewport_size({"width": 1366, "height": 768})
    _load_spec(page, app_url, spec, tmp_path / "transfer.json", "base", idle)
    base = _node(page, "base")
    expect(base.locator(".ll-node")).to_have_class(re.compile(r"\bll-frozen\b"))
    expect(base.locator(".ll-frozen-tag")).to_have_text("frozen before c2")
    expect(base.locator(".ll-frozen-tag")).to_be_visible()
    expect(base.locator(".ll-type")).to_have_text("Pretrained · digits CNN")
    assert "ll-frozen" not in (_node(page, "gap").locator(".ll-node").get_attribute("class") or "")
    # its settings pick the layer to unfreeze from among the base's own
    base.click()
    _selected(page, "base")
    idle(page)
    screenshot(page, "canvas-09-frozen-base")
    unfreeze_from = page.get_by_role("combobox", name="unfreeze from")
    unfreeze_from.scroll_into_view_if_needed()  # below the fold at 768 px: scroll first, let the page settle, then open
    idle(page)
    unfreeze_from.click()
    expect(page.get_by_role("option")).to_have_text(["c1", "c2"])  # the base's own layers, nothing to type
    screenshot(page, "canvas-10-unfreeze-from-choices")
