"""The evolution engine: parent selection, scheduling, the self-improvement loop."""
