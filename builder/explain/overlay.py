"""Heatmaps on images, without matplotlib: a small colour look-up table in NumPy."""
from __future__ import annotations

import numpy as np

# Anchor colours of the perceptually uniform viridis map (the same ten stops
# Plotly's `Viridis` colourscale uses); the LUT interpolates between them.
VIRIDIS = ("#440154", "#482878", "#3e4989", "#31688e", "#26828e",
           "#1f9e89", "#35b779", "#6ece58", "#b5de2b", "#fde725")


def _hex(c: str) -> tuple[int, int, int]:
    return int(c[1:3], 16), int(c[3:5], 16), int(c[5:7], 16)


def _viridis(n: int = 256) -> np.ndarray:
    stops = np.array([_hex(c) for c in VIRIDIS], dtype="float64")
    pos = np.linspace(0, 1, len(stops))
    t = np.linspace(0, 1, n)
    return np.stack([np.interp(t, pos, stops[:, k]) for k in range(3)], axis=-1)


def _jet(n: int = 256) -> np.ndarray:
    # The classic piecewise-linear jet: blue → cyan → yellow → red.
    t = np.linspace(0, 1, n)
    r = np.clip(1.5 - np.abs(4 * t - 3), 0, 1)
    g = np.clip(1.5 - np.abs(4 * t - 2), 0, 1)
    b = np.clip(1.5 - np.abs(4 * t - 1), 0, 1)
    return np.stack([r, g, b], axis=-1) * 255


COLORMAPS = {"viridis": _viridis, "jet": _jet}


def lut(name: str = "viridis") -> np.ndarray:
    """(256, 3) uint8 colours."""
    if name not in COLORMAPS:
        raise ValueError(f"unknown colormap {name!r}; use one of {', '.join(COLORMAPS)}")
    return np.round(COLORMAPS[name]()).astype("uint8")


def colorize(heat: np.ndarray, cmap: str = "viridis") -> np.ndarray:
    """(…, h, w) heat → (…, h, w, 3) uint8; each map scaled by its own min/max."""
    h = _unit(np.asarray(heat, dtype="float32"), axes=(-2, -1))
    return lut(cmap)[np.round(h * 255).astype(int)]


def to_rgb(image: np.ndarray) -> np.ndarray:
    """An image (h, w), (h, w, 1) or (h, w, 3), uint8 or float in any range → (h, w, 3) uint8."""
    img = np.asarray(image)
    if img.ndim == 3 and img.shape[-1] == 1:
        img = img[..., 0]
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=-1)
    if img.ndim != 3 or img.shape[-1] not in (3, 4):
        raise ValueError(f"an image must be (h, w), (h, w, 1) or (h, w, 3); got shape {img.shape}")
    img = img[..., :3]
    if img.dtype == np.uint8:
        return img
    return np.round(_unit(img.astype("float32"), axes=(0, 1, 2)) * 255).astype("uint8")


def overlay(image: np.ndarray, heat: np.ndarray, alpha: float = 0.5, cmap: str = "viridis") -> np.ndarray:
    """Blend a coloured heatmap over an image: (h, w, 3) uint8 RGB.

    `heat` must have the image's height and width (explanation maps do).
    A batch works too: images (n, h, w[, c]) with heats (n, h, w) give (n, h, w, 3).
    """
    heat = np.asarray(heat, dtype="float32")
    if heat.ndim == 3:
        return np.stack([overlay(i, h, alpha, cmap) for i, h in zip(image, heat, strict=True)])
    rgb = to_rgb(image).astype("float32")
    if heat.shape != rgb.shape[:2]:
        raise ValueError(f"heatmap of shape {heat.shape} does not match image of shape {rgb.shape[:2]}")
    if not 0.0 <= alpha <= 1.0:
        raise ValueError("alpha must be between 0 and 1")
    color = colorize(heat, cmap).astype("float32")
    return np.round((1 - alpha) * rgb + alpha * color).astype("uint8")


def _unit(a: np.ndarray, axes) -> np.ndarray:
    """Scale to [0, 1] by min/max over `axes`; constant arrays become 0; NaN/inf become 0."""
    a = np.nan_to_num(a, nan=0.0, posinf=0.0, neginf=0.0)
    lo = a.min(axis=axes, keepdims=True)
    span = a.max(axis=axes, keepdims=True) - lo
    return np.where(span > 0, (a - lo) / np.where(span > 0, span, 1), 0.0)
