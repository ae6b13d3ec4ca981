"""A workspace's own datasets, made class by class ("My data"): pictures (webcam snapshots, drawings, files)
and sounds (microphone recordings, WAV files).

Kept as a plain class folder, the layout every folder loader reads:

    <workspace>/mydata/<dataset>/<class name>/<n>.png     one picture (at most STORED_SIDE px a side)
    <workspace>/mydata/<sounds>/<class name>/<n>.wav      one clip (mono 16-bit, audio.RATE Hz, audio.SECONDS)
    <workspace>/mydata/<dataset>/meta.json                {"format", "version"}: bumped by every change

Every picture is checked from its header against the server's pixel budget before it is decoded
(`datasets.pictures.read_picture`), and every add is held against the per-class and per-workspace example
counts (`builder.limits`: max_class_examples, max_mydata_examples, max_mydata_classes) before anything is
read, so a webcam left clicking cannot fill the disk. `to_dataset` turns the folder into an image `Dataset`
(one size, grey or colour) that the app stores like an upload, so every template trains on it.
`SoundFolder` is the same for clips: each is checked from its WAV header against the seconds budget, cut to
its loudest `audio.SECONDS` at `audio.RATE` (`audio.record_clip`), and `to_dataset` gives the sound `Dataset`
the sound templates train on. Both kinds share the per-workspace count.
"""
from __future__ import annotations

import io
import json
import os
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from builder import limits
from builder.files import atomic_write_text
from datasets import audio, uploads
from datasets.base import Dataset, DatasetError, DatasetInfo
from datasets.pictures import read_picture

FORMAT = "layerlab/mydata@1"
HOME = "mydata"  # inside the workspace folder
META = "meta.json"
DEFAULT = "my-data"  # the picture dataset the app fills
SOUNDS = "my-sounds"  # the sound dataset the app fills
STORED_SIDE = 128  # px: bigger pictures are shrunk before they are kept (a snapshot stays a few kB)
FEW = 10  # a class with fewer examples than this gets a warning
UNBALANCED = 2.0  # the biggest class over the smallest beyond which the set is called unbalanced
EXAMPLE = re.compile(r"(\d{1,9})\.(png|wav)")
NAME = re.compile(r"[^\W_][\w .,'()+-]{0,39}")  # letters of any script; no slash, no leading dot


class ClassError(DatasetError):
    """A refused change to a class folder; the message says what to do."""


@dataclass
class Added:
    """What a many-files add kept, per class, and what it skipped (in words)."""
    counts: dict[str, int] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def clean_name(name: str, what: str = "a class") -> str:
    """`name` with its spaces tidied, or ClassError when it cannot name a folder."""
    name = " ".join(str(name or "").split())
    if not NAME.fullmatch(name):
        raise ClassError(f"'{name[:60]}' cannot name {what}: use 1 to 40 letters, digits, spaces or . , ' ( ) + -, "
                         "starting with a letter or digit")
    return name


def workspace_examples(mydata: Path) -> int:
    """Examples kept in all of a workspace's own datasets (`<workspace>/mydata`)."""
    if not mydata.is_dir():
        return 0
    return sum(len(_example_files(c)) for d in mydata.iterdir() if d.is_dir() for c in d.iterdir() if c.is_dir())


def count_warnings(counts: dict[str, int]) -> list[str]:
    """What to fix before training, in words: too few classes, small classes, unbalanced classes."""
    if len(counts) < 2:
        return ["Make at least two classes: the model learns to tell them apart."]
    out = [f"'{c}' has {n} example{'s' if n != 1 else ''}; give every class at least {FEW}."
           for c, n in counts.items() if n < FEW]
    smallest, biggest = min(counts.values()), max(counts.values())
    if smallest and biggest / smallest > UNBALANCED:
        out.append(f"The classes are unbalanced ({smallest} to {biggest} examples): the model will favour the "
                   "big ones; add examples to the small classes.")
    return out


def _example_files(folder: Path, suffix: str | None = None) -> list[Path]:
    """A class folder's examples (of one `suffix`, or all) in the order they were added."""
    found = [(int(m.group(1)), p) for p in folder.iterdir()
             if (m := EXAMPLE.fullmatch(p.name)) and (suffix is None or p.suffix == suffix)]
    return [p for _, p in sorted(found)]


