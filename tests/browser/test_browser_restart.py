"""A server killed mid-run (its whole process group, kill -9) and started again finishes the run.

The student's Train page, opened again from the workspace link, says the run
was resumed after a server restart and follows it to the end; the run folder
holds every epoch exactly once.
"""
from __future__ import annotations

import os
import re
import signal
import time

import pytest
from playwright.sync_api import expect

from builder.store import runfolder

EPOCHS = 30


def _metrics(runs) -> list[dict]:
    folders = [p for p in runs.iterdir() if p.is_dir()] if runs.exists() else []
    return runfolder.read_jsonl(folders[0] / runfolder.METRICS) if folders else []


@pytest.mark.slow
def test_a_run_survives_a_killed_and_restarted_server(page, tmp_path, launch, screenshot, idle):
    proc, url = launch(tmp_path, start_new_session=True)  # its own process group: server and workers
    port = url.rsplit(":", 1)[1]
    try:
        page.goto(url)
        page.locator("[data-testid='stTopNavLink']").first.wait_for(timeout=180_000)
        idle(page)
        page.locator("[data-testid='stTopNavLink']", has_text="Train").click()
        train = page.get_by_role("button", name="Train", exact=True)
        train.wait_for(timeout=120_000)
        idle(page)
        epochs = page.get_by_role("spinbutton", name="epochs")
        epochs.fill(str(EPOCHS))
        epochs.press("Tab")
        idle(page)
        train.click()
        runs = tmp_path / "runs"
        deadline = time.monotonic() + 240
        while len(_metrics(runs)) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert 2 <= len(_metrics(runs)) < EPOCHS, "the run did not train"
        link = page.url  # the workspace link (?ws=…) brings the student back to the same run
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
    except BaseException:
        os.killpg(proc.pid, signal.SIGKILL)
        raise
    proc, url = launch(tmp_path, port=int(port), start_new_session=True)
    try:
        page.goto(link)
        page.get_by_text("resumed after a server restart").first.wait_for(timeout=120_000)
        screenshot(page, "restart-01-resumed")
        expect(page.locator("h4").filter(has_text="MLP on digits").first).to_contain_text(
            re.compile("completed"), timeout=300_000)
        idle(page)
        screenshot(page, "restart-02-finished")
        assert [row["epoch"] for row in _metrics(runs)] == list(range(1, EPOCHS + 1))  # each epoch exactly once
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(20)
