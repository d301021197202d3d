"""The web view of a run's archive: `agentforge web` (see README.md in this folder)."""
