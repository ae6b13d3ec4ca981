"""A sweep: an Optuna study whose trials are ordinary runs of the job manager.

    sweep = Sweep.create("sweeps/s1", experiment, jobs, workspace="ab12…")   # SpecError lists the problems
    summary = sweep.run(on_trial=print)    # blocks until every trial has an outcome (or the sweep is stopped)
    Sweep.open("sweeps/s1", jobs).run()    # a half-done sweep goes on after a restart

Optuna does the searching (TPE sampler; median pruner fed each trial's epoch values). The study lives in
an Optuna journal file inside the sweep's folder, so a sweep survives a server restart. Each trial is a run
folder made by `jobs.submit` (status.json names its `sweep` and `trial`), queued and trained like any run;
the sweep keeps at most `parallel` of them queued or training. A trial the pruner gives up on gets a PRUNE
file and a stop, so it ends `pruned` within a batch of the decision.
"""
from __future__ import annotations

import json
import math
import threading
import time
from pathlib import Path

from builder.experiments.experiment import coerce, problem_text
from builder.jobs.local import TERMINAL
from builder.model.spec import SpecError
from builder.store import runfolder
from builder.store.workspace import owner_tag
from builder.sweep import space as sweep_space
from builder.sweep.script import write_script

FORMAT = "layerlab/sweep@1"
MANIFEST = "sweep.json"
JOURNAL = "study.journal"
STOP = "STOP"
STUDY = "layerlab"
POLL_S = 0.2
RECOVERY_WAIT_S = 120.0  # for the job manager to take over a gone server's runs (it reaps its workers first)
OUTCOMES = ("completed", "pruned", "failed")


