"""A class of 30–100 students without browsers: one process speaks Streamlit's own protocol to the server.

    python bench/bench_load.py [--students 60] [--epochs 2] [--arrive 20] [--settle 180] [--timeout 1200]
                               [--executor local|ray]

Each simulated student is what a browser tab is to the server: a websocket at
/_stcore/stream sending the BackMsg protobufs a browser sends (a rerun with
the page and its query string, widget values, a button's trigger) and reading
the ForwardMsg deltas it sends back. Widgets are found as a browser shows
them, by their label in the deltas (label → widget id). Every student, in
one asyncio process:

  1. a fresh visit to the Build page (the app gives it a workspace: `?ws=…`),
     picks the "Seed MLP" template and presses Load;
  2. reopens its workspace by its link (`/train?ws=…`, a new connection, as a
     reload does), checks the template came back, sets the epochs;
  3. waits for the class, then all press Train in one sweep (a teacher's
     "go"), and follow their live view (the fragment's auto-reruns, as the
     browser sends them) until it says the run finished.

It prints page-response percentiles (a BackMsg rerun → the ForwardMsg that
says the script finished: opens, widget edits, clicks and live-view polls),
per student the time from Train to its first curve point and to "finished"
(and that page's lag behind the run's status.json), the server's CPU and
memory (psutil over the server process and its children, sampled each
second), and every error (an exception or a failed run on a page, a closed
connection, a timeout). Starts `streamlit run app.py` on a free port, as
bench_workshop.py does, and opens one page before the class arrives (the
server's first visit loads Keras: not a student's wait), then waits until the
server and its training pool are idle (`--settle`), as a server started
before class is.
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import re
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.NumberInput_pb2 import NumberInput
from streamlit.proto.WidgetStates_pb2 import WidgetState
from websockets.asyncio.client import connect

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench_workshop import free_port, start_server  # noqa: E402

from builder.experiments import templates  # noqa: E402

TEMPLATE = "seed-mlp"  # builder.experiments.templates: the Seed MLP on digits, the class's first run
RUN_ID = re.compile(r"^Run `(\d{8}-\d{6}[^`]*)`")
SETTLED_CPU_PERCENT = 20  # the server and its workers together, of one core: idle
ENDED = ("Training finished", "did not learn", "The run failed", "Stopped")
TARGETS = {"p95_page_s": 1.0}
OPEN_TIMEOUT_S = 120  # a connection under a class's load
FINISHED = ForwardMsg.ScriptFinishedStatus


class PageError(RuntimeError):
    """The page showed an exception, or the server closed the connection."""


@dataclass
class Timings:
    """Every page response of the class, by kind: open, edit, click <button>, poll (seconds)."""

    by_kind: dict[str, list[float]] = field(default_factory=dict)

    def add(self, kind: str, seconds: float) -> None:
        self.by_kind.setdefault(kind, []).append(seconds)

    def all(self) -> list[float]:
        return [s for values in self.by_kind.values() for s in values]


class Tab:
    """One browser tab on one page of the app, speaking Streamlit's websocket protocol.

    `elements` holds the newest element at each delta path (what the page shows); `widgets` maps a widget's
    label to (its element, the fragment that drew it). One request at a time, as a browser that waits for
    its script run: `rerun` sends a BackMsg and returns when the run (after any st.rerun it led to) finished.
    """

    def __init__(self, base_url: str, timings: Timings):
        self.ws_url = base_url.replace("http://", "ws://") + "/_stcore/stream"
        self.base_url, self.timings = base_url, timings
        self.query, self.page_hash, self.page_name = "", "", ""
        self.elements: dict[tuple, object] = {}
        self.curves: dict[tuple, int] = {}  # delta path of a Plotly chart → points of its first trace
        self._changed = asyncio.Event()
        self.widgets: dict[str, tuple] = {}
        self.values: dict[str, WidgetState] = {}  # widget id → the value this tab set (sent with every rerun)
        self.errors: list[str] = []
        self.auto_reruns: dict[str, float] = {}  # fragment id → interval (the fragment's run_every)
        self._conn = None
        self._finished: asyncio.Future | None = None
        self._fragment_run = False
        self._busy = asyncio.Lock()
        self._tasks: list[asyncio.Task] = []

    async def open(self, page: str, query: str = "") -> None:
        """A page load: connect, then the first rerun with the page's name and the query string."""
        self._conn = await connect(self.ws_url, subprotocols=["streamlit"], max_size=None,
                                   open_timeout=OPEN_TIMEOUT_S, ping_timeout=None)
        self._tasks.append(asyncio.create_task(self._receive()))
        self.query, self.page_name = query, page
        await self.rerun(kind="open")
        self.page_name = ""  # the page's hash (the navigation message) names it from now on
        self._tasks.append(asyncio.create_task(self._auto_rerun()))

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        if self._conn is not None:
            await self._conn.close()

    async def rerun(self, widgets: tuple = (), fragment_id: str = "", kind: str = "edit") -> float:
        """Send a rerun BackMsg (the widgets' values this tab set, plus `widgets`) and wait for the script."""
        async with self._busy:
            msg = BackMsg()
            state = msg.rerun_script
            state.query_string, state.page_script_hash, state.page_name = self.query, self.page_hash, self.page_name
            state.fragment_id, state.is_auto_rerun = fragment_id, kind == "poll"
            state.context_info.timezone, state.context_info.url = "UTC", f"{self.base_url}/{self.page_name}"
            sent = {w.id: w for w in (*self.values.values(), *widgets)}
            state.widget_states.widgets.extend(sent.values())
            self._finished = asyncio.get_running_loop().create_future()
            self._fragment_run = bool(fragment_id)
            start = time.monotonic()
            await self._conn.send(msg.SerializeToString())
            await self._finished
            seconds = time.monotonic() - start
        self.timings.add(kind, seconds)
        return seconds

    def widget(self, label: str):
        """(element, fragment id) of the widget labelled `label` on the page now."""
        if label not in self.widgets:
            raise PageError(f"no widget labelled {label!r} on the page (have: {sorted(self.widgets)[:20]})")
        return self.widgets[label]

    async def press(self, label: str, kind: str | None = None) -> float:
        """Press the button labelled `label`; its response counts as `click <label>` unless `kind` says."""
        element, fragment = self.widget(label)
        button = element.button
        if button.disabled:
            raise PageError(f"the {label!r} button is disabled")
        return await self.rerun((WidgetState(id=button.id, trigger_value=True),), fragment, kind or f"click {label}")

    async def choose(self, label: str, option_part: str) -> float:
        """Pick the first option of a selectbox whose text contains `option_part`."""
        element, fragment = self.widget(label)
        box = element.selectbox
        option = next(o for o in box.options if option_part in o)
        self.values[box.id] = WidgetState(id=box.id, string_value=option)
        return await self.rerun(fragment_id=fragment)

    async def type_number(self, label: str, value: float) -> float:
        element, fragment = self.widget(label)
        box = element.number_input
        state = WidgetState(id=box.id)
        if box.data_type == NumberInput.INT:
            state.int_value = int(value)
        else:
            state.double_value = float(value)
        self.values[box.id] = state
        return await self.rerun(fragment_id=fragment)

    def texts(self) -> list[str]:
        """What the page says: markdown, captions, alerts, headings, progress text."""
        out = []
        for element in list(self.elements.values()):
            kind = element.WhichOneof("type")
            if kind in ("markdown", "alert", "heading", "text"):
                out.append(getattr(element, kind).body)
            elif kind == "progress":
                out.append(element.progress.text)
        return out

    def says(self, *parts: str) -> bool:
        return any(part in text for text in self.texts() for part in parts)

    def run_id(self) -> str | None:
        return next((m.group(1) for t in self.texts() if (m := RUN_ID.match(t))), None)

    def curve_points(self) -> int:
        """Points of the first trace of the page's Plotly charts (the live loss curve), at most."""
        return max(self.curves.values(), default=0)

    async def changed(self, timeout: float) -> None:
        """Wait until a delta arrives (or `timeout` seconds pass)."""
        self._changed.clear()
        try:
            await asyncio.wait_for(self._changed.wait(), timeout)
        except TimeoutError:
            pass

    # -- the receiving side ---------------------------------------------------------------------------
    async def _receive(self) -> None:
        try:
            async for raw in self._conn:
                msg = ForwardMsg()
                msg.ParseFromString(raw)
                self._take(msg)
        except Exception as e:  # noqa: BLE001 - any end of the connection is this tab's error
            self._fail(f"connection: {type(e).__name__}: {e}")
        else:
            self._fail("the server closed the connection")

    def _take(self, msg: ForwardMsg) -> None:
        kind = msg.WhichOneof("type")
        if kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
            element = msg.delta.new_element
            path = tuple(msg.metadata.delta_path)
            self.elements[path] = element
            self.curves.pop(path, None)
            if element.WhichOneof("type") == "plotly_chart" and element.plotly_chart.spec:  # read once, here
                data = json.loads(element.plotly_chart.spec).get("data") or [{}]
                self.curves[path] = trace_length(data[0].get("y"))
            self._changed.set()
            self._note_widget(element, msg.delta.fragment_id)
            if element.WhichOneof("type") == "exception":
                self.errors.append(f"exception on the page: {element.exception.type}: {element.exception.message}")
        elif kind == "new_session":
            if not self._fragment_run:  # a whole-page run: its fragments announce their auto-reruns again
                self.auto_reruns.clear()
        elif kind == "navigation":  # st.navigation: the page this run drew (new_session names the main script)
            self.page_hash = msg.navigation.page_script_hash
        elif kind == "page_info_changed":
            self.query = msg.page_info_changed.query_string
        elif kind == "auto_rerun":
            self.auto_reruns[msg.auto_rerun.fragment_id] = msg.auto_rerun.interval
        elif kind == "stop_auto_rerun":
            for fragment in msg.stop_auto_rerun.fragment_ids:
                self.auto_reruns.pop(fragment, None)
        elif kind == "script_finished" and msg.script_finished == FINISHED.Value("FINISHED_EARLY_FOR_RERUN"):
            self._fragment_run = False  # st.rerun(): the whole page runs next
        elif kind == "script_finished":
            if self._finished is not None and not self._finished.done():
                self._finished.set_result(msg.script_finished)

    def _note_widget(self, element, fragment_id: str) -> None:
        kind = element.WhichOneof("type")
        if kind in ("button", "selectbox", "number_input", "checkbox", "text_input", "slider"):
            self.widgets[getattr(element, kind).label] = (element, fragment_id)

    def _fail(self, reason: str) -> None:
        if self._finished is not None and not self._finished.done():
            self._finished.set_exception(PageError(reason))

    async def _auto_rerun(self) -> None:
        """The live view's fragment reruns itself every `interval` s: the browser sends those reruns."""
        due: dict[str, float] = {}
        while True:
            now = time.monotonic()
            await asyncio.sleep(max(0.05, min((due.get(f, now) for f in self.auto_reruns), default=now + 0.1) - now))
            now = time.monotonic()
            for fragment, interval in list(self.auto_reruns.items()):
                if now >= due.setdefault(fragment, now + interval) and not self._busy.locked():
                    due[fragment] = now + interval
                    await self.rerun(fragment_id=fragment, kind="poll")


