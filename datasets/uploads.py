"""A user's own data: CSV/TSV tables, ZIPs of image folders, NPZ arrays.

Every loader takes a path or a file-like object with `.read()` (the app
passes Streamlit's UploadedFile) and returns a `Dataset`. Anything wrong with
the upload raises `UploadError` with a message that names the file and says
what to do. Archives are decoded in memory and never extracted. Every size is
checked against `Limits` (server settings, see `builder.limits`) from what a
file declares before anything that size is allocated: archive entries from the
central directory, NPZ arrays from their `.npy` headers, images from their
headers, CSV columns and rows from the raw text.
"""
from __future__ import annotations

import csv
import io
import math
import os
import stat
import time
import zipfile
from dataclasses import dataclass, field

import numpy as np

from builder import limits as budgets
from builder.files import atomic_write
from datasets.base import Dataset, DatasetError, DatasetInfo
from datasets.splits import encode_labels

MISSING_POLICIES = ("drop_rows", "fill_mean", "error")
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")


class UploadError(DatasetError):
    """An upload that cannot be used; the message says why and what to do."""


def _budget(name: str):
    return field(default_factory=lambda: budgets.get(name))


@dataclass(frozen=True)
class Limits:
    """Safety limits for uploads; the defaults are the server settings of `builder.limits`."""

    max_upload_bytes: int = _budget("max_upload_mb")  # the file as uploaded
    max_files: int = _budget("max_files")  # entries in an archive
    max_uncompressed_bytes: int = _budget("max_unpacked_mb")  # all archive entries together, unpacked
    max_entry_bytes: int = _budget("max_entry_mb")  # one image entry of a ZIP, unpacked
    max_image_pixels: int = _budget("max_image_pixels")  # one image, from its header, before decoding
    max_archive_pixels: int = _budget("max_archive_pixels")  # all images of a ZIP together, from their headers
    max_decode_seconds: int = _budget("max_decode_seconds")  # server CPU time spent decoding one ZIP's images
    max_decoded_bytes: int = _budget("max_dataset_mb")  # the loaded dataset as float32 (images after resizing)
    max_csv_bytes: int = _budget("max_csv_mb")
    max_csv_columns: int = _budget("max_csv_columns")
    max_csv_rows: int = _budget("max_csv_rows")
    max_categories: int = 50  # distinct values of a text column before it is dropped


def _mb(n: int) -> str:
    return f"{n / 1024**2:,.0f} MB" if n >= 1024**2 else f"{n:,} bytes"


# -- reading the upload -------------------------------------------------------


def upload_name(file) -> str:
    if isinstance(file, (str, os.PathLike)):
        return os.path.basename(os.fspath(file))
    return os.path.basename(str(getattr(file, "name", "") or "upload"))


def read_bytes(file, limits: Limits | None = None, cap: int | None = None) -> bytes:
    """The upload's bytes, refusing anything bigger than `cap` (default `limits.max_upload_bytes`)."""
    name = upload_name(file)
    cap = cap or (limits or Limits()).max_upload_bytes
    too_big = UploadError(f"'{name}' is larger than the upload limit of {_mb(cap)}; use a smaller file")
    if isinstance(file, (str, os.PathLike)):
        try:
            if os.path.getsize(file) > cap:
                raise too_big
            with open(file, "rb") as f:
                return f.read()
        except OSError as exc:
            raise UploadError(f"cannot read '{name}': {exc.strerror or exc}") from exc
    if hasattr(file, "seek"):
        try:
            file.seek(0)
        except (OSError, ValueError):
            pass
    data = file.read(cap + 1)
    if isinstance(data, str):
        data = data.encode("utf-8")
    if len(data) > cap:
        raise too_big
    return data


# -- CSV / TSV ----------------------------------------------------------------