class Sweep:
    def __init__(self, folder, jobs, manifest: dict):
        """`jobs`: the job manager its trials go to (None: only to read the sweep)."""
        self.folder = Path(folder)
        self.jobs = jobs
        self.manifest = manifest
        self.settings = manifest["settings"]
        self.runs_root = Path(manifest["runs"])  # where its trials' run folders are

    @property
    def id(self) -> str:
        return self.folder.name

    # -- making and opening ---------------------------------------------------------------------------
    @classmethod
    def create(cls, folder, experiment: dict, jobs, workspace: str | None = None) -> Sweep:
        """Check the experiment and its `sweep` key (SpecError with every problem, nothing written), then
        make the sweep's folder: sweep.json (the experiment, its settings resolved) and sweep.py."""
        problems = sweep_space.problems(experiment)
        if problems:
            raise SpecError([problem_text(p) for p in problems])
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        manifest = {"format": FORMAT, "experiment": sweep_space.without_sweep(experiment),
                    "settings": sweep_space.settings(experiment), "workspace": workspace, "created": time.time(),
                    "runs": str(Path(jobs.root).resolve()), "status": "running"}
        write_script(folder, manifest)
        runfolder.write_json(folder / MANIFEST, manifest)  # last: a folder with it is a sweep that can go on
        return cls(folder, jobs, manifest)

    @classmethod
    def open(cls, folder, jobs=None) -> Sweep:
        manifest = runfolder.read_json(Path(folder) / MANIFEST)
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise ValueError(f"{folder} is not a Layerlab sweep folder (no readable {MANIFEST})")
        return cls(folder, jobs, manifest)

    def study(self):
        """The Optuna study in the sweep's journal file (made on first use, loaded after)."""
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        storage = optuna.storages.JournalStorage(
            optuna.storages.journal.JournalFileBackend(str(self.folder / JOURNAL)))
        try:
            done = len(optuna.load_study(study_name=STUDY, storage=storage).trials)
        except KeyError:  # a new sweep
            done = 0
        trials = self.settings["trials"]
        seed = coerce_seed(self.manifest["experiment"]) + done  # a resumed sweep draws new values
        sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=max(2, trials // 3))
        pruner = (optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=1) if self.settings["pruning"]
                  else optuna.pruners.NopPruner())
        return optuna.create_study(study_name=STUDY, storage=storage, sampler=sampler, pruner=pruner,
                                   direction=self.settings["direction"], load_if_exists=True)

    # -- running ---------------------------------------------------------------------------------------
    def run(self, on_trial=None, poll: float = POLL_S) -> dict:
        """Ask Optuna for trials, submit them, feed it their epochs, tell it their outcomes; returns `summary`.

        `on_trial(row)` gets each trial's row (see `trial_rows`) when its outcome is known. Stops early when
        `stop` was asked (the trials still training are stopped too). sweep.json then records `wall_s`, the
        sweep's own `overhead_s` (CPU time asking Optuna, feeding it epochs, reading run folders) and `submit_s`
        (CPU time of the job manager checking and queueing each trial, as it does for any run).
        """
        (self.folder / STOP).unlink(missing_ok=True)  # a stopped sweep asked to go on
        study = self.study()
        started = time.perf_counter()
        overhead, self.submit_s = 0.0, 0.0
        watching = self._adopt(study)
        asked = sum(1 for t in study.get_trials(deepcopy=False) if t.state.name != "WAITING")  # enqueued: not yet
        self._set(status="running", error=None)
        while True:
            tick = time.thread_time()  # CPU time of this loop: on a busy machine, waiting for a core is not its cost
            stopping = (self.folder / STOP).exists()
            if stopping:
                for watch in watching.values():
                    self.jobs.stop(watch.run_id)
            while not stopping and asked < self.settings["trials"] and len(watching) < self.settings["parallel"]:
                watch, stopping = self._start_trial(study, on_trial)
                asked += 1
                if watch:
                    watching[watch.run_id] = watch
            for run_id, watch in list(watching.items()):
                row = watch.follow(study, self)
                if row is not None:
                    del watching[run_id]
                    if on_trial:
                        on_trial(row)
            overhead += time.thread_time() - tick
            if not watching and (stopping or asked >= self.settings["trials"]):
                break
            time.sleep(poll)
        wall = time.perf_counter() - started
        self._set(status="stopped" if stopping else "completed", wall_s=round(wall, 3),
                  overhead_s=round(overhead - self.submit_s, 4), submit_s=round(self.submit_s, 4))
        return self.summary(study)

    def run_in_background(self) -> threading.Thread:
        """`run` on a daemon thread of the server (it only polls files and talks to Optuna); a crash of the loop
        is recorded in sweep.json in plain words, never lost."""
        def guarded():
            try:
                self.run()
            except Exception as e:  # noqa: BLE001 - the page shows the reason
                self._set(status="failed", error=f"the sweep stopped with an error ({type(e).__name__}): {e}")

        thread = threading.Thread(target=guarded, name=f"layerlab-sweep-{self.id}", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        """Ask the sweep to stop: no new trial starts and the running ones stop (their folders stay)."""
        (self.folder / STOP).touch()

    def _start_trial(self, study, on_trial) -> tuple[Watch | None, bool]:
        """Ask Optuna for the next trial and submit its run; (its watch or None, whether the sweep must stop)."""
        import optuna

        trial = study.ask()
        params = sweep_space.suggest(trial, self.settings["space"])
        experiment = sweep_space.trial_experiment(self.manifest["experiment"], params)
        submitted = time.thread_time()
        try:
            run_id = self.jobs.submit(experiment, workspace=self.manifest.get("workspace"), sweep=self.id,
                                      trial=trial.number)
        except (SpecError, ValueError) as e:  # these values make no valid run (or the server refuses any)
            error = "; ".join(e.problems) if isinstance(e, SpecError) else str(e)
            trial.set_user_attr("error", error)
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
            if on_trial:
                on_trial(trial_row(study.trials[trial.number], None))
            if not isinstance(e, SpecError):
                self._set(error=error)
            return None, not isinstance(e, SpecError)
        finally:
            self.submit_s += time.thread_time() - submitted
        trial.set_user_attr("run", run_id)
        return Watch(trial, run_id, self.runs_root / run_id, self.settings), False

    def _adopt(self, study) -> dict[str, Watch]:
        """Trials a previous server left running: their runs are watched again (the job manager queued them
        again on its start, to go on from their checkpoints); a trial whose run is gone is failed."""
        import optuna

        # Until the manager has taken over what the gone server left, a cut-off run still reads `interrupted`
        # (final): watched now, its trial would be failed instead of going on.
        self.jobs.recovered.wait(RECOVERY_WAIT_S)
        watching = {}
        for frozen in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
            trial = optuna.trial.Trial(study, frozen._trial_id)
            run_id = frozen.user_attrs.get("run")
            if run_id and (self.runs_root / run_id / runfolder.STATUS).exists():
                watching[run_id] = Watch(trial, run_id, self.runs_root / run_id, self.settings,
                                         reported=set(frozen.intermediate_values))
            else:
                study.tell(trial, state=optuna.trial.TrialState.FAIL)
        return watching

    def _set(self, **fields) -> None:
        self.manifest.update(fields)
        runfolder.write_json(self.folder / MANIFEST, self.manifest)

    # -- reading ---------------------------------------------------------------------------------------
    def curves(self, study=None) -> dict[int, list[float]]:
        """Each trial's objective per epoch so far (its run's metrics), by trial number."""
        out = {}
        for row in self.trial_rows(study):
            if row["run_dir"]:
                values = [r.get(self.settings["objective"]) for r in
                          runfolder.read_jsonl(Path(row["run_dir"]) / runfolder.METRICS)]
                out[row["number"]] = [v for v in values if _finite(v)]
        return out

    def trial_rows(self, study=None) -> list[dict]:
        study = study or self.study()
        return [trial_row(t, self.runs_root) for t in study.get_trials(deepcopy=False)]

    def summary(self, study=None) -> dict:
        """{"trials", "completed", "pruned", "failed", "best": {"value", "params", "run"}} (best None when no
        trial completed)."""
        study = study or self.study()
        rows = self.trial_rows(study)
        counts = {state: sum(1 for r in rows if r["state"] == state) for state in OUTCOMES}
        completed = [r for r in rows if r["state"] == "completed"]
        pick = max if self.settings["direction"] == "maximize" else min
        best = pick(completed, key=lambda r: r["value"]) if completed else None
        return {"trials": len(rows), **counts,
                "best": {"value": best["value"], "params": best["params"], "run": best["run_dir"]} if best else None}


class Watch:
    """One trial being trained: its run's new epochs go to the pruner, its end to the study."""

    def __init__(self, trial, run_id: str, run_dir: Path, settings: dict, reported: set[int] | None = None):
        """`reported`: the epochs the study already has (a trial a gone server was watching)."""
        self.trial, self.run_id, self.run_dir = trial, run_id, run_dir
        self.reported = reported or set()
        self.objective, self.direction = settings["objective"], settings["direction"]
        self.pruning = settings["pruning"]
        self.values: list[float] = []
        self.stamp = None
        self.pruned = False

    def follow(self, study, sweep: Sweep) -> dict | None:
        """Report new epochs (and prune when Optuna says so); at the run's end tell the study and return the
        trial's row, else None."""
        self._report(sweep)
        status = runfolder.read_status(self.run_dir)
        state = status.get("status")
        if state not in TERMINAL or self.run_id in sweep.jobs.running():
            return None  # the manager still holds it: its place is not free for the next trial yet
        self._report(sweep)  # the last epoch may have landed with the end
        return self._tell(study, state, status)

    def _report(self, sweep: Sweep) -> None:
        path = self.run_dir / runfolder.METRICS
        try:
            stat = path.stat()
        except OSError:
            return
        if (stat.st_size, stat.st_mtime_ns) == self.stamp:
            return  # nothing new since the last look: no read
        self.stamp = (stat.st_size, stat.st_mtime_ns)
        for row in runfolder.read_jsonl(path)[len(self.values):]:
            value = row.get(self.objective)
            self.values.append(value if _finite(value) else math.nan)
            if not _finite(value) or self.pruned:
                continue
            epoch = int(row.get("epoch", len(self.values)))
            if epoch in self.reported:
                continue  # told to the study before a restart (Optuna keeps the first value of a step)
            self.trial.report(float(value), epoch)
            if self.pruning and self.trial.should_prune():
                (self.run_dir / runfolder.PRUNE).touch()  # the run's callback ends it `pruned`
                self.trial.set_user_attr("pruned_after_epochs", len(runfolder.read_jsonl(path)))
                sweep.jobs.stop(self.run_id)
                self.pruned = True

    def _tell(self, study, state: str, status: dict) -> dict:
        import optuna

        values = [v for v in self.values if not math.isnan(v)]
        if state == "completed" and values:
            best = max(values) if self.direction == "maximize" else min(values)
            study.tell(self.trial, best)
        elif state == "pruned" or (self.pruned and state == "stopped"):
            if state == "stopped":  # an executor that only knows Stop (Ray): the run still reads `pruned`
                runfolder.write_status(self.run_dir, status="pruned")
            study.tell(self.trial, state=optuna.trial.TrialState.PRUNED)
        else:
            self.trial.set_user_attr("error", status.get("error") or f"the run ended {state}")
            study.tell(self.trial, state=optuna.trial.TrialState.FAIL)
        return trial_row(study.get_trials(deepcopy=False)[self.trial.number], self.run_dir.parent)


def sweeps_in(root, workspace: str | None = None) -> list[dict]:
    """The sweeps under `root` (of `workspace`, when given), newest first: each manifest with its `id`."""
    found = []
    for folder in Path(root).iterdir() if Path(root).is_dir() else ():
        manifest = runfolder.read_json(folder / MANIFEST)
        if isinstance(manifest, dict) and manifest.get("format") == FORMAT and \
                (workspace is None or manifest.get("workspace") == workspace):
            found.append({**manifest, "id": folder.name})
    return sorted(found, key=lambda m: m.get("created") or 0, reverse=True)


def class_sweeps(root) -> list[dict]:
    """The students' sweeps under `root` as the teacher's Class page lists them, newest first. Each row: "key"
    (its workspace's owner tag, never the id, as `workspace.class_rows`), "model" (the experiment's title),
    "created", "state" (running / completed / stopped / failed), "done" (trials with an outcome) of "trials"
    (asked for), "best" (the best completed trial's value, None before one), "objective", "direction".
    A sweep without a workspace (the command line's) is no student's and left out. Pure reading."""
    rows = []
    for manifest in sweeps_in(root):
        if not manifest.get("workspace"):
            continue
        sweep = Sweep(Path(root) / manifest["id"], None, manifest)
        summary = sweep.summary() if (sweep.folder / JOURNAL).exists() else {"best": None}  # not begun yet
        rows.append({"key": owner_tag(manifest["workspace"]), "model": coerce(manifest["experiment"]).title,
                     "created": manifest.get("created"), "state": manifest.get("status"),
                     "done": sum(summary.get(outcome, 0) for outcome in OUTCOMES), "trials": sweep.settings["trials"],
                     "best": summary["best"]["value"] if summary["best"] else None,
                     "objective": sweep.settings["objective"], "direction": sweep.settings["direction"]})
    return rows


def trial_row(frozen, runs_root) -> dict:
    """One trial as the CLI, the page and the summary show it."""
    state = {"COMPLETE": "completed", "PRUNED": "pruned", "FAIL": "failed", "RUNNING": "running"}.get(
        frozen.state.name, frozen.state.name.lower())
    run_id = frozen.user_attrs.get("run")
    run_dir = Path(runs_root) / run_id if run_id and runs_root else None
    return {"number": frozen.number, "state": state, "value": frozen.value, "params": dict(frozen.params),
            "run": run_id, "run_dir": str(run_dir) if run_dir else None,
            "name": runfolder.read_status(run_dir).get("name") if run_dir else None,  # "MLP on digits · 3"
            "error": frozen.user_attrs.get("error")}


def coerce_seed(experiment: dict) -> int:
    seed = (experiment.get("training") or {}).get("seed", 0)
    return seed if isinstance(seed, int) and not isinstance(seed, bool) else 0


def _finite(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def trial_line(row: dict) -> str:
    """One trial's outcome in a line (the CLI)."""
    params = ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in row["params"].items())
    value = f"  value {row['value']:.4f}" if row.get("value") is not None else ""
    error = f"  ({row['error']})" if row.get("error") else ""
    return f"trial {row['number']}: {row['state']}{value}  [{params}]{error}"


def summary_json(summary: dict) -> str:
    return json.dumps(runfolder.clean(summary))
