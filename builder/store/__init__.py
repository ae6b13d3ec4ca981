"""Run folders: their layout (runfolder), reading them (runstore), watching them live (watch), workspaces of runs (workspace)."""