def read_table(file, limits: Limits | None = None, delimiter: str | None = None):
    """Parse a CSV/TSV upload into a pandas DataFrame (all columns, nothing chosen yet).

    Refuses non-UTF-8 text, tables over the size limits (counted in the raw
    text before parsing) and rows whose number of fields differs from the header.
    """
    import pandas as pd

    name = upload_name(file)
    limits = limits or Limits()
    raw = read_bytes(file, limits, cap=min(limits.max_upload_bytes, limits.max_csv_bytes))
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UploadError(
            f"'{name}' is not UTF-8 text (a byte at position {exc.start} cannot be read); "
            "save it again as 'CSV UTF-8' and upload that") from None
    if not text.strip():
        raise UploadError(f"'{name}' is empty")
    sep = delimiter or _sniff(text, name)
    _check_table_size(text, sep, name, limits)
    rows = csv.reader(io.StringIO(text), delimiter=sep)
    line_no = 1
    try:
        header = next(rows)
        widths = {}  # field count → first line with it, for the lines after the first
        for line_no, row in enumerate(rows, start=2):
            if row:
                widths.setdefault(len(row), line_no)
    except csv.Error as exc:
        what = (f"a cell is longer than {csv.field_size_limit():,} characters" if "field limit" in str(exc)
                else "it is not a well-formed table row (an unclosed quote?)")
        raise UploadError(f"'{name}' line {line_no + 1} could not be read: {what}; fix that row and upload again") from None
    skip, note = _first_line_reading(header, widths, name)
    try:
        df = pd.read_csv(io.StringIO(text), sep=sep, skip_blank_lines=True, skiprows=skip,
                         header=None if note and not skip else "infer")
    except (pd.errors.ParserError, ValueError) as exc:
        raise UploadError(f"'{name}' could not be read as a table: {exc}") from None
    if note and not skip:
        df.columns = [f"column {i + 1}" for i in range(df.shape[1])]
    df.attrs["note"] = note
    if df.shape[1] < 2:
        raise UploadError(f"'{name}' needs at least two columns: one or more inputs and a target")
    return df


def _first_line_reading(header: list[str], widths: dict[int, int], name: str) -> tuple[int, str | None]:
    """How to read the first line: (lines to skip, a notice for the user or None).

    A first line of numbers only is data, not column names; a first line whose field count differs from
    every other line (which agree) is a title to skip. Rows that disagree among themselves are refused.
    """
    if len(widths) > 1:
        if len(header) in widths:
            width, line = min(((w, n) for w, n in widths.items() if w != len(header)), key=lambda wn: wn[1])
            against = f"the header has {len(header)}"
        else:
            (a, line_a), (width, line) = sorted(widths.items(), key=lambda kv: kv[1])[:2]
            against = f"line {line_a} has {a}"
        raise UploadError(f"'{name}' line {line} has {width} fields but {against}; fix that row "
                          "(a missing or extra separator?) and upload again")
    if widths and len(header) not in widths:
        return 1, (f"The first line of '{name}' has {len(header)} fields but the table has {next(iter(widths))}: "
                   "it was read as a title and skipped; the second line gives the column names.")
    if header and all(_is_number(cell) for cell in header):
        return 0, (f"The first line of '{name}' holds numbers, not column names: it was read as data, and the "
                   "columns are called column 1, column 2, …")
    return 0, None


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _check_table_size(text: str, sep: str, name: str, limits: Limits) -> None:
    """Columns and rows counted in the raw text (upper bounds), before any parser sees it."""
    end = text.find("\n")
    columns = text.count(sep, 0, end if end >= 0 else len(text)) + 1
    rows = text.count("\n") + 1
    if columns > limits.max_csv_columns:
        raise UploadError(f"'{name}' has about {columns:,} columns; the limit is {limits.max_csv_columns:,} "
                          "(server setting LAYERLAB_MAX_CSV_COLUMNS) — keep the columns you need")
    if rows > limits.max_csv_rows:
        raise UploadError(f"'{name}' has about {rows:,} rows; the limit is {limits.max_csv_rows:,} "
                          "(server setting LAYERLAB_MAX_CSV_ROWS) — upload a sample of the rows")
    _check_dataset_bytes(rows * columns * 4, name, limits)


