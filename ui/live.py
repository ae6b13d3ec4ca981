"""The live view of one run: status, progress bars, curves, decision boundary, live saliency.

Everything is read from the run folder (the trainer runs in another process);
the Train page calls `live_panel` from an `st.fragment(run_every=…)` that polls
only while the run is queued or running.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from builder.store import runfolder, watch
from builder.store.runstore import RunStore
from builder.store.workspace import TEACHER, owns
from builder.train import outcome
from datasets import registry
from ui import charts, gan_view, jobs, problems, run_data

ACTIVE = ("queued", "running")
POLL_SECONDS = 0.5  # the live view's poll: a new epoch shows at most this long after it is written
POINTS_POLL_SECONDS = 0.3  # 2-D data: epochs are short and the boundary should move at least twice a second
POLL_COST_S = 0.012  # the web server's time for one poll of a training run (bench/bench_load.py, 20 students)
POLLS_SHARE = 0.4  # of the server's core, what a class's polls may take: clicks and pages need the rest
BADGES = {"queued": ":gray[:material/schedule: queued]", "running": ":blue[:material/sprint: running]",
          "completed": ":green[:material/check_circle: completed]", "stopped": ":orange[:material/stop_circle: stopped]",
          "failed": ":red[:material/error: failed]", "interrupted": ":orange[:material/warning: interrupted]",
          "pruned": ":gray[:material/content_cut: pruned]"}  # a sweep's trial its pruner stopped (builder.sweep)
COLORS = {"queued": "#6b7280", "running": "#1d4ed8", "completed": "#15803d", "stopped": "#c2410c",
          "failed": "#b91c1c", "interrupted": "#c2410c", "pruned": "#6b7280"}


def badge(status: str | None) -> str:
    """A coloured status badge for st.markdown (material icon + word)."""
    return BADGES.get(status or "", status or "unknown")


def status_color(status: str | None) -> str:
    """CSS colour of a status word (for tables)."""
    return f"color: {COLORS.get(status or '', '#111827')}; font-weight: 600"


# -- reading the run folder ---------------------------------------------------------
# Every read is cached on the file's (size, mtime) stamp and shared by all sessions (cache_resource hands
# out the same object, no copy): a poll that finds nothing new reads no file and builds no chart.
# A per-file cache holds every watcher's current file: with fewer entries than watchers, a class's polls
# evict each other's entries and every poll rebuilds (16 entries for 20 students encoded the live pictures
# afresh on each poll).
WATCHED_FILES = 256  # a class of 100, each with its current and previous file, with room
def run_dir(store, run_id: str) -> Path:
    """The run's folder (cheap: no files read)."""
    try:
        return Path(store.path(run_id))
    except (KeyError, FileNotFoundError, ValueError):
        return Path(store.root) / str(run_id)


@st.cache_resource(show_spinner=False, max_entries=4 * WATCHED_FILES)  # status, progress, experiment
def _json(path: str, stamp: tuple | None) -> dict:
    return (runfolder.read_json(path, {}) or {}) if stamp else {}


@st.cache_resource(show_spinner=False, max_entries=WATCHED_FILES)
def _metrics(path: str, stamp: tuple | None) -> pd.DataFrame:
    rows = runfolder.read_jsonl(path) if stamp else []
    return pd.DataFrame(rows)


def json_of(path) -> dict:
    """A JSON file of a run folder as a dict ({} when missing), read once per change. Do not modify it."""
    return _json(str(path), watch.file_stamp(path))


def run_is_points(store, run_id: str) -> bool:
    """Whether a run trains on 2-D points (its live view is the decision boundary)."""
    data = json_of(run_dir(store, run_id) / "experiment.json").get("data") or {}
    if str(data.get("dataset", "")).startswith("upload:"):  # its info means reading the whole upload
        return False
    try:
        return registry.info(data.get("dataset", "")).kind == "points"
    except Exception:  # noqa: BLE001 - uploads and unknown ids: the usual poll
        return False


def status_of(store, run_id: str) -> dict:
    """status.json of a run as a dict ({} when the run is unknown). Do not modify the returned dict."""
    path = run_dir(store, run_id) / "status.json"
    return _json(str(path), watch.file_stamp(path))


def metrics_of(store, run_id: str) -> pd.DataFrame:
    """metrics.jsonl of a run as a table, read once per change of the file."""
    path = run_dir(store, run_id) / "metrics.jsonl"
    return _metrics(str(path), watch.file_stamp(path))


def progress_of(store, run_id: str) -> dict:
    path = run_dir(store, run_id) / "progress.json"
    return _json(str(path), watch.file_stamp(path))


