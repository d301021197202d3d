"""The run directory: everything a run needs to resume after a kill lives here.

    DIR/config.json     the resolved RunConfig (what --resume reads)
    DIR/archive.sqlite  the archive (store tables) and the model ledger, one SQLite file (WAL);
                        a run with `store = "postgresql://..."` keeps them there instead
    DIR/agents.git      bare git repository: every node is a commit on its parent's commit
    DIR/agents/         exported agent folders, one per commit (a cache; safe to delete)
    DIR/nodes/<id>/     per node: improve/ (the implementation's trajectory), eval/<split>/
    DIR/live.json       what is in flight right now (rewritten while the run is alive)
    DIR/report.json     the final report (validation and held-out scores of the finalists)
"""

from __future__ import annotations

import json
import os
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentforge.errors import ConfigError
from agentforge.evolve.config import RunConfig, build_config, merge, parse_overrides
from agentforge.store import SqlStore
from agentforge.store.repo import AgentRepo


@dataclass
class RunDir:
    """Paths of one run directory."""

    path: Path

    def __post_init__(self) -> None:
        self.path = Path(self.path).resolve()

    @property
    def config_file(self) -> Path:
        return self.path / "config.json"

    @property
    def database(self) -> Path:
        return self.path / "archive.sqlite"

    @property
    def repo(self) -> Path:
        return self.path / "agents.git"

    @property
    def agents(self) -> Path:
        return self.path / "agents"

    @property
    def live_file(self) -> Path:
        return self.path / "live.json"

    @property
    def report_file(self) -> Path:
        return self.path / "report.json"

    def node_dir(self, node_id: int | str) -> Path:
        """Files of one node (trajectories, logs)."""
        return self.path / "nodes" / str(node_id)

    def exists(self) -> bool:
        """Whether a run was started here."""
        return self.config_file.is_file() and (self.database.is_file()
                                               or self.store_url != str(self.database))

    @property
    def store_url(self) -> str:
        """The archive's database: the config's `store` URL, else the SQLite file here."""
        try:
            saved = json.loads(self.config_file.read_text()).get("store")
        except (OSError, ValueError):
            saved = None
        return saved or str(self.database)

    def open_store(self) -> SqlStore:
        """The run's archive database."""
        return SqlStore.open(self.store_url)

    def open_repo(self) -> AgentRepo:
        """The run's agent repository (created if missing)."""
        return AgentRepo.init(self.repo)

    def run_id(self, store: SqlStore) -> str:
        """The id of the run this directory holds."""
        runs = store.list_runs()
        if not runs:
            raise ConfigError(f"{self.path} holds no run yet: start one with "
                              "agentforge evolve --config FILE --run-dir DIR")
        return runs[0].id

    def save_config(self, config: RunConfig) -> None:
        """Write the resolved config (atomically)."""
        write_json(self.config_file, config.model_dump(mode="json"))

    def load_config(self, overrides: list[str] = ()) -> RunConfig:
        """The run's config, with overrides (e.g. a bigger budget) applied on top."""
        if not self.config_file.is_file():
            raise ConfigError(f"{self.path} is not a run directory (no config.json): start a "
                              "run with agentforge evolve --config FILE --run-dir DIR")
        extra = parse_overrides(list(overrides))
        data = merge(json.loads(self.config_file.read_text()), extra)
        return build_config(data, str(self.config_file), extra)

    def read_live(self) -> dict[str, Any]:
        """The last snapshot of work in flight ({} if none)."""
        try:
            return json.loads(self.live_file.read_text())
        except (OSError, ValueError):
            return {}


def new_run_id(path: Path) -> str:
    """A readable, unique run id: the directory name plus a random suffix."""
    stem = "".join(c if c.isalnum() or c in "-_" else "-" for c in path.resolve().name)[:40]
    return f"{stem or 'run'}-{secrets.token_hex(3)}"


def write_json(path: Path, data: Any) -> None:
    """Write JSON atomically (a kill leaves the old file or the new one, never half)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "w") as handle:
        json.dump(data, handle, indent=2, default=str)
    os.replace(tmp, path)
