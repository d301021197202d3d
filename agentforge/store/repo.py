"""The run's agent repository: every node is a commit whose parent commit is its parent node's.

The repository is bare and every operation goes through a private index file, so several
self-improvement workers can create children at the same time without a shared worktree.
"""

from __future__ import annotations

import io
import os
import tarfile
import tempfile
from pathlib import Path

import git

from agentforge.host_commands import ctrl_c_held
from agentforge.store.errors import MergeConflict, PatchDoesNotApply, StoreError

# Never commit byte code or local environments that a test run may leave in an agent folder.
_EXCLUDES = "__pycache__/\n*.pyc\n.pytest_cache/\n.venv/\n*.egg-info/\n"
_IDENTITY = {
    "GIT_AUTHOR_NAME": "agentforge",
    "GIT_AUTHOR_EMAIL": "agentforge@localhost",
    "GIT_COMMITTER_NAME": "agentforge",
    "GIT_COMMITTER_EMAIL": "agentforge@localhost",
}
_KEEP_PREFIX = "refs/agentforge/"


class AgentRepo:
    """A bare git repository holding every agent of one run."""

    def __init__(self, path: str | Path) -> None:
        # Absolute: git commands run with other working trees, where a relative
        # --git-dir would point elsewhere.
        self.path = Path(path).resolve()
        if not (self.path / "HEAD").exists():
            raise StoreError(
                f"{self.path} is not an agent repository: create it with AgentRepo.init"
            )
        self.repo = git.Repo(self.path)

    @classmethod
    def init(cls, path: str | Path) -> AgentRepo:
        """Create the repository at `path` (or open it if it is already there)."""
        path = Path(path)
        if not (path / "HEAD").exists():
            path.mkdir(parents=True, exist_ok=True)
            git.Repo.init(path, bare=True)
            (path / "info").mkdir(exist_ok=True)
            (path / "info" / "exclude").write_text(_EXCLUDES)
        return cls(path)

    def _git(self, *args: str, index: Path | None = None, work_tree: Path | None = None) -> str:
        env = dict(_IDENTITY)
        if index is not None:
            env["GIT_INDEX_FILE"] = str(index)
        command = ["git", f"--git-dir={self.path}"]
        if work_tree is not None:
            command.append(f"--work-tree={work_tree}")
        # Out of a terminal's Ctrl-C (host_commands.py): it asks the run to finish its work in
        # flight, which must not kill the git command doing that work.
        with ctrl_c_held():
            return self.repo.git.execute([*command, *args], env=env,
                                         strip_newline_in_stdout=False, start_new_session=True)

    def _commit_index(self, index: Path, parent: str | None, message: str) -> str:
        tree = self._git("write-tree", index=index).strip()
        parents = ["-p", parent] if parent else []
        sha = self._git("commit-tree", tree, *parents, "-m", message).strip()
        # A ref per commit keeps it safe from garbage collection; the database holds the sha.
        self._git("update-ref", f"{_KEEP_PREFIX}{sha}", sha)
        return sha

    def commit_folder(self, folder: str | Path, message: str = "seed agent") -> str:
        """Commit the contents of `folder` as a root commit (the seed) and return its sha."""
        folder = Path(folder).resolve()
        if not folder.is_dir():
            raise StoreError(f"seed folder {folder} does not exist: pick a folder of archive/")
        with tempfile.TemporaryDirectory(prefix="agentforge-index-") as tmp:
            index = Path(tmp) / "index"
            self._git("add", "--all", "--", ".", index=index, work_tree=folder)
            return self._commit_index(index, None, message)

    def create_child(self, parent: str, patch: str, message: str = "child agent") -> str:
        """Apply `patch` (a git diff) to `parent`'s tree, commit it on `parent`, return the sha.

        An empty patch gives a commit with the parent's tree: the caller decides whether a
        change that changed nothing is acceptable.
        """
        self.resolve(parent)
        with tempfile.TemporaryDirectory(prefix="agentforge-index-") as tmp:
            index = Path(tmp) / "index"
            self._git("read-tree", parent, index=index)
            if patch.strip():
                patch_file = Path(tmp) / "change.patch"
                patch_file.write_text(patch if patch.endswith("\n") else patch + "\n")
                try:
                    self._git(
                        "apply", "--cached", "--whitespace=nowarn", str(patch_file), index=index
                    )
                except git.GitCommandError as exc:
                    detail = (exc.stderr or "").strip().removeprefix("stderr: ").strip("'\n ")
                    raise PatchDoesNotApply(
                        f"the patch does not apply to commit {parent[:12]}: {detail}; "
                        "regenerate it against the parent's code"
                    ) from exc
            return self._commit_index(index, parent, message)

    def create_child_files(self, parent: str, files: dict[str, str],
                           message: str = "child agent") -> str:
        """Commit `parent`'s tree with these files' contents replaced (paths relative)."""
        self.resolve(parent)
        with tempfile.TemporaryDirectory(prefix="agentforge-index-") as tmp:
            index = Path(tmp) / "index"
            self._git("read-tree", parent, index=index)
            for path, content in files.items():
                blob_file = Path(tmp) / "blob"
                blob_file.write_text(content)
                blob = self._git("hash-object", "-w", str(blob_file)).strip()
                self._git("update-index", "--add", "--cacheinfo", f"100644,{blob},{path}",
                          index=index)
            return self._commit_index(index, parent, message)

    def merge_tree(self, first: str, second: str) -> tuple[str, list[str]]:
        """git's three-way merge of two commits: the merged tree (conflicting files hold
        conflict markers) and the conflicting files (empty: a clean merge)."""
        first, second = self.resolve(first), self.resolve(second)
        try:
            out = self._git("merge-tree", "--write-tree", "--name-only", "--no-messages",
                            first, second)
        except git.GitCommandError as exc:
            if exc.status != 1:  # 1 = conflicts; anything else is git itself failing
                raise
            out = (exc.stdout or "").strip().removeprefix("stdout:").strip()
        lines = [line.strip(" '") for line in out.splitlines() if line.strip(" '")]
        return lines[0], sorted(set(lines[1:]))

    def commit_merge(self, tree: str, parents: list[str], message: str,
                     files: dict[str, str] | None = None) -> str:
        """Commit `tree` (with `files` replaced) on `parents`; the first is the node's parent."""
        with tempfile.TemporaryDirectory(prefix="agentforge-index-") as tmp:
            index = Path(tmp) / "index"
            self._git("read-tree", tree, index=index)
            for path, content in (files or {}).items():
                blob_file = Path(tmp) / "blob"
                blob_file.write_text(content)
                blob = self._git("hash-object", "-w", str(blob_file)).strip()
                self._git("update-index", "--add", "--cacheinfo", f"100644,{blob},{path}",
                          index=index)
            tree = self._git("write-tree", index=index).strip()
        args = [a for p in parents for a in ("-p", self.resolve(p))]
        sha = self._git("commit-tree", tree, *args, "-m", message).strip()
        self._git("update-ref", f"{_KEEP_PREFIX}{sha}", sha)
        return sha

    def merge_child(self, first: str, second: str, message: str = "crossover") -> str:
        """Apply `second`'s changes since the common ancestor onto `first` (git's three-way
        merge); commit the result on `first` (and `second`), or raise MergeConflict."""
        tree, conflicts = self.merge_tree(first, second)
        if conflicts:
            raise MergeConflict(f"the changes of {second[:12]} conflict with {first[:12]} in "
                                f"{', '.join(conflicts)}", conflicts)
        return self.commit_merge(tree, [first, second], message)

    def merge_base(self, first: str, second: str) -> str | None:
        """The common ancestor of two commits (None if they share none)."""
        try:
            return self._git("merge-base", first, second).strip() or None
        except git.GitCommandError:
            return None

    def read_file(self, commit: str, path: str) -> str | None:
        """A file's text at `commit` (None if it has no such file)."""
        try:
            return self._git("show", f"{commit}:{path}")
        except git.GitCommandError:
            return None

    def tree_of(self, commit: str) -> str:
        """The tree sha of `commit` (equal trees: equal agents)."""
        return self._git("rev-parse", f"{commit}^{{tree}}").strip()

    def trees_of(self, commits: list[str]) -> dict[str, str]:
        """The tree sha of each commit, in one git call."""
        unique = list(dict.fromkeys(commits))
        if not unique:
            return {}
        trees = self._git("rev-parse", *(f"{c}^{{tree}}" for c in unique)).split()
        return dict(zip(unique, trees, strict=True))

    def resolve(self, commit: str) -> str:
        """The full sha of `commit`, or a StoreError if the repository does not have it."""
        try:
            return self._git("rev-parse", "--verify", f"{commit}^{{commit}}").strip()
        except git.GitCommandError as exc:
            raise StoreError(
                f"commit {commit!r} is not in the agent repository {self.path}"
            ) from exc

    def has_commit(self, commit: str) -> bool:
        """Whether the repository holds this commit."""
        try:
            self.resolve(commit)
        except StoreError:
            return False
        return True

    def parent_of(self, commit: str) -> str | None:
        """The parent commit of `commit` (None for the seed)."""
        parents = self._git("rev-list", "--parents", "-n", "1", commit).split()
        return parents[1] if len(parents) > 1 else None

    def patch(self, commit: str) -> str:
        """The node's patch: the diff from its parent commit (the seed: from the empty tree)."""
        parent = self.parent_of(commit)
        if parent is None:
            empty_tree = self._git("hash-object", "-t", "tree", os.devnull).strip()
            return self._git("diff", "--binary", empty_tree, commit)
        return self._git("diff", "--binary", parent, commit)

    def export(self, commit: str, dest: str | Path) -> Path:
        """Write the tree of `commit` into `dest` (created; must be empty or absent)."""
        dest = Path(dest)
        if dest.exists() and any(dest.iterdir()):
            raise StoreError(f"export target {dest} is not empty: pick an empty or new directory")
        dest.mkdir(parents=True, exist_ok=True)
        buffer = io.BytesIO()
        with ctrl_c_held():  # its `git archive` too (host_commands.py)
            self.repo.archive(buffer, self.resolve(commit), format="tar")
        buffer.seek(0)
        with tarfile.open(fileobj=buffer) as archive:
            archive.extractall(dest, filter="data")
        return dest
