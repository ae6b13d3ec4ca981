"""The Train form in a real browser: every label and value readable on a laptop screen, and a value out of range
shown as a problem (Train disabled, sidebar count) until its one-click fix.

Screenshots: test-artifacts/train-form-<width>x<height>.png, train-form-problem.png, train-form-fixed.png.
"""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

SIZES = [(1024, 768), (1366, 768), (1440, 900)]

# Every text of the settings column that its box cuts off: a label or value wider than the element showing it
# (an ellipsis or a hidden overflow), or an element that reaches past the column's right edge.
CLIPPED_JS = """(column) => {
  const edge = column.getBoundingClientRect().right + 1;
  const clipped = [];
  for (const el of column.querySelectorAll('*')) {
    const own = el.tagName === 'INPUT' ? el.value
      : [...el.childNodes].filter(n => n.nodeType === 3).map(n => n.textContent).join('').trim();
    const box = el.getBoundingClientRect();
    if (!own || box.width === 0) continue;
    if (el.scrollWidth > el.clientWidth + 1 || box.right > edge) clipped.push(own);
  }
  return clipped;
}"""


def _train_page(page, app_url, idle, width: int, height: int):
    page.set_viewport_size({"width": width, "height": height})
    page.goto(f"{app_url}/train")
    page.locator("[data-testid='stTopNavLink']").first.wait_for(timeout=180_000)
    page.get_by_role("button", name="Train", exact=True).wait_for(timeout=120_000)
    idle(page)
    # the settings column: the outer column that holds the form (the Train/Stop buttons sit in inner ones)
    return page.locator("[data-testid='stColumn']").filter(has=page.locator(".st-key-hp_epochs")).first


@pytest.mark.parametrize("width,height", SIZES)
def test_no_label_or_value_of_the_train_form_is_cut_off(page, app_url, screenshot, idle, width, height):
    column = _train_page(page, app_url, idle, width, height)
    screenshot(page, f"train-form-{width}x{height}")
    column.get_by_text("stop early when validation stops improving").click()  # with its two fields
    idle(page)
    column.get_by_text("Advanced settings").click()  # its fields are measured too
    idle(page)
    labels = column.locator("[data-testid='stWidgetLabel']").all_inner_texts()
    assert {"learning rate", "batch size", "loss", "metrics", "watch", "L2 penalty (weight decay)"} <= set(labels)
    screenshot(page, f"train-form-{width}x{height}-advanced")
    assert column.evaluate(CLIPPED_JS) == []


def test_a_value_out_of_range_is_a_problem_until_its_fix_and_the_sidebar_follows(page, app_url, screenshot, idle):
    column = _train_page(page, app_url, idle, 1366, 768)
    sidebar = page.locator("[data-testid='stSidebar']")
    expect(sidebar.get_by_text("Ready to train")).to_be_visible()
    rate = column.locator(".st-key-hp_learning_rate input")
    rate.fill("100")
    rate.press("Enter")
    idle(page)
    expect(column.get_by_text("'learning_rate' must be at most 10.0, got 100.0")).to_be_visible()
    expect(page.get_by_role("button", name="Train", exact=True)).to_be_disabled()
    expect(rate).to_have_value("100.00000")  # the box keeps what the run would get: nothing changed silently
    expect(sidebar.get_by_text("1 problem(s) before training")).to_be_visible()
    screenshot(page, "train-form-problem")
    assert column.evaluate(CLIPPED_JS) == []  # the problem and its fix button are readable too
    column.get_by_role("button", name="Set learning rate 0.005").click()
    idle(page)
    expect(sidebar.get_by_text("Ready to train")).to_be_visible()
    expect(rate).to_have_value("0.00500")
    expect(page.get_by_role("button", name="Train", exact=True)).to_be_enabled()
    screenshot(page, "train-form-fixed")
