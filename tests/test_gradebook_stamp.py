"""A new gradebook gets the schema version nbgrader's own way would give it, read in-process (autograder.release)."""
import sqlite3
from pathlib import Path

import pytest

from autograder import release
from autograder.course import Course
from autograder.demo import scratch_course

pytestmark = pytest.mark.slow


def test_the_in_process_schema_version_is_the_one_alembic_heads_prints(tmp_path):
    assert release._alembic_head() == release._run_alembic_heads()


def test_a_gradebook_made_by_release_is_stamped_with_it(tmp_path):
    course = scratch_course(Course(Path(__file__).resolve().parents[1]), tmp_path / "course",
                            ["lab1_initialization"])
    release.generate(course, "lab1_initialization")
    with sqlite3.connect(tmp_path / "course" / "gradebook.db") as db:
        assert db.execute("SELECT version_num FROM alembic_version").fetchall() == [(release._alembic_head(),)]
