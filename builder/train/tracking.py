"""Runs also go where ML users keep them: TensorBoard and MLflow (when LAYERLAB_MLFLOW_URI is set).

    tensorboard --logdir runs/     # every run writes runs/<run>/tensorboard/{train,validation}
    LAYERLAB_MLFLOW_URI=./mlruns   # or sqlite:///mlflow.db, or http://tracking-server:5000

MLflow gets the experiment's settings as params, every epoch's numbers as
metrics, the test evaluation (`test_` metrics) and the deployable model as an
MLflow Keras model. Tracking never fails a run: a tracking server that is down
costs a line in the run's log, not the training. Keras writes TensorBoard logs
with TensorFlow's summary writer, so a machine with JAX or PyTorch alone (no
TensorFlow installed) trains without that log and says so in the run's log.
"""
from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import keras

from builder import settings

TENSORBOARD = "tensorboard"
MLFLOW_ENV = "LAYERLAB_MLFLOW_URI"
MLFLOW_EXPERIMENT = "layerlab"


def callbacks(run_dir: Path, exp, log) -> list:
    """The tracking callbacks for a run: TensorBoard where TensorFlow is installed, MLflow when switched on."""
    out = []
    if importlib.util.find_spec("tensorflow") is not None:  # found without importing it (seconds elsewhere)
        out.append(keras.callbacks.TensorBoard(log_dir=str(Path(run_dir) / TENSORBOARD), write_graph=False))
    else:
        log.info("no TensorBoard log: TensorFlow, which writes it, is not installed (training is unaffected)")
    if settings.mlflow_uri():
        out.append(MlflowLogger(run_dir, exp, log))
    return out


def params(exp) -> dict:
    """The experiment's settings, flat, as MLflow params (text values, as MLflow keeps them)."""
    flat = {"model": exp.model.name, "dataset": exp.dataset, "augmentation": ",".join(a["type"] for a in exp.augmentation)}
    for prefix, values in (("data", exp.data_settings), ("training", exp.hp)):
        for key, value in values.items():
            flat[f"{prefix}.{key}"] = value
    return {k: str(v)[:500] for k, v in flat.items()}


class MlflowLogger(keras.callbacks.Callback):
    """Opens an MLflow run when training starts, logs the params, then each epoch's numbers.
    A failure (a server that is down) switches it off with a warning in the run's log."""

    def __init__(self, run_dir: Path, exp, log):
        super().__init__()
        self.run_dir, self.exp, self.log, self.broken = Path(run_dir), exp, log, False

    def on_train_begin(self, logs=None):
        def start(mlflow):
            if mlflow.active_run() is not None:  # left open by an earlier run of this worker that failed
                mlflow.end_run()
            uri = settings.mlflow_uri()
            if "://" not in uri or uri.startswith("file:"):  # a local folder such as ./mlruns, asked for by name:
                os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")  # MLflow 3 keeps it only when told to
            mlflow.set_tracking_uri(uri)
            mlflow.set_experiment(MLFLOW_EXPERIMENT)
            mlflow.start_run(run_name=self.run_dir.name)
            mlflow.log_params(params(self.exp))

        self._guard(start)

    def on_epoch_end(self, epoch, logs=None):
        numbers = {k: float(v) for k, v in (logs or {}).items()}
        self._guard(lambda mlflow: mlflow.log_metrics(numbers, step=epoch + 1))

    def _guard(self, step) -> None:
        if self.broken:
            return
        import mlflow

        try:
            step(mlflow)
        except Exception as e:  # noqa: BLE001 - tracking never fails a run
            self.broken = True
            self.log.warning("MLflow logging switched off: %s: %s", type(e).__name__, e)


def finish(run_dir: Path, evaluation: dict, deployable, log) -> None:
    """Close the run's MLflow run with the test numbers and the deployable model (when MLflow is on)."""
    if not settings.mlflow_uri():
        return
    import mlflow
    import mlflow.keras

    if mlflow.active_run() is None:  # MLflow was switched off by a failure
        return
    try:
        mlflow.log_metrics({f"test_{k}": float(v) for k, v in evaluation.items() if isinstance(v, (int, float))})
        if deployable is not None:
            mlflow.keras.log_model(deployable, name="model")
        mlflow.set_tag("layerlab.run_dir", str(Path(run_dir).resolve()))
    except Exception as e:  # noqa: BLE001 - tracking never fails a run
        log.warning("MLflow logging failed: %s: %s", type(e).__name__, e)
    finally:
        mlflow.end_run()
