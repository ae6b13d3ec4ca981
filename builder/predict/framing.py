"""A student's picture made to look like the run's data: pure functions, no model, no Keras.

A drawing on white paper, a webcam snapshot or a phone photo rarely looks like
a training image: digits are light strokes on black, 8×8, the digit filling
the box; MNIST keeps a 4-pixel margin. `data_look` measures what the data's
pictures look like (background dark or light, plain or busy, how much of the
box the content fills) and `frame` turns any picture into one raw input:

    picture ─ grey or colour as the data ─ invert if the paper is the wrong way round ─
            crop to the drawn content ─ square, aspect kept ─ padded as the data ─ resize ─ × raw_max

An upload's header is checked before Pillow decodes it by `datasets.pictures.read_picture`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

INK = 0.25  # a pixel this far from the background (0..1) is content
WORK = 64  # px: the least resolution content is handled at before it is resized to the data's size
THIN = 0.6  # strokes thinner than this share of the data's typical stroke are thickened to it
PLAIN = 0.9  # a background is plain when this share of the pictures have their border's median near the data's



@dataclass(frozen=True)
class DataLook:
    dark: bool  # the pictures' background is dark (digits, MNIST: light strokes on black)
    plain: bool  # the background is one flat value (drawings); False for photos (CIFAR)
    fill: float  # the content's side as a share of the picture's side (MNIST ≈ 0.7, digits ≈ 1)
    stroke: float = 0.0  # the strokes' thickness as a share of the content's side (digits ≈ 0.3)

    @property
    def background(self) -> float:
        return 0.0 if self.dark else 1.0


def grey(picture: np.ndarray) -> np.ndarray:
    """(h, w[, c]) values in 0..1 → (h, w) luminance (ITU-R 601, as Pillow's "L")."""
    p = np.asarray(picture, np.float32)
    if p.ndim == 2:
        return p
    if p.shape[-1] == 1:
        return p[..., 0]
    return p[..., :3] @ np.array([0.299, 0.587, 0.114], np.float32)


def border(image: np.ndarray) -> np.ndarray:
    """The outermost pixels of (…, h, w) images, flattened per image."""
    return np.concatenate([image[..., 0, :], image[..., -1, :], image[..., 1:-1, 0], image[..., 1:-1, -1]], axis=-1)


def is_light(picture: np.ndarray) -> bool:
    """Is the paper light? The median of the picture's border is above one half of white."""
    return bool(np.median(border(grey(to_unit(picture)))) > 0.5)


def data_look(images: np.ndarray) -> DataLook:
    """How a dataset's pictures look, from (n, h, w[, c]) values in 0..1 (a few hundred are plenty)."""
    g = grey(images) if images.ndim == 4 else np.asarray(images, np.float32)
    edge = np.median(border(g), axis=-1)  # each picture's paper
    background = float(np.median(edge))
    plain = float(np.mean(np.abs(edge - background) < INK)) >= PLAIN
    masks = [m for m in np.abs(g - background) > INK if m.any()]
    fills = [_content_side(m) / max(m.shape) for m in masks]
    strokes = [stroke_width(m) / _content_side(m) for m in masks]
    return DataLook(dark=background < 0.5, plain=plain, fill=float(np.median(fills)) if fills else 1.0,
                    stroke=float(np.median(strokes)) if strokes else 0.0)


def stroke_width(mask: np.ndarray) -> float:
    """The typical thickness in pixels of the strokes in a binary picture: 2 × area / outline length
    (a stroke of width w and length l has area w·l and an outline of about 2·l)."""
    m = np.pad(mask, 1)
    outline = np.count_nonzero(m[1:] != m[:-1]) + np.count_nonzero(m[:, 1:] != m[:, :-1])
    return 2.0 * np.count_nonzero(m) / outline if outline else 0.0


def _content_side(mask: np.ndarray) -> int:
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    return max(rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1)


def content_box(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    """(top, bottom, left, right) of the True pixels, bottom/right exclusive; None when there are none."""
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    if not len(rows):
        return None
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


def to_unit(picture: np.ndarray) -> np.ndarray:
    """Pixels (uint8 or 0..1 floats; grey, RGB or RGBA) → float (h, w, 3) in 0..1, transparency on white paper."""
    p = np.asarray(picture)
    p = p.astype(np.float32) / 255.0 if p.dtype == np.uint8 else np.clip(p.astype(np.float32), 0, 1)
    if p.ndim == 2:
        p = p[..., None]
    if p.shape[-1] == 4:
        alpha = p[..., 3:]
        p = p[..., :3] * alpha + (1 - alpha)
    if p.shape[-1] == 1:
        p = np.repeat(p, 3, axis=-1)
    return p


def frame(picture: np.ndarray, shape, raw_max: float, look: DataLook) -> np.ndarray:
    """One raw model input (float32 of `shape` = (h, w, c), values 0..raw_max) from any picture."""
    from PIL import Image

    h, w, c = (tuple(shape) + (1,))[:3]
    p = to_unit(picture)
    if look.plain and is_light(p) == look.dark:  # light paper for dark-background data, or the reverse
        p = 1.0 - p
    p = grey(p)[..., None] if c == 1 else p
    p = _square(_levels(p, look), look, max(WORK, 8 * max(h, w))) if look.plain else _centre_crop(p, w / h)
    out = _per_channel(p, lambda ch: ch.resize((w, h), Image.Resampling.BOX))
    return (np.clip(out, 0, 1) * raw_max).astype(np.float32).reshape(h, w, c)


def _levels(p: np.ndarray, look: DataLook) -> np.ndarray:
    """Greyish paper becomes the data's background and the strongest ink full ink (a photo of a drawing)."""
    ink = p if look.dark else 1.0 - p
    paper, top = float(np.median(border(grey(ink)))), float(ink.max())
    ink = np.clip((ink - paper) / max(top - paper, 1e-3), 0, 1)
    return ink if look.dark else 1.0 - ink


def _square(p: np.ndarray, look: DataLook, work: int) -> np.ndarray:
    """The drawn content, cut out, its strokes as thick as the data's, centred on a square of background with
    the data's margin. The content is first brought to at most `work` pixels, enough to measure strokes."""
    from scipy import ndimage

    p = _shrink(_crop(p, look), work)
    want, have = look.stroke * max(p.shape[:2]), stroke_width(np.abs(grey(p) - look.background) > INK)
    if have < THIN * want:  # a thin pen: thicken its strokes (dilate the ink) to the data's thickness
        size = 2 * int(round((want - have) / 2)) + 1
        thicken = ndimage.maximum_filter if look.dark else ndimage.minimum_filter
        p = np.pad(p, ((size, size), (size, size), (0, 0)), constant_values=look.background)
        p = _crop(thicken(p, size=(size, size, 1), mode="nearest"), look)
    side = int(np.ceil(max(p.shape[:2]) / max(look.fill, 1e-3)))
    out = np.full((side, side, p.shape[-1]), look.background, np.float32)
    top, left = (side - p.shape[0]) // 2, (side - p.shape[1]) // 2
    out[top:top + p.shape[0], left:left + p.shape[1]] = p
    return out


def _crop(p: np.ndarray, look: DataLook) -> np.ndarray:
    """The part of the picture that holds content (all of it when there is none)."""
    box = content_box(np.abs(grey(p) - look.background) > INK)
    if box is None:
        return p
    top, bottom, left, right = box
    return p[top:bottom, left:right]


def _shrink(p: np.ndarray, work: int) -> np.ndarray:
    """At most `work` pixels on the longer side, area-averaged (a big photo or drawing loses nothing visible)."""
    from PIL import Image

    scale = work / max(p.shape[:2])
    if scale >= 1:
        return p
    size = (max(1, round(p.shape[1] * scale)), max(1, round(p.shape[0] * scale)))
    return _per_channel(p, lambda ch: ch.resize(size, Image.Resampling.BOX))


def _per_channel(p: np.ndarray, op) -> np.ndarray:
    """`op` on each channel of (h, w, c) floats as a Pillow "F" picture."""
    from PIL import Image

    return np.stack([np.asarray(op(Image.fromarray(np.ascontiguousarray(p[..., k]))), np.float32)
                     for k in range(p.shape[-1])], axis=-1)


def _centre_crop(p: np.ndarray, aspect: float) -> np.ndarray:
    """The largest centred part of a photo with the data's width/height ratio."""
    h, w = p.shape[:2]
    if w / h > aspect:
        keep = max(1, round(h * aspect))
        return p[:, (w - keep) // 2:(w - keep) // 2 + keep]
    keep = max(1, round(w / aspect))
    return p[(h - keep) // 2:(h - keep) // 2 + keep]


