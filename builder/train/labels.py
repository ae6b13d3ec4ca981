"""A saved classifier carries its class names, one a line in the model's output order, as Teachable Machine's
exports do: `labels.txt` inside the `.keras` file (a zip; Keras ignores the extra entry) and beside it, so a
model downloaded on its own still says what its outputs mean.

    attach(keras_file, folder, class_names)  before the file is moved into place: both copies
"""
from __future__ import annotations

import zipfile
from pathlib import Path

from builder.spec import atomic_write_text

FILE = "labels.txt"


def one_line(class_names) -> list[str]:
    """The names as text, each on one line (a line break inside a name would shift every label after it)."""
    return [" ".join(str(name).split()) for name in class_names]


def text(class_names) -> str:
    return "".join(f"{name}\n" for name in one_line(class_names))


def attach(keras_file, folder, class_names) -> None:
    """Add labels.txt into `keras_file` and write it into `folder` (atomic); nothing without class names."""
    if not class_names:
        return
    with zipfile.ZipFile(keras_file, "a") as saved:
        saved.writestr(FILE, text(class_names))
    atomic_write_text(Path(folder) / FILE, text(class_names))

