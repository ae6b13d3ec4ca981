"""AppTest: the Train page's form, validation gate, failure messages and live view of a run folder."""
import copy
import json
from pathlib import Path

import numpy as np
import pytest
from app_train_fixtures import DIGITS_SPEC, METRICS, write_run
from streamlit.testing.v1 import AppTest

PAGE = str(Path(__file__).resolve().parent.parent / "pages" / "train.py")
DATA = {"dataset": "digits", "options": {}, "validation_split": 0.2, "test_split": 0.2}


@pytest.fixture
def runs_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("LAYERLAB_RUNS_DIR", str(tmp_path))
    monkeypatch.setenv("LAYERLAB_PREWARM", "0")  # no worker processes in page-logic tests
    return tmp_path


@pytest.fixture(autouse=True)
def cpu_only(monkeypatch):
    """A known device line without importing TensorFlow to look for GPUs."""
    from builder.train import devices
    from ui import jobs

    monkeypatch.setattr(devices, "describe", lambda: devices.DeviceInfo("tensorflow", [], devices.device_line([])))
    jobs.device_line.clear()
    yield
    jobs.device_line.clear()


ME, OTHER = "me-workspace-001", "other-student-01"  # workspace ids (16 characters)


def page(spec=DIGITS_SPEC, run_id=None, training=None, workspace=ME) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state["ws"] = workspace
    at.session_state["spec"] = copy.deepcopy(spec)
    at.session_state["data"] = dict(DATA)
    at.session_state["augmentation"] = []
    at.session_state["training"] = dict(training or {})
    at.session_state["run_id"] = run_id
    return at.run()


def test_form_comes_from_hyperparams_and_edits_the_training_dict(runs_dir):
    from builder.experiment import HYPERPARAMS

    at = page()
    assert not at.exception
    assert at.info[0].value == "no GPU found — training on CPU"
    assert at.number_input(key="hp_epochs").value == HYPERPARAMS["epochs"].default
    assert at.number_input(key="hp_epochs").help == HYPERPARAMS["epochs"].help
    assert at.selectbox(key="hp_optimizer").value == "adam"
    assert not at.button(key="train_button").disabled  # a valid experiment can train
    at.number_input(key="hp_epochs").set_value(7)
    at.selectbox(key="hp_optimizer").set_value("sgd").run()
    training = at.session_state["training"]
    assert training["epochs"] == 7 and training["optimizer"] == "sgd"
    # momentum only matters for SGD/RMSprop: the widget appears once SGD is chosen
    assert at.number_input(key="hp_momentum").value == HYPERPARAMS["momentum"].default


def test_invalid_experiment_disables_train_and_says_why(runs_dir):
    spec = copy.deepcopy(DIGITS_SPEC)
    spec["nodes"][-1]["params"]["units"] = 3  # digits has 10 classes
    at = page(spec)
    assert at.button(key="train_button").disabled
    text = " ".join(m.value for m in at.markdown)
    assert "Fix these before training" in text and "10" in text and "**probs**" in text
    # the one-click fix: the output gets the class count, Train is enabled, the change can be undone
    fix = next(b for b in at.button if b.key.startswith("train_fix_"))
    assert "units 10" in fix.label
    fix.click().run()
    assert not at.exception
    probs = at.session_state["spec"]["nodes"][-1]
    assert probs["params"]["units"] == 10 and probs["params"]["activation"] == "softmax"
    assert not at.button(key="train_button").disabled
    assert at.session_state["history"][-1]["nodes"][-1]["params"]["units"] == 3


def test_failed_run_shows_its_error_in_plain_words(runs_dir):
    error = "the loss became NaN (not a number) at epoch 2, batch 5 — try a lower learning rate"
    write_run(runs_dir, "run-failed", status="failed", metrics=METRICS[:1], error=error)
    at = page(run_id="run-failed")
    assert not at.exception
    assert [e.value for e in at.error] == [f"The run failed: {error}"]
    assert at.button(key="stop_button").disabled and not at.button(key="train_button").disabled


def test_finished_run_curves_hold_the_metrics_and_saliency_shows(runs_dir):
    folder = write_run(runs_dir, "run-done")
    exp = json.loads((folder / "experiment.json").read_text())
    (folder / "experiment.json").write_text(json.dumps({**exp, "data": {"dataset": "shapes"}}))
    live = folder / "live"
    live.mkdir()
    rng = np.random.default_rng(0)
    np.savez(live / "probes.npz", x=rng.random((3, 8, 8, 1), dtype=np.float32), y=np.array([0, 1, 2]))
    np.save(live / "saliency_e001.npy", rng.random((3, 8, 8), dtype=np.float32))
    np.save(live / "saliency_e003.npy", rng.random((3, 8, 8), dtype=np.float32))
    at = page(run_id="run-done")
    assert not at.exception
    assert any("Training finished" in s.value for s in at.success)
    fig = json.loads(at.get("plotly_chart")[0].proto.spec)
    ys = {t["meta"]: t["y"] for t in fig["data"]}
    assert ys["val_accuracy"] == [r["val_accuracy"] for r in METRICS]
    assert ys["loss"] == [r["loss"] for r in METRICS]
    assert any("after epoch 3" in m.value for m in at.markdown)  # the newest saliency file is shown
    pictures = at.get("image")[0]
    assert pictures.captions == ["circle", "square", "triangle"]  # each probe with its class's name under it


