"""AppTest: the Explain page on a finished run folder with a real (small, untrained) model."""
import json
from pathlib import Path

import numpy as np
import pytest
from app_train_fixtures import DIGITS_SPEC, evaluation, write_run
from streamlit.testing.v1 import AppTest

PAGE = str(Path(__file__).resolve().parent.parent / "pages" / "explain.py")


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory):
    import keras

    from builder.build import build_model
    from builder.spec import ModelSpec

    root = tmp_path_factory.mktemp("runs")
    cm = np.array([[3, 1], [0, 4]])
    ev = evaluation(cm)
    folder = write_run(root, "run-digits", evaluation=ev)
    keras.utils.set_random_seed(0)
    build_model(ModelSpec.from_dict(DIGITS_SPEC)).save(folder / "model.keras")
    items = [{"index": 0, "true": 0, "predicted": 0}, {"index": 1, "true": 1, "predicted": 7},
             {"index": 2, "true": 2, "predicted": 2}, {"index": 3, "true": 3, "predicted": 5}]
    (folder / "predictions.json").write_text(json.dumps({"task": "classification", "items": items}))
    write_run(root, "run-nomodel", status="failed", error="boom")  # not offered: no model
    from builder import templates

    cnn = write_run(root, "run-cnn", evaluation=ev, started=1.0)  # older: not the default pick
    build_model(templates.get("residual-cnn")).save(cnn / "model.keras")
    return root


@pytest.fixture
def at(runs_dir, monkeypatch):
    monkeypatch.setenv("LAYERLAB_RUNS_DIR", str(runs_dir))
    app = AppTest.from_file(PAGE, default_timeout=60)
    app.session_state["run_id"] = "run-digits"
    return app.run()


def show(at, view: str):
    """Switch the Explain page to one of its views (the segmented control's session key)."""
    at.session_state["explain_view"] = view
    return at.run()


def test_results_show_metrics_confusion_roc_and_mistakes(at):
    assert not at.exception
    assert at.selectbox(key="explain_run").options == ["run-digits — completed", "run-cnn — completed"]
    cards = {m.label: m.value for m in at.metric}
    assert cards["test accuracy"] == "87.5%" and cards["ROC AUC"] == "0.9"
    figs = {c.proto.id: json.loads(c.proto.spec) for c in at.get("plotly_chart")}
    heat = [f for f in figs.values() if f["data"][0]["type"] == "heatmap"][0]
    assert heat["data"][0]["z"] == [[3, 1], [0, 4]]
    roc = [f for f in figs.values() if f["layout"].get("title", {}).get("text") == "ROC curves"][0]
    assert roc["data"][0]["x"] == [0.0, 0.25, 1.0] and roc["data"][0]["y"] == [0.0, 1.0, 1.0]
    captions = [c for img in at.get("image") for c in img.captions]
    assert "true 1 · predicted 7" in captions and "true 3 · predicted 5" in captions


def test_saliency_gallery_shows_each_method_beside_the_input(at):
    show(at, "Saliency maps")
    # an MLP has no convolution: Grad-CAM is not offered, the other three are the default gallery
    methods = at.multiselect(key="methods_run-digits")
    assert methods.value == ["saliency", "smoothgrad", "integrated_gradients"]
    assert "gradcam" not in methods.options and "Grad-CAM" not in methods.options
    at.slider(key="n_examples").set_value(2).run()
    assert not at.exception
    gallery = [c for img in at.get("image") for c in img.captions if c.startswith("true ")]
    # only the saliency view is drawn: 2 gallery inputs; every gallery row = input + 3 overlays
    headers = [m.value for m in at.markdown if m.value.startswith("**")]
    assert headers[:4] == ["**input**", "**Vanilla gradient**", "**SmoothGrad**", "**Integrated Gradients**"]
    assert len(gallery) == 2
    assert len(at.get("image")) == 2 * (1 + 3)


def test_class_picker_defaults_to_predicted_and_lists_classes(at):
    show(at, "Saliency maps")
    picker = at.selectbox(key="target_class")
    assert picker.value == "predicted class"
    assert picker.options[1:] == ["0", "1"]


def test_methods_follow_the_chosen_run(at):
    """Switching from an MLP run to a CNN run selects Grad-CAM: the choice belongs to the run."""
    show(at, "Saliency maps")
    assert "gradcam" not in at.multiselect(key="methods_run-digits").value
    at.selectbox(key="explain_run").set_value("run-cnn").run()
    assert not at.exception
    assert "gradcam" in at.multiselect(key="methods_run-cnn").value


