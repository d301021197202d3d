"""What a run shows: its status and what each node cost."""
