"""The data behind the bundled example runs (examples/*.toml): their scripted models."""
