"""Parent selection: the math by hand, statistics with fixed seeds, exclusions, the registry."""

from __future__ import annotations

import math
import random
from collections import Counter

import pytest

from agentforge.errors import ConfigError
from agentforge.evolve.selection import (
    SELECTORS,
    EvaluateMore,
    Expand,
    NodeView,
    NoParentAvailable,
    WorkInFlight,
    clade_totals,
    make_selector,
    rng_from_json,
    rng_state_to_json,
)
from agentforge.evolve.selection.base import best_lineage, valid_children_counts
from agentforge.evolve.selection.beta import beta_cdf, beta_quantile
from agentforge.evolve.selection.dgm import DgmConfig, dgm_weights
from agentforge.evolve.selection.finalists import (
    cautious_score,
    choose_finalists,
    finalist_ids,
    hopeful_score,
    top_up_due,
)
from agentforge.evolve.selection.hgm import HgmSelector, evaluations_started, should_expand
from agentforge.store import NodeStatus, SqlStore


def _sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


ARCHIVE = [
    NodeView(1, None, successes=3, failures=7),  # score 0.3, 2 valid children (3 is invalid)
    NodeView(2, 1, successes=5, failures=5),  # score 0.5, 1 valid child
    NodeView(3, 1, successes=0, failures=0, status="invalid"),
    NodeView(4, 2, successes=10, failures=0),  # perfect: excluded by dgm
    NodeView(5, 1, successes=7, failures=3, status="evaluating"),  # score 0.7, no valid child
    NodeView(6, 5, successes=9, failures=1, status="failed"),  # never a parent
    NodeView(7, 5, successes=0, failures=0, status="pending"),  # not validated yet
]


def test_dgm_weights_match_hand_computed_values():
    weights = dgm_weights(ARCHIVE)
    assert set(weights) == {1, 2, 5}
    assert weights[1] == pytest.approx(_sigmoid(10 * (0.3 - 0.5)) / 3)
    assert weights[2] == pytest.approx(0.5 / 2)
    # Node 5's children are failed (6) and not yet validated (7): no valid child.
    assert weights[5] == pytest.approx(_sigmoid(10 * (0.7 - 0.5)))
    # With perfect nodes allowed the perfect child is in, with its own sigmoid.
    keep = dgm_weights(ARCHIVE, DgmConfig(exclude_perfect=False, steepness=2, midpoint=0.4))
    assert keep[4] == pytest.approx(_sigmoid(2 * 0.6))


def test_dgm_samples_in_proportion_to_its_weights():
    selector = make_selector("dgm")
    rng = random.Random(1234)
    draws = Counter(selector.select_parent(ARCHIVE, rng) for _ in range(20_000))
    weights = dgm_weights(ARCHIVE)
    total = sum(weights.values())
    for node_id, weight in weights.items():
        assert draws[node_id] / 20_000 == pytest.approx(weight / total, abs=0.02)
    assert set(draws) <= {1, 2, 5}


def test_dgm_without_a_scored_non_perfect_node_says_so():
    only_perfect = [NodeView(1, None, 4, 0), NodeView(2, 1, 0, 0, "pending")]
    with pytest.raises(NoParentAvailable, match="wait for evaluations"):
        make_selector("dgm").select_parent(only_perfect, random.Random(0))


@pytest.mark.parametrize("name", sorted(SELECTORS))
def test_excluded_nodes_are_never_chosen(name):
    rng = random.Random(99)
    selector = make_selector(name)
    for trial in range(200):
        # Random trees where the excluded nodes have the best records of all.
        nodes = [NodeView(0, None, rng.randint(0, 5), rng.randint(1, 5))]
        for i in range(1, 12):
            status = rng.choice(["evaluated", "evaluating", "invalid", "failed", "pending"])
            good = status in {"invalid", "failed", "pending"}
            s, f = (rng.randint(8, 10), rng.randint(0, 1)) if good else (rng.randint(0, 5), 5)
            nodes.append(NodeView(i, rng.randrange(i), s, f, status, tasks_left=rng.randint(0, 3)))
        by_id = {n.id: n for n in nodes}
        action = selector.next_action(nodes, random.Random(trial))
        chosen = action.parent_id if isinstance(action, Expand) else action.node_id
        assert by_id[chosen].status in {"evaluated", "evaluating"}
        assert by_id[selector.best_node(nodes)].status in {"evaluated", "evaluating"}


