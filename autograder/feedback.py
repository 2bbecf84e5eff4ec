"""``python -m autograder feedback LAB``: per-student HTML feedback with no hidden test code or other secret in it."""
from __future__ import annotations

import html
import re
import shutil
from pathlib import Path
from typing import NamedTuple

import jinja2
import nbformat
from nbgrader.api import Gradebook
from nbgrader.converters import GenerateFeedback
from nbgrader.utils import capture_log

from . import gradebook_schema  # noqa: F401 -- new gradebooks' schema version read in this process
from .course import EXCHANGE_FILES, Course, CourseError, in_course_root
from .feedback_page import FeedbackExporter
from .gradebook_access import graded_submissions, if_released, require_released
from .hand_grades import WAITING_KINDS, waiting
from .lab_lock import lab_lock
from .leaks import cell_label, secret_lines, split_regions
from .records import UNGRADABLE, Status, load_record, lost, regrade_pending
from .sandbox import package_folder

TAG = re.compile(r"<[^>]*>")
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")  # terminal colours, shown as plain text on a page
LINE_MARK = re.compile(r"^(?:-*>|\s)*\d+\s")  # "---> 13 " or "     13 ": a traceback quoting a line of code
HIDDEN = "BEGIN HIDDEN TESTS"
STATUS_PAGE = jinja2.Environment(loader=jinja2.PackageLoader("autograder", "templates"),
                                 autoescape=True).get_template("status_page.html.j2")
NAMED = 5  # students named in the refusal for pending answers; the rest are counted


def visible_text(page: str) -> str:
    """The text a browser shows for an HTML page (tags dropped, entities decoded)."""
    return html.unescape(TAG.sub("", page))


def feedback(course: Course, lab: str, allow_pending: bool = False) -> list[Path]:
    """Write ``feedback/<student>/<lab>/<lab>.html`` for every student of ``lab``; return the pages.

    Graded submissions get nbgrader's feedback page, with a summary of the questions on top, hidden
    test regions removed and test tracebacks reduced to their message (see nbgrader_config.py and
    feedback_page.py); a submission that could not be graded gets a short page saying why, in plain
    words. Written answers not yet graded by hand make the command refuse (nothing is written), unless
    ``allow_pending``: their pages then say "not graded yet". Every page is then searched for hidden
    test code, and the outputs of every graded notebook for secret text of any lab in source/
    (solutions, hidden tests, model answers): a page that holds any is deleted and the command fails,
    naming the student and the cell. The page of a student folder that is gone (renamed) and has no graded notebook
    is removed. It refuses while another command works on the lab (``lab_lock``).
    """
    course.check_lab(lab)
    with lab_lock(course, lab, "feedback"):
        return _feedback(course, lab, allow_pending)


class Pages(NamedTuple):
    """Which students of a lab get which page (``_pages``)."""
    records: dict             # student -> their record (None: never graded here)
    stopped: set[str]         # their last grading never ended, or a regrade was stopped before it reached them
    graded: list[str]         # a graded notebook to show, in nbgrader's page
    ungradable: set[str]      # their work could not be graded: a status page says why
    unheld: set[str]          # a graded notebook, but no graded submission in the gradebook: nbgrader can write no page
    lost: set[str]            # submitted, and the gradebook holds none of the grades their record or notebook shows


def _pages(course: Course, lab: str) -> Pages:
    """The stopped get no page: a half-done grading is no grade, and the instructor asked for a regrade of the others.
    Nor do those whose grades the gradebook does not hold (it was replaced, or restored from an older copy:
    ``records.lost``): nbgrader cannot write their page, and their page from before, if any, is left as it is. One
    query of the gradebook (``graded_submissions``)."""
    records = {student: load_record(course, lab, student) for student in course.students(lab)}
    stopped = {student for student, record in records.items() if regrade_pending(record)}
    notebooks = {p.parent.parent.name for p in (course.root / "autograded").glob(f"*/{lab}/{lab}.ipynb")}
    held = if_released(course.db_url(), lab, lambda gb: set(graded_submissions(gb, lab, notebooks | set(records)))) \
        or set()
    ungradable = {student for student, record in records.items()
                  if record and record.status in UNGRADABLE and student not in stopped}
    lost_grades = {student for student, record in records.items() if student not in stopped | ungradable and (
        lost(record, student in held) or student in notebooks - held)}
    return Pages(records, stopped, sorted((notebooks & held) - stopped),
                 ungradable, notebooks - held, lost_grades)


