"""The one atomic writer: a file is written beside its place under a temporary name, then renamed, so a reader
sees the old file or the whole new one; on any failure (disk full, read-only, killed) no temporary file stays."""
from __future__ import annotations

import os
from pathlib import Path


def atomic_write(path, write) -> Path:
    """Write `path` through `write(f)`, `f` a binary file object (np.save and np.savez add no extension)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            write(f)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def atomic_write_bytes(path, data: bytes) -> Path:
    return atomic_write(path, lambda f: f.write(data))


def atomic_write_text(path, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_save_model(model, path, amend=None) -> Path:
    """`model.save` the same way (Keras names the format by the temporary file's `.keras` ending); `amend(tmp)`
    may add to the saved file before it takes its name (builder.train.labels: the class names)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp-{os.getpid()}.keras")
    try:
        model.save(tmp)
        if amend is not None:
            amend(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