def test_hgm_pools_evaluations_over_clades():
    nodes = [
        NodeView(1, None, 0, 0),
        NodeView(2, 1, 2, 8),
        NodeView(3, 1, 2, 8),
        NodeView(4, 2, 9, 1, status="failed"),
        NodeView(5, 4, 1, 1),
    ]
    totals = clade_totals(nodes)
    assert totals == {1: (14, 18), 2: (12, 10), 3: (2, 8), 4: (10, 2), 5: (1, 1)}
    selector = make_selector("hgm")
    rng = random.Random(7)
    picks = Counter(selector.select_parent(nodes, rng) for _ in range(5000))
    assert picks[4] == 0  # failed: its evidence counts for its ancestors, it never expands
    # Same own record, but node 2's clade did well: Thompson sampling prefers it.
    assert picks[2] > 3 * picks[3]
    # Evaluating more uses a node's own posterior: nodes 2 and 3 are alike there.
    evals = Counter(selector.select_for_evaluation(nodes, rng) for _ in range(5000))
    assert evals[2] == pytest.approx(evals[3], rel=0.25)
    assert evals[4] == 0


def test_hgm_expands_only_while_evaluations_outgrow_the_tree():
    # Only the seed: N = 0 and 0**0.6 >= 1 - 1 -> expand, but nothing is scored yet, so the
    # seed is evaluated instead.
    seed_only = [NodeView(1, None, 0, 0, "evaluating", tasks_left=10)]
    assert should_expand(seed_only, 0.6)
    selector = make_selector("hgm")
    assert selector.next_action(seed_only, random.Random(0)) == EvaluateMore(1)
    # The seed's own evaluations are not in N: two fresh children -> 0**0.6 < 3 - 1: evaluate.
    three = [NodeView(1, None, 4, 6, tasks_left=5), NodeView(2, 1), NodeView(3, 1)]
    assert evaluations_started(three) == 0
    assert not should_expand(three, 0.6)
    assert isinstance(selector.next_action(three, random.Random(0)), EvaluateMore)
    # N counts started evaluations: 2 + 1 finished and 2 in flight on node 2, 3 on node 3
    # -> N = 8, 8**0.6 = 3.48 >= (3 nodes - 1) + 1 expansion in flight = 3 -> expand.
    # Invalid and failed children are not in the tree (their evaluations still count in N).
    eight = [
        NodeView(1, None, 10, 0, tasks_left=0),
        NodeView(2, 1, 2, 1, "evaluating", tasks_left=5, in_flight=2),
        NodeView(3, 1, 0, 3, tasks_left=7),
        NodeView(4, 1, 0, 0, "invalid"),
        NodeView(5, 2, 0, 0, "failed"),
    ]
    assert evaluations_started(eight) == 8
    assert round(8**0.6, 3) == 3.482
    assert should_expand(eight, 0.6, expansions_in_flight=1)
    assert isinstance(selector.next_action(eight, random.Random(0), WorkInFlight(1)), Expand)
    # Two expansions in flight: 3.48 < 2 + 2 -> evaluate, instead of expanding a stale tree.
    assert not should_expand(eight, 0.6, expansions_in_flight=2)
    assert isinstance(selector.next_action(eight, random.Random(0), WorkInFlight(2)), EvaluateMore)
    wider = make_selector("hgm", {"alpha": 1.0})  # 8 >= 4: expand
    assert isinstance(wider.next_action(eight, random.Random(0), WorkInFlight(2)), Expand)


