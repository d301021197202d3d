"""Start pytest for the grader: no working directory on sys.path, the guard plugin first.

With AGENTFORGE_STRICT_EQUALITY=1 (the grader's runs) the tests' equality assertions are
made strict first (strict_compare.py), so the guard's fingerprint covers them too.
"""

import os
import sys

sys.path.insert(0, "/task/grading")
import pytest  # noqa: E402  - imported before the repository is on sys.path

if os.environ.pop("AGENTFORGE_STRICT_EQUALITY", None) == "1":
    import strict_compare

    strict_compare.install()
import pytest_guard  # noqa: E402

sys.exit(pytest.main(sys.argv[1:], plugins=[pytest_guard]))
