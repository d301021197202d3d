"""The toolchains image's warm Go cache (sandboxes/toolchains: `go` seeds an empty GOCACHE
from /opt/go-cache) under attack, as an evolved agent would try it: change the seed or the
`go` every later sandbox runs, or hand in a solution that only vet rejects, whose verdict
then rests on the standard library's vet facts taken from the seed."""

from __future__ import annotations

import pytest

from agentforge.bench import get_benchmark
from agentforge.bench.grading import grade_in_sandbox
from agentforge.bench.task import Outcome, Prediction
from agentforge.sandbox import Sandbox, SandboxConfig

DIGEST = "cd {0} && find . -type f | sort | xargs sha256sum | sha256sum"


@pytest.mark.docker
def test_no_sandbox_can_change_the_seed_or_the_go_that_copies_it(toolchains_image):
    with Sandbox(SandboxConfig(image=toolchains_image)) as box:
        pristine = box.exec(["sh", "-c", DIGEST.format("/opt/go-cache")]).output
        for attack in ("touch /opt/go-cache/planted",
                       "rm -rf /opt/go-cache/*",
                       "cp /bin/true /usr/local/bin/go",
                       "chmod u+w /opt/go-cache"):
            done = box.exec(["sh", "-c", attack])
            assert not done.ok, f"{attack!r} succeeded: {done.output}"
        assert box.exec(["sh", "-c", DIGEST.format("/opt/go-cache")]).output == pristine
    with Sandbox(SandboxConfig(image=toolchains_image)) as fresh:
        assert fresh.exec(["go", "version"]).ok
        assert fresh.exec(["sh", "-c", DIGEST.format("/tmp/go-cache")]).output == pristine


@pytest.mark.docker
def test_a_solution_only_vet_rejects_fails_with_the_seeded_cache(toolchains_image):
    # The reference solution with one line changed, keeping the lines count: the same
    # behaviour, but a Sprintf whose argument does not match its verb. Plain `go test` runs
    # vet first and fails it; vet knows Sprintf's format only from fmt's facts, which the
    # seeded cache holds.
    task = get_benchmark("local").task("go-exercise-word-wrap")
    reference = task.reference_patch
    assert '+import "strings"' in reference and '+\t\tpanic("width must be at least 1")' \
        in reference
    vetted = reference.replace('+import "strings"', '+import ("fmt"; "strings")').replace(
        '+\t\tpanic("width must be at least 1")', '+\t\tpanic(fmt.Sprintf("%d", "x"))')
    graded = grade_in_sandbox(task, Prediction(instance_id=task.instance_id,
                                               model_patch=vetted))
    assert graded.outcome is Outcome.UNRESOLVED, graded.reason + graded.test_output
    assert "Sprintf format %d has arg" in graded.test_output, graded.test_output
