"""Run folders and workspaces on disk: their layout (runfolder), reading them (runstore), watching them live
(watch), workspaces of runs (workspace)."""

__all__ = ["runfolder", "runstore", "watch", "workspace"]  # its public modules (docs/interfaces.md)
