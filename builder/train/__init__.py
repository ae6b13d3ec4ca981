"""Training: the runner (one run, in-process), the worker + job manager (app), the run store."""
