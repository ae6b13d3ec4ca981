"""Two students train at the same moment, each in their own browser context, and each watches their run live.

bench/bench_workshop.py times a class of ten the same way; here only what must hold: each student's page shows
a curve point while their run is still training, and every epoch by the end.
"""
from __future__ import annotations

import json
import re
import time

import pytest

EPOCHS = 12
POINTS_JS = """() => {
  const plot = document.querySelector('.js-plotly-plot');
  return plot && plot.data && plot.data.length ? plot.data[0].y.length : 0;
}"""
RUN_ID_JS = r"""() => {
  const line = [...document.querySelectorAll('[data-testid="stCaptionContainer"]')].map(e => e.innerText)
    .find(t => /^Run \d{8}-\d{6}/.test(t));  // under the run's name: "Run 20261126-…"
  return line ? line.split(' ')[1].replace(/`/g, '') : null;
}"""


def _open_train_page(browser, url: str, epochs: int):
    page = browser.new_context(viewport={"width": 1366, "height": 768}).new_page()
    page.set_default_timeout(120_000)
    page.goto(f"{url}/train")  # a deep link: the Train page straight away
    page.get_by_role("button", name="Train", exact=True).wait_for(timeout=180_000)
    page.get_by_text(re.compile("training on (CPU|GPU)")).first.wait_for(timeout=120_000)
    box = page.get_by_role("spinbutton", name="epochs")
    box.fill(str(epochs))
    box.press("Tab")
    page.wait_for_timeout(500)
    return page


def _glance(page) -> tuple[str | None, int, bool]:
    """(run id, curve points, says finished) of one page; (None, 0, False) while it redraws."""
    try:
        return (page.evaluate(RUN_ID_JS), int(page.evaluate(POINTS_JS)),
                page.evaluate("() => document.body.innerText.includes('Training finished')"))
    except Exception:  # noqa: BLE001 - the page is redrawing right now; look again next time
        return None, 0, False


def _ended(run_folder) -> bool:
    try:
        return json.loads((run_folder / "status.json").read_text()).get("status") in ("completed", "stopped", "failed")
    except (OSError, ValueError):  # not written yet, or being replaced
        return False


@pytest.mark.slow
def test_two_students_each_see_their_own_run_live(browser, app_url, app_runs_dir, screenshot):
    pages = [_open_train_page(browser, app_url, EPOCHS) for _ in range(2)]
    for page in pages:
        page.get_by_role("button", name="Train", exact=True).click(no_wait_after=True)
    run_ids, points, point_while_training, finished = [None, None], [0, 0], [False, False], [False, False]
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and not all(finished[i] and points[i] >= EPOCHS for i in range(2)):
        for i, page in enumerate(pages):
            run_id, n, done = _glance(page)
            run_ids[i] = run_ids[i] or run_id
            if n and run_ids[i] and not point_while_training[i]:
                point_while_training[i] = not _ended(app_runs_dir / run_ids[i])
            points[i], finished[i] = max(points[i], n), finished[i] or done
        time.sleep(0.05)
    for i, page in enumerate(pages):
        screenshot(page, f"workshop-student-{i + 1}")
    assert None not in run_ids and len(set(run_ids)) == 2, run_ids  # each watches their own run
    assert all(_ended(app_runs_dir / r) for r in run_ids)
    assert finished == [True, True], "a student never saw 'Training finished'"
    assert point_while_training == [True, True], "a student saw no curve point while the run trained"
    assert points == [EPOCHS, EPOCHS], f"the students saw {points} of {EPOCHS} epochs"
    for page in pages:
        page.context.close()
