"""Keep the garbage collection that follows every script run cheap.

Once Keras is imported, Streamlit calls `keras.backend.clear_session()` after
every script run — each fragment poll of the live view included — and that
runs a full `gc.collect()` over every object the server holds. With
TensorFlow loaded that is ~0.25 s per run, and it grows with every module,
cache and session the server gathers. Objects are therefore moved out of the
collector's reach (`gc.freeze()`, which costs next to nothing) at most
`FREEZE_S` after they were made, so each run's collection walks only the
objects of the last second. Every `REFREEZE_S` seconds the frozen set is
released, collected once and frozen again, so cyclic garbage that got frozen
is still freed within that time (objects without cycles are freed at once
either way).
"""
from __future__ import annotations

import gc
import threading
import time

FREEZE_S = 1.0  # with 20 students polling twice a second, collections over 15 s of objects took ~20 % of a core
REFREEZE_S = 60.0  # a refreeze costs one full collection (~0.3 s): 0.5 % of a core at this pace
_lock = threading.Lock()
_last = {"freeze": float("-inf"), "refreeze": float("-inf")}


def keep_cheap() -> None:
    """Called at the start of script runs: freezes once FREEZE_S has passed, refreezes once REFREEZE_S has,
    and never waits for another thread that is doing it."""
    now = time.monotonic()
    if now - _last["freeze"] < FREEZE_S or not _lock.acquire(blocking=False):
        return
    try:
        if now - _last["refreeze"] >= REFREEZE_S:
            gc.unfreeze()
            gc.collect()
            _last["refreeze"] = now
        gc.freeze()
        _last["freeze"] = time.monotonic()
    finally:
        _lock.release()
