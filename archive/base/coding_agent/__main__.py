"""Command line of the agent contract: python -m coding_agent --repo R --problem P --out O."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    """Parse the contract's arguments, run, and exit 0 unless the run crashed."""
    parser = argparse.ArgumentParser(prog="coding_agent", description=__doc__)
    parser.add_argument("--repo", type=Path, required=True, help="repository to edit")
    parser.add_argument("--problem", type=Path, required=True, help="file with the task")
    parser.add_argument("--out", type=Path, required=True, help="folder for trajectory.json")
    parser.add_argument("--strategy", choices=["direct", "meta-prompting", "meta-reasoning"],
                        help="override the strategy of config.toml")
    parser.add_argument("--config", type=Path, help="TOML file merged over config.toml")
    args = parser.parse_args(argv)
    base_url = os.environ.get("OPENAI_BASE_URL")
    if not base_url:
        parser.error("OPENAI_BASE_URL is not set: the framework sets it to the model gateway")
    # Imported here so that a usage error answers before the slow imports (pydantic, LangGraph).
    from coding_agent.agent import run_agent
    from coding_agent.model import ModelError
    from coding_agent.settings import load_settings

    overrides = {"strategy": args.strategy} if args.strategy else {}
    settings = load_settings(args.config, overrides)
    try:
        outcome = run_agent(args.repo, args.problem.read_text(encoding="utf-8"), args.out,
                            settings, base_url=base_url,
                            api_key=os.environ.get("OPENAI_API_KEY") or "none",
                            model=os.environ.get("AGENTFORGE_MODEL"))
    except ModelError as exc:
        print(f"coding_agent: {exc}", file=sys.stderr)
        return 1
    print(f"coding_agent: stopped ({outcome.stop_reason})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