def test_gradcam_on_a_residual_cnn_uses_a_layer_no_skip_connection_bypasses(runs_dir, monkeypatch):
    monkeypatch.setenv("LAYERLAB_RUNS_DIR", str(runs_dir))
    app = AppTest.from_file(PAGE, default_timeout=60)
    app.session_state["run_id"] = "run-cnn"
    app.session_state["explain_view"] = "Saliency maps"
    at = app.run()
    assert not at.exception
    assert "gradcam" in at.multiselect(key="methods_run-cnn").value
    layer = at.selectbox(key="gradcam_layer")
    # stem → conv_a → conv_b → Add(stem, conv_b): conv_a/conv_b are bypassed by the skip, stem is not
    assert layer.options == ["stem"] and layer.value == "stem"  # only layers Grad-CAM can use are offered
    assert not [w.value for w in at.warning if "Grad-CAM" in w.value]
    headers = [m.value for m in at.markdown if m.value.startswith("**")]
    assert "**Grad-CAM**" in headers


IRIS_SPEC = {"format": "layerlab/model@1", "name": "iris-mlp", "nodes": [
    {"id": "x", "type": "Input", "params": {"shape": [4]}},
    {"id": "h", "type": "Dense", "params": {"units": 8, "activation": "relu"}, "inputs": ["x"]},
    {"id": "p", "type": "Dense", "params": {"units": 3, "activation": "softmax"}, "inputs": ["h"]}]}


def test_tabular_run_gets_per_feature_bars_named_after_the_columns(tmp_path, monkeypatch):
    from builder.build import build_model
    from builder.spec import ModelSpec

    folder = write_run(tmp_path, "run-iris", evaluation=evaluation(np.eye(3, dtype=int) * 5))
    exp = json.loads((folder / "experiment.json").read_text())
    exp["model"], exp["data"]["dataset"] = IRIS_SPEC, "iris"
    (folder / "experiment.json").write_text(json.dumps(exp))
    build_model(ModelSpec.from_dict(IRIS_SPEC)).save(folder / "model.keras")
    monkeypatch.setenv("LAYERLAB_RUNS_DIR", str(tmp_path))
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state["explain_view"] = "Saliency maps"
    at.run()
    assert not at.exception
    assert at.multiselect(key="methods_run-iris").value == ["integrated_gradients"]  # no image: one method, as bars
    bars = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    bars = [f["data"][0] for f in bars if f["data"][0]["type"] == "bar" and f["layout"]["xaxis"]["title"]["text"] == "feature"]
    assert bars[0]["x"] == ["sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)"]
    assert len(bars[0]["y"]) == 4 and all(np.isfinite(bars[0]["y"]))


def test_mistakes_shows_every_misclassified_example_a_page_at_a_time(tmp_path, monkeypatch):
    import keras

    from builder.build import build_model
    from builder.spec import ModelSpec

    # 14 errors in the confusion matrix, only one of them among the first test items: all 14 are listed
    ev = evaluation(((20, 6), (8, 30)))
    folder = write_run(tmp_path, "run-many", evaluation=ev)
    keras.utils.set_random_seed(0)
    build_model(ModelSpec.from_dict(DIGITS_SPEC)).save(folder / "model.keras")
    wrong = [{"index": i, "true": i % 10, "predicted": (i + 1) % 10} for i in range(3, 45, 3)]
    (folder / "predictions.json").write_text(json.dumps({
        "task": "classification", "mistakes": wrong,
        "items": [{"index": 3, "true": 3, "predicted": 4}, {"index": 4, "true": 4, "predicted": 4}]}))
    monkeypatch.setenv("LAYERLAB_RUNS_DIR", str(tmp_path))
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state["run_id"] = "run-many"
    at.run()
    assert not at.exception
    assert "14 of the 64 test examples are misclassified." in [c.value for c in at.caption]
    def shown():  # the images sit in six columns: compare them in any order
        return sorted(c for img in at.get("image") for c in img.captions)

    assert shown() == sorted(f"true {w['true']} · predicted {w['predicted']}" for w in wrong[:12])
    at.number_input(key="mistakes_page_run-many").set_value(2).run()
    assert shown() == sorted(f"true {w['true']} · predicted {w['predicted']}" for w in wrong[12:])
