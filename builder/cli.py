"""`python -m builder …`: the engine for scripts, CI and instructors (contract 4).

Every command prints its result on stdout; problems go to stderr, one plain
line each, with exit status 1 — never a traceback. Keras is imported only by
the commands that need it, so `--help` answers at once.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from builder.experiments.experiment import check, problem_text
from builder.graph.importer import from_keras_file
from builder.graph.validate import check as check_model
from builder.graph.validate import ensure_valid
from builder.model.spec import FORMAT, SpecError, atomic_write_text, parse_json, read_text, structure_problems
from builder.sweep.space import problems as sweep_problems
from datasets.registry import list_datasets

EXPERIMENT_FORMAT = "layerlab/experiment@1"


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return args.handler(args)
    except SpecError as e:
        return _fail(e.problems)
    except ImportError as e:
        missing = e.name or str(e)
        return _fail([f"the '{args.command}' command needs {missing}, which is not available here ({e}); "
                      "install the requirements or update Layerlab"])
    except (ValueError, OSError) as e:
        return _fail(str(e).splitlines() or [type(e).__name__])
    except KeyboardInterrupt:
        return _fail(["stopped"], 130)
    except Exception as e:  # noqa: BLE001 - the CLI promises plain lines, never a traceback
        return _fail([f"unexpected {type(e).__name__}: {e}"])


def _fail(lines: list[str], code: int = 1) -> int:
    for line in lines:
        print(line, file=sys.stderr)
    return code


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m builder", description="Layerlab's engine on the command line: check, summarise, export, "
        "import and train models described by layerlab/model@1 specs.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name, handler, help):
        p = sub.add_parser(name, help=help, description=help)
        p.set_defaults(handler=handler)
        return p

    p = command("validate", _validate, "check a model spec or an experiment; exit 0 if valid, else one problem per line")
    p.add_argument("path", metavar="SPEC_OR_EXPERIMENT.json")
    p = command("summary", _summary, "per-layer output shapes and parameter counts of a model spec")
    p.add_argument("path", metavar="SPEC.json")
    p = command("export", _export, "a standalone Keras script that builds the model")
    p.add_argument("path", metavar="SPEC.json")
    p.add_argument("--to", choices=["python"], default="python", help="what to export (python: a Keras script)")
    p.add_argument("--out", metavar="FILE", help="write to FILE instead of stdout")
    p = command("import", _import, "a .keras model file as a model spec (safe mode: custom code is refused)")
    p.add_argument("path", metavar="MODEL.keras")
    p.add_argument("--out", metavar="FILE", help="write the spec to FILE instead of stdout")
    command("datasets", _datasets, "the built-in datasets, one per line")
    p = command("train", _train, "train an experiment headless into a run folder, or continue a run (--resume)")
    p.add_argument("path", metavar="EXPERIMENT.json", nargs="?")
    p.add_argument("--out", metavar="DIR", help="the run folder to write")
    p.add_argument("--resume", metavar="RUN_DIR", help="go on training this run in its own folder, from its checkpoint")
    p.add_argument("--epochs", type=int, metavar="N", help="with --resume: train N more epochs (default: up to the "
                   "run's planned epochs); with --data: train N epochs")
    p.add_argument("--data", metavar="FILE_OR_FOLDER", help="train on your own data instead of an experiment: a CSV, "
                   "ZIP, NPZ, or a folder with one subfolder per class (pictures, .wav clips or .txt files)")
    p.add_argument("--template", metavar="ID", help="with --data: the template to train (default: the one made for "
                   "the data's kind)")
    p.add_argument("--target", metavar="COLUMN", help="with --data: the CSV column to predict")
    p.add_argument("--executor", choices=["local", "ray"], default="local",
                   help="local: train in this process; ray: on a Ray cluster (env LAYERLAB_RAY_ADDRESS, "
                   "else a Ray instance started on this machine; pip install -r requirements-ray.txt)")
    p = command("sweep", _sweep, "a hyperparameter sweep (Optuna) of an experiment: one line per trial, a JSON "
                "summary last")
    p.add_argument("path", metavar="EXPERIMENT.json", help="the experiment (its 'sweep' key, if any, sets the space)")
    p.add_argument("--trials", type=int, metavar="N", help="how many trials (default: the experiment's, else 12)")
    p.add_argument("--out", metavar="DIR", required=True, help="the sweep's folder; an existing one goes on")
    p.add_argument("--space", metavar="SPACE.json", help="the search space, e.g. {\"learning_rate\": {\"low\": "
                   "0.0001, \"high\": 0.1, \"log\": true}}")
    p.add_argument("--executor", choices=["local", "ray"], default="local",
                   help="local: warm worker processes here; ray: the trials spread over a Ray cluster")
    p = command("explain", _explain, "saliency maps (or another method) for test samples of a finished run")
    p.add_argument("path", metavar="RUN_DIR")
    p.add_argument("--method", default="saliency", help="saliency (default), integrated_gradients, grad_cam, …")
    p.add_argument("--samples", type=int, default=8, help="how many test samples to explain (default 8)")
    p.add_argument("--out", metavar="DIR", help="where to write the maps (default RUN_DIR/explain/METHOD)")
    p = command("predict", _predict, "a finished run's answer to one input (picture, CSV row, JSON array) as JSON")
    p.add_argument("path", metavar="RUN_DIR")
    p.add_argument("input", metavar="INPUT", help="a PNG/JPEG picture, a CSV file (first row of numbers), a JSON "
                   "file or a JSON array such as '[5.1, 3.5, 1.4, 0.2]'")
    p.add_argument("--no-saliency", action="store_true", help="only the answer, without where the model looked")
    return parser


# -- commands ------------------------------------------------------------------

def _validate(args) -> int:
    data = parse_json(read_text(args.path), f"file {args.path}")
    fmt = data.get("format") if isinstance(data, dict) else None
    if fmt == EXPERIMENT_FORMAT:
        problems = _experiment_problems(data)
        what = f"experiment {args.path}"
    elif fmt == FORMAT or not isinstance(data, dict) or "nodes" in data:
        structural = structure_problems(data)
        if structural:  # answered without Keras
            return _fail(structural)
        _quiet_keras()
        report = check_model(data)
        problems = report.lines()
        what = f"model '{data.get('name', 'model')}': {len(data['nodes'])} layers, {report.total_params:,} parameters" \
            if report.ok else ""
    else:
        problems = [f"format is {fmt!r}, expected {FORMAT!r} (a model spec) or {EXPERIMENT_FORMAT!r} (an experiment)"]
    if problems:
        return _fail(problems)
    print(f"ok: {what}")
    return 0


def _experiment_problems(data: dict) -> list[str]:
    """The engine's one verdict (builder.experiments.experiment.check; with a `sweep` key,
    builder.sweep.space.problems), one line per problem."""
    _quiet_keras()
    verdict = sweep_problems if isinstance(data.get("sweep"), dict) else check
    return list(dict.fromkeys(problem_text(p) for p in verdict(data)))


def _load_valid(path):
    _quiet_keras()
    return ensure_valid(parse_json(read_text(path), f"file {path}"))


def _summary(args) -> int:
    _quiet_keras()
    spec = _load_valid(args.path)
    report = check_model(spec)
    rows = [("layer", "type", "output shape", "params")]
    rows += [(n.id, n.type, _shape(report.shapes[n.id]), f"{report.params[n.id]:,}") for n in spec.nodes]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for i, row in enumerate(rows):
        cells = [cell.rjust(w) if j == 3 else cell.ljust(w) for j, (cell, w) in enumerate(zip(row, widths, strict=True))]
        print("  ".join(cells).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths))
    print(f"total parameters: {report.total_params:,}")
    print(f"outputs: {', '.join(spec.output_ids())}")
    return 0


def _shape(shape) -> str:
    return "(" + ", ".join(str(d) for d in shape) + ")"


def _export(args) -> int:
    _quiet_keras()
    from builder.graph.codegen import to_python  # lazy: imports keras

    script = to_python(_load_valid(args.path))
    _emit(script, args.out)
    return 0


def _import(args) -> int:
    _quiet_keras()
    _emit(from_keras_file(args.path).to_json() + "\n", args.out)
    return 0


def _emit(text: str, out) -> None:
    if out:
        atomic_write_text(Path(out), text)
        print(f"wrote {out}", file=sys.stderr)
    else:
        sys.stdout.write(text)


def _datasets(args) -> int:
    for d in list_datasets():
        shape = "×".join(str(s) for s in d.input_shape)
        classes = f"{len(d.classes)} classes" if d.classes else d.task
        where = "" if d.offline else "  (needs a download)"
        print(f"{d.id:<14} {d.task:<16} {shape:<10} {classes:<12} {d.size:>7,} examples  {d.title}{where}")
    return 0


def _train(args) -> int:
    if args.data:
        return _train_data(args)
    if args.template or args.target:
        return _fail(["--template and --target go with --data FILE_OR_FOLDER"])
    if args.resume or args.epochs is not None:
        if args.path or args.out or not args.resume:
            return _fail(["use either EXPERIMENT.json --out DIR (a new run) or --resume RUN_DIR [--epochs N] "
                          "(a run goes on in its own folder)"])
        _quiet_keras()
        from builder.train.runner import cli_resume  # lazy: a command's module, missing = one line

        return cli_resume(args.resume, args.epochs)
    if not args.path or not args.out:
        return _fail(["train needs EXPERIMENT.json and --out DIR (or --resume RUN_DIR)"])
    if args.executor == "ray":
        from builder.jobs.ray_executor import cli_train as ray_train  # lazy: a command's module, missing = one line

        return ray_train(args.path, args.out)
    _quiet_keras()
    from builder.train.runner import cli_train  # lazy: a command's module, missing = one line (main)

    return int(cli_train(args.path, args.out) or 0)


def _train_data(args) -> int:
    """`train --data FILE_OR_FOLDER --out DIR`: the fitting template on the teacher's own data."""
    import json
    import tempfile

    if args.path or args.resume or not args.out:
        return _fail(["use train --data FILE_OR_FOLDER --out DIR [--template ID] [--target COLUMN] [--epochs N]"])
    _quiet_keras()
    from builder.experiments.headless import HeadlessError, experiment_for_data  # lazy: imports keras
    from builder.train.runner import cli_train  # lazy: a command's module, missing = one line

    try:
        exp = experiment_for_data(args.data, args.template, args.target, args.epochs)
    except HeadlessError as e:
        return _fail(e.lines)
    except ValueError as e:  # an upload or dataset error, in plain words
        return _fail([str(e)])
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "experiment.json"
        path.write_text(json.dumps(exp), encoding="utf-8")
        return int(cli_train(path, args.out) or 0)


def _sweep(args) -> int:
    _quiet_keras()
    from builder.sweep.cli import cli_sweep  # lazy: a command's module (Optuna), missing = one line

    return cli_sweep(args.path, args.trials, args.out, args.space, args.executor)


def _explain(args) -> int:
    _quiet_keras()
    from builder.explain_cli import cli_explain  # lazy: imports keras

    return int(cli_explain(args.path, args.method, args.samples, args.out) or 0)


def _predict(args) -> int:
    _quiet_keras()
    from builder.predict.cli import cli_predict  # lazy: a command's module, missing = one line

    return cli_predict(args.path, args.input, None if args.no_saliency else "saliency")


def _quiet_keras() -> None:
    """Import Keras with TensorFlow's start-up chatter (C++ logs on stderr) silenced."""
    if "keras" in sys.modules:
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    try:
        sys.stderr.flush()
        os.dup2(devnull, 2)
        import keras  # noqa: F401
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