def test_a_fine_tuned_runs_curves_mark_the_switch(runs_dir):
    folder = write_run(runs_dir, "run-tuned")
    status = json.loads((folder / "status.json").read_text())
    (folder / "status.json").write_text(json.dumps({**status, "fine_tune_from": 3}))  # as the runner records it
    at = page(run_id="run-tuned")
    assert not at.exception
    fig = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert {s["x0"] for s in fig["layout"]["shapes"]} == {2.5}  # between epoch 2 (head) and 3 (fine-tuning)
    assert "fine-tuning" in [a["text"] for a in fig["layout"]["annotations"]]


def test_reload_without_a_run_id_watches_the_running_run(runs_dir):
    write_run(runs_dir, "run-old", metrics=METRICS, started=1000.0, workspace=ME)
    write_run(runs_dir, "run-now", status="running", metrics=METRICS[:2], started=2000.0, workspace=ME)
    (runs_dir / "run-now" / "progress.json").write_text(
        json.dumps({"epoch": 3, "epochs": 3, "batch": 12, "batches": 36, "loss": 0.7, "time": 0}))
    at = page(run_id=None)
    assert at.session_state["run_id"] == "run-now"
    assert not at.button(key="stop_button").disabled
    assert not at.button(key="train_button").disabled  # not this session's run: a new one would queue
    assert any("Showing your run that is training now" in c.value for c in at.caption)
    bars = [b.proto.text for b in at.get("progress")]
    assert any("batch 12 of 36" in t for t in bars) and any("2 finished" in t for t in bars)


def test_another_students_running_run_is_neither_shown_nor_stoppable(runs_dir):
    write_run(runs_dir, "run-theirs", status="running", metrics=METRICS[:2], workspace=OTHER)
    at = page(run_id=None)
    assert at.session_state["run_id"] is None
    assert at.button(key="stop_button").disabled
    assert not [c for c in at.caption if "run-theirs" in c.value]
    assert not any("run-theirs" in m.value for m in at.markdown)


def test_2d_dataset_boundary_is_drawn_from_the_live_file(runs_dir):
    folder = write_run(runs_dir, "run-moons")
    (folder / "live").mkdir()
    ax = np.linspace(-1, 1, 5, dtype=np.float32)
    xx, yy = np.meshgrid(ax, ax)
    probs = np.stack([xx < 0, xx >= 0], -1).astype(np.float32)
    np.savez(folder / "live" / "boundary_e002.npz", xx=xx, yy=yy, probs=probs)
    np.savez(folder / "live" / "probes.npz", x=np.array([[-0.5, 0.2], [0.6, -0.1]], np.float32), y=np.array([0, 1]),
             x_test=np.array([[0.1, 0.9]], np.float32), y_test=np.array([1]))
    at = page(run_id="run-moons")
    figs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    boundary = [f for f in figs if f["data"][0]["type"] == "contour"][0]
    assert np.array_equal(np.array(boundary["data"][0]["z"]), (xx >= 0).astype(int))
    assert "epoch 2" in boundary["layout"]["title"]["text"]
    # training points filled by class, the test point outlined in its class's colour
    train = [t for t in boundary["data"][1:] if t.get("meta") != "test"]
    test = [t for t in boundary["data"][1:] if t.get("meta") == "test"]
    assert [np.round(t["x"] + t["y"], 3).tolist() for t in train] == [[-0.5, 0.2], [0.6, -0.1]]
    assert np.round(test[0]["x"], 3).tolist() == [0.1] and test[0]["marker"]["symbol"] == "circle-open"
    assert test[0]["marker"]["color"] == train[1]["marker"]["color"]


def test_queued_run_says_where_it_waits(runs_dir, monkeypatch):
    from ui import jobs

    write_run(runs_dir, "run-busy", status="running", metrics=METRICS[:1], started=1000.0, workspace=ME)
    write_run(runs_dir, "run-mine", status="queued", metrics=[], started=2000.0, workspace=ME)
    # the job manager's answers (no worker processes in page tests): one run trains, this one is second
    monkeypatch.setattr(jobs, "queue_position", lambda run_id: {"run-mine": 2}.get(run_id))
    monkeypatch.setattr(jobs, "others_training", lambda run_id: run_id != "run-busy")
    at = page(run_id="run-mine")
    assert not at.exception
    assert any("position 2 in the queue" in i.value for i in at.info)
    assert not at.button(key="stop_button").disabled  # a queued run can be taken out of the queue
    # another of this workspace's runs is training (another tab): this session can switch its view to it
    assert at.button(key="watch_latest")


def test_queued_run_with_nothing_else_training_says_it_is_starting(runs_dir):
    write_run(runs_dir, "run-first", status="queued", metrics=[])
    at = page(run_id="run-first")
    text = " ".join(i.value for i in at.info)
    assert "Starting" in text and "queue" not in text


def test_own_running_run_blocks_a_second_train_click(runs_dir):
    write_run(runs_dir, "run-mine", status="running", metrics=METRICS[:1])
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state["spec"] = copy.deepcopy(DIGITS_SPEC)
    at.session_state["data"] = dict(DATA)
    at.session_state["run_id"] = "run-mine"
    at.session_state["train_own_runs"] = ["run-mine"]
    at.run()
    assert at.button(key="train_button").disabled and not at.button(key="stop_button").disabled
