"""The sweep folder's `sweep.py`: the same study (space, objective, TPE sampler) run by Optuna outside Layerlab.

It holds the experiment's exported `model.py` and `train.py` (builder.graph.codegen, builder.exports.classic) made
with a marker value in place of every setting the sweep varies; each trial writes them with its own
values into `trial_N/`, runs `train.py` and reads the objective from its last line.
"""
from __future__ import annotations

import copy
import inspect
from pathlib import Path

from builder.experiments.experiment import coerce
from builder.exports.classic import training_script
from builder.model.spec import atomic_write_text
from builder.sweep.space import suggest, trial_experiment

SCRIPT = "sweep.py"
# Values no student would pick, so the exported scripts show exactly where each setting goes.
MARKERS = {"learning_rate": 0.000123456789, "batch_size": 99991, "units": 9973, "dropout": 0.123456789}


def write_script(folder: Path, manifest: dict) -> Path:
    """Write `folder/sweep.py` for the sweep's manifest (its experiment and resolved settings)."""
    from builder.graph.codegen import to_python  # imports Keras: only when a sweep is made

    settings = manifest["settings"]
    marked = coerce(trial_experiment(manifest["experiment"], {k: MARKERS[k] for k in settings["space"]}))
    path = folder / SCRIPT
    atomic_write_text(path, TEMPLATE.format(
        sweep=folder.name, space=_lit(settings["space"]), objective=_lit(settings["objective"]),
        direction=_lit(settings["direction"]), trials=settings["trials"],
        seed=manifest["experiment"].get("training", {}).get("seed", 0),
        markers=_lit({k: repr(v) for k, v in MARKERS.items() if k in settings["space"]}),
        model_py=_lit(to_python(marked.model)), train_py=_lit(training_script(marked)),
        suggest=inspect.getsource(suggest)))  # Layerlab's own sampling code, so both ask Optuna alike
    return path


def _lit(value) -> str:
    return repr(copy.deepcopy(value))


TEMPLATE = '''"""Layerlab sweep {sweep}: its Optuna study, run again outside Layerlab.

Needs Optuna, Keras (with TensorFlow, JAX or PyTorch), NumPy and scikit-learn. Run it in any folder:

    python sweep.py [--trials N]

Each trial writes trial_N/model.py and trial_N/train.py (the experiment's exported scripts with the
trial's values), runs train.py and takes its last epoch's {objective} as the trial's value (Layerlab takes
the best epoch's and also prunes: this script trains every trial to the end). The study is kept in
sweep.db beside this script, so running it again goes on.
"""
import argparse
import json
import subprocess
import sys
from pathlib import Path

import optuna

HERE = Path(__file__).resolve().parent
SPACE = {space}
OBJECTIVE = {objective}
DIRECTION = {direction}
TRIALS = {trials}
SEED = {seed}
MARKERS = {markers}  # where the scripts below hold each setting the sweep varies
MODEL_PY = {model_py}
TRAIN_PY = {train_py}


{suggest}

def objective(trial):
    params = suggest(trial, SPACE)
    model_py, train_py = MODEL_PY, TRAIN_PY
    for name, value in params.items():
        model_py = model_py.replace(MARKERS[name], repr(value))
        train_py = train_py.replace(MARKERS[name], repr(value))
    folder = HERE / f"trial_{{trial.number}}"
    folder.mkdir(exist_ok=True)
    (folder / "model.py").write_text(model_py, encoding="utf-8")
    (folder / "train.py").write_text(train_py, encoding="utf-8")
    result = subprocess.run([sys.executable, "train.py"], cwd=folder, capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])["final"][OBJECTIVE]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=TRIALS)
    args = parser.parse_args()
    study = optuna.create_study(study_name="layerlab", storage=f"sqlite:///{{HERE / 'sweep.db'}}",
                                load_if_exists=True, direction=DIRECTION,
                                sampler=optuna.samplers.TPESampler(seed=SEED))
    study.optimize(objective, n_trials=args.trials)
    print(json.dumps({{"best": {{"value": study.best_value, "params": study.best_params}}}}))
'''