def _check_dataset_bytes(needed: int, name: str, limits: Limits) -> None:
    if needed > limits.max_decoded_bytes:
        raise UploadError(f"'{name}' would take {_mb(needed)} of memory as numbers, over the limit of "
                          f"{_mb(limits.max_decoded_bytes)} (server setting LAYERLAB_MAX_DATASET_MB); "
                          "use fewer examples or smaller ones")


def _sniff(text: str, name: str) -> str:
    if name.lower().endswith((".tsv", ".tab")):
        return "\t"
    try:
        return csv.Sniffer().sniff(text[:65536], delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


def missing_report(df):
    """Missing values per column, as a DataFrame the app can show (columns: column, missing, percent)."""
    import pandas as pd

    counts = df.isna().sum()
    return pd.DataFrame({"column": counts.index.astype(str), "missing": counts.values.astype(int),
                         "percent": (100.0 * counts.values / max(len(df), 1)).round(1)})


def load_csv(file, target: str | None = None, *, missing: str = "drop_rows", task: str | None = None,
             delimiter: str | None = None, limits: Limits | None = None) -> Dataset:
    """A table upload as a Dataset: `target` (default: the last column) is what to predict.

    Numeric columns are used as they are; text columns become one-hot columns
    (too many distinct values: dropped, with a note). `missing` says what to do
    with empty cells: "drop_rows", "fill_mean" (numeric: column mean, text: most
    common value) or "error". `task` is guessed when not given: text targets or
    few whole-number values mean classification.
    """
    import pandas as pd

    name = upload_name(file)
    limits = limits or Limits()
    if missing not in MISSING_POLICIES:
        raise UploadError(f"missing-value policy must be one of {', '.join(MISSING_POLICIES)}; got {missing!r}")
    df = read_table(file, limits, delimiter)
    df.columns = [str(c).strip() for c in df.columns]
    target = df.columns[-1] if target is None else target
    if target not in df.columns:
        raise UploadError(f"'{name}' has no column '{target}'; choose one of: {', '.join(df.columns)}")
    notes = []
    gaps = missing_report(df)
    gaps = gaps[gaps["missing"] > 0]
    if len(gaps):
        listing = ", ".join(f"'{c}' ({m})" for c, m in zip(gaps["column"], gaps["missing"], strict=True))
        if missing == "error":
            raise UploadError(f"'{name}' has empty cells in {listing}; fill them in or choose another missing-value policy")
        notes.append(f"empty cells found in {listing}")
    blank_target = df[target].isna()
    if blank_target.any():
        notes.append(f"dropped {int(blank_target.sum())} rows with no '{target}' value")
        df = df[~blank_target]
    features = df.drop(columns=[target])
    if missing == "drop_rows":
        keep = ~features.isna().any(axis=1)
        if (~keep).any():
            notes.append(f"dropped {int((~keep).sum())} rows with empty cells")
        features, df = features[keep], df[keep]
    elif missing == "fill_mean":
        for col in features.columns:
            if features[col].isna().any():
                column = features[col]
                fill = column.mean() if pd.api.types.is_numeric_dtype(column) else column.mode().iloc[0]
                features[col] = column.fillna(fill)
        if len(gaps):
            notes.append("filled empty cells with the column mean (text columns: the most common value)")
    if len(df) < 2:
        raise UploadError(f"'{name}' has fewer than two usable rows")
    x, feature_names, dropped = _encode_features(features, limits, name)
    for col, n in dropped:
        notes.append(f"ignored text column '{col}': {n} different values is too many to one-hot encode")
    if x.shape[1] == 0:
        raise UploadError(f"'{name}' has no usable input columns besides '{target}'")
    task = task or _guess_task(df[target])
    y, class_names = _encode_target(df[target], task, name, target)
    info = DatasetInfo(f"upload:{name}", name, task, (x.shape[1],), class_names, len(x),
                       f"Your table '{name}': predict '{target}' from {x.shape[1]} inputs.", kind="table",
                       extra={"target": target})
    return Dataset(x, y, info, class_names, feature_names=feature_names, notes=notes)


def _encode_features(features, limits: Limits, name: str):
    import pandas as pd

    numeric, categorical, dropped, width = [], [], [], 0
    for col in features.columns:
        column = features[col]
        if pd.api.types.is_bool_dtype(column) or pd.api.types.is_numeric_dtype(column):
            numeric.append(col)
            width += 1
        elif (distinct := column.nunique(dropna=True)) <= limits.max_categories:
            categorical.append(col)
            width += distinct
        else:
            dropped.append((col, int(distinct)))
    _check_dataset_bytes(len(features) * width * 4, name, limits)  # one-hot columns before they are made
    parts = [features[numeric].astype(np.float32)]
    if categorical:
        parts.append(pd.get_dummies(features[categorical].astype(str), prefix_sep="=", dtype=np.float32))
    table = pd.concat(parts, axis=1)
    return table.to_numpy(np.float32), [str(c) for c in table.columns], dropped


def _guess_task(column) -> str:
    import pandas as pd

    if not pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column):
        return "classification"
    values = column.dropna().to_numpy()
    whole = np.all(np.equal(np.mod(values, 1), 0))
    return "classification" if whole and len(np.unique(values)) <= 20 else "regression"