def _load_np(path: Path):
    try:
        if path.suffix == ".npz":
            with np.load(path) as z:
                return {k: z[k] for k in z.files}
        return np.load(path)
    except (OSError, ValueError, EOFError):  # being written right now: next poll gets it
        return None


@st.cache_resource(show_spinner=False, max_entries=WATCHED_FILES)
def _runs(root: str, workspace: str | None, stamp: tuple) -> list:
    return RunStore(root, workspace).list()


def list_runs(store) -> list:
    """store.list() (the runs this session may see), read again only when a run folder was added,
    removed or changed state."""
    return _runs(str(store.root), store.workspace, watch.store_stamp(store.root))


FINISHED = ("completed", "stopped", "interrupted")


def finished_runs(store) -> list:
    """The runs this session may see that ended with a saved model (newest first); an unreadable runs folder
    is shown as an error and counts as none."""
    try:
        runs = list_runs(store)
    except Exception as e:  # noqa: BLE001
        st.error(f"Could not read the runs folder: {jobs.error_text(e)}")
        return []
    return [r for r in runs if getattr(r, "status", None) in FINISHED and (run_dir(store, r.id) / runfolder.MODEL).exists()]


def latest_running(store, states: tuple = ACTIVE, owner: str | None = None) -> str | None:
    """Id of the newest run in `states` (default queued or running: for a reload or a second tab),
    only among `owner`'s runs when given."""
    try:
        runs = list_runs(store)
    except Exception:  # noqa: BLE001 - an unreadable runs folder means "none"
        return None
    active = [r for r in runs if getattr(r, "status", None) in states and (owner is None or owns(owner, r.owner))]
    return active[0].id if active else None


# -- drawing ---------------------------------------------------------------------
def status_message(status: dict, queue_pos: int | None = None, others_training: bool = True) -> None:
    """What a failed, queued, stopped or interrupted run says (a completed one: `end_message`)."""
    state = status.get("status")
    if state == "failed":
        st.error(f"The run failed: {status.get('error') or 'the trainer stopped without saying why.'}")
    elif state == "queued" and not others_training:
        st.info("Starting: the trainer is getting ready (the first run after a server start loads the deep-learning "
                "library, which takes a few seconds).", icon=":material/hourglass_top:")
    elif state == "queued":
        where = f" (position {queue_pos} in the queue)" if queue_pos else ""
        st.info(f"Waiting for a free trainer{where}: other runs are training. It starts on its own.",
                icon=":material/hourglass_top:")
    elif state == "stopped":
        who = " by the teacher" if status.get("stopped_by") == TEACHER else ""
        st.warning(f"Stopped{who}{_at_epoch(status)}. The model so far is saved — see Explain for its results.")
    elif state == "interrupted":
        st.warning("This run was interrupted when the server stopped; its metrics so far are kept.")


def end_message(folder: Path, df: pd.DataFrame, state: str | None) -> None:
    """A finished run's test score, and when it did not learn, the likely cause with a one-click fix: the
    engine's verdict (builder.train.outcome) on the run's evaluation and metrics."""
    if state not in ("completed", "stopped"):
        return
    found = outcome.outcome(json_of(folder / runfolder.EVALUATION), df.to_dict("records"),
                            json_of(folder / runfolder.EXPERIMENT))
    score = f" {found.score}." if found.score else ""
    if found.problem is None:
        if state == "completed":
            st.success(f"Training finished.{score} Open **Explain** for {_explain_shows(folder)}.",
                       icon=":material/check_circle:")
        elif score:
            st.caption(score)
        return
    ended = "Training finished, but the model" if state == "completed" else "Until it stopped, the model"
    st.warning(f"**{ended} did not learn: {found.problem}.**{score}\n\n**Likely cause:** {found.cause}",
               icon=":material/trending_flat:")
    if found.fix:
        st.button(problems.fix_label(found.fix), key=f"outcome_fix_{folder.name}", on_click=problems.apply,
                  args=(found.fix,), icon=":material/auto_fix_high:", help="Change the setting for the next run")


def _side_promise(folder: Path) -> str | None:
    """What the side of the live view will draw for this run's kind (an autoencoder draws nothing there)."""
    experiment = json_of(folder / runfolder.EXPERIMENT)
    if experiment.get("gan"):
        return "The generator's samples appear here after each epoch."
    if (experiment.get("training") or {}).get("task") == "reconstruction":
        return None
    return "Saliency maps (image data) or the decision boundary (2-D points) appear here after each epoch."


