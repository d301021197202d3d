"""Helpers of the loop tests: a tiny suite in the bundled layout and demo run configs."""

from __future__ import annotations

import json
from pathlib import Path

# id -> (solution file, stub, solution, hidden test); tiny so that grading takes a second.
TINY_TASKS = {
    "py-tiny-add": ("calc.py", "def add(a, b):\n    raise NotImplementedError\n",
                    "def add(a, b):\n    return a + b\n",
                    "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"),
    "py-tiny-greet": ("greet.py", "def greet(name):\n    raise NotImplementedError\n",
                      "def greet(name):\n    return f'Hello, {name}!'\n",
                      "from greet import greet\n\n\ndef test_greet():\n"
                      "    assert greet('Ada') == 'Hello, Ada!'\n"),
    "py-tiny-double": ("double.py", "def double(xs):\n    raise NotImplementedError\n",
                       "def double(xs):\n    return [2 * x for x in xs]\n",
                       "from double import double\n\n\ndef test_double():\n"
                       "    assert double([1, 2]) == [2, 4]\n"),
    "py-tiny-shout": ("shout.py", "def shout(text):\n    raise NotImplementedError\n",
                      "def shout(text):\n    return text.upper() + '!'\n",
                      "from shout import shout\n\n\ndef test_shout():\n"
                      "    assert shout('hi') == 'HI!'\n"),
}
PROBLEMS = {
    "py-tiny-add": "# Add two numbers\n\nIn `calc.py` make `add(a, b)` return the sum.\n",
    "py-tiny-greet": "# Greeting\n\nIn `greet.py` make `greet(name)` return `Hello, <name>!`.\n",
    "py-tiny-double": "# Double a list\n\nIn `double.py` make `double(xs)` double each item.\n",
    "py-tiny-shout": "# Shout\n\nIn `shout.py` make `shout(text)` upper-case it and add `!`.\n",
}


def _replacement_patch(name: str, before: str, after: str) -> str:
    """A git diff that replaces the whole of `name` (the files here are a few lines long)."""
    old, new = before.splitlines(), after.splitlines()
    body = [f"-{line}" for line in old] + [f"+{line}" for line in new]
    return "\n".join([f"diff --git a/{name} b/{name}", f"--- a/{name}", f"+++ b/{name}",
                      f"@@ -1,{len(old)} +1,{len(new)} @@", *body]) + "\n"


def write_tiny_suite(root: Path, validation: list[str], held_out: list[str]) -> Path:
    """A local-benchmark folder (tasks/, subsets.toml) with the given split."""
    for task_id, (name, stub, solution, test) in TINY_TASKS.items():
        folder = root / "tasks" / task_id
        (folder / "repo").mkdir(parents=True)
        (folder / "tests").mkdir()
        (folder / "repo" / name).write_text(stub)
        (folder / "tests" / f"test_{name}").write_text(test)
        (folder / "problem.md").write_text(PROBLEMS[task_id])
        (folder / "solution.patch").write_text(_replacement_patch(name, stub, solution))
        (folder / "task.toml").write_text(
            f'id = "{task_id}"\nkind = "exercise"\nlanguage = "python"\ndifficulty = "easy"\n'
            f'image = "agent-runtime"\nworkdir = "/workspace"\nvisible_files = ["{name}"]\n'
            f'protected_files = []\nhidden_tests = ["test_{name}"]\n'
            f'test_command = "python -m pytest -q -p no:cacheprovider test_{name}"\n'
            'test_timeout = 120\nFAIL_TO_PASS = []\nPASS_TO_PASS = []\n\n[env]\n')
    everything = validation + held_out
    (root / "subsets.toml").write_text(
        f"[subsets]\nsmoke = {json.dumps(everything)}\nfull = {json.dumps(everything)}\n\n"
        f"[splits]\nvalidation = {json.dumps(validation)}\nheld_out = {json.dumps(held_out)}\n")
    return root


def demo_config(tmp_path: Path, suite: Path, *, seed_solves: tuple[str, ...] = (),
                extra: str = "") -> Path:
    """A run config on `suite` with the demo's scripted model; returns its path."""
    from agentforge.bench import get_benchmark
    from agentforge.examples.offline_demo import demo_script

    script = tmp_path / "model.json"
    tasks = get_benchmark("local", source=suite).tasks()
    script.write_text(json.dumps(demo_script(tasks, seed_solves=seed_solves)))
    config = tmp_path / "run.toml"
    config.write_text(f"""
seed = 1
[llm.diagnose]
spec = "scripted:{script}"
[llm.agent]
spec = "scripted:{script}"
[benchmark]
name = "local"
source = "{suite}"
subset = "smoke"
[evaluation]
workers = 2
agent_timeout = 300
stages = [{{ tasks = 1 }}, {{ min_score = 0.0 }}]
[improve]
own_tests = ["tests/test_contract.py", "-x", "-k", "renders or rejected"]
[selection]
name = "greedy"
[budget]
max_iterations = 1
[finalize]
top_k = 2
{extra}
""")
    return config


def finished_evaluations(archive: str | Path) -> dict[tuple[int, str, str], bool]:
    """(node, task, split) -> resolved, for the finished evaluations of a run's archive (a
    SQLite file or a PostgreSQL URL), read as a watcher of a running run: nothing is created,
    and a database whose tables the run has not created yet reads as empty. Fails if an
    evaluation was finished twice."""
    from sqlalchemy import create_engine, exc, text

    url, options = str(archive), {}
    if "://" not in url:
        if not Path(url).exists():
            return {}
        url, options = f"sqlite:///{Path(url).resolve()}", {"timeout": 30}
    elif url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    engine = create_engine(url, connect_args=options)
    try:
        with engine.connect() as db:
            rows = db.execute(text("SELECT node_id, task_id, split, resolved FROM evaluation "
                                   "WHERE finished")).fetchall()
    except (exc.OperationalError, exc.ProgrammingError) as error:
        if "evaluation" not in str(error):  # only "no such table" means "not yet"
            raise
        rows = []
    finally:
        engine.dispose()
    keys = [(n, t, s) for n, t, s, _ in rows]
    assert len(keys) == len(set(keys)), "an evaluation was finished twice"
    return {(n, t, s): bool(r) for n, t, s, r in rows}
