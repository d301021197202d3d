"""The seed coding agent of agentforge; see README.md and config.toml."""
