"""The autoencoder's latent map, coloured by class: the figure, the labels it needs, and the Explain page."""
import json
from pathlib import Path

import numpy as np
from app_train_fixtures import write_run
from streamlit.testing.v1 import AppTest

from builder.experiments import templates
from ui import charts

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "explain.py")


def test_each_class_is_one_trace_at_its_points():
    coords = np.array([[0.0, 1.0], [2.0, 3.0], [4.0, 5.0], [6.0, 7.5]])
    fig = charts.latent_figure(coords, [1, 0, 1, 2], ["zero", "one", "two"])
    traces = {t.name: (list(t.x), list(t.y)) for t in fig.data}
    assert traces == {"zero": ([2.0], [3.0]), "one": ([0.0, 4.0], [1.0, 5.0]), "two": ([6.0], [7.5])}
    assert fig.layout.xaxis.title.text == "code 1" and "the 2 numbers of 'code'" in fig.layout.title.text
    wide = charts.latent_figure(coords, None, method="pca", explained=0.634, layer="bottleneck")
    assert [t.name for t in wide.data] == ["examples"]
    assert wide.layout.title.text == "Latent map: 'bottleneck' on its first two principal axes (63% of its spread)"


def test_an_autoencoders_run_data_keeps_the_classes_of_its_test_split():
    from builder.experiments.experiment import coerce
    from builder.train.data import prepare
    from datasets import registry, splits

    exp = coerce(templates.experiment("latent-autoencoder"))
    data = prepare(exp)
    d = exp.data_settings
    truth = splits.split(registry.load("digits"), d["validation_split"], d["test_split"], exp.hp["seed"])
    np.testing.assert_array_equal(data.y_test, data.x_test)  # an autoencoder's target is its input
    np.testing.assert_array_equal(data.labels_test, truth.y_test)


def test_explain_page_shows_the_test_examples_at_their_codes_coloured_by_digit(tmp_path, monkeypatch):
    import keras

    from builder.experiments.experiment import coerce
    from builder.graph.build import build_model
    from builder.train.data import prepare

    exp = templates.experiment("latent-autoencoder")
    exp["training"]["task"] = "reconstruction"
    pair = {"index": 0, "input": np.zeros((8, 8, 1)).tolist(), "output": np.zeros((8, 8, 1)).tolist(), "error": 0.1}
    folder = write_run(tmp_path, "run-ae", evaluation={"task": "reconstruction", "mae": 0.1, "pairs": [pair]})
    (folder / "experiment.json").write_text(json.dumps(exp))
    keras.utils.set_random_seed(0)
    model = build_model(templates.get("latent-autoencoder"))
    model.save(folder / "model.keras")
    monkeypatch.setenv("LAYERLAB_RUNS_DIR", str(tmp_path))
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception
    figs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    latent = next(f for f in figs if f["layout"].get("title", {}).get("text") == "Latent map: the 2 numbers of 'code'")
    # by hand: the code layer is Dense(2) on Dense(64, relu) of the flattened pixels
    data = prepare(coerce(exp))
    (w1, b1), (w2, b2) = model.get_layer("encode").get_weights(), model.get_layer("code").get_weights()
    codes = np.maximum(data.x_test.reshape(len(data.x_test), -1) @ w1 + b1, 0) @ w2 + b2
    traces = {t["name"]: t for t in latent["data"]}
    assert sorted(traces) == [str(k) for k in range(10)]
    three = data.labels_test == 3
    np.testing.assert_allclose(traces["3"]["x"], codes[three, 0], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(traces["3"]["y"], codes[three, 1], rtol=1e-4, atol=1e-5)
