"""Cheap change detection over run folders: what a page polls before it reads anything.

A browser watching a run asks about it every second. Reading and parsing its
files, building charts and encoding pictures on every poll is what made one
watcher cost most of a core; `stamp` answers "did anything change?" with a few
`stat` calls, so a poll that finds nothing new costs (almost) nothing, and a
cache keyed by the stamp does the reading once per change for every watcher.
"""
from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass
from pathlib import Path

from builder.store import runfolder

LIVE = "live"
PICTURE_SIZE = 96  # pixels a side of each live picture: the live view draws them in cells this wide
_EPOCH_FILE = re.compile(r"^(?P<prefix>[a-z]+)_e(?P<epoch>\d+)\.(npy|npz)$")


def file_stamp(path) -> tuple[int, int] | None:
    """(size, mtime in ns) of a file, or None when it is not there."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns


@dataclass(frozen=True)
class RunStamp:
    """What changed in a run folder, one field per thing a page draws from it."""

    status: tuple | None
    metrics: tuple | None
    progress: tuple | None
    live: tuple | None  # (size, mtime) of the live/ folder itself: a new epoch file changes it
    model: tuple | None


def stamp(run_dir) -> RunStamp:
    folder = Path(run_dir)
    return RunStamp(
        status=file_stamp(folder / runfolder.STATUS),
        metrics=file_stamp(folder / runfolder.METRICS),
        progress=file_stamp(folder / runfolder.PROGRESS),
        live=file_stamp(folder / LIVE),
        model=file_stamp(folder / runfolder.MODEL),
    )


def store_stamp(root) -> tuple:
    """One value that changes when any run of a runs folder is added, removed or changes state or metrics."""
    parts = []
    try:
        entries = sorted(os.scandir(root), key=lambda e: e.name)
    except OSError:
        return ()
    for entry in entries:
        if entry.is_dir():
            folder = Path(entry.path)
            parts.append((entry.name, file_stamp(folder / runfolder.STATUS), file_stamp(folder / runfolder.METRICS)))
    return tuple(parts)


def latest_live_file(run_dir, prefix: str) -> tuple[Path | None, int | None]:
    """The newest `live/<prefix>_eNNN.np[yz]` of a run and its (1-based) epoch; (None, None) when none."""
    live = Path(run_dir) / LIVE
    try:
        changed = os.stat(live).st_mtime_ns  # a file added, replaced or removed changes the folder's time
    except OSError:
        return None, None
    name, epoch = _newest_by_prefix(str(live), changed).get(prefix, (None, None))
    return (live / name, epoch) if name else (None, None)


@functools.lru_cache(maxsize=1024)  # the live view asks on every poll: list the folder once per change
def _newest_by_prefix(live: str, _changed: int) -> dict[str, tuple[str, int]]:
    newest: dict[str, tuple[str, int]] = {}
    try:
        names = os.listdir(live)
    except OSError:
        return newest
    for name in names:
        m = _EPOCH_FILE.match(name)
        if m and (m["prefix"] not in newest or int(m["epoch"]) > newest[m["prefix"]][1]):
            newest[m["prefix"]] = (name, int(m["epoch"]))
    return newest
