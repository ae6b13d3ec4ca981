"""AppTest: the Try page on runs trained for the test (digits, iris, moons) and one without a deployable model."""
import json
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from builder import predict
from tests.train_fixtures import mlp_spec

PAGE = str(Path(__file__).resolve().parent.parent / "pages" / "try.py")


def _experiment(dataset, model, epochs):
    return {"format": "layerlab/experiment@1", "model": model, "data": {"dataset": dataset}, "augmentation": [],
            "training": {"epochs": epochs, "seed": 0, "learning_rate": 0.01}}


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory):
    from builder.train.runner import run

    root = tmp_path_factory.mktemp("runs")
    run(_experiment("iris", mlp_spec(classes=3, shape=(4,)), 10), root / "run-iris")
    run(_experiment("moons", mlp_spec(classes=2, shape=(2,)), 5), root / "run-moons")
    run(_experiment("digits", mlp_spec(), 5), root / "run-digits")  # the newest
    old = root / "run-old"  # finished before Layerlab saved deployable models
    old.mkdir()
    (old / "status.json").write_text(json.dumps({"status": "completed", "run_id": "run-old", "created": 1.0}))
    (old / "experiment.json").write_text(json.dumps(_experiment("digits", mlp_spec(), 1)))
    (old / "model.keras").write_bytes(b"")  # its canvas model, but no deploy/model.keras
    return root


def page(runs_dir, monkeypatch, run=None) -> AppTest:
    monkeypatch.setenv("LAYERLAB_RUNS_DIR", str(runs_dir))
    at = AppTest.from_file(PAGE, default_timeout=120)
    if run:
        at.query_params["run"] = run
    return at.run()


def answer_text(at) -> str:
    return next(m.value for m in at.markdown if m.value.startswith("### Prediction"))[4:]


def test_the_newest_run_opens_and_a_test_example_is_answered(runs_dir, monkeypatch):
    at = page(runs_dir, monkeypatch)
    assert not at.exception
    assert at.selectbox(key="try_run").value == "run-digits" and at.query_params["run"] == "run-digits"
    at.segmented_control(key="try_source").set_value("Test example").run()
    trained = predict.open_run(runs_dir / "run-digits")
    x, _ = trained.examples()["test"]
    assert answer_text(at) == trained.answer(x[0]).text()
    at.number_input(key="try_example").set_value(5).run()
    assert answer_text(at) == trained.answer(x[5]).text()
    bars = json.loads(at.get("plotly_chart")[0].proto.spec)["data"][0]
    assert sorted(bars["y"]) == [str(i) for i in range(10)]  # every class has its bar
    assert max(bars["x"]) == pytest.approx(100 * max(trained.answer(x[5]).probabilities))


def test_a_table_row_is_typed_and_answered_with_feature_bars(runs_dir, monkeypatch):
    at = page(runs_dir, monkeypatch, run="run-iris")
    assert at.selectbox(key="try_run").value == "run-iris"
    trained = predict.open_run(runs_dir / "run-iris")
    x, _ = trained.examples()["test"]
    fields = [n for n in at.number_input if n.key.startswith("try_f")]
    assert [f.value for f in fields] == pytest.approx(x[0].tolist())
    assert fields[2].label == "petal length (cm)"
    fields[2].set_value(6.5).run()  # a long petal: virginica
    row = x[0].copy()
    row[2] = 6.5
    assert answer_text(at) == trained.answer(row).text()
    bars = json.loads(at.get("plotly_chart")[1].proto.spec)["data"][0]
    assert bars["x"][2] == "petal length (cm)"
    np.testing.assert_allclose(bars["y"], trained.answer(row).saliency, rtol=1e-4, atol=1e-6)


def test_a_point_on_the_plane_is_answered(runs_dir, monkeypatch):
    at = page(runs_dir, monkeypatch, run="run-moons")
    at.session_state["try_point"] = (1.5, -0.4)  # what a click on the plane stores
    at.run()
    trained = predict.open_run(runs_dir / "run-moons")
    assert answer_text(at) == trained.answer(trained.from_point(1.5, -0.4), None).text()
    assert "Your point: (1.5, -0.4)" in " ".join(c.value for c in at.caption)


def test_a_run_without_a_deployable_model_says_so(runs_dir, monkeypatch):
    at = page(runs_dir, monkeypatch, run="run-old")
    assert not at.exception
    assert "no deployable model" in at.warning[0].value
    assert not [m for m in at.markdown if m.value.startswith("### Prediction")]
