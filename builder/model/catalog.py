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

from builder.model.params import Param

FAMILIES = (
    "core",
    "activation",
    "convolution",
    "pooling",
    "reshaping",
    "recurrent",
    "attention & normalization",
    "merge",
    "regularization",
    "transfer",
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
    "relu6": "relu capped at 6; keeps values small, used in MobileNet",
    "hard_sigmoid": "a cheap straight-line version of sigmoid (0..1)",
    "hard_silu": "a cheap version of silu (also called hard swish), used in MobileNetV3",
    "mish": "x times tanh(softplus(x)); smooth like silu",
    "softsign": "squeezes values into -1..1 more gently than tanh",
    "exponential": "e to the power of the value; always positive",
    "log_softmax": "the logarithm of softmax; pairs with a negative log-likelihood loss",
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
VOLUME = dict(input_ranks=(5,), rank_hint="(batch, depth, height, width, channels)")
_RANK = {1: SEQUENCE, 2: IMAGE, 3: VOLUME}
AXIS = Param("axis", "int", -1, min=-8, max=8, advanced=True, help="The axis worked along; -1 is the last (features).")


def _filters() -> Param:
    return Param("filters", "int", 32, required=True, min=1, max=4096,
                 help="How many different patterns (feature maps) to learn.")


def _kernel(n: int) -> Param:
    example = str([3] * n)
    return Param("kernel_size", "ints", [3] * n, required=True, length=n, min=1, max=31, int_or_tuple=True,
                 help=f"Size of each filter, e.g. {example}; bigger filters see more at once.")


def _strides(n: int, default=None, optional: bool = False, help: str = "") -> Param:
    return Param("strides", "ints", [1] * n if default is None and not optional else default,
                 length=n, min=1, max=8, int_or_tuple=True, optional=optional, advanced=True,
                 help=help or "Step between filter positions; 2 halves the size.")


def _dilation(n: int) -> Param:
    return Param("dilation_rate", "ints", [1] * n, length=n, min=1, max=1024, int_or_tuple=True, advanced=True,
                 help="Gaps between the filter's taps (a dilated or atrous convolution): 2 spreads a 3-wide filter "
                 "over 5 positions, so it sees further with the same weights. Plain and transposed convolutions "
                 "need strides 1 for it.")


def _conv(name: str, n: int, help: str, *extra: Param, filters: bool = True, regularizer: bool = True) -> LayerType:
    """A convolution over n spatial axes: (filters,) kernel_size, strides, padding, dilation, extras, activation, bias."""
    params = ((_filters(),) if filters else ()) + (_kernel(n), _strides(n), PADDING, _dilation(n), *extra, ACTIVATION,
                                                   USE_BIAS)
    return LayerType(name, "convolution", help, params + ((KERNEL_REGULARIZER,) if regularizer else ()), **_RANK[n])


GROUPS = Param("groups", "int", 1, min=1, max=4096, advanced=True,
               help="Split the channels into this many groups that are filtered separately (grouped convolution); "
               "input channels and filters must both divide evenly.")
DEPTH_MULTIPLIER = Param("depth_multiplier", "int", 1, min=1, max=16, advanced=True,
                         help="How many filters per input channel in the per-channel step.")


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
# Layers TimeDistributed may wrap: per-step layers without state.
TIME_DISTRIBUTED_TYPES = ("Dense", "Conv1D", "Conv2D", "MaxPooling2D", "AveragePooling2D", "GlobalAveragePooling2D",
                          "Flatten", "Dropout")
WRAPPERS = ("Bidirectional", "TimeDistributed")
FREEZE_HELP = {
    "all": "the base's weights stay exactly as trained; only the layers after it learn",
    "none": "every layer of the base learns too (use a low learning rate)",
    "from": "the base's layers from 'unfreeze_from' on learn; the earlier ones stay as trained",
}
FREEZE = tuple(FREEZE_HELP)  # types whose "layer" param is a whole inner layer
INPUT_DTYPES = ("float32", "int32", "int64", "string")


def _catalog(*types: LayerType) -> dict[str, LayerType]:
    return {t.name: t for t in types}


CATALOG: dict[str, LayerType] = _catalog(
    # -- core ---------------------------------------------------------------
    LayerType(
        "Input", "core", "Where data enters the model; its shape is one example's shape, without the batch.",
        (Param("shape", "shape", [28, 28, 1], required=True, min=1, extra={"allow_none_items": True},
               help="Size of one example, e.g. [28, 28, 1] for a grayscale image or [4] for 4 numbers."),
         Param("dtype", "choice", "float32", choices=INPUT_DTYPES, advanced=True,
               help="float32 for measurements, pixels and sound; int32 (or int64) for token ids that feed an "
               "Embedding; string for raw text that feeds a TextVectorization.")),
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
        (RATE,
         Param("noise_shape", "shape", None, optional=True, min=1, advanced=True, extra={"allow_none_items": True},
               help="Drop whole slices at once: the shape of the drop mask including the batch, with 1 on axes "
               "that share one decision, e.g. [null, 1, 1, 1] drops whole examples' residual branches.")),
    ),
    LayerType(
        "MelSpectrogram", "core", "Turns a raw sound wave into a picture of its pitches over time (a mel spectrogram).",
        (Param("fft_length", "int", 2048, min=16, max=16384, advanced=True,
               help="Samples in each slice that is split into frequencies; more gives finer pitch, coarser time."),
         Param("sequence_stride", "int", 512, min=1, max=16384,
               help="Samples between the starts of two slices: one column of the picture per stride."),
         Param("sampling_rate", "int", 16000, min=1000, max=384000,
               help="Samples per second of the sound (Layerlab's clips: 16000)."),
         Param("num_mel_bins", "int", 128, min=1, max=512, help="Rows of the picture: pitch bands from low to high."),
         Param("min_freq", "float", 20.0, min=0.0, max=20000.0, advanced=True, help="Lowest pitch kept, in Hz."),
         Param("power_to_db", "bool", True, advanced=True,
               help="Measure loudness in decibels, as ears hear it (small and large sounds both visible)."),
         Param("top_db", "float", 80.0, min=1.0, max=200.0, advanced=True,
               help="Quietest level kept below the loudest, in decibels.")),
        input_ranks=(2,), rank_hint="(batch, samples)",
    ),
    LayerType(
        "TextVectorization", "core", "Turns raw text into word numbers, with a vocabulary learned from the training texts.",
        (Param("max_tokens", "int", None, optional=True, min=3, max=1_000_000,
               help="Most words kept (the most frequent; the rest read as unknown); empty: every word."),
         Param("output_mode", "choice", "int", choices=("int", "multi_hot", "count", "tf_idf"),
               help="int: one number per word, in order (for Embedding); multi_hot/count/tf_idf: one value per "
               "vocabulary word (a bag of words for Dense)."),
         Param("output_sequence_length", "int", None, optional=True, min=1, max=10_000,
               help="int mode: cut or pad every text to this many words; empty: the longest text in the batch.")),
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
         _dilation(1), GROUPS, ACTIVATION, USE_BIAS, KERNEL_REGULARIZER),
        **SEQUENCE,
    ),
    LayerType(
        "Conv2D", "convolution", "Slides small learned filters over an image to detect local patterns such as edges.",
        (_filters(), _kernel(2), _strides(2), PADDING, _dilation(2), GROUPS, ACTIVATION, USE_BIAS, KERNEL_REGULARIZER),
        **IMAGE,
    ),
    LayerType(
        "SeparableConv2D", "convolution",
        "A cheaper Conv2D: filters each channel on its own, then mixes channels; far fewer weights.",
        (_filters(), _kernel(2), _strides(2), PADDING, _dilation(2),
         Param("depth_multiplier", "int", 1, min=1, max=16, advanced=True,
               help="How many filters per input channel in the first (per-channel) step."),
         ACTIVATION, USE_BIAS),
        **IMAGE,
    ),
    LayerType(
        "Conv2DTranspose", "convolution",
        "The reverse of Conv2D: grows an image, e.g. in decoders; strides 2 doubles the size.",
        (_filters(), _kernel(2), _strides(2, help="Step of the output grid; 2 doubles the size."),
         PADDING, _dilation(2), ACTIVATION, USE_BIAS, KERNEL_REGULARIZER),
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
         USE_BIAS,
         Param("attention_axes", "ints", None, optional=True, min=-8, max=8, advanced=True,
               help="The axes attended over, e.g. [1, 2] for height and width; empty means every axis between "
               "the batch and the features (the steps of a sequence, both axes of a grid).")),
        min_inputs=2, max_inputs=3, input_names=("query", "value", "key"), input_ranks=(3, 4, 5),
        rank_hint="(batch, steps, features) or a grid such as (batch, height, width, features)",
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

    # -- added for the classic model families (keras.applications) -------------
    LayerType("Identity", "core", "Passes its input through unchanged; a placeholder or a named tap point."),
    LayerType(
        "ReLU", "activation", "Keeps positive values and turns negatives into 0, optionally capped (ReLU6 in MobileNet).",
        (Param("max_value", "float", None, optional=True, min=0.0, help="Cap on the output, e.g. 6; empty means no cap."),
         Param("negative_slope", "float", 0.0, min=0.0, max=1.0, step=0.01, advanced=True,
               help="Slope kept for values below the threshold (0 = plain relu)."),
         Param("threshold", "float", 0.0, advanced=True, help="Values below this count as negative.")),
    ),
    LayerType(
        "LeakyReLU", "activation", "Like ReLU but lets a small slope through for negatives, so units never go silent.",
        (Param("negative_slope", "float", 0.3, min=0.0, max=1.0, step=0.01,
               help="How much of a negative value is let through, e.g. 0.1."),),
    ),
    LayerType(
        "PReLU", "activation", "A LeakyReLU that learns its negative slope, one slope per value (or per channel).",
        (Param("shared_axes", "ints", None, optional=True, min=1, max=8, advanced=True,
               help="Axes that share one slope, e.g. [1, 2] for one slope per image channel."),),
    ),
    LayerType(
        "ELU", "activation", "Like ReLU, but negative values curve smoothly down towards -alpha.",
        (Param("alpha", "float", 1.0, min=0.0, max=10.0, step=0.1, help="How far negative values may go (to -alpha)."),),
    ),
    LayerType(
        "Softmax", "activation", "Turns values into probabilities that add up to 1 along one axis.",
        (Param("axis", "int", -1, min=-8, max=8, advanced=True, help="The axis that adds up to 1; -1 is the last."),),
    ),
    _conv("DepthwiseConv2D", 2, "Filters each image channel on its own (no mixing of channels); cheap, used in MobileNet.",
          DEPTH_MULTIPLIER, filters=False, regularizer=False),
    _conv("DepthwiseConv1D", 1, "Filters each channel of a sequence on its own, without mixing channels.",
          DEPTH_MULTIPLIER, filters=False, regularizer=False),
    _conv("SeparableConv1D", 1, "A cheaper Conv1D: filters each channel on its own, then mixes channels.",
          DEPTH_MULTIPLIER, regularizer=False),
    _conv("Conv1DTranspose", 1, "The reverse of Conv1D: lengthens a sequence, e.g. in decoders; strides 2 doubles it."),
    _conv("Conv3D", 3, "Slides small learned filters through a volume or a video (depth, height, width).", GROUPS),
    _conv("Conv3DTranspose", 3, "The reverse of Conv3D: grows a volume, e.g. in 3-D decoders."),
    LayerType(
        "UpSampling1D", "convolution", "Makes a sequence longer by repeating each step (no learned weights).",
        (Param("size", "int", 2, min=1, max=16, help="How many times each step is repeated."),), **SEQUENCE,
    ),
    LayerType(
        "UpSampling3D", "convolution", "Makes a volume bigger by repeating its voxels (no learned weights).",
        (Param("size", "ints", [2, 2, 2], length=3, min=1, max=16, int_or_tuple=True,
               help="How many times bigger in depth, height and width."),), **VOLUME,
    ),
    LayerType("MaxPooling3D", "pooling", "Keeps the largest value of each small 3-D window, shrinking the volume.",
              _pool_params(3), **VOLUME),
    LayerType("AveragePooling3D", "pooling", "Averages each small 3-D window, shrinking the volume smoothly.",
              _pool_params(3, required=True), **VOLUME),
    LayerType("GlobalAveragePooling3D", "pooling", "Averages each whole 3-D feature map into one number per channel.",
              (Param("keepdims", "bool", False, advanced=True, help="Keep depth, height and width with size 1."),),
              **VOLUME),
    LayerType("GlobalMaxPooling3D", "pooling", "Keeps the largest value of each whole 3-D feature map, per channel.",
              (Param("keepdims", "bool", False, advanced=True, help="Keep depth, height and width with size 1."),),
              **VOLUME),
    LayerType(
        "ZeroPadding1D", "reshaping", "Adds zeros at the start and end of a sequence, making it longer.",
        (Param("padding", "ints", [1, 1], length=2, min=0, max=64, int_or_tuple=True,
               help="Steps added at the start and at the end, e.g. [1, 1]."),), **SEQUENCE,
    ),
    LayerType(
        "ZeroPadding2D", "reshaping", "Adds a border of zeros around an image, e.g. before a strided convolution.",
        (Param("padding", "pairs", [[1, 1], [1, 1]], length=2, min=0, max=64,
               help="Rows and columns of zeros added: one number for all sides, [rows, columns], or "
               "[[top, bottom], [left, right]]."),), **IMAGE,
    ),
    LayerType(
        "ZeroPadding3D", "reshaping", "Adds a border of zeros around a volume.",
        (Param("padding", "pairs", [[1, 1], [1, 1], [1, 1]], length=3, min=0, max=64,
               help="Zeros added: one number for all sides, [depth, rows, columns], or three [before, after] pairs."),),
        **VOLUME,
    ),
    LayerType(
        "Cropping1D", "reshaping", "Cuts steps off the start and end of a sequence.",
        (Param("cropping", "ints", [1, 1], length=2, min=0, max=1024, int_or_tuple=True,
               help="Steps removed at the start and at the end, e.g. [1, 1]."),), **SEQUENCE,
    ),
    LayerType(
        "Cropping2D", "reshaping", "Cuts rows and columns off the edges of an image.",
        (Param("cropping", "pairs", [[0, 0], [0, 0]], length=2, min=0, max=1024,
               help="Pixels removed: one number for all sides, [rows, columns], or [[top, bottom], [left, right]]."),),
        **IMAGE,
    ),
    LayerType(
        "Cropping3D", "reshaping", "Cuts slices off the edges of a volume.",
        (Param("cropping", "pairs", [[1, 1], [1, 1], [1, 1]], length=3, min=0, max=1024,
               help="Slices removed: one number for all sides, [depth, rows, columns], or three [before, after] pairs."),),
        **VOLUME,
    ),
    LayerType(
        "Resizing", "reshaping", "Resizes images to a fixed height and width, e.g. to fit a model made for another size.",
        (Param("height", "int", 64, required=True, min=1, max=4096, help="Height of the output image in pixels."),
         Param("width", "int", 64, required=True, min=1, max=4096, help="Width of the output image in pixels."),
         Param("interpolation", "choice", "bilinear",
               choices=("bilinear", "nearest", "bicubic", "area", "lanczos3", "lanczos5"), advanced=True,
               help="How new pixels are computed: 'nearest' copies, 'bilinear' blends neighbours."),
         Param("crop_to_aspect_ratio", "bool", False, advanced=True,
               help="Crop first so the picture is not squashed."),
         Param("pad_to_aspect_ratio", "bool", False, advanced=True,
               help="Pad first so the picture is not squashed.")),
        **IMAGE,
    ),
    LayerType(
        "CenterCrop", "reshaping", "Keeps the middle part of each image at the given height and width.",
        (Param("height", "int", 24, required=True, min=1, max=4096, help="Height of the kept middle part."),
         Param("width", "int", 24, required=True, min=1, max=4096, help="Width of the kept middle part.")),
        **IMAGE,
    ),
    LayerType(
        "Permute", "reshaping", "Swaps the axes of each example, e.g. steps and features.",
        (Param("dims", "ints", [2, 1], required=True, min=1, max=8,
               help="The new order of the axes without the batch, counted from 1, e.g. [2, 1] swaps two axes."),),
    ),
    LayerType(
        "RepeatVector", "reshaping", "Repeats a vector n times into a sequence, e.g. to feed a decoder LSTM.",
        (Param("n", "int", 4, required=True, min=1, max=4096, help="How many times (steps) the vector is repeated."),),
        input_ranks=(2,), rank_hint="(batch, features)",
    ),
    LayerType(
        "TimeDistributed", "recurrent", "Applies the same layer to every time step (or video frame) on its own.",
        (Param("layer", "layer", {"type": "Dense", "params": {"units": 8}}, required=True, choices=TIME_DISTRIBUTED_TYPES,
               help='The layer applied to each step, e.g. {"type": "Dense", "params": {"units": 8}}.'),),
    ),
    LayerType(
        "Normalization", "attention & normalization",
        "Shifts and scales inputs by a fixed mean and variance (per feature), so they are centred on 0 with spread 1.",
        (AXIS,
         Param("mean", "floats", None, optional=True,
               help="Mean of each feature, e.g. [0.485, 0.456, 0.406]; empty: learned from the data by adapt()."),
         Param("variance", "floats", None, optional=True,
               help="Variance of each feature; give it together with mean."),
         Param("invert", "bool", False, advanced=True, help="Undo a normalisation instead (multiply and add back).")),
    ),
    LayerType(
        "GroupNormalization", "attention & normalization",
        "Normalises groups of channels within each example; works well with small batches.",
        (Param("groups", "int", 32, min=1, max=1024, help="How many channel groups; the channels must divide evenly."),
         AXIS,
         Param("epsilon", "float", 0.001, min=0.0, max=1.0, advanced=True, help="Small number that avoids dividing by 0."),
         Param("center", "bool", True, advanced=True, help="Learn an offset after normalising."),
         Param("scale", "bool", True, advanced=True, help="Learn a scale after normalising.")),
    ),
    LayerType(
        "UnitNormalization", "attention & normalization",
        "Scales each example's vector to length 1, so only its direction counts (e.g. for similarity).",
        (AXIS,),
    ),
    LayerType(
        "Dot", "merge", "Dot product of two inputs along chosen axes, e.g. similarity of two vectors.",
        (Param("axes", "ints", [1, 1], required=True, length=2, min=-8, max=8, int_or_tuple=True,
               help="The axis of each input multiplied and summed, e.g. 1 for two vectors."),
         Param("normalize", "bool", False, help="Scale both to length 1 first, giving the cosine similarity.")),
        min_inputs=2, max_inputs=2,
    ),
    LayerType("GaussianDropout", "regularization",
              "Multiplies values by random noise around 1 while training; a smooth kind of Dropout.", (RATE,)),
    LayerType("AlphaDropout", "regularization",
              "Dropout that keeps the mean and spread of values, for self-normalising (selu) networks.", (RATE,)),
    # -- transfer: a whole saved model with its weights as one node (builder.graph.pretrained) -------------
    LayerType(
        "Pretrained", "transfer",
        "A model trained before, used as one layer with its learned weights; add your own head after it.",
        (Param("model", "str", "", required=True,
               help="The base: an id like pretrained:0123456789abcdef, set when you upload a .keras model "
               "or pick an application in the Transfer menu."),
         Param("freeze", "choice", "all", choices=FREEZE,
               help="all: the base keeps its weights and only your head learns; none: every layer learns; "
               "from: the layers from 'unfreeze_from' on learn, the earlier ones stay as they are.",
               extra={"choice_help": FREEZE_HELP}),
         Param("unfreeze_from", "str", None, optional=True,
               help="With freeze 'from': the first layer of the base that learns (a name from the base)."),
         Param("output_layer", "str", None, optional=True,
               help="The base ends at this layer and its output feeds your head, e.g. the last convolution "
               "of a saved classifier, leaving out its old head. Empty: the whole saved model.")),
    ),
)


def get(name: str) -> LayerType:
    return CATALOG[name]


# What a layer added by hand starts with beyond its required params: the choice a course makes (a hidden
# layer with ReLU; a convolution that keeps the picture's size), where Keras' own default (linear, valid)
# would quietly make a stack of layers act like one. Imports and exports keep Keras' defaults.
_RELU_SAME = {"activation": "relu", "padding": "same"}
STARTERS = {"Dense": {"activation": "relu"}, "Conv1D": _RELU_SAME, "Conv2D": _RELU_SAME, "Conv3D": _RELU_SAME,
            "SeparableConv1D": _RELU_SAME, "SeparableConv2D": _RELU_SAME}


def new_params(type_name: str, input_shape=None) -> dict:
    """A new layer's params: its required ones at their declared defaults, plus its starter choices; an Input
    takes `input_shape` (the chosen data's) when given."""
    lt = get(type_name)
    params = {p.name: p.default for p in lt.params if p.required and p.default is not None}
    if type_name == "Input" and input_shape:
        params["shape"] = list(input_shape)
    return params | STARTERS.get(type_name, {})


def by_family() -> dict[str, list[LayerType]]:
    out = {f: [] for f in FAMILIES}
    for t in CATALOG.values():
        out[t.family].append(t)
    return out
