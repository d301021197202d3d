"""Test agent: edits files according to plan.json rules matched against the problem."""
