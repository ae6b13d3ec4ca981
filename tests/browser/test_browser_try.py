"""The Try page in a real browser: a 7 drawn with the mouse on the pad is read as a 7, and a 1600×1200 colour
photo uploaded is answered as the engine answers the same file, by a digits model trained for the test."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]

RUN = "try-digits"
ANSWER = re.compile(r"Prediction: (\d) \((\d+\.\d) %\)")


@pytest.fixture(scope="module")
def digits_run(app_runs_dir, tmp_path_factory):
    """The seed MLP trained on digits (CLI, 20 epochs) in the test server's runs folder."""
    from builder import templates

    exp = templates.experiment("seed-mlp")
    exp["training"]["epochs"] = 20
    path = tmp_path_factory.mktemp("exp") / "experiment.json"
    path.write_text(json.dumps(exp))
    subprocess.run([sys.executable, "-m", "builder", "train", str(path), "--out", str(app_runs_dir / RUN)],
                   cwd=ROOT, check=True, capture_output=True, timeout=600)
    return RUN


def open_try(page, app_url, idle):
    page.goto(f"{app_url}/try?run={RUN}")
    page.get_by_role("heading", name="Try it").wait_for(timeout=180_000)
    idle(page)


def answer_text(page) -> re.Match:
    page.get_by_text(ANSWER).wait_for(timeout=60_000)
    return ANSWER.search(page.get_by_text(ANSWER).first.inner_text())


def test_a_seven_drawn_with_the_mouse_is_answered(page, app_url, idle, screenshot, digits_run):
    open_try(page, app_url, idle)
    pad = page.get_by_label("drawing pad")
    pad.wait_for()
    box = pad.bounding_box()

    def at(u, v):  # a point of the pad, as shares of its width and height
        return box["x"] + box["width"] * u, box["y"] + box["height"] * v

    page.mouse.move(*at(0.25, 0.2))  # a "7": the top bar, then the long stroke down to the left
    page.mouse.down()
    page.mouse.move(*at(0.75, 0.2), steps=15)
    page.mouse.move(*at(0.43, 0.82), steps=25)
    page.mouse.up()
    found = answer_text(page)
    idle(page)
    screenshot(page, "try-01-drawn-seven")
    assert found.group(1) == "7", f"a drawn 7 was read as {found.group(0)}"
    assert page.get_by_text("as the model sees it").count() == 1
    assert page.get_by_text(re.compile("where it looked")).count() == 1


def test_an_uploaded_photo_is_answered(page, app_url, app_runs_dir, idle, screenshot, digits_run, tmp_path):
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(0)  # a phone photo of a 7 on grey-white paper: 1600×1200, colour, noisy
    paper = (225 + rng.normal(0, 6, (1200, 1600, 3))).clip(0, 255).astype("uint8")
    photo = Image.fromarray(paper)
    ImageDraw.Draw(photo).line([(600, 300), (1000, 300), (760, 950)], fill=(40, 40, 60), width=70)
    path = tmp_path / "seven.jpg"
    photo.save(path, quality=85)
    open_try(page, app_url, idle)
    page.get_by_role("radio", name="Upload").or_(page.get_by_role("button", name="Upload")).first.click()
    idle(page)
    page.locator("input[type='file']").set_input_files(str(path))
    found = answer_text(page)
    idle(page)
    screenshot(page, "try-02-uploaded-photo")
    assert page.get_by_text("your picture").count() == 1
    from builder import limits, predict  # the engine's own answer to the same file: the page shows it

    trained = predict.open_run(app_runs_dir / RUN)
    expected = trained.answer(trained.from_picture(predict.read_picture(path.read_bytes(), limits.get("max_image_pixels"))))
    assert found.group(0) == expected.text()
