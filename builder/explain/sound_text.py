"""Explaining sound and text models: where in the spectrogram a sound model looked, which words decided a text.

`spectrogram_saliency(model, waves)`: the model's own spectrogram layer (MelSpectrogram) of each clip and the
gradient of the class score with respect to it, so the picture a student sees is the one the model read.
`word_attribution(model, text)`: occlusion — each word left out in turn, and how far the class probability
falls without it (positive: the word spoke for the class). Both take the model that takes raw data (the
canvas model of a sound run; the deployable model of a text run).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from builder.explain.gradients import value_and_grad
from datasets.base import as_model_input

SPECTROGRAM_TYPES = ("MelSpectrogram", "STFTSpectrogram")


@dataclass
class WordScores:
    words: list[str]
    scores: list[float]  # probability of `target` with the text whole, minus with the word left out
    target: int  # the class explained (the predicted one unless asked)
    probability: float  # of `target`, for the whole text


def spectrogram_layer(model):
    """The model's spectrogram layer, or None (not a sound model)."""
    return next((layer for layer in model.layers if type(layer).__name__ in SPECTROGRAM_TYPES), None)


def spectrogram_saliency(model, waves: np.ndarray, target=None) -> tuple[np.ndarray, np.ndarray]:
    """(spectrograms, saliency), each (n, bands, frames): |d class score / d spectrogram|, scaled to 0..1 per clip.

    The model is split at its spectrogram layer (which must take the model's input directly): the first part
    makes the pictures, the rest is differentiated with respect to them.
    """
    import keras

    layer = spectrogram_layer(model)
    if layer is None or layer.input is not model.input:
        raise ValueError("this model has no spectrogram layer right after its input; saliency over a spectrogram "
                         "needs one (MelSpectrogram)")
    pictures = np.asarray(layer(np.asarray(waves, np.float32)))
    head = keras.Model(layer.output, model.output)
    probs = np.asarray(head(pictures))
    classes = probs.argmax(-1) if target is None else np.broadcast_to(np.asarray(target), (len(pictures),))
    pick = keras.ops.one_hot(keras.ops.convert_to_tensor(classes), probs.shape[-1])
    _, grads = value_and_grad(lambda p: keras.ops.sum(head(p) * pick, axis=-1), pictures)
    grads = np.abs(grads).reshape(pictures.shape)
    top = grads.reshape(len(grads), -1).max(axis=1).reshape(-1, *([1] * (grads.ndim - 1)))
    return pictures, grads / np.where(top > 0, top, 1.0)


def word_attribution(model, text: str, target: int | None = None) -> WordScores:
    """Each word's share in the answer by occlusion: one model call on the text and every one-word-less copy."""
    words = text.split()
    variants = [text] + [" ".join(words[:i] + words[i + 1:]) for i in range(len(words))]
    batch = np.empty((len(variants), 1), object)
    batch[:, 0] = variants
    probs = np.asarray(model.predict(as_model_input(batch), verbose=0))
    chosen = int(probs[0].argmax()) if target is None else int(target)
    whole = float(probs[0, chosen])
    return WordScores(words, [whole - float(p) for p in probs[1:, chosen]], chosen, whole)
