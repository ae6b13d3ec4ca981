"""The one place that owns the app's `st.session_state` keys: `KEYS` declares each (what it holds, whether it
is saved to the workspace, its default), and pages and the other ui modules read and write them only through
the functions below (a test scans the sources for any other use).

Session state holds only plain JSON-able data and ids, never models or arrays. The saved keys are written to
the workspace's folder on every change (the folder is made by the first save, not by a visit) and restored
from it when a session opens the app with `?ws=<id>` (a reload, a new tab, the bookmarked link on another
machine) or, without a link, from the browser's cookie (`WS_COOKIE`, set by app.py once the workspace exists).
A save from an older version keeps another tab's newer edits, and every rerun takes in what another tab saved.
Session-only keys (one-time notices, widget values read elsewhere) go through `peek`, `put`, `take` and `has`.
"""
from __future__ import annotations

import copy
import fnmatch
import json
from dataclasses import dataclass
from typing import Any

import streamlit as st

from builder import settings
from builder.experiments import templates
from builder.store.workspace import STATE, TEACHER, QuotaExceeded, Workspaces, new_id


@dataclass(frozen=True)
class Key:
    """One session key: `name` (a trailing `*` declares a family, one key per run, class or field), what it
    holds, whether the workspace saves it, and its value before anything is set."""
    name: str
    holds: str
    saved: bool = False
    default: Any = None