def _explain_shows(folder: Path) -> str:
    """What the Explain page has for this run (saliency maps only for runs that draw them)."""
    if gan_view.is_gan_run(folder):
        return "the pictures the generator draws"
    task = json_of(folder / runfolder.EVALUATION).get("task")
    shows = {"classification": "the confusion matrix and every mistake", "regression": "predicted against true values",
             "reconstruction": "inputs beside their reconstructions"}.get(task, "its results")
    if (Path(folder) / "live" / "probes.npz").exists():
        shows += ", and saliency maps"
    return shows


def _at_epoch(status: dict) -> str:
    e = status.get("epochs_done", status.get("epoch"))
    return f" after epoch {e}" if isinstance(e, int) else ""


def progress_bars(progress: dict, df: pd.DataFrame, epochs_planned: int | None, slots=None) -> None:
    """Epoch bar and batch bar (from progress.json), each drawn into its own slot when given."""
    epoch_slot, batch_slot = slots or (st.empty(), st.empty())
    epochs = progress.get("epochs") or epochs_planned or 0
    done = len(df)
    if epochs:
        now = min(done + 1, epochs)
        epoch_slot.progress(min(1.0, done / epochs), text=f"epoch {now} of {epochs} — {done} finished")
    else:
        epoch_slot.empty()
    batches = progress.get("batches")
    if batches and done < (epochs or done + 1):
        b = progress.get("batch", 0)
        loss = progress.get("loss")
        extra = f", loss {loss:.4f}" if isinstance(loss, (int, float)) else ""
        batch_slot.progress(min(1.0, b / batches), text=f"batch {b} of {batches}{extra}")
    else:
        batch_slot.empty()


@st.cache_resource(show_spinner=False, max_entries=WATCHED_FILES)
def _curves_figure(path: str, stamp: tuple | None, fine_tune_from: int | None = None):
    """One figure per state of a metrics file, built once for every watcher (building costs ~50 ms)."""
    return charts.training_curves(_metrics(path, stamp), fine_tune_from=fine_tune_from)


@st.cache_resource(show_spinner=False)
def _empty_figure():
    return charts.training_curves(pd.DataFrame())


def empty_curves(key: str) -> None:
    """Empty loss axes before any run: the browser loads its charting library with the page, not in the
    busy seconds after Train is pressed."""
    st.plotly_chart(_empty_figure(), width="stretch", key=key)


def curves(df: pd.DataFrame, key: str, folder: Path | None = None, fine_tune_from: int | None = None) -> None:
    """Loss and metric curves of a run, the switch to fine-tuning marked; with `folder`, the figure comes from the
    per-file cache."""
    if df.empty:
        # Empty axes rather than nothing: the browser loads its charting library now, not when the
        # first epoch arrives (that load delayed the first point by ~2 s).
        st.caption("The first curve point appears after the first epoch.")
    if folder is not None:
        path = Path(folder) / "metrics.jsonl"
        fig = _curves_figure(str(path), watch.file_stamp(path), fine_tune_from)
    else:
        fig = charts.training_curves(df, fine_tune_from=fine_tune_from)
    st.plotly_chart(fig, width="stretch", key=key)


@st.cache_resource(show_spinner=False, max_entries=WATCHED_FILES)
def _boundary_figure(path: str, epoch: int):
    grid = _load_np(Path(path))
    if not grid or "probs" not in grid:
        return None
    probes_file = Path(path).parent / "probes.npz"
    probes = _load_np(probes_file) if probes_file.exists() else None
    probes = probes or {}
    fig = charts.boundary_figure(grid["xx"], grid["yy"], grid["probs"], probes.get("x"), probes.get("y"),
                                 test_points=probes.get("x_test"), test_labels=probes.get("y_test"))
    fig.update_layout(title=f"Decision boundary after epoch {epoch}")
    return fig


def boundary(folder: Path, key: str) -> bool:
    """Draw the newest decision boundary of a 2-D dataset; False when there is none."""
    path, epoch = watch.latest_live_file(folder, "boundary")
    if path is None:
        return False
    fig = _boundary_figure(str(path), epoch)
    if fig is None:
        return False
    st.plotly_chart(fig, width="stretch", key=key)
    return True


def overlay_images(images, heats) -> list[np.ndarray]:
    """RGB overlays of heat maps on images (builder.explain.overlay, else a plain heat map)."""
    try:
        from builder.explain import overlay  # lazy: imports keras
    except ImportError:
        overlay = None
    out = []
    for img, heat in zip(images, heats, strict=False):
        try:
            out.append(charts.to_rgb(overlay(img, heat)) if overlay else charts.to_rgb(heat))
        except Exception:  # noqa: BLE001 - an odd shape should not blank the live view
            out.append(charts.to_rgb(heat))
    return out


