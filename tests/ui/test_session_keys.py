"""ui.state owns the session: no other module touches `st.session_state`, every key the app uses is declared
once in `ui.state.KEYS` (and every declared key is used), and the accessors keep to the table (defaults,
one-time notices, saved keys saved to the workspace)."""
from __future__ import annotations

import ast
import fnmatch
import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from ui import state

ROOT = Path(__file__).resolve().parents[2]
APP_SOURCES = [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py")), *sorted((ROOT / "ui").glob("*.py"))]
STATE = ROOT / "ui" / "state.py"
ACCESSORS = {"peek", "put", "take", "has", "declared"}


def _key_text(node: ast.expr) -> str | None:
    """A key as written: a literal, or an f-string as a pattern (each placeholder a `*`)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value if isinstance(v, ast.Constant) else "*" for v in node.values)
    return None  # a name (a module's constant): the accessors' own check covers it when the app runs


def _keys_passed_to_accessors(path: Path) -> list[str]:
    keys = []
    for node in ast.walk(ast.parse(path.read_text())):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in ACCESSORS
                and isinstance(node.func.value, ast.Name) and node.func.value.id == "state" and node.args):
            keys.append(_key_text(node.args[0]))
    return [k for k in keys if k is not None]


def _keys_state_touches() -> list[str]:
    """Literal keys ui/state.py reads or writes on the session itself (`ss[...]`, `ss.get(...)`, `... in ss`)."""
    def is_session(n):
        return (isinstance(n, ast.Name) and n.id == "ss") or (isinstance(n, ast.Attribute) and n.attr == "session_state")

    keys = []
    for node in ast.walk(ast.parse(STATE.read_text())):
        if isinstance(node, ast.Subscript) and is_session(node.value):
            keys.append(_key_text(node.slice))
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and is_session(node.func.value)
              and node.func.attr in ("get", "pop", "setdefault") and node.args):
            keys.append(_key_text(node.args[0]))
        elif isinstance(node, ast.Compare) and any(is_session(c) for c in node.comparators):
            keys.append(_key_text(node.left))
    return [k for k in keys if k is not None]


def test_only_ui_state_touches_the_session_state():
    touching = [p.relative_to(ROOT).as_posix() for p in APP_SOURCES if p != STATE and "session_state" in p.read_text()]
    assert touching == [], "use ui.state's accessors (peek, put, take, has) instead"


def test_every_key_the_app_uses_is_declared_once():
    names = [k.name for k in state.KEYS]
    assert len(names) == len(set(names))
    used = {key for p in APP_SOURCES for key in _keys_passed_to_accessors(p)} | set(_keys_state_touches())
    assert len(used) > 40  # the scan finds the keys (a scan that found none would pass anything)
    assert {key for key in used if not fnmatch.filter(names, key) and not _declared(key)} == set()


def _declared(key: str) -> bool:
    try:
        return state.declared(key) is not None
    except KeyError:
        return False


def test_every_declared_key_is_used_somewhere():
    text = "\n".join(p.read_text() for p in APP_SOURCES if p != STATE) + "\n".join(_keys_state_touches())
    unused = [k.name for k in state.KEYS if max(k.name.split("*"), key=len) not in text]
    assert unused == []


def test_the_saved_keys_are_the_tables_saved_ones():
    assert "spec" in state.SAVED and "welcome_dismissed" in state.SAVED
    assert "ws_notice" not in state.SAVED and "train_own_runs" not in state.SAVED
    assert state.declared("share_run-1").name == "share_*" and state.declared("train_continue_error").saved is False
    with pytest.raises(KeyError, match="not declared"):
        state.declared("no_such_key")


def _script():
    from ui import state

    state.init()
    runs = state.peek("train_own_runs")
    runs.append("changed-a-copy")  # the declared default is a fresh copy, not the table's list
    state.put("build_notice", f"runs {state.peek('train_own_runs')}")
    state.put("welcome_dismissed", True)  # a saved key: saved to the workspace at once
    if state.has("ws_error"):
        state.put("_canvas_ack", state.take("ws_error"))


def test_the_accessors_keep_defaults_notices_and_saving(tmp_path, monkeypatch):
    monkeypatch.setenv("LAYERLAB_HOME", str(tmp_path / "home"))
    at = AppTest.from_function(_script, default_timeout=60).run()
    assert not at.exception
    assert at.session_state["build_notice"] == "runs []"
    saved = json.loads((tmp_path / "home" / at.session_state["ws"] / "state.json").read_text())
    assert saved["welcome_dismissed"] is True
    at.session_state["ws_error"] = "full"
    at.run()
    assert at.session_state["_canvas_ack"] == "full" and "ws_error" not in at.session_state  # taken once
