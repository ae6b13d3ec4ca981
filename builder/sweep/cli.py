"""`python -m builder sweep EXPERIMENT.json --trials N --out DIR`: a sweep headless, one line per trial.

The trials train through a job manager of their own (local warm workers, or Ray) into `DIR/trials/`; the
last line printed is the summary as JSON. Running it again on the same DIR goes on with the same study.
"""
from __future__ import annotations

from pathlib import Path

from builder.experiments.experiment import problem_text
from builder.jobs.local import default_max_runs, make_job_manager
from builder.model.spec import SpecError, parse_json, read_text
from builder.store import runfolder
from builder.sweep import space
from builder.sweep.study import MANIFEST, Sweep, summary_json, trial_line

TRIALS_FOLDER = "trials"


def sweep_experiment(path, trials: int | None, space_path=None) -> dict:
    """The experiment file with the command line's trials and space (a JSON file) put into its `sweep` key."""
    experiment = parse_json(read_text(path), f"file {path}")
    if not isinstance(experiment, dict):
        raise SpecError([f"file {path}: an experiment must be a JSON object"])
    given = experiment.get("sweep")
    sweep = dict(given) if isinstance(given, dict) else {}
    if trials is not None:
        sweep["trials"] = trials
    if space_path:
        sweep["space"] = parse_json(read_text(space_path), f"file {space_path}")
    return {**experiment, "sweep": sweep}


def cli_sweep(path, trials: int | None, out, space_path=None, executor: str = "local") -> int:
    """Exit 0 when at least one trial completed, else 1 (problems: one line each on stderr, via SpecError)."""
    folder = Path(out)
    manifest = runfolder.read_json(folder / MANIFEST)
    if manifest is None:  # a new sweep: checked before any worker starts
        experiment = sweep_experiment(path, trials, space_path)
        if found := space.problems(experiment):
            raise SpecError([problem_text(p) for p in found])
        parallel = space.settings(experiment)["parallel"]
    else:
        parallel = manifest.get("settings", {}).get("parallel", 1)
        print(f"going on with the sweep in {folder}", flush=True)
    jobs = make_job_manager(folder / TRIALS_FOLDER, executor, lazy=True,
                            max_concurrent=min(parallel, default_max_runs()))
    try:
        sweep = Sweep.create(folder, experiment, jobs) if manifest is None else Sweep.open(folder, jobs)
        summary = sweep.run(on_trial=lambda row: print(trial_line(row), flush=True))
    finally:
        jobs.shutdown()
    print(summary_json(summary), flush=True)
    return 0 if summary["completed"] else 1
