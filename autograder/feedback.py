"""``python -m autograder feedback LAB``: per-student HTML feedback with no hidden test code or other secret in it."""
from __future__ import annotations

import html
import re
from pathlib import Path

import nbformat
from nbgrader.converters import GenerateFeedback
from nbgrader.utils import capture_log

from .course import Course, CourseError
from .records import UNGRADABLE, load_record
from .leaks import secret_lines, split_regions

TAG = re.compile(r"<[^>]*>")
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")  # terminal colours, shown as plain text on a page
HIDDEN = "BEGIN HIDDEN TESTS"


def visible_text(page: str) -> str:
    """The text a browser shows for an HTML page (tags dropped, entities decoded)."""
    return html.unescape(TAG.sub("", page))


def feedback(course: Course, lab: str) -> list[Path]:
    """Write ``feedback/<student>/<lab>/<lab>.html`` for every student of ``lab``; return the pages.

    Graded submissions get nbgrader's feedback page, with hidden test regions removed and test
    tracebacks reduced to their message (see nbgrader_config.py); a submission that could not be
    graded gets a short page saying why. Every page is then searched for hidden test code, and the
    outputs of every graded notebook for secret text of any lab in source/ (solutions, hidden tests,
    model answers): a page that holds any is deleted and the command fails, naming the student and
    the cell.
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
    ungradable = set()
    for student in course.students(lab):
        record = load_record(course, lab, student)
        if record and record.status in UNGRADABLE:
            _write_status_page(course, lab, student, record.detail)
            ungradable.add(student)
    pages = sorted((course.root / "feedback").glob(f"*/{lab}/*.html"))
    problems = _check_no_hidden_tests(course, lab, pages)
    secrets = course_secrets(course)
    for student in sorted(set(graded) - ungradable):
        page = course.feedback_dir(student, lab) / f"{lab}.html"
        if page.exists():
            problems += _check_outputs(course, lab, student, page, secrets)
    if problems:
        raise CourseError("\n".join(problems))
    return pages


def _write_status_page(course: Course, lab: str, student: str, detail: str) -> None:
    folder = course.feedback_dir(student, lab)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{lab}.html").write_text(
        "<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>Feedback: "
        f"{html.escape(lab)}</title></head><body>\n<h1>{html.escape(lab)}: feedback for "
        f"{html.escape(student)}</h1>\n<p>Your submission could not be graded: {html.escape(detail)}.</p>\n"
        "<p>Score: 0. Please contact your instructor.</p>\n</body></html>\n")


def _check_no_hidden_tests(course: Course, lab: str, pages: list[Path]) -> list[str]:
    """Delete the pages that show hidden test code anywhere; one problem per page deleted."""
    hidden = secret_lines(nbformat.read(course.source_notebook(lab), as_version=4), kinds=(HIDDEN,))
    leaking = [page for page in pages if any(line in visible_text(page.read_text()) for line in hidden)]
    for page in leaking:
        page.unlink()
    return [f"Hidden test code reached the feedback page {page}, which was deleted." for page in leaking]


def course_secrets(course: Course) -> dict[str, list[str]]:
    """Every secret line of every lab's source notebook (``leaks.secret_lines``), with the labs it is secret in."""
    labs = {}
    for lab in course.labs():
        for line in secret_lines(nbformat.read(course.source_notebook(lab), as_version=4)):
            labs.setdefault(line, []).append(lab)
    return labs


def output_text(output) -> str:
    """The text an output shows: stream text, text data (HTML as a browser shows it), an error's message and
    traceback."""
    kind = output.get("output_type")
    if kind == "stream":
        text = output.get("text", "")
    elif kind == "error":
        text = "\n".join([output.get("evalue", ""), *output.get("traceback", [])])
    else:
        text = "\n".join(visible_text(value) if mime == "text/html" else value
                         for mime, value in output.get("data", {}).items() if mime.startswith("text/"))
    return ANSI.sub("", text)


def secret_outputs(nb, secrets: dict[str, list[str]]) -> list[tuple[int, str | None, list[str]]]:
    """``(index, grade id or None, labs)`` of each cell whose outputs show secret lines of those labs.

    A line of the notebook's own code (outside hidden tests) does not count: a traceback quotes the
    student's code, which may rightly equal a solution.
    """
    own = {line.strip() for cell in nb.cells if cell.cell_type == "code"
           for line in split_regions(cell.source, (HIDDEN,))[0]}
    shown = ["\n".join(output_text(output) for output in cell.get("outputs", [])) for cell in nb.cells]
    everything = "\n".join(shown)
    found = [line for line in secrets if line in everything and line not in own]
    cells = []
    for index, text in enumerate(shown):
        labs = sorted({lab for line in found if line in text for lab in secrets[line]})
        if labs:
            cells.append((index, nb.cells[index].get("metadata", {}).get("nbgrader", {}).get("grade_id"), labs))
    return cells


def _check_outputs(course: Course, lab: str, student: str, page: Path, secrets: dict[str, list[str]]) -> list[str]:
    """Delete a student's page if the outputs of the graded notebook show secret text; say where."""
    cells = secret_outputs(nbformat.read(course.autograded_notebook(student, lab), as_version=4), secrets)
    if not cells:
        return []
    page.unlink()
    where = "; ".join(f"cell {index}{f' ({grade_id})' if grade_id else ''} shows secret text of "
                      f"{', '.join(labs)}" for index, grade_id, labs in cells)
    return [f"The feedback page of {student} for {lab} was deleted: in the graded notebook, {where} (solution, "
            f"hidden test or model answer lines of source/). Inspect the submission "
            f"{course.submission_dir(student, lab)}: it printed instructor files, which a sandboxed kernel "
            "cannot read; was it graded with --unsafe-no-sandbox?"]
