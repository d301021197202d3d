"""The loop: the scheduler, the run's answers to it (run.py), the open run (context.py)."""