def trace_length(values) -> int:
    """Length of a Plotly trace's y: a list, or a typed array ({"dtype": "f8", "bdata": base64})."""
    if isinstance(values, list):
        return len(values)
    if isinstance(values, dict) and "bdata" in values:
        return len(base64.b64decode(values["bdata"])) // int(re.sub(r"\D", "", values.get("dtype", "f8")) or 8)
    return 0


@dataclass
class Student:
    """What one simulated student did and saw (time.monotonic() seconds; None: never happened)."""

    name: str
    workspace: str | None = None
    run_id: str | None = None
    pressed: float | None = None
    first_point: float | None = None
    finished_seen: float | None = None
    finished_wall: float | None = None  # time.time() when the page said finished (for status.json's lag)
    ended_with: str | None = None
    errors: list[str] = field(default_factory=list)


async def prepare(student: Student, url: str, timings: Timings, epochs: int) -> Tab:
    """A fresh visit that loads the template, then a reload of the workspace's link onto the Train page;
    returns that Train page, its epochs set, ready for the click."""
    build = Tab(url, timings)
    try:
        await build.open("build")
        await build.choose("Start from a template", templates.TEMPLATES[TEMPLATE].title)
        await build.press("Load")
        if not build.says(f"Loaded the template “{templates.TEMPLATES[TEMPLATE].title}”"):
            raise PageError("the Build page does not say the template was loaded")
        student.workspace = dict(part.split("=", 1) for part in build.query.split("&") if "=" in part).get("ws")
        student.errors += build.errors
    finally:
        await build.close()
    if not student.workspace:
        raise PageError("the app gave the fresh visit no workspace (?ws=) in its address")
    train = Tab(url, timings)
    await train.open("train", f"ws={student.workspace}")
    if not train.says(f"Model **{templates.TEMPLATES[TEMPLATE].spec_dict['name']}**"):
        raise PageError(f"the reopened workspace does not show the model of the template {TEMPLATE!r}")
    await train.type_number("epochs", epochs)
    return train


