"""Training one run in this process: the classic loop (runner) and the GAN loop (gan_run) on one shared layer (loop),
with the plan, callbacks, data, devices, fast path, preprocessing, evaluation and tracking they use."""

__all__ = ["adversarial", "callbacks", "checkpoint", "data", "devices", "evaluate", "fastpath", "finetune", "gan_run", "labels", "loop", "outcome", "plan", "preprocessing", "runner", "tracking"]  # its public modules (docs/interfaces.md)
