"""Who runs a run: the local job manager (local), the Ray one (ray_executor), the worker process."""
