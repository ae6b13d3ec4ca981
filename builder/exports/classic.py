"""Exports from a finished run: what a student carries away, each working on its own.

    export_all(run_dir)  → {relative path: path or None}: code/model.py, code/train.py, code/train.ipynb
                           (+ code/data.npz when the data has no public loader), deploy/model*.tflite
    artifacts(run_dir)   → one `Artifact` per file a student can download, with one line on how to use it

`code/train.py` is standalone: it needs only the pinned libraries and
`model.py` beside it, loads the data itself (scikit-learn's or Keras' public
loaders, else `data.npz` beside it), and trains with the run's training plan
(builder/train/plan.py), so it reproduces the run's test numbers in any folder.
"""
from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from builder.experiments.experiment import Experiment, coerce
from builder.exports import gan_export, notebook, tflite
from builder.exports.script import DATA_FILE, needs_data_file, sections, write_data_file
from builder.exports.tflite import ExportError
from builder.graph.pretrained import RUN_FOLDER
from builder.model.spec import atomic_write_text
from builder.store import runfolder
from builder.train import labels, preprocessing
from builder.train.data import load_dataset, prepare
from datasets import registry, splits


def export_all(run_dir) -> dict:
    """Write every export that can be made here; TFLite is None where it cannot (another backend, a converter
    refusal: see deploy/tflite.json)."""
    run_dir = Path(run_dir)
    deploy = run_dir / preprocessing.DEPLOY_MODEL
    out = {preprocessing.DEPLOY_MODEL: deploy if deploy.exists() else None}
    for script in write_scripts(run_dir):
        out[script.relative_to(run_dir).as_posix()] = script
    try:
        made = tflite.export(run_dir)
    except ExportError as e:  # the reason goes where the Runs page shows the TFLite table
        made = {}
        tflite.record_refusal(run_dir, str(e))
    for variant, name in tflite.FILES.items():
        out[f"{preprocessing.DEPLOY}/{name}"] = made.get(variant)
    return out


def write_scripts(run_dir) -> list[Path]:
    """code/model.py (the model, from builder.graph.codegen), code/train.py (the run), code/train.ipynb (the run as a
    notebook) and, for data without a public loader, code/data.npz."""
    from builder.graph.codegen import to_python  # lazy: imports keras
    run_dir = Path(run_dir)
    exp = coerce(run_dir / runfolder.EXPERIMENT)
    if exp.gan:  # two networks and the adversarial loop
        return gan_export.write_scripts(run_dir, exp)
    code = run_dir / "code"
    code.mkdir(exist_ok=True)
    data = prepare(exp)  # once: the script, the notebook and the data file all need it
    steps = sections(exp, data)
    written = _copy_bases(run_dir, code)  # a transfer run's base files travel with its code
    atomic_write_text(code / "model.py", to_python(exp.model, bases=RUN_FOLDER))
    atomic_write_text(code / "train.py", training_script(exp, run_dir.name, steps))
    written = [code / "model.py", code / "train.py", *written]
    data_file = needs_data_file(exp)
    if data_file:
        written.append(write_data_file(exp, code / DATA_FILE, data.preprocessing))
    atomic_write_text(code / "train.ipynb", notebook.build(exp, steps, data_file=data_file,
                                                           feature_names=feature_names(exp)))
    return written + [code / "train.ipynb"]


def feature_names(exp: Experiment) -> list[str] | None:
    """A table's column names as the model takes them (the crosses' names after `features: crosses`), else None."""
    if exp.data_settings["features"] == "crosses":
        return list(splits.CROSSES)
    if registry.info(exp.dataset).kind != "table":
        return None
    return load_dataset(exp.dataset, exp.data_settings["options"]).feature_names


def _copy_bases(run_dir: Path, code: Path) -> list[Path]:
    """The run's pretrained base files (its `pretrained/` copies) into code/pretrained/, so model.py, train.py
    and train.ipynb work wherever the code folder goes."""
    out = []
    for base in sorted((run_dir / RUN_FOLDER).glob("*.keras")):
        target = code / RUN_FOLDER / base.name
        target.parent.mkdir(exist_ok=True)
        shutil.copyfile(base, target)
        out.append(target)
    return out


