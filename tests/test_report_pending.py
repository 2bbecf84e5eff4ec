"""The item report's pending column, with real nbgrader: a written answer still to grade by hand is pending
whatever the automatic tests' status (here a deleted test cell: ``tests_changed``), and only in a submission whose
notebook was graded (not in a malformed one); the report counts as many as ``feedback`` says are not graded yet.

The graded course is Lab 6's round trip that test_pipeline.py grades (``graded_lab``: a correct submission, an
untouched one, planted and classic mistakes, a deleted test cell, a malformed file), graded once for the modules
of its xdist group. The item report's other numbers are tested in test_pipeline.py.
"""
import csv
import io
import re

import nbformat
import pytest
from nbgrader import utils

from autograder.course import CourseError
from autograder.feedback import feedback
from autograder.records import UNGRADABLE
from autograder.report import report
from test_pipeline import graded_lab  # noqa: F401 -- the shared fixture

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("pipeline")]
LAB = "lab6_optimizers"  # its round trip has a deleted test cell (tests_changed) and a malformed notebook


def written_questions(course, lab):
    nb = nbformat.read(course.source_notebook(lab), as_version=4)
    return [cell.metadata.nbgrader.grade_id for cell in nb.cells
            if cell.cell_type == "markdown" and utils.is_grade(cell) and utils.is_solution(cell)]


def test_written_answers_are_pending_in_every_graded_notebook_whatever_its_status_as_feedback_counts_them(
        graded_lab, tmp_path):
    course, lab, outcomes, rows = graded_lab(LAB)
    assert outcomes["deleted_test"].status == "tests_changed"
    assert outcomes["malformed"].status == "malformed_notebook"
    graded_notebooks = [student for student, outcome in outcomes.items() if outcome.status not in UNGRADABLE
                        and course.autograded_notebook(student, lab).is_file()]
    assert "deleted_test" in graded_notebooks and "malformed" not in graded_notebooks
    # the untouched release's answers are as released: nbgrader scored them 0 by itself, none is left to grade
    answered = [student for student in graded_notebooks if student != "untouched"]
    _, table = report(course, lab, tmp_path)
    by_question = {row["question"]: row for row in csv.DictReader(io.StringIO(table.read_text()))}
    written = written_questions(course, lab)
    assert written
    for question in written:
        assert int(by_question[question]["pending"]) == len(answered), by_question[question]
        assert int(by_question[question]["scored"]) + int(by_question[question]["pending"]) == len(graded_notebooks)
    with pytest.raises(CourseError) as refused:
        feedback(course, lab)  # refuses while answers are not graded by hand, saying how many
    counted = re.search(r"(\d+) written answers? in (\d+) submissions? of", str(refused.value))
    assert counted, str(refused.value)
    assert int(counted.group(1)) == sum(int(by_question[question]["pending"]) for question in written)
    assert int(counted.group(2)) == len(answered)
