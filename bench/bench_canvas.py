"""How readable the canvas is at its first fit, and whether Train is in reach, on two laptop screens.

    python bench/bench_canvas.py

Starts `streamlit run app.py`, opens /build (the first-visit model, six layers) and /train in
Chromium at 1440×900 and 1366×768, and prints from the DOM: the fitted zoom, the smallest text and
connection dot as drawn on screen (target ≥ 12 px), whether every layer is inside the canvas, and
where the Train button's bottom edge sits (target: inside the window).
"""
from __future__ import annotations

import tempfile
from pathlib import Path

from bench_workshop import CHROMIUM, CHROMIUM_ARGS, free_port, start_server

SCREENS = [(1440, 900), (1366, 768)]
MEASURE = """() => {
    const zoom = parseFloat(document.querySelector('.react-flow__viewport').style.transform.match(/scale\\(([^)]+)\\)/)[1]);
    const texts = [...document.querySelectorAll('.ll-node div')].map(d => parseFloat(getComputedStyle(d).fontSize) * zoom);
    const dots = [...document.querySelectorAll('.react-flow__handle')].map(h => h.getBoundingClientRect().width);
    const pane = document.querySelector('.react-flow').getBoundingClientRect();
    const inside = [...document.querySelectorAll('.react-flow__node')].every(n => {
        const r = n.getBoundingClientRect();
        return r.top >= pane.top - 1 && r.bottom <= pane.bottom + 1 && r.left >= pane.left && r.right <= pane.right;
    });
    return {zoom, text: Math.min(...texts), dot: Math.min(...dots), inside};
}"""


def main() -> None:
    from playwright.sync_api import sync_playwright

    runs_dir = Path(tempfile.mkdtemp(prefix="layerlab-canvas-")) / "runs"
    runs_dir.mkdir(parents=True)
    port = free_port()
    server = start_server(runs_dir, port, {"LAYERLAB_HOME": str(runs_dir.parent / "workspaces")})
    rows = []
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for width, height in SCREENS:
                page = browser.new_context(viewport={"width": width, "height": height}).new_page()
                page.set_default_timeout(180_000)
                page.goto(f"http://127.0.0.1:{port}/build")
                page.locator(".react-flow__node[data-id='image']").wait_for()
                page.wait_for_timeout(1500)  # the view fits a moment after the first drawing
                sizes = page.evaluate(MEASURE)
                page.goto(f"http://127.0.0.1:{port}/train")
                train = page.get_by_role("button", name="Train", exact=True)
                train.wait_for()
                box = train.bounding_box()
                rows.append((f"{width}×{height}", sizes, box["y"] + box["height"], height))
                page.context.close()
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=20)
    print(f"{'screen':<10} {'fit zoom':>8} {'text px':>8} {'dot px':>7} {'all in view':>12} {'Train bottom':>13}")
    for screen, s, bottom, height in rows:
        print(f"{screen:<10} {s['zoom']:>8.2f} {s['text']:>8.1f} {s['dot']:>7.1f} {str(s['inside']):>12} "
              f"{bottom:>9.0f}/{height}")
    print("targets: text and dots ≥ 12 px at the first fit; Train's bottom edge inside the window")


if __name__ == "__main__":
    main()
