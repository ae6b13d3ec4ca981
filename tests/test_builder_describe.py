"""Words for a model from its layers: layer briefs, the one-line stack, the network's kind, run names."""
from __future__ import annotations

from builder import codegen, describe, templates
from builder.experiment import Experiment
from builder.train.jobs import create_run
from builder.train.runstore import RunStore
from builder.workspace import owner_tag


def _nodes(*types):
    return [{"type": t} for t in types]


def test_layer_brief_names_the_setting_that_matters_most():
    assert describe.layer_brief({"units": 128, "activation": "relu", "use_bias": True}) == "units 128, relu"
    assert describe.layer_brief({"filters": 16, "kernel_size": (3, 3)}) == "filters 16"
    assert describe.layer_brief({"activation": "linear"}) == ""
    assert describe.layer_brief(None) == ""


def test_kind_follows_the_layers_a_course_names_networks_by():
    assert describe.kind(_nodes("Input", "Flatten", "Dense")) == "MLP"
    assert describe.kind(_nodes("Input", "Conv2D", "Dense")) == "CNN"
    assert describe.kind(_nodes("Input", "Embedding", "LSTM", "Dense")) == "RNN"
    assert describe.kind(_nodes("Input", "Embedding", "MultiHeadAttention", "LSTM")) == "Transformer"
    assert describe.kind(_nodes("Input", "Dense"), reconstructs=True) == "Autoencoder"
    assert describe.kind(_nodes("Input", "Flatten")) == "Model"
    assert describe.kind(_nodes("Input", "Pretrained", "Dense")) == "Transfer"
    assert describe.kind(_nodes("Input", "Dense", "Reshape"), gan=True) == "GAN"


def test_layers_line_is_the_stack_in_order_and_stays_short():
    spec = templates.get("seed-mlp").to_dict()
    assert describe.layers_line(spec["nodes"]) == (
        "Input · shape [8, 8, 1] → Flatten → Dense · units 128, relu → Dropout · rate 0.2 → "
        "Dense · units 64, relu → Dense · units 10, softmax")
    long = describe.layers_line(_nodes(*["Dense"] * 40))
    assert long.endswith("… and 26 more layers") and long.count("→") == 14


def test_exported_code_header_describes_the_layers_on_the_canvas():
    spec = templates.get("seed-mlp").to_dict()
    spec["nodes"] = [n for n in spec["nodes"] if n["id"] != "dropout"]
    spec["nodes"][-2]["inputs"] = ["hidden1"]
    spec.pop("description")
    code = codegen.to_python(spec)
    assert code.splitlines()[0] == '# Model "seed-mlp" (MLP), exported by Layerlab.'
    comments = " ".join(line[2:] for line in code.splitlines() if line.startswith("# "))  # wrapped at spaces
    assert ("Layers: Input · shape [8, 8, 1] → Flatten → Dense · units 128, relu → Dense · units 64, relu → "
            "Dense · units 10, softmax Run it with") in comments


def test_runs_are_named_by_kind_and_data_and_counted_per_workspace(tmp_path):
    exp = Experiment.from_dict(templates.experiment("seed-mlp"))
    exp.name = ""
    assert exp.title == "MLP on digits"
    names = []
    for workspace in ("ann", "ann", "bob", "ann"):
        run_id = create_run(tmp_path, exp, owner=owner_tag(workspace))  # as the job manager records the owner
        names.append(RunStore(tmp_path).get(run_id).name)
    assert names == ["MLP on digits · 1", "MLP on digits · 2", "MLP on digits · 1", "MLP on digits · 3"]


def test_gan_transfer_and_upload_runs_are_named_by_what_they_are(tmp_path, monkeypatch):
    from datasets import registry, stored

    titles = {}
    for template in ("mlp-gan", "transfer-cnn"):
        exp = Experiment.from_dict(templates.experiment(template))
        exp.name = ""
        titles[template] = exp.title
    assert titles == {"mlp-gan": "GAN on digits", "transfer-cnn": "Transfer on shapes"}
    monkeypatch.setenv("LAYERLAB_UPLOADS_DIR", str(tmp_path))
    upload = stored.store(registry.load("iris"), "0123456789abcdef", title="my flowers.csv")
    exp = Experiment.from_dict({**templates.experiment("seed-mlp"), "data": {"dataset": upload}})
    exp.name = ""
    assert exp.title == "MLP on my flowers.csv"  # not "upload:0123…"
