"""Ready-made models a workshop can start from, each a spec with a short description.

Every template names the offline dataset it is made for and the training
settings that make its default run succeed there (on top of the experiment's
declared defaults); its description states the accuracy that run reaches,
which tests/builder/experiments/test_templates_training.py checks (a GAN template, whose `spec_dict` is
the generator and `discriminator` the second network: its samples' quality,
which tests/builder/experiments/test_gan.py checks).

Node positions ("ui") lay each graph out top to bottom, branches side by
side, so the canvas shows it tidily the moment a template opens.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field

from builder.model.spec import FORMAT, ModelSpec

X0, DX, Y0, DY = 40, 250, 40, 110  # canvas layout grid (pixels): DY between layers, DX between branches


@dataclass(frozen=True)
class Template:
    id: str
    title: str
    description: str
    spec_dict: dict
    dataset: str  # the offline built-in dataset it is made for (datasets.registry)
    training: dict = field(default_factory=dict)  # settings over builder.experiments.experiment.HYPERPARAMS defaults
    discriminator: dict | None = None  # a GAN template: spec_dict is the generator (builder.experiments.gan)


def _node(nid, type_, step, branch=0, inputs=(), **params) -> dict:
    node = {"id": nid, "type": type_}
    if params:
        node["params"] = params
    if inputs:
        node["inputs"] = list(inputs)
    node["ui"] = {"x": X0 + DX * branch, "y": Y0 + DY * step}
    return node


def _chain(*layers) -> list[dict]:
    """Nodes each fed by the one before: (id, type, params) triples, top to bottom."""
    nodes, previous = [], ()
    for step, (nid, type_, params) in enumerate(layers):
        nodes.append(_node(nid, type_, step, inputs=previous, **params))
        previous = (nid,)
    return nodes


def _spec(name, description, nodes, outputs=None) -> dict:
    out = {"format": FORMAT, "name": name, "description": description, "nodes": nodes}
    if outputs:
        out["outputs"] = outputs
    return out


def _encoder_block(source: str, step: int) -> list[dict]:
    """One Transformer encoder block in miniature: self-attention over `source`, the input added back,
    LayerNormalization (nodes attention, residual, norm, from canvas row `step`)."""
    return [_node("attention", "MultiHeadAttention", step, 1, inputs=[source, source], num_heads=2, key_dim=16),
            _node("residual", "Add", step + 1, inputs=[source, "attention"]),
            _node("norm", "LayerNormalization", step + 2, inputs=["residual"])]


def _template(id, title, description, dataset, nodes, outputs=None, training=None) -> Template:
    return Template(id, title, description, _spec(id, description, nodes, outputs), dataset, training or {})


_SEED = _template(
    "seed-mlp", "Seed MLP (8×8 → 128 → 64 → 10)",
    "The classic first network: an 8×8 digit flattened into its 64 pixel values, two hidden Dense layers with "
    "Dropout, 10 class probabilities out. Its default run on 'digits' reaches about 96 % test accuracy in a few "
    "seconds.",
    "digits",
    _chain(
        ("image", "Input", {"shape": [8, 8, 1]}),
        ("flat", "Flatten", {}),
        ("hidden1", "Dense", {"units": 128, "activation": "relu"}),
        ("dropout", "Dropout", {"rate": 0.2}),
        ("hidden2", "Dense", {"units": 64, "activation": "relu"}),
        ("probs", "Dense", {"units": 10, "activation": "softmax"}),
    ),
)

_IMAGE_MLP = _template(
    "image-mlp", "Image MLP (Flatten → Dense)",
    "Flattens a 28×28 grayscale image into 784 numbers, one hidden Dense layer, then the class probabilities. "
    "On the 'shapes' pictures its default run reaches about 64 % test accuracy; compare it with the Small CNN, "
    "which looks for edges wherever the shape sits.",
    "shapes",
    _chain(
        ("image", "Input", {"shape": [28, 28, 1]}),
        ("flat", "Flatten", {}),
        ("hidden", "Dense", {"units": 128, "activation": "relu"}),
        ("probs", "Dense", {"units": 3, "activation": "softmax"}),
    ),
    training={"learning_rate": 0.001, "epochs": 20},
)

_CNN = _template(
    "small-cnn", "Small CNN for 28×28 images",
    "Two convolution + max-pooling stages find edges, then shapes; a small Dense head names the class. "
    "On the 3-class 'shapes' images its default run reaches about 92 % test accuracy.",
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
    training={"learning_rate": 0.002, "epochs": 15},
)

_RESIDUAL = _template(
    "residual-cnn", "CNN with a residual block",
    "A convolution stem, then a residual block: two convolutions whose result is added back to their input "
    "(the skip connection that lets very deep networks train). Sized for the 8×8 'digits' images; its default "
    "run reaches about 94 % test accuracy.",
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
    training={"learning_rate": 0.01, "epochs": 20},
)

_LSTM = _template(
    "lstm-classifier", "LSTM sequence classifier",
    "Each token id becomes a learned vector (Embedding); an LSTM reads the sequence step by step and its final "
    "memory decides the class. Made for the 'tokens' sequences (vocabulary under 32, length 20), where its "
    "default run reaches about 100 % test accuracy.",
    "tokens",
    _chain(
        ("tokens", "Input", {"shape": [20], "dtype": "int32"}),
        ("embed", "Embedding", {"input_dim": 32, "output_dim": 16}),
        ("lstm", "LSTM", {"units": 32}),
        ("probs", "Dense", {"units": 2, "activation": "softmax"}),
    ),
    training={"learning_rate": 0.01, "epochs": 5},
)

_TRANSFORMER = _template(
    "tiny-transformer", "Tiny Transformer encoder",
    "Embedding → self-attention (every token looks at every other) → Add the input back → LayerNormalization, "
    "then Flatten and classify. One Transformer encoder block in miniature. Attention alone does not know where "
    "a token stands; Flatten keeps each position apart, so the head can tell which token came first. On the "
    "'tokens' sequences its default run reaches about 90 % test accuracy.",
    "tokens",
    [
        _node("tokens", "Input", 0, shape=[20], dtype="int32"),
        _node("embed", "Embedding", 1, inputs=["tokens"], input_dim=32, output_dim=32),
        *_encoder_block("embed", 2),
        _node("flat", "Flatten", 5, inputs=["norm"]),
        _node("hidden", "Dense", 6, inputs=["flat"], units=32, activation="relu"),
        _node("probs", "Dense", 7, inputs=["hidden"], units=2, activation="softmax"),
    ],
    training={"learning_rate": 0.002, "epochs": 5},
)

_AUTOENCODER = _template(
    "dense-autoencoder", "Dense autoencoder",
    "Squeezes each 8×8 'digits' image through an 8-number bottleneck (the code) and rebuilds it; trained to "
    "reproduce its input, it learns what matters in the images. Its default run (task: reconstruction) ends with "
    "a mean absolute pixel error of about 0.10 on the test images (pixels run from 0 to 1).",
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
    training={"task": "reconstruction", "learning_rate": 0.005, "epochs": 20},
)

_LATENT = _template(
    "latent-autoencoder", "Autoencoder with a 2-D latent map",
    "Squeezes each 8×8 'digits' image through a code of just 2 numbers and rebuilds it, so every image becomes a "
    "point on a map: Explain shows that map coloured by digit — the model never sees the labels, yet similar "
    "digits land together. Its default run (task: reconstruction) ends with a mean absolute pixel error of "
    "about 0.13 on the test images.",
    "digits",
    _chain(
        ("image", "Input", {"shape": [8, 8, 1]}),
        ("flat", "Flatten", {}),
        ("encode", "Dense", {"units": 64, "activation": "relu"}),
        ("code", "Dense", {"units": 2}),
        ("decode", "Dense", {"units": 64, "activation": "relu"}),
        ("pixels", "Dense", {"units": 64, "activation": "sigmoid"}),
        ("image_out", "Reshape", {"target_shape": [8, 8, 1]}),
    ),
    training={"task": "reconstruction", "learning_rate": 0.005, "epochs": 30},
)

SHAPES_BASE = "pretrained:bdd52c6712980347"  # ships in builder/bases (bench/make_pretrained_base.py)

_TRANSFER = _template(
    "transfer-cnn", "Transfer learning: a pretrained CNN + a new head",
    "A small CNN trained before on 2,000 other 'shapes' pictures is the base (its weights kept); a new head "
    "(pooling + softmax) learns on top. Training runs head first with the base frozen (5 epochs), then "
    "fine-tunes its last convolution (freeze from c3) for 3 epochs at a 10× lower rate. Its default run on "
    "'shapes' reaches about 100 % test accuracy in 8 epochs (small-cnn, the same kind of network from scratch: "
    "92 % in 15).",
    "shapes",
    _chain(
        ("image", "Input", {"shape": [28, 28, 1]}),
        ("base", "Pretrained", {"model": SHAPES_BASE, "freeze": "from", "unfreeze_from": "c3"}),
        ("gap", "GlobalAveragePooling2D", {}),
        ("probs", "Dense", {"units": 3, "activation": "softmax"}),
    ),
    training={"learning_rate": 0.01, "epochs": 5, "fine_tune_epochs": 3, "fine_tune_rate": 0.001},
)

_PLAYGROUND = _template(
    "playground-mlp", "Playground MLP for 2-D points",
    "Two numbers (x, y) in, three small ReLU layers, a class out — watch the decision boundary bend. Its "
    "default run reaches about 100 % test accuracy on 'spirals'; try 'moons', 'circles' and 'xor' too, or "
    "the data setting features: crosses (x², y², x·y, sin x, sin y; set the Input to 7).",
    "spirals",
    _chain(
        ("point", "Input", {"shape": [2]}),
        ("hidden1", "Dense", {"units": 32, "activation": "relu"}),
        ("hidden2", "Dense", {"units": 32, "activation": "relu"}),
        ("hidden3", "Dense", {"units": 32, "activation": "relu"}),
        ("probs", "Dense", {"units": 2, "activation": "softmax"}),
    ),
    training={"learning_rate": 0.01, "batch_size": 10, "epochs": 30},
)

_SOUND = _template(
    "sound-cnn", "Sound classifier (spectrogram → small CNN)",
    "The raw one-second wave (16,000 samples) goes in; a MelSpectrogram layer inside the model turns it into a "
    "picture of pitch over time (64 pitch bands × 32 moments), and a small CNN reads that picture like an image. "
    "Because the spectrogram is part of the model, the downloaded model takes raw audio. Its default run on "
    "'sounds' (tone, chirp, hiss) reaches about 100 % test accuracy.",
    "sounds",
    _chain(
        ("wave", "Input", {"shape": [16000]}),
        ("spectrogram", "MelSpectrogram", {"fft_length": 1024, "num_mel_bins": 64}),  # a column every 512 samples
        ("picture", "Reshape", {"target_shape": [64, 32, 1]}),
        ("level", "BatchNormalization", {}),
        ("conv1", "Conv2D", {"filters": 8, "kernel_size": [3, 3], "activation": "relu", "padding": "same"}),
        ("pool1", "MaxPooling2D", {}),
        ("conv2", "Conv2D", {"filters": 16, "kernel_size": [3, 3], "activation": "relu", "padding": "same"}),
        ("pool2", "MaxPooling2D", {}),
        ("conv3", "Conv2D", {"filters": 32, "kernel_size": [3, 3], "activation": "relu", "padding": "same"}),
        ("gap", "GlobalMaxPooling2D", {}),
        ("probs", "Dense", {"units": 3, "activation": "softmax"}),
    ),
    training={"learning_rate": 0.003, "batch_size": 16, "epochs": 15},
)

_BAG = _template(
    "bag-of-words", "Bag of words (TextVectorization → Embedding → average)",
    "Raw sentences go in; a TextVectorization layer, which learns its vocabulary from the training texts when "
    "the run starts, turns each word into a number, an Embedding gives every word a learned vector, and their "
    "average decides the class. Word order does not count. The downloaded model takes raw strings. Its default "
    "run on 'sentences' reaches about 98 % test accuracy.",
    "sentences",
    _chain(
        ("text", "Input", {"shape": [1], "dtype": "string"}),
        ("words", "TextVectorization", {"max_tokens": 2000, "output_sequence_length": 16}),
        ("vectors", "Embedding", {"input_dim": 2000, "output_dim": 16}),
        ("average", "GlobalAveragePooling1D", {}),
        ("probs", "Dense", {"units": 3, "activation": "softmax"}),
    ),
    training={"learning_rate": 0.01, "epochs": 10},
)

_TEXT_TRANSFORMER = _template(
    "text-transformer", "Small transformer for text",
    "Raw sentences go in; TextVectorization (its vocabulary learned from the training texts) turns them into word "
    "numbers, an Embedding into vectors, then one self-attention block (every word looks at every other, the input "
    "added back, LayerNormalization) and an average decide the class. The downloaded model takes raw strings. Its "
    "default run on 'sentences' reaches about 98 % test accuracy.",
    "sentences",
    [
        _node("text", "Input", 0, shape=[1], dtype="string"),
        _node("words", "TextVectorization", 1, inputs=["text"], max_tokens=2000, output_sequence_length=16),
        _node("vectors", "Embedding", 2, inputs=["words"], input_dim=2000, output_dim=32),
        *_encoder_block("vectors", 3),
        _node("average", "GlobalAveragePooling1D", 6, inputs=["norm"]),
        _node("probs", "Dense", 7, inputs=["average"], units=3, activation="softmax"),
    ],
    training={"learning_rate": 0.003, "epochs": 10},
)

_GAN = Template(
    "mlp-gan", "GAN: MLP generator + discriminator for digits",
    "A generative adversarial network: the generator turns 16 random numbers into an 8×8 digit, the "
    "discriminator (pick it above the canvas) tells real digits from drawn ones, and each learns from the other. "
    "Its default run on 'digits' takes under a minute on a laptop; afterwards a digit classifier trained on the "
    "real images names about three in four of its samples with confidence, and none is a copy of a training "
    "image.",
    _spec("mlp-gan", "generator: noise → 8×8 digit", _chain(
        ("noise", "Input", {"shape": [16]}),
        ("grow1", "Dense", {"units": 128}),
        ("act1", "LeakyReLU", {"negative_slope": 0.2}),
        ("grow2", "Dense", {"units": 256}),
        ("act2", "LeakyReLU", {"negative_slope": 0.2}),
        ("pixels", "Dense", {"units": 64, "activation": "sigmoid"}),
        ("image", "Reshape", {"target_shape": [8, 8, 1]}),
    )),
    "digits",
    {"learning_rate": 0.001, "epochs": 400},
    discriminator=_spec("mlp-gan-discriminator", "discriminator: 8×8 image → real or fake", _chain(
        ("image", "Input", {"shape": [8, 8, 1]}),
        ("flat", "Flatten", {}),
        ("hidden1", "Dense", {"units": 256}),
        ("act1", "LeakyReLU", {"negative_slope": 0.2}),
        ("dropout", "Dropout", {"rate": 0.3}),
        ("hidden2", "Dense", {"units": 128}),
        ("act2", "LeakyReLU", {"negative_slope": 0.2}),
        ("real", "Dense", {"units": 1, "activation": "sigmoid"}),
    )),
)

TEMPLATES: dict[str, Template] = {
    t.id: t for t in (_SEED, _IMAGE_MLP, _CNN, _RESIDUAL, _LSTM, _TRANSFORMER, _AUTOENCODER, _LATENT, _TRANSFER,
                      _PLAYGROUND, _SOUND, _BAG, _TEXT_TRANSFORMER, _GAN)
}


DEFAULT_DATASET = "digits"  # what a first visit opens with: the template made for it, with the declared defaults


def for_dataset(dataset_id: str) -> str | None:
    """The id of the first template made for `dataset_id` (for DEFAULT_DATASET: the first-visit model)."""
    return next((t.id for t in TEMPLATES.values() if t.dataset == dataset_id), None)


def experiment(template_id: str, dataset: str | None = None) -> dict:
    """The template's default run as a layerlab/experiment@1 dict, on its own dataset unless one is given."""
    t = _lookup(template_id)
    out = {"format": "layerlab/experiment@1", "name": t.title, "model": copy.deepcopy(t.spec_dict),
           "data": {"dataset": dataset or t.dataset}, "augmentation": [],
           "training": copy.deepcopy(t.training)}
    if t.discriminator:
        out["gan"] = {"discriminator": copy.deepcopy(t.discriminator)}
    return out


def get(template_id: str) -> ModelSpec:
    """A fresh spec for the template (safe to edit: nothing is shared)."""
    return ModelSpec.from_dict(copy.deepcopy(_lookup(template_id).spec_dict))


def _lookup(template_id: str) -> Template:
    if template_id not in TEMPLATES:
        known = ", ".join(TEMPLATES)
        raise KeyError(f"no template '{template_id}'; pick one of {known}")
    return TEMPLATES[template_id]
