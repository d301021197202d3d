"""`crossover`: the second parent's change since the common ancestor applied onto the first
parent with git's three-way merge. Where only the genome (`config.toml`) conflicts, it is
merged section by section instead (`genome.merge_genomes`); any other conflict makes an
invalid node that says where."""

from __future__ import annotations

from agentforge.evolve.loop.context import RunContext, agent_dir
from agentforge.evolve.operators.child import add_child, failed_child
from agentforge.evolve.operators.genome import GenomeError, merge_genomes
from agentforge.evolve.operators.prompt_mutation import genome_path

NAME = "crossover"


def crossover(ctx: RunContext, parent_id: int, second_parent_id: int | None = None) -> int:
    """A child of `parent_id` carrying `second_parent_id`'s changes; return its node id."""
    if second_parent_id is None:
        return failed_child(ctx, NAME, parent_id, "crossover needs a second parent: the "
                            "policy found no other scored node")
    repo = ctx.repo
    first, second = ctx.store.get_node(parent_id).commit, ctx.store.get_node(
        second_parent_id).commit
    summary = f"crossover of node {parent_id} with node {second_parent_id}"
    tree, conflicts = repo.merge_tree(first, second)
    files = None
    if conflicts:
        folder = agent_dir(ctx, parent_id)
        genome = str(genome_path(folder).relative_to(folder))
        reason = f"crossover conflict in {', '.join(conflicts)}"
        base = repo.merge_base(first, second)
        if conflicts != [genome] or base is None:
            return _conflict(ctx, parent_id, second_parent_id, summary, reason)
        try:
            merged = merge_genomes(repo.read_file(base, genome) or "",
                                   repo.read_file(first, genome) or "",
                                   repo.read_file(second, genome) or "")
        except GenomeError as exc:
            return _conflict(ctx, parent_id, second_parent_id, summary, f"{reason}: {exc}")
        files, summary = {genome: merged}, f"{summary} (genome merged text by text)"
    commit = repo.commit_merge(tree, [first, second], summary, files=files)
    result = repo.tree_of(commit)
    if result != repo.tree_of(first) and result == repo.tree_of(second):
        # The first parent's changes were already in the second: the child is a copy of it.
        return add_child(ctx, NAME, parent_id, commit=commit, summary=summary,
                         second_parent_id=second_parent_id,
                         invalid=f"no diff: the merge is node {second_parent_id}'s agent, "
                                 f"which already holds node {parent_id}'s changes")
    return add_child(ctx, NAME, parent_id, commit=commit, summary=summary,
                     second_parent_id=second_parent_id)


def _conflict(ctx: RunContext, parent_id: int, second_id: int, summary: str,
              reason: str) -> int:
    return add_child(ctx, NAME, parent_id, commit=None, summary=summary,
                     second_parent_id=second_id, invalid=reason)
