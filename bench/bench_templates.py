"""What each template's default run reaches, and how long it trains, with the real runner.

Runs `builder.experiments.templates.experiment(id)` (the template's own dataset and settings)
through `builder.train.runner.run`, plus the Playground template on every 2-D
point set and with the feature crosses, and prints one line per run: the test
metric, the first and last epoch's loss, the training seconds (sum of the
epochs) and the whole run's wall seconds (data, build, training, evaluation).

    python bench/bench_templates.py              # every template + the Playground sets
    python bench/bench_templates.py seed-mlp     # just these templates
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

POINT_SETS = ("spirals", "moons", "circles", "xor")


def runs(chosen: list[str]):
    """(label, experiment dict) for every run to measure."""
    from builder.experiments import templates

    for tid in chosen or templates.TEMPLATES:
        yield tid, templates.experiment(tid)
    if chosen and "playground-mlp" not in chosen:
        return
    for dataset in POINT_SETS:
        if dataset != templates.TEMPLATES["playground-mlp"].dataset:
            yield f"playground-mlp on {dataset}", templates.experiment("playground-mlp", dataset)
        crossed = templates.experiment("playground-mlp", dataset)
        crossed["data"]["features"] = "crosses"
        crossed["model"]["nodes"][0]["params"]["shape"] = [7]
        yield f"playground-mlp on {dataset}, features crosses", crossed


def measure(label: str, exp: dict) -> str:
    from builder.store import runfolder
    from builder.train.runner import run

    folder = Path(tempfile.mkdtemp(prefix="bench-templates-"))
    t0 = time.perf_counter()
    state = run(exp, folder)
    wall = time.perf_counter() - t0
    status = runfolder.read_status(folder)
    if state != "completed":
        return f"{label}: {state} {status.get('error')}"
    rows = runfolder.read_jsonl(folder / "metrics.jsonl")
    final = status["final"]
    if "test_accuracy" in final:
        metric = f"test accuracy {final['test_accuracy']:.1%}"
    elif "test_mae" in final:
        metric = f"test mae {final['test_mae']:.3f}"
    else:  # a GAN: no test labels; tests/builder/experiments/test_gan.py measures its samples
        metric = f"d {final['d_loss']:.2f} g {final['g_loss']:.2f}"
    train_s = sum(r.get("time_s", 0.0) for r in rows)
    return (f"{label:<48} {exp['data']['dataset']:<8} {metric:<22} loss {rows[0]['loss']:.2f} → {rows[-1]['loss']:.3f} "
            f"in {len(rows)} epochs   training {train_s:5.1f} s   run {wall:5.1f} s")


def main(argv: list[str]) -> None:
    import keras

    print(f"Keras {keras.__version__}, backend {keras.backend.backend()}, {os.cpu_count()} CPUs", flush=True)
    for label, exp in runs(argv):
        print(measure(label, exp), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
