"""Workspaces in a real browser: the browser remembers its workspace (retyping the address finds the work
again), two tabs of one workspace never overwrite each other (the stale tab is told), and the teacher stays
signed in across a reload with the key gone from the address."""
from __future__ import annotations

import json
import re

from playwright.sync_api import expect

WS = re.compile(r"[?&]ws=([A-Za-z0-9_-]{16})")


def _tab(context):
    page = context.new_page()
    page.set_default_timeout(120_000)
    return page


def _ws(page) -> str:
    return WS.search(page.url).group(1)


def _open_build(page, url, idle) -> None:
    page.goto(url)
    page.get_by_role("button", name="Load", exact=True).wait_for(timeout=180_000)
    idle(page)


def _sidebar(page):
    return page.locator("[data-testid='stSidebar']")


def _load_template(page, name, idle) -> None:
    page.get_by_role("combobox", name="Start from a template").click()
    page.get_by_role("option", name=re.compile(name)).click()
    page.get_by_role("button", name="Load", exact=True).click()
    idle(page)


def _add_layer(page, family, layer, idle) -> None:
    page.get_by_test_id("stPopover").filter(has_text=family).get_by_role("button").first.click()
    page.get_by_test_id("stPopoverBody").get_by_role("button", name=layer, exact=True).click()
    idle(page)


def _saved_nodes(app_runs_dir, ws) -> list[str]:
    state = json.loads((app_runs_dir.parent / "workspaces" / ws / "state.json").read_text())
    return [n["type"] for n in state["spec"]["nodes"]]


def test_the_browser_comes_back_to_its_workspace_when_the_address_is_retyped(browser, app_url, idle, screenshot):
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    page = _tab(context)
    _open_build(page, f"{app_url}/build", idle)
    expect(_sidebar(page).get_by_text("bookmark it for another computer")).to_be_visible()  # open on a first visit
    screenshot(page, "workspace-01-first-visit")
    _load_template(page, "Playground MLP", idle)
    expect(_sidebar(page).get_by_text("playground-mlp")).to_be_visible()
    ws = _ws(page)
    page.wait_for_function("document.cookie.includes('layerlab_ws=')")
    _open_build(page, app_url, idle)  # the address typed again, no link
    expect(_sidebar(page).get_by_text("playground-mlp")).to_be_visible()
    assert _ws(page) == ws
    screenshot(page, "workspace-02-address-retyped")
    _sidebar(page).get_by_text("Your workspace").click()  # a shared computer: the next person starts afresh
    idle(page)  # the click below goes to a settled page, as a person's would
    _sidebar(page).get_by_role("button", name="Start a new workspace").click()
    idle(page)
    expect(_sidebar(page).get_by_text("seed-mlp")).to_be_visible()
    page.wait_for_function("!document.cookie.includes('layerlab_ws=" + ws + "')")
    _open_build(page, app_url, idle)
    assert _ws(page) != ws  # the browser no longer opens the one left
    expect(_sidebar(page).get_by_text("seed-mlp")).to_be_visible()
    other = _tab(browser.new_context(viewport={"width": 1366, "height": 768}))  # another browser: its own
    _open_build(other, app_url, idle)
    assert _ws(other) != ws
    _open_build(other, f"{app_url}/build?ws={ws}", idle)  # the link still moves the work between computers
    expect(_sidebar(other).get_by_text("playground-mlp")).to_be_visible()
    other.context.close()
    context.close()


def test_two_tabs_of_one_workspace_keep_both_edits_and_the_stale_tab_is_told(browser, app_url, app_runs_dir, idle,
                                                                            screenshot):
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    tab_a = _tab(context)
    _open_build(tab_a, f"{app_url}/build", idle)
    _load_template(tab_a, "Playground MLP", idle)
    ws = _ws(tab_a)
    tab_b = _tab(context)
    _open_build(tab_b, f"{app_url}/build?ws={ws}", idle)
    before = _saved_nodes(app_runs_dir, ws)
    _add_layer(tab_a, "Core", "Dropout", idle)
    assert _saved_nodes(app_runs_dir, ws).count("Dropout") == before.count("Dropout") + 1
    _add_layer(tab_b, "Core", "Dense", idle)  # tab B was not reloaded
    expect(tab_b.get_by_text("This workspace changed in another tab")).to_be_visible()
    screenshot(tab_b, "workspace-03-stale-tab-told")
    after = _saved_nodes(app_runs_dir, ws)
    assert after.count("Dropout") == before.count("Dropout") + 1  # A's layer survived B's edit
    assert after.count("Dense") == before.count("Dense") + 1 and len(after) == len(before) + 2
    context.close()


def test_the_teacher_stays_signed_in_across_a_reload_without_the_key_in_the_address(browser, app_url, teacher_key,
                                                                                   idle, screenshot):
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    page = _tab(context)
    page.goto(f"{app_url}/class?teacher={teacher_key}")
    page.get_by_text("Runs training now").wait_for(timeout=180_000)
    idle(page)
    assert teacher_key not in page.url
    page.wait_for_function("document.cookie.includes('layerlab_teacher=')")
    assert teacher_key not in json.dumps(context.cookies())  # the cookie is a proof, not the key
    page.reload()
    page.get_by_text("Runs training now").wait_for(timeout=120_000)
    idle(page)
    expect(page.get_by_role("heading", name="Class")).to_be_visible()
    assert teacher_key not in page.url
    screenshot(page, "workspace-04-teacher-after-reload")
    context.close()
