"""bench/bench_load.py's protocol client against the test server: two simulated students (no browser: the
websocket and protobuf messages a browser sends) load a template, reopen their workspace by its link, set the
epochs and press Train; each page then shows its own run, trained with the epochs that student typed."""
from __future__ import annotations

import asyncio
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import bench_load as load  # noqa: E402

EPOCHS = 1
BADGE = ("queued", "running", "completed")


async def class_of_two(url: str) -> list[tuple[load.Student, load.Tab, list[str]]]:
    timings = load.Timings()
    students = [load.Student(f"student {i}") for i in (1, 2)]
    tabs = await asyncio.gather(*(load.prepare(s, url, timings, EPOCHS) for s in students))
    try:
        await asyncio.gather(*(tab.press("Train") for tab in tabs))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not all(tab.run_id() for tab in tabs):
            await asyncio.sleep(0.1)
        return [(s, tab, tab.texts()) for s, tab in zip(students, tabs, strict=True)]
    finally:
        await asyncio.gather(*(tab.close() for tab in tabs))


@pytest.mark.slow
def test_two_simulated_students_each_start_their_own_run(app_url, app_runs_dir):
    # A loop of its own on a thread: the browser tests' Playwright keeps an event loop running on this one.
    with ThreadPoolExecutor(1) as pool:
        seen = pool.submit(asyncio.run, class_of_two(app_url)).result()
    run_ids = [tab.run_id() for _, tab, _ in seen]
    assert all(run_ids) and len(set(run_ids)) == 2, [texts for _, _, texts in seen]
    workspaces = {s.workspace for s, _, _ in seen}
    assert len(workspaces) == 2 and None not in workspaces  # each fresh visit got a workspace of its own
    for (student, tab, texts), run_id in zip(seen, run_ids, strict=True):
        assert not tab.errors and not student.errors, (tab.errors, student.errors)
        header = next(t for t in texts if t.startswith("#### ") and "—" in t)  # "#### MLP on digits · 1 — badge"
        assert any(word in header for word in BADGE), header
        experiment = json.loads((app_runs_dir / run_id / "experiment.json").read_text())
        assert experiment["training"]["epochs"] == EPOCHS  # the value typed into the epochs box travelled
        assert experiment["model"]["name"] == "seed-mlp"  # the template loaded on the Build page