def label_words(labels: list, class_names: tuple[str, ...]) -> list[str]:
    """Each probe's true answer as the student knows it: its class name ("circle"), else the label itself."""
    def word(y):
        if y is None:
            return ""
        if class_names and float(y).is_integer() and 0 <= int(y) < len(class_names):
            return class_names[int(y)]
        return f"label {y}"
    return [word(y) for y in labels]


@st.cache_resource(show_spinner=False, max_entries=WATCHED_FILES)
def _saliency_pictures(path: str, cell: int, class_names: tuple[str, ...] = ()):
    """(PNG data URLs, labels): each probe above its saliency overlay, enlarged to `cell` pixels so an
    8×8 digit is readable, named by its class; None while the files are incomplete.

    Encoded once per live file: a poll re-sends the same URLs (the browser keeps large messages it has
    seen, so the server sends only their hash).
    """
    probes_file = Path(path).parent / "probes.npz"
    probes, heats = _load_np(probes_file), _load_np(Path(path))
    if not probes or heats is None or "x" not in probes:
        return None
    x = probes["x"][: len(heats)]
    pairs = [np.concatenate([charts.enlarge(charts.to_rgb(img), cell), charts.enlarge(over, cell)], axis=0)
             for img, over in zip(x, overlay_images(x, heats), strict=False)]
    labels = np.ravel(probes["y"])[: len(pairs)].tolist() if "y" in probes else [None] * len(pairs)
    return [charts.png_data_url(p) for p in pairs], label_words(labels, class_names)


def live_saliency(folder: Path, cell: int = watch.PICTURE_SIZE) -> bool:
    """Each probe image above its newest saliency overlay, its label under it; False when the run writes none."""
    path, epoch = watch.latest_live_file(folder, "saliency")
    if path is None or not (Path(folder) / "live" / "probes.npz").exists():
        return False
    made = _saliency_pictures(str(path), cell, run_data.class_names(folder))
    if made is None:
        return False
    pictures, labels = made
    st.markdown(f"**Where the model looks** · after epoch {epoch}")
    st.caption("each pair: the input, and its saliency map (bright = the pixels that move the score most)")
    st.image(pictures, caption=labels, width=cell)
    return True


def poll_seconds(points: bool, active_runs: int) -> float:
    """How often a live view polls: twice a second (2-D data: three times), slower once so many runs are
    watched that their polls would take more than POLLS_SHARE of the server's core (60 students: every
    1.8 s, when each of their runs gets a sixtieth of the machine and an epoch takes longer anyway)."""
    usual = POINTS_POLL_SECONDS if points else POLL_SECONDS
    return max(usual, active_runs * POLL_COST_S / POLLS_SHARE)


def live_panel(store, run_id: str, queue_position=None, others_training=lambda run_id: False) -> str | None:
    """The whole live view of one run; returns its status word.

    Every part has a fixed slot (st.empty), so a poll that is cut short by the
    next one replaces elements in place instead of stacking copies.
    """
    current = status_of(store, run_id)
    state = current.get("status")
    header, message, epoch_slot, batch_slot = st.empty(), st.empty(), st.empty(), st.empty()
    with header.container():  # the run's name ("MLP on digits · 3"), and its id, which names its folder
        st.markdown(f"#### {current.get('name') or run_id} — {badge(state)}")
        st.caption(f"Run `{run_id}`")
    df = metrics_of(store, run_id)
    folder = run_dir(store, run_id)
    with message.container():
        queued = state == "queued"
        # anyone's run training (not only those this session may see) means this one waits its turn
        others = queued and others_training(run_id)
        status_message(current, queue_position(run_id) if queue_position and queued else None, others)
        end_message(folder, df, state)
    if state in ACTIVE:
        progress_bars(progress_of(store, run_id), df, current.get("epochs"), (epoch_slot, batch_slot))
    points = watch.latest_live_file(folder, "boundary")[0] is not None
    # 2-D data: the decision boundary is the main view, as large as the curves
    curve_col, side_col = st.columns([1, 1] if points else [3, 2])
    with curve_col, st.empty().container():
        curves(df, key=f"live_curves_{run_id}", folder=folder, fine_tune_from=current.get("fine_tune_from"))
    with side_col, st.empty().container():
        drew = live_saliency(folder)
        drew = boundary(folder, key=f"live_boundary_{run_id}") or drew
        drew = gan_view.live_samples(folder) or drew
        if not drew and state in ACTIVE and (promise := _side_promise(folder)):
            st.caption(promise)
    return state
