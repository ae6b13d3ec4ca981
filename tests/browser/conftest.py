"""Real-browser fixtures: `streamlit run app.py` on a free port, and Debian's Chromium through Playwright.

Skipped (with the reason) only when /usr/bin/chromium is missing; CI installs it (see Makefile).
Screenshots go to test-artifacts/ (gitignored) through `shot(page, name)`.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
START_TIMEOUT_S = 90
TEACHER_KEY = "browser-test-teacher"


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)
            if not Path(CHROMIUM).exists():
                item.add_marker(pytest.mark.skip(reason=f"{CHROMIUM} not found: install Debian's chromium "
                                                        "(apt-get install chromium; `make test` does it)"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def app_url(app_server):
    """Base URL of the test server."""
    return app_server[0]


@pytest.fixture(scope="session")
def teacher_key() -> str:
    """The test server's LAYERLAB_TEACHER_KEY."""
    return TEACHER_KEY


@pytest.fixture(scope="session")
def app_runs_dir(app_server) -> Path:
    """The runs folder of the test server."""
    return app_server[1]


def start_server(tmp: Path, port: int, **popen):
    """`streamlit run app.py` on `port` with its runs, uploads and workspaces under `tmp`; returns (process, url)
    once it answers its health check (pytest.fail with the log's tail when it does not). `popen`: e.g.
    start_new_session=True, for a test that kills the server's whole process group."""
    env = dict(os.environ, KERAS_BACKEND=os.environ.get("KERAS_BACKEND", "tensorflow"), TF_CPP_MIN_LOG_LEVEL="3",
               LAYERLAB_RUNS_DIR=str(tmp / "runs"), LAYERLAB_UPLOADS_DIR=str(tmp / "uploads"),
               LAYERLAB_HOME=str(tmp / "workspaces"), LAYERLAB_TEACHER_KEY=TEACHER_KEY, LAYERLAB_PREWARM="1",
               LAYERLAB_WARM_WORKERS=os.environ.get("LAYERLAB_WARM_WORKERS", "1"),  # one browser: not a class's worth
               CUDA_VISIBLE_DEVICES=os.environ.get("CUDA_VISIBLE_DEVICES", ""))
    with open(tmp / "streamlit.log", "a") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
             "--browser.gatherUsageStats", "false", "--server.port", str(port), "--server.address", "127.0.0.1",
             "--server.fileWatcherType", "none"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, **popen,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return proc, url
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"streamlit did not start; log:\n{(tmp / 'streamlit.log').read_text()[-3000:]}")
        time.sleep(0.3)


@pytest.fixture(scope="session")
def app_server(tmp_path_factory):
    """(base URL, runs folder) of a fresh Layerlab server (runs and uploads in temp folders), stopped at the end."""
    tmp = tmp_path_factory.mktemp("layerlab")
    proc, url = start_server(tmp, _free_port())
    try:
        yield url, tmp / "runs"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture
def launch():
    """`launch(tmp, port=None, **popen)` → (process, url): a server of the test's own, to kill and restart."""
    return lambda tmp, port=None, **popen: start_server(tmp, port or _free_port(), **popen)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.stash.setdefault(_FAILED, report.failed)
    return report


_FAILED = pytest.StashKey[bool]()


@pytest.fixture
def page(request, browser, app_url):
    """A fresh browser tab (own session); on failure its screenshot lands in test-artifacts/FAILED-<test>.png."""
    context = browser.new_context(viewport={"width": 1500, "height": 1100})
    pg = context.new_page()
    pg.set_default_timeout(60_000)
    yield pg
    if request.node.stash.get(_FAILED, False):
        try:
            shot(pg, f"FAILED-{request.node.name}")
        except Exception:  # noqa: BLE001 - a missing screenshot must not hide the real failure
            pass
    context.close()


def shot(page, name: str) -> Path:
    """Save a screenshot into test-artifacts/<name>.png and return its path."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def wait_idle(page, timeout_s: float = 60) -> None:
    """Wait until Streamlit has finished the current script run."""
    page.wait_for_timeout(300)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if page.locator("[data-testid='stStatusWidget']").count() == 0:
            page.wait_for_timeout(300)
            if page.locator("[data-testid='stStatusWidget']").count() == 0:
                return
        page.wait_for_timeout(200)


@pytest.fixture
def screenshot():
    """`screenshot(page, name)` saves test-artifacts/<name>.png."""
    return shot


@pytest.fixture
def idle():
    """`idle(page)` waits until Streamlit has finished running the script."""
    return wait_idle
