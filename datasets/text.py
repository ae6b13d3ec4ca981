"""Text: labelled sentences as a Dataset of raw strings.

Sources: a CSV with a text column and a label column, lines per class (pasted,
or `<folder>/<class>/<file>.txt`, one example a line — the class folder layout
of docs/interfaces.md). `x` is an object array of `str`, one per row ((n, 1)); the words become
numbers inside the model (a `TextVectorization` layer adapted on the training
split), so the deployable model takes raw strings.

Budgets: one line or row may hold `max_text_chars` characters (checked on the
raw text before it is parsed); a model keeps at most `max_vocabulary` words
(`info.extra["vocabulary"]`, the template's `max_tokens`).
"""
from __future__ import annotations

import io
import os
import re

import numpy as np

from builder import limits as budgets
from datasets.base import Dataset, DatasetInfo
from datasets.uploads import Limits, UploadError, read_bytes, read_table, upload_name

_WORD = re.compile(r"[\w']+")  # what TextVectorization's default standardize keeps as words


def _check_lines(text: str, name: str) -> None:
    cap = budgets.get("max_text_chars")
    longest = max((len(line) for line in text.splitlines()), default=0)
    if longest > cap:
        raise UploadError(f"'{name}' has a line of {longest:,} characters, over the limit of {cap:,} for one "
                          "example (server setting LAYERLAB_MAX_TEXT_CHARS); split long texts into sentences")


def vocabulary_size(texts) -> int:
    """Distinct lower-case words in `texts`, counted up to one past the vocabulary budget."""
    cap, seen = budgets.get("max_vocabulary"), set()
    for text in texts:
        seen.update(_WORD.findall(text.lower()))
        if len(seen) > cap:
            break
    return len(seen)


def text_dataset(texts: list[str], labels: list[str], name: str, description: str,
                 notes: list[str] | None = None) -> Dataset:
    """Sentences with their class names as a text Dataset (classes sorted by name)."""
    keep = [i for i, t in enumerate(texts) if t.strip()]
    texts, labels = [texts[i].strip() for i in keep], [str(labels[i]) for i in keep]
    classes = sorted(set(labels))
    if len(classes) < 2:
        raise UploadError(f"'{name}' needs sentences in at least two classes (found {len(classes)})")
    words, cap = vocabulary_size(texts), budgets.get("max_vocabulary")
    notes = list(notes or [f"{len(texts)} texts in {len(classes)} classes"])
    if words > cap:
        notes.append(f"more than {cap:,} different words: the model keeps the {cap:,} most frequent "
                     "(server setting LAYERLAB_MAX_VOCABULARY)")
    _check_stored_size(texts, name)
    index = {c: i for i, c in enumerate(classes)}
    x = np.empty((len(texts), 1), object)  # one string per example: the model's Input is [1], dtype string
    x[:, 0] = texts
    y = np.array([index[c] for c in labels], np.int32)
    info = DatasetInfo(f"upload:{name}", name, "classification", (1,), classes, len(x), description,
                       kind="text", extra={"vocabulary": min(words, cap) + 2})  # + padding and unknown
    return Dataset(x, y, info, classes, notes=notes)


def _check_stored_size(texts: list[str], name: str) -> None:
    """Texts are kept (and handed to the trainer) as fixed-width text: every row as long as the longest."""
    needed, cap = len(texts) * max(map(len, texts), default=0) * 4, budgets.get("max_dataset_mb")
    if needed > cap:
        raise UploadError(f"'{name}': {len(texts):,} texts as long as the longest one would take "
                          f"{needed // 2**20:,} MB (limit {cap // 2**20:,} MB, server setting LAYERLAB_MAX_DATASET_MB); "
                          "shorten the longest texts or use fewer")


def _text_column(df, text: str | None, name: str) -> str:
    if text is not None:
        if text not in df.columns:
            raise UploadError(f"'{name}' has no column '{text}'; its columns are {', '.join(map(str, df.columns))}")
        return text
    from pandas.api.types import is_numeric_dtype

    words = {c: df[c].astype(str).str.len().mean() for c in df.columns if not is_numeric_dtype(df[c])}
    if not words:
        raise UploadError(f"'{name}' has no column of text; add one with a sentence in each row")
    return max(words, key=words.get)


