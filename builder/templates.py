"""Ready-made models a workshop can start from, each a spec with a short description.

Node positions ("ui") lay each graph out left to right, branches one row
apart, so the canvas shows it tidily the moment a template opens.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass

from builder.spec import FORMAT, ModelSpec

X0, DX, Y0, DY = 40, 220, 120, 140  # canvas layout grid (pixels)


@dataclass(frozen=True)
class Template:
    id: str
    title: str
    description: str
    spec_dict: dict
    dataset: str  # suggested built-in dataset id (datasets.registry)


def _node(nid, type_, col, row=0, inputs=(), **params) -> dict:
    node = {"id": nid, "type": type_}
    if params:
        node["params"] = params
    if inputs:
        node["inputs"] = list(inputs)
    node["ui"] = {"x": X0 + DX * col, "y": Y0 + DY * row}
    return node


def _chain(*layers) -> list[dict]:
    """Nodes each fed by the one before: (id, type, params) triples, left to right."""
    nodes, previous = [], ()
    for col, (nid, type_, params) in enumerate(layers):
        nodes.append(_node(nid, type_, col, inputs=previous, **params))
        previous = (nid,)
    return nodes


def _spec(name, description, nodes, outputs=None) -> dict:
    out = {"format": FORMAT, "name": name, "description": description, "nodes": nodes}
    if outputs:
        out["outputs"] = outputs
    return out


def _template(id, title, description, dataset, nodes, outputs=None) -> Template:
    return Template(id, title, description, _spec(id, description, nodes, outputs), dataset)


_SEED = _template(
    "seed-mlp", "Seed MLP (784 → 128 → 64 → 10)",
    "The classic first network: 784 pixel values in, two hidden Dense layers with Dropout, 10 class probabilities out. "
    "Feed it flattened 28×28 images.",
    "mnist",
    _chain(
        ("pixels", "Input", {"shape": [784]}),
        ("hidden1", "Dense", {"units": 128, "activation": "relu"}),
        ("dropout", "Dropout", {"rate": 0.2}),
        ("hidden2", "Dense", {"units": 64, "activation": "relu"}),
        ("probs", "Dense", {"units": 10, "activation": "softmax"}),
    ),
)

_MNIST = _template(
    "mnist-mlp", "MNIST classifier (Flatten → Dense)",
    "Flattens a 28×28 grayscale image into 784 numbers, one hidden Dense layer, then 10 digit probabilities.",
    "mnist",
    _chain(
        ("image", "Input", {"shape": [28, 28, 1]}),
        ("flat", "Flatten", {}),
        ("hidden", "Dense", {"units": 128, "activation": "relu"}),
        ("probs", "Dense", {"units": 10, "activation": "softmax"}),
    ),
)

_CNN = _template(
    "small-cnn", "Small CNN for 28×28 images",
    "Two convolution + max-pooling stages find edges, then shapes; a small Dense head names the class. "
    "Suggested data: the 3-class 'shapes' images.",
    "shapes",
    _chain(
        ("image", "Input", {"shape": [28, 28, 1]}),
        ("conv1", "Conv2D", {"filters": 16, "kernel_size": [3, 3], "padding": "same", "activation": "relu"}),
        ("pool1", "MaxPooling2D", {}),
        ("conv2", "Conv2D", {"filters": 32, "kernel_size": [3, 3], "padding": "same", "activation": "relu"}),
        ("pool2", "MaxPooling2D", {}),
        ("flat", "Flatten", {}),
        ("hidden", "Dense", {"units": 64, "activation": "relu"}),
        ("dropout", "Dropout", {"rate": 0.3}),
        ("probs", "Dense", {"units": 3, "activation": "softmax"}),
    ),
)

_RESIDUAL = _template(
    "residual-cnn", "CNN with a residual block",
    "A convolution stem, then a residual block: two convolutions whose result is added back to their input "
    "(the skip connection that lets very deep networks train). Sized for the 8×8 'digits' images.",
    "digits",
    [
        _node("image", "Input", 0, shape=[8, 8, 1]),
        _node("stem", "Conv2D", 1, inputs=["image"], filters=16, kernel_size=[3, 3], padding="same", activation="relu"),
        _node("conv_a", "Conv2D", 2, 1, inputs=["stem"], filters=16, kernel_size=[3, 3], padding="same",
              activation="relu"),
        _node("conv_b", "Conv2D", 3, 1, inputs=["conv_a"], filters=16, kernel_size=[3, 3], padding="same"),
        _node("skip_add", "Add", 4, inputs=["stem", "conv_b"]),
        _node("relu", "Activation", 5, inputs=["skip_add"], activation="relu"),
        _node("pool", "GlobalAveragePooling2D", 6, inputs=["relu"]),
        _node("probs", "Dense", 7, inputs=["pool"], units=10, activation="softmax"),
    ],
)

_LSTM = _template(
    "lstm-classifier", "LSTM sequence classifier",
    "Each token id becomes a learned vector (Embedding); an LSTM reads the sequence step by step and its final "
    "memory decides the class. Suggested data: the 'tokens' sequences (vocabulary under 32, length 20).",
    "tokens",
    _chain(
        ("tokens", "Input", {"shape": [20], "dtype": "int32"}),
        ("embed", "Embedding", {"input_dim": 32, "output_dim": 16}),
        ("lstm", "LSTM", {"units": 32}),
        ("probs", "Dense", {"units": 2, "activation": "softmax"}),
    ),
)

_TRANSFORMER = _template(
    "tiny-transformer", "Tiny Transformer encoder",
    "Embedding → self-attention (every token looks at every other) → Add the input back → LayerNormalization, "
    "then average over the sequence and classify. One Transformer encoder block in miniature.",
    "tokens",
    [
        _node("tokens", "Input", 0, shape=[20], dtype="int32"),
        _node("embed", "Embedding", 1, inputs=["tokens"], input_dim=32, output_dim=32),
        _node("attention", "MultiHeadAttention", 2, 1, inputs=["embed", "embed"], num_heads=2, key_dim=16),
        _node("residual", "Add", 3, inputs=["embed", "attention"]),
        _node("norm", "LayerNormalization", 4, inputs=["residual"]),
        _node("pool", "GlobalAveragePooling1D", 5, inputs=["norm"]),
        _node("hidden", "Dense", 6, inputs=["pool"], units=32, activation="relu"),
        _node("probs", "Dense", 7, inputs=["hidden"], units=2, activation="softmax"),
    ],
)

_AUTOENCODER = _template(
    "dense-autoencoder", "Dense autoencoder",
    "Squeezes each 8×8 image through an 8-number bottleneck (the code) and rebuilds it; trained to reproduce "
    "its input, it learns what matters in the images.",
    "digits",
    _chain(
        ("image", "Input", {"shape": [8, 8, 1]}),
        ("flat", "Flatten", {}),
        ("encode", "Dense", {"units": 32, "activation": "relu"}),
        ("code", "Dense", {"units": 8, "activation": "relu"}),
        ("decode", "Dense", {"units": 32, "activation": "relu"}),
        ("pixels", "Dense", {"units": 64, "activation": "sigmoid"}),
        ("image_out", "Reshape", {"target_shape": [8, 8, 1]}),
    ),
)

_PLAYGROUND = _template(
    "playground-mlp", "Playground MLP for 2-D points",
    "Two numbers (x, y) in, two small tanh layers, a class out — watch the decision boundary bend. "
    "Try it on 'moons', 'circles', 'spirals' or 'xor'.",
    "moons",
    _chain(
        ("point", "Input", {"shape": [2]}),
        ("hidden1", "Dense", {"units": 8, "activation": "tanh"}),
        ("hidden2", "Dense", {"units": 8, "activation": "tanh"}),
        ("probs", "Dense", {"units": 2, "activation": "softmax"}),
    ),
)

TEMPLATES: dict[str, Template] = {
    t.id: t for t in (_SEED, _MNIST, _CNN, _RESIDUAL, _LSTM, _TRANSFORMER, _AUTOENCODER, _PLAYGROUND)
}


def get(template_id: str) -> ModelSpec:
    """A fresh spec for the template (safe to edit: nothing is shared)."""
    if template_id not in TEMPLATES:
        known = ", ".join(TEMPLATES)
        raise KeyError(f"no template '{template_id}'; pick one of {known}")
    return ModelSpec.from_dict(copy.deepcopy(TEMPLATES[template_id].spec_dict))
