"""AppTest: the Train page's form, validation gate, failure messages and live view of a run folder."""
import copy
import json
from pathlib import Path

import numpy as np
import pytest
from app_train_fixtures import DIGITS_SPEC, METRICS, write_run
from streamlit.testing.v1 import AppTest

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "train.py")
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
    from builder.experiments.experiment import HYPERPARAMS

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


def test_train_hands_submit_the_verdict_it_shows_and_submit_trusts_it(runs_dir, monkeypatch):
    """The page's verdict travels to the job manager, which does not check the experiment again."""
    from builder.experiments import experiment
    from builder.jobs.submission import checked, create_run
    from ui import jobs

    checks, submitted = [], []
    real_check = experiment.check
    monkeypatch.setattr(experiment, "check", lambda *a, **k: checks.append(a) or real_check(*a, **k))

    class Manager:  # the real submit's first step (`checked`), then the run folder it makes
        def submit(self, shown, workspace=None):
            before = len(checks)
            exp = checked(shown)
            submitted.append((shown, len(checks) - before))
            return create_run(runs_dir, exp, owner=None)

    monkeypatch.setattr(jobs, "get_job_manager", Manager)
    at = page(training={"epochs": 2})
    at.button(key="train_button").click().run()
    assert not at.exception and "train_error" not in at.session_state
    (shown, checks_in_submit), = submitted
    assert shown.ok and shown.holds() and shown.experiment.hp["epochs"] == 2
    assert checks_in_submit == 0
    run_dir = runs_dir / at.session_state["run_id"]
    assert json.loads((run_dir / "status.json").read_text())["checked"] == experiment.stamp(shown.experiment)


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


def test_an_out_of_range_value_stays_in_its_box_disables_train_and_is_fixed_in_one_click(runs_dir):
    at = page(training={"learning_rate": 100.0})
    assert not at.exception
    # the box shows what the experiment holds (no widget bound holds it back), the verdict says why it cannot train
    assert at.number_input(key="hp_learning_rate").value == 100.0
    assert at.session_state["training"]["learning_rate"] == 100.0
    assert at.button(key="train_button").disabled
    assert "training: 'learning_rate' must be at most 10.0, got 100.0" in [m.value for m in at.markdown]
    fix = next(b for b in at.button if b.key.startswith("train_fix_"))
    assert fix.label == "Set learning rate 0.005"
    fix.click().run()
    assert at.number_input(key="hp_learning_rate").value == 0.005  # the box follows the fix
    assert at.session_state["training"]["learning_rate"] == 0.005 and not at.button(key="train_button").disabled
    at.number_input(key="hp_epochs").set_value(0).run()
    assert at.session_state["training"]["epochs"] == 0 and at.button(key="train_button").disabled
    at.number_input(key="hp_epochs").set_value(10).run()
    at.number_input(key="hp_batch_size").set_value(5000).run()  # digits trains on 1077 examples
    assert at.button(key="train_button").disabled
    assert any("larger than the 1077 training examples" in m.value for m in at.markdown)


def test_a_run_that_did_not_learn_says_so_with_the_cause_and_a_fix(runs_dir):
    from app_train_fixtures import evaluation

    flat = [{"epoch": e, "loss": 0.69, "accuracy": 0.5, "val_loss": 0.69, "val_accuracy": 0.5} for e in (1, 2, 3)]
    write_run(runs_dir, "run-chance", metrics=flat, evaluation=evaluation(((2, 2), (2, 2))), learning_rate=10.0)
    at = page(run_id="run-chance", training={"learning_rate": 10.0})
    assert not at.exception and not at.success
    [warning] = [w.value for w in at.warning]
    assert warning.startswith("**Training finished, but the model did not learn: it ended near chance (50%, "
                              "guessing gives 50%).** "
                              "Test accuracy 50.0% on 8 test examples")
    assert "**Likely cause:** The learning rate 10 is likely too high" in warning
    at.button(key="outcome_fix_run-chance").click().run()
    assert at.session_state["training"]["learning_rate"] == 0.005
    assert at.number_input(key="hp_learning_rate").value == 0.005


def test_a_run_that_learned_states_its_test_score(runs_dir):
    from app_train_fixtures import evaluation

    write_run(runs_dir, "run-good", evaluation=evaluation(((4, 0), (1, 3))))
    at = page(run_id="run-good")
    [done] = [s.value for s in at.success]
    assert done == ("Training finished. Test accuracy 87.5% on 8 test examples (guessing the most common class: "
                    "50%). Open **Explain** for the confusion matrix and every mistake.")  # no saliency promised


def test_a_gan_form_shows_only_the_settings_a_gan_uses(runs_dir):
    from builder.experiments import templates

    tpl = templates.experiment("mlp-gan")
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state["ws"] = ME
    at.session_state["spec"] = tpl["model"]
    at.session_state["gan_part"] = "generator"
    at.session_state["gan_other"] = {"spec": tpl["gan"]["discriminator"], "history": [], "future": []}
    at.session_state["data"] = dict(DATA)
    at.session_state["augmentation"] = []
    at.session_state["training"] = dict(tpl["training"])
    at.run()
    assert not at.exception
    keys = {w.key for w in [*at.number_input, *at.selectbox, *at.multiselect, *at.checkbox]}
    assert {"hp_learning_rate", "hp_epochs", "hp_batch_size", "hp_optimizer"} <= keys
    assert not keys & {"hp_task", "hp_loss", "hp_metrics", "hp_early_stopping", "hp_fine_tune_epochs"}
    assert not at.button(key="train_button").disabled


def test_an_autoencoder_is_offered_no_accuracy(runs_dir):
    at = page(training={"task": "reconstruction"})
    assert at.multiselect(key="hp_metrics").options == ["mae", "mse"]
    at.checkbox(key="hp_early_stopping").check().run()
    assert at.selectbox(key="hp_es_monitor").options == ["val_loss", "loss", "val_mae", "mae"]


def test_a_transfer_run_shows_both_phases_of_its_epochs(runs_dir):
    from builder.experiments import templates

    tpl = templates.experiment("transfer-cnn")
    at = page(spec=tpl["model"], training={"epochs": 5, "fine_tune_epochs": 3})
    assert not at.exception
    assert at.number_input(key="hp_fine_tune_epochs").value == 3  # beside the epochs, not in the expander
    assert ("8 epochs in all: 5 training the new head (base frozen), then 3 fine-tuning the base at the "
            "fine-tune rate.") in [c.value for c in at.caption]
    at.number_input(key="hp_fine_tune_epochs").set_value(0).run()
    assert "One phase: 5 epochs with the pretrained base as its freeze option says." in [c.value for c in at.caption]


def test_the_live_view_promises_saliency_maps_only_to_runs_that_draw_them(runs_dir):
    promise = "Saliency maps (image data) or the decision boundary (2-D points) appear here after each epoch."
    write_run(runs_dir, "run-ae", status="running", metrics=METRICS[:1], workspace=ME, task="reconstruction")
    at = page(run_id="run-ae")
    assert not at.exception and promise not in [c.value for c in at.caption]
    write_run(runs_dir, "run-mlp", status="running", metrics=METRICS[:1], workspace=ME)
    at = page(run_id="run-mlp")
    assert promise in [c.value for c in at.caption]
