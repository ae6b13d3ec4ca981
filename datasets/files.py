"""One path, any kind of data: which loader reads a file or a class folder.

A class folder is `<folder>/<class name>/<files>` (docs/interfaces.md, "Class folders"):
pictures, `.wav` clips or `.txt` files (one example a line). A ZIP is read the same way
(one folder per class inside). A CSV is text when its text column holds sentences, else a
table; an NPZ holds arrays. The headless `train --data` and the "My data" classes use this.
"""
from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

from datasets import audio, text
from datasets.base import Dataset
from datasets.uploads import IMAGE_EXTENSIONS, Limits, UploadError, load_csv, load_image_zip, load_npz, read_table

IMAGE_SIZE = 28  # pictures from a folder or ZIP are read at the size of the image templates' Input
SENTENCE_WORDS = 3  # a text column whose cells hold this many words on average is sentences, not categories


def class_folder_kind(folder) -> str:
    """"sound", "text" or "image": what the class folders hold (the kind most of their files are)."""
    names = [f.lower() for cls in os.listdir(folder) if os.path.isdir(os.path.join(folder, cls))
             for f in os.listdir(os.path.join(folder, cls))]
    return _kind_of_names(names, os.path.basename(os.path.normpath(folder)))


def _kind_of_names(names: list[str], where: str) -> str:
    counts = {"sound": sum(n.endswith((".wav", ".wave")) for n in names),
              "text": sum(n.endswith(".txt") for n in names),
              "image": sum(n.endswith(IMAGE_EXTENSIONS) for n in names)}
    kind = max(counts, key=counts.get)
    if not counts[kind]:
        raise UploadError(f"'{where}' holds no pictures, .wav clips or .txt files in class folders; put each "
                          "class's files in a folder named after the class")
    return kind


def _zipped_folder(folder) -> io.BytesIO:
    """A class folder of pictures as an in-memory ZIP, so it passes the same checks as an uploaded one."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as zf:
        for path in sorted(Path(folder).glob("*/*")):
            if path.is_file():
                zf.write(path, f"{path.parent.name}/{path.name}")
    buffer.name = os.path.basename(os.path.normpath(folder)) + ".zip"
    return buffer


def _is_text_table(path, target: str | None) -> bool:
    from pandas.api.types import is_numeric_dtype

    df = read_table(path)
    words = [df[c].astype(str).str.split().str.len().mean() for c in df.columns
             if c != target and not is_numeric_dtype(df[c])]
    return bool(words) and max(words) >= SENTENCE_WORDS


def load_path(path, target: str | None = None, limits: Limits | None = None) -> Dataset:
    """The dataset in a CSV/TSV, ZIP, NPZ or class folder; UploadError in plain words otherwise."""
    path = os.fspath(path)
    if os.path.isdir(path):
        kind = class_folder_kind(path)
        if kind == "sound":
            return audio.load_wav_folder(path, limits=limits)
        if kind == "text":
            return text.load_text_folder(path, limits=limits)
        return load_image_zip(_zipped_folder(path), IMAGE_SIZE, limits=limits)
    if not os.path.isfile(path):
        raise UploadError(f"'{path}' is neither a file nor a folder")
    suffix = Path(path).suffix.lower()
    if suffix in (".csv", ".tsv", ".txt"):
        if _is_text_table(path, target):
            return text.load_text_csv(path, target=target, limits=limits)
        return load_csv(path, target=target, limits=limits)
    if suffix == ".npz":
        return load_npz(path, limits=limits)
    if suffix == ".zip":
        try:
            with zipfile.ZipFile(path) as zf:
                names = [n.lower() for n in zf.namelist()]
        except zipfile.BadZipFile:
            raise UploadError(f"'{os.path.basename(path)}' is not a ZIP archive") from None
        if _kind_of_names(names, os.path.basename(path)) == "sound":
            return audio.load_wav_zip(path, limits=limits)
        return load_image_zip(path, IMAGE_SIZE, limits=limits)
    raise UploadError(f"'{os.path.basename(path)}' is not a CSV, ZIP or NPZ file or a folder of class folders")
