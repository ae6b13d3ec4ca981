"""`python -m builder train --data FILE_OR_FOLDER`: a teacher's own data trained without writing an experiment.

The data (a CSV/TSV, ZIP, NPZ or class folder, read by `datasets.files.load_path` under the upload budgets)
is kept like an upload (`datasets.stored`); the template named, or the one made for the data's kind, is
fitted to it with the fixes `builder.experiments.experiment.check` offers (Input shape, output units), and what is
still wrong comes back as plain lines.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

from builder.experiments import templates
from builder.experiments.experiment import apply_fix, check, problem_text
from datasets import files, registry, stored

TEMPLATE_FOR_KIND = {"sound": "sound-cnn", "text": "bag-of-words", "image": "small-cnn", "tokens": "lstm-classifier",
                     "sequence": "lstm-classifier"}
TABLE_TEMPLATE = "playground-mlp"  # a few Dense layers: its Input takes the table's columns once fitted
PHOTO_TEMPLATE = "transfer-cnn"  # a student's own photos: a pretrained base learns from a few dozen a class
FIX_ROUNDS = 4  # a fix can reveal the next problem (the Input first, then the output units)


class HeadlessError(ValueError):
    """Data or a template that cannot be trained; the lines say why and what to do."""

    def __init__(self, lines: list[str]):
        super().__init__("\n".join(lines))
        self.lines = lines


def template_for(info, photos: bool = False) -> str:
    """The template made for a dataset's kind (a table: the small MLP; `photos`: pictures taken by a student)."""
    if photos and info.kind == "image":
        return PHOTO_TEMPLATE
    return TEMPLATE_FOR_KIND.get(info.kind, TABLE_TEMPLATE)


def fitted(template_id: str, dataset_id: str, epochs: int | None = None) -> dict:
    """The template on the dataset with every fix the check offers applied (Input, output units)."""
    exp = templates.experiment(template_id, dataset_id)
    if epochs:
        exp["training"]["epochs"] = epochs
    for _ in range(FIX_ROUNDS):
        fixes = [p.fix for p in check(exp) if p.fix]
        if not fixes:
            break
        for fix in fixes:
            exp = apply_fix(exp, fix)
    return exp


def store_data(path, target: str | None = None) -> str:
    """Load the file or folder (budgets checked) and keep it as an upload; returns its dataset id."""
    dataset = files.load_path(path, target)
    key = "cli-" + hashlib.sha256(f"{os.path.abspath(path)}|{target}".encode()).hexdigest()[:16]
    return stored.store(dataset, key, title=Path(path).name)


def experiment_for_data(path, template: str | None = None, target: str | None = None,
                        epochs: int | None = None) -> dict:
    """A checked layerlab/experiment@1 dict training `template` (or the fitting one) on the data at `path`."""
    dataset_id = store_data(path, target)
    chosen = template or template_for(registry.info(dataset_id))
    if chosen not in templates.TEMPLATES:
        raise HeadlessError([f"no template '{chosen}'; pick one of {', '.join(templates.TEMPLATES)}"])
    exp = fitted(chosen, dataset_id, epochs)
    problems = check(exp)
    if problems:
        raise HeadlessError([f"template '{chosen}' does not fit this data:"] + [problem_text(p) for p in problems])
    return exp
