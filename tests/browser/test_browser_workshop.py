"""Two students train at the same moment, each in their own browser context, and each watches their run live.

The same driver as `bench/bench_workshop.py` (which measures a class of ten); here only what must hold:
each student's page shows a curve point while their run is still training, and every epoch by the end.
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import bench_workshop as workshop  # noqa: E402

EPOCHS = 12


@pytest.mark.slow
def test_two_students_each_see_their_own_run_live(browser, app_url, app_runs_dir, screenshot):
    students = []
    for i in range(2):
        context = browser.new_context(viewport={"width": 1366, "height": 768})
        page = context.new_page()
        page.set_default_timeout(120_000)
        workshop.open_train_page(page, app_url)  # a deep link: the Train page straight away
        workshop.set_epochs(page, EPOCHS)
        students.append(workshop.Student(page, f"student {i + 1}"))
    for s in students:
        s.page.get_by_role("button", name="Train", exact=True).click(no_wait_after=True)
    files = workshop.watch_class(students, app_runs_dir, EPOCHS, timeout_s=300)
    for i, s in enumerate(students):
        screenshot(s.page, f"workshop-student-{i + 1}")
    run_ids = [s.run_id for s in students]
    assert None not in run_ids and len(set(run_ids)) == 2, run_ids  # each watches their own run
    for s in students:
        run = files[s.run_id]
        assert run.ended_at is not None, f"{s.name}'s run did not end"
        assert s.finished_seen is not None, f"{s.name} never saw 'Training finished'"
        first = min(s.points_at.values())
        assert first < run.ended_at, f"{s.name} saw no curve point while the run trained"
        assert len(s.points_at) == EPOCHS, f"{s.name} saw {len(s.points_at)} of {EPOCHS} epochs"
