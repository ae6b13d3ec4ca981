"""The Build page in a real browser: make a branching model on the canvas by clicks and drags."""
from __future__ import annotations

import re

from playwright.sync_api import expect

expect.set_options(timeout=30_000)  # the canvas redraws a moment after the page's run ends



def _node(page, node_id: str):
    return page.locator(f".react-flow__node[data-id='{node_id}']")


def _drag(page, source, target) -> None:
    """Drag with the mouse from one handle to another (React Flow needs real pointer moves)."""
    a, b = source.bounding_box(), target.bounding_box()
    page.mouse.move(a["x"] + a["width"] / 2, a["y"] + a["height"] / 2)
    page.mouse.down()
    for i in range(1, 11):
        t = i / 10
        page.mouse.move(a["x"] + (b["x"] - a["x"]) * t + b["width"] / 2 * t + a["width"] / 2 * (1 - t),
                        a["y"] + (b["y"] - a["y"]) * t + b["height"] / 2 * t + a["height"] / 2 * (1 - t))
        page.wait_for_timeout(30)
    page.mouse.up()


def test_build_a_residual_branch_on_the_canvas(page, app_url, screenshot, idle):
    page.goto(app_url)
    _node(page, "image").wait_for(timeout=180_000)  # the first run imports TensorFlow
    idle(page)
    screenshot(page, "build-01-first-visit")

    # start from the playground template
    page.get_by_role("combobox", name="Start from a template").click()
    page.get_by_role("option", name=re.compile("Playground MLP")).click()
    page.get_by_role("button", name="Load", exact=True).click()
    _node(page, "hidden2").wait_for()
    idle(page)

    # select hidden1 on the canvas, then add an Add layer from the palette: it connects to hidden1
    _node(page, "hidden1").click()
    page.get_by_text("hidden1 · Dense").wait_for()
    idle(page)
    page.get_by_role("button", name="Merge").click()
    page.get_by_role("button", name="Add", exact=True).click()
    add = _node(page, "add_1")
    add.wait_for()
    idle(page)
    page.keyboard.press("Escape")  # close the palette pop-over
    assert "add_1" in add.inner_text()

    # drag hidden2's output dot onto add_1's box (anywhere on it): a residual-style merge with two ordered inputs
    _drag(page, _node(page, "hidden2").locator(".react-flow__handle.source"), add.locator(".ll-type"))
    page.get_by_text("1 · hidden1").wait_for()
    page.get_by_text("2 · hidden2").wait_for()
    idle(page)
    expect(_node(page, "add_1")).to_contain_text("(None, 32)")  # live output shape on the node
    for order in ("1", "2"):  # input order shown on the edges into add_1
        expect(page.locator(".react-flow__edge-text", has_text=re.compile(f"^{order}$"))).to_have_count(1)
    screenshot(page, "build-02-branch")

    # make the branches disagree: hidden2 with 4 units cannot be added to hidden1's 32
    _node(page, "hidden2").click()
    page.get_by_text("hidden2 · Dense").wait_for()
    idle(page)
    units = page.get_by_role("spinbutton", name="units")
    units.fill("4")
    units.press("Enter")
    page.get_by_text("The model cannot be built yet").wait_for()
    idle(page)
    expect(_node(page, "add_1")).to_contain_text("⚠")  # the error sits on the offending node
    # the list under the canvas names the node and what is wrong
    expect(page.locator("[data-testid='stMarkdownContainer']", has_text="add_1: Add needs inputs of the same shape")
           .first).to_be_visible()
    screenshot(page, "build-03-error-on-node")

    # undo brings back the valid model
    page.get_by_role("button", name="Undo").click()
    # the model builds again (add_1 is a second output, so training still asks for one output)
    page.get_by_text(re.compile("Ready to train|Valid model")).first.wait_for()
    idle(page)
    expect(_node(page, "add_1")).not_to_contain_text("⚠")  # the canvas redraws from the restored spec
    expect(_node(page, "add_1")).to_contain_text("(None, 32)")
    screenshot(page, "build-04-after-undo")
