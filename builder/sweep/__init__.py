"""Hyperparameter sweeps: an experiment plus a search space, searched by Optuna, each trial an ordinary run.

`space`: the experiment's `sweep` key (settings, ranges, defaults, problems); `study`: the Optuna study and
the loop that feeds it the job manager's runs; `script`: the sweep folder's standalone `sweep.py`; `cli`:
`python -m builder sweep`.
"""

__all__ = ["cli", "script", "space", "study"]  # its public modules (docs/interfaces.md)