def _encode_target(column, task, name, target):
    if task == "regression":
        try:
            return column.to_numpy(np.float32), None
        except (TypeError, ValueError):
            raise UploadError(f"'{name}': column '{target}' holds text, so it cannot be a regression target; "
                              "choose classification or another column") from None
    return encode_labels(column.to_numpy())


# -- archives -----------------------------------------------------------------


def check_archive(zf: zipfile.ZipFile, name: str, limits: Limits,
                  max_entry: int | None = None) -> list[zipfile.ZipInfo]:
    """Refuse the whole archive if any entry is unsafe; return its file entries.

    Unsafe: absolute paths or drive letters, `..` components (zip slip),
    symlinks, too many entries, too many bytes once unpacked (zip bombs), one
    entry over `max_entry` bytes. Checked on the central directory only, before
    anything is decoded (zipfile stops reading an entry at its declared size).
    """
    entries = zf.infolist()
    if len(entries) > limits.max_files:
        raise UploadError(f"'{name}' holds {len(entries)} files; the limit is {limits.max_files}")
    total = 0
    for e in entries:
        path = e.filename.replace("\\", "/")
        parts = path.split("/")
        if path.startswith("/") or (len(parts[0]) >= 2 and parts[0][1] == ":"):
            raise UploadError(f"'{name}' was refused: entry '{e.filename}' has an absolute path")
        if ".." in parts:
            raise UploadError(f"'{name}' was refused: entry '{e.filename}' points outside the archive ('..')")
        if stat.S_ISLNK(e.external_attr >> 16):
            raise UploadError(f"'{name}' was refused: entry '{e.filename}' is a symbolic link")
        if max_entry is not None and e.file_size > max_entry:
            raise UploadError(f"'{name}' was refused: entry '{e.filename}' unpacks to {_mb(e.file_size)}, over the "
                              f"limit of {_mb(max_entry)} for one file (server setting LAYERLAB_MAX_ENTRY_MB)")
        total += e.file_size
        if total > limits.max_uncompressed_bytes:
            raise UploadError(f"'{name}' unpacks to more than {_mb(limits.max_uncompressed_bytes)} (server setting "
                              "LAYERLAB_MAX_UNPACKED_MB); the limit protects the server — upload fewer or smaller files")
    return [e for e in entries if not e.is_dir()]