KEYS = (
    # the student's work, saved to the workspace
    Key("spec", "the model spec dict (layerlab/model@1): the single source of truth", True),
    Key("history", "undo stack of spec dicts", True, []),
    Key("future", "redo stack of spec dicts", True, []),
    Key("data_history", "beside each undo step, the data choice it changed ({data, upload_id} as it was; None "
        "for a step that kept the data): Undo after a template brings the student's data back", True, []),
    Key("data_future", "the same beside each redo step", True, []),
    Key("data", "the experiment's data dict ({dataset, options, validation_split, test_split})", True),
    Key("upload_id", "key of an uploaded dataset in the server-side cache (ui/datacache.py)", True),
    Key("augmentation", "list of {type, params}", True, []),
    Key("training", "the experiment's training dict (edited on the Train page)", True, {}),
    Key("run_id", "the current run", True),
    Key("name", "the student's display name, shown to the teacher", True, ""),
    Key("admitted", "the workspace gave the class code once", True, False),
    Key("welcome_dismissed", "the student closed Build's welcome box", True, False),
    Key("gan_part", "for a GAN: which network 'spec' holds ('generator' or 'discriminator'); else None", True),
    Key("gan_other", "for a GAN: the other network with its own undo stacks ({spec, history, future})", True),
    # this session's model view and workspace bookkeeping
    Key("selected", "the selected node id, or None"),
    Key("spec_version", "a counter that changes whenever the spec is replaced (the canvas redraws)", default=0),
    Key("ws", "the workspace id (builder.store.workspace)"),
    Key("ws_base", "the saved state this session last read or wrote, with its 'version'", default={}),
    Key("ws_stamp", "the state file's (mtime, size) when last looked at: another tab saved when it differs"),
    Key("ws_new", "a new workspace: the sidebar shows its link once, opened", default=False),
    Key("ws_left", "this session left a workspace for a new one: the browser's cookie no longer opens it",
        default=False),
    Key("ws_notice", "a one-time sentence about the workspace (another tab's change taken in, work reset)"),
    Key("ws_error", "a one-time sentence: the workspace could not be saved (the server is full)"),
    Key("teacher", "this session gave the teacher key (or its browser holds the teacher's proof)", default=False),
    Key("_layerlab_app_ran", "app.py has run in this session (ui.navigation: deep links on a fresh server)",
        default=False),
    Key("_sidebar_model_summary", "the model summary the sidebar shows right now (ui.feedback.SIDEBAR_SUMMARY)"),
    # one-time notices and errors, each shown once by the page that owns it
    Key("build_notice", "Build: what the last action did"),
    Key("build_error", "Build: why the last action changed nothing"),
    Key("data_notice", "Data: the data just chosen"),
    Key("mydata_notice", "My data: what the last change did"),
    Key("mydata_error", "My data: why the last change was refused"),
    Key("fix_error", "a one-click fix that could not be applied"),
    Key("train_notice", "Train: a note about the run just started"),
    Key("train_error", "Train: why a run could not start or stop (stays until the next start)"),
    Key("*_continue_error", "why 'Continue' could not go on with a run (one per page)"),
    Key("sweep_notice", "Sweep: the best settings were taken to the Train page"),
    Key("sweep_error", "Sweep: why a sweep could not start"),
    Key("export_note", "Runs: (kind, sentence) about the last export or sharing change"),
    # this session's page state
    Key("train_own_runs", "runs this session started (their live view shows before the worker writes)", default=[]),
    Key("train_started", "a run was just started: Train scrolls to its live view once", default=False),
    Key("sweep_id", "the sweep this session started last"),
    Key("_canvas_ack", "the last canvas operation already applied (its sequence number)", default=0),
    Key("try_run_seen", "Try has taken the run named in its address once", default=False),
    Key("try_point", "Try: the (x, y) point the student picked on the 2-D plot"),
    Key("try_point_clicked", "Try: the last clicked point, so a rerun does not take it again"),
    Key("try_gan_seed", "Try: the noise seed of the generated pictures", default=0),
    Key("mydata_shots", "My data: camera snapshots taken (a fresh camera widget after each)", default=0),
    Key("widget_rounds", "per widget name, how many times it was renewed (`widget_key`: the recorder and the "
        "file uploader come back empty)"),
    Key("mydata_texts", "My data: the pasted texts, (class name, lines) per text area, kept while the page is left"),
    # widget values (Streamlit owns them under the widget's key) read or set outside their widget
    Key("canvas", "the canvas component's value: the student's operations"),
    Key("try_pad", "Try's drawing pad: the picture drawn"),
    Key("mydata_pad", "My data's drawing pad: the picture drawn"),
    Key("build_tab", "Build: the tab shown"),
    Key("explain_view", "Explain: the view shown"),
    Key("data_pick", "Data: the dataset picker (emptied so it shows a new choice)"),
    Key("hp_*", "Train: a hyperparameter's box (set by a one-click fix)"),
    Key("gan_part_pick", "Build: the GAN network picker"),
    Key("share_*", "Runs: a run's 'share with the class' switch"),
    Key("confirm_delete", "Runs: the 'yes, delete' box (cleared after a delete)"),
    Key("class_hidden", "Class: the rows the teacher hides"),
    Key("ws_name", "the sidebar's name box (emptied for the next person by 'Start a new workspace')"),
    Key("mydata_class", "My data: the class the next example goes to"),
    Key("mydata_rename_*", "My data: a class's rename field (put back when a name is refused)"),
    Key("try_run", "Try: the run picked"),
    Key("try_row", "Try: the test example that starts the feature sliders"),
    Key("try_seq", "Try: the test example that starts the sequence editor"),
)
SAVED = tuple(k.name for k in KEYS if k.saved)
# What "Start a new workspace" keeps: the browser's, not the student's (the canvas' event counters go on rising)
KEPT_FOR_NEXT_PERSON = ("teacher", "_layerlab_app_ran", "spec_version", "_canvas_ack", "canvas")
HISTORY_LIMIT = 100
SAVED_HISTORY = 20  # undo steps kept in the workspace file (the session keeps HISTORY_LIMIT)
WS_COOKIE = "layerlab_ws"  # the browser's last workspace, so retyping the address finds it again
TEACHER_COOKIE = "layerlab_teacher"  # a proof of the teacher key for this browser session (never the key)
ONE_YEAR_S = 365 * 24 * 3600
OTHER_TAB = "This workspace changed in another tab — reloaded its newer work here."


def declared(name: str) -> Key:
    """The declaration of session key `name`; a key `KEYS` does not declare is a KeyError (a bug to fix)."""
    for k in KEYS:
        if k.name == name or ("*" in k.name and fnmatch.fnmatchcase(name, k.name)):
            return k
    raise KeyError(f"session key {name!r} is not declared in ui.state.KEYS")


def peek(name: str) -> Any:
    """Session key `name`'s value (a copy of a saved one: change it through put), its declared default while
    unset."""
    key = declared(name)
    if key.saved:
        init()
    if name not in st.session_state:
        return copy.deepcopy(key.default)
    return copy.deepcopy(st.session_state[name]) if key.saved else st.session_state[name]


def put(name: str, value: Any) -> None:
    """Set session key `name` (a saved key is saved to the workspace too)."""
    if declared(name).saved:
        _set(name, value)
    else:
        st.session_state[name] = value


def take(name: str) -> Any:
    """Session key `name`'s value, removed (a one-time notice is shown once); its default while unset."""
    default = copy.deepcopy(declared(name).default)
    return st.session_state.pop(name, default)


