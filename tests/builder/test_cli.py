"""`python -m builder`: results on stdout, one plain line per problem on stderr, exit 1, never a traceback."""
import json
import runpy
import subprocess
import sys
import types
from pathlib import Path

import pytest

from builder import cli
from builder.experiments import templates
from builder.graph.build import build_model

ROOT = Path(__file__).resolve().parents[2]


def write(tmp_path, name, data) -> str:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return str(path)


def run(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err.splitlines()


def bad_spec(mutate):
    data = templates.TEMPLATES["small-cnn"].spec_dict
    data = json.loads(json.dumps(data))
    mutate(data)
    return data


def test_validate_ok(capsys, tmp_path):
    code, out, err = run(capsys, "validate", write(tmp_path, "m.json", templates.TEMPLATES["small-cnn"].spec_dict))
    assert code == 0 and err == []
    assert out.strip() == "ok: model 'small-cnn': 9 layers, 105,411 parameters"


def test_validate_malformed_json(capsys, tmp_path):
    path = write(tmp_path, "m.json", '{"format": "layerlab/model@1",\n "nodes": [}')
    code, out, err = run(capsys, "validate", path)
    assert code == 1 and out == ""
    assert err == [f"the file {path} is not valid JSON: Expecting value at line 2, column 12"]


def test_validate_wrong_format_tag(capsys, tmp_path):
    code, _, err = run(capsys, "validate", write(tmp_path, "m.json", {"format": "keras/model@9", "layers": []}))
    assert code == 1
    assert err == ["format is 'keras/model@9', expected 'layerlab/model@1' (a model spec) or "
                   "'layerlab/experiment@1' (an experiment)"]


def test_validate_unknown_layer_and_cycle_one_line_each(capsys, tmp_path):
    def break_it(d):
        d["nodes"][1]["type"] = "Conv2d"
        d["nodes"][2]["inputs"] = ["conv1", "probs"]  # pool1 ← probs: a cycle

    code, _, err = run(capsys, "validate", write(tmp_path, "m.json", bad_spec(break_it)))
    assert code == 1
    assert "conv1: unknown layer type 'Conv2d'; did you mean Conv2D?" in err
    assert any("the graph has a cycle" in line for line in err)
    assert len(err) == len(set(err)) >= 2


def test_validate_missing_file(capsys, tmp_path):
    code, _, err = run(capsys, "validate", str(tmp_path / "nope.json"))
    assert code == 1 and err == [f"{tmp_path / 'nope.json'}: no such file"]


def test_validate_experiment(capsys, tmp_path):
    experiment = {"format": "layerlab/experiment@1", "model": templates.get("playground-mlp").to_dict(),
                  "data": {"dataset": "moons"}, "augmentation": [],
                  "training": {"epochs": 1, "loss": "sparse_categorical_crossentropy"}}
    code, out, err = run(capsys, "validate", write(tmp_path, "e.json", experiment))
    assert (code, err) == (0, []) and out.startswith("ok: experiment")
    experiment["model"]["nodes"][1]["type"] = "Dens"
    code, _, err = run(capsys, "validate", write(tmp_path, "e.json", experiment))
    assert code == 1 and any("hidden1: unknown layer type 'Dens'; did you mean Dense?" in line for line in err)


def test_summary(capsys, tmp_path):
    code, out, _ = run(capsys, "summary", write(tmp_path, "m.json", templates.TEMPLATES["seed-mlp"].spec_dict))
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["layer", "type", "output", "shape", "params"]
    assert lines[4].split() == ["hidden1", "Dense", "(None,", "128)", "8,320"]
    assert "total parameters: 17,226" in out


def test_export_runs_to_the_same_model(capsys, tmp_path):
    code, out, _ = run(capsys, "export", write(tmp_path, "m.json", templates.TEMPLATES["residual-cnn"].spec_dict),
                       "--to", "python")
    assert code == 0
    script = write(tmp_path, "model.py", out)
    model = runpy.run_path(script)["build_model"]()
    assert model.count_params() == build_model(templates.get("residual-cnn")).count_params()
    code, _, err = run(capsys, "export", write(tmp_path, "m.json", {"format": "layerlab/model@1", "nodes": []}))
    assert code == 1 and err == ["'nodes' must be a non-empty list of layers; start from a template"]


def test_import(capsys, tmp_path):
    path = tmp_path / "m.keras"
    build_model(templates.get("lstm-classifier")).save(path)
    code, out, _ = run(capsys, "import", str(path))
    assert code == 0
    assert json.loads(out)["nodes"][1] == {"id": "embed", "type": "Embedding",
                                           "params": {"input_dim": 32, "output_dim": 16}, "inputs": ["tokens"]}
    code, _, err = run(capsys, "import", write(tmp_path, "x.keras", "not a zip"))
    assert code == 1 and len(err) == 1 and "not a Keras model file" in err[0]


def test_datasets_one_line_each(capsys):
    from datasets.registry import list_datasets

    code, out, _ = run(capsys, "datasets")
    lines = out.splitlines()
    assert code == 0 and len(lines) == len(list_datasets())
    assert lines[0].split()[0] == list_datasets()[0].id


def test_train_and_explain_delegate(capsys, monkeypatch):
    calls = []
    monkeypatch.setitem(sys.modules, "builder.train.runner",
                        types.SimpleNamespace(cli_train=lambda *a: calls.append(("train", *a)) or 0))
    monkeypatch.setitem(sys.modules, "builder.explain_cli",
                        types.SimpleNamespace(cli_explain=lambda *a: calls.append(("explain", *a)) or 1))
    assert run(capsys, "train", "e.json", "--out", "runs/x")[0] == 0
    assert run(capsys, "explain", "runs/x", "--method", "grad_cam", "--samples", "3")[0] == 1
    assert calls == [("train", "e.json", "runs/x"), ("explain", "runs/x", "grad_cam", 3, None)]


def test_missing_module_is_a_clear_line(capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "builder.train.runner", None)
    code, _, err = run(capsys, "train", "e.json", "--out", "runs/x")
    assert code == 1 and len(err) == 1 and err[0].startswith("the 'train' command needs builder.train.runner")


def test_help_and_bad_arguments(capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["--help"])
    assert e.value.code == 0 and "validate" in capsys.readouterr().out
    with pytest.raises(SystemExit) as e:
        cli.main(["export", "m.json", "--to", "java"])
    assert e.value.code == 2


def test_python_dash_m_end_to_end(tmp_path):
    # a structural problem: answered without importing Keras, so this subprocess stays quick
    path = write(tmp_path, "m.json", bad_spec(lambda d: d["nodes"][3].update(id="2nd conv", colour="red")))
    done = subprocess.run([sys.executable, "-m", "builder", "validate", path], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.splitlines() == [
        "node '2nd conv': unknown key 'colour' (allowed: group, id, inputs, params, type, ui)",
        "node '2nd conv': id must start with a letter or '_' and use only letters, digits, '_' and '-'"]