def test_hgm_evaluates_when_it_would_expand_but_no_improve_worker_is_free():
    nodes = [NodeView(1, None, 5, 5, tasks_left=3), NodeView(2, 1, 3, 1, tasks_left=6)]
    selector = make_selector("hgm")
    assert should_expand(nodes, 0.6)  # 4**0.6 = 2.3 >= 1
    busy = WorkInFlight(expansions=1, can_expand=False)
    for seed in range(50):
        assert isinstance(selector.next_action(nodes, random.Random(seed), busy), EvaluateMore)
    # Nothing left to start and no worker to expand: nothing to do now.
    done = [NodeView(1, None, 5, 5, tasks_left=0), NodeView(2, 1, 3, 1, tasks_left=0)]
    with pytest.raises(NoParentAvailable, match="no self-improvement worker is free"):
        selector.next_action(done, random.Random(0), busy)
    assert isinstance(selector.next_action(done, random.Random(0)), Expand)


def test_hgm_never_evaluates_a_node_whose_remaining_tasks_are_all_in_flight():
    # Node 2 looks best by far but its last 2 tasks are both running: node 3 is chosen.
    nodes = [
        NodeView(1, None, 0, 10, tasks_left=0),
        NodeView(2, 1, 9, 0, tasks_left=0, in_flight=2),
        NodeView(3, 1, 0, 4, tasks_left=6),
    ]
    selector = make_selector("hgm")
    picks = {selector.select_for_evaluation(nodes, random.Random(s)) for s in range(100)}
    assert picks == {3}


def test_hgm_parents_need_a_finished_evaluation_and_a_success():
    nodes = [
        NodeView(1, None, 0, 5),  # mean 0: not a parent
        NodeView(2, 1, 1, 3),  # mean 0.25: the only candidate
        NodeView(3, 1, 0, 0, "evaluating"),  # no finished evaluation yet
        NodeView(4, 2, 0, 2, "evaluating"),
    ]
    selector = make_selector("hgm")
    assert [n.id for n in selector.parent_candidates(nodes)] == [2]
    assert {selector.select_parent(nodes, random.Random(s)) for s in range(50)} == {2}
    # The earlier rule (every validated node) stays available.
    validated = make_selector("hgm", {"parent_rule": "validated"})
    assert [n.id for n in validated.parent_candidates(nodes)] == [1, 2, 3, 4]
    # No success anywhere yet: every scored node is eligible rather than stopping the run.
    weak = [NodeView(1, None, 0, 5), NodeView(2, 1, 0, 0, "evaluating"), NodeView(3, 1, 0, 1)]
    assert [n.id for n in selector.parent_candidates(weak)] == [1, 3]


def test_hgm_clade_pooling_counts_each_descendant_once_and_changes_no_record():
    # A chain 1 <- 2 <- 3: node 1's clade is 1+0+1 successes and 0+1+1 failures.
    chain = [NodeView(1, None, 1, 0), NodeView(2, 1, 0, 1), NodeView(3, 2, 1, 1)]
    first = clade_totals(chain)
    assert first == {1: (2, 2), 2: (1, 2), 3: (1, 1)}
    # HGM's tree.py appends descendants into the node's own list: a second call would grow
    # node 1's totals there. Ours is a pure function of the records.
    assert clade_totals(chain) == first
    assert [(n.successes, n.failures) for n in chain] == [(1, 0), (0, 1), (1, 1)]


def test_dgm_counts_only_valid_children_and_drops_only_finished_perfect_nodes():
    nodes = [
        NodeView(1, None, 4, 6),  # score 0.4
        NodeView(2, 1, 3, 0, "evaluating"),  # 3/3 still being evaluated: stays in
        NodeView(3, 1, 3, 0, "evaluated"),  # 3/3 finished: perfect, left out
        NodeView(4, 1, 0, 0, "failed"),
        NodeView(5, 1, 0, 1, "invalid"),
        NodeView(6, 1, 0, 0, "pending"),
    ]
    weights = dgm_weights(nodes)
    assert set(weights) == {1, 2}
    # Node 1 has 2 valid children (2 and 3): sigmoid(10 * (0.4 - 0.5)) / 3.
    assert weights[1] == pytest.approx(_sigmoid(-1) / 3)
    assert weights[1] == pytest.approx(0.26894 / 3, abs=1e-5)
    assert weights[2] == pytest.approx(_sigmoid(5))  # 0.99331, no children


