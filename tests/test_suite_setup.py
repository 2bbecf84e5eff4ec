"""The suite's own set-up: each group of heavy tests (``xdist_group``) runs on one worker, so a graded course
that a module builds once (minutes of sandboxed grading) is built once, not once per worker."""
import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.xdist_group("pipeline")
def test_grouped_tests_run_on_one_worker(request):
    if not os.environ.get("PYTEST_XDIST_WORKER") or not request.config.getoption("loadgroup", False):
        pytest.skip("only meaningful in a run with pytest-xdist's --dist loadgroup (the configured default)")
    assert request.node.nodeid.endswith("@pipeline"), (
        "pytest-xdist did not apply the test's group (its node id has no @pipeline): with this pytest and "
        "pytest-xdist, --dist loadgroup spreads a group over all workers; see requirements-test.txt")


def test_ci_fails_where_no_sandbox_is_possible_instead_of_skipping_the_sandboxed_tests(tmp_path):
    """.ci/run sets COURSE_KIT_REQUIRE_SANDBOX=1: a CI machine without a usable sandbox (here: bubblewrap not on
    PATH) fails at once, saying why; without the variable, the same run goes on (the sandboxed tests skip)."""
    root = Path(__file__).resolve().parents[1]
    run = [sys.executable, "-m", "pytest", "-n", "0", "-p", "no:cacheprovider", "-q",
           "tests/test_suite_setup.py::test_grouped_tests_run_on_one_worker"]
    no_bwrap = {**os.environ, "PATH": os.path.dirname(sys.executable)}
    required = subprocess.run(run, cwd=root, capture_output=True, text=True, timeout=300,
                              env={**no_bwrap, "COURSE_KIT_REQUIRE_SANDBOX": "1"})
    assert required.returncode == 1, required.stdout + required.stderr
    assert "COURSE_KIT_REQUIRE_SANDBOX=1, but no sandbox is possible here: bwrap is not installed" in \
        required.stdout + required.stderr, required.stdout + required.stderr
    optional = subprocess.run(run, cwd=root, capture_output=True, text=True, timeout=300,
                              env={**no_bwrap, "COURSE_KIT_REQUIRE_SANDBOX": ""})
    assert optional.returncode == 0, optional.stdout + optional.stderr


def test_building_a_notebooks_namespace_leaves_no_figure_open():
    """Tests build notebook namespaces hundreds of times in one worker; each left a setup cell's picture open, and the
    21st open figure made matplotlib warn, which fails whichever test comes then (an error under filterwarnings)."""
    import matplotlib.pyplot as plt
    from notebook_namespace import definitions
    before = set(plt.get_fignums())
    definitions("lab1_initialization")
    assert set(plt.get_fignums()) <= before
