"""Test-session setup shared by the notebook and pipeline tests."""
import os
import shutil
import tempfile
from pathlib import Path

from autograder.capacity import shared_cores
from autograder.legacy_locale import names_in_legacy_encoding, run_again_in_utf8_mode

# Each pytest-xdist worker and the kernels its tests start get the worker's share of the cores for matrix products,
# as each grading worker does: two workers' kernels each taking every core slow both down (Lab 6's notebook ran 17 s
# beside another instead of 9 s). Set in the workers (which inherit the environment of the process that starts
# them), before NumPy loads; a value set by hand is kept.
if "PYTEST_XDIST_WORKER" in os.environ:
    for _name, _threads in shared_cores(int(os.environ["PYTEST_XDIST_WORKER_COUNT"])).items():
        os.environ.setdefault(_name, _threads)

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import locales as server_locales  # noqa: E402
from course_data import stage_course_data  # noqa: E402
from course_utils.gradcheck import GRADIENT_TOLERANCE, gradient_error  # noqa: E402


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    """On a server whose locale is not UTF-8 (es_CO.ISO-8859-1), the tests run again in Python's UTF-8 mode, as the
    kit's commands do there, so that the kit's code they call in this process reads and writes what the commands
    would, and the Python processes they start write UTF-8, as the tests read it. pytest's capture of the terminal ends
    first, so that the new run's output is seen. Processes that the tests start in such a locale on purpose set their
    own variables (``locales``)."""
    if names_in_legacy_encoding():
        if (capture := config.pluginmanager.getplugin("capturemanager")) is not None:
            capture.stop_global_capturing()
        run_again_in_utf8_mode(terminal_in_locale=False)


def pytest_sessionstart(session):
    """With COURSE_KIT_REQUIRE_SANDBOX=1 (``.ci/run`` sets it), a machine where graded kernels cannot be sandboxed
    fails the run at once, saying why, instead of passing with every sandboxed test skipped."""
    from autograder.sandbox import sandbox_problem
    if os.environ.get("COURSE_KIT_REQUIRE_SANDBOX") == "1" and (problem := sandbox_problem()):
        pytest.exit(f"COURSE_KIT_REQUIRE_SANDBOX=1, but no sandbox is possible here: {problem}", returncode=1)


@pytest.fixture(scope="session", autouse=True)
def course_data():
    """CIFAR-10 and MNIST stand-ins in the official formats (``course_data.stage_course_data``), pre-staged as
    instructors do (COURSE_DATA_DIR), so that grading moves data of the size a graded lab loads.

    Kernels and grading workers started by the tests inherit the variable, so Labs 5 and 6 load these files
    through the same code path as the real ones.
    """
    folder = stage_course_data(Path(tempfile.mkdtemp(prefix="course-kit-data-")))
    previous = os.environ.get("COURSE_DATA_DIR")
    os.environ["COURSE_DATA_DIR"] = str(folder)
    yield folder
    if previous is None:
        os.environ.pop("COURSE_DATA_DIR", None)
    else:
        os.environ["COURSE_DATA_DIR"] = previous
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def assert_gradient_close():
    """Check an analytic gradient against a float64 centred-difference one by the one criterion of the
    notebooks, ``check_gradient`` and the hidden checks: ``gradient_error`` at most ``GRADIENT_TOLERANCE``.
    """
    def check(analytic, numerical, name="gradient"):
        assert np.shape(analytic) == np.shape(numerical), f"{name}: shape {np.shape(analytic)} != {np.shape(numerical)}"
        error = gradient_error(analytic, numerical)
        assert error <= GRADIENT_TOLERANCE, f"{name}: gradient_error {error:.2e} > {GRADIENT_TOLERANCE:g}"
    return check


@pytest.fixture(scope="session")
def locales(tmp_path_factory):
    """encoding -> the environment variables of a process whose locale has that encoding (``locales.build``: a
    server's locale that is not UTF-8). Without glibc's localedef and its data, the tests that use it skip, saying so
    (Debian's ``locales`` package, which ``.ci/run`` installs)."""
    if not shutil.which("localedef") or not Path("/usr/share/i18n/locales/es_CO").is_file():
        pytest.skip("glibc's localedef and its locale data are needed (Debian: apt-get install locales)")
    return server_locales.build(tmp_path_factory.mktemp("locales"))