def test_dgm_old_config_keys_still_load():
    old = make_selector("dgm", {"lambda_": 2, "alpha0": 0.4})
    new = make_selector("dgm", {"steepness": 2, "midpoint": 0.4})
    assert old.config == new.config


def test_hgm_final_pick_is_cautious_where_greedy_is_not():
    nodes = [NodeView(1, None, 40, 10), NodeView(2, 1, 2, 0), NodeView(3, 1, 1, 3)]
    assert make_selector("greedy").best_node(nodes) == 2
    assert make_selector("hgm").best_node(nodes) == 1
    # A very high quantile trusts the lucky 2/2 node instead.
    assert make_selector("hgm", {"final_quantile": 0.95}).best_node(nodes) == 2


def test_beta_quantile_against_closed_forms():
    # Beta(a, 1): CDF x**a; Beta(2, 5) at 0.3 = P(Binomial(6, 0.3) >= 2).
    assert beta_quantile(0.1, 4, 1) == pytest.approx(0.1**0.25, abs=1e-9)
    assert beta_cdf(0.3, 2, 5) == pytest.approx(1 - 0.7**6 - 6 * 0.3 * 0.7**5, abs=1e-12)
    assert beta_quantile(0.5, 7, 7) == pytest.approx(0.5, abs=1e-9)
    for q in (0.05, 0.25, 0.9):
        assert beta_cdf(beta_quantile(q, 31, 21), 31, 21) == pytest.approx(q, abs=1e-9)


def test_baselines():
    rng = random.Random(3)
    assert make_selector("greedy").select_parent(ARCHIVE, rng) == 4
    assert make_selector("no-archive").select_parent(ARCHIVE, rng) == 5
    assert make_selector("best-of-n").select_parent(ARCHIVE, rng) == 1
    picks = Counter(make_selector("random").select_parent(ARCHIVE, rng) for _ in range(3000))
    assert set(picks) == {1, 2, 4, 5}
    assert min(picks.values()) > 600  # uniform: ~750 each
    with pytest.raises(NoParentAvailable):
        make_selector("best-of-n").select_parent([NodeView(1, None, status="invalid")], rng)


def test_saved_rng_state_replays_the_same_choices():
    selector = make_selector("dgm")
    rng = random.Random(2024)
    for _ in range(17):
        selector.select_parent(ARCHIVE, rng)
    saved = rng_state_to_json(rng)
    expected = [selector.select_parent(ARCHIVE, rng) for _ in range(50)]
    restored = rng_from_json(saved)
    assert [selector.select_parent(ARCHIVE, restored) for _ in range(50)] == expected


def test_registry_names_and_config_errors():
    assert sorted(SELECTORS) == ["best-of-n", "dgm", "greedy", "hgm", "no-archive", "random"]
    with pytest.raises(ConfigError, match="choose one of best-of-n, dgm, greedy"):
        make_selector("darwin")
    with pytest.raises(ConfigError, match="alpha.*accepted fields: alpha, final_quantile"):
        make_selector("hgm", {"alpha": 0})
    with pytest.raises(ConfigError, match="steep"):
        make_selector("dgm", {"steep": 3})


