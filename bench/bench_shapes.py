"""How fast is the shape check that runs on every click? (prints times and ratios; not a test)

    python bench/bench_shapes.py [--layers 50] [--repeats 20]

Generates a 50-layer graph (an MLP trunk with residual Add blocks, normalisation
and dropout), then times `builder.graph.validate.check` cold (empty cache: Keras
infers every layer), repeated on the unchanged graph (median of several), after
a one-parameter edit, and compares with building the Keras model.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def graph(n_layers: int) -> dict:
    """Input → Dense, then residual blocks (Dense → LayerNorm → Dropout → Add) until n_layers nodes."""
    nodes = [{"id": "x", "type": "Input", "params": {"shape": [32]}},
             {"id": "stem", "type": "Dense", "params": {"units": 64, "activation": "relu"}, "inputs": ["x"]}]
    last, i = "stem", 0
    while len(nodes) + 4 <= n_layers - 1:
        block = [
            {"id": f"dense{i}", "type": "Dense", "params": {"units": 64, "activation": "relu"}, "inputs": [last]},
            {"id": f"norm{i}", "type": "LayerNormalization", "inputs": [f"dense{i}"]},
            {"id": f"drop{i}", "type": "Dropout", "params": {"rate": 0.1}, "inputs": [f"norm{i}"]},
            {"id": f"add{i}", "type": "Add", "inputs": [last, f"drop{i}"]},
        ]
        nodes += block
        last, i = f"add{i}", i + 1
    while len(nodes) < n_layers - 1:
        nodes.append({"id": f"act{len(nodes)}", "type": "Activation", "params": {"activation": "relu"}, "inputs": [last]})
        last = nodes[-1]["id"]
    nodes.append({"id": "probs", "type": "Dense", "params": {"units": 10, "activation": "softmax"}, "inputs": [last]})
    return {"format": "layerlab/model@1", "name": "bench", "nodes": nodes}


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()

    import keras

    from builder.graph import validate
    from builder.graph.build import build_model

    spec = graph(args.layers)
    validate.check(graph(6))  # warm Keras itself up (first-call tracing), so "cold" measures our cache only
    validate.clear_cache()
    cold = timed(lambda: validate.check(spec))
    report = validate.check(spec)
    assert report.ok, report.lines()
    warm = statistics.median(timed(lambda: validate.check(spec)) for _ in range(args.repeats))
    middle = next(n for n in spec["nodes"][len(spec["nodes"]) // 2:] if n["type"] == "Dropout")
    edits, first_edits = [], []
    for k in range(args.repeats):  # a typical click: one param of one layer, shapes downstream unchanged
        middle["params"]["rate"] = 0.1 + 0.01 * (k + 1)
        edits.append(timed(lambda: validate.check(spec)))
    for k in range(max(3, args.repeats // 4)):  # worst case: the first layer's width, every shape after it changes
        spec["nodes"][1]["params"]["units"] = 64 + k + 1
        first_edits.append(timed(lambda: validate.check(spec)))
    spec["nodes"][1]["params"]["units"] = 64
    builds = []
    for _ in range(max(3, args.repeats // 4)):
        builds.append(timed(lambda: build_model(spec)))
        keras.backend.clear_session()
    build = statistics.median(builds)

    print(f"graph: {len(spec['nodes'])} layers, {report.total_params:,} parameters, backend {keras.backend.backend()}")
    print(f"check, first (cold cache)      : {cold * 1000:8.1f} ms")
    print(f"check, repeated (median of {args.repeats}) : {warm * 1000:8.2f} ms")
    print(f"check after editing one layer  : {statistics.median(edits) * 1000:8.1f} ms (median)")
    print(f"… after editing the first layer: {statistics.median(first_edits) * 1000:8.1f} ms (median; all shapes change)")
    print(f"build keras.Model (median)     : {build * 1000:8.1f} ms")
    print(f"ratio repeated check / build   : {warm / build:8.4f}  ({build / warm:,.0f}× faster)")
    print(f"ratio first check / build      : {cold / build:8.2f}")


if __name__ == "__main__":
    main()