def _feedback(course: Course, lab: str, allow_pending: bool) -> list[Path]:
    records, stopped, graded, ungradable, unheld, _ = _pages(course, lab)
    if not allow_pending:
        pending = pending_answers(course, lab, [student for student in graded if student not in ungradable])
        if pending:
            raise CourseError(pending_message(course, lab, pending))
    problem = course.not_writable("feedback pages", course.lab_folders(course.root / "feedback", lab))
    if problem:
        raise CourseError(problem)
    require_released(course, lab, "feedback")
    if graded:
        config = course.config()
        coursedir = course.coursedir(config)
        coursedir.assignment_id, coursedir.student_id = lab, "*"
        app = FeedbackOf(coursedir=coursedir, config=config)
        app.exporter_class = FeedbackExporter  # the course's configuration gives nbgrader alone a refusing one
        app.force, app.left_out = True, unheld  # it would delete their page, then fail on them
        result = capture_log(app)
        if not result["success"]:
            raise CourseError(f"nbgrader could not write feedback for {lab}:\n"
                              f"{result.get('log', '')}{result.get('error', '')}")
    for student in stopped:  # nbgrader wrote pages of what a stopped grading left: none, until it is graded
        shutil.rmtree(course.feedback_dir(student, lab), ignore_errors=True)
    for folder in (course.root / "feedback").glob(f"*/{lab}"):  # a page of a folder since renamed (as told), say
        if folder.parent.name not in records and folder.parent.name not in {*graded, *unheld}:
            shutil.rmtree(folder, ignore_errors=True)
    for student in sorted(ungradable):
        _write_status_page(course, lab, student, records[student])
    every_page = sorted((course.root / "feedback").glob(f"*/{lab}/*.html"))  # a status page's copies too
    problems = _check_no_hidden_tests(course, lab, every_page)
    secrets = course_secrets(course)
    for student in sorted(set(graded) - ungradable):
        page = course.feedback_dir(student, lab) / f"{lab}.html"
        if page.exists():
            problems += _check_outputs(course, lab, student, page, secrets)
    if problems:
        raise CourseError("\n".join(problems))
    return [page for page in every_page if page.name == f"{lab}.html"  # one per student; none kept as it was
            and page.parent.parent.name not in unheld - ungradable]


def without_page(course: Course, lab: str) -> tuple[list[str], list[str], list[str]]:
    """(students who submitted ``lab`` but get no page: never graded, or their last grading was stopped half-way (no
    graded notebook, or a half-graded one) or before it reached them (a regrade), and no status that says why their
    work could not be graded; those of them whose grading was stopped, whose page from before ``feedback`` removed;
    those whose grades the gradebook does not hold (``records.lost``: it was replaced, or restored from an older
    copy), whose page from before, if any, ``feedback`` left as it was)."""
    pages = _pages(course, lab)
    return ([student for student in pages.records if student not in pages.graded and student not in pages.ungradable],
            sorted(pages.stopped), sorted(pages.lost))


class FeedbackOf(GenerateFeedback):
    """nbgrader's generate_feedback of every graded notebook but those of ``left_out`` (whose existing pages it then
    neither deletes nor replaces); a set, not nbgrader's comma-separated ``student_id_exclude``: an id may hold a
    comma."""
    left_out: set[str] = set()

    def init_destination(self, assignment_id: str, student_id: str) -> bool:
        return student_id not in self.left_out and super().init_destination(assignment_id, student_id)


def pending_answers(course: Course, lab: str, students: list[str]) -> dict[str, int]:
    """student -> how many of their answers (graded by hand) are still to grade, for those who have any."""
    pending = {}
    if not students:
        return pending
    with Gradebook(course.db_url()) as gb:
        for student, submission in graded_submissions(gb, lab, students).items():
            count = sum(grade.needs_manual_grade for notebook in submission.notebooks for grade in notebook.grades)
            if count:
                pending[student] = count
    return dict(sorted(pending.items()))


def pending_message(course: Course, lab: str, pending: dict[str, int]) -> str:
    students = sorted(pending)
    named = ", ".join(students[:NAMED]) + (f" and {len(students) - NAMED} more" if len(students) > NAMED else "")
    answers, submissions = sum(pending.values()), len(pending)
    return (f"{lab}: {waiting(answers, submissions)} ({named}; {WAITING_KINDS}), so no feedback was written. "
            f"Grade them in nbgrader's formgrader (run `{in_course_root(course.root, 'jupyter lab')}`, "
            f"then Nbgrader > Formgrader > Manage Submissions) and run `{course.command('feedback', lab)}` "
            f"again; or run `{course.command('feedback', lab, '--allow-pending')}` to write the pages now, "
            "where those answers read \"not graded yet\".")


def _write_status_page(course: Course, lab: str, student: str, record) -> None:
    """The page of a submission that could not be graded: why, in plain words, and what to do (the record's
    technical detail, for the instructor, is left out)."""
    folder = course.feedback_dir(student, lab)
    folder.mkdir(parents=True, exist_ok=True)
    found = course.other_notebooks(student, lab)
    untouched = record.status == Status.MISSING and (course.submission_dir(student, lab) / f"{lab}.ipynb").is_file()
    saved_as = course.notebook_saved_as(student, lab) if record.status == Status.MALFORMED else None
    page = STATUS_PAGE.render(lab=lab, status=record.status, found=found, untouched=untouched, saved_as=saved_as,
                              exports=course.exports(student, lab), archives=course.archives(student, lab),
                              max_score=record.max_score)
    for name in [lab, *(Path(notebook).stem for notebook in found)]:  # nbgrader fetch_feedback looks a page up by
        (folder / f"{name}.html").write_text(page, encoding="utf-8")  # the name of a notebook the student submitted
    if not course.symbolic_links(student, lab):  # nbgrader release_feedback reads these beside the page, as nbgrader's
        for name in EXCHANGE_FILES:               # own pages have them (nbgrader collect wrote them)
            kept = course.submission_dir(student, lab) / name
            if kept.is_file():
                shutil.copyfile(kept, folder / name)


