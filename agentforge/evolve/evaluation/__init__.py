"""Evaluation: which tasks a node runs next (stages.py), one graded run, finalize."""
