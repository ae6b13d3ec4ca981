"""Who runs a run: one interface (manager), the local job manager (local), the Ray one (ray_executor), the
submission steps both share, and the worker process."""

__all__ = ["local", "manager", "ray_executor", "submission", "worker"]  # its public modules (docs/interfaces.md)