def is_class_file(parts: list[str], extensions: tuple[str, ...]) -> bool:
    """Whether a path split into `parts` is `<class>/<file>` of one of `extensions` (hidden files and macOS
    resource forks are not)."""
    return len(parts) >= 2 and parts[-1].lower().endswith(extensions) and not any(
        p.startswith(".") or p == "__MACOSX" for p in parts)


def class_entries(zf: zipfile.ZipFile, name: str, limits: Limits,
                  extensions: tuple[str, ...]) -> list[tuple[str, zipfile.ZipInfo]]:
    """(class folder, entry) of every `<class>/<file>` with one of `extensions` in a checked archive."""
    entries = check_archive(zf, name, limits, max_entry=limits.max_entry_bytes)
    split = [(e.filename.replace("\\", "/").split("/"), e) for e in entries]
    return [(parts[-2], e) for parts, e in split if is_class_file(parts, extensions)]


def open_zip(raw: bytes, name: str) -> zipfile.ZipFile:
    """The upload's bytes as a ZIP archive, or UploadError in plain words."""
    try:
        return zipfile.ZipFile(io.BytesIO(raw))
    except zipfile.BadZipFile:
        raise UploadError(f"'{name}' is not a ZIP archive") from None


def read_entry(zf, entry, limits) -> bytes:
    """One archive entry's bytes, refused past `limits.max_entry_bytes`."""
    # zipfile stops at the declared size and checks the CRC, so a lying header cannot inflate past it
    with zf.open(entry) as f:
        data = f.read(limits.max_entry_bytes + 1)
    if len(data) > limits.max_entry_bytes:
        raise UploadError(f"'{entry.filename}' unpacks to more than the limit of {_mb(limits.max_entry_bytes)}")
    return data


