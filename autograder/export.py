"""``python -m autograder export``: the grade table, one row per (student, lab), a column per question."""
from __future__ import annotations

import csv
import io
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook, MissingEntry

from . import gradebook_schema  # noqa: F401 -- new gradebooks' schema version read in this process
from .course import Course, CourseError, sqlite_file, write_whole
from .records import UNGRADABLE, Outcome, Status, load_record, unfinished

FIXED_LEFT = ["student_id", "lab"]
FIXED_RIGHT = ["total", "max_total", "status"]


def question_ids(course: Course, lab: str) -> list[str]:
    """The grade ids of a lab's graded cells (tests and written answers), in notebook order."""
    nb = nbformat.read(course.source_notebook(lab), as_version=4)
    return [cell.metadata["nbgrader"]["grade_id"] for cell in nb.cells
            if cell.get("metadata", {}).get("nbgrader", {}).get("grade")]


def final_score(submission) -> float:
    """A graded submission's score after the late penalty nbgrader gave it (``LateSubmissionPlugin``), as
    nbgrader's own export and the student's feedback page count it."""
    return max(0.0, float(submission.score) - float(submission.late_submission_penalty))


def _row(gb: Gradebook, course: Course, lab: str, student: str) -> dict:
    row = {"student_id": student, "lab": lab}
    record = load_record(course, lab, student)
    if unfinished(record):  # a grading stopped half-way: what it left in the gradebook is half done
        record = Outcome(student, lab, Status.NOT_GRADED, "", max_score=record.max_score)
    submission = None
    if record is None or record.status not in (*UNGRADABLE, Status.NOT_GRADED):
        try:
            submission = gb.find_submission(lab, student)
        except MissingEntry:
            pass
    if submission is None:  # nothing graded (or only an older submission): zero, with the reason
        row["total"] = "0"
        row["max_total"] = "" if record is None or record.max_score is None else f"{record.max_score:g}"
        row["status"] = record.status if record else Status.NOT_GRADED
        return row
    for notebook in submission.notebooks:
        for grade in notebook.grades:
            row[grade.name] = "" if grade.needs_manual_grade else f"{grade.score:g}"  # blank: still to grade
    row["total"], row["max_total"] = f"{final_score(submission):g}", f"{submission.max_score:g}"
    row["status"] = record.status if record else Status.GRADED
    if row["status"] == Status.GRADED and submission.needs_manual_grade:
        row["status"] = Status.NEEDS_MANUAL_GRADING
    return row


def grade_rows(course: Course) -> tuple[list[str], list[dict]]:
    """The CSV header and rows for every lab and every student who submitted it."""
    url = course.db_url()
    if (gradebook := sqlite_file(url)) and not gradebook.is_file():
        raise CourseError(f"This course has no gradebook yet ({gradebook}): nothing was "
                          "released or graded here. Release a lab (`python -m autograder release LAB`), grade it "
                          "(`python -m autograder grade LAB`), then run this again.")
    questions, rows = [], []
    with Gradebook(url) as gb:
        for lab in course.labs():
            students = course.students(lab)
            if not students:
                continue
            questions += [q for q in question_ids(course, lab) if q not in questions]
            rows += [_row(gb, course, lab, student) for student in students]
    return FIXED_LEFT + questions + FIXED_RIGHT, rows


def export(course: Course, out: Path | None = None) -> str:
    """Write the grade table to ``out`` (default: grades.csv in the course root) and return its text."""
    header, rows = grade_rows(course)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=header, restval="", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    text = buffer.getvalue()
    write_whole(out or course.root / "grades.csv", text)
    return text
