"""How long a click takes until the page is usable again, in a real browser.

    python bench/bench_clicks.py [--repeats 5]

Starts `streamlit run app.py` (as bench_workshop.py does), opens the app in
Chromium and times, from the click until the expected content is on screen
and Streamlit has finished its run: switching between the five pages (warm:
each visited once before), and on the canvas selecting a layer, adding one
from the palette, deleting it and undoing. Prints the median of `--repeats`
beside the targets (≤ 1 s per page switch, ≤ 300 ms per canvas click).
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from bench_workshop import CHROMIUM, CHROMIUM_ARGS, free_port, start_server

PAGES = [("Data", "Current data"), ("Train", "Live view"), ("Explain", "No trained model yet"),
         ("Runs", "No runs yet"), ("Build", None)]  # Build: usable once the canvas has drawn the model
TARGETS = {"page switch": 1.0, "canvas click": 0.3}


def until_usable(page, action, expect_visible, timeout_s: float = 30) -> float:
    """Seconds from `action()` until `expect_visible` shows and no script run or stale element is left."""
    t0 = time.monotonic()
    action()
    expect_visible.wait_for(timeout=timeout_s * 1000)
    page.wait_for_function(
        "() => !document.querySelector(\"[data-testid='stStatusWidget']\")"
        " && !document.querySelector('[data-stale=\"true\"]')", timeout=timeout_s * 1000, polling=20)
    return time.monotonic() - t0


def nav(page, name: str) -> None:
    page.locator("[data-testid='stTopNavLink']", has_text=name).click()


def node(page, node_id: str):
    return page.locator(f".react-flow__node[data-id='{node_id}']")


def page_switches(page) -> dict[str, float]:
    times = {}
    for name, marker in PAGES:
        shown = page.get_by_text(marker).first if marker else node(page, "image")
        times[f"→ {name}"] = until_usable(page, lambda n=name: nav(page, n), shown)
    return times


def canvas_clicks(page) -> dict[str, float]:
    times = {"select a layer": until_usable(page, lambda: node(page, "hidden1").click(),
                                            page.get_by_text("hidden1 · Dense").first)}

    page.get_by_role("button", name="Core").click()  # opening the family's list is the browser's alone
    page.get_by_role("button", name="Dropout", exact=True).wait_for()
    times["add a layer"] = until_usable(page, lambda: page.get_by_role("button", name="Dropout", exact=True).click(),
                                        node(page, "dropout_1"))
    page.keyboard.press("Escape")
    times["delete it"] = until_usable(page, lambda: page.get_by_role("button", name="Delete layer").click(),
                                      page.get_by_text("Layer settings").first)
    times["undo"] = until_usable(page, lambda: page.get_by_role("button", name="Undo").click(),
                                 node(page, "dropout_1"))
    # back to the first-visit model for the next repeat
    until_usable(page, lambda: page.get_by_role("button", name="Undo").click(), page.get_by_text("Layer settings").first)
    return times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    runs_dir = Path(tempfile.mkdtemp(prefix="layerlab-clicks-")) / "runs"
    runs_dir.mkdir(parents=True)
    port = free_port()
    server = start_server(runs_dir, port, {"LAYERLAB_PREWARM": "0"})
    samples: dict[str, list[float]] = {}
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_context(viewport={"width": 1440, "height": 900}).new_page()
            page.set_default_timeout(180_000)
            page.goto(f"http://127.0.0.1:{port}/build")
            node(page, "image").wait_for()
            page_switches(page)  # warm: every page once
            page.get_by_role("button", name="Got it").click()
            try:
                for _ in range(args.repeats):
                    for what, seconds in {**page_switches(page), **canvas_clicks(page)}.items():
                        samples.setdefault(what, []).append(seconds)
            except Exception:
                page.screenshot(path=str(runs_dir.parent / "failed.png"))
                print(f"stopped; the page is in {runs_dir.parent / 'failed.png'}")
                raise
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=20)
    print(f"{'action':<18} {'median (ms)':>12} {'worst (ms)':>11}  target")
    for what, values in samples.items():
        target = TARGETS["page switch"] if what.startswith("→") else TARGETS["canvas click"]
        med = statistics.median(values)
        print(f"{what:<18} {med * 1000:>12.0f} {max(values) * 1000:>11.0f}  ≤ {target * 1000:.0f} ms "
              f"{'ok' if med <= target else 'MISSED'}")


if __name__ == "__main__":
    main()
