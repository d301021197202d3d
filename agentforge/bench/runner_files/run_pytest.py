"""Start pytest for the grader: no working directory on sys.path, the guard plugin first."""

import sys

sys.path.insert(0, "/task/grading")
import pytest  # noqa: E402  - imported before the repository is on sys.path
import pytest_guard  # noqa: E402

sys.exit(pytest.main(sys.argv[1:], plugins=[pytest_guard]))
