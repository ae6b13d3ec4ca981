"""Shared helpers for the builder-core tests: one small, hand-checked sample per catalog entry."""
from __future__ import annotations

from builder.model.spec import FORMAT

# name -> (layer type, [(input shape, dtype)], params, expected output shape w/o batch, expected param count).
# Param counts are worked out by hand (e.g. Dense 3→4: 3*4 weights + 4 biases = 16), not taken from Keras.
F = "float32"
SAMPLES = {
    "Dense": ("Dense", [((3,), F)], {"units": 4, "activation": "relu", "kernel_regularizer": {"l1": 0.0, "l2": 0.01}},
              (4,), 16),
    "Activation": ("Activation", [((3,), F)], {"activation": "tanh"}, (3,), 0),
    "Dropout": ("Dropout", [((3,), F)], {"rate": 0.2}, (3,), 0),
    "Flatten": ("Flatten", [((2, 3, 1), F)], {}, (6,), 0),
    # 1024 samples, a slice every 128 (centred): 1 + 1024 // 128 = 9 columns of 8 pitch bands
    "MelSpectrogram": ("MelSpectrogram", [((1024,), F)], {"fft_length": 256, "sequence_stride": 128,
                                                         "num_mel_bins": 8}, (8, 9), 0),
    "TextVectorization": ("TextVectorization", [((1,), "string")], {"max_tokens": 10, "output_sequence_length": 4},
                          (4,), 0),
    "Reshape": ("Reshape", [((6,), F)], {"target_shape": [2, 3]}, (2, 3), 0),
    "Embedding": ("Embedding", [((5,), "int32")], {"input_dim": 10, "output_dim": 4}, (5, 4), 40),
    "Rescaling": ("Rescaling", [((3,), F)], {"scale": 0.5, "offset": 1.0}, (3,), 0),
    "Conv1D": ("Conv1D", [((10, 3), F)], {"filters": 4, "kernel_size": [3], "padding": "same", "activation": "relu"},
               (10, 4), 3 * 3 * 4 + 4),
    "Conv2D": ("Conv2D", [((8, 8, 1), F)],
               {"filters": 2, "kernel_size": [3, 3], "strides": [2, 2], "kernel_regularizer": {"l1": 0.01, "l2": 0.0}},
               (3, 3, 2), 9 * 2 + 2),
    "SeparableConv2D": ("SeparableConv2D", [((8, 8, 3), F)],
                        {"filters": 4, "kernel_size": [3, 3], "padding": "same", "depth_multiplier": 2},
                        (8, 8, 4), 3 * 3 * 3 * 2 + 3 * 2 * 4 + 4),
    "Conv2DTranspose": ("Conv2DTranspose", [((4, 4, 2), F)],
                        {"filters": 3, "kernel_size": [3, 3], "strides": [2, 2], "padding": "same"},
                        (8, 8, 3), 3 * 3 * 3 * 2 + 3),
    "UpSampling2D": ("UpSampling2D", [((4, 4, 2), F)], {"size": [2, 3]}, (8, 12, 2), 0),
    "MaxPooling1D": ("MaxPooling1D", [((10, 3), F)], {"pool_size": [3]}, (3, 3), 0),
    "MaxPooling2D": ("MaxPooling2D", [((8, 8, 2), F)], {"pool_size": [3, 3], "strides": [1, 1]}, (6, 6, 2), 0),
    "AveragePooling1D": ("AveragePooling1D", [((9, 2), F)], {"pool_size": [3], "padding": "same"}, (3, 2), 0),
    "AveragePooling2D": ("AveragePooling2D", [((8, 8, 2), F)], {"pool_size": [2, 2]}, (4, 4, 2), 0),
    "GlobalAveragePooling1D": ("GlobalAveragePooling1D", [((10, 3), F)], {}, (3,), 0),
    "GlobalAveragePooling2D": ("GlobalAveragePooling2D", [((4, 4, 5), F)], {"keepdims": True}, (1, 1, 5), 0),
    "GlobalMaxPooling1D": ("GlobalMaxPooling1D", [((10, 3), F)], {}, (3,), 0),
    "GlobalMaxPooling2D": ("GlobalMaxPooling2D", [((4, 4, 5), F)], {}, (5,), 0),
    "SimpleRNN": ("SimpleRNN", [((6, 3), F)], {"units": 4}, (4,), 3 * 4 + 4 * 4 + 4),
    "LSTM": ("LSTM", [((6, 3), F)], {"units": 4, "return_sequences": True}, (6, 4), 4 * (3 * 4 + 4 * 4 + 4)),
    "GRU": ("GRU", [((6, 3), F)], {"units": 4}, (4,), 3 * (3 * 4 + 4 * 4 + 2 * 4)),
    "Bidirectional": ("Bidirectional", [((6, 3), F)], {"layer": {"type": "GRU", "params": {"units": 4}}, "merge_mode": "ave"},
                      (4,), 2 * 3 * (3 * 4 + 4 * 4 + 2 * 4)),
    "Bidirectional-LSTM": ("Bidirectional", [((6, 3), F)],
                           {"layer": {"type": "LSTM", "params": {"units": 4, "return_sequences": True}}},
                           (6, 8), 2 * 4 * (3 * 4 + 4 * 4 + 4)),
    # query (5, 8), value (7, 6): query/key/value projections to 2 heads × 3, output back to 8
    "MultiHeadAttention": ("MultiHeadAttention", [((5, 8), F), ((7, 6), F)], {"num_heads": 2, "key_dim": 3},
                           (5, 8), (8 * 6 + 6) + (6 * 6 + 6) + (6 * 6 + 6) + (6 * 8 + 8)),
    "MultiHeadAttention-key": ("MultiHeadAttention", [((5, 8), F), ((7, 6), F), ((7, 4), F)],
                               {"num_heads": 2, "key_dim": 3},
                               (5, 8), (8 * 6 + 6) + (4 * 6 + 6) + (6 * 6 + 6) + (6 * 8 + 8)),
    "LayerNormalization": ("LayerNormalization", [((5, 8), F)], {}, (5, 8), 16),
    "BatchNormalization": ("BatchNormalization", [((4, 4, 3), F)], {"momentum": 0.9}, (4, 4, 3), 4 * 3),
    "Add": ("Add", [((4,), F)] * 3, {}, (4,), 0),
    "Subtract": ("Subtract", [((4,), F)] * 2, {}, (4,), 0),
    "Multiply": ("Multiply", [((2, 4), F)] * 2, {}, (2, 4), 0),
    "Average": ("Average", [((4,), F)] * 2, {}, (4,), 0),
    "Maximum": ("Maximum", [((4,), F)] * 2, {}, (4,), 0),
    "Minimum": ("Minimum", [((4,), F)] * 2, {}, (4,), 0),
    "Concatenate": ("Concatenate", [((2, 3), F), ((2, 5), F)], {}, (2, 8), 0),
    "Concatenate-axis1": ("Concatenate", [((2, 3), F), ((4, 3), F)], {"axis": 1}, (6, 3), 0),
    "SpatialDropout1D": ("SpatialDropout1D", [((10, 3), F)], {"rate": 0.3}, (10, 3), 0),
    "SpatialDropout2D": ("SpatialDropout2D", [((4, 4, 3), F)], {"rate": 0.3}, (4, 4, 3), 0),
    "GaussianNoise": ("GaussianNoise", [((3,), F)], {"stddev": 0.2}, (3,), 0),
    # -- the classic families' layers (keras.applications and courses) --
    "Dropout-noise_shape": ("Dropout", [((4, 4, 2), F)], {"rate": 0.2, "noise_shape": [None, 1, 1, 1]}, (4, 4, 2), 0),
    "Identity": ("Identity", [((3,), F)], {}, (3,), 0),
    "ReLU": ("ReLU", [((3,), F)], {"max_value": 6.0}, (3,), 0),
    "LeakyReLU": ("LeakyReLU", [((3,), F)], {"negative_slope": 0.1}, (3,), 0),
    "PReLU": ("PReLU", [((4, 4, 3), F)], {"shared_axes": [1, 2]}, (4, 4, 3), 3),  # one slope per channel
    "PReLU-per-value": ("PReLU", [((2, 3), F)], {}, (2, 3), 6),
    "ELU": ("ELU", [((3,), F)], {"alpha": 0.5}, (3,), 0),
    "Softmax": ("Softmax", [((2, 5), F)], {"axis": 1}, (2, 5), 0),
    "DepthwiseConv2D": ("DepthwiseConv2D", [((8, 8, 3), F)],
                        {"kernel_size": [3, 3], "depth_multiplier": 2, "padding": "same"}, (8, 8, 6), 3 * 3 * 3 * 2 + 6),
    "DepthwiseConv1D": ("DepthwiseConv1D", [((10, 3), F)], {"kernel_size": [3]}, (8, 3), 3 * 3 + 3),
    "SeparableConv1D": ("SeparableConv1D", [((10, 3), F)], {"filters": 4, "kernel_size": [3], "padding": "same"},
                        (10, 4), 3 * 3 + 3 * 4 + 4),
    "Conv1DTranspose": ("Conv1DTranspose", [((5, 2), F)],
                        {"filters": 3, "kernel_size": [3], "strides": [2], "padding": "same"}, (10, 3), 3 * 2 * 3 + 3),
    "Conv3D": ("Conv3D", [((6, 6, 6, 1), F)], {"filters": 2, "kernel_size": [3, 3, 3]}, (4, 4, 4, 2), 27 * 2 + 2),
    # 2 groups: each of 2 filters sees 2 of the 4 channels
    "Conv2D-groups": ("Conv2D", [((5, 5, 4), F)], {"filters": 2, "kernel_size": [3, 3], "groups": 2}, (3, 3, 2),
                      3 * 3 * 2 * 2 + 2),
    "Conv3DTranspose": ("Conv3DTranspose", [((2, 2, 2, 2), F)],
                        {"filters": 1, "kernel_size": [2, 2, 2], "strides": [2, 2, 2]}, (4, 4, 4, 1), 8 * 2 + 1),
    "UpSampling1D": ("UpSampling1D", [((3, 2), F)], {"size": 3}, (9, 2), 0),
    "UpSampling3D": ("UpSampling3D", [((2, 2, 2, 1), F)], {}, (4, 4, 4, 1), 0),
    "MaxPooling3D": ("MaxPooling3D", [((4, 4, 4, 2), F)], {}, (2, 2, 2, 2), 0),
    "AveragePooling3D": ("AveragePooling3D", [((4, 6, 4, 1), F)], {"pool_size": [2, 3, 2]}, (2, 2, 2, 1), 0),
    "GlobalAveragePooling3D": ("GlobalAveragePooling3D", [((2, 2, 2, 3), F)], {}, (3,), 0),
    "GlobalMaxPooling3D": ("GlobalMaxPooling3D", [((2, 2, 2, 3), F)], {"keepdims": True}, (1, 1, 1, 3), 0),
    "ZeroPadding1D": ("ZeroPadding1D", [((4, 2), F)], {"padding": [1, 2]}, (7, 2), 0),
    "ZeroPadding2D": ("ZeroPadding2D", [((4, 4, 1), F)], {"padding": [[1, 0], [2, 3]]}, (5, 9, 1), 0),
    "ZeroPadding3D": ("ZeroPadding3D", [((2, 2, 2, 1), F)], {}, (4, 4, 4, 1), 0),
    "Cropping1D": ("Cropping1D", [((6, 2), F)], {"cropping": [2, 1]}, (3, 2), 0),
    "Cropping2D": ("Cropping2D", [((6, 6, 1), F)], {"cropping": [[1, 1], [2, 0]]}, (4, 4, 1), 0),
    "Cropping3D": ("Cropping3D", [((4, 4, 4, 1), F)], {}, (2, 2, 2, 1), 0),
    "Resizing": ("Resizing", [((8, 8, 3), F)], {"height": 4, "width": 6}, (4, 6, 3), 0),
    "CenterCrop": ("CenterCrop", [((8, 8, 3), F)], {"height": 4, "width": 2}, (4, 2, 3), 0),
    "Permute": ("Permute", [((2, 5), F)], {"dims": [2, 1]}, (5, 2), 0),
    "RepeatVector": ("RepeatVector", [((3,), F)], {"n": 4}, (4, 3), 0),
    "TimeDistributed": ("TimeDistributed", [((5, 3), F)], {"layer": {"type": "Dense", "params": {"units": 2}}},
                        (5, 2), 3 * 2 + 2),
    "TimeDistributed-Conv2D": ("TimeDistributed", [((4, 8, 8, 1), F)],
                               {"layer": {"type": "Conv2D", "params": {"filters": 2, "kernel_size": [3, 3]}}},
                               (4, 6, 6, 2), 9 * 2 + 2),
    # fixed mean/variance are constants; without them Keras keeps mean, variance (3 each) and a count as weights
    "Normalization": ("Normalization", [((4, 4, 3), F)], {"mean": [0.5, 0.4, 0.3], "variance": [0.1, 0.2, 0.3]},
                      (4, 4, 3), 0),
    "Normalization-adapt": ("Normalization", [((4, 4, 3), F)], {}, (4, 4, 3), 3 + 3 + 1),
    "GroupNormalization": ("GroupNormalization", [((4, 4, 6), F)], {"groups": 3}, (4, 4, 6), 6 + 6),
    "UnitNormalization": ("UnitNormalization", [((5,), F)], {}, (5,), 0),
    "Dot": ("Dot", [((4,), F)] * 2, {"axes": 1}, (1,), 0),
    "Dot-sequences": ("Dot", [((3, 4), F), ((5, 4), F)], {"axes": [2, 2], "normalize": True}, (3, 5), 0),
    "GaussianDropout": ("GaussianDropout", [((3,), F)], {"rate": 0.2}, (3,), 0),
    "AlphaDropout": ("AlphaDropout", [((3,), F)], {"rate": 0.1}, (3,), 0),
}


