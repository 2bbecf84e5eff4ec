"""``python -m autograder feedback LAB``: per-student HTML feedback with no hidden test code in it."""
from __future__ import annotations

import html
import re
from pathlib import Path

import nbformat
from nbgrader.converters import GenerateFeedback
from nbgrader.utils import capture_log

from .course import Course, CourseError
from .records import UNGRADABLE, load_record
from .leaks import secret_lines

TAG = re.compile(r"<[^>]*>")


def visible_text(page: str) -> str:
    """The text a browser shows for an HTML page (tags dropped, entities decoded)."""
    return html.unescape(TAG.sub("", page))


def feedback(course: Course, lab: str) -> list[Path]:
    """Write ``feedback/<student>/<lab>/<lab>.html`` for every student of ``lab``; return the pages.

    Graded submissions get nbgrader's feedback page, with hidden test regions removed and test
    tracebacks reduced to their message (see nbgrader_config.py); a submission that could not be
    graded gets a short page saying why. Every page is then searched for hidden test code: a page
    that holds any is deleted and the command fails.
    """
    course.check_lab(lab)
    graded = sorted(p.parent.parent.name for p in (course.root / "autograded").glob(f"*/{lab}/{lab}.ipynb"))
    if graded:
        config = course.config()
        coursedir = course.coursedir(config)
        coursedir.assignment_id, coursedir.student_id = lab, "*"
        app = GenerateFeedback(coursedir=coursedir, config=config)
        app.force = True
        result = capture_log(app)
        if not result["success"]:
            raise CourseError(f"nbgrader could not write feedback for {lab}:\n"
                              f"{result.get('log', '')}{result.get('error', '')}")
    for student in course.students(lab):
        record = load_record(course, lab, student)
        if record and record.status in UNGRADABLE:
            _write_status_page(course, lab, student, record.detail)
    pages = sorted((course.root / "feedback").glob(f"*/{lab}/*.html"))
    _check_no_hidden_tests(course, lab, pages)
    return pages


def _write_status_page(course: Course, lab: str, student: str, detail: str) -> None:
    folder = course.feedback_dir(student, lab)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{lab}.html").write_text(
        "<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>Feedback: "
        f"{html.escape(lab)}</title></head><body>\n<h1>{html.escape(lab)}: feedback for "
        f"{html.escape(student)}</h1>\n<p>Your submission could not be graded: {html.escape(detail)}.</p>\n"
        "<p>Score: 0. Please contact your instructor.</p>\n</body></html>\n")


def _check_no_hidden_tests(course: Course, lab: str, pages: list[Path]) -> None:
    hidden = secret_lines(nbformat.read(course.source_notebook(lab), as_version=4),
                          kinds=("BEGIN HIDDEN TESTS",))
    leaking = [page for page in pages if any(line in visible_text(page.read_text()) for line in hidden)]
    for page in leaking:
        page.unlink()
    if leaking:
        raise CourseError("Hidden test code reached these feedback pages, which were deleted: " +
                          ", ".join(map(str, leaking)))