async def train_and_watch(student: Student, train: Tab, timeout_s: float) -> None:
    """Press Train, then let the live view poll until the page says the run ended."""
    student.pressed = time.monotonic()
    await train.press("Train")
    deadline = student.pressed + timeout_s
    while time.monotonic() < deadline:
        now = time.monotonic()
        student.run_id = student.run_id or train.run_id()
        if student.first_point is None and train.curve_points() >= 1:
            student.first_point = now
        if train.says(*ENDED):
            student.finished_seen, student.finished_wall = now, time.time()
            student.ended_with = next(p for p in ENDED if train.says(p))
            if student.ended_with != ENDED[0]:
                student.errors.append(f"the run ended with {student.ended_with!r}")
            return
        if train.errors:
            return
        await train.changed(timeout=1.0)
    student.errors.append(f"no end of the run on the page within {timeout_s:.0f} s")


async def one_student(student: Student, url: str, timings: Timings, epochs: int, start_in: float,
                      go: asyncio.Event, ready: list, timeout_s: float) -> None:
    await asyncio.sleep(start_in)
    train = None
    try:
        train = await prepare(student, url, timings, epochs)
        ready.append(student)
        await go.wait()
        await train_and_watch(student, train, timeout_s)
    except Exception as e:  # noqa: BLE001 - every failure is a figure of the report
        ready.append(student)
        student.errors.append(f"{type(e).__name__}: {e}")
    finally:
        if train is not None:
            student.errors += train.errors
            await train.close()


