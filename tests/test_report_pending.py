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
from pathlib import Path

import nbformat
import pytest
from nbgrader import utils

from autograder.cli import main
from autograder.course import CourseError, in_course_root
from autograder.export import NAMED, error_warning, pending_warning, ungraded_warning
from autograder.feedback import feedback, pending_answers
from autograder.records import UNGRADABLE
from autograder.report import Question, html_page, report
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
    _, table, _ = report(course, lab, tmp_path)
    by_question = {row["question"]: row for row in csv.DictReader(io.StringIO(table.read_text()))}
    written = written_questions(course, lab)
    assert written
    for question in written:
        assert int(by_question[question]["pending"]) == len(answered), by_question[question]
        assert int(by_question[question]["scored"]) + int(by_question[question]["pending"]) == len(graded_notebooks)
    with pytest.raises(CourseError) as refused:
        feedback(course, lab)  # refuses while answers are not graded by hand, saying how many
    counted = re.search(r"(\d+) answers? in (\d+) submissions? waits? to be graded by hand", str(refused.value))
    assert counted, str(refused.value)
    assert int(counted.group(1)) == sum(int(by_question[question]["pending"]) for question in written)
    assert int(counted.group(2)) == len(answered)


def test_export_warns_of_the_answers_still_to_grade_naming_first_a_submission_whose_status_does_not_say_so(
        graded_lab, tmp_path, capsys):
    course, lab, outcomes, _ = graded_lab(LAB)
    out = tmp_path / "grades.csv"
    assert main(["--root", str(course.root), "export", "--out", str(out)]) == 0
    warning = capsys.readouterr().err
    rows = {row["student_id"]: row for row in csv.DictReader(io.StringIO(out.read_text()))}
    written = written_questions(course, lab)
    assert rows["deleted_test"]["status"] == "tests_changed"  # the status alone does not say answers are pending
    assert all(rows["deleted_test"][question] == "" for question in written)
    pending = pending_answers(course, lab, sorted(rows))  # as feedback counts them
    assert "deleted_test" in pending
    answers, submissions = sum(pending.values()), len(pending)
    assert warning.startswith(f"warning: {answers} answers in {submissions} submissions wait to be graded by hand; "
                              f"their cells in grades.csv are blank and the totals leave them out ({lab}: "
                              "deleted_test (tests_changed), "), warning
    assert f"and {submissions - NAMED} more" in warning and "Formgrader" in warning


def test_an_export_without_answers_to_grade_warns_of_none_and_a_row_without_a_graded_notebook_counts_none():
    graded = {"student_id": "ana", "lab": "lab1", "q1": "1", "q2": "0", "total": "1", "max_total": "2",
              "status": "graded"}
    missing = {"student_id": "bo", "lab": "lab1", "total": "0", "max_total": "", "status": "missing_notebook"}
    assert pending_warning([graded, missing], "grades.csv", Path.cwd()) is None
    timed_out = {**graded, "student_id": "cy", "q2": "", "status": "timeout"}
    assert pending_warning([graded, missing, timed_out], "grades.csv", Path.cwd()) == (
        "warning: 1 answer in 1 submission waits to be graded by hand; their cells in grades.csv are blank and the "
        "totals leave them out (lab1: cy (timeout)). Grade them in nbgrader's formgrader (run "
        f"`{in_course_root(Path.cwd(), 'jupyter lab')}`, then Nbgrader > Formgrader > Manage Submissions) and export "
        "again.")  # `jupyter lab`, or `PYTHONUTF8=1 jupyter lab` where the locale is not UTF-8
    assert f"formgrader (run `{in_course_root('/srv/course', 'jupyter lab')}`, then Nbgrader > Formgrader" in \
        pending_warning([graded, missing, timed_out], "grades.csv", Path("/srv/course"))  # from another folder
    assert in_course_root("/srv/course", "jupyter lab").startswith("cd /srv/course && ")


def test_the_reports_totals_leave_out_submissions_without_a_graded_notebook_and_say_why():
    rows = [{"student_id": student, "lab": "lab1", "q": total, "total": total, "max_total": "21", "status": status}
            for student, total, status in [("ana", "10", "graded"), ("ben", "20", "needs_manual_grading"),
                                           ("cho", "0", "missing_notebook"), ("dan", "0", "not_graded"),
                                           ("eve", "0", "grading_error")]]
    page = html_page("lab1", [Question("q", 21, scores=[10, 20])], rows)
    assert ("5 submissions; mean total 15.00, median 15; 3 without a graded notebook are left out of the totals' "
            "figures (1 grading_error, 1 missing_notebook, 1 not_graded).") in page  # a missing notebook: no score
    assert "3 submissions; 3 without a graded notebook" in html_page("lab1", [Question("q", 21)], [
        {**row, "status": "not_graded"} for row in rows[:3]])


def test_export_warns_of_submissions_not_graded_yet_by_lab():
    rows = [{"student_id": student, "lab": lab, "total": "0", "max_total": "", "status": status}
            for student, lab, status in [("ana", "lab1", "graded"), ("ben", "lab3", "not_graded"),
                                         ("cho", "lab3", "not_graded"), ("dan", "lab5", "not_graded")]]
    assert ungraded_warning(rows, "g.csv", Path.cwd()) == (
        "warning: 3 submissions are not graded yet (lab3: 2, lab5: 1); their rows in g.csv say not_graded, with a "
        "total of 0. Grade them (python -m autograder grade LAB) and export again.")
    assert ungraded_warning(rows[:2], "g.csv", Path.cwd()) == (
        "warning: 1 submission is not graded yet (lab3: 1); its row in g.csv says not_graded, with a total of 0. "
        "Grade it (python -m autograder grade lab3) and export again.")
    assert "Grade it (python -m autograder --root /srv/course grade lab3) and export again." in \
        ungraded_warning(rows[:2], "g.csv", Path("/srv/course"))  # exported from another folder
    assert ungraded_warning(rows[:1], "g.csv", Path.cwd()) is None


def test_export_warns_of_submissions_whose_grading_failed():
    """A grading_error row (a folder name nbgrader cannot use, say) was exported with a total of 0 and no word."""
    rows = [{"student_id": student, "lab": "lab1", "total": "0", "max_total": "21", "status": status}
            for student, status in [("ana", "graded"), ("trail ", "grading_error"), ("li[1]", "grading_error"),
                                    ("cho", "missing_notebook")]]
    assert error_warning(rows, "g.csv", Path.cwd()) == (
        "warning: 2 rows of g.csv could not be graded (grading_error, a total of 0 that is no grade): trail  (lab1), "
        "li[1] (lab1). `python -m autograder grade lab1` prints why for each (in its detail column) and what to do; "
        "then grade again and export again.")
    assert error_warning(rows[:1] + rows[3:], "g.csv", Path.cwd()) is None
