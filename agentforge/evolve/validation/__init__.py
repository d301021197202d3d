"""Validation: whether a child agent still works, and how the run records it."""