# -- the standalone training script --------------------------------------------------------------------
def training_script(exp: Experiment, run_id: str = "", steps: list | None = None) -> str:
    """A standalone script (text) that trains the experiment like the runner does, from raw data
    (`steps`: its `sections`, when already made)."""
    from builder.graph.codegen import comment_lines  # imports Keras: only when a script is made

    head = [
        *[f"# {line}" for line in comment_lines(f"Run {run_id}" if run_id else "")],
        '"""Training script exported by Layerlab: it trains the run\'s model again, on its own.',
        "",
        "It needs only Keras (with TensorFlow, JAX or PyTorch), NumPy and scikit-learn, and model.py beside it.",
        "Run it in any folder:",
        "",
        "    python train.py",
        "",
        "It loads the data, splits it like the run (same seed), trains with the run's settings, saves",
        "model.keras (it takes raw data: the preprocessing is inside it) and prints the test numbers as JSON.",
        '"""',
    ]
    body = []
    for title, _words, code in steps or sections(exp):
        body += ["", f"# -- {title} " + "-" * max(3, 96 - len(title)), *code.splitlines()]
    return "\n".join(head + body) + "\n"



# -- what each download is --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Artifact:
    path: str  # relative to the run folder
    title: str  # the file's name as the exported code uses it: also the download's name
    how: str  # one line: how to use it
    exists: bool


def artifacts(run_dir) -> list[Artifact]:
    """Every file a student can carry away from this run, with one line on how to use it. Downloaded one by one
    into one folder under their titles, the code finds its siblings there (model.py, data.npz, base files)."""
    run_dir = Path(run_dir)
    prep = preprocessing.read(run_dir)
    takes = f"takes {prep.describe_inputs()}" if prep else "takes the inputs as the run prepared them"
    answers = ""
    if prep and prep.target:
        answers = ", answers in the target's own units"
    gan = _is_gan(run_dir)
    rows = [
        (preprocessing.DEPLOY_MODEL, "model.keras",
         f"load with keras.saving.load_model; {takes}{answers}; the preprocessing is inside it"),
        (f"{preprocessing.DEPLOY}/{labels.FILE}", labels.FILE,
         "the class names, one a line in the order of the model's outputs (model.keras carries them too)"),
        (f"{preprocessing.DEPLOY}/{tflite.FILES['float']}", "model.tflite",
         f"TensorFlow Lite (float32) for phones and small boards; {takes}, one example per call"),
        (f"{preprocessing.DEPLOY}/{tflite.FILES['dynamic']}", "model-dynamic.tflite",
         "TensorFlow Lite with 8-bit weights (about 4× smaller), same inputs"),
        (f"{preprocessing.DEPLOY}/{tflite.FILES['int8']}", "model-int8.tflite",
         "TensorFlow Lite with 8-bit weights and activations (for integer-only chips); float inputs and outputs"),
        ("code/model.py", "model.py", "python model.py prints the summary; build_model() makes the untrained model"),
        *([("code/discriminator.py", "discriminator.py", "the GAN's discriminator; train.py imports it")] if gan else []),
        ("code/train.py", "train.py",
         "python train.py in any folder (with model.py beside it) trains the run again and saves model.keras"),
        *([] if gan else [("code/train.ipynb", "train.ipynb",
                           "open in Jupyter beside model.py: the same training, step by step, with a loss curve "
                           "and a saliency map")]),
        (f"code/{DATA_FILE}", DATA_FILE, "the run's data (np.load: x raw inputs, y targets); train.py reads it"),
        *_base_rows(run_dir),
        (runfolder.MODEL, "canvas-model.keras",
         "the model as built on the canvas, trained; it expects preprocessed inputs (see preprocessing.json)"),
        (preprocessing.FILE, "preprocessing.json",
         "the fitted preprocessing: pixel range, per-feature shift and scale, target mean and spread"),
    ]
    out = []
    for rel, title, how in rows:
        exists = (run_dir / rel).is_file()
        if rel.endswith((DATA_FILE, labels.FILE)) and not exists:
            continue  # public loader: no data file to offer; no classes: no names
        out.append(Artifact(rel, title, how, exists))
    return out


def _is_gan(run_dir: Path) -> bool:
    try:
        return bool(coerce(run_dir / runfolder.EXPERIMENT).gan)
    except (OSError, ValueError):  # an unreadable experiment: the ordinary list, each file says if it exists
        return False


def _base_rows(run_dir: Path) -> list[tuple[str, str, str]]:
    """A transfer run's pretrained base files (the run's own copies), which model.py loads."""
    return [(f"{RUN_FOLDER}/{base.name}", base.name,
             "the pretrained base (weights included) that model.py loads: keep it beside model.py")
            for base in sorted((run_dir / RUN_FOLDER).glob("*.keras"))]
