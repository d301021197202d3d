"""Entry point of the agent contract: --repo, --problem, --out.

plan.json (next to this package) holds rules: {"when": phrase, "write": {path: text},
"delete": [path], "crash": bool, "sleep": seconds}. Every rule whose phrase occurs in the
problem is applied in order. The agent records what it did in trajectory.json.
"""

import argparse
import json
import time
from pathlib import Path

PLAN = Path(__file__).resolve().parent.parent / "plan.json"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repo", required=True)
    parser.add_argument("--problem", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    repo, out = Path(args.repo), Path(args.out)
    problem = Path(args.problem).read_text()
    out.mkdir(parents=True, exist_ok=True)
    steps = []
    trajectory = {"messages": [{"role": "user", "content": problem}], "steps": steps}
    for rule in json.loads(PLAN.read_text())["rules"]:
        if rule["when"] not in problem:
            continue
        for path, text in rule.get("write", {}).items():
            (repo / path).parent.mkdir(parents=True, exist_ok=True)
            (repo / path).write_text(text)
            steps.append({"tool": "write", "path": path})
        for path in rule.get("delete", []):
            (repo / path).unlink(missing_ok=True)
            steps.append({"tool": "delete", "path": path})
        (out / "trajectory.json").write_text(json.dumps({**trajectory, "exit_status": "running"}))
        if rule.get("sleep"):
            time.sleep(rule["sleep"])
        if rule.get("crash"):
            raise RuntimeError("scripted crash")
    trajectory["exit_status"] = "submitted"
    (out / "trajectory.json").write_text(json.dumps(trajectory, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