def has(name: str) -> bool:
    """Whether session key `name` is set now."""
    declared(name)
    return name in st.session_state


def default_data(dataset: str | None = None) -> dict:
    return {"dataset": dataset or templates.DEFAULT_DATASET, "options": {}, "validation_split": 0.2, "test_split": 0.2}


def first_visit() -> dict:
    """What a first-time user gets: the template made for the default dataset, with its settings."""
    return templates.experiment(templates.for_dataset(templates.DEFAULT_DATASET))


def workspaces():
    return Workspaces(settings.home_dir())


def init() -> None:
    """Open this session's workspace (restoring its saved work) or take in what another tab saved since this
    session last looked (a stat of its file: every accessor calls this, a click's callback too), then fill any
    missing key with its first-visit value (idempotent)."""
    ss = st.session_state
    if "ws" not in ss:
        _open_workspace()
    else:
        _follow_other_tabs()
        if "spec_version" in ss:  # set up: spec_version is filled last, and never taken away
            return
    if "spec" not in ss:
        exp = first_visit()
        ss["spec"] = exp["model"]
        ss.setdefault("data", default_data(exp["data"]["dataset"]))
        ss.setdefault("training", exp["training"])
    if "data" not in ss:
        ss["data"] = default_data()
    for name in ("history", "future", "selected", "upload_id", "augmentation", "training", "run_id", "spec_version"):
        if name not in ss:
            ss[name] = copy.deepcopy(declared(name).default)


def _open_workspace() -> None:
    """The workspace named by `?ws=`, else the one this browser used last (its cookie), restored and checked
    field by field; else a new id, whose folder the first save makes. The id goes into the URL."""
    ss = st.session_state
    store = workspaces()
    cookie = None if ss.get("ws_left") else st.context.cookies.get(WS_COOKIE)  # not the one just left
    ws = next((w for w in (st.query_params.get("ws"), cookie) if store.exists(w)), None)
    if ws:
        opened = store.open(ws)
        for key, value in opened.state.items():
            if key in SAVED:
                ss[key] = copy.deepcopy(value)
        ss["ws_base"] = opened.state
        if opened.reset:
            ss["ws_notice"] = ("Some of your saved work could not be read and was reset: " + ", ".join(opened.reset)
                               + ". Everything else is as you left it.")
    else:
        ws = new_id()
        ss["ws_new"] = True  # the sidebar shows the link once, prominently
        ss["ws_base"] = {}
    ss["ws"] = ws
    ss["ws_stamp"] = _stamp(store, ws)
    st.query_params["ws"] = ws


def _stamp(store, ws: str) -> tuple | None:
    """The state file's (mtime, size): a cheap sign that another tab saved."""
    try:
        info = (store.folder(ws) / STATE).stat()
    except (OSError, ValueError):  # not saved yet, or a session key that is no workspace id
        return None
    return info.st_mtime_ns, info.st_size


def _follow_other_tabs() -> None:
    """Take in what another tab of this workspace saved since this session last looked, and say so."""
    ss = st.session_state
    store = workspaces()
    stamp = _stamp(store, ss["ws"])
    if stamp == ss.get("ws_stamp"):
        return
    ss["ws_stamp"] = stamp
    disk = store.load(ss["ws"])
    if "ws_base" not in ss:  # a session given its workspace directly (a test) follows from here on
        ss["ws_base"] = disk
        return
    if disk.get("version") == ss["ws_base"].get("version"):
        return
    base = ss["ws_base"]
    _take_in(disk, [k for k in SAVED if k in disk and disk[k] != base.get(k)])


def _take_in(disk: dict, keys: list[str]) -> None:
    ss = st.session_state
    for key in keys:
        ss[key] = copy.deepcopy(disk[key])
    ss["ws_base"] = disk
    if keys:
        ss["ws_notice"] = OTHER_TAB
    if {"spec", "gan_part"} & set(keys):
        ss["spec_version"] = ss.get("spec_version", 0) + 1
        _fix_selection()


def notices() -> tuple[str | None, str | None]:
    """(a notice, an error) for the student about their workspace, each given once."""
    init()
    return st.session_state.pop("ws_notice", None), st.session_state.pop("ws_error", None)