def test_selectors_read_store_summaries(tmp_path):
    store = SqlStore.open(tmp_path / "run.db")
    store.create_run("r")
    seed = store.add_node("r", parent_id=None, status=NodeStatus.evaluated)
    good = store.add_node("r", parent_id=seed.id, status=NodeStatus.evaluated)
    bad = store.add_node("r", parent_id=seed.id, status=NodeStatus.invalid, reason="no diff")
    for node, results in ((seed, [True, False, False]), (good, [True, True, False])):
        for i, resolved in enumerate(results):
            e = store.start_evaluation(node.id, f"t{i}")
            store.finish_evaluation(e.id, resolved=resolved)
    summaries = store.node_summaries("r")
    rng = random.Random(0)
    for name in SELECTORS:
        selector = make_selector(name)
        assert selector.next_action(summaries, rng) != Expand(bad.id)
    assert make_selector("greedy").select_parent(summaries, rng) == good.id
    assert set(dgm_weights(summaries)) == {seed.id, good.id}
    store.close()


def test_the_common_final_rule_ranks_by_a_cautious_score():
    # 1/1: Beta(2, 1) mean 2/3, sd sqrt(2 / 36) -> 0.431; 6/10: Beta(7, 5) mean 7/12,
    # sd sqrt(35 / (144 * 13)) -> 0.447; 40/60: Beta(41, 21) 0.661 - 0.060 = 0.602.
    lucky, steady, proven = NodeView(2, 1, 1, 0), NodeView(3, 1, 6, 4), NodeView(4, 1, 40, 20)
    assert round(cautious_score(lucky), 3) == 0.431
    assert round(cautious_score(steady), 3) == 0.447
    nodes = [NodeView(1, None, 0, 5), lucky, steady, proven, NodeView(5, 1, 9, 0, "invalid")]
    assert finalist_ids(nodes, 3) == [4, 3, 2]
    assert finalist_ids(nodes, 1) == [4]


def test_store_summaries_take_the_common_rule():
    from agentforge.store.records import NodeSummary

    summaries = [
        NodeSummary(id=1, parent_id=None, status=NodeStatus.evaluated, successes=6, failures=4),
        NodeSummary(id=2, parent_id=1, status=NodeStatus.evaluated, successes=1, failures=0),
        NodeSummary(id=3, parent_id=1, status=NodeStatus.invalid, successes=5, failures=0),
    ]
    # Raw scores would put the lucky 1/1 child first (1.0 > 0.6); 0.447 > 0.431 does not.
    assert finalist_ids(summaries, 2) == [1, 2]


def test_finalists_never_share_a_tree():
    # Nodes 2 and 4 are the same agent (4 a copy, or a merge that reproduced 2): the better
    # ranked one stays, and the next distinct agent takes the other's place.
    nodes = [NodeView(1, None, 1, 3), NodeView(2, 1, 4, 0), NodeView(3, 1, 2, 2),
             NodeView(4, 3, 4, 0), NodeView(5, 3, 3, 1)]
    trees = {1: "t1", 2: "same", 3: "t3", 4: "same", 5: "t5"}
    assert finalist_ids(nodes, 3) == [2, 4, 5]  # without trees: 4 is another agent
    chosen = choose_finalists(nodes, 3, trees=trees)
    assert [f.id for f in chosen] == [2, 5, 3]
    assert "nodes 4 are the same agent, left out" in chosen[0].why
    assert chosen[1].why.startswith("rank 2: cautious score")


def test_tied_finalists_cover_different_lineages():
    # Seed 1; lineage A: 2 -> 3 -> 4 -> 5; lineage B: 6 -> 7. Nodes 3, 4, 5 and 7 tie at
    # 4/4; the earliest-first rule takes 3, 4, 5 (one line), the lineage rule 3, then 7
    # (4 steps from 3, against 1 and 2), then 5 (2 steps from 3, 5 from 7; 4 is 1 from 3).
    nodes = [NodeView(1, None, 0, 4), NodeView(2, 1, 2, 2), NodeView(3, 2, 4, 0),
             NodeView(4, 3, 4, 0), NodeView(5, 4, 4, 0), NodeView(6, 1, 1, 3),
             NodeView(7, 6, 4, 0)]
    assert finalist_ids(nodes, 3, ties="earliest") == [3, 4, 5]
    chosen = choose_finalists(nodes, 3)
    assert [f.id for f in chosen] == [3, 7, 5]
    assert "tied with nodes 4, 5, 7; the earliest" in chosen[0].why
    assert "the farthest in the tree from the finalists before it (4 steps)" in chosen[1].why
    # A better score still comes first: ties only order nodes with the same tallies.
    assert finalist_ids([*nodes, NodeView(8, 5, 5, 0)], 2) == [8, 7]


