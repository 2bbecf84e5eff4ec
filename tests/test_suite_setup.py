"""The suite's own set-up: each group of heavy tests (``xdist_group``) runs on one worker, so a graded course
that a module builds once (minutes of sandboxed grading) is built once, not once per worker."""
import os

import pytest


@pytest.mark.xdist_group("pipeline")
def test_grouped_tests_run_on_one_worker(request):
    if not os.environ.get("PYTEST_XDIST_WORKER") or not request.config.getoption("loadgroup", False):
        pytest.skip("only meaningful in a run with pytest-xdist's --dist loadgroup (the configured default)")
    assert request.node.nodeid.endswith("@pipeline"), (
        "pytest-xdist did not apply the test's group (its node id has no @pipeline): with this pytest and "
        "pytest-xdist, --dist loadgroup spreads a group over all workers; see requirements-test.txt")
