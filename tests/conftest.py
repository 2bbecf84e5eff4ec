"""Test-session setup shared by the notebook and pipeline tests."""
import os

import pytest

from cifar_archive import write_fake_cifar10


@pytest.fixture(scope="session", autouse=True)
def fake_cifar10(tmp_path_factory):
    """A small CIFAR-10 archive in the official format, pre-staged as instructors do (COURSE_DATA_DIR).

    CIFAR-10 cannot be downloaded here; kernels and grading workers started by the tests inherit
    the variable, so Lab 5 loads this archive through the same code path as the real one.
    """
    folder = tmp_path_factory.mktemp("cifar10")
    write_fake_cifar10(folder, n_per_batch=400, n_test=400, seed=0, form="archive")
    previous = os.environ.get("COURSE_DATA_DIR")
    os.environ["COURSE_DATA_DIR"] = str(folder)
    yield folder
    if previous is None:
        os.environ.pop("COURSE_DATA_DIR", None)
    else:
        os.environ["COURSE_DATA_DIR"] = previous
