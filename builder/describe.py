"""Words for a model, from its layers: one line per layer, the whole stack, and what kind of network it is.

The canvas shows `layer_brief` under each layer's type; exported code starts with `layers_line`;
run names read "`kind` on digits · 3" ("GAN on digits", "Transfer on shapes"). All three come from the spec itself, so a model built from
scratch or changed away from a template is described as what it is.
"""
from __future__ import annotations

# The one setting that says most about a layer, in order of preference.
_KEY_PARAMS = ("units", "filters", "shape", "rate", "pool_size", "num_heads", "kernel_size", "target_shape")
_LINE_LAYERS = 14  # layers named in a model's one-line description before it says "… and N more"

# Layer types that make a network a CNN, an RNN or a Transformer (checked in this order).
_KINDS = (
    ("Transformer", ("MultiHeadAttention",)),
    ("RNN", ("LSTM", "GRU", "SimpleRNN", "Bidirectional", "ConvLSTM1D", "ConvLSTM2D")),
    ("CNN", ("Conv1D", "Conv2D", "Conv3D", "SeparableConv1D", "SeparableConv2D", "DepthwiseConv1D",
             "DepthwiseConv2D", "Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose")),
)


def layer_brief(params: dict | None) -> str:
    """"units 128, relu" for a Dense with 128 ReLU units; "" when nothing stands out."""
    p = params or {}
    bits = []
    for key in _KEY_PARAMS:
        if p.get(key) is not None:
            v = p[key]
            bits.append(f"{key} {list(v) if isinstance(v, (list, tuple)) else v}")
            break
    if p.get("activation") and p["activation"] != "linear":
        bits.append(str(p["activation"]))
    return ", ".join(bits)


def frozen_brief(params: dict | None) -> str:
    """How much of a pretrained base keeps its trained weights: "frozen", "frozen before block_3" (the layers from
    block_3 on learn) or "" (every layer learns)."""
    p = params or {}
    freeze = p.get("freeze", "all")
    if freeze == "none":
        return ""
    if freeze == "from" and p.get("unfreeze_from"):
        return f"frozen before {p['unfreeze_from']}"
    return "frozen"


def layers_line(nodes: list[dict]) -> str:
    """The layers in order as one line: "Input · shape [8, 8, 1] → Flatten → Dense · units 64, relu → …"."""
    named = [f"{n.get('type')}" + (f" · {b}" if (b := layer_brief(n.get("params"))) else "") for n in nodes]
    if len(named) > _LINE_LAYERS:
        named = named[:_LINE_LAYERS] + [f"… and {len(named) - _LINE_LAYERS} more layers"]
    return " → ".join(named)


def kind(nodes: list[dict], reconstructs: bool = False, gan: bool = False) -> str:
    """"GAN", "Transfer", "CNN", "RNN", "Transformer", "Autoencoder" or "MLP": what a course would call this
    network (`gan`: the nodes are a GAN's generator)."""
    if gan:
        return "GAN"
    if reconstructs:
        return "Autoencoder"
    types = {n.get("type") for n in nodes}
    if "Pretrained" in types:  # a pretrained base with a head: named for the method, whatever the base is
        return "Transfer"
    for name, members in _KINDS:
        if types & set(members):
            return name
    return "MLP" if "Dense" in types else "Model"
