"""The layer catalog: every layer a spec may use, declared once.

Each `LayerType` lists its params as `Param` declarations (type, default,
range, help). The app's forms, the spec validation and the tooltips are all
generated from these declarations; nothing else lists layer params.
"""
from __future__ import annotations

from dataclasses import dataclass

from builder.params import Param

FAMILIES = (
    "core",
    "convolution",
    "pooling",
    "recurrent",
    "attention & normalization",
    "merge",
    "regularization",
)


@dataclass(frozen=True)
class LayerType:
    name: str  # the Keras class name
    family: str
    help: str  # one sentence a student understands
    params: tuple[Param, ...] = ()
    min_inputs: int = 1
    max_inputs: int | None = 1  # None: any number
    input_ranks: tuple[int, ...] = ()  # accepted ranks incl. batch; () = any
    rank_hint: str = ""  # e.g. "(batch, height, width, channels)"

    @property
    def param_map(self) -> dict[str, Param]:
        return {p.name: p for p in self.params}


# -- shared param declarations ---------------------------------------------
ACTIVATIONS = ("linear", "relu", "sigmoid", "tanh", "softmax", "gelu", "elu", "selu", "leaky_relu", "swish", "softplus")

ACTIVATION = Param(
    "activation", "choice", "linear", choices=ACTIVATIONS,
    help="How each unit squashes its sum: relu keeps positives and zeroes negatives (fast, the usual choice); "
    "tanh squeezes to -1..1; sigmoid to 0..1; softmax turns the outputs into class probabilities (last layer).",
)
USE_BIAS = Param("use_bias", "bool", True, help="Add a learned offset to each unit.", advanced=True)
KERNEL_REGULARIZER = Param(
    "kernel_regularizer", "regularizer", None, optional=True, advanced=True,
    help='Weight penalty that discourages large weights, e.g. {"l1": 0, "l2": 0.001}; helps against overfitting.',
)
PADDING = Param("padding", "choice", "valid", choices=("valid", "same"),
                help="'same' pads the edges so the output keeps the input's size; 'valid' does not pad, so it shrinks.")


def _catalog(*types: LayerType) -> dict[str, LayerType]:
    return {t.name: t for t in types}


CATALOG: dict[str, LayerType] = _catalog(
    LayerType(
        "Input", "core", "Where data enters the model; its shape is one example's shape, without the batch.",
        (Param("shape", "shape", None, required=True, min=1, extra={"allow_none_items": True},
               help="Size of one example, e.g. [28, 28] for a grayscale image or [4] for 4 numbers."),),
        min_inputs=0, max_inputs=0,
    ),
    LayerType(
        "Dense", "core", "A fully connected layer: every output unit looks at every input value.",
        (Param("units", "int", None, required=True, min=1, max=65536, help="Number of output units (neurons)."),
         ACTIVATION, USE_BIAS, KERNEL_REGULARIZER),
    ),
    LayerType("Flatten", "core", "Unrolls an image or grid into one long list of numbers, for Dense layers."),
    LayerType(
        "Dropout", "core", "Randomly switches off a fraction of values while training, so the model cannot rely on any one.",
        (Param("rate", "float", 0.5, required=True, min=0.0, max=0.95, step=0.05, help="Fraction of values dropped while training (0.2–0.5 is typical)."),),
    ),
    LayerType(
        "Conv2D", "convolution", "Slides small learned filters over an image to detect local patterns such as edges.",
        (Param("filters", "int", None, required=True, min=1, max=4096, help="How many different patterns (feature maps) to learn."),
         Param("kernel_size", "ints", [3, 3], required=True, length=2, min=1, max=31, int_or_tuple=True, help="Height and width of each filter."),
         Param("strides", "ints", [1, 1], length=2, min=1, max=8, int_or_tuple=True, help="Step between filter positions; 2 halves the size.", advanced=True),
         PADDING, ACTIVATION, USE_BIAS, KERNEL_REGULARIZER),
        input_ranks=(4,), rank_hint="(batch, height, width, channels)",
    ),
)


def get(name: str) -> LayerType:
    return CATALOG[name]


def by_family() -> dict[str, list[LayerType]]:
    out = {f: [] for f in FAMILIES}
    for t in CATALOG.values():
        out[t.family].append(t)
    return out
