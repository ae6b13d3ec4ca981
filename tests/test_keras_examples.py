"""Architectures from the official Keras examples round-trip exactly through the CLI.

Each model (tests/keras_examples.py) gets varied weights, is saved as a .keras file and goes
`python -m builder import` → `validate` → `summary` → `export`; the exported model.py is run and its
`build_model()` must give Keras' parameter count, the same layers in the same order with the same types
(a raw operation as the layer it was translated into) and output shapes, and, with the original's weights
copied in by layer name, the same predictions. All in this one process: the CLI's `main` is what
`python -m builder` runs.
"""
import runpy

import keras
import numpy as np
import pytest

from builder import cli
from tests.keras_examples import EXAMPLES

# Raw operations in the examples and the layer each becomes (keras.ops.nn.relu(x) → Activation("relu"), …).
TRANSLATED = {"Relu": "Activation", "Silu": "Activation", "Add": "Add", "Multiply": "Multiply"}


def _vary_weights(model, rng) -> None:
    """Biases, BatchNormalization's statistics and other constant-initialised weights get random values, so a
    weight copied to the wrong place or a lost setting changes the predictions."""
    for variable in model.weights:
        value = keras.ops.convert_to_numpy(variable)
        if variable.name.endswith("variance"):
            value = rng.uniform(0.5, 1.5, value.shape)
        elif value.size and np.all(value == value.flat[0]):
            value = value + rng.normal(0, 0.2, value.shape)
        variable.assign(value.astype(value.dtype))


def _data(model, rng) -> list:
    """A batch for each input: token ids within the vocabulary, pixels 0..255 where the model rescales, else 0..1."""
    pixels = any(isinstance(layer, keras.layers.Rescaling) for layer in model._flatten_layers())
    batch = []
    for tensor in model.inputs:
        shape = (3, *[d if d is not None else 30 for d in tensor.shape[1:]])
        if "int" in str(tensor.dtype):
            vocabulary = next(layer.input_dim for layer in model._flatten_layers() if isinstance(layer, keras.layers.Embedding))
            batch.append(rng.integers(0, vocabulary, shape).astype(str(tensor.dtype)))
        else:
            batch.append(rng.uniform(0, 255 if pixels else 1, shape).astype("float32"))
    return batch


def _expected_rows(model) -> list[tuple[str, str, str]]:
    """(name, type, output shape) of each Input and operation in the order Keras runs them."""
    ops = [t._keras_history.operation for t in model.inputs]
    ops += model.layers if isinstance(model, keras.Sequential) else \
        [op for op in model.operations if not isinstance(op, keras.layers.InputLayer)]
    rows = []
    for op in ops:
        kind = type(op).__name__
        kind = "Input" if kind == "InputLayer" else kind if isinstance(op, keras.layers.Layer) else TRANSLATED[kind]
        rows.append((op.name, kind, _shape(op.output.shape)))
    return rows


def _shape(shape) -> str:
    return "(" + ", ".join(str(d) for d in shape) + ")"


def _summary_rows(text: str) -> tuple[list[tuple[str, str, str]], int]:
    lines = text.splitlines()
    rows = [line.split(None, 2) for line in lines[2:] if not line.startswith(("total parameters", "outputs"))]
    rows = [(name, kind, rest.rsplit(")", 1)[0] + ")") for name, kind, rest in rows]
    total = next(int(line.split(":")[1].replace(",", "")) for line in lines if line.startswith("total parameters"))
    return rows, total


def _cli(capsys, *argv) -> str:
    capsys.readouterr()
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    assert code == 0, f"python -m builder {' '.join(argv)}: {err}"
    return out


@pytest.mark.parametrize("example", list(EXAMPLES))
def test_keras_example_round_trips_exactly_through_the_cli(example, tmp_path, capsys):
    rng = np.random.default_rng(0)
    model = EXAMPLES[example]()
    _vary_weights(model, rng)
    model.save(tmp_path / "model.keras")

    _cli(capsys, "import", str(tmp_path / "model.keras"), "--out", str(tmp_path / "spec.json"))
    assert _cli(capsys, "validate", str(tmp_path / "spec.json")).startswith("ok: model")
    rows, total = _summary_rows(_cli(capsys, "summary", str(tmp_path / "spec.json")))
    _cli(capsys, "export", str(tmp_path / "spec.json"), "--out", str(tmp_path / "model.py"))
    rebuilt = runpy.run_path(str(tmp_path / "model.py"))["build_model"]()

    assert total == rebuilt.count_params() == model.count_params()
    assert rows == _expected_rows(model)
    rebuilt_rows = [(layer.name, type(layer).__name__, _shape(layer.output.shape)) for layer in rebuilt.layers]
    assert [r for r in rebuilt_rows if r[1] != "InputLayer"] == [r for r in rows if r[1] != "Input"]
    for layer in rebuilt.layers:
        if layer.weights:
            layer.set_weights(model.get_layer(layer.name).get_weights())
    data = _data(model, rng)
    data = data if len(data) > 1 else data[0]
    expected = model.predict(data, verbose=0)
    np.testing.assert_allclose(rebuilt.predict(data, verbose=0), expected, rtol=1e-4, atol=1e-5)
    assert np.std(expected) > 0  # the comparison is not between two constants
