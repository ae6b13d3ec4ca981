"""Live explanations while a model trains: one saliency stack or boundary grid per epoch.

The trainer attaches `LiveExplainCallback`; the app polls `run_dir/live/`.
Files are written atomically (temp file + rename) so a reader never sees a
half-written array, and any failure is logged, never raised: an explanation
must not be able to stop a training run.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

import keras
import numpy as np

from builder.train.watch import PICTURE_SIZE

log = logging.getLogger(__name__)

KINDS = ("saliency", "boundary")


def saliency_path(run_dir, epoch: int) -> Path:
    return Path(run_dir) / "live" / f"saliency_e{epoch:03d}.npy"


def boundary_path(run_dir, epoch: int) -> Path:
    return Path(run_dir) / "live" / f"boundary_e{epoch:03d}.npz"


def live_saliency(model, x, target=None) -> np.ndarray:
    """float32 (n, h, w) vanilla-gradient saliency, each map scaled to [0, 1]."""
    from builder.explain.methods import explain, normalize, to_map

    return normalize(to_map(explain(model, x, "saliency", target=target))).astype("float32")


def shrink(pictures: np.ndarray, size: int = PICTURE_SIZE) -> np.ndarray:
    """(n, h, w[, c]) float pictures at most `size` pixels a side, each output pixel the mean of the area it
    covers (Pillow's box filter); smaller ones unchanged. The live view shows no more, and a 1024² run's
    files stay a few hundred kilobytes an epoch instead of 32 MB."""
    from PIL import Image

    n, h, w = pictures.shape[:3]
    if max(h, w) <= size:
        return pictures
    new_w, new_h = max(1, round(w * size / max(h, w))), max(1, round(h * size / max(h, w)))
    planes = pictures.reshape(n, h, w, -1).astype("float32")
    out = np.stack([np.stack([np.asarray(Image.fromarray(plane[..., k]).resize((new_w, new_h), Image.Resampling.BOX))
                              for k in range(planes.shape[-1])], axis=-1) for plane in planes])
    return out.reshape((n, new_h, new_w) + pictures.shape[3:])


class LiveExplainCallback(keras.callbacks.Callback):
    """After each epoch, write `live/saliency_eNNN.npy` or `live/boundary_eNNN.npz`.

    `epoch` in the file name is 1-based (the epoch just finished), like the
    `epoch` field of metrics.jsonl. `y_probe` (true labels) chooses the class
    explained; None explains the predicted class. For kind="boundary",
    `x_probe` are the 2-D training points that frame the grid. `image_shape`
    (h, w): where a model takes images flattened, its maps are folded back
    into pictures of that size. Maps are saved at most `PICTURE_SIZE` a side.
    """

    def __init__(self, run_dir, x_probe, y_probe=None, kind: str = "saliency", steps: int = 60, every: int = 1,
                 image_shape=None):
        super().__init__()
        if kind not in KINDS:
            raise ValueError(f"unknown live explanation kind {kind!r}; use one of {', '.join(KINDS)}")
        self.run_dir = Path(run_dir)
        self.x_probe = np.asarray(x_probe, dtype="float32")
        self.y_probe = None if y_probe is None else np.asarray(y_probe).astype("int64").reshape(-1)
        self.kind = kind
        self.steps = steps
        self.every = max(1, int(every))
        self.failures = 0
        self.image_shape = tuple(image_shape) if image_shape else None

    def on_epoch_end(self, epoch, logs=None):
        number = int(epoch) + 1
        if number % self.every:
            return
        try:
            self.write(number)
        except Exception as err:  # never into training: log and carry on
            self.failures += 1
            log.warning("live %s for epoch %d skipped: %s", self.kind, number, err)

    def write(self, number: int) -> Path:
        if self.kind == "saliency":
            target = self.y_probe if self.y_probe is not None and self.y_probe.size == len(self.x_probe) else None
            maps = live_saliency(self.model, self.x_probe, target)
            if self.image_shape and maps.ndim == 2 and maps.shape[1] == np.prod(self.image_shape):
                maps = maps.reshape((len(maps),) + self.image_shape)
            maps = shrink(maps) if maps.ndim == 3 else maps
            return atomic_save(saliency_path(self.run_dir, number), lambda f: np.save(f, maps))
        from builder.explain.boundary import decision_boundary

        xx, yy, probs = decision_boundary(self.model, self.x_probe, steps=self.steps)
        arrays = {"xx": xx.astype("float32"), "yy": yy.astype("float32"), "probs": probs.astype("float32")}
        return atomic_save(boundary_path(self.run_dir, number), lambda f: np.savez(f, **arrays))


def atomic_save(path: Path, write) -> Path:
    """Write a binary file through `write(f)` so readers see the old file or the whole new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:  # a file object: np.save/np.savez add no extension
            write(f)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path
