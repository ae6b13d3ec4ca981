"""Who runs a run: one interface (manager), the local job manager (local), the Ray one (ray_executor), the
submission steps both share, their queue of waiting runs (turns), restart recovery and Continue (recovery), and
the worker process."""

__all__ = ["local", "manager", "ray_executor", "recovery", "submission", "turns", "worker"]  # its public modules (docs/interfaces.md)