async def until_settled(sampler: ServerSampler, limit_s: float) -> float:
    """Wait until the server and its workers are idle (at most `limit_s`): a server started before class has
    warmed its pool by the time students, who build for minutes first, press Train. Returns the wait."""
    start = time.monotonic()
    while time.monotonic() - start < limit_s:
        last = sampler.rows[-3:]
        if len(last) == 3 and all(r["tree_cpu"] < SETTLED_CPU_PERCENT for r in last):
            break
        await asyncio.sleep(0.5)
    return time.monotonic() - start


async def run_class(url: str, n: int, epochs: int, arrive_s: float, timeout_s: float, sampler: ServerSampler,
                    settle_s: float) -> tuple[list, Timings, float]:
    """All students arrive within `arrive_s`; once all are on the Train page, all press Train."""
    first = Tab(url, Timings())  # the teacher's check before class: the server's first visit loads Keras
    await first.open("train")
    await first.close()
    if settle_s > 0:
        print(f"server and its training pool idle {await until_settled(sampler, settle_s):.0f} s after the first "
              "visit", flush=True)
    timings, go, ready = Timings(), asyncio.Event(), []
    students = [Student(f"student {i + 1:02d}") for i in range(n)]
    tasks = [asyncio.create_task(one_student(s, url, timings, epochs, arrive_s * i / max(1, n), go, ready, timeout_s))
             for i, s in enumerate(students)]
    while len(ready) < n:
        await asyncio.sleep(0.1)
    pressed_at = time.monotonic()
    go.set()
    await asyncio.gather(*tasks)
    return students, timings, pressed_at


class ServerSampler:
    """CPU and memory of the server process and of all its children (training workers), once a second."""

    def __init__(self, pid: int):
        import psutil

        self.psutil, self.server = psutil, psutil.Process(pid)
        self.rows: list[dict] = []
        self._seen: dict[int, object] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def start(self) -> ServerSampler:
        self.server.cpu_percent()
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _loop(self) -> None:
        while not self._stop.wait(1.0):
            try:
                children = self.server.children(recursive=True)
                server_cpu, server_rss = self.server.cpu_percent(), self.server.memory_info().rss
            except self.psutil.Error:
                return
            tree_cpu, tree_rss = server_cpu, server_rss
            for child in children:
                proc = self._seen.setdefault(child.pid, child)
                try:
                    tree_cpu += proc.cpu_percent()
                    tree_rss += proc.memory_info().rss
                except self.psutil.Error:
                    continue
            self.rows.append({"t": time.monotonic(), "server_cpu": server_cpu, "server_rss": server_rss,
                              "tree_cpu": tree_cpu, "tree_rss": tree_rss, "processes": 1 + len(children)})


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def finish_lag(student: Student, runs_dir: Path) -> float | None:
    """How long after the run's status.json said it ended the page said so."""
    try:
        status = json.loads((runs_dir / student.run_id / "status.json").read_text())
        return student.finished_wall - float(status["finished"])
    except (OSError, TypeError, KeyError, ValueError):
        return None


