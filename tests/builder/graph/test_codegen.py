"""Export: the script builds the same model, and no spec can put code into it."""
import ast
import runpy

import pytest

from builder.experiments import templates
from builder.graph import codegen, pretrained
from builder.graph.build import build_model
from builder.graph.validate import ensure_valid
from builder.model.spec import SpecError
from tests.builder_fixtures import single_layer_spec, spec


def run_script(source: str, tmp_path):
    path = tmp_path / "model.py"
    path.write_text(source, encoding="utf-8")
    return runpy.run_path(str(path))  # run_name is not "__main__": defines build_model, prints nothing


def assert_same_model(spec_, tmp_path):
    pretrained.copy_files(ensure_valid(spec_), tmp_path / "pretrained")  # the script loads bases from there
    source = codegen.to_python(spec_)
    exported = run_script(source, tmp_path)["build_model"]()
    ours = build_model(spec_)
    assert exported.count_params() == ours.count_params()
    assert sorted(layer.name for layer in exported.layers) == sorted(layer.name for layer in ours.layers)
    assert [t.name for t in exported.inputs] == [t.name for t in ours.inputs]
    for b in ours.layers:
        a = exported.get_layer(b.name)
        assert tuple(a.output.shape) == tuple(b.output.shape)
        assert type(a) is type(b) and a.count_params() == b.count_params()
    return source


@pytest.mark.parametrize("template_id", list(templates.TEMPLATES))
def test_every_template_exports_to_an_equal_model(template_id, tmp_path):
    source = assert_same_model(templates.get(template_id), tmp_path)
    assert "def build_model():" in source and 'if __name__ == "__main__":' in source
    assert "model.summary()" in source


@pytest.mark.parametrize("name", ["Bidirectional-LSTM", "Dense", "MultiHeadAttention-key", "Embedding",
                                  "Concatenate-axis1", "Conv2D"])
def test_special_params_export(name, tmp_path):
    source = assert_same_model(single_layer_spec(name), tmp_path)
    if name in ("Dense", "Conv2D"):
        assert "regularizers.L1L2(" in source
    if name == "Bidirectional-LSTM":
        assert "layers.Bidirectional(layers.LSTM(units=4, return_sequences=True)" in source
    if name == "MultiHeadAttention-key":
        assert "(query=in0, value=in1, key=in2)" in source


def test_script_is_readable():
    source = codegen.to_python(templates.get("seed-mlp"))
    assert 'hidden1 = layers.Dense(units=128, activation="relu", name="hidden1")(flat)' in source
    assert 'image = keras.Input(shape=(8, 8, 1), name="image")' in source


def test_ids_that_are_not_python_names_get_safe_variables(tmp_path):
    s = spec(("in", "Input", {"shape": [3]}, ()), ("my-layer", "Dense", {"units": 2}, ["in"]),
             ("keras", "Dense", {"units": 2}, ["my-layer"]), ("my_layer", "Dense", {"units": 2}, ["keras"]))
    source = assert_same_model(s, tmp_path)
    assert "in_ = keras.Input(" in source and 'name="my-layer"' in source and "my_layer_2 = " in source


SENTINEL_CODE = "__import__('pathlib').Path({path!r}).write_text('pwned')"


def test_names_and_descriptions_cannot_inject_code(tmp_path):
    sentinel = tmp_path / "pwned"
    payload = SENTINEL_CODE.format(path=str(sentinel))
    s = templates.get("playground-mlp")
    s.name = f'evil"""\n{payload}\n#\'"'
    s.description = f"line one\n{payload}\r{payload}\u2028{payload}\x0b{payload}\x85 end"
    source = codegen.to_python(s)
    tree = ast.parse(source)
    assert [type(n).__name__ for n in tree.body] == ["Import", "ImportFrom", "FunctionDef", "If"]
    called = {node.func.id for node in ast.walk(tree) if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)}
    assert "__import__" not in called
    namespace = run_script(source, tmp_path)
    namespace["build_model"]()
    assert not sentinel.exists()
    assert "# line one" in source
    for line in source.splitlines():  # the payload survives only in comments and string literals
        if "__import__" in line:
            assert line.startswith("#") or "name=" in line


@pytest.mark.parametrize("node_type, params", [
    ("Dense", {"units": 2, "activation": "relu\")\n__import__('os').system('echo pwned')\n#"}),
    ("Dense", {"units": "2); __import__('os').system('echo pwned'"}),
    ("Dense", {"units": 2, "name=__import__('os')": 1}),
    ("Dense", {"units": 2, "kernel_regularizer": {"l2": "0.1) or __import__('os')"}}),
    ("Dense", {"units": 2, "kernel_regularizer": {"l2); __import__('os').system('x'); (": 0.1}}),
])
def test_params_outside_the_catalog_are_refused_before_codegen(node_type, params):
    s = spec(("x", "Input", {"shape": [3]}, ()), ("y", node_type, params, ["x"]))
    with pytest.raises(SpecError):
        codegen.to_python(s)


def test_wrapped_layer_and_input_dtype_injection_refused():
    seq = ("s", "Input", {"shape": [4, 2]}, ())
    bad_inner = spec(seq, ("b", "Bidirectional", {"layer": {"type": "LSTM(1)) or __import__('os'", "params": {}}}, ["s"]))
    bad_dtype = spec(("s", "Input", {"shape": [4], "dtype": "int32'); __import__('os'); ('"}, ()),
                     ("y", "Dense", {"units": 1}, ["s"]))
    for s in (bad_inner, bad_dtype):
        with pytest.raises(SpecError):
            codegen.to_python(s)


def test_literal_refuses_non_json_values():
    assert codegen.literal([1, (2, 3), "a\"b", None, True, 0.5]) == "[1, (2, 3), 'a\"b', None, True, 0.5]"
    value = {"mode": "horizontal", "factor": None, "size": [1, 2], "on": True}
    assert ast.literal_eval(codegen.literal(value)) == value  # JSON's null/true become None/True
    for bad in (object(), float("nan"), {1: "a"}, {"a": {2: 3}}):
        with pytest.raises(ValueError):
            codegen.literal(bad)