def test_a_thin_node_that_could_still_be_a_finalist_is_due_a_top_up():
    # Finalists 2 (17/20), 3 (16/20), 4 (15/20): the bar is 4's cautious score, 0.634. Node 5
    # at 2/2 ranks under it (0.556) for want of tasks but could reach it (0.944): due. Node 6
    # at 1/2 could too (0.724); node 7 at 1/4 cannot (0.512), nor node 8 (invalid), nor node 9,
    # the same agent as finalist 2 on fewer tasks.
    nodes = [NodeView(1, None, 10, 10), NodeView(2, 1, 17, 3), NodeView(3, 1, 16, 4),
             NodeView(4, 1, 15, 5), NodeView(5, 2, 2, 0), NodeView(6, 3, 1, 1),
             NodeView(7, 3, 1, 3), NodeView(8, 2, 3, 0, "invalid"), NodeView(9, 2, 1, 0)]
    trees = {n.id: f"t{n.id}" for n in nodes} | {9: "t2"}
    assert finalist_ids(nodes, 3, trees=trees) == [2, 3, 4]
    assert round(cautious_score(nodes[3]), 3) == 0.634
    assert (round(hopeful_score(nodes[4]), 3), round(hopeful_score(nodes[6]), 3)) == (0.944, 0.512)
    due = top_up_due(nodes, 3, trees=trees)
    assert [d.id for d in due] == [5, 6]
    assert due[0].why == ("2/2 validation tasks: hopeful score 0.944 above 0.634, the cautious "
                          "score of finalist 4 (15/20)")
    # Without trees node 9 is another agent, and a thin one: due as well.
    assert [d.id for d in top_up_due(nodes, 3)] == [5, 9, 6]  # 1/1: 0.902
    # Fewer agents than finalists: every one is a finalist, nothing to top up.
    assert top_up_due(nodes[:3] + nodes[4:5], 4) == []


def test_best_lineage_runs_from_the_seed_to_the_best_node():
    # 1 (1/2) -> 2 (3/4) -> 4 (4/4); 1 -> 3 (2/4): node 4 is best, its line is 1, 2, 4.
    nodes = [NodeView(1, None, 1, 1), NodeView(2, 1, 3, 1), NodeView(3, 1, 2, 2),
             NodeView(4, 2, 4, 0)]
    assert best_lineage(nodes) == (4, [1, 2, 4])
    assert best_lineage([NodeView(1, None, 0, 0, "pending")]) == (None, [])


def test_a_copy_counts_as_its_parents_expansion_and_is_never_a_parent_or_finalist():
    # Node 3 is node 2's agent: no evaluations of its own, a task "left" it must never run.
    seed, original = NodeView(1, None, 2, 2), NodeView(2, 1, 3, 1)
    copy = NodeView(3, 1, 0, 0, tasks_left=4, copy_of=2)
    nodes = [seed, original, copy]
    assert valid_children_counts(nodes) == {1: 2}  # dgm: the seed made two valid children
    assert set(dgm_weights(nodes)) == {1, 2}
    hgm = HgmSelector()
    assert evaluations_started(nodes) == 4  # the copy spent none
    assert should_expand(nodes, alpha=0.5) == (4 ** 0.5 >= 3 - 1)  # but it is in the tree
    assert {n.id for n in hgm.parent_candidates(nodes)} == {1, 2}
    rng = random.Random(0)
    assert {hgm.select_for_evaluation(nodes, rng) for _ in range(50)} <= {1, 2, None}
    for name in SELECTORS:
        assert make_selector(name).select_parent(nodes, random.Random(1)) != 3
    assert finalist_ids(nodes, 3) == [2, 1]
    assert best_lineage(nodes) == (2, [1, 2])
