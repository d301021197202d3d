"""Bringing runs of other systems (DGM, HGM) into agentforge as read-only run directories."""
