"""How a child is made: the operators (self_edit, prompt_mutation, crossover) and the planner
that picks one per step (planner.py)."""