def load_text_csv(file, text: str | None = None, target: str | None = None, limits: Limits | None = None) -> Dataset:
    """A CSV/TSV with a text column and a label column as a text Dataset.

    `text` defaults to the column with the longest cells, `target` to the one other column
    (named when the table has more).
    """
    name = upload_name(file)
    limits = limits or Limits()
    raw = read_bytes(file, limits, cap=min(limits.max_upload_bytes, limits.max_csv_bytes))
    _check_lines(raw.decode("utf-8-sig", errors="replace"), name)
    upload = io.BytesIO(raw)
    upload.name = name
    df = read_table(upload, limits)
    text = _text_column(df, text, name)
    others = [c for c in df.columns if c != text]
    if target is None and len(others) != 1:
        raise UploadError(f"'{name}' has several columns besides '{text}'; name the label column "
                          f"(one of {', '.join(map(str, others))})")
    target = others[0] if target is None else target
    if target not in df.columns or target == text:
        raise UploadError(f"'{name}': '{target}' is not a label column next to the text '{text}'")
    rows = df[[text, target]].dropna()
    return text_dataset(rows[text].astype(str).tolist(), rows[target].astype(str).tolist(), name,
                        f"Your texts '{name}': predict '{target}' from '{text}'.")


def load_text_lines(lines_per_class: dict[str, str], name: str = "my texts") -> Dataset:
    """Pasted text, one example a line, per class name."""
    for cls, block in lines_per_class.items():
        _check_lines(block, f"{name}/{cls}")
    pairs = [(line, cls) for cls, block in lines_per_class.items() for line in block.splitlines()]
    return text_dataset([t for t, _ in pairs], [c for _, c in pairs], name, f"Your texts '{name}'.")


def load_text_folder(folder, limits: Limits | None = None) -> Dataset:
    """`<folder>/<class>/<file>.txt`, one example a line, as a text Dataset."""
    limits = limits or Limits()
    blocks: dict[str, str] = {}
    for cls in sorted(os.listdir(folder)):
        path = os.path.join(folder, cls)
        if cls.startswith(".") or not os.path.isdir(path):
            continue
        files = sorted(f for f in os.listdir(path) if f.lower().endswith(".txt") and not f.startswith("."))
        raw = [read_bytes(os.path.join(path, f), limits, cap=limits.max_csv_bytes) for f in files]
        blocks[cls] = "\n".join(r.decode("utf-8-sig", errors="replace") for r in raw)
    return load_text_lines(blocks, os.path.basename(os.path.normpath(folder)))


# -- generated offline sentences --------------------------------------------------

_TOPICS = {
    "food": ("pizza", "soup", "bread", "cheese", "apples", "pasta", "salad", "cake", "rice", "noodles", "tea",
             "coffee", "chocolate", "carrots", "the menu", "dinner", "breakfast", "lunch"),
    "sport": ("football", "tennis", "the match", "the race", "swimming", "the goal", "the team", "basketball",
              "the coach", "running", "the final", "cycling", "the league", "the referee", "skiing", "the score"),
    "weather": ("the rain", "the sun", "snow", "the wind", "a storm", "the clouds", "fog", "thunder", "the heat",
                "frost", "the forecast", "a rainbow", "hail", "the temperature", "drizzle", "the sky"),
}
_VERBS = ("I love", "we talked about", "everyone hates", "my friend likes", "they wrote about", "she enjoyed",
          "he complained about", "you should see", "nobody expected", "the news was about", "I dreamt of",
          "we waited for", "kids laugh at", "the article praised", "my neighbour mentioned")
_ENDINGS = ("today", "yesterday", "this morning", "all week", "again", "last night", "at school", "in the city",
            "on the radio", "with my family", "", "", "")


def generate_sentences(n_samples: int = 3000, seed: int = 0, noise: float = 0.05) -> tuple[list[str], list[str]]:
    """Short labelled sentences about food, sport or weather, made from templates (no download).

    A fraction `noise` of the sentences name a word of another topic too, so not every sentence
    is decided by one word.
    """
    rng = np.random.default_rng(seed)
    topics = sorted(_TOPICS)
    texts, labels = [], []
    for i in range(n_samples):
        topic = topics[i % len(topics)]
        words = _TOPICS[topic]
        sentence = f"{_VERBS[rng.integers(len(_VERBS))]} {words[rng.integers(len(words))]}"
        if rng.random() < noise:
            other = _TOPICS[topics[(i + 1 + rng.integers(2)) % len(topics)]]
            sentence += f" and {other[rng.integers(len(other))]}"
        texts.append(f"{sentence} {_ENDINGS[rng.integers(len(_ENDINGS))]}".strip())
        labels.append(topic)
    return texts, labels


def sentences(n_samples: int = 3000, noise: float = 0.05, seed: int = 0) -> dict:
    """The built-in 'sentences' set (datasets.registry)."""
    data = text_dataset(*generate_sentences(n_samples, seed, noise), "sentences", "")
    return {"x": data.x, "y": data.y, "class_names": data.class_names}
