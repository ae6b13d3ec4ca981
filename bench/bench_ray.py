"""Ray executor: how soon after Train does a run's first point reach the server, with and without warm actors?

    python bench/bench_ray.py [--runs 4] [--epochs 3] [--cpus 2] [--address ADDRESS]

Starts a Ray instance on this machine with `--cpus` CPUs (or joins `--address`),
then, for each mode, a RayJobManager: `cold` (LAYERLAB_RAY_WARM_ACTORS=0: each
run starts a new Ray worker that imports Keras) and `warm` (the actors warmed
before the first submit, as a server keeps them). It submits `--runs` digits
runs one after another and times, for each, submit → the first epoch's line in
the run folder here (the first curve point a page can draw: trained on the
actor and pulled back through Ray) and submit → completed. Target (issue 25):
first point within 3 s of submit on a warm cluster.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from builder.experiments import templates  # noqa: E402
from builder.store import runfolder  # noqa: E402

TARGET_FIRST_POINT_S = 3.0


def time_run(jobs, experiment: dict) -> tuple[float, float, str]:
    """(submit → first metrics line here, submit → ended, final status) of one run."""
    start = time.monotonic()
    run_id = jobs.submit(experiment)
    metrics = jobs.root / run_id / runfolder.METRICS
    first = None
    while first is None:
        if runfolder.read_jsonl(metrics):
            first = time.monotonic() - start
        elif runfolder.read_status(jobs.root / run_id).get("status") in ("failed", "stopped"):
            break
        time.sleep(0.02)
    status = jobs.wait(run_id, timeout=600)
    return first if first is not None else float("nan"), time.monotonic() - start, status["status"]


def bench_mode(ray_jobs_class, warm: int, runs: int, epochs: int) -> list[tuple[float, float, str]]:
    experiment = templates.experiment("seed-mlp")
    experiment["training"]["epochs"] = epochs
    with tempfile.TemporaryDirectory(prefix="layerlab-bench-ray-") as tmp:
        jobs = ray_jobs_class(Path(tmp), cpus=1, gpus=0, warm=warm)
        try:
            ready_from = time.monotonic()
            jobs.wait_ready(timeout=300)
            if warm:
                print(f"  {warm} warm actor(s) ready in {time.monotonic() - ready_from:.1f} s (before any Train)")
            return [time_run(jobs, experiment) for _ in range(runs)]
        finally:
            jobs.shutdown()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=4)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--cpus", type=int, default=2, help="CPUs of the Ray instance started here")
    ap.add_argument("--address", default=None, help="an existing cluster (`auto`, ray://host:10001)")
    args = ap.parse_args()
    import ray

    from builder.jobs.ray_executor import RayJobManager, connect

    connect(args.address, num_cpus=args.cpus)
    try:
        for mode, warm in (("cold", 0), ("warm", min(2, args.cpus))):
            print(f"{mode}: {args.runs} runs of the Seed MLP on digits, {args.epochs} epochs, one after another")
            rows = bench_mode(RayJobManager, warm, args.runs, args.epochs)
            for i, (first, total, state) in enumerate(rows, 1):
                print(f"  run {i}: first point {first:5.2f} s · {state} {total:5.2f} s after submit")
            firsts = [r[0] for r in rows]
            verdict = "" if mode == "cold" else (
                f" (target ≤ {TARGET_FIRST_POINT_S:.0f} s: {'met' if max(firsts) <= TARGET_FIRST_POINT_S else 'NOT met'})")
            print(f"  first point: median {statistics.median(firsts):.2f} s, max {max(firsts):.2f} s{verdict}")
    finally:
        ray.shutdown()


if __name__ == "__main__":
    main()