def load_image_zip(file, size: int | tuple[int, int] = 28, color: str = "grayscale",
                   limits: Limits | None = None) -> Dataset:
    """A ZIP with one folder per class (e.g. cats/1.png, dogs/7.jpg) as an image Dataset.

    Images are decoded in memory (nothing is extracted), converted to
    grayscale or RGB, resized to `size` and scaled 0..1. Files that are not
    images or cannot be decoded are skipped and counted in `notes`.
    """
    from PIL import Image

    name = upload_name(file)
    limits = limits or Limits()
    if color not in ("grayscale", "rgb"):
        raise UploadError(f"color must be 'grayscale' or 'rgb'; got {color!r}")
    height, width = (size, size) if isinstance(size, int) else tuple(size)
    if not (1 <= height <= 1024 and 1 <= width <= 1024):
        raise UploadError(f"image size must be between 1 and 1024 pixels; got {height}×{width}")
    zf = open_zip(read_bytes(file, limits), name)
    entries = check_archive(zf, name, limits, max_entry=limits.max_entry_bytes)
    items = []  # (class name, entry)
    skipped_other = 0
    for e in entries:
        parts = e.filename.replace("\\", "/").split("/")
        if any(p.startswith(".") or p == "__MACOSX" for p in parts):
            continue  # macOS resource forks and hidden files
        if len(parts) < 2 or not parts[-1].lower().endswith(IMAGE_EXTENSIONS):
            skipped_other += 1
            continue
        items.append((parts[-2], e))
    classes = sorted({c for c, _ in items})
    if len(classes) < 2:
        raise UploadError(f"'{name}' needs images in at least two folders, one folder per class "
                          f"(found {len(classes)}); e.g. cats/1.png and dogs/1.png")
    mode, channels = ("L", 1) if color == "grayscale" else ("RGB", 3)
    needed = len(items) * height * width * channels * 4
    if needed > limits.max_decoded_bytes:
        raise UploadError(f"'{name}': {len(items)} images at {height}×{width} would take {_mb(needed)} of memory "
                          f"(limit {_mb(limits.max_decoded_bytes)}, server setting LAYERLAB_MAX_DATASET_MB); "
                          "choose a smaller image size or fewer images")
    Image.MAX_IMAGE_PIXELS = limits.max_image_pixels  # Pillow refuses bigger ones itself, whoever calls it
    sizes = _image_pixels(zf, items, name, limits)
    x = np.empty((len(items), height, width, channels), np.float32)
    y = np.empty(len(items), np.int32)
    n, corrupt, too_large = 0, 0, 0
    index = {c: i for i, c in enumerate(classes)}
    started = time.thread_time()  # this thread's CPU: other sessions' work does not count against this upload
    for (cls, e), pixels_declared in zip(items, sizes, strict=True):
        if pixels_declared is None:
            corrupt += 1
            continue
        if pixels_declared > limits.max_image_pixels:
            too_large += 1
            continue
        try:
            with Image.open(io.BytesIO(read_entry(zf, e, limits))) as img:
                img = img.convert(mode).resize((width, height), Image.Resampling.BILINEAR)
                pixels = np.asarray(img, np.float32) / 255.0
        except UploadError:
            raise
        except Image.DecompressionBombError:  # its frames or tiles declare more than the header showed
            too_large += 1
            continue
        except Exception:  # Pillow raises many kinds for broken files; all mean "skip it"
            corrupt += 1
            continue
        x[n] = pixels.reshape(height, width, channels)
        y[n] = index[cls]
        n += 1
        if time.thread_time() - started > limits.max_decode_seconds:
            raise UploadError(f"'{name}': decoding its images took more than {limits.max_decode_seconds} s of server "
                              "time (server setting LAYERLAB_MAX_DECODE_SECONDS); upload fewer or smaller pictures")
    if n == 0:
        raise UploadError(f"'{name}' holds no images that could be read")
    x, y = x[:n], y[:n]
    notes = [f"{n} images in {len(classes)} classes"]
    if corrupt:
        notes.append(f"skipped {corrupt} corrupt images")
    if too_large:
        notes.append(f"skipped {too_large} images larger than {limits.max_image_pixels} pixels")
    if skipped_other:
        notes.append(f"skipped {skipped_other} files that are not images in a class folder")
    info = DatasetInfo(f"upload:{name}", name, "classification", x.shape[1:], classes, n,
                       f"Your pictures '{name}': {len(classes)} classes.", kind="image",
                       extra={"corrupt": corrupt, "too_large": too_large, "skipped": skipped_other})
    return Dataset(x, y, info, classes, notes=notes)


def _image_pixels(zf: zipfile.ZipFile, items, name: str, limits: Limits) -> list[int | None]:
    """Each image's pixels from its header (None: not an image Pillow can read), before any is decoded.

    The images that fit one image's budget are added up and held against the archive's pixel budget, so
    thousands of images each just under the per-image limit cannot cost minutes of server CPU.
    """
    from PIL import Image

    sizes = []
    for _cls, entry in items:
        try:
            with zf.open(entry) as f, Image.open(f) as img:  # reads the header only
                sizes.append(img.width * img.height)
        except Image.DecompressionBombError:
            sizes.append(limits.max_image_pixels + 1)
        except Exception:  # noqa: BLE001 - broken or not an image: skipped and counted later
            sizes.append(None)
    total = sum(p for p in sizes if p is not None and p <= limits.max_image_pixels)
    if total > limits.max_archive_pixels:
        raise UploadError(f"'{name}': its images hold {budgets.count(total)} pixels together, over the limit of "
                          f"{budgets.count(limits.max_archive_pixels)} (server setting LAYERLAB_MAX_ARCHIVE_PIXELS); "
                          "upload fewer pictures, or make them smaller first")
    return sizes


# -- NPZ ----------------------------------------------------------------------


