"""Hand grades saved while the student's notebook is regraded (deadline day: teaching assistants grade written
answers in the formgrader while the instructor grades late work or runs ``grade --force``).

A grader's save lands while the notebook runs, after ``grade`` read the submission's grades and before nbgrader's
autograde saves its scores (which marks every cell with a hand score for review again). So that it lands there every
time, the notebook's last cell makes the save itself, as the formgrader does, through nbgrader's Gradebook API: the
notebook is graded without the sandbox (which would keep it from the gradebook), once a file the test writes asks
for it. What an instructor relies on: a score given meanwhile counts, and an answer whose score was cleared
meanwhile waits for a grader instead of counting as 0.
"""
import csv
import io
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from autograder.course import Course
from autograder.export import export
from autograder.grade import grade
from autograder.submissions import solved, submit
from released import released_course

KIT = Course(Path(__file__).resolve().parents[1])
LAB = "lab1_initialization"
STUDENT = "dana"
pytestmark = pytest.mark.slow

GRADER_SAVES = """\
import pathlib
if pathlib.Path({signal!r}).exists():  # the test asks for a grader's saves now, while this notebook is regraded
    from nbgrader.api import Gradebook
    with Gradebook({url!r}) as gb:
        given = gb.find_grade("reflect_symmetry", {lab!r}, {lab!r}, {student!r})  # graded for the first time
        given.manual_score, given.needs_manual_grade = 2.0, False
        cleared = gb.find_grade("reflect_scale", {lab!r}, {lab!r}, {student!r})  # its score taken back, to grade again
        cleared.manual_score, cleared.needs_manual_grade = None, True
        gb.db.commit()
"""


def test_a_hand_grade_saved_during_a_regrade_counts_and_one_cleared_meanwhile_waits(tmp_path):
    course = released_course(KIT, tmp_path / "course", [LAB])
    signal = tmp_path / "save-now"
    nb = solved(course, LAB)
    nb.cells.append(nbformat.v4.new_code_cell(GRADER_SAVES.format(signal=str(signal), url=course.db_url(), lab=LAB,
                                                                  student=STUDENT)))
    submit(course, STUDENT, LAB, nb)
    (first,) = grade(course, LAB, workers=1, progress=False, sandbox=False, skip_canary=True)
    assert first.status == "graded"
    with Gradebook(course.db_url()) as gb:  # reflect_scale graded by hand after the first grading
        scale = gb.find_grade("reflect_scale", LAB, LAB, STUDENT)
        scale.manual_score, scale.needs_manual_grade = 1.5, False
        gb.db.commit()

    signal.touch()
    (again,) = grade(course, LAB, workers=1, progress=False, sandbox=False, skip_canary=True, force=True)
    assert again.status == "graded"
    with Gradebook(course.db_url()) as gb:
        given = gb.find_grade("reflect_symmetry", LAB, LAB, STUDENT)
        cleared = gb.find_grade("reflect_scale", LAB, LAB, STUDENT)
        assert (given.manual_score, given.needs_manual_grade) == (2.0, False)  # on the old code: waiting again
        assert (cleared.manual_score, cleared.needs_manual_grade) == (None, True)  # on the old code: graded, 0
    (row,) = csv.DictReader(io.StringIO(export(course)))
    assert (row["reflect_symmetry"], row["reflect_scale"]) == ("2", "")
    assert row["status"] == "needs_manual_grading"
    assert float(row["total"]) == first.score + 2.0
