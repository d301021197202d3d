"""`dgm` and `hgm`: agents of the Darwin Gödel Machine (jennyzzt/dgm) and the Huxley-Gödel
Machine (metauto-ai/HGM), run with the command line their own harnesses use.

    python AGENT/coding_agent.py --problem_statement TEXT --git_dir REPO
        --base_commit COMMIT --chat_history_file OUT/chat_history.md --outdir OUT
        --test_description TEXT [--self_improve]                        (dgm)
        ... --model NAME --timeout SECONDS                              (hgm adds)

The agent edits the repository in place and writes OUT/model_patch.diff and its chat history;
the framework takes the repository's diff as the patch, not the agent's file (what the agent
writes is not trusted) and keeps OUT as the run's trajectory folder. Their clients reach the
model with `openai.OpenAI()`, which reads OPENAI_BASE_URL and OPENAI_API_KEY: the gateway and
the per-sandbox token. DGM names its model in llm_withtools.py; HGM takes `--model`, which
its llm.py sends to the OpenAI client only for names with "gpt" (or starting with "o"), so
another model's name is passed as `gpt@NAME`; for such names HGM's llm_withtools.py calls
the Responses API, which the gateway and the scripted model also serve
(llm/responses_api.py). The gateway answers every request with the run's agent model
whatever name it carries. DGM's published agent asks Claude on Bedrock (Anthropic's
Messages API), which the gateway does not serve.

A self-modification is asked the way those systems ask it: the repository is a copy of the
agent's own code, the problem statement the change to make, `--self_improve` set and the
test description saying how to run its own tests. Their own tests are their pytest suites.
"""

from __future__ import annotations

from pathlib import Path

from agentforge.contracts.spec import AgentCall, AgentError, AgentSpec, ModelAccess

ENTRY_FILE = "coding_agent.py"
CHAT_HISTORY = "chat_history.md"
SELF_TEST_DESCRIPTION = (
    "The repository is the coding agent's own source. Its tests run with the bash command "
    "`cd {repo} && python -m pytest -rA <specific test files>` (all tests without file "
    "names). Test the tools and utilities; do not start the agent's forward() itself: it "
    "would call the model.")
TASK_TEST_DESCRIPTION = ("Run the repository's own tests, if it has any, to check the change "
                         "before you finish.")


class DgmContract:
    """DGM's command line; `hgm` adds --model and --timeout."""

    def __init__(self, name: str) -> None:
        self.name = name

    def load(self, folder: Path, declared: dict) -> AgentSpec:
        if not (folder / ENTRY_FILE).is_file():
            raise AgentError(f"{folder} has no {ENTRY_FILE}: a {self.name.upper()} agent is "
                             f"the {self.name.upper()} checkout's agent files (coding_agent.py, "
                             "llm_withtools.py, tools/, utils/, tests/), e.g. a node of an "
                             f"imported {self.name.upper()} run or its export")
        fields = {key: value for key, value in declared.items()
                  if key in ("name", "description", "contract")}
        fields.setdefault("name", f"{self.name}-agent")
        fields.setdefault("description", f"{self.name.upper()} coding agent ({ENTRY_FILE})")
        return AgentSpec(**{**fields, "contract": self.name}, entry=ENTRY_FILE[:-3],
                         path=folder)

    def command(self, spec: AgentSpec, call: AgentCall) -> list[str]:
        tests = (SELF_TEST_DESCRIPTION.format(repo=call.repo) if call.self_edit
                 else TASK_TEST_DESCRIPTION)
        command = ["python", f"{call.agent_dir}/{ENTRY_FILE}",
                   "--problem_statement", call.problem, "--git_dir", call.repo,
                   "--base_commit", call.base_commit,
                   "--chat_history_file", f"{call.out_dir}/{CHAT_HISTORY}",
                   "--outdir", call.out_dir, "--test_description", tests]
        if call.self_edit:
            command.append("--self_improve")
        if self.name == "hgm":
            command += ["--model", hgm_model_name(call.model),
                        "--timeout", str(max(1, int(call.timeout)))]
        return command

    def model_env(self, spec: AgentSpec, access: ModelAccess) -> dict[str, str]:
        return access.openai_env()

    def test_command(self, spec: AgentSpec) -> list[str] | None:
        return None

    def how_to_run(self, spec: AgentSpec) -> str:
        extra = " --model NAME --timeout SECONDS" if self.name == "hgm" else ""
        return (f"python {ENTRY_FILE} --problem_statement TEXT --git_dir DIR --base_commit "
                f"COMMIT --chat_history_file FILE --outdir DIR --test_description TEXT "
                f"[--self_improve]{extra}")


def hgm_model_name(model: str) -> str:
    """A name HGM's llm.py sends to its OpenAI client (the one that reads the environment)."""
    if "gpt" in model or model.startswith("o"):
        return model
    return f"gpt@{model or 'agentforge'}"

