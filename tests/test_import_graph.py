"""The import graph of agentforge, read from the source with `ast`: layers, not circles.

An import counts wherever it sits: at the top of a module or inside a function (a lazy
import is still a dependency). The checks:

- no cycle between agentforge's packages (`llm`, `sandbox`, `store`, ... and the top-level
  modules such as `errors` or `cli`), except the ones listed in `KNOWN_PACKAGE_CYCLES`;
  imports under `if TYPE_CHECKING:` count here too: a package naming another's types
  depends on it;
- no cycle between modules anywhere in agentforge (inside a package too, function-level
  imports included), where a module may name the types of the module that drives it under
  `if TYPE_CHECKING:` (the gateway's handler names its `Gateway`): such an import never runs,
  and the layers are what the running imports make. `from package import module` is an edge
  to the module (the package's `__init__` runs first, as for any submodule import);
- no public name (class, function, constant) defined in two modules for two meanings
  (`PUBLIC_NAME_CONVENTIONS` lists the deliberate repeats);
- only `store/` creates tables (`create_all`), so the schema has one owner;
- `sandbox/` and `store/` are foundations: they import only `errors` (and `paths`, and
  `progress` for long steps);
- `examples/` (the data behind examples/*.toml) sits on top: nothing else imports it.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "agentforge"

KNOWN_PACKAGE_CYCLES: set[frozenset[str]] = set()
"""Package cycles waiting for their fix, each with the issue that will break it."""


def _module_name(path: Path, package: Path = PACKAGE) -> str:
    parts = path.relative_to(package.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _type_only(tree: ast.AST) -> set[int]:
    """ids of the import statements under `if TYPE_CHECKING:`."""
    guarded: set[int] = set()
    for node in ast.walk(tree):
        test = getattr(node, "test", None)
        if isinstance(node, ast.If) and (
                (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING")
                or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")):
            guarded.update(id(inner) for statement in node.body for inner in ast.walk(statement))
    return guarded


def _imported(tree: ast.AST, module: str, is_package: bool, type_only: bool,
              modules: frozenset[str] = frozenset()) -> set[str]:
    """Every agentforge module `module` names in an import statement (absolute or relative);
    `from package import module` names the module alone when `modules` holds it."""
    names: set[str] = set()
    skipped = set() if type_only else _type_only(tree)
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = module.split(".")
                anchor = anchor[: len(anchor) - node.level + (1 if is_package else 0)]
                base = ".".join(anchor + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            # `from agentforge.llm import gateway` imports a module, not only a name.
            submodules = {f"{base}.{alias.name}" for alias in node.names}
            names.update(submodules)
            if not submodules <= modules:
                names.add(base)
    return {name for name in names if name == "agentforge" or name.startswith("agentforge.")}


def module_graph(type_only: bool = True, package: Path = PACKAGE) -> dict[str, set[str]]:
    """Module -> the agentforge modules it imports (names that are not modules are dropped);
    `type_only=False` leaves out the imports under `if TYPE_CHECKING:`."""
    files = {_module_name(path, package): path for path in package.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    modules = frozenset(files)
    for module, path in files.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        targets = _imported(tree, module, path.name == "__init__.py", type_only, modules)
        graph[module] = {name for name in targets if name in files and name != module}
    return graph


def _package_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "agentforge"


def package_graph(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """Package -> the packages its modules import (the root `agentforge/__init__` left out)."""
    packages: dict[str, set[str]] = defaultdict(set)
    for module, targets in graph.items():
        source = _package_of(module)
        for target in targets:
            if _package_of(target) not in (source, "agentforge"):
                packages[source].add(_package_of(target))
    return packages


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one node (Tarjan), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def _describe(component: list[str], graph: dict[str, set[str]]) -> str:
    edges = [f"{a} -> {b}" for a in component for b in sorted(graph.get(a, ())) if b in component]
    return "{" + ", ".join(component) + "}: " + "; ".join(edges)


def test_the_graph_sees_imports_of_every_kind():
    graph = module_graph()
    # Top-level, relative-free `from x import y`, and a module imported by name.
    assert "agentforge.llm.config" in graph["agentforge.llm.client"]
    assert "agentforge.store.records" in graph["agentforge.store"]
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []
    # A type named under `if TYPE_CHECKING:` is an edge, unless asked to leave those out.
    assert "agentforge.llm.gateway" in graph["agentforge.llm.gateway.http"]
    assert "agentforge.llm.gateway" not in module_graph(type_only=False)[
        "agentforge.llm.gateway.http"]


def test_no_cycle_between_packages():
    graph = module_graph()
    packages = package_graph(graph)
    found = [component for component in cycles(packages)
             if frozenset(component) not in KNOWN_PACKAGE_CYCLES]
    assert not found, "packages import each other in a circle: " + "; ".join(
        _describe(component, packages) for component in found)


def test_no_module_cycle_anywhere():
    graph = module_graph(type_only=False)
    found = cycles(graph)
    assert not found, "modules import each other in a circle: " + "; ".join(
        _describe(component, graph) for component in found)


def test_the_module_graph_sees_a_cycle_inside_a_package_and_a_lazy_import(tmp_path):
    """What the test above refuses: config -> (in a function) agent_ref -> rundir -> config."""
    package = tmp_path / "agentforge"
    (package / "evolve").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "evolve" / "__init__.py").write_text("")
    (package / "evolve" / "config.py").write_text(
        "def seed():\n    from agentforge.evolve.agent_ref import parse\n")
    (package / "evolve" / "agent_ref.py").write_text("from agentforge.evolve import rundir\n")
    (package / "evolve" / "rundir.py").write_text("from agentforge.evolve.config import seed\n")
    graph = module_graph(type_only=False, package=package)
    assert cycles(graph) == [["agentforge.evolve.agent_ref", "agentforge.evolve.config",
                              "agentforge.evolve.rundir"]]
    assert "agentforge.evolve" not in graph["agentforge.evolve.agent_ref"]  # a module import


def test_only_the_store_creates_tables():
    creators = []
    for path in PACKAGE.rglob("*.py"):
        if path.is_relative_to(PACKAGE / "store"):
            continue
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Attribute) and (
                    node.attr == "create_all" or _is_table_create(node)):
                creators.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}")
    assert not creators, f"tables are created outside agentforge/store: {creators}"


def _is_table_create(node: ast.Attribute) -> bool:
    """`X.__table__.create(...)`: a single table created by hand."""
    return (node.attr == "create" and isinstance(node.value, ast.Attribute)
            and node.value.attr == "__table__")


def test_sandbox_and_store_are_foundations():
    """What their READMEs promise: llm/ and the rest build on them, never the reverse."""
    packages = package_graph(module_graph())
    leaves = {"errors", "paths", "progress", "host_commands"}
    assert packages["sandbox"] <= leaves, packages["sandbox"]
    assert packages["store"] <= {"errors", "host_commands"}, packages["store"]


def test_example_data_sits_above_everything():
    """The bundled examples' scripted models are coupled to the seed's prompt text, not to
    the framework: no other part of agentforge may depend on them."""
    packages = package_graph(module_graph())
    importers = sorted(source for source, targets in packages.items()
                       if "examples" in targets and source != "examples")
    assert not importers, f"these packages import agentforge.examples: {importers}"
    assert "evolve" in packages["examples"]  # the check sees the package at all


PUBLIC_NAME_CONVENTIONS: dict[str, str] = {
    "app": "each command module's Typer app, mounted by cli.py under the command's name",
    "main": "a script's entry point (`python -m ...`)",
    "NAME": "each operator module's registry name",
    "METADATA": "each importer's name of the metadata file of the run it reads",
    "log": "a module's own logger",
    "T": "a module's own TypeVar",
    "CONTAINER_DIR": "where the gateway's and the exec channel's socket folders appear in a "
                     "sandbox, each read only inside its own module",
    "SOCKET_NAME": "the socket file name of the gateway and of the exec channel, as above",
    "FORWARDER_PORT": "the loopback port of the gateway's and the exec channel's forwarders",
}
"""Public names that several modules define on purpose, each with why it is not two meanings."""


def _standalone(tree: ast.AST) -> bool:
    """A file that runs without agentforge (inside a sandbox): it imports none of it."""
    return not any(isinstance(node, ast.Import | ast.ImportFrom) and (
        (isinstance(node, ast.ImportFrom) and (node.module or "").startswith("agentforge"))
        or any(alias.name.startswith("agentforge") for alias in getattr(node, "names", [])))
        for node in ast.walk(tree))


def _is_command(node: ast.AST) -> bool:
    """A Typer command function (`@app.command(...)`): named by its CLI verb, never imported."""
    return any(isinstance(d, ast.Call) and isinstance(d.func, ast.Attribute)
               and d.func.attr in ("command", "callback")
               for d in getattr(node, "decorator_list", []))


def public_definitions(package: Path = PACKAGE) -> dict[str, list[str]]:
    """Public top-level name -> the modules that define it (classes, functions, constants)."""
    defined: dict[str, list[str]] = defaultdict(list)
    for path in sorted(package.rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        if _standalone(tree) and path.name != "__init__.py":
            continue
        for node in tree.body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                names = [] if _is_command(node) else [node.name]
            elif isinstance(node, ast.Assign):
                names = [t.id for t in node.targets if isinstance(t, ast.Name)]
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                names = [node.target.id]
            else:
                names = []
            for name in names:
                if not name.startswith("_"):
                    defined[name].append(_module_name(path, package))
    return defined


def test_no_public_name_means_two_things():
    twice = {name: modules for name, modules in public_definitions().items()
             if len(modules) > 1 and name not in PUBLIC_NAME_CONVENTIONS}
    assert not twice, "public names defined in more than one module (rename one, or add the " \
        "name to PUBLIC_NAME_CONVENTIONS saying why it means one thing): " + "; ".join(
            f"{name}: {', '.join(modules)}" for name, modules in sorted(twice.items()))


def test_the_name_check_sees_a_repeated_class(tmp_path):
    package = tmp_path / "agentforge"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("import agentforge\n\n\nclass Check:\n    pass\n")
    (package / "b.py").write_text("import agentforge\nCheck = 1\n_private = 2\n")
    (package / "c.py").write_text("_private = 3\n")
    assert public_definitions(package) == {"Check": ["agentforge.a", "agentforge.b"]}
