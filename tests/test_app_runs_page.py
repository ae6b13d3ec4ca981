"""AppTest: the Runs page lists fake run folders with their final metrics, compares and deletes them."""
import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from app_train_fixtures import METRICS, evaluation, write_run
from streamlit.testing.v1 import AppTest
from train_fixtures import digits_experiment

PAGE = str(Path(__file__).resolve().parent.parent / "pages" / "runs.py")


@pytest.fixture
def runs_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("LAYERLAB_RUNS_DIR", str(tmp_path))
    return tmp_path


def _spec(el) -> dict:
    return json.loads(el.proto.spec)


def _named(folder: Path, name: str) -> None:
    status = json.loads((folder / "status.json").read_text())
    (folder / "status.json").write_text(json.dumps({**status, "name": name}))


def test_lists_runs_by_name_with_the_test_score_first_and_no_none_cells(runs_dir):
    _named(write_run(runs_dir, "run-good", evaluation=evaluation(), started=1000.0, learning_rate=0.01),
           "MLP on digits · 2")
    _named(write_run(runs_dir, "run-bad", status="failed", metrics=METRICS[:1], error="the loss became NaN at epoch 1",
                     started=2000.0), "MLP on digits · 1")
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception
    df = at.dataframe[0].value
    assert list(df.columns[:2]) == ["run", "test accuracy"] and df.columns[-1] == "id"
    rows = {r["id"]: r for r in df.to_dict("records")}
    assert set(rows) == {"run-good", "run-bad"}
    assert rows["run-good"]["run"] == "MLP on digits · 2" and rows["run-bad"]["run"] == "MLP on digits · 1"
    shown = pa.ipc.open_stream(at.dataframe[0].proto.arrow_data.styler.display_values).read_pandas()
    cells = {r: dict(zip(df.columns, row, strict=True)) for r, row in zip(df["id"], shown.values.tolist(), strict=True)}
    assert cells["run-bad"]["test accuracy"] == "—" and cells["run-good"]["test accuracy"] == "0.8750"
    assert not {"None", "nan", "NaN", "<NA>"} & {str(v) for row in cells.values() for v in row.values()}
    assert at.selectbox(key="manage_run").options == ["MLP on digits · 1", "MLP on digits · 2"]
    good, bad = rows["run-good"], rows["run-bad"]
    assert "completed" in good["status"] and "failed" in bad["status"]
    assert good["val accuracy"] == pytest.approx(0.875)
    assert good["test accuracy"] == pytest.approx(7 / 8)
    assert good["learning rate"] == pytest.approx(0.01)
    assert good["epochs"] == "3/3" and bad["epochs"] == "1/3"
    assert bad["note"] == "the loss became NaN at epoch 1" and pd.isna(good["note"])


def test_compare_overlays_the_selected_runs_curves_named_by_run(runs_dir):
    _named(write_run(runs_dir, "run-a", started=1000.0), "CNN on shapes · 1")
    slower = [dict(r, loss=r["loss"] * 2) for r in METRICS]
    _named(write_run(runs_dir, "run-b", metrics=slower, started=2000.0), "CNN on shapes · 1")  # a classmate's
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    picker = at.multiselect(key="compare_runs")
    assert set(picker.value) == {"run-a", "run-b"} and set(picker.options) == {
        "CNN on shapes · 1 (run-a)", "CNN on shapes · 1 (run-b)"}  # one name, two runs: told apart
    assert at.selectbox(key="compare_metric").value == "loss"
    fig = _spec(at.get("plotly_chart")[0])
    lines = {t["name"]: t["y"] for t in fig["data"]}
    assert lines["CNN on shapes · 1 (run-a)"] == [r["loss"] for r in METRICS]
    assert lines["CNN on shapes · 1 (run-b)"] == [r["loss"] * 2 for r in METRICS]
    assert lines["CNN on shapes · 1 (run-b) (val)"] == [r["val_loss"] for r in METRICS]


def test_delete_needs_confirmation_and_removes_the_folder(runs_dir):
    folder = write_run(runs_dir, "run-old", started=1000.0)
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert at.button(key="delete_run").disabled  # not before the confirmation box is ticked
    at.checkbox(key="confirm_delete").check().run()
    at.button(key="delete_run").click().run()
    assert not at.exception
    assert not folder.exists()
    assert any("No runs yet" in i.value for i in at.info)


def test_a_running_run_cannot_be_deleted(runs_dir):
    folder = write_run(runs_dir, "run-live", status="running", metrics=METRICS[:1])
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert at.button(key="delete_run").disabled and at.checkbox(key="confirm_delete").disabled
    assert any("still training" in w.value for w in at.warning)
    assert folder.exists()


def test_missing_exports_offer_generation_and_existing_files_download(runs_dir):
    folder = write_run(runs_dir, "run-x")
    (folder / "model.keras").write_bytes(b"fake")
    (folder / "deploy").mkdir()
    (folder / "deploy" / "model.keras").write_bytes(b"fake")
    (folder / "code").mkdir()
    (folder / "code" / "model.py").write_text("print('model')\n")
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception
    assert at.button(key="missing_train.py").disabled
    assert at.button(key="generate_exports")  # train.py / tflite missing → offered
    labels = [b.proto.label for b in at.get("download_button")]
    assert {"model.keras", "canvas-model.keras", "model.py", "Whole run (.zip)"} <= set(labels)
    how = " ".join(c.value for c in at.caption)
    assert "load with keras.saving.load_model" in how and "python train.py in any folder" in how


def test_the_tflite_table_shows_each_file_size_and_score(runs_dir):
    folder = write_run(runs_dir, "run-t")
    (folder / "deploy").mkdir()
    rows = [{"variant": "keras", "file": "deploy/model.keras", "size_bytes": 90000, "metric": "accuracy", "value": 0.9},
            {"variant": "int8", "file": "deploy/model-int8.tflite", "size_bytes": 9000, "metric": "accuracy",
             "value": 0.89}]
    (folder / "deploy" / "tflite.json").write_text(json.dumps({"rows": rows}))
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception
    table = at.dataframe[-1].value  # after the runs table
    assert table["size_bytes"].tolist() == [90000, 9000] and table["value"].tolist() == [0.9, 0.89]


def test_generate_writes_the_exports_of_a_real_run_and_lists_them(runs_dir):
    from builder.train.runner import run

    assert run(digits_experiment(epochs=1), runs_dir / "real") == "completed"
    at = AppTest.from_file(PAGE, default_timeout=240).run()
    assert at.button(key="missing_train.py").disabled and at.button(key="missing_model.tflite").disabled
    at.button(key="generate_exports").click().run()
    assert not at.exception
    assert any("TensorFlow Lite files" in s.value for s in at.success)
    labels = {b.proto.label for b in at.get("download_button")}
    assert {"model.keras", "model.tflite", "model-dynamic.tflite", "model-int8.tflite", "train.py", "train.ipynb"} <= labels
    table = at.dataframe[-1].value
    assert table["variant"].tolist() == ["keras", "float", "dynamic", "int8"]
    assert table["value"].notna().all()
