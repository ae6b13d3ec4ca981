"""What every job manager offers (the local one with warm worker processes, the Ray one), so the app, the CLI
and the tests can take either; tests/builder/jobs/test_manager.py checks both implement it."""
from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class Manager(Protocol):
    def submit(self, experiment, name: str | None = None, workspace: str | None = None,
               sweep: str | None = None, trial: int | None = None) -> str:
        """Check the experiment (an Experiment, its dict, a path, or the page's `Verdict`, trusted while its stamp
        matches), create its run folder (queued) and queue it; returns the run id. `sweep`, `trial`: the run is
        that trial of a sweep, counted against the sweep's allowance."""

    def resume(self, run_id: str, more_epochs: int, workspace: str | None = None) -> None:
        """Queue a finished, stopped or interrupted run to train `more_epochs` more in its own folder from its
        checkpoint (ValueError in plain words when it cannot)."""

    def stop(self, run_id: str, workspace: str | None = None) -> bool:
        """Ask a queued or running run to stop (it keeps its metrics and saves its model)."""

    def status(self, run_id: str) -> dict:
        """The run's status.json as it is now."""

    def running(self) -> list[str]:
        """Ids of the runs training now."""

    def queued(self) -> list[str]:
        """Ids of the runs waiting for a worker."""

    def worker_threads(self) -> list[dict]:
        """Each ready worker's thread settings as its backend reports them."""

    def worker_pids(self) -> list[int]:
        """Process ids of the workers (empty where they live elsewhere)."""

    def wait_ready(self, timeout: float = 60.0) -> bool:
        """Block until the workers can train; False after `timeout` seconds."""

    def wait(self, run_id: str, timeout: float = 120.0) -> dict:
        """Block until the run is final (or `timeout` passes); returns its last status."""

    def shutdown(self, timeout: float = 15.0) -> None:
        """Stop running runs, end the workers, mark leftovers interrupted."""
