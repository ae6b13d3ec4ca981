"""My data in a real browser with Chromium's fake webcam: snapshots into two classes (a light scene, then a dark
one, each from its own fake camera file, in the same workspace), "Use this data", the transfer template, and a
run that trains on the pictures to its end."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS

SHOTS = 5  # per class
FAKE_CAMERA = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]
WS = re.compile(r"[?&]ws=([A-Za-z0-9_-]{16})")


def y4m(path: Path, level: int, frames: int = 10, width: int = 320, height: int = 240) -> Path:
    """A grey scene at `level` with a moving square of the opposite brightness (YUV 4:2:0, as Chromium reads)."""
    rng = np.random.default_rng(level)
    with open(path, "wb") as f:
        f.write(f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode())
        for k in range(frames):
            luma = np.clip(level + rng.normal(0, 12, (height, width)), 0, 255).astype(np.uint8)
            luma[60 + 4 * k:140 + 4 * k, 100:180] = 255 - level
            f.write(b"FRAME\n" + luma.tobytes() + bytes([128]) * (width * height // 2))
    return path


def open_my_data(browser_type, url: str, camera_file: Path):
    browser = browser_type.launch(executable_path=CHROMIUM,
                                  args=CHROMIUM_ARGS + FAKE_CAMERA + [f"--use-file-for-fake-video-capture={camera_file}"])
    page = browser.new_context(viewport={"width": 1400, "height": 1100}, permissions=["camera"]).new_page()
    page.set_default_timeout(60_000)
    page.goto(url)
    page.locator("[data-testid='stTopNavLink']").first.wait_for(timeout=180_000)
    page.locator("[data-testid='stButtonGroup']").get_by_text("My data", exact=True).click()
    page.get_by_role("button", name="Add class").wait_for()
    return browser, page


def add_class(page, idle, name: str) -> None:
    """Type a class name and add the class (the page says so)."""
    page.get_by_label("New class").fill(name)
    page.get_by_label("New class").press("Enter")
    idle(page)
    page.get_by_role("button", name="Add class").click()
    page.get_by_text(f"Class “{name}” added").wait_for()
    idle(page)


def add_class_and_shoot(page, idle, name: str) -> None:
    add_class(page, idle, name)
    for k in range(SHOTS):  # each snapshot goes in at once and the camera comes back for the next
        take = page.get_by_role("button", name="Take Photo")
        expect(take).to_be_enabled(timeout=30_000)
        page.wait_for_timeout(1500)  # the (re)started camera's stream: a click before its first frame is lost
        take.click()
        page.get_by_text(re.compile(rf"^{re.escape(name)} · {k + 1} examples?$")).wait_for(timeout=30_000)
        idle(page)


@pytest.mark.slow
def test_snapshots_from_a_fake_webcam_into_two_classes_train(browser, app_url, idle, screenshot, tmp_path):
    light, page = open_my_data(browser.browser_type, f"{app_url}/data", y4m(tmp_path / "light.y4m", 220))
    try:
        screenshot(page, "mydata-00-open")
        add_class_and_shoot(page, idle, "light")
        screenshot(page, "mydata-01-light")
        ws = WS.search(page.url).group(1)
    finally:
        screenshot(page, "mydata-01-light-end")
        light.close()
    dark, page = open_my_data(browser.browser_type, f"{app_url}/data?ws={ws}", y4m(tmp_path / "dark.y4m", 30))
    try:
        add_class_and_shoot(page, idle, "dark")
        expect(page.get_by_text(re.compile(r"light · 5 examples"))).to_be_visible()
        thumbs = page.locator("[data-testid='stImage']")
        assert thumbs.count() >= 2 * SHOTS
        screenshot(page, "mydata-02-two-classes")
        page.get_by_role("button", name="Use this data").click()
        # the data in use (a lasting heading: the one-time notice above it can go with the rerun the workspace's
        # first save brings)
        expect(page.get_by_text("Current data: My data: my-data (28 px, grey)")).to_be_visible(timeout=60_000)
        idle(page)
        page.get_by_role("button", name=re.compile("Start from the template")).click()
        page.get_by_text(re.compile(r"The template “Transfer learning.*” is loaded for your data")).wait_for()
        idle(page)
        screenshot(page, "mydata-03-used")
        page.locator("[data-testid='stTopNavLink']", has_text="Train").click()
        train = page.get_by_role("button", name="Train", exact=True)
        train.wait_for(timeout=120_000)
        idle(page)
        expect(train).to_be_enabled()
        train.click()
        page.get_by_text(re.compile(r"^Training finished")).wait_for(timeout=300_000)
        idle(page)
        screenshot(page, "mydata-04-trained")
        assert page.locator("[data-testid='stException']").count() == 0
    finally:
        screenshot(page, "mydata-05-end")
        dark.close()
