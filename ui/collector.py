"""Keep the garbage collection that follows every script run cheap.

Once Keras is imported, Streamlit calls `keras.backend.clear_session()` after
every script run — each fragment poll of the live view included — and that
runs a full `gc.collect()` over every object the server holds. With
TensorFlow loaded that is ~0.25 s per run, and it grows with every module,
cache and session the server gathers. Long-lived objects are therefore moved
out of the collector's reach (`gc.freeze()`): every `REFREEZE_S` seconds the
frozen set is released, collected once and frozen again, so what was imported
or cached meanwhile is frozen too, and garbage that got frozen is still freed
within that time.
"""
from __future__ import annotations

import gc
import threading
import time

REFREEZE_S = 15.0  # a refreeze costs one full collection (~0.3 s): ~2 % of a core at this pace
_lock = threading.Lock()
_last = {"time": float("-inf")}


def keep_cheap() -> None:
    """Called at the start of script runs; refreezes once REFREEZE_S has passed, and never waits for
    another thread that is doing it."""
    due = time.monotonic() - _last["time"] >= REFREEZE_S
    if not due or not _lock.acquire(blocking=False):
        return
    try:
        gc.unfreeze()
        gc.collect()
        gc.freeze()
        _last["time"] = time.monotonic()
    finally:
        _lock.release()
