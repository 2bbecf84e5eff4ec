"""Test-session setup shared by the notebook and pipeline tests."""
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest

from cifar_archive import write_fake_cifar10
from mnist_files import write_fake_mnist
from course_utils.gradcheck import GRADIENT_TOLERANCE, gradient_error


@pytest.fixture(scope="session", autouse=True)
def fake_cifar10():
    """A CIFAR-10 archive in the official format, pre-staged as instructors do (COURSE_DATA_DIR).

    It holds 5,000 training and 1,000 test images, as many as a graded Lab 5 loads from the real one,
    so that grading moves data of the real size (the real set is ten times larger in a student's run).

    CIFAR-10 cannot be downloaded here; kernels and grading workers started by the tests inherit
    the variable, so Lab 5 loads this archive through the same code path as the real one. Like a
    real shared data folder it is readable by everyone (sandboxed kernels run as another user),
    which pytest's own temporary folders are not.
    """
    folder = Path(tempfile.mkdtemp(prefix="course-kit-cifar10-"))
    folder.chmod(0o755)
    write_fake_cifar10(folder, n_per_batch=1000, n_test=1000, seed=0, form="archive")
    previous = os.environ.get("COURSE_DATA_DIR")
    os.environ["COURSE_DATA_DIR"] = str(folder)
    yield folder
    if previous is None:
        os.environ.pop("COURSE_DATA_DIR", None)
    else:
        os.environ["COURSE_DATA_DIR"] = previous
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session", autouse=True)
def fake_mnist(fake_cifar10):
    """A fake MNIST in the same pre-staged folder (``COURSE_DATA_DIR/mnist/``), so Lab 6 loads it as the real one.

    ``load_mnist`` accepts only files of the official sizes (a fake ``.gz`` cannot have the official MD5),
    so these are the four files uncompressed, with the official counts (60,000 and 10,000 images of
    random pixels and labels, 55 MB, written in well under a second); the notebooks use a few thousand.
    """
    folder = fake_cifar10 / "mnist"
    write_fake_mnist(folder, n_train=60_000, n_test=10_000, seed=0, form="raw")
    folder.chmod(0o755)
    for path in folder.iterdir():
        path.chmod(0o644)
    return folder


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
