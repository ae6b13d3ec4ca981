"""Layerlab's engine (no Streamlit). Each sub-package is one concept; docs/architecture.md draws them.

model/ the document, graph/ its checks and Keras side, experiments/ what a run is asked to do, train/ the
training loops, jobs/ who runs them, store/ run folders and workspaces, exports/ what a run gives away,
explain/ attribution methods. Beside them: settings (the only reader of LAYERLAB_*), limits (the budgets),
files (the one atomic writer), cli and explain_cli (`python -m builder ...`).
"""

__all__ = ["cli", "explain_cli", "files", "limits", "settings"]  # its public modules (docs/interfaces.md)