def start_new_workspace() -> None:
    """Leave this workspace for a new, empty one (a shared computer): its link still opens it, but the
    browser no longer comes back to it."""
    ss = st.session_state
    for key in [k for k in ss if k not in KEPT_FOR_NEXT_PERSON]:  # their work, notices and boxes (their name)
        del ss[key]
    ss["ws_left"] = True
    st.query_params.pop("ws", None)
    init()
    ss["spec_version"] = ss.get("spec_version", 0) + 1  # the canvas draws the new model


def browser_cookies() -> dict[str, tuple[str, int | None]]:
    """The cookies this browser should hold (ui.cookies.remember): its workspace once that holds something
    (emptied after leaving one), and the teacher's proof for the browser session."""
    cookies = {}
    if workspace_saved():
        cookies[WS_COOKIE] = (workspace_id(), ONE_YEAR_S)
    elif st.session_state.get("ws_left"):
        cookies[WS_COOKIE] = ("", None)
    if is_teacher():
        cookies[TEACHER_COOKIE] = (teacher_token(), None)  # until the browser closes
    return cookies


def workspace_saved() -> bool:
    """Whether this workspace has a folder yet (it is made by the first save)."""
    return workspaces().exists(workspace_id())


def uploads() -> list[dict]:
    """The uploads this workspace keeps, oldest first ({"id", "name", "bytes"}; builder.store.workspace)."""
    return workspaces().uploads(workspace_id()) if workspace_saved() else []


def workspace_id() -> str:
    init()
    return st.session_state["ws"]


def is_teacher() -> bool:
    """Whether this session is the teacher's: it gave the teacher key (`?teacher=<LAYERLAB_TEACHER_KEY>`), or
    its browser holds this server's teacher cookie from an earlier page load of the same browser session."""
    import hmac

    ss = st.session_state
    if ss.get("teacher") is not True and (token := teacher_token()):  # no key, no teacher: no cookie to read
        proof = st.context.cookies.get(TEACHER_COOKIE)
        if isinstance(proof, str) and hmac.compare_digest(proof.encode(), token.encode()):
            ss["teacher"] = True
    return ss.get("teacher") is True


def teacher_token() -> str | None:
    """What the teacher's browser keeps instead of the key: an HMAC of a fixed text under the key (None when
    the server has no teacher key)."""
    import hashlib
    import hmac

    key = settings.teacher_key()
    return hmac.new(key.encode(), b"layerlab-teacher-session", hashlib.sha256).hexdigest() if key else None


def admit_teacher(key: str | None) -> bool:
    """Make this session the teacher's when `key` is the server's teacher key; a wrong key gets nothing."""
    import hmac

    expected = settings.teacher_key()
    if expected and isinstance(key, str) and hmac.compare_digest(key.encode(), expected.encode()):
        st.session_state["teacher"] = True
    return is_teacher()


def is_admitted() -> bool:
    """Whether this workspace may use the app: no class code is set, it gave the code once, or it is the
    teacher's session."""
    init()
    return not settings.class_code() or is_teacher() or st.session_state.get("admitted") is True


def admit(code: str) -> bool:
    """Remember in the workspace that it gave the right class code."""
    import hmac

    expected = settings.class_code()
    if expected and hmac.compare_digest(code.strip().encode(), expected.encode()):
        _set("admitted", True)
    return is_admitted()


def viewer() -> str:
    """Who this session is to the engine's run checks: the teacher, else its workspace."""
    return TEACHER if is_teacher() else workspace_id()


def save() -> None:
    """Write the session's work to its workspace (atomic; called on every change). A field group another tab
    changed since this session last looked is taken from there instead, and the student is told."""
    ss = st.session_state
    if "ws" not in ss:
        return
    state = {key: ss[key] for key in SAVED if key in ss}
    for key in ("history", "future", "data_history", "data_future"):
        state[key] = list(state.get(key) or [])[-SAVED_HISTORY:]
    if state.get("gan_other"):  # the GAN network off the canvas keeps its undo steps, trimmed alike
        other = state["gan_other"]
        state["gan_other"] = {**other, "history": other["history"][-SAVED_HISTORY:],
                              "future": other["future"][-SAVED_HISTORY:]}
    store = workspaces()
    try:
        saved = store.save(ss["ws"], copy.deepcopy(state), base=ss.get("ws_base", {}))
    except QuotaExceeded as e:  # the work stays in this session; the sidebar says why it is not saved
        ss["ws_error"] = str(e)
        return
    _take_in(saved.state, [k for k in SAVED if k in saved.state and saved.state[k] != state.get(k)]
             if saved.theirs else [])
    ss["ws_stamp"] = _stamp(store, ss["ws"])


