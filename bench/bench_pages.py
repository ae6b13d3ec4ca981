"""Warm rerun server time of every page, through app.py, with Streamlit's AppTest.

    python bench/bench_pages.py [--repeats 10] [--runs-dir DIR]

A "warm rerun" is what a click that changes nothing costs the server: the
page script runs again with every cache already filled. Each page is opened
once (cold: imports, first checks), then rerun `--repeats` times; the median
wall time, the process's median CPU time and the script thread's own median
CPU time (steady on a loaded machine, where the wall time is not) are printed
beside the target (≤ 60 ms). A finished run is written into a temporary runs
folder first so Explain and Runs have something to show.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TARGET_MS = 60
PAGES = ["data", "build", "train", "explain", "runs"]


def finished_run(runs_dir: Path) -> str:
    """Train one small run headless (the engine's own runner) so result pages have real files."""
    from builder.train import runner

    exp = {"format": "layerlab/experiment@1",
           "model": {"format": "layerlab/model@1", "name": "bench-mlp", "nodes": [
               {"id": "image", "type": "Input", "params": {"shape": [8, 8, 1]}},
               {"id": "flatten", "type": "Flatten", "inputs": ["image"]},
               {"id": "hidden", "type": "Dense", "params": {"units": 32, "activation": "relu"}, "inputs": ["flatten"]},
               {"id": "probs", "type": "Dense", "params": {"units": 10, "activation": "softmax"}, "inputs": ["hidden"]}]},
           "data": {"dataset": "digits", "validation_split": 0.2, "test_split": 0.2},
           "augmentation": [], "training": {"epochs": 2, "batch_size": 64, "seed": 0}}
    run_id = "bench-run"
    runner.run(exp, runs_dir / run_id)
    return run_id


SCRIPT_CPU: list[float] = []  # the script thread's own CPU seconds per run: steady on a loaded machine


def time_the_script_thread() -> None:
    """Wrap Streamlit's script execution so each run records its thread's CPU time into SCRIPT_CPU."""
    from streamlit.runtime.scriptrunner import script_runner

    run = script_runner.exec_func_with_error_handling

    def timed(func, ctx):
        start = time.thread_time()
        try:
            return run(func, ctx)
        finally:
            SCRIPT_CPU.append(time.thread_time() - start)

    script_runner.exec_func_with_error_handling = timed


def measure(at, repeats: int) -> tuple[float, float, float]:
    walls, cpus = [], []
    SCRIPT_CPU.clear()
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        at.run()
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
        if at.exception:
            raise SystemExit(f"the page raised: {at.exception[0].value}")
    return statistics.median(walls) * 1000, statistics.median(cpus) * 1000, statistics.median(SCRIPT_CPU) * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--runs-dir", default=None)
    args = ap.parse_args()
    runs_dir = Path(args.runs_dir or tempfile.mkdtemp(prefix="layerlab-bench-"))
    os.environ["LAYERLAB_RUNS_DIR"] = str(runs_dir)
    os.environ.setdefault("LAYERLAB_PREWARM", "0")
    os.environ.setdefault("LAYERLAB_HOME", str(runs_dir / "home"))
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    run_id = finished_run(runs_dir)

    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.testing.v1 import AppTest

    # AppTest starts every run in Streamlit's old pages-directory mode (it resets the flag st.navigation
    # clears), which runs the page without app.py after the first run; a real server runs app.py (the
    # sidebar, the navigation) on every rerun, so the bench does too.
    init = PagesManager.__init__

    def app_first(self, *args, **kwargs):
        init(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    PagesManager.__init__ = app_first
    time_the_script_thread()

    print(f"warm rerun server time per page (median of {args.repeats}; process CPU includes AppTest's own work; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    print(f"{'page':<9} {'cold (ms)':>10} {'warm wall (ms)':>15} {'warm CPU (ms)':>14} {'script CPU (ms)':>16}  target")
    for page in PAGES:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
        at.session_state["run_id"] = run_id
        at.run()
        at.switch_page(f"pages/{page}.py")
        t0 = time.perf_counter()
        at.run()
        cold = (time.perf_counter() - t0) * 1000
        at.run()  # the second visit fills caches keyed on widget values set in the first
        wall, cpu, script = measure(at, args.repeats)
        verdict = "ok" if wall <= TARGET_MS else "MISSED"
        print(f"{page:<9} {cold:>10.0f} {wall:>15.0f} {cpu:>14.0f} {script:>16.1f}  ≤ {TARGET_MS} ms {verdict}")


if __name__ == "__main__":
    main()