def single_layer_spec(name: str) -> dict:
    """A spec of Input node(s) feeding the one sample layer `name`."""
    layer_type, inputs, params, _, _ = SAMPLES[name]
    nodes = []
    for i, (shape, dtype) in enumerate(inputs):
        p = {"shape": list(shape)}
        if dtype != "float32":
            p["dtype"] = dtype
        nodes.append({"id": f"in{i}", "type": "Input", "params": p})
    node = {"id": "layer", "type": layer_type, "inputs": [f"in{i}" for i in range(len(inputs))]}
    if params:
        node["params"] = params
    nodes.append(node)
    return {"format": FORMAT, "name": f"single-{name}", "nodes": nodes}


def spec(*nodes, outputs=None, name="test") -> dict:
    """A spec dict from (id, type, params, inputs) tuples."""
    out = {"format": FORMAT, "name": name, "nodes": []}
    for nid, type_, params, inputs in nodes:
        node = {"id": nid, "type": type_}
        if params:
            node["params"] = params
        if inputs:
            node["inputs"] = list(inputs)
        out["nodes"].append(node)
    if outputs:
        out["outputs"] = outputs
    return out


def nodes_by_id(spec_dict: dict, drop_ui: bool = True) -> dict:
    return {n["id"]: {k: v for k, v in n.items() if not (drop_ui and k == "ui")} for n in spec_dict["nodes"]}
