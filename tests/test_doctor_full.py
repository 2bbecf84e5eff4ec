"""``python -m autograder doctor LAB --full``: the lab's own solution run as a student runs it, on all its data.

Lab 5 runs on the small CIFAR-10 archive in the official format that the test session stages
(COURSE_DATA_DIR), through the same code path as the real data set.
"""
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograder.course import Course
from autograder.doctor import full_run
from cifar_archive import write_fake_cifar10

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_lab5_full_run_reports_the_recipes_test_accuracy_and_time(tmp_path, monkeypatch):
    # a CIFAR-10 of 1,000 training images in the official format, all used by a full run (the test session's
    # 5,000, from tests/conftest.py, go through the same notebook in full in test_notebooks_run.py)
    write_fake_cifar10(tmp_path, n_per_batch=200, n_test=200, seed=1, form="archive")
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path))
    report, ok = full_run(Course(ROOT), "lab5_cifar10_mlp")
    assert ok, report
    assert re.search(r"\[ok\] all \d+ code cells ran without an error in \d+ s", report), report
    recipe = next(line for line in report.splitlines() if line.strip().startswith("9. Reaching 50%"))
    assert re.search(r"1000 training images, 15 epochs in \d+ s .*test accuracy \d+\.\d%$", recipe), recipe


@pytest.mark.slow
def test_a_full_run_that_fails_names_the_cell_and_the_error(tmp_path, capfd):
    lab = "lab1_initialization"
    for part in ("source", "release"):
        shutil.copytree(ROOT / part / lab, tmp_path / part / lab)
    shutil.copy(ROOT / "nbgrader_config.py", tmp_path)
    path = tmp_path / "source" / lab / f"{lab}.ipynb"
    nb = nbformat.read(path, as_version=4)
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution") and c.cell_type == "code")
    cell.source = "raise RuntimeError('the data folder is empty')"
    nbformat.write(nb, path)
    report, ok = full_run(Course(tmp_path), lab)
    assert not ok
    index = nb.cells.index(cell)  # named as a reader counts cells, from 1, with its grade id
    assert f"[PROBLEM] cell {index + 1} ({cell.metadata.nbgrader.grade_id}) stopped with RuntimeError: the data folder " \
           "is empty" in report, report
    assert "Kernel is running over TCP without encryption" not in capfd.readouterr().err  # its own unix sockets


@pytest.mark.slow
def test_a_full_run_without_the_data_tells_the_instructor_where_to_put_it(tmp_path, monkeypatch):
    """Not the loader's message for students ("ask the course staff where their pre-staged copy is")."""
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path))  # empty, as is the cache folder
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    report, ok = full_run(Course(ROOT), "lab6_optimizers")
    assert not ok
    assert re.search(r"\[PROBLEM\] cell \d+ stopped with ConnectionError: Could not download MNIST: [^\n]*"
                     r"\(after \d+ s\)\n  lab6_optimizers needs MNIST, and this run did not find it\. Put the four "
                     r"MNIST files train-images-idx3-ubyte\.gz, .* in a folder readable by every user and set "
                     r"COURSE_DATA_DIR to it, e\.g\. COURSE_DATA_DIR=/srv/data python -m autograder .*doctor "
                     r"lab6_optimizers --full", report), report
    assert "course staff" not in report
    assert not kernels_of_this_process()  # the run stopped its kernel (it was left running until this process ended)


def kernels_of_this_process() -> list[str]:
    """The command lines of this process's children that are Jupyter kernels."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            command = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, IndexError, ValueError):  # it ended meanwhile
            continue
        if parent == os.getpid() and "ipykernel" in command:
            found.append(command)
    return found


def test_full_without_a_lab_says_which_lab_to_name():
    done = subprocess.run([sys.executable, "-m", "autograder", "--root", str(ROOT), "doctor", "--full"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "doctor --full needs a lab" in done.stderr