class ClassFolder:
    """One own picture dataset: `<mydata>/<name>/` with a folder per class."""

    SUFFIX = ".png"  # how an example is kept
    ACCEPTS = uploads.IMAGE_EXTENSIONS  # the files of a ZIP's class folders that are read
    WHAT = "pictures"

    def __init__(self, mydata, name: str = DEFAULT):
        self.mydata = Path(mydata)
        self.name = clean_name(name, "a dataset")
        self.root = self.mydata / self.name

    # -- reading ------------------------------------------------------------------------
    def classes(self) -> list[str]:
        """Class names in label order (sorted, as every class-folder loader orders them)."""
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if p.is_dir() and NAME.fullmatch(p.name))

    def examples(self, cls: str) -> list[Path]:
        return _example_files(self._class_dir(cls), self.SUFFIX)

    def counts(self) -> dict[str, int]:
        return {c: len(self.examples(c)) for c in self.classes()}

    def version(self) -> int:
        """A number that changes with every add, rename and delete (for cache keys)."""
        meta = self._meta()
        return meta["version"] if isinstance(meta.get("version"), int) else 0

    def warnings(self) -> list[str]:
        """What to fix before training, in words (see `count_warnings`)."""
        return count_warnings(self.counts())

    # -- classes ------------------------------------------------------------------------
    def add_class(self, name: str) -> str:
        name = clean_name(name)
        if self._find(name) is not None:
            raise ClassError(f"there is already a class '{self._find(name)}'; choose another name")
        if len(self.classes()) >= limits.get("max_mydata_classes"):
            raise ClassError(f"a dataset may have {limits.get('max_mydata_classes')} classes (server setting "
                             "LAYERLAB_MAX_MYDATA_CLASSES); delete one first")
        if not self.root.is_dir():
            self._check_datasets()
        (self.root / name).mkdir(parents=True)
        self._touch()
        return name

    def class_for(self, label: str) -> str:
        """The class a model's label goes into (made when missing): characters a folder name may not hold
        become '-', so "T-shirt/top" is kept as "T-shirt-top"."""
        name = re.sub(r"[^\w .,'()+-]", "-", " ".join(str(label).split())).strip(" -._,'()+")[:40]
        return self._find(name) or self.add_class(name or "unnamed")

    def rename_class(self, old: str, new: str) -> str:
        source, new = self._class_dir(old), clean_name(new)
        clash = self._find(new)
        if clash is not None and clash != old:
            raise ClassError(f"there is already a class '{clash}'; choose another name")
        os.rename(source, self.root / new)  # one rename: a reader sees the old folder or the new one
        self._touch()
        return new

    def delete_class(self, name: str) -> None:
        shutil.rmtree(self._class_dir(name))
        self._touch()

    # -- examples -----------------------------------------------------------------------
    def add_example(self, cls: str, raw: bytes, what: str = "the picture") -> Path:
        """Keep an uploaded picture (PNG, JPEG, WebP bytes) in class `cls`: counts first, then its header,
        then it is decoded, shrunk to STORED_SIDE and kept as PNG."""
        self._check_room(cls, 1)
        return self._keep(cls, read_picture(raw, limits.get("max_image_pixels"), what))

    def add_picture(self, cls: str, picture: np.ndarray) -> Path:
        """Keep an already decoded picture (uint8, or floats 0..1; grey, RGB or RGBA) in class `cls`."""
        self._check_room(cls, 1)
        return self._keep(cls, picture)

    def add_files(self, cls: str, files: list[tuple[str, bytes]]) -> Added:
        """Many files into one class; refused whole when they would pass a count, skipped one by one when
        one cannot be read."""
        self._check_room(cls, len(files))
        added = Added({cls: 0})
        for name, raw in files:
            try:
                self.add_example(cls, raw, f"'{name}'")
                added.counts[cls] += 1
            except ClassError:
                raise  # a count: nothing more fits
            except ValueError as e:  # PictureError, UploadError: not a picture or WAV, too big, damaged
                added.skipped.append(str(e))
        return added

    def add_zip(self, raw: bytes, name: str = "the ZIP") -> Added:
        """A ZIP with one folder per class (cats/1.png …, yes/1.wav …): classes made as needed, every entry
        checked by the upload rules (paths, sizes, count) and by header before decoding."""
        bounds = uploads.Limits()
        zf = uploads.open_zip(raw, name)
        entries = uploads.class_entries(zf, name, bounds, self.ACCEPTS)
        if not entries:
            raise ClassError(f"{name} holds no {self.WHAT} in class folders (e.g. cats/1{self.ACCEPTS[0]}, "
                             f"dogs/1{self.ACCEPTS[0]})")
        wanted = {clean_name(c) for c, _ in entries}
        self._check_total(len(entries))
        for cls in sorted(wanted):
            if self._find(cls) is None:
                self.add_class(cls)
        added, started = Added(), time.thread_time()
        for cls, entry in entries:
            try:
                self.add_example(self._find(clean_name(cls)), uploads.read_entry(zf, entry, bounds), f"'{entry.filename}'")
                added.counts[cls] = added.counts.get(cls, 0) + 1
            except ClassError:
                raise  # a count: nothing more fits
            except ValueError as e:
                added.skipped.append(str(e))
            if time.thread_time() - started > bounds.max_decode_seconds:
                raise ClassError(f"decoding {name} took more than {bounds.max_decode_seconds} s of server time "
                                 f"(server setting LAYERLAB_MAX_DECODE_SECONDS); {added.total} {self.WHAT} were kept")
        return added

    def delete_example(self, cls: str, example: str) -> None:
        if not EXAMPLE.fullmatch(example):
            raise ClassError(f"'{example}' is not an example of '{cls}'")
        try:
            (self._class_dir(cls) / example).unlink()
        except FileNotFoundError:
            raise ClassError(f"that example of '{cls}' was already deleted") from None
        self._touch()

    # -- as a dataset -------------------------------------------------------------------
    def to_dataset(self, size: int = 28, color: str = "grayscale") -> Dataset:
        """Every example resized to `size`×`size`, grey (1 channel) or "rgb" (3), 0..1; labels in `classes()`
        order (empty classes left out), examples in the order they were added."""
        if color not in ("grayscale", "rgb"):
            raise ClassError(f"colour must be 'grayscale' or 'rgb'; got {color!r}")
        if not 8 <= int(size) <= 256:
            raise ClassError(f"the picture size must be 8 to 256 pixels; got {size}")
        classes = [c for c, n in self.counts().items() if n]  # an empty class has nothing to learn from
        if len(classes) < 2:
            raise ClassError("make at least two classes with examples in them, then use the data")
        files = [(k, p) for k, c in enumerate(classes) for p in self.examples(c)]
        mode, channels = ("L", 1) if color == "grayscale" else ("RGB", 3)
        needed = len(files) * size * size * channels * 4
        if needed > limits.get("max_dataset_mb"):
            raise ClassError(f"{len(files)} pictures at {size}×{size} would take {limits.size(needed)}, over "
                             f"{limits.size(limits.get('max_dataset_mb'))} (LAYERLAB_MAX_DATASET_MB); choose a "
                             "smaller size")
        x = np.empty((len(files), size, size, channels), np.float32)
        for i, (_, path) in enumerate(files):
            with Image.open(path) as img:  # written by _keep: at most STORED_SIDE a side
                small = img.convert(mode).resize((size, size), Image.Resampling.BILINEAR)
            x[i] = np.asarray(small, np.float32).reshape(size, size, channels) / 255.0
        y = np.array([k for k, _ in files], np.int32)
        return _as_dataset(x, y, classes, self.name)

    # -- inside -------------------------------------------------------------------------
    def _find(self, name: str) -> str | None:
        """The existing class whose name equals `name` ignoring case (folders differ by case on some disks)."""
        return next((c for c in self.classes() if c.casefold() == name.casefold()), None)

    def _class_dir(self, cls: str) -> Path:
        found = self._find(" ".join(str(cls or "").split()))
        if found is None:
            raise ClassError(f"there is no class '{str(cls)[:60]}' (any more); pick one of the classes shown")
        return self.root / found

    def _check_datasets(self) -> None:
        kept = [p for p in self.mydata.iterdir() if p.is_dir()] if self.mydata.is_dir() else []
        if len(kept) >= limits.get("max_mydata_datasets"):
            raise ClassError(f"a workspace may keep {limits.get('max_mydata_datasets')} own datasets (server "
                             "setting LAYERLAB_MAX_MYDATA_DATASETS); delete one first")

    def _check_room(self, cls: str, n: int) -> None:
        have, cap = len(self.examples(cls)), limits.get("max_class_examples")
        if have + n > cap:
            raise ClassError(f"'{self._find(cls)}' already has {have} examples; a class may keep {cap} (server "
                             "setting LAYERLAB_MAX_CLASS_EXAMPLES). Delete some, or add to another class")
        self._check_total(n)

    def _check_total(self, n: int) -> None:
        have, cap = workspace_examples(self.mydata), limits.get("max_mydata_examples")
        if have + n > cap:
            raise ClassError(f"your own data already holds {have} examples; a workspace may keep {cap} (server "
                             "setting LAYERLAB_MAX_MYDATA_EXAMPLES). Delete some first")

    def _keep(self, cls: str, picture: np.ndarray) -> Path:
        """Write the picture as the class's next `<n>.png`."""
        image = Image.fromarray(_uint8(picture))
        image.thumbnail((STORED_SIDE, STORED_SIDE), Image.Resampling.LANCZOS)
        buffer = io.BytesIO()
        image.save(buffer, "PNG")
        return self._write_next(cls, buffer.getvalue())

    def _write_next(self, cls: str, content: bytes) -> Path:
        """Write `content` as the class's next `<n><SUFFIX>`; two tabs adding at once never share a number."""
        folder = self._class_dir(cls)
        tmp = folder / f".new-{os.getpid()}-{time.monotonic_ns()}"
        tmp.write_bytes(content)
        try:
            n = max((int(EXAMPLE.fullmatch(p.name).group(1)) for p in _example_files(folder)), default=0) + 1
            while True:
                try:
                    os.link(tmp, folder / f"{n}{self.SUFFIX}")  # fails when the name is taken: never overwrites
                    break
                except FileExistsError:
                    n += 1
        finally:
            tmp.unlink(missing_ok=True)
        self._touch()
        return folder / f"{n}{self.SUFFIX}"

    def _meta(self) -> dict:
        try:
            meta = json.loads((self.root / META).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return meta if isinstance(meta, dict) else {}

    def _touch(self) -> None:
        atomic_write_text(self.root / META, json.dumps({"format": FORMAT, "version": self.version() + 1}))


def _uint8(picture: np.ndarray) -> np.ndarray:
    """Pixels as uint8 grey, RGB or RGBA (floats are taken as 0..1; a trailing 1-channel axis dropped)."""
    p = np.asarray(picture)
    if p.dtype != np.uint8:
        p = (np.clip(p.astype(np.float32), 0, 1) * 255).round().astype(np.uint8)
    if p.ndim == 3 and p.shape[2] == 1:
        p = p[..., 0]
    if p.ndim == 3 and p.shape[2] == 4 and (p[..., 3] == 255).all():
        p = p[..., :3]
    if p.ndim not in (2, 3) or (p.ndim == 3 and p.shape[2] not in (3, 4)):
        raise ClassError(f"a picture must be grey, RGB or RGBA; got an array shaped {p.shape}")
    return p


def _as_dataset(x: np.ndarray, y: np.ndarray, classes: list[str], name: str) -> Dataset:
    info = DatasetInfo(f"mydata:{name}", name, "classification", x.shape[1:], classes, len(x),
                       f"Your own pictures '{name}': {len(classes)} classes.", kind="image")
    return Dataset(x, y, info, classes, notes=[f"{len(x)} pictures in {len(classes)} classes, made by you"])


class SoundFolder(ClassFolder):
    """One own sound dataset: `<mydata>/<name>/<class>/<n>.wav`, every clip one length at one rate."""

    SUFFIX = ".wav"
    ACCEPTS = audio.WAV_EXTENSIONS
    WHAT = "clips"

    def __init__(self, mydata, name: str = SOUNDS):
        super().__init__(mydata, name)

    def add_example(self, cls: str, raw: bytes, what: str = "the recording") -> Path:
        """Keep a recording (WAV bytes) in class `cls`: counts first, then its header against the seconds budget,
        then its loudest `audio.SECONDS` at `audio.RATE` kept as 16-bit WAV."""
        self._check_room(cls, 1)
        clip = audio.record_clip(raw, what)
        buffer = io.BytesIO()
        audio.write_wav(buffer, clip)
        return self._write_next(cls, buffer.getvalue())

    def clip(self, path: Path) -> np.ndarray:
        """One kept clip as float32 in -1..1 (written by add_example: one length, one rate)."""
        return audio.read_wav(path.read_bytes(), path.name)

    def to_dataset(self) -> Dataset:
        """Every clip, labels in `classes()` order (empty classes left out), clips in the order they were added."""
        classes = [c for c, n in self.counts().items() if n]
        if len(classes) < 2:
            raise ClassError("make at least two classes with clips in them, then use the data")
        files = [(c, p) for c in classes for p in self.examples(c)]
        needed = len(files) * int(round(audio.RATE * audio.SECONDS)) * 4
        if needed > limits.get("max_dataset_mb"):
            raise ClassError(f"{len(files)} clips would take {limits.size(needed)}, over "
                             f"{limits.size(limits.get('max_dataset_mb'))} (LAYERLAB_MAX_DATASET_MB); delete some")
        return audio.sound_dataset([self.clip(p) for _, p in files], [c for c, _ in files], self.name,
                                   f"Your own sounds '{self.name}': {len(classes)} classes.",
                                   notes=[f"{len(files)} clips in {len(classes)} classes, recorded by you"])
