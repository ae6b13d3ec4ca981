"""A class on one server, in real browser contexts: student A trains; student B sees neither A's run nor a
Stop for it, reloads and keeps their own model; the teacher sees both and stops A's run."""
from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import expect

RUN_HEADER = re.compile(r"Run `?\d{8}-\d{6}")


def _context(browser):
    page = browser.new_context(viewport={"width": 1366, "height": 768}).new_page()
    page.set_default_timeout(120_000)
    return page


@pytest.mark.slow
def test_students_are_isolated_and_the_teacher_sees_the_class(browser, app_url, app_runs_dir, teacher_key, idle,
                                                               screenshot):
    a, b, teacher = _context(browser), _context(browser), _context(browser)
    a.goto(f"{app_url}/train")
    a.get_by_role("button", name="Train", exact=True).wait_for(timeout=180_000)
    idle(a)
    epochs = a.get_by_role("spinbutton", name="epochs")
    epochs.fill("500")  # far longer than the test: the teacher stops it
    epochs.press("Tab")
    idle(a)
    a.get_by_role("button", name="Train", exact=True).click()
    header = a.get_by_text(RUN_HEADER).first
    header.wait_for(timeout=60_000)
    run_a = re.search(r"Run `?(\d{8}-\d{6}[^`\s]*)", header.inner_text()).group(1)
    expect(a.get_by_text("running")).to_be_visible(timeout=120_000)
    screenshot(a, "class-01-student-a-trains")

    # B: another browser, another workspace: A's run is not there, nothing to stop
    b.goto(f"{app_url}/train")
    b.get_by_role("button", name="Train", exact=True).wait_for(timeout=120_000)
    idle(b)
    assert b.get_by_text(run_a).count() == 0
    expect(b.get_by_role("button", name="Stop", exact=True)).to_be_disabled()
    assert "ws=" in b.url and b.url.split("ws=")[1][:16] != a.url.split("ws=")[1][:16]
    screenshot(b, "class-02-student-b-sees-nothing-of-a")
    # B loads another model, reloads the page: the model is still B's
    b.locator("[data-testid='stTopNavLink']", has_text="Build").click()
    b.get_by_role("combobox", name="Start from a template").click()
    b.get_by_role("option", name=re.compile("Playground MLP")).click()
    b.get_by_role("button", name="Load", exact=True).click()
    expect(b.locator("[data-testid='stSidebar']").get_by_text("playground-mlp")).to_be_visible()
    idle(b)
    b.reload()
    expect(b.locator("[data-testid='stSidebar']").get_by_text("playground-mlp")).to_be_visible(timeout=60_000)
    screenshot(b, "class-03-student-b-after-reload")
    b.locator("[data-testid='stTopNavLink']", has_text="Runs").click()
    b.get_by_text("No runs yet").wait_for()  # A's run is not on B's Runs page either

    # the teacher sees both students and A's run, and stops it
    teacher.goto(f"{app_url}/class?teacher={teacher_key}")
    teacher.get_by_text("Runs training now").wait_for(timeout=60_000)
    idle(teacher)
    assert int(teacher.get_by_test_id("stMetricValue").first.inner_text()) >= 2  # students
    screenshot(teacher, "class-04-teacher")
    teacher.get_by_role("button", name="Stop it").click()
    expect(a.get_by_text(re.compile(r"^Stopped by the teacher"))).to_be_visible(timeout=90_000)
    screenshot(a, "class-05-student-a-stopped-by-teacher")
    assert json.loads((app_runs_dir / run_a / "status.json").read_text())["status"] == "stopped"
