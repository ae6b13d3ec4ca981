"""A class of students in real browsers: all press Train at once; what does each one see, and when?

    python bench/bench_workshop.py [--students 10] [--epochs 5] [--runs-dir DIR] [--executor local|ray]

Starts `streamlit run app.py` on a free port, opens one Chromium context per
student (their own session), waits until every page shows the Train button,
then clicks Train on all of them in one sweep. While the runs train it watches
both sides: the run folders (when each epoch's line lands in metrics.jsonl and
when status.json says the run ended) and each page (when the live curve gains
that epoch's point, when "Training finished" shows). It prints per student:
click → first curve point, the worst epoch lag (page − file), run end → page
says finished, and the server process's CPU per watching student, beside the
targets of the speed issue. Needs Debian's Chromium at /usr/bin/chromium.
"""
from __future__ import annotations

import argparse
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
TARGETS = {"epoch_lag_s": 2.0, "finished_lag_s": 3.0, "cpu_per_watcher": 0.03}
POINTS_JS = """() => {
  const plot = document.querySelector('.js-plotly-plot');
  return plot && plot.data && plot.data.length ? plot.data[0].y.length : 0;
}"""
RUN_ID_JS = r"""() => {
  const line = [...document.querySelectorAll('[data-testid="stCaptionContainer"]')].map(e => e.innerText)
    .find(t => /^Run \d{8}-\d{6}/.test(t));  // under the run's name: "Run 20261126-…"
  return line ? line.split(' ')[1].replace(/`/g, '') : null;
}"""
FINISHED_JS = "() => document.body.innerText.includes('Training finished')"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(runs_dir: Path, port: int, extra_env: dict | None = None) -> subprocess.Popen:
    """`streamlit run app.py` on localhost; returns once /_stcore/health answers."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", LAYERLAB_RUNS_DIR=str(runs_dir),
               LAYERLAB_UPLOADS_DIR=str(runs_dir.parent / "uploads"), **(extra_env or {}))
    log = open(runs_dir.parent / "streamlit.log", "w")  # noqa: SIM115 - lives as long as the server
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
         "--browser.gatherUsageStats", "false", "--server.port", str(port), "--server.address", "127.0.0.1",
         "--server.fileWatcherType", "none"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return proc
        except OSError:
            pass
        if proc.poll() is not None:
            break
        time.sleep(0.3)
    proc.kill()
    raise SystemExit(f"streamlit did not start: see {runs_dir.parent / 'streamlit.log'}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process (not its children: the training workers are separate)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Student:
    """One browser session and what it saw, in time.monotonic() seconds."""

    page: object
    name: str
    clicked: float = 0.0
    run_id: str | None = None
    points_at: dict[int, float] = field(default_factory=dict)  # epoch → when the page first showed it
    finished_seen: float | None = None

    def look(self) -> None:
        """One glance at the page: run id, number of curve points, finished or not."""
        now = time.monotonic()
        try:
            if self.run_id is None:
                self.run_id = self.page.evaluate(RUN_ID_JS)
            n = int(self.page.evaluate(POINTS_JS))
            if self.finished_seen is None and self.page.evaluate(FINISHED_JS):
                self.finished_seen = now
        except Exception:  # noqa: BLE001 - the page is redrawing right now; look again next time
            return
        for epoch in range(1, n + 1):
            self.points_at.setdefault(epoch, now)


@dataclass
class RunFiles:
    """When each epoch line and the end of a run appeared in its folder (polled every 50 ms)."""

    folder: Path
    epoch_at: dict[int, float] = field(default_factory=dict)
    ended_at: float | None = None

    def look(self) -> None:
        now = time.monotonic()
        try:
            lines = (self.folder / "metrics.jsonl").read_text().count("\n")
        except OSError:
            lines = 0
        for epoch in range(1, lines + 1):
            self.epoch_at.setdefault(epoch, now)
        if self.ended_at is None:
            try:
                text = (self.folder / "status.json").read_text()
            except OSError:
                return
            if re.search(r'"status":\s*"(completed|stopped|failed)"', text):
                self.ended_at = now


def open_train_page(page, url: str) -> None:
    page.goto(f"{url}/train")
    page.get_by_role("button", name="Train", exact=True).wait_for(timeout=180_000)
    page.get_by_text(re.compile("training on (CPU|GPU)")).first.wait_for(timeout=120_000)


def set_epochs(page, epochs: int) -> None:
    box = page.get_by_role("spinbutton", name="epochs")
    box.fill(str(epochs))
    box.press("Tab")
    page.wait_for_timeout(500)


def watch_class(students: list[Student], runs_dir: Path, epochs: int, timeout_s: float) -> dict[str, RunFiles]:
    """Glance at every page and every run folder until all pages say finished (or time runs out)."""
    files: dict[str, RunFiles] = {}
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for s in students:
            s.look()
            if s.run_id and s.run_id not in files:
                files[s.run_id] = RunFiles(runs_dir / s.run_id)
        for f in files.values():
            f.look()
        if all(s.finished_seen and len(s.points_at) >= epochs for s in students):
            break
        if all(s.finished_seen for s in students) and time.monotonic() > max(s.finished_seen for s in students) + 5:
            break  # someone's chart never got every point: reported as "epochs seen"
        time.sleep(0.05)
    return files


def report(students: list[Student], files: dict[str, RunFiles], cpu_per_watcher: float) -> list[dict]:
    rows = []
    for s in students:
        f = files.get(s.run_id)
        lags = [s.points_at[e] - f.epoch_at[e] for e in f.epoch_at if e in s.points_at] if f else []
        rows.append({
            "student": s.name,
            "first_point_s": (s.points_at[1] - s.clicked) if 1 in s.points_at else None,
            "epochs_seen": len(s.points_at),
            "worst_epoch_lag_s": max(lags) if lags else None,
            "lags": [round(x, 2) for x in lags],
            "finished_lag_s": (s.finished_seen - f.ended_at) if (f and f.ended_at and s.finished_seen) else None,
            "cpu_per_watcher": cpu_per_watcher,
        })
    return rows


def fmt(v, unit="s") -> str:
    return "—" if v is None else f"{v:.2f} {unit}".strip()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--students", type=int, default=10)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--timeout", type=float, default=900, help="seconds to wait for every run to finish")
    ap.add_argument("--runs-dir", default=None)
    ap.add_argument("--executor", choices=("local", "ray"), default="local",
                    help="where the server trains: its own worker processes, or a Ray instance it starts")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    runs_dir = Path(args.runs_dir or tempfile.mkdtemp(prefix="layerlab-workshop-")) / "runs"
    runs_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    server = start_server(runs_dir, port, {"LAYERLAB_EXECUTOR": args.executor})
    url = f"http://127.0.0.1:{port}"
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            students = []
            for i in range(args.students):
                page = browser.new_context(viewport={"width": 1366, "height": 768}).new_page()
                page.set_default_timeout(120_000)
                open_train_page(page, url)
                set_epochs(page, args.epochs)
                students.append(Student(page, f"student {i + 1}"))
            print(f"{len(students)} students on the Train page; all press Train now", flush=True)
            for s in students:
                s.clicked = time.monotonic()
                s.page.get_by_role("button", name="Train", exact=True).click(no_wait_after=True)
            cpu0, t0 = cpu_seconds(server.pid), time.monotonic()
            files = watch_class(students, runs_dir, args.epochs, args.timeout)
            cpu = (cpu_seconds(server.pid) - cpu0) / max(1e-9, time.monotonic() - t0) / len(students)
            rows = report(students, files, cpu)
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=20)
    print(f"\n{'student':<11} {'click→1st point':>16} {'epochs seen':>12} {'worst epoch lag':>16} "
          f"{'end→finished':>13}")
    for r in rows:
        print(f"{r['student']:<11} {fmt(r['first_point_s']):>16} {r['epochs_seen']:>12} "
              f"{fmt(r['worst_epoch_lag_s']):>16} {fmt(r['finished_lag_s']):>13}")
    if os.environ.get("BENCH_VERBOSE"):
        for r in rows:
            print(r["student"], "lag per epoch:", r["lags"])
    lags = [r["worst_epoch_lag_s"] for r in rows if r["worst_epoch_lag_s"] is not None]
    ends = [r["finished_lag_s"] for r in rows if r["finished_lag_s"] is not None]
    print(f"\nworst epoch lag over the class: {fmt(max(lags) if lags else None)} "
          f"(target ≤ {TARGETS['epoch_lag_s']} s)")
    print(f"worst run end → page says finished: {fmt(max(ends) if ends else None)} "
          f"(target ≤ {TARGETS['finished_lag_s']} s)")
    print(f"server CPU per watching student: {rows[0]['cpu_per_watcher']:.3f} of a core "
          f"(target ≤ {TARGETS['cpu_per_watcher']})")
    missing = [r["student"] for r in rows if r["epochs_seen"] < args.epochs]
    if missing:
        print(f"students who did not see every epoch: {', '.join(missing)}")


if __name__ == "__main__":
    main()