def load_npz(file, task: str | None = None, limits: Limits | None = None) -> Dataset:
    """An .npz with arrays `x` and `y` (optionally `class_names`, `feature_names`, `masks`, `kind`) as a Dataset.

    Object arrays are refused (they would need pickle, which can run code); `x` as text (one sentence per
    row) is a text dataset; `kind` "sound" marks raw waveforms.
    uint8 inputs are treated as images and scaled 0..1; (n, h, w) uint8 images
    get a channel axis. Integer `y` means classification unless `task` says otherwise.
    Shapes and dtypes of every entry are read from their `.npy` headers and checked before any array is loaded.
    """
    name = upload_name(file)
    limits = limits or Limits()
    raw = read_bytes(file, limits)
    zf = open_zip(raw, name)
    check_archive(zf, name, limits)
    headers = _npy_headers(zf, name)
    missing_keys = [k for k in ("x", "y") if k not in headers]
    if missing_keys:
        raise UploadError(f"'{name}' needs arrays named 'x' and 'y'; it has: {', '.join(headers) or 'none'}")
    _check_dataset_bytes(sum(math.prod(shape) * (max(4, dtype.itemsize) if key == "x" else dtype.itemsize)
                             for key, (shape, dtype) in headers.items()), name, limits)
    try:
        with np.load(io.BytesIO(raw), allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
    except Exception as exc:  # noqa: BLE001 - a damaged archive or array, in numpy's words
        raise UploadError(f"'{name}' could not be read as .npz: {exc}") from None
    return _from_arrays(arrays, name, task)


def _from_arrays(arrays: dict, name: str, task: str | None) -> Dataset:
    """The Dataset an .npz's arrays (`load_npz`'s keys) hold: what `load_npz` reads and `save_npz` describes."""
    x, y = arrays["x"], arrays["y"]
    names, columns = arrays.get("class_names"), arrays.get("feature_names")
    masks = arrays["masks"].astype(bool) if "masks" in arrays else None
    stated = str(arrays["kind"]) if "kind" in arrays else None
    if x.dtype.kind == "U":
        if x.shape[1:] not in ((), (1,)):
            raise UploadError(f"'{name}': 'x' holds text shaped {x.shape}; text is one sentence per row (shape (n,) "
                              "or (n, 1)), and any other 'x' must hold numbers")
        x = x.reshape(-1, 1)
    if x.ndim < 2 or len(x) != len(y):
        raise UploadError(f"'{name}': 'x' must have one row per example and as many rows as 'y' "
                          f"(x {x.shape}, y {y.shape})")
    if masks is not None and (masks.ndim != 3 or len(masks) != len(x)):
        raise UploadError(f"'{name}': 'masks' must be shaped (examples, height, width); got {masks.shape}")
    kind = "table" if x.ndim == 2 else "image" if x.ndim == 4 or x.dtype == np.uint8 else "sequence"
    kind = "text" if x.dtype.kind == "U" else stated if stated in STATED_KINDS else kind
    if kind == "text":
        x = x.astype(object)  # a text model's input: one Python str per example
    elif x.dtype == np.uint8:
        x = x.astype(np.float32)
        x /= 255.0
        if x.ndim == 3:
            x = x[..., None]
    else:
        x = x.astype(np.float32, copy=False)
    y = np.ravel(y) if y.ndim == 2 and y.shape[1] == 1 else y
    task = task or ("classification" if np.issubdtype(y.dtype, np.integer) or y.dtype == bool else "regression")
    if task == "classification":
        raw_labels = np.unique(y)
        y, class_names = encode_labels(y)
        if names is not None and np.issubdtype(raw_labels.dtype, np.integer) and raw_labels.min() >= 0 \
                and raw_labels.max() < len(names):
            class_names = [str(names[v]) for v in raw_labels]  # the file names its labels 0..k-1
    else:
        y, class_names = y.astype(np.float32), None
    info = DatasetInfo(f"upload:{name}", name, task, x.shape[1:], class_names, len(x),
                       f"Your arrays '{name}'.", kind=kind)
    columns = [str(c) for c in columns] if columns is not None and len(columns) == x.shape[-1] else None
    return Dataset(x, y, info, class_names, masks=masks, feature_names=columns)


REAL_KINDS = "biuf"  # bool, signed and unsigned integers, floats: the numbers a dataset may hold
TEXT_KEYS = ("class_names", "feature_names", "x", "kind")  # may hold text: names, sentences, the data's kind
STATED_KINDS = ("sound",)  # what save_npz records in `kind` where the shape alone would not tell
_KIND_WORDS = {"c": "complex numbers", "U": "text", "S": "bytes", "M": "dates", "m": "time spans", "V": "raw records"}


def _npy_headers(zf: zipfile.ZipFile, name: str) -> dict[str, tuple[tuple, np.dtype]]:
    """Each array numpy could serve, by key, as (shape, dtype) from its .npy header, without loading it.

    numpy serves key `x` from an entry `x.npy` or from a plain `x` (the plain one wins, and a repeated name
    gives its last copy), so every entry is read, and two entries for one key are refused. Only real
    numbers pass (text only for `class_names` and `feature_names`); Python objects never do.
    """
    headers = {}
    for entry in zf.infolist():
        key = entry.filename.removesuffix(".npy")
        if key in headers:
            raise UploadError(f"'{name}' holds two arrays named '{key}' (entry '{entry.filename}' repeats it); "
                              "save the arrays again with numpy.savez")
        shape, dtype = _npy_header(zf, entry, name)
        if dtype.hasobject:
            raise UploadError(f"'{name}' holds Python objects, which are not allowed (they could run code); "
                              "save plain number arrays with numpy.savez")
        if dtype.kind not in REAL_KINDS and not (key in TEXT_KEYS and dtype.kind in "US"):
            what = _KIND_WORDS.get(dtype.kind, str(dtype))
            raise UploadError(f"'{name}': array '{entry.filename}' holds {what} ({dtype.str}); '{key}' must hold "
                              "numbers (true/false, whole numbers or decimals) — save it with e.g. "
                              f"{key}.astype('float32')")
        headers[key] = (shape, dtype)
    return headers


def _npy_header(zf: zipfile.ZipFile, entry: zipfile.ZipInfo, name: str) -> tuple[tuple, np.dtype]:
    """(shape, dtype) of one entry read as .npy; UploadError naming the entry when it is not one."""
    try:
        with zf.open(entry) as f:
            version = np.lib.format.read_magic(f)
            read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            shape, _, dtype = read(f)
    except Exception:  # noqa: BLE001 - not an array, a damaged or unknown header
        raise UploadError(f"'{name}': entry '{entry.filename}' is not a numpy array that could be read; "
                          "save the arrays with numpy.savez") from None
    return shape, dtype


def save_npz(dataset: Dataset, path) -> DatasetInfo:
    """Write a dataset as .npz (x, y, class_names, feature_names, masks, kind) that `load_npz` reads back, and
    return the DatasetInfo `load_npz` will give for it (its shape, classes, size and kind: what datasets.stored
    keeps beside the file, so nobody reads the arrays to learn them).

    Lets the app hand an uploaded dataset to the training worker process as a
    file. Written to a temporary name and renamed, so readers never see half a file.
    """
    text = dataset.x.dtype == object  # sentences: stored as fixed-width text, which numpy reads without pickle
    arrays = {"x": dataset.x.astype(str) if text else dataset.x, "y": dataset.y}
    if dataset.info.kind in STATED_KINDS:
        arrays["kind"] = np.array(dataset.info.kind)
    if dataset.class_names is not None:
        arrays["class_names"] = np.array(dataset.class_names, dtype=str)
    if dataset.feature_names is not None:  # an uploaded table's column names, for Explain's bars
        arrays["feature_names"] = np.array(dataset.feature_names, dtype=str)
    if dataset.masks is not None:
        arrays["masks"] = dataset.masks
    atomic_write(path, lambda f: np.savez_compressed(f, **arrays))  # disk full: no half file stays
    return _from_arrays(arrays, upload_name(path), None).info
