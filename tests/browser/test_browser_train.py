"""Train → watch → stop → explain, in a real browser against `streamlit run app.py`.

One run of the first-visit model on the built-in digits: its live curve gains
points while it trains, Stop ends it as `stopped` (model kept), and the
Explain page shows saliency maps of that run.
"""
from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect

POINTS_JS = """() => {
  const plot = document.querySelector('.js-plotly-plot');
  return plot && plot.data && plot.data.length ? plot.data[0].y.length : 0;
}"""


def _nav(page, name: str) -> None:
    """Click a page in app.py's top navigation (url paths are the lower-case titles)."""
    page.locator("[data-testid='stTopNavLink']", has_text=name).click()


def _points(page) -> int:
    try:
        return int(page.evaluate(POINTS_JS))
    except Exception:  # noqa: BLE001 - the chart is being replaced right now
        return 0


def _wait_points(page, at_least: int, timeout_s: float) -> list[int]:
    """Poll the live curve; returns every point count seen until `at_least` is reached."""
    seen, deadline = [], time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        n = _points(page)
        if not seen or n != seen[-1]:
            seen.append(n)
        if n >= at_least:
            return seen
        page.wait_for_timeout(250)
    raise AssertionError(f"the live curve reached only {seen[-1] if seen else 0} points (saw {seen})")


@pytest.mark.slow
def test_train_watch_stop_and_explain(page, app_url, screenshot, idle):
    page.goto(app_url)
    page.locator("[data-testid='stTopNavLink']").first.wait_for(timeout=180_000)  # app.py's navigation is up
    idle(page)
    _nav(page, "Train")
    train = page.get_by_role("button", name="Train", exact=True)
    train.wait_for(timeout=120_000)
    idle(page)
    page.get_by_text(re.compile("training on (CPU|GPU)")).first.wait_for()  # the device line
    epochs = page.get_by_role("spinbutton", name="epochs")
    epochs.fill("200")  # far more than we wait for: the run is stopped by hand
    epochs.press("Tab")
    idle(page)
    screenshot(page, "train-01-form")
    assert train.is_enabled()

    clicked = time.monotonic()
    train.click()
    page.get_by_text(re.compile(r"Run `?\d{8}-\d{6}")).first.wait_for(timeout=30_000)
    # the run is named by what it is and how many this workspace has made; its id keeps the time
    expect(page.get_by_role("heading", name=re.compile(r"MLP on digits · 1"))).to_be_visible()
    # the worker starts (first time: imports the backend), then one point per epoch appears live
    seen = _wait_points(page, 1, timeout_s=150)
    print(f"click to first curve point: {time.monotonic() - clicked:.1f} s")  # shown with -s; not asserted
    screenshot(page, "train-02-first-epoch")
    seen += _wait_points(page, seen[-1] + 2, timeout_s=60)
    assert seen[-1] >= max(1, [n for n in seen if n > 0][0]) + 2, seen  # the curve grew while we watched
    page.get_by_text("Where the model looks").wait_for(timeout=30_000)  # live saliency of the probes
    screenshot(page, "train-03-live")

    page.get_by_role("button", name="Stop", exact=True).click()
    page.get_by_text(re.compile(r"^Stopped")).wait_for(timeout=60_000)
    idle(page)
    assert page.locator("h4").filter(has_text="MLP on digits").first.inner_text().rstrip().endswith("stopped")  # the badge
    expect(page.get_by_role("button", name="Train", exact=True)).to_be_enabled(timeout=30_000)  # full rerun
    stopped_at = _points(page)
    page.wait_for_timeout(2500)
    assert _points(page) == stopped_at  # no more epochs after the stop
    screenshot(page, "train-04-stopped")

    _nav(page, "Explain")
    page.get_by_text("test accuracy").wait_for(timeout=90_000)  # the metric cards of the stopped run
    idle(page)
    screenshot(page, "train-05-results")
    page.locator("[data-testid='stButtonGroup']").get_by_text("Saliency maps", exact=True).click()
    page.get_by_text("Vanilla gradient", exact=True).first.wait_for(timeout=90_000)
    captions = page.get_by_text(re.compile(r"^true \d+ · predicted \d+$")).filter(visible=True)
    captions.first.wait_for(timeout=90_000)
    idle(page)
    # the gallery's 4 test inputs (the Results view's mistakes leave once the view has switched)
    expect(captions).to_have_count(4, timeout=90_000)
    gallery = page.locator("[data-testid='stImage']").filter(visible=True)
    expect(gallery.nth(4 * 3 - 1)).to_be_visible(timeout=90_000)  # each input beside at least two saliency overlays
    assert page.locator("[data-testid='stException']").count() == 0
    screenshot(page, "train-06-saliency")

    _nav(page, "Runs")
    page.locator("[data-testid='stDataFrame']").wait_for(timeout=60_000)
    page.get_by_text("Compare").first.wait_for()
    idle(page)
    assert page.locator("[data-testid='stException']").count() == 0
    screenshot(page, "train-07-runs")
