"""A 4-trial sweep in a real browser: Start sweep on the Sweep page, the trials' curves and Optuna's plots
fill in while it runs, and the table ends with every trial's outcome."""
from __future__ import annotations

import re
import time

import pytest

PLOTS_JS = """() => Array.from(document.querySelectorAll('.js-plotly-plot')).map(p => (p.data || []).length)"""


def _plots(page) -> list[int]:
    try:
        return list(page.evaluate(PLOTS_JS))
    except Exception:  # noqa: BLE001 - a chart is being replaced right now
        return []


@pytest.mark.slow
def test_a_four_trial_sweep_fills_in_its_plots(page, app_url, screenshot, idle):
    page.goto(app_url)
    page.locator("[data-testid='stTopNavLink']").first.wait_for(timeout=180_000)
    idle(page)
    page.locator("[data-testid='stTopNavLink']", has_text="Train").click()
    epochs = page.get_by_role("spinbutton", name="epochs")
    epochs.wait_for(timeout=120_000)
    epochs.fill("3")  # short trials
    epochs.press("Tab")
    idle(page)
    page.locator("[data-testid='stTopNavLink']", has_text="Sweep").click()
    start = page.get_by_role("button", name="Start sweep")
    start.wait_for(timeout=120_000)
    trials = page.get_by_role("spinbutton", name="trials")
    trials.fill("4")
    trials.press("Tab")
    idle(page)
    screenshot(page, "sweep-01-form")
    start.click()
    seen, deadline = [], time.monotonic() + 400
    while time.monotonic() < deadline:
        plots = _plots(page)
        if plots and plots != (seen[-1] if seen else None):
            seen.append(plots)
        if page.get_by_text("The sweep has ended.").count() and len(plots) >= 2:
            break
        page.wait_for_timeout(500)
    screenshot(page, "sweep-02-done")
    page.locator("[data-testid='stDataFrame']").last.scroll_into_view_if_needed()
    idle(page)
    screenshot(page, "sweep-03-trials")  # the trials' table: run names, states, the score in words
    assert page.get_by_text("The sweep has ended.").count(), f"the sweep did not end (plots seen: {seen})"
    curves = _plots(page)[0]
    assert curves == 4  # one curve per trial
    assert any(0 < s[0] < 4 for s in seen)  # the curves filled in while it ran
    assert len(_plots(page)) >= 2  # Optuna's parallel coordinates beside the curves
    assert page.get_by_text(re.compile(r"4 of 4 trials")).count()
