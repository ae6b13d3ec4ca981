"""The layer catalog: every layer a spec may use, declared once.

Each `LayerType` lists its params as `Param` declarations (type, default,
range, help). The app's forms, the spec validation and the tooltips are all
generated from these declarations; nothing else lists layer params.

A param's `default` is Keras's own default, so an omitted param means the same
thing in Layerlab and in Keras. For params Keras requires (`required=True`) the
default is only the value a new node starts with in the app's form.
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
    input_names: tuple[str, ...] = ()  # names of the ordered inputs, e.g. ("query", "value", "key")
    merge: str = ""  # "elementwise" (same shapes) or "concat" (same shapes but the axis); "" = not a merge

    @property
    def param_map(self) -> dict[str, Param]:
        return {p.name: p for p in self.params}

    def input_name(self, index: int) -> str:
        """A readable name for the input at `index` ("query", "input 2", …)."""
        if index < len(self.input_names):
            return self.input_names[index]
        return f"input {index + 1}"


# -- shared param declarations ---------------------------------------------
ACTIVATION_HELP = {
    "linear": "no squashing: the sum passes through unchanged (use for regression outputs)",
    "relu": "keeps positive values and turns negatives into 0; fast and the usual choice for hidden layers",
    "sigmoid": "squeezes any value into 0..1; use on the last layer for yes/no outputs",
    "tanh": "squeezes any value into -1..1, centred on 0; common in recurrent layers",
    "softmax": "turns a layer's outputs into probabilities that add up to 1; use on the last layer for classes",
    "gelu": "a smooth relu used in Transformers",
    "elu": "like relu but negatives curve smoothly towards -1",
    "selu": "a scaled elu that keeps deep dense networks self-normalising",
    "leaky_relu": "like relu but lets a small slope through for negatives, so units never go silent",
    "silu": "x times sigmoid(x) (also called swish); smooth and often a bit better than relu",
    "softplus": "a smooth version of relu that is never exactly 0",
}
ACTIVATIONS = tuple(ACTIVATION_HELP)


def _activation(default: str = "linear", required: bool = False, advanced: bool = False, name: str = "activation") -> Param:
    return Param(
        name, "choice", default, choices=ACTIVATIONS, required=required, advanced=advanced,
        help="How each unit squashes its sum: relu keeps positives and zeroes negatives (the usual choice); "
        "tanh squeezes to -1..1; sigmoid to 0..1; softmax turns outputs into class probabilities (last layer).",
        extra={"choice_help": ACTIVATION_HELP},
    )


ACTIVATION = _activation()
USE_BIAS = Param("use_bias", "bool", True, help="Add a learned offset to each unit.", advanced=True)
KERNEL_REGULARIZER = Param(
    "kernel_regularizer", "regularizer", None, optional=True, advanced=True,
    help='Weight penalty that discourages large weights, e.g. {"l1": 0, "l2": 0.001}; helps against overfitting.',
)
PADDING = Param("padding", "choice", "valid", choices=("valid", "same"),
                help="'same' pads the edges so the output keeps the input's size; 'valid' does not pad, so it shrinks.")
RATE = Param("rate", "float", 0.5, required=True, min=0.0, max=0.95, step=0.05,
             help="Fraction of values dropped while training (0.2–0.5 is typical).")
IMAGE = dict(input_ranks=(4,), rank_hint="(batch, height, width, channels)")
SEQUENCE = dict(input_ranks=(3,), rank_hint="(batch, steps, features)")


def _filters() -> Param:
    return Param("filters", "int", 32, required=True, min=1, max=4096,
                 help="How many different patterns (feature maps) to learn.")


def _kernel(n: int) -> Param:
    example = "[3, 3]" if n == 2 else "[3]"
    return Param("kernel_size", "ints", [3] * n, required=True, length=n, min=1, max=31, int_or_tuple=True,
                 help=f"Size of each filter, e.g. {example}; bigger filters see more at once.")


def _strides(n: int, default=None, optional: bool = False, help: str = "") -> Param:
    return Param("strides", "ints", [1] * n if default is None and not optional else default,
                 length=n, min=1, max=8, int_or_tuple=True, optional=optional, advanced=True,
                 help=help or "Step between filter positions; 2 halves the size.")


def _pool_params(n: int, required: bool = False) -> tuple[Param, ...]:
    return (
        Param("pool_size", "ints", [2] * n, required=required, length=n, min=1, max=16, int_or_tuple=True,
              help="Size of the window summarised into one value; 2 halves the size."),
        _strides(n, optional=True, help="Step between windows; empty means the same as pool_size."),
        PADDING,
    )


def _recurrent_params(kind: str) -> tuple[Param, ...]:
    params = [
        Param("units", "int", 32, required=True, min=1, max=4096,
              help="Size of the memory (hidden state) carried from step to step."),
        _activation("tanh", advanced=True),
    ]
    if kind != "SimpleRNN":
        params.append(_activation("sigmoid", advanced=True, name="recurrent_activation"))
    params += [
        Param("return_sequences", "bool", False,
              help="On: output one vector per time step (to stack another recurrent layer); off: only the last one."),
        Param("dropout", "float", 0.0, min=0.0, max=0.95, step=0.05, advanced=True,
              help="Fraction of the inputs dropped while training."),
        Param("recurrent_dropout", "float", 0.0, min=0.0, max=0.95, step=0.05, advanced=True,
              help="Fraction of the memory connections dropped while training (slower)."),
        USE_BIAS,
        KERNEL_REGULARIZER,
    ]
    return tuple(params)


def _merge(name: str, help: str, min_inputs: int = 2, max_inputs: int | None = None) -> LayerType:
    return LayerType(name, "merge", help, min_inputs=min_inputs, max_inputs=max_inputs, merge="elementwise")


RECURRENT_TYPES = ("SimpleRNN", "LSTM", "GRU")


def _catalog(*types: LayerType) -> dict[str, LayerType]:
    return {t.name: t for t in types}


CATALOG: dict[str, LayerType] = _catalog(
    # -- core ---------------------------------------------------------------
    LayerType(
        "Input", "core", "Where data enters the model; its shape is one example's shape, without the batch.",
        (Param("shape", "shape", [28, 28, 1], required=True, min=1, extra={"allow_none_items": True},
               help="Size of one example, e.g. [28, 28, 1] for a grayscale image or [4] for 4 numbers."),
         Param("dtype", "choice", "float32", choices=("float32", "int32"), advanced=True,
               help="float32 for measurements and pixels; int32 for token ids that feed an Embedding.")),
        min_inputs=0, max_inputs=0,
    ),
    LayerType(
        "Dense", "core", "A fully connected layer: every output unit looks at every input value.",
        (Param("units", "int", 64, required=True, min=1, max=65536, help="Number of output units (neurons)."),
         ACTIVATION, USE_BIAS, KERNEL_REGULARIZER),
    ),
    LayerType(
        "Activation", "core", "Applies an activation function on its own, e.g. after BatchNormalization.",
        (_activation("relu", required=True),),
    ),
    LayerType(
        "Dropout", "core", "Randomly switches off a fraction of values while training, so the model cannot rely on any one.",
        (RATE,),
    ),
    LayerType("Flatten", "core", "Unrolls an image or grid into one long list of numbers, for Dense layers."),
    LayerType(
        "Reshape", "core", "Rearranges the values into a new shape with the same number of values.",
        (Param("target_shape", "shape", [28, 28, 1], required=True, min=1,
               help="The new shape without the batch, e.g. [28, 28, 1]; it must hold as many values as the input."),),
    ),
    LayerType(
        "Embedding", "core", "Turns each token id (a whole number) into a learned vector, for text and other symbols.",
        (Param("input_dim", "int", 1000, required=True, min=1, max=1_000_000,
               help="Vocabulary size: the largest token id plus one."),
         Param("output_dim", "int", 32, required=True, min=1, max=4096,
               help="Length of the vector learned for each token."),
         Param("mask_zero", "bool", False, advanced=True,
               help="Treat token 0 as padding that later layers ignore.")),
    ),
    LayerType(
        "Rescaling", "core", "Multiplies every value by a fixed number and adds an offset, e.g. pixels 0..255 → 0..1.",
        (Param("scale", "float", 1 / 255, required=True, help="The factor, e.g. 0.00392 (= 1/255) for 8-bit pixels."),
         Param("offset", "float", 0.0, help="Added after scaling, e.g. -1 with scale 1/127.5 for -1..1.")),
    ),
    # -- convolution --------------------------------------------------------
    LayerType(
        "Conv1D", "convolution", "Slides small learned filters along a sequence to detect local patterns.",
        (_filters(), _kernel(1), _strides(1),
         Param("padding", "choice", "valid", choices=("valid", "same", "causal"),
               help="'same' keeps the length; 'valid' shrinks it; 'causal' only looks at earlier steps."),
         ACTIVATION, USE_BIAS, KERNEL_REGULARIZER),
        **SEQUENCE,
    ),
    LayerType(
        "Conv2D", "convolution", "Slides small learned filters over an image to detect local patterns such as edges.",
        (_filters(), _kernel(2), _strides(2), PADDING, ACTIVATION, USE_BIAS, KERNEL_REGULARIZER),
        **IMAGE,
    ),
    LayerType(
        "SeparableConv2D", "convolution",
        "A cheaper Conv2D: filters each channel on its own, then mixes channels; far fewer weights.",
        (_filters(), _kernel(2), _strides(2), PADDING,
         Param("depth_multiplier", "int", 1, min=1, max=16, advanced=True,
               help="How many filters per input channel in the first (per-channel) step."),
         ACTIVATION, USE_BIAS),
        **IMAGE,
    ),
    LayerType(
        "Conv2DTranspose", "convolution",
        "The reverse of Conv2D: grows an image, e.g. in decoders; strides 2 doubles the size.",
        (_filters(), _kernel(2), _strides(2, help="Step of the output grid; 2 doubles the size."),
         PADDING, ACTIVATION, USE_BIAS, KERNEL_REGULARIZER),
        **IMAGE,
    ),
    LayerType(
        "UpSampling2D", "convolution", "Makes an image bigger by repeating its pixels (no learned weights).",
        (Param("size", "ints", [2, 2], length=2, min=1, max=16, int_or_tuple=True,
               help="How many times bigger in height and width."),
         Param("interpolation", "choice", "nearest", choices=("nearest", "bilinear"), advanced=True,
               help="'nearest' repeats pixels; 'bilinear' blends neighbours for a smoother image.")),
        **IMAGE,
    ),
    # -- pooling --------------------------------------------------------------
    LayerType("MaxPooling1D", "pooling", "Keeps the largest value of each window along a sequence, shortening it.",
              _pool_params(1), **SEQUENCE),
    LayerType("MaxPooling2D", "pooling", "Keeps the largest value of each small window, shrinking the image.",
              _pool_params(2), **IMAGE),
    LayerType("AveragePooling1D", "pooling", "Averages each window along a sequence, shortening it.",
              _pool_params(1, required=True), **SEQUENCE),
    LayerType("AveragePooling2D", "pooling", "Averages each small window, shrinking the image smoothly.",
              _pool_params(2, required=True), **IMAGE),
    LayerType("GlobalAveragePooling1D", "pooling", "Averages over all time steps: one value per feature.",
              (Param("keepdims", "bool", False, advanced=True, help="Keep the time axis with length 1."),), **SEQUENCE),
    LayerType("GlobalAveragePooling2D", "pooling", "Averages each whole feature map into one number per channel.",
              (Param("keepdims", "bool", False, advanced=True, help="Keep height and width with size 1."),), **IMAGE),
    LayerType("GlobalMaxPooling1D", "pooling", "Keeps the largest value over all time steps, per feature.",
              (Param("keepdims", "bool", False, advanced=True, help="Keep the time axis with length 1."),), **SEQUENCE),
    LayerType("GlobalMaxPooling2D", "pooling", "Keeps the largest value of each whole feature map, per channel.",
              (Param("keepdims", "bool", False, advanced=True, help="Keep height and width with size 1."),), **IMAGE),
    # -- recurrent ------------------------------------------------------------
    LayerType("SimpleRNN", "recurrent", "Reads a sequence step by step, keeping a short memory of what it saw.",
              _recurrent_params("SimpleRNN"), **SEQUENCE),
    LayerType("LSTM", "recurrent", "Reads a sequence step by step with gates that let it remember things for long.",
              _recurrent_params("LSTM"), **SEQUENCE),
    LayerType("GRU", "recurrent", "Like LSTM with fewer gates: a long memory for sequences, a bit faster.",
              _recurrent_params("GRU"), **SEQUENCE),
    LayerType(
        "Bidirectional", "recurrent", "Runs a recurrent layer forwards and backwards over the sequence and joins both.",
        (Param("layer", "layer", {"type": "LSTM", "params": {"units": 32}}, required=True,
               choices=RECURRENT_TYPES,
               help='The recurrent layer to run both ways, e.g. {"type": "LSTM", "params": {"units": 32}}.'),
         Param("merge_mode", "choice", "concat", choices=("concat", "sum", "mul", "ave"),
               help="How the two directions are joined: 'concat' puts them side by side (twice as wide).")),
        **SEQUENCE,
    ),
    # -- attention & normalization ------------------------------------------
    LayerType(
        "MultiHeadAttention", "attention & normalization",
        "Lets every position look at every other position and mix in what is relevant (the core of Transformers).",
        (Param("num_heads", "int", 2, required=True, min=1, max=64,
               help="How many attention patterns are learned side by side."),
         Param("key_dim", "int", 16, required=True, min=1, max=1024,
               help="Size of each head's query and key vectors."),
         Param("value_dim", "int", None, optional=True, min=1, max=1024, advanced=True,
               help="Size of each head's value vectors; empty means the same as key_dim."),
         Param("dropout", "float", 0.0, min=0.0, max=0.95, step=0.05, advanced=True,
               help="Fraction of attention weights dropped while training."),
         USE_BIAS),
        min_inputs=2, max_inputs=3, input_names=("query", "value", "key"), **SEQUENCE,
    ),
    LayerType(
        "LayerNormalization", "attention & normalization",
        "Rescales each example's features to mean 0 and spread 1, which steadies training (used in Transformers).",
        (Param("axis", "int", -1, min=-8, max=8, advanced=True, help="The axis normalised; -1 is the features."),
         Param("epsilon", "float", 0.001, min=0.0, max=1.0, advanced=True, help="Small number that avoids dividing by 0."),
         Param("center", "bool", True, advanced=True, help="Learn an offset after normalising."),
         Param("scale", "bool", True, advanced=True, help="Learn a scale after normalising.")),
    ),
    LayerType(
        "BatchNormalization", "attention & normalization",
        "Rescales each feature over the batch to mean 0 and spread 1, which speeds up and steadies training.",
        (Param("axis", "int", -1, min=-8, max=8, advanced=True, help="The axis normalised; -1 is the channels."),
         Param("momentum", "float", 0.99, min=0.0, max=1.0, step=0.01, advanced=True,
               help="How slowly the running averages used at prediction time change."),
         Param("epsilon", "float", 0.001, min=0.0, max=1.0, advanced=True, help="Small number that avoids dividing by 0."),
         Param("center", "bool", True, advanced=True, help="Learn an offset after normalising."),
         Param("scale", "bool", True, advanced=True, help="Learn a scale after normalising.")),
    ),
    # -- merge ------------------------------------------------------------------
    _merge("Add", "Adds its inputs value by value (shapes must match); used for residual (skip) connections."),
    _merge("Subtract", "Subtracts the second input from the first, value by value.", 2, 2),
    _merge("Multiply", "Multiplies its inputs value by value, e.g. to gate one signal with another."),
    _merge("Average", "Averages its inputs value by value."),
    _merge("Maximum", "Keeps the larger of its inputs, value by value."),
    _merge("Minimum", "Keeps the smaller of its inputs, value by value."),
    LayerType(
        "Concatenate", "merge", "Puts its inputs side by side along one axis (the other sizes must match).",
        (Param("axis", "int", -1, min=-8, max=8, advanced=True, help="The axis joined along; -1 is the features/channels."),),
        min_inputs=2, max_inputs=None, merge="concat",
    ),
    # -- regularization ---------------------------------------------------------
    LayerType("SpatialDropout1D", "regularization",
              "Drops whole feature channels of a sequence while training, a stronger Dropout for Conv1D.",
              (RATE,), **SEQUENCE),
    LayerType("SpatialDropout2D", "regularization",
              "Drops whole feature maps of an image while training, a stronger Dropout for Conv2D.",
              (RATE,), **IMAGE),
    LayerType(
        "GaussianNoise", "regularization", "Adds random noise to the values while training, so the model learns to be robust.",
        (Param("stddev", "float", 0.1, required=True, min=0.0, max=10.0, step=0.05,
               help="How strong the noise is (its standard deviation)."),),
    ),
)


def get(name: str) -> LayerType:
    return CATALOG[name]


def by_family() -> dict[str, list[LayerType]]:
    out = {f: [] for f in FAMILIES}
    for t in CATALOG.values():
        out[t.family].append(t)
    return out
