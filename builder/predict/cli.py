"""`python -m builder predict RUN INPUT`: one input's answer as JSON on stdout.

INPUT is a picture file (PNG, JPEG or WebP; framed like the run's pictures),
a CSV file (its first row of numbers; a header row is skipped), a JSON file
or a JSON array given on the command line. Problems are one plain line on
stderr and exit 1.
"""
from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path

import numpy as np

from builder import limits
from builder.predict.engine import PredictError, open_run
from datasets.pictures import read_picture

PICTURES = (".png", ".jpg", ".jpeg", ".webp")


def cli_predict(run_dir, given: str, method: str | None = "saliency") -> int:
    try:
        trained = open_run(run_dir)
        answer = trained.answer(read_input(trained, given), method)
    except ValueError as e:  # PredictError, PictureError, ExplainError: already plain words
        print(f"predict: {e}", file=sys.stderr)
        return 1
    print(json.dumps(answer.to_json()))
    return 0


def read_input(trained, given: str) -> np.ndarray:
    """The raw input named on the command line (a file, or a JSON array as text)."""
    path = Path(given)
    if given.lstrip().startswith("["):
        return _json_array(given, "the JSON array")
    if not path.is_file():
        raise PredictError(f"{given} is neither a file nor a JSON array such as [5.1, 3.5, 1.4, 0.2]")
    if path.stat().st_size > limits.get("max_upload_mb"):
        raise PredictError(f"{path.name} is larger than the server's upload limit (LAYERLAB_MAX_UPLOAD_MB)")
    suffix = path.suffix.lower()
    if suffix in PICTURES:
        return trained.from_picture(read_picture(path.read_bytes(), limits.get("max_image_pixels"), path.name))
    text = path.read_text(encoding="utf-8", errors="replace")
    if suffix == ".json":
        return _json_array(text, path.name)
    return csv_row(text, path.name)


def _json_array(text: str, name: str) -> np.ndarray:
    try:
        values = np.asarray(json.loads(text), dtype=np.float64)
    except (json.JSONDecodeError, TypeError, ValueError):
        raise PredictError(f"{name} is not a JSON array of numbers (nested arrays for pictures)") from None
    return values


def csv_row(text: str, name: str = "the CSV") -> np.ndarray:
    """The first row of numbers of a CSV text (a header above it is skipped)."""
    for row in csv.reader(io.StringIO(text)):
        cells = [c.strip() for c in row if c.strip()]
        try:
            return np.array([float(c) for c in cells], np.float64)
        except ValueError:
            continue  # a header or a note
    raise PredictError(f"{name} has no row of numbers")
