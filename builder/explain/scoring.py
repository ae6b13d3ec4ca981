"""How well maps agree with ground-truth object masks.

* Pointing game (Zhang et al. 2018): a hit when the map's maximum falls
  inside the object's mask (optionally within `tolerance` pixels of it).
* Relevance mass (Arras et al. 2022): the share of the map's total
  (non-negative) relevance that lies inside the mask.

Both have a chance level: a map that ignores the image scores, on average,
the mask's area fraction.
"""
from __future__ import annotations

import numpy as np


def _check(maps, masks):
    m = np.asarray(maps, dtype="float64")
    k = np.asarray(masks).astype(bool)
    if m.shape != k.shape or m.ndim != 3:
        raise ValueError(f"maps {m.shape} and masks {k.shape} must both be (n, h, w)")
    return m, k


def pointing_game(maps: np.ndarray, masks: np.ndarray, tolerance: int = 0) -> np.ndarray:
    """(n,) bool: is each map's maximum on the object (mask dilated by `tolerance` pixels)?"""
    m, k = _check(maps, masks)
    if tolerance > 0:
        k = _dilate(k, tolerance)
    flat = m.reshape(len(m), -1).argmax(axis=1)
    return k.reshape(len(k), -1)[np.arange(len(k)), flat]


def relevance_mass(maps: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """(n,) share of positive relevance inside the mask; 0 for an all-zero map."""
    m, k = _check(maps, masks)
    pos = np.clip(m, 0, None)
    total = pos.sum(axis=(1, 2))
    inside = (pos * k).sum(axis=(1, 2))
    return np.where(total > 0, inside / np.where(total > 0, total, 1), 0.0)


def chance(masks: np.ndarray) -> np.ndarray:
    """(n,) the mask's area fraction: the expected score of a map that ignores the image."""
    k = np.asarray(masks).astype(bool)
    return k.reshape(len(k), -1).mean(axis=1)


def _dilate(mask: np.ndarray, r: int) -> np.ndarray:
    out = mask.copy()
    padded = np.pad(mask, ((0, 0), (r, r), (r, r)))
    h, w = mask.shape[1:]
    for dy in range(-r, r + 1):
        for dx in range(-r, r + 1):
            out |= padded[:, r + dy : r + dy + h, r + dx : r + dx + w]
    return out
