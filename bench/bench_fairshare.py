"""A class presses Train at once, seen from the job manager: when does each run show its first point, and finish?

    python bench/bench_fairshare.py [--students 20] [--epochs 20] [--max-runs N] [--json FILE]

Starts the local job manager as the server does (its default pool for this
machine, or `--max-runs`), waits until it is ready, then submits one digits
run (the first-visit template, `--epochs` epochs) from each of `--students`
workspaces in one sweep. While they train it watches the run folders (the
first line of metrics.jsonl is a student's first curve point; status.json
says when the run ended), the training workers' memory (the sum of their
proportional set sizes, shared pages split between them) and the bench
process's own responsiveness: every 0.25 s it times a fixed slice of pure-Python work (~5 ms),
as a page rerun of the server would be slowed by the workers. No browser, no
Streamlit: `bench_workshop.py` shows the same class in real browsers.

The machine is shared: note `uptime` before a run, and compare figures taken
at a similar load.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

TARGET_FIRST_POINT_S = 30.0
MEMORY_EVERY_S = 1.0
PROBE_OPS = 100_000  # about 5 ms of pure Python on an idle core


def digits_run(epochs: int) -> dict:
    from builder.experiments import templates

    exp = templates.experiment(templates.for_dataset(templates.DEFAULT_DATASET))
    exp["training"]["epochs"] = epochs
    return exp


def pss_mb(pids: list[int]) -> float:
    """The workers' proportional set size together (a shared page counts once across them)."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                total += next(int(line.split()[1]) for line in f if line.startswith("Pss:"))
        except (OSError, StopIteration):
            pass
    return total / 1024


class Probe(threading.Thread):
    """Times a fixed slice of CPU work in this process: how long a server's page rerun would be stretched."""

    def __init__(self):
        super().__init__(daemon=True)
        self.stretch: list[float] = []
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            t = time.perf_counter()
            ops = 0
            while ops < PROBE_OPS:  # a fixed amount of work: a preempted server takes longer to do it
                ops += 1
            self.stretch.append(time.perf_counter() - t)
            time.sleep(max(0.0, 0.25 - (time.perf_counter() - t)))


def watch(jobs, run_ids: list[str], start: float, timeout: float) -> tuple[dict, list[float]]:
    from builder.store import runfolder

    first, final, memory = {}, {}, []
    end = time.monotonic() + timeout
    measured = 0.0
    while len(final) < len(run_ids) and time.monotonic() < end:
        for run_id in run_ids:
            folder = jobs.root / run_id
            if run_id not in first and (folder / runfolder.METRICS).exists():
                first[run_id] = time.perf_counter() - start
            if run_id not in final:
                status = runfolder.read_status(folder)
                if status.get("status") in ("completed", "stopped", "failed", "interrupted"):
                    final[run_id] = (time.perf_counter() - start, status.get("status"))
        if time.monotonic() - measured >= MEMORY_EVERY_S:  # reading smaps takes each worker's memory lock
            measured = time.monotonic()
            memory.append(pss_mb(jobs.worker_pids()))
        time.sleep(0.05)
    return {r: (first.get(r), *final.get(r, (None, "unfinished"))) for r in run_ids}, memory


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--students", type=int, default=20)
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--max-runs", type=int, default=0, help="runs training at once (0: the server's default)")
    ap.add_argument("--timeout", type=float, default=900.0)
    ap.add_argument("--json", help="also write the figures as JSON to this file")
    args = ap.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

    from builder.jobs.local import default_max_runs, make_job_manager

    exp = digits_run(args.epochs)
    load = os.getloadavg()
    print(f"load average before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory(prefix="bench-fairshare-") as tmp:
        max_runs = args.max_runs or default_max_runs()
        t = time.perf_counter()
        jobs = make_job_manager(Path(tmp) / "runs", "local", max_concurrent=max_runs)
        jobs.wait_ready(300)
        print(f"job manager ready after {time.perf_counter() - t:.1f} s; runs at once: {max_runs}")
        probe = Probe()
        probe.start()
        time.sleep(1.0)
        idle_probe = statistics.median(probe.stretch)
        start = time.perf_counter()
        run_ids = [jobs.submit(exp, workspace=f"bench-student-{i:03d}") for i in range(args.students)]
        submitted = time.perf_counter() - start
        rows, memory = watch(jobs, run_ids, start, args.timeout)
        probe.done.set()
        jobs.shutdown()
    firsts = [r[0] for r in rows.values() if r[0] is not None]
    finishes = [r[1] for r in rows.values() if r[1] is not None]
    print(f"{args.students} submits took {submitted:.2f} s")
    print(f"\n{'student':<8} {'first point s':>14} {'finished s':>11}  status")
    for i, (first, finish, status) in enumerate(rows.values()):
        print(f"{i:<8} {first if first is not None else float('nan'):>14.1f} "
              f"{finish if finish is not None else float('nan'):>11.1f}  {status}")
    busy_probe = [s / idle_probe for s in probe.stretch[4:]]
    summary = {
        "students": args.students, "epochs": args.epochs, "runs_at_once": max_runs, "load_before": load[0],
        "first_point_median_s": statistics.median(firsts) if firsts else None,
        "first_point_max_s": max(firsts) if len(firsts) == args.students else None,
        "finish_median_s": statistics.median(finishes) if finishes else None,
        "finish_max_s": max(finishes) if len(finishes) == args.students else None,
        "completed": sum(1 for r in rows.values() if r[2] == "completed"),
        "worker_pss_peak_mb": round(max(memory, default=0.0)),
        "server_work_stretch_p95": round(percentile(busy_probe, 0.95), 2) if busy_probe else None,
    }
    print("\n" + "\n".join(f"{k}: {v:.1f}" if isinstance(v, float) else f"{k}: {v}" for k, v in summary.items()))
    print(f"target: every first point within {TARGET_FIRST_POINT_S:.0f} s -> "
          f"{'met' if summary['first_point_max_s'] and summary['first_point_max_s'] <= TARGET_FIRST_POINT_S else 'NOT met'}")
    if args.json:
        Path(args.json).write_text(json.dumps({"summary": summary, "runs": list(rows.values())}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
