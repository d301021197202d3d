"""Where sandbox work runs: this machine (local.py) or a Ray cluster (ray_driver, ray_node)."""