def _check_no_hidden_tests(course: Course, lab: str, pages: list[Path]) -> list[str]:
    """Delete the pages that show hidden test code anywhere; one problem per page deleted.

    A hidden line that the student's own cells hold (a guess at a check's call in a written answer) does not count on
    their page: the page shows their own text, not the gradebook's tests.
    """
    hidden = secret_lines(nbformat.read(course.source_notebook(lab), as_version=4), kinds=(HIDDEN,))
    leaking = []
    for page in pages:
        shown = visible_text(page.read_text(encoding="utf-8"))
        found = [line for line in hidden if line in shown]
        if found:  # the student's notebook is read for these pages only
            own = own_text(course, lab, page.parent.parent.name)
            if any(line not in own for line in found):
                leaking.append(page)
    for page in leaking:
        page.unlink()
    return [f"Hidden test code reached the feedback page {page}, which was deleted." for page in leaking]


def own_text(course: Course, lab: str, student: str) -> str:
    """The text of the student's own cells (answers and cells they added) in their graded notebook; "" if there is
    none. Locked cells are left out: nbgrader restored them from the gradebook, hidden tests included."""
    path = course.autograded_notebook(student, lab)
    if not path.is_file():
        return ""
    nb = nbformat.read(path, as_version=4)
    return "\n".join(cell.source for cell in nb.cells if not cell.get("metadata", {}).get("nbgrader", {}).get("locked"))


def course_secrets(course: Course) -> dict[str, list[str]]:
    """Every secret line of every lab's source notebook (``leaks.secret_lines``), with the labs it is secret in; none
    that is also a line of course_utils, which students have and a traceback through it quotes (``for epoch in
    range(1, epochs + 1):`` of its training loop is also a line of Lab 5's solution)."""
    public = course_utils_lines(course)
    labs = {}
    for lab in course.labs():
        for line in secret_lines(nbformat.read(course.source_notebook(lab), as_version=4)) - public:
            labs.setdefault(line, []).append(lab)
    return labs


def course_utils_lines(course: Course) -> set[str]:
    """The stripped lines of course_utils: the course's copy and the one graded kernels import."""
    packages = {course.root / "course_utils", *map(Path, filter(None, [package_folder("course_utils")]))}
    return {line.strip() for package in packages for path in package.rglob("*.py")
            for line in path.read_text(encoding="utf-8", errors="replace").splitlines()}


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


def secret_outputs(nb, secrets: dict[str, list[str]]) -> list[tuple[str, list[str]]]:
    """``(cell_label, labs)`` of each cell whose outputs show secret lines of those labs.

    A line of the notebook's own code (outside hidden tests) does not count: a traceback quotes the
    student's code, which may rightly equal a solution.
    """
    own = {line.strip() for cell in nb.cells if cell.cell_type == "code"
           for line in split_regions(cell.source, (HIDDEN,))[0]}
    shown = [shown_lines("\n".join(output_text(output) for output in cell.get("outputs", []))) for cell in nb.cells]
    everything = set().union(*shown)
    found = [line for line in secrets if line in everything and line not in own]
    cells = []
    for index, lines in enumerate(shown):
        labs = sorted({lab for line in found if line in lines for lab in secrets[line]})
        if labs:
            cells.append((cell_label(nb.cells[index], index), labs))
    return cells


def shown_lines(text: str) -> set[str]:
    """The lines an output shows, stripped, each also without a traceback's mark before a quoted line of code.

    Whole lines, not any text: a line of code printed or quoted is shown whole, while a secret line may rightly be
    part of another (``histories = {}`` of one lab's solution in ``trained, histories = {}, {}`` of another's).
    """
    lines = {line.strip() for line in text.splitlines()}
    return lines | {LINE_MARK.sub("", line).strip() for line in lines}


def _check_outputs(course: Course, lab: str, student: str, page: Path, secrets: dict[str, list[str]]) -> list[str]:
    """Delete a student's page if the outputs of the graded notebook show secret text; say where."""
    cells = secret_outputs(nbformat.read(course.autograded_notebook(student, lab), as_version=4), secrets)
    if not cells:
        return []
    page.unlink()
    where = "; ".join(f"{cell} shows secret text of {', '.join(labs)}" for cell, labs in cells)
    return [f"The feedback page of {student} for {lab} was deleted: in the graded notebook, {where} (solution, "
            f"hidden test or model answer lines of source/). Inspect the submission "
            f"{course.submission_dir(student, lab)}: it printed instructor files, which a sandboxed kernel "
            "cannot read; was it graded with --unsafe-no-sandbox?"]
