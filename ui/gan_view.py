"""A GAN experiment on screen (builder.experiments.gan): which network the canvas edits, the live sample grid, and the
results (samples and the walk between two noise vectors).

The pictures are encoded once per file state and shared by every watcher, like the other live views.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import streamlit as st

from builder.experiments.gan import PARTS
from builder.store import runfolder, watch
from ui import charts, state

CELL = 48  # pixels per generated image in a grid (an 8×8 digit enlarged 6×)


def part_selector() -> None:
    """Above the canvas of a GAN: switch between editing the generator and the discriminator."""
    part = state.gan_part()
    if part is None:
        return
    state.put("gan_part_pick", part)
    st.segmented_control("Network on the canvas", list(PARTS), format_func=PARTS.get, key="gan_part_pick",
                         on_change=_switch, help="A GAN is two networks that train against each other: the "
                         "generator draws images from random noise, the discriminator tells real images from "
                         "drawn ones. Each has its own canvas, undo and redo.")


def _switch() -> None:
    picked = state.peek("gan_part_pick")
    if picked:
        state.set_gan_part(picked)


def grid(images, columns: int = 8, cell: int = CELL) -> np.ndarray:
    """(n, h, w, c) images in 0..1 as one RGB picture, `columns` per row, each enlarged to about `cell` px."""
    tiles = [charts.enlarge(_rgb(img), cell) for img in images]
    rows = -(-len(tiles) // columns)
    blank = np.zeros_like(tiles[0])
    tiles += [blank] * (rows * columns - len(tiles))
    pad = [np.pad(t, ((1, 1), (1, 1), (0, 0)), constant_values=40) for t in tiles]
    return np.concatenate([np.concatenate(pad[r * columns:(r + 1) * columns], axis=1) for r in range(rows)], axis=0)


def _rgb(image) -> np.ndarray:
    """Pixels as they are (0..1 → 0..255), not stretched per image as charts.to_rgb does."""
    a = np.clip(np.asarray(image, dtype="float32"), 0, 1)
    a = np.repeat(a, 3, axis=-1) if a.shape[-1] == 1 else a[..., :3]
    return (a * 255).astype(np.uint8)


@st.cache_resource(show_spinner=False, max_entries=32)
def _grid_url(path: str, stamp) -> str | None:
    try:
        images = np.load(path)
    except (OSError, ValueError):
        return None
    return charts.png_data_url(grid(images))


def live_samples(folder: Path) -> bool:
    """The newest sample grid of a GAN run (the same noise every epoch); False when the run writes none."""
    path, epoch = watch.latest_live_file(folder, runfolder.GAN_LIVE_PREFIX)
    url = _grid_url(str(path), watch.file_stamp(path)) if path else None
    if url is None:
        return False
    st.markdown(f"**What the generator draws** · after epoch {epoch}")
    st.caption("the same random noise every epoch, so you watch the same drawings sharpen")
    st.image(url)
    return True


def is_gan_run(folder: Path) -> bool:
    return (Path(folder) / runfolder.GAN_SAMPLES).exists()


@st.cache_resource(show_spinner=False, max_entries=16)
def _results_urls(path: str, stamp) -> tuple[str, str] | None:
    try:
        with np.load(path) as saved:
            images, walk = saved["images"], saved["interpolation"]
    except (OSError, ValueError, KeyError):
        return None
    return charts.png_data_url(grid(images[:64])), charts.png_data_url(grid(walk.reshape((-1,) + walk.shape[2:]),
                                                                            columns=walk.shape[1]))


def results(folder: Path) -> None:
    """A finished GAN run: samples from new noise, and rows that walk from one noise vector to another."""
    path = Path(folder) / runfolder.GAN_SAMPLES
    urls = _results_urls(str(path), watch.file_stamp(path))
    if urls is None:
        st.warning("This GAN run's samples could not be read; train it again.")
        return
    samples, walk = urls
    c1, c2 = st.columns(2)
    with c1:
        st.markdown("**Samples** · drawn from fresh random noise")
        st.image(samples)
    with c2:
        st.markdown("**Interpolation** · each row walks in a straight line from one noise vector to another")
        st.caption("smooth changes mean the generator learned a continuous space of images, not a list of copies")
        st.image(walk)
