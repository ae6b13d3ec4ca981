"""Checkpoints and continuing a run: the same folder goes on, and 3 + 4 epochs end where 7 end."""
import numpy as np
import pytest
from train_fixtures import digits_experiment, variant

from builder import cli
from builder.store import runfolder
from builder.train import checkpoint
from builder.train.runner import resume, run

pytestmark = pytest.mark.slow

DROPOUT_MLP = {"format": "layerlab/model@1", "name": "dropout-mlp", "nodes": [
    {"id": "image", "type": "Input", "params": {"shape": [8, 8]}},
    {"id": "flat", "type": "Flatten", "inputs": ["image"]},
    {"id": "hidden", "type": "Dense", "params": {"units": 32, "activation": "relu"}, "inputs": ["flat"]},
    {"id": "drop", "type": "Dropout", "params": {"rate": 0.3}, "inputs": ["hidden"]},
    {"id": "probs", "type": "Dense", "params": {"units": 10, "activation": "softmax"}, "inputs": ["drop"]},
]}


def experiment(epochs):
    """Dropout (random state in the layer), step decay (optimizer step count) and early stopping (callback state)."""
    exp = digits_experiment(epochs=epochs, lr_schedule="step", lr_step_epochs=2, lr_factor=0.5,
                            early_stopping={"monitor": "val_loss", "patience": 50})
    return variant(exp, model=DROPOUT_MLP)


def losses(run_dir):
    return [(row["epoch"], row["loss"], row["val_loss"]) for row in runfolder.read_jsonl(run_dir / runfolder.METRICS)]


def test_three_then_four_epochs_end_where_seven_end(tmp_path):
    assert run(experiment(7), tmp_path / "seven") == "completed"
    assert run(experiment(3), tmp_path / "split") == "completed"
    assert checkpoint.load(tmp_path / "split").epoch == 3
    assert resume(tmp_path / "split", more_epochs=4) == "completed"
    whole, split = losses(tmp_path / "seven"), losses(tmp_path / "split")
    assert [e for e, _, _ in split] == list(range(1, 8))  # each epoch once, no gap
    np.testing.assert_allclose([loss for _, loss, _ in split], [loss for _, loss, _ in whole], atol=1e-4)
    np.testing.assert_allclose([v for _, _, v in split], [v for _, _, v in whole], atol=1e-4)
    status = runfolder.read_status(tmp_path / "split")
    assert status["epochs"] == 7 and status["epochs_done"] == 7
    assert status["final"]["test_accuracy"] == pytest.approx(
        runfolder.read_status(tmp_path / "seven")["final"]["test_accuracy"], abs=1e-6)
    assert runfolder.read_json(tmp_path / "split" / runfolder.EXPERIMENT)["training"]["epochs"] == 7
    assert not list((tmp_path / "split").glob(".*.tmp"))


def test_the_checkpoint_holds_the_full_training_state(tmp_path):
    assert run(experiment(2), tmp_path) == "completed"
    state = checkpoint.load(tmp_path)
    assert (state.epoch, state.phase) == (2, 1)
    iterations = [a for a in state.optimizer if a.shape == () and a.dtype.kind == "i"]
    assert int(iterations[0]) == 2 * 34  # the step count: 2 epochs of ceil(1078 training digits / 32) batches
    assert set(state.callbacks) == {"EarlyStopping"}
    rows = runfolder.read_jsonl(tmp_path / runfolder.METRICS)
    assert state.callbacks["EarlyStopping"]["best"] == pytest.approx(min(r["val_loss"] for r in rows))
    assert state.best_weights is not None and len(state.best_weights) == 4  # two Dense layers' kernels and biases
    assert state.rng["numpy"][0] == "MT19937"