def fmt(v, unit: str = "s") -> str:
    return "—" if v is None else f"{v:.2f} {unit}".strip()


def report(students: list[Student], timings: Timings, samples: list[dict], runs_dir: Path, wall_s: float) -> bool:
    print(f"\n{len(students)} students · page responses (BackMsg rerun → script finished):")
    for kind, values in sorted(timings.by_kind.items()) + [("all", timings.all())]:
        print(f"  {kind:12} n={len(values):5}  p50 {fmt(percentile(values, 50))}  p95 {fmt(percentile(values, 95))}"
              f"  max {fmt(max(values) if values else None)}")
    print("\nper student: Train → first curve point, Train → finished on the page, page lag behind status.json")
    firsts, ends = [], []
    for s in students:
        first = s.first_point - s.pressed if s.first_point and s.pressed else None
        end = s.finished_seen - s.pressed if s.finished_seen and s.pressed else None
        firsts += [first] if first is not None else []
        ends += [end] if end is not None else []
        lag = finish_lag(s, runs_dir) if s.finished_wall and s.run_id else None
        print(f"  {s.name}  run {s.run_id or '—':24} first point {fmt(first):>9}  finished {fmt(end):>9}  "
              f"lag {fmt(lag):>7}  {'; '.join(s.errors)[:160]}")
    for name, values in (("first point", firsts), ("finished", ends)):
        print(f"  {name:12} p50 {fmt(percentile(values, 50))}  p95 {fmt(percentile(values, 95))}  "
              f"max {fmt(max(values) if values else None)}")
    errors = [e for s in students for e in s.errors]
    print(f"\nerrors: {len(errors)}" + "".join(f"\n  {e}" for e in errors[:20]))
    if samples:
        mb = 1024 * 1024
        print(f"server process: CPU mean {statistics.mean(r['server_cpu'] for r in samples):.0f} % "
              f"(max {max(r['server_cpu'] for r in samples):.0f} %), memory {samples[0]['server_rss'] / mb:.0f} MB "
              f"at start → max {max(r['server_rss'] for r in samples) / mb:.0f} MB → {samples[-1]['server_rss'] / mb:.0f} "
              f"MB at the end")
        print(f"server + workers: CPU mean {statistics.mean(r['tree_cpu'] for r in samples):.0f} %, memory max "
              f"{max(r['tree_rss'] for r in samples) / mb:.0f} MB in up to {max(r['processes'] for r in samples)} "
              f"processes")
    print(f"this load generator: {time.process_time() / wall_s:.0%} of a core; machine load average "
          f"{' / '.join(f'{x:.1f}' for x in os.getloadavg())} (1 / 5 / 15 min) on {os.cpu_count()} cores")
    p95 = percentile(timings.all(), 95)
    print(f"\nwall time {wall_s:.0f} s · target: no error, p95 page response ≤ {TARGETS['p95_page_s']} s → "
          f"{'met' if not errors and p95 is not None and p95 <= TARGETS['p95_page_s'] else 'NOT met'}")
    return not errors


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--students", type=int, default=60)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--arrive", type=float, default=20.0, help="seconds over which the students open the app")
    ap.add_argument("--timeout", type=float, default=2400, help="seconds each student waits for its run's end")
    ap.add_argument("--settle", type=float, default=180.0,
                    help="at most this long, wait after the first visit until the server and its pool are idle "
                         "(0: the class arrives at once, while the pool still warms up)")
    ap.add_argument("--runs-dir", default=None)
    ap.add_argument("--executor", choices=("local", "ray"), default="local")
    args = ap.parse_args()
    runs_dir = Path(args.runs_dir or tempfile.mkdtemp(prefix="layerlab-load-")) / "runs"
    runs_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    server = start_server(runs_dir, port, {
        "LAYERLAB_EXECUTOR": args.executor, "LAYERLAB_HOME": str(runs_dir.parent / "workspaces"),
        "LAYERLAB_MAX_WORKSPACES": str(max(500, 2 * args.students))})
    url = f"http://127.0.0.1:{port}"
    sampler = ServerSampler(server.pid).start()
    try:
        start = time.monotonic()
        students, timings, _ = asyncio.run(run_class(url, args.students, args.epochs, args.arrive, args.timeout,
                                                     sampler, args.settle))
        wall = time.monotonic() - start
    finally:
        sampler.stop()
        server.terminate()
        server.wait(timeout=30)
    ok = report(students, timings, sampler.rows, runs_dir, wall)
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
