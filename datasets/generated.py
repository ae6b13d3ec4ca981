"""Datasets made on the spot from a seed: playground points, shape images, sequences.

Every generator is a pure function of its settings: the same seed gives the
same arrays on every machine. Each returns a dict with `x`, `y` and, where it
applies, `masks`.
"""
from __future__ import annotations

import numpy as np

# -- playground 2-D point sets (like TensorFlow Playground) -----------------


def moons(n_samples=500, noise=0.1, seed=0):
    from sklearn.datasets import make_moons

    x, y = make_moons(n_samples=n_samples, noise=noise, random_state=seed)
    return _points(x, y)


def circles(n_samples=500, noise=0.05, seed=0):
    from sklearn.datasets import make_circles

    x, y = make_circles(n_samples=n_samples, noise=noise, factor=0.5, random_state=seed)
    return _points(x, y)


def blobs(n_samples=500, noise=1.0, seed=0):
    from sklearn.datasets import make_blobs

    # noise is the spread of each cloud; the centres stay put for every seed
    centers = np.array([[-3.0, -3.0], [3.0, -3.0], [0.0, 3.0]])
    x, y = make_blobs(n_samples=n_samples, centers=centers, cluster_std=noise, random_state=seed)
    return _points(x, y)


def spirals(n_samples=500, noise=0.1, seed=0):
    """Two arms winding around the origin, one per class."""
    rng = np.random.default_rng(seed)
    y = np.arange(n_samples) % 2
    t = rng.uniform(0.0, 1.0, n_samples)
    radius = 5.0 * t
    angle = 1.75 * 2 * np.pi * t + np.pi * y
    x = np.stack([radius * np.sin(angle), radius * np.cos(angle)], axis=1)
    x += rng.normal(0.0, noise, x.shape)
    return _points(x, y)


def xor(n_samples=500, noise=0.1, seed=0):
    """Class 1 where both coordinates share a sign (top-right and bottom-left quadrants)."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1.0, 1.0, (n_samples, 2))
    x += np.sign(x) * 0.05  # a small gap along the axes, as in the playground
    y = (x[:, 0] * x[:, 1] > 0).astype(int)
    x += rng.normal(0.0, noise, x.shape)
    return _points(x, y)


def _points(x, y):
    return {"x": np.asarray(x, np.float32), "y": np.asarray(y, np.int32)}


# -- shape images with object masks ----------------------------------------

SHAPES = ("circle", "square", "triangle")


def shapes(n_samples=600, size=28, noise=0.1, seed=0):
    """Bright circles, squares and triangles at random places and sizes on a noisy background.

    `masks[i]` is True exactly on the pixels of image i's shape, so a good
    saliency map should light up inside it.
    """
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) + 0.5  # pixel centres
    x = np.empty((n_samples, size, size, 1), np.float32)
    masks = np.empty((n_samples, size, size), bool)
    y = np.arange(n_samples) % len(SHAPES)
    rng.shuffle(y)
    for i in range(n_samples):
        r = rng.uniform(0.18, 0.3) * size  # half the shape's extent
        left, right, top, bottom = _extent(SHAPES[y[i]], r)
        cx = rng.uniform(left + 1, size - right - 1)
        cy = rng.uniform(top + 1, size - bottom - 1)
        mask = _draw(SHAPES[y[i]], xx - cx, yy - cy, r)
        background = rng.uniform(0.0, 0.3)
        foreground = rng.uniform(0.7, 1.0)
        image = np.where(mask, foreground, background) + rng.normal(0.0, noise, (size, size))
        x[i, :, :, 0] = np.clip(image, 0.0, 1.0)
        masks[i] = mask
    return {"x": x, "y": y.astype(np.int32), "masks": masks}


TRIANGLE_SIDE = 2.7  # × r: about the circle's area


def _extent(kind, r):
    """How far the shape reaches left, right, up and down from its centre."""
    if kind == "circle":
        return r, r, r, r
    if kind == "square":
        half = r * np.sqrt(np.pi) / 2
        return half, half, half, half
    side = r * TRIANGLE_SIDE
    h = side * np.sqrt(3) / 2
    return side / 2, side / 2, 2 * h / 3, h / 3


def _draw(kind, dx, dy, r):
    if kind == "circle":
        return dx**2 + dy**2 <= r**2
    if kind == "square":  # same area as the circle, so size alone does not give the class away
        half = r * np.sqrt(np.pi) / 2
        return (np.abs(dx) <= half) & (np.abs(dy) <= half)
    # triangle pointing up, centred on its centroid; side chosen for a similar area
    side = r * TRIANGLE_SIDE
    h = side * np.sqrt(3) / 2
    top, bottom = -2 * h / 3, h / 3
    inside_height = (dy >= top) & (dy <= bottom)
    half_width = (dy - top) / h * side / 2
    return inside_height & (np.abs(dx) <= half_width)


# -- sequences ---------------------------------------------------------------


def sine(n_samples=1000, steps=20, noise=0.05, seed=0):
    """Noisy sine waves of random frequency and phase; target: the next clean value."""
    rng = np.random.default_rng(seed)
    freq = rng.uniform(0.1, 0.5, (n_samples, 1))
    phase = rng.uniform(0.0, 2 * np.pi, (n_samples, 1))
    t = np.arange(steps + 1, dtype=np.float64)[None, :]
    wave = np.sin(freq * t + phase)
    x = wave[:, :steps] + rng.normal(0.0, noise, (n_samples, steps))
    return {"x": x[..., None].astype(np.float32), "y": wave[:, steps].astype(np.float32)}


VOCAB_SIZE = 20
FIRST, SECOND = 7, 3  # label 1 when token 7 comes before token 3


def tokens(n_samples=1000, length=20, seed=0):
    """Integer token sequences (0 is never used, kept for padding) with exactly one 7 and one 3.

    Label 1 when the 7 comes before the 3, else 0: order matters, so a
    bag-of-words model cannot solve it but an RNN or attention can.
    """
    rng = np.random.default_rng(seed)
    filler = np.array([t for t in range(1, VOCAB_SIZE) if t not in (FIRST, SECOND)])
    x = rng.choice(filler, (n_samples, length))
    y = np.empty(n_samples, np.int32)
    for i in range(n_samples):
        a, b = rng.choice(length, 2, replace=False)
        x[i, a], x[i, b] = FIRST, SECOND
        y[i] = int(a < b)
    return {"x": x.astype(np.int32), "y": y}