def test_a_checkpoint_cut_in_half_is_detected_and_the_folder_left_alone(tmp_path):
    assert run(experiment(1), tmp_path) == "completed"
    data = checkpoint.path(tmp_path).read_bytes()
    checkpoint.path(tmp_path).write_bytes(data[: len(data) // 2])
    before = runfolder.read_status(tmp_path)
    with pytest.raises(checkpoint.CheckpointError, match="damaged or cut short"):
        checkpoint.load(tmp_path)
    assert cli.main(["train", "--resume", str(tmp_path), "--epochs", "2"]) == 1
    assert runfolder.read_status(tmp_path)["status"] == before["status"] == "completed"
    assert len(runfolder.read_jsonl(tmp_path / runfolder.METRICS)) == 1


def test_resume_drops_epochs_logged_after_the_checkpoint(tmp_path):
    """A crash between the metrics line and the checkpoint: that epoch is trained and logged again, once."""
    assert run(experiment(2), tmp_path) == "completed"
    runfolder.append_jsonl(tmp_path / runfolder.METRICS, {"epoch": 3, "loss": 9.0})
    assert resume(tmp_path, more_epochs=1) == "completed"
    rows = runfolder.read_jsonl(tmp_path / runfolder.METRICS)
    assert [r["epoch"] for r in rows] == [1, 2, 3] and rows[2]["loss"] != 9.0


def test_the_checkpoint_is_removed_on_completion_when_the_setting_says_so(tmp_path, monkeypatch):
    monkeypatch.setenv("LAYERLAB_KEEP_CHECKPOINTS", "0")
    assert run(experiment(1), tmp_path) == "completed"
    assert not checkpoint.path(tmp_path).exists()
    assert cli.main(["train", "--resume", str(tmp_path)]) == 1  # nothing to go on from: a plain line


def test_cli_resume_arguments_are_checked(capsys, tmp_path):
    assert cli.main(["train", "e.json", "--out", str(tmp_path), "--resume", str(tmp_path)]) == 1
    assert "either" in capsys.readouterr().err
    assert cli.main(["train", "--epochs", "3"]) == 1


def test_asking_for_more_epochs_gives_early_stopping_its_patience_again(tmp_path):
    assert run(experiment(2), tmp_path) == "completed"
    state = checkpoint.load(tmp_path)
    # as if it had run out of patience (50) long ago, at a best value no later epoch can beat
    state.callbacks["EarlyStopping"].update(wait=100, best=-1.0)
    checkpoint.save(tmp_path, state)
    assert resume(tmp_path, more_epochs=3) == "completed"
    assert [r["epoch"] for r in runfolder.read_jsonl(tmp_path / runfolder.METRICS)] == [1, 2, 3, 4, 5]


def gan_experiment(epochs):
    from builder.experiments import templates

    exp = templates.experiment("mlp-gan")
    exp["training"]["epochs"] = epochs
    return exp


def test_a_gan_run_of_two_then_two_epochs_ends_where_four_end(tmp_path):
    """Both networks, the one optimizer that moves both, the noise generator's seed state and the shuffle."""
    assert run(gan_experiment(4), tmp_path / "four") == "completed"
    assert run(gan_experiment(2), tmp_path / "split") == "completed"
    assert checkpoint.load(tmp_path / "split").epoch == 2
    assert cli.main(["train", "--resume", str(tmp_path / "split"), "--epochs", "2"]) == 0
    whole = runfolder.read_jsonl(tmp_path / "four" / runfolder.METRICS)
    split = runfolder.read_jsonl(tmp_path / "split" / runfolder.METRICS)
    assert [r["epoch"] for r in split] == [1, 2, 3, 4]
    for key in ("d_loss", "g_loss"):
        np.testing.assert_allclose([r[key] for r in split], [r[key] for r in whole], atol=1e-4)
    assert (tmp_path / "split" / "live" / "samples_e004.npy").is_file()
    np.testing.assert_allclose(np.load(tmp_path / "split" / "samples.npz")["images"],
                               np.load(tmp_path / "four" / "samples.npz")["images"], atol=1e-4)
