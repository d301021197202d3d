"""`crossover`: the second parent's change since the common ancestor applied onto the first
parent with git's three-way merge. Where only the genome (`config.toml`) conflicts, it is
merged section by section instead (`genome.merge_genomes`); any other conflict makes an
invalid node that says where."""

from __future__ import annotations

from agentforge.evolve.loop.context import RunContext
from agentforge.evolve.operators.child import add_child, failed_child
from agentforge.evolve.operators.genome import GenomeError, merge_genomes
from agentforge.evolve.operators.prompt_mutation import genome_path
from agentforge.evolve.step import StepOutcome, StepPlan

NAME = "crossover"


def crossover(ctx: RunContext, plan: StepPlan) -> StepOutcome:
    """A child of the plan's parent carrying its second parent's changes."""
    parent_id, second_parent_id = plan.parent_id, plan.second_parent_id
    if second_parent_id is None:
        return failed_child(ctx, plan, "crossover needs a second parent: the policy found no "
                            "other scored node")
    repo = ctx.repo
    first, second = ctx.store.get_node(parent_id).commit, ctx.store.get_node(
        second_parent_id).commit
    summary = f"crossover of node {parent_id} with node {second_parent_id}"
    tree, conflicts = repo.merge_tree(first, second)
    files = None
    if conflicts:
        folder = ctx.agent_dir(parent_id)
        genome = str(genome_path(folder).relative_to(folder))
        reason = f"crossover conflict in {', '.join(conflicts)}"
        base = repo.merge_base(first, second)
        if conflicts != [genome] or base is None:
            return add_child(ctx, plan, commit=None, summary=summary, invalid=reason)
        try:
            merged = merge_genomes(repo.read_file(base, genome) or "",
                                   repo.read_file(first, genome) or "",
                                   repo.read_file(second, genome) or "")
        except GenomeError as exc:
            return add_child(ctx, plan, commit=None, summary=summary,
                             invalid=f"{reason}: {exc}")
        files, summary = {genome: merged}, f"{summary} (genome merged text by text)"
    commit = repo.commit_merge(tree, [first, second], summary, files=files)
    result = repo.tree_of(commit)
    if result != repo.tree_of(first) and result == repo.tree_of(second):
        # The first parent's changes were already in the second: the child is a copy of it.
        return add_child(ctx, plan, commit=commit, summary=summary,
                         invalid=f"no diff: the merge is node {second_parent_id}'s agent, "
                                 f"which already holds node {parent_id}'s changes")
    return add_child(ctx, plan, commit=commit, summary=summary)
