"""The live view of one run: status, progress bars, curves, decision boundary, live saliency.

Everything is read from the run folder (the trainer runs in another process);
the Train page calls `live_panel` from an `st.fragment(run_every=…)` that polls
only while the run is queued or running.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from ui import charts

ACTIVE = ("queued", "running")
BADGES = {"queued": ":gray[:material/schedule: queued]", "running": ":blue[:material/sprint: running]",
          "completed": ":green[:material/check_circle: completed]", "stopped": ":orange[:material/stop_circle: stopped]",
          "failed": ":red[:material/error: failed]", "interrupted": ":orange[:material/warning: interrupted]"}
COLORS = {"queued": "#6b7280", "running": "#1d4ed8", "completed": "#15803d", "stopped": "#c2410c",
          "failed": "#b91c1c", "interrupted": "#c2410c"}
_EPOCH_FILE = re.compile(r"_e(\d+)\.(npy|npz)$")


def badge(status: str | None) -> str:
    """A coloured status badge for st.markdown (material icon + word)."""
    return BADGES.get(status or "", status or "unknown")


def status_color(status: str | None) -> str:
    """CSS colour of a status word (for tables)."""
    return f"color: {COLORS.get(status or '', '#111827')}; font-weight: 600"


# -- reading the run folder ---------------------------------------------------------
def run_dir(store, run_id: str) -> Path:
    root = getattr(store, "root", None)
    info = _get(store, run_id)
    path = getattr(info, "path", None) or getattr(info, "dir", None)
    return Path(path) if path else Path(root) / run_id


def _get(store, run_id):
    try:
        return store.get(run_id)
    except (KeyError, FileNotFoundError, ValueError):  # RunNotFound is a KeyError
        return None


def status_of(store, run_id: str) -> dict:
    """status.json of a run as a dict ({} when the run is unknown)."""
    from builder.train import runfolder

    return runfolder.read_status(run_dir(store, run_id))


def metrics_of(store, run_id: str) -> pd.DataFrame:
    try:
        df = store.metrics(run_id)
    except (KeyError, FileNotFoundError, ValueError):
        return pd.DataFrame()
    return df if isinstance(df, pd.DataFrame) else pd.DataFrame(df)


def progress_of(store, run_id: str) -> dict:
    try:
        return store.progress(run_id) or {}
    except (KeyError, FileNotFoundError, ValueError, AttributeError):
        return {}


def latest_live_file(folder: Path, prefix: str) -> tuple[Path | None, int | None]:
    """The newest `live/<prefix>_eNNN.*` file and its epoch number."""
    best, best_epoch = None, None
    live = Path(folder) / "live"
    if not live.is_dir():
        return None, None
    for path in live.glob(f"{prefix}_e*.np*"):
        m = _EPOCH_FILE.search(path.name)
        if m and (best_epoch is None or int(m.group(1)) > best_epoch):
            best, best_epoch = path, int(m.group(1))
    return best, best_epoch


def _load_np(path: Path):
    try:
        if path.suffix == ".npz":
            with np.load(path) as z:
                return {k: z[k] for k in z.files}
        return np.load(path)
    except (OSError, ValueError, EOFError):  # being written right now: next poll gets it
        return None


def latest_running(store) -> str | None:
    """Id of the newest queued or running run (for a reload or a second tab)."""
    try:
        runs = store.list()
    except Exception:  # noqa: BLE001 - an unreadable runs folder means "none"
        return None
    active = [r for r in runs if getattr(r, "status", None) in ACTIVE]
    return active[0].id if active else None


# -- drawing ---------------------------------------------------------------------
def status_message(status: dict, queue_pos: int | None = None) -> None:
    state = status.get("status")
    if state == "failed":
        st.error(f"The run failed: {status.get('error') or 'the trainer stopped without saying why.'}")
    elif state == "queued":
        where = f" (position {queue_pos} in the queue)" if queue_pos else ""
        st.info(f"Waiting for a free trainer{where}: other runs are training. It starts on its own.")
    elif state == "stopped":
        st.warning(f"Stopped{_at_epoch(status)}. The model so far is saved — see Explain for its results.")
    elif state == "interrupted":
        st.warning("This run was interrupted when the server stopped; its metrics so far are kept.")
    elif state == "completed":
        st.success("Training finished. Open **Explain** for test metrics and saliency maps.")


def _at_epoch(status: dict) -> str:
    e = status.get("epoch")
    return f" after epoch {e}" if isinstance(e, int) else ""


def progress_bars(progress: dict, df: pd.DataFrame, epochs_planned: int | None) -> None:
    epochs = progress.get("epochs") or epochs_planned or 0
    done = len(df)
    if epochs:
        st.progress(min(1.0, done / epochs), text=f"epoch {min(done + 1, epochs) if done < epochs else epochs} of {epochs}"
                    f" — {done} finished")
    batches = progress.get("batches")
    if batches:
        b = progress.get("batch", 0)
        loss = progress.get("loss")
        extra = f", loss {loss:.4f}" if isinstance(loss, (int, float)) else ""
        st.progress(min(1.0, b / batches), text=f"batch {b} of {batches}{extra}")


def curves(df: pd.DataFrame, key: str) -> None:
    if df.empty:
        st.caption("The first curve point appears after the first epoch.")
        return
    st.plotly_chart(charts.training_curves(df), width="stretch", key=key)


def boundary(folder: Path, key: str) -> bool:
    """Draw the newest decision boundary of a 2-D dataset; False when there is none."""
    path, epoch = latest_live_file(folder, "boundary")
    if path is None:
        return False
    grid = _load_np(path)
    if not grid or "probs" not in grid:
        return False
    probes = _load_np(Path(folder) / "live" / "probes.npz") if (Path(folder) / "live" / "probes.npz").exists() else None
    pts, labels = (probes.get("x"), probes.get("y")) if probes else (None, None)
    fig = charts.boundary_figure(grid["xx"], grid["yy"], grid["probs"], pts, labels)
    fig.update_layout(title=f"Decision boundary after epoch {epoch}")
    st.plotly_chart(fig, width="stretch", key=key)
    return True


def overlay_images(images, heats) -> list[np.ndarray]:
    """RGB overlays of heat maps on images (builder.explain.overlay, else a plain heat map)."""
    try:
        from builder.explain import overlay
    except ImportError:
        overlay = None
    out = []
    for img, heat in zip(images, heats, strict=False):
        try:
            out.append(charts.to_rgb(overlay(img, heat)) if overlay else charts.to_rgb(heat))
        except Exception:  # noqa: BLE001 - an odd shape should not blank the live view
            out.append(charts.to_rgb(heat))
    return out


def live_saliency(folder: Path, cell: int = 64, cols: int = 4) -> bool:
    """Probe images above their newest saliency overlay, as one picture; False when the run writes none."""
    probes_file = Path(folder) / "live" / "probes.npz"
    path, epoch = latest_live_file(folder, "saliency")
    if path is None or not probes_file.exists():
        return False
    probes, heats = _load_np(probes_file), _load_np(path)
    if not probes or heats is None or "x" not in probes:
        return False
    x = probes["x"][: len(heats)]
    labels = probes.get("y")
    pairs = [np.concatenate([charts.enlarge(charts.to_rgb(img), cell), charts.enlarge(over, cell)], axis=0)
             for img, over in zip(x, overlay_images(x, heats), strict=False)]
    st.markdown(f"**Where the model looks** · after epoch {epoch}")
    caption = "each pair: the input, and its saliency map (bright = the pixels that move the score most)"
    if labels is not None:
        caption += " · labels " + ", ".join(str(v) for v in np.ravel(labels)[: len(pairs)])
    st.image(charts.mosaic(pairs, cols=cols), caption=caption, width="stretch")
    return True