def get_name() -> str:
    init()
    return st.session_state.get("name") or ""


def set_name(name: str) -> None:
    _set("name", name.strip()[:60])


# -- model spec with undo / redo ----------------------------------------------
def get_spec() -> dict:
    """The current spec dict (a deep copy: edit it, then pass it to set_spec)."""
    init()
    return copy.deepcopy(st.session_state["spec"])


def set_spec(new: dict, record: bool = True) -> bool:
    """Make `new` the current spec; `record` pushes the old one on the undo stack.

    Returns False (and changes nothing) when `new` equals the current spec.
    """
    init()
    ss = st.session_state
    old = ss["spec"]
    if _same(old, new):
        return False
    if record:
        ss["data_history"] = (_data_steps("history") + [None])[-HISTORY_LIMIT:]
        ss["history"] = (ss["history"] + [copy.deepcopy(old)])[-HISTORY_LIMIT:]
        ss["future"] = ss["data_future"] = []
    ss["spec"] = copy.deepcopy(new)
    ss["spec_version"] = ss.get("spec_version", 0) + 1
    _fix_selection()
    save()
    return True


def can_undo() -> bool:
    init()
    return bool(st.session_state["history"])


def can_redo() -> bool:
    init()
    return bool(st.session_state["future"])


def undo() -> bool:
    init()
    ss = st.session_state
    if not ss["history"]:
        return False
    _step_data("history", "future")
    ss["future"] = ss["future"] + [ss["spec"]]
    ss["spec"] = ss["history"][-1]
    ss["history"] = ss["history"][:-1]
    ss["spec_version"] = ss.get("spec_version", 0) + 1
    _fix_selection()
    save()
    return True


def redo() -> bool:
    init()
    ss = st.session_state
    if not ss["future"]:
        return False
    _step_data("future", "history")
    ss["history"] = ss["history"] + [ss["spec"]]
    ss["spec"] = ss["future"][-1]
    ss["future"] = ss["future"][:-1]
    ss["spec_version"] = ss.get("spec_version", 0) + 1
    _fix_selection()
    save()
    return True


def _data_steps(stack: str) -> list:
    """The data steps beside undo stack `stack` ("history" or "future"), one per spec step (older saves and a
    GAN's network swap have none: those steps kept the data)."""
    ss = st.session_state
    n = len(ss[stack])
    steps = list(ss.get(f"data_{stack}") or [])[-n:] if n else []
    return [None] * (n - len(steps)) + steps


def _step_data(source: str, target: str) -> None:
    """Move the data step of `source`'s last spec step over to `target`, putting its data choice back."""
    ss = st.session_state
    steps = _data_steps(source)
    step = steps.pop()
    if step is not None:
        now = {"data": ss["data"], "upload_id": ss.get("upload_id")}
        ss["data"], ss["upload_id"] = step["data"], step["upload_id"]
        step = now
    ss[f"data_{source}"] = steps
    ss[f"data_{target}"] = _data_steps(target) + [step]


def spec_version() -> int:
    """A counter that changes whenever the spec is replaced (used to refresh the canvas)."""
    init()
    return st.session_state["spec_version"]


def _same(a: dict, b: dict) -> bool:
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def _fix_selection() -> None:
    ss = st.session_state
    ids = {n.get("id") for n in ss["spec"].get("nodes", []) if isinstance(n, dict)}
    if ss.get("selected") not in ids:
        ss["selected"] = None


# -- selection ------------------------------------------------------------------
def get_selected() -> str | None:
    init()
    return st.session_state["selected"]


def set_selected(node_id: str | None) -> None:
    init()
    st.session_state["selected"] = node_id


# -- data, augmentation, training, run --------------------------------------------
def _get(key: str):
    """A copy of a session value: callers edit it and hand it back with _set."""
    init()
    return copy.deepcopy(st.session_state[key])


def _set(key: str, value) -> None:
    init()
    if st.session_state.get(key) != value:
        st.session_state[key] = copy.deepcopy(value)
        save()


def get_data() -> dict:
    return _get("data")


def set_data(data: dict) -> None:
    _set("data", data)


def get_upload_id() -> str | None:
    return _get("upload_id")


def set_upload_id(upload_id: str | None) -> None:
    _set("upload_id", upload_id)


def get_augmentation() -> list:
    return _get("augmentation")


