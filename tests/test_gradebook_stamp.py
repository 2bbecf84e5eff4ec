"""A new gradebook gets the schema version nbgrader's own way would give it, read in-process
(autograder.gradebook_schema), also where the environment's commands are not on PATH."""
import contextlib
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from autograder import gradebook_schema, release
from autograder.course import Course
from autograder.demo import scratch_course
from autograder.sandbox import sandbox_problem

pytestmark = pytest.mark.slow
KIT = Course(Path(__file__).resolve().parents[1])


def test_the_in_process_schema_version_is_the_one_alembic_heads_prints(monkeypatch):
    # nbgrader's way runs the `alembic` command: found as in an activated environment
    monkeypatch.setenv("PATH", os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
    assert gradebook_schema.alembic_head() == gradebook_schema.alembic_heads_command()


def test_a_gradebook_made_by_release_is_stamped_with_it(tmp_path):
    course = scratch_course(KIT, tmp_path / "course", ["lab1_initialization"])
    release.generate(course, "lab1_initialization")
    with contextlib.closing(sqlite3.connect(tmp_path / "course" / "gradebook.db")) as db:
        assert db.execute("SELECT version_num FROM alembic_version").fetchall() == [(gradebook_schema.alembic_head(),)]


@pytest.mark.parametrize("command", [["grade", "lab1_initialization"], ["release", "lab1_initialization"]])
def test_commands_that_make_a_new_gradebook_need_no_activated_environment(tmp_path, command):
    """`venv/bin/python -m autograder ...` run by its full path: the environment's commands (alembic's among
    them) are not on PATH, and nbgrader's own way to stamp a new gradebook would fail for want of them."""
    course = scratch_course(KIT, tmp_path / "course", ["lab1_initialization"])
    env = {**os.environ, "PATH": os.defpath}
    unsafe = ["--unsafe-no-sandbox"] if command[0] == "grade" and sandbox_problem() else []  # to reach the gradebook
    result = subprocess.run([sys.executable, "-m", "autograder", "--root", str(course.root), *command, *unsafe],
                            env=env, capture_output=True, text=True, timeout=300)
    assert "Traceback" not in result.stderr, result.stderr
    if command[0] == "grade":  # the lab was never released: said so, not a crash
        assert result.returncode != 0 and "has not been released" in result.stderr
    else:
        assert result.returncode == 0 and course.release_notebook("lab1_initialization").is_file(), result.stdout
    with contextlib.closing(sqlite3.connect(course.root / "gradebook.db")) as db:
        assert db.execute("SELECT version_num FROM alembic_version").fetchall() == [(gradebook_schema.alembic_head(),)]
