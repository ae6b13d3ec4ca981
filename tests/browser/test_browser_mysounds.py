"""My data's sounds in a real browser with Chromium's fake microphone (a generated WAV: a pause, then a tone):
clips recorded into two classes, several in a row, listed with a player each; "Use this data" shows the data view's
player and spectrogram."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from playwright.sync_api import expect

from datasets import audio
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.browser.test_browser_mydata import add_class

CLIPS = 2  # per class
FAKE_MICROPHONE = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]


def tone_wav(path: Path, rate: int = 48_000) -> Path:
    """Half a second of quiet, then a second of a 660 Hz tone (Chromium loops the file as the microphone)."""
    t = np.arange(int(1.5 * rate)) / rate
    audio.write_wav(str(path), 0.4 * np.sin(2 * np.pi * 660 * t) * (t >= 0.5), rate)
    return path


def record_into(page, idle, name: str) -> None:
    add_class(page, idle, name)
    for k in range(CLIPS):  # each clip goes in at once and the recorder comes back for the next
        record = page.get_by_role("button", name="Record", exact=True)
        expect(record).to_be_enabled(timeout=30_000)
        record.click()
        page.wait_for_timeout(2000)  # two seconds of the looping fake microphone: the tone is in it
        page.get_by_role("button", name="Stop recording").click()
        page.get_by_text(re.compile(rf"^{re.escape(name)} · {k + 1} examples?$")).wait_for(timeout=30_000)
        idle(page)


@pytest.mark.slow
def test_clips_from_a_fake_microphone_fill_two_classes_and_are_used(browser, app_url, idle, screenshot, tmp_path):
    args = CHROMIUM_ARGS + FAKE_MICROPHONE + [f"--use-file-for-fake-audio-capture={tone_wav(tmp_path / 'tone.wav')}"]
    chromium = browser.browser_type.launch(executable_path=CHROMIUM, args=args)
    page = chromium.new_context(viewport={"width": 1400, "height": 1100}, permissions=["microphone"]).new_page()
    page.set_default_timeout(60_000)
    try:
        page.goto(f"{app_url}/data")
        page.locator("[data-testid='stTopNavLink']").first.wait_for(timeout=180_000)
        page.locator("[data-testid='stButtonGroup']").get_by_text("My data", exact=True).click()
        page.locator("[data-testid='stButtonGroup']").get_by_text("Sounds", exact=True).click()
        page.get_by_role("button", name="Add class").wait_for()
        idle(page)
        screenshot(page, "mysounds-00-open")
        record_into(page, idle, "tone")
        record_into(page, idle, "again")
        expect(page.get_by_text(re.compile(r"^tone · 2 examples$"))).to_be_visible()
        players = page.locator("[data-testid='stAudio']")
        assert players.count() == 2 * CLIPS
        assert page.locator("[data-testid='stException']").count() == 0
        screenshot(page, "mysounds-01-two-classes")
        page.get_by_role("button", name="Use this data").click()
        expect(page.get_by_text("Current data: My data: my-sounds (sounds)")).to_be_visible(timeout=60_000)
        idle(page)
        page.get_by_text("frequency (Hz)").first.scroll_into_view_if_needed()
        expect(page.get_by_text(re.compile(r"^clip 0 · class “"))).to_be_visible()
        screenshot(page, "mysounds-02-used")
        assert page.locator("[data-testid='stException']").count() == 0
    finally:
        screenshot(page, "mysounds-03-end")
        chromium.close()