def set_augmentation(entries: list) -> None:
    _set("augmentation", entries)


def get_training() -> dict:
    return _get("training")


def set_training(training: dict) -> None:
    _set("training", training)


def get_run_id() -> str | None:
    return _get("run_id")


def set_run_id(run_id: str | None) -> None:
    _set("run_id", run_id)


# -- GAN experiments: two networks, one on the canvas --------------------------------
def gan_part() -> str | None:
    """"generator" or "discriminator" (the network on the canvas) for a GAN experiment, else None."""
    init()
    return st.session_state.get("gan_part")


def set_gan_part(part: str) -> None:
    """Put the other network of a GAN on the canvas; each network keeps its own undo and redo."""
    ss = st.session_state
    if gan_part() in (None, part):
        return
    other = ss["gan_other"]
    ss["gan_other"] = {"spec": ss["spec"], "history": ss["history"], "future": ss["future"]}
    ss["spec"], ss["history"], ss["future"] = other["spec"], other["history"], other["future"]
    ss["data_history"] = ss["data_future"] = []  # the other network's steps never changed the data
    ss["gan_part"] = part
    ss["spec_version"] = ss.get("spec_version", 0) + 1
    _fix_selection()
    save()


# -- the whole experiment -------------------------------------------------------------
def experiment_dict() -> dict:
    """layerlab/experiment@1 assembled from spec + data + augmentation + training."""
    init()
    ss = st.session_state
    out = {
        "format": "layerlab/experiment@1",
        "model": copy.deepcopy(ss["spec"]),
        "data": copy.deepcopy(ss["data"]),
        "augmentation": copy.deepcopy(ss["augmentation"]),
        "training": copy.deepcopy(ss["training"]),
    }
    if ss.get("gan_other"):
        other = copy.deepcopy(ss["gan_other"]["spec"])
        generator, discriminator = (other, out["model"]) if ss["gan_part"] == "discriminator" else (out["model"], other)
        out.update(model=generator, gan={"discriminator": discriminator})
    return out


def load_experiment_dict(exp: dict) -> None:
    """Replace spec (undoable), data, augmentation and training from an experiment dict.

    The caller validates `exp` first (builder.experiments.experiment); this only stores it.
    """
    init()
    ss = st.session_state
    before = {"data": copy.deepcopy(ss["data"]), "upload_id": ss.get("upload_id")}
    if exp.get("gan"):  # the network on the canvas stays there (a fix, a reload of the same GAN)
        part = ss.get("gan_part") or "generator"
        mine, other = (exp["gan"]["discriminator"], exp["model"]) if part == "discriminator" else (
            exp["model"], exp["gan"]["discriminator"])
        kept = ss.get("gan_other") or {}
        ss["gan_part"] = part
        ss["gan_other"] = {"spec": copy.deepcopy(other), "history": kept.get("history", []),
                           "future": kept.get("future", [])}
        recorded = set_spec(mine)
    else:
        ss["gan_part"] = ss["gan_other"] = None
        recorded = set_spec(exp["model"])
    if recorded:  # the step just recorded: Undo brings the data back with the model
        ss["data_history"] = _data_steps("history")[:-1] + [before]
    data = default_data()
    data.update(exp.get("data") or {})
    set_data(data)
    set_augmentation(list(exp.get("augmentation") or []))
    set_training(dict(exp.get("training") or {}))


# -- My data: fresh widgets and pasted texts (ui/mydata.py) --------------------------------------
def widget_key(name: str) -> str:
    """The key of widget `name` now; `renew_widget` changes it, so the widget comes back empty (the microphone
    after each clip)."""
    return f"{name}_{st.session_state.get('widget_rounds', {}).get(name, 0)}"


def renew_widget(name: str) -> None:
    rounds = st.session_state.setdefault("widget_rounds", {})
    rounds[name] = rounds.get(name, 0) + 1


def get_pasted_texts() -> list[tuple[str, str]]:
    """My data's pasted texts as (class name, lines) per text area, kept while the page is left."""
    return [tuple(pair) for pair in st.session_state.get("mydata_texts") or []]


def set_pasted_texts(texts: list[tuple[str, str]]) -> None:
    st.session_state["mydata_texts"] = [tuple(pair) for pair in texts]


def keep_choice(key: str, options: list) -> None:
    """Point the choice widget `key` at the first of `options` when what it holds is not one of them."""
    if st.session_state.get(key) not in options:
        st.session_state[key] = options[0]
