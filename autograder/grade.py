"""``python -m autograder grade LAB``: grade every submission of a lab with nbgrader, in parallel.

First the canary (``canary.py``): the lab's own solution is graded in the same sandbox and
environment; unless it scores full marks, nothing is graded. Its cell times set each cell's time
limit. Then each submission is graded by nbgrader's own autograde converter (it restores the locked and
test cells from the gradebook, runs the notebook in a fresh kernel and saves the grades) in one
of N worker processes. A bad submission gets a status of its own and never stops the others;
every outcome is recorded as soon as it is known, so an interrupted run loses nothing, and a
later run grades only what changed.
"""
from __future__ import annotations

import codecs
import collections
import contextlib
import difflib
import functools
import hashlib
import json
import multiprocessing
import multiprocessing.connection
import os
import re
import resource
import shutil
import signal
import socket
import threading
import time
import unicodedata
import warnings
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook, MissingEntry
from nbgrader import utils
from nbconvert.exporters import NotebookExporter
from nbgrader.converters import Autograde
from nbgrader.utils import capture_log
from sqlalchemy.exc import OperationalError, SAWarning
from tqdm import tqdm

from . import gradebook_schema  # noqa: F401 -- new gradebooks' schema version read in this process
from . import canary, capacity, hand_grades, preprocessors
from .course import (CONFIG_FILE, Course, CourseError, fingerprint, rename_command, shard_of, sqlite_file,
                     unusable_student_id)
from .export import final_score, late_plugin
from .findings import changed_tests_since, lost_answer_marks, noted, noted_times, unix_newlines
from .gradebook_access import changed_since_release, graded_submissions, released
from .judge.cells import BrokenCheckError
from .lab_lock import lab_lock
from .leaks import cell_label, source_marker
from .printable import printable
from .release import earlier_releases
from .records import (DEATHS, FINAL, UNGRADABLE, Fact, Outcome, Status, load_record, lost, mark_started,
                      mark_to_grade, save_record, status_of)
from .sandbox import (FONT_LIST_ENV, MiB, SandboxedKernelManager, adopting_orphans, font_list, kill_kernels,
                      kill_orphaned_sandboxes, sandbox_problem, scratch_files, size_text)
from .workers import start_worker_server, unblock_stop_signals, worker_context

CHANGE_OUTCOME = {"edited": "graded as released", "deleted": "put back and graded",
                  "unmarked": "their nbgrader metadata were lost (saved by another editor?); put back and graded",
                  "duplicated": "the last copy counted", "moved": "graded where they now are"}
ANSWER_OUTCOME = {  # findings.lost_answer_marks: kind -> what the detail says of those answer cells
    "restored": "answer cell(s) {}: their nbgrader metadata were lost (saved by another editor?); found in their "
                "place and graded as the student's answers",
    "unplaced": "written answer(s) {}: their nbgrader metadata were lost and several cells could be the student's "
                "answer; an empty copy was put back to grade by hand: look for the answer in the cells near it"}
ASK_FOR_NOTEBOOK = ("an export cannot be graded: ask the student for the notebook itself (JupyterLab: File > Download; "
                    "Colab: File > Download > Download .ipynb)")  # of a notebook saved as a .py script, say
DB_RETRIES = 5
# Errors of the gradebook's database that go away when tried again: SQLite's lock held by another worker;
# PostgreSQL's deadlocks, serialization failures and dropped connections (e.g. a server restart).
TRANSIENT_DB_ERRORS = ("database is locked", "deadlock detected", "could not serialize access",
                       "server closed the connection", "terminating connection")
EXCEPTION_LINE = re.compile(r"^[\w.]*(Error|Exception)\b.*:")
STOP_GRACE_SECONDS = 5  # a worker told to stop has this long to stop its kernels before it is killed


class GradingStopped(KeyboardInterrupt):
    """Grading was interrupted (Ctrl-C, or SIGTERM or SIGHUP turned into a KeyboardInterrupt with a ``signum``): its
    workers and kernels are stopped, every outcome known before is recorded, and a later run grades the rest."""

    def __init__(self, signum: int, graded: int, todo: int, force: bool = False):
        why = {signal.SIGINT: "Ctrl-C", signal.SIGHUP: "SIGHUP: its terminal was closed"}.get(
            signum, signal.Signals(signum).name)
        done = f"after {graded} of the {todo} submission(s) to grade were graded and recorded" if graded else \
            "before any submission was graded"
        rest = f"the other {todo - graded}" if graded else "them"
        again = "without --force (which would regrade every one)" if force and graded else "again"
        super().__init__(f"Grading stopped ({why}) {done}; its kernels were stopped. Run the same command {again} to "
                         f"grade {rest}.")
        self.signum = signum


class CanaryFailed(CourseError):
    """The lab's own solution did not score full marks in the grading environment: nothing was graded."""

    def __init__(self, result: canary.CanaryResult):
        super().__init__(f"Nothing was graded and the gradebook is unchanged. {result.problem}")
        self.result = result


FINGERPRINT_PARTS = ("the submission", "the lab's source or nbgrader_config.py", "the grading environment (Python, "
                     "NumPy, course_utils or where it is installed, the checks' code, the data folder, the sandbox)",
                     "the due date or an extension")


def submission_fingerprint(course: Course, lab: str, student: str, environment: str = "", due: str = "") -> str:
    """Changes when the submission, the lab's source, the grading configuration, the ``environment`` (its hash) or
    the ``due`` date changes; each has a part of its own (``FINGERPRINT_PARTS``)."""
    return "|".join((fingerprint(course.submission_dir(student, lab)),
                     fingerprint(course.source_notebook(lab), course.root / CONFIG_FILE), environment, due))


# -- one submission (runs in a worker process) ------------------------------------------------

def read_submission(course: Course, lab: str, student: str) -> tuple[nbformat.NotebookNode | None, Outcome | None]:
    """(the submitted notebook, None), or (None, the outcome of a submission nbgrader cannot grade at all)."""
    folder = course.submission_dir(student, lab)
    links = course.symbolic_links(student, lab)
    if links:
        named = ", ".join(links[:3]) + (f" and {len(links) - 3} more" if len(links) > 3 else "")
        return None, Outcome(student, lab, Status.ERROR, (
            f"the submission holds symbolic links, which grading would follow with your rights (to the course's "
            f"solutions, say): {named}; nothing was graded. Remove them (or put copies of the student's own files "
            "in their place), then grade again"))
    notebook = folder / f"{lab}.ipynb"
    relative = folder.relative_to(course.root)
    if not notebook.is_file():
        found = course.other_notebooks(student, lab) or [  # else one unpacked a folder down, say
            name for name in course.submitted_files(student, lab) if name.endswith(".ipynb")]
        where = f"found {', '.join(found)} instead" if found else _holds(course, lab, student)
        if len(found) == 1:
            where += (f"; if it is the student's work, {'move' if '/' in found[0] else 'rename'} it and grade again: "
                      f"{rename_command(course.root, relative / found[0], relative / notebook.name)}")
        return None, Outcome(student, lab, Status.MISSING, f"expected {lab}.ipynb in submitted/{student}/{lab}/: {where}")
    try:
        nb = read_notebook(notebook)
        nbformat.validate(nb)
    except Exception as error:  # any parse or schema error means the same to the instructor
        saved_as = course.notebook_saved_as(student, lab)
        if saved_as:  # a script saved under the notebook's name, say
            return None, Outcome(student, lab, Status.MALFORMED, (
                f"{lab}.ipynb is not a notebook but {saved_as}, saved under the notebook's name; {ASK_FOR_NOTEBOOK}"))
        message = unreadable_json(notebook.read_bytes()) or \
            (str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__)
        return None, Outcome(student, lab, Status.MALFORMED, f"{lab}.ipynb is not a valid notebook: {message}")
    marker = source_marker(nb)
    if marker:
        return None, Outcome(student, lab, Status.ERROR, (
            f"{lab}.ipynb is a copy of the instructor's source notebook, not of the student version: {marker}, one of "
            "nbgrader's solution, hidden-test or mark-scheme markers, which no released notebook has; nothing was "
            "graded. The lab's solutions may have leaked to students"))
    worked = worked_elsewhere(course, lab, student, nb)
    if worked:
        rename = (f"if it is, rename it over the untouched one and grade again: "
                  f"{rename_command(course.root, relative / worked[0], relative / notebook.name)}" if len(worked) == 1
                  else f"rename the one to grade to {lab}.ipynb and grade again")
        where = f"the student's work seems to be in {', '.join(worked)}, not graded: {rename}"
        return None, Outcome(student, lab, Status.MISSING, (
            f"{lab}.ipynb in submitted/{student}/{lab}/ is the released notebook untouched (none of its cells differs "
            f"from release/{lab}/{lab}.ipynb), so it would score 0; {where}"))
    return nb, None


def read_notebook(path: Path) -> nbformat.NotebookNode:
    """A notebook file, read as Jupyter reads it, but also when it begins with a UTF-8 byte-order mark (some Windows
    editors write one; Jupyter and nbgrader refuse the file, though its content is intact). The file is not changed."""
    return nbformat.reads(path.read_bytes().decode("utf-8-sig"), as_version=4)


class SubmissionExporter(NotebookExporter):
    """nbgrader's exporter of notebooks to notebooks, reading a submitted notebook that begins with a UTF-8 byte-order
    mark as ``read_notebook`` does; the submitted file stays as the student made it."""

    def from_file(self, file_stream, resources=None, **kw):
        text = file_stream.read()
        return self.from_notebook_node(nbformat.reads(text.removeprefix("\ufeff"), as_version=4),
                                       resources=resources, **kw)


class NbgraderAloneExporter(NotebookExporter):
    """The exporter ``nbgrader_config.py`` gives nbgrader's autograde, which the kit replaces by
    ``SubmissionExporter``: run without the kit (the formgrader's Autograde button, ``nbgrader autograde``),
    autograde refuses as it starts, before it clears the student's last grading: it logs why (which the formgrader
    shows), then exits, without a traceback."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.log.error(
            "This course grades with `python -m autograder grade LAB`, run in the course root: it grades the lab's own "
            "solution first (the canary), sets each cell's time limit from it, and records each grading for export and "
            "feedback. nbgrader's autograde run alone (the formgrader's Autograde button, or `nbgrader autograde`) "
            "would skip all three, so it grades nothing here.")
        raise SystemExit(1)


def _holds(course: Course, lab: str, student: str) -> str:
    """What the folder of a submission without a notebook holds: its files, and what the exports among them are."""
    files = course.submitted_files(student, lab)
    if not files:
        return "the folder is empty"
    exports = dict(course.exports(student, lab))
    named = ", ".join(f"{name} ({exports[name]})" if name in exports else name for name in files[:5])
    holds = f"the folder holds no notebook, only {named}" + (f" and {len(files) - 5} more" if len(files) > 5 else "")
    if exports:
        holds += f"; {ASK_FOR_NOTEBOOK}"
    if course.archives(student, lab):
        holds += (f"; an archive is not opened: unpack it so that the folder holds {lab}.ipynb (`nbgrader zip_collect` "
                  "unpacks the archives of an LMS download), then grade again")
    return holds


def _sources(nb) -> set[str]:
    """The non-empty sources of a notebook's cells, line endings aside (``unix_newlines``), surrounding blanks left
    out."""
    return {text for cell in nb.cells if (text := unix_newlines(str(cell.get("source", ""))).strip())}


def worked_elsewhere(course: Course, lab: str, student: str, nb: nbformat.NotebookNode) -> list[str]:
    """The other notebooks of a submission's folder (``Course.other_notebooks``) that hold work on the lab, if its
    ``<lab>.ipynb`` (``nb``) is a release of the lab untouched; else none.

    Untouched: every cell's source is one of a release's (the current one or one it replaced); a copy with work: it
    shares a cell with a release (it is the lab) and has a cell that is no release's (an answer, say).
    """
    others = course.other_notebooks(student, lab)
    if not others:
        return []
    try:
        released = set().union(*map(_sources, [nbformat.read(course.release_notebook(lab), as_version=4),
                                               *earlier_releases(course, lab)]))
    except (OSError, ValueError):  # no release to compare with: grade as it is
        return []
    if not _sources(nb) <= released:
        return []
    worked = []
    for name in others:
        try:
            sources = _sources(read_notebook(course.submission_dir(student, lab) / name))
        except Exception:  # not a readable notebook: no work to point to
            continue
        if sources & released and sources - released:
            worked.append(name)
    return worked


def unreadable_json(data: bytes) -> str | None:
    """Why ``data`` (a notebook file) is not JSON, in words that say what happened to it; None if it is JSON."""
    data = data.removeprefix(codecs.BOM_UTF8)  # read as Jupyter reads the rest (read_notebook)
    if not data.strip():
        return "the file is empty"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        return f"it is not UTF-8 text (byte {error.start} of {len(data)})"
    try:
        json.loads(text)
    except json.JSONDecodeError as error:
        if not text.rstrip().endswith("}"):  # a notebook's JSON is one object
            return (f"its JSON stops at line {text.rstrip().count(chr(10)) + 1}, unfinished: the file was cut short "
                    "(by an upload that did not finish, say)")
        return f"its JSON is broken at line {error.lineno}, column {error.colno} ({error.msg})"
    return None


def grade_submission(course: Course, lab: str, student: str, sandbox: bool = True,
                     reference_seconds: dict | None = None, both_ways: bool = False) -> Outcome:
    """Grade one submission with nbgrader's autograde; never raises for a bad submission.

    ``reference_seconds``: each cell's time in the canary, which sets its time limit (none: ``Execute.timeout``).
    ``both_ways``: checks that try the student's own helpers first also run with reference helpers (the canary).
    """
    start = time.monotonic()
    unusable = unusable_student_id(course.root, student)
    if unusable:
        return Outcome(student, lab, Status.ERROR, unusable)
    submitted, outcome = read_submission(course, lab, student)
    if not outcome and sandbox:
        outcome = _too_large_for_the_sandbox(course, lab, student)
    outcome = outcome or _autograde(course, lab, student, sandbox, submitted, reference_seconds or {}, both_ways)
    outcome.seconds = round(time.monotonic() - start, 2)
    if outcome.status in (Status.MISSING, Status.MALFORMED):
        outcome.score, outcome.max_score = 0.0, _max_score(course, lab)
    return outcome


def _too_large_for_the_sandbox(course: Course, lab: str, student: str) -> Outcome | None:
    """The grading error of a submission whose files (but its notebook) do not fit in the sandbox's scratch, where
    they are copied for the kernel (the copy would fail, and the kernel with it); None if they fit."""
    scratch = SandboxedKernelManager(config=_config(course)).scratch_bytes
    files = scratch_files(str(course.submission_dir(student, lab)))
    total = sum(size for size, _ in files)
    if total <= scratch:
        return None
    large = [f"{path} ({size / MiB:.1f} MiB)" for size, path in files[:3] if size >= MiB]
    which = f"the largest: {', '.join(large)}" if large else f"{len(files)} files"
    return Outcome(student, lab, Status.ERROR, (
        f"the submission's files besides the notebook take {total / MiB:.1f} MiB, more than the {size_text(scratch)} "
        f"of the sandbox's scratch, where a graded notebook gets a copy of its folder ({which}). Nothing "
        "was graded. Remove what the notebook does not need (data sets: graded notebooks read them from "
        "COURSE_DATA_DIR), or raise c.SandboxedKernelManager.scratch_bytes in nbgrader_config.py, then grade again"))


def grade_started(course: Course, lab: str, student: str, sandbox: bool, reference_seconds: dict) -> Outcome:
    """Grade one of the submissions a run marked to grade (``mark_to_grade``), in a worker: ``mark_started`` first, so
    that what a grading stopped half-way leaves is never trusted, then ``grade_submission``."""
    mark_started(course, lab, student)
    return grade_submission(course, lab, student, sandbox, reference_seconds)


def grade_canary(course: Course, lab: str, sandbox: bool) -> tuple[Outcome, int]:
    """Grade the canary course's solved notebook (in a fresh worker); also return the kernel's peak memory (bytes)."""
    outcome = grade_submission(course, lab, canary.STUDENT, sandbox, both_ways=True)
    return outcome, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024


@functools.lru_cache(maxsize=4)
def _config(course: Course, sandbox: bool = True):
    """The course's nbgrader configuration, read once per worker process."""
    config = course.config()
    config.SandboxedExecute.sandbox = sandbox
    return config


def _autograde(course: Course, lab: str, student: str, sandbox: bool, submitted: nbformat.NotebookNode,
               reference_seconds: dict, both_ways: bool = False) -> Outcome:
    config = _config(course, sandbox)
    config.SandboxedExecute.reference_seconds = reference_seconds
    config.SandboxedExecute.both_ways = both_ways
    hand_graded = _hand_graded(course, lab, student)  # read before nbgrader replaces the graded notebook
    for attempt in range(DB_RETRIES):
        coursedir = course.coursedir(config)
        coursedir.assignment_id, coursedir.student_id = lab, student
        app = Autograde(coursedir=coursedir, config=config)
        app.exporter_class = SubmissionExporter  # nbgrader reads the submitted file itself
        app.force, app.create_student = True, True
        result = capture_log(app)
        error = result.get("error", "") + result.get("log", "")
        if result["success"] or not any(text in error for text in TRANSIENT_DB_ERRORS):
            break
        time.sleep(0.5 * (attempt + 1))  # another worker holds the gradebook, or it hiccuped: wait, retry
    if not result["success"]:
        return _failure(student, lab, error, preprocessors.last_failure)
    graded = nbformat.read(course.autograded_notebook(student, lab), as_version=4)
    if hand_graded:
        _with_gradebook(course, lambda gb: hand_grades.keep_reviewed(gb, lab, student, graded, hand_graded))
    score, max_score, late = _scores(course, lab, student)
    status, detail, changes, answers = what_happened(course, lab, student, submitted, graded)
    return Outcome(student, lab, status, "; ".join(part for part in (detail, late) if part), score, max_score,
                   changed_tests=changes, lost_answers=answers)


def _hand_graded(course: Course, lab: str, student: str) -> dict[str, tuple]:
    """The grades of the cells of the submission's last graded notebook, as they stand before its regrade
    (``hand_grades.reviewed``); none at its first grading."""
    path = course.autograded_notebook(student, lab)
    try:
        graded = nbformat.read(path, as_version=4) if path.is_file() else None
    except (OSError, ValueError):  # half-written by a grading that was killed: nothing to keep from it
        return {}
    return _with_gradebook(course, lambda gb: hand_grades.reviewed(gb, lab, student, graded)) if graded else {}


def what_happened(course: Course, lab: str, student: str, submitted: nbformat.NotebookNode,
                  graded: nbformat.NotebookNode) -> tuple[str, str, dict[str, list[str]], dict[str, list[str]]]:
    """The status, detail, changed test cells (``changed_tests``) and answer cells that lost their nbgrader metadata
    (``lost_answer_marks``, as the grader's ``PutBackTests`` found them in the current release) of a graded
    submission (``graded``: its autograded notebook), from the grader's findings, its test and its answer cells.
    Lost answer marks change no status: the student changed no test."""
    found = noted(graded)
    try:
        releases = [nbformat.read(course.release_notebook(lab), as_version=4), *earlier_releases(course, lab)]
        changes = changed_tests_since(releases, submitted)
        answers = lost_answer_marks(releases[0], submitted)
    except (OSError, ValueError):  # no release to compare with: nbgrader still restored the tests
        changes, answers = {}, {}
    parts = []
    for finding in found:
        cell, what = cell_label(graded.cells[finding["cell"]], finding["cell"]), finding["what"]
        parts.append(f"the kernel died in {cell} ({what}); the cells before it were graded, the rest scored "
                     "nothing" if finding["fact"] in DEATHS else f"{cell} {what}")
    parts += [f"{kind} test cell(s) {', '.join(ids)}: {CHANGE_OUTCOME[kind]}" for kind, ids in changes.items()]
    parts += [ANSWER_OUTCOME[kind].format(", ".join(ids)) for kind, ids in answers.items()]
    status = status_of([finding["fact"] for finding in found], bool(changes))
    named = {finding["cell"] for finding in found}
    died = min((finding["cell"] for finding in found if finding["fact"] in DEATHS), default=len(graded.cells))
    errors = [f"{cell_label(graded.cells[i], i)} ({ename})" for i, ename in _student_errors(graded)
              if i not in named and i < died]
    if errors:
        parts.append("errors outside the tests in " + ", ".join(errors[:3]) +
                     (f" and {len(errors) - 3} more" if len(errors) > 3 else ""))
    others = course.other_notebooks(student, lab)
    if others:
        parts.append(f"the folder also holds {', '.join(others)}, not graded (only {lab}.ipynb is)")
    return status, printable("; ".join(parts)), changes, answers  # an error's name, a file's: the student's text


def _student_errors(nb) -> list[tuple[int, str]]:
    """(cell index, error name) of each error in a cell that is not a test (tests fail by design)."""
    return [(i, out.get("ename", "")) for i, cell in enumerate(nb.cells)
            if not (utils.is_grade(cell) and not utils.is_solution(cell))
            for out in cell.get("outputs", []) if out.get("output_type") == "error"]


FAILURES = {  # why a notebook could not run at all, from the fact its preprocessor recorded
    Fact.WALL_TIME: (Status.TIMEOUT, "the notebook ran out of wall time before its kernel started"),
    Fact.STARTUP_TIMEOUT: (Status.TIMEOUT, "the notebook's kernel did not start in time"),
    Fact.CPU_TIME: (Status.KERNEL_DIED, "the notebook's kernel used up its CPU time as it started"),
    Fact.SIGNAL: (Status.KERNEL_DIED, "the notebook's kernel was killed or crashed as it started"),
    Fact.EXIT: (Status.KERNEL_DIED, "the notebook's kernel exited as it started"),
}


def _failure(student: str, lab: str, error: str, fact: Fact | None) -> Outcome:
    """The outcome of a notebook nbgrader could not grade at all; ``error`` is its log, shown, never parsed for a status."""
    if fact in FAILURES:
        status, what = FAILURES[fact]
        return Outcome(student, lab, status, f"{what}; nothing could be graded", 0.0)
    causes = [line.strip() for line in error.splitlines()
              if EXCEPTION_LINE.match(line.strip()) and "NbGraderException" not in line]
    cause = causes[-1] if causes else "unknown error"
    name, _, message = cause.partition(": ")
    if name.rpartition(".")[2] == BrokenCheckError.__name__:  # the grader's own check failed, not nbgrader
        return Outcome(student, lab, Status.ERROR, f"a hidden check failed: {message}")
    return Outcome(student, lab, Status.ERROR, f"nbgrader could not grade it: {cause}")


def _with_gradebook(course: Course, action):
    db_url = course.coursedir(_config(course)).db_url
    for attempt in range(DB_RETRIES):
        try:
            with Gradebook(db_url) as gb:
                return action(gb)
        except OperationalError:
            if attempt == DB_RETRIES - 1:
                raise
            time.sleep(0.5 * (attempt + 1))


def _scores(course: Course, lab: str, student: str) -> tuple[float, float, str]:
    """The submission's score (after any late penalty), its maximum, and what nbgrader recorded of its lateness."""
    return _gradebook_scores(course, lab, [student])[student]


def _gradebook_scores(course: Course, lab: str, students: list[str]) -> dict[str, tuple[float, float, str]]:
    """student -> ``_scores`` of each of ``students``' submissions in the gradebook (the hand grades given so far
    included), read in one session; a student without a graded submission there is left out."""
    plugin = late_plugin(_config(course))

    def read(gb):
        max_score = float(gb.find_assignment(lab).max_score)
        found = {}
        for student, submission in graded_submissions(gb, lab, students).items():
            total, penalty = final_score(submission, plugin)
            found[student] = total, max_score, _lateness(submission, penalty)
        return found
    return _with_gradebook(course, read)


def _lateness(submission, penalty: float) -> str:
    """'' for a submission on time (or a lab without a due date), else how late it was and its ``penalty``."""
    if not submission.total_seconds_late:
        return ""
    minutes = max(1, round(submission.total_seconds_late / 60))
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    late = " ".join([f"{days} day{'s' * (days != 1)}"] * bool(days) + [f"{hours} h"] * bool(hours) +
                    [f"{minutes} min"] * bool(minutes))
    return f"submitted {late} after the due date ({submission.duedate:%Y-%m-%d %H:%M} UTC); late penalty: " + (
        f"{penalty:g} point(s), taken from the total" if penalty else "none")


def _deadlines(course: Course, lab: str) -> dict[str | None, str]:
    """What late penalties are measured from, for the fingerprints (so that a due date or an extension set after a
    grading is graded by): student -> their due date, extension included; None -> the lab's. Empty without one."""
    def read(gb):
        assignment = gb.find_assignment(lab)
        if assignment.duedate is None:
            return {}
        return {None: f" due {assignment.duedate}"} | {
            submission.student_id: f" due {submission.duedate}" for submission in assignment.submissions}
    return _with_gradebook(course, read)


def _max_score(course: Course, lab: str) -> float | None:
    def read(gb):
        try:
            return float(gb.find_assignment(lab).max_score)
        except MissingEntry:
            return None
    return _with_gradebook(course, read)


# -- the whole lab ------------------------------------------------------------------------------

def _process_name() -> str:
    """This process, named uniquely among the graders that share the course folder (several machines)."""
    return f"{socket.gethostname()}-{os.getpid()}"


def _check_writable(course: Course, lab: str) -> None:
    for folder in (course.root / "autograded", course.records_dir, course.root):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            probe = folder / f".write-probe-{_process_name()}"  # shards probe the same folders at once
            probe.write_bytes(b"x" * 65536)
            probe.unlink()
        except PermissionError as error:
            raise CourseError(course.not_writable("grading results", [folder, *folder.parents]) or
                              f"Cannot write grading results to {folder}: {error.strerror}.") from None
        except OSError as error:
            raise CourseError(f"Cannot write grading results to {folder}: {error.strerror}. "
                              "Free some space or fix the folder's permissions, then run the command again.")
    gradebook = sqlite_file(course.coursedir(_config(course)).db_url)
    ours = [Path(folder) for folder, _, _ in os.walk(course.root / ".autograder")]
    problem = course.not_writable("grading results", [*course.lab_folders(course.root / "autograded", lab), *ours,
                                                      *filter(None, [gradebook])])
    if problem:
        raise CourseError(problem)


def ensure_in_gradebook(course: Course, lab: str, shard: tuple[int, int] | None = None) -> None:
    """Refuse to grade a lab that was never released into this gradebook (a fresh clone has no gradebook.db), or
    whose source changed since it was (``changed_since_release``: nbgrader would grade by the old tests).

    Grading never releases by itself: releasing rewrites release/, which students may already have, and N
    shards would all do it at once. The instructor releases once, on purpose.
    """
    if not _with_gradebook(course, lambda gb: released(gb, lab)):
        if shard:
            raise CourseError(f"The gradebook ({_safe_url(course)}) has no {lab} yet, and shards do not release "
                              f"(all of them would rewrite release/ and the gradebook at once). Run "
                              f"`{course.command('release', lab)}` once, then start the shards.")
        raise CourseError(f"{lab} has not been released into the gradebook ({_safe_url(course)}) yet, so its tests "
                          f"are unknown and nothing was graded. Release it first: `{course.command('release', lab)}` "
                          f"(it writes release/{lab}/ and records the tests), then run grade again.")
    changes = _with_gradebook(course, lambda gb: changed_since_release(
        gb, lab, nbformat.read(course.source_notebook(lab), as_version=4)))
    if changes:
        raise CourseError(
            f"source/{lab} changed since the lab was released ({'; '.join(changes[:3])}"
            f"{f'; and {len(changes) - 3} more' if len(changes) > 3 else ''}), and nbgrader grades by the tests "
            f"recorded at release: students would be graded by the old ones. Nothing was graded. Release it again "
            f"({course.command('release', lab)}), then grade: everyone is then graded by the tests of source/ (the "
            "versions students worked on are kept).")


def _safe_url(course: Course) -> str:
    """The gradebook's URL without its password, to be shown."""
    from sqlalchemy.engine import make_url
    return make_url(course.coursedir(_config(course)).db_url).render_as_string(hide_password=True)


def _stop_worker(signum, frame) -> None:
    """A worker told to stop (by ``grade``, or because ``grade`` is gone): its kernels stop with it."""
    kill_kernels()
    os._exit(128 + signum)


def _stop_when_grade_ends() -> None:
    """Stop this worker when the process that started it ends without stopping it (killed outright: SIGKILL, the
    out-of-memory killer); else it would finish its notebook and then wait for work forever."""
    multiprocessing.connection.wait([multiprocessing.parent_process().sentinel])
    os.kill(os.getpid(), signal.SIGTERM)


def _worker_env(root: str, workers: int, fonts: str | None = None) -> None:
    # Ctrl-C and a closed terminal reach the whole process group: grade decides, and stops the workers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _stop_worker)
    unblock_stop_signals()  # blocked in the workers' server since it started
    threading.Thread(target=_stop_when_grade_ends, daemon=True).start()
    # Kernels inherit the worker's output: send their chatter to a log file, not the terminal (nor keep the
    # command's output open, for a pipe such as `grade ... | tee`, after the command ended).
    logs = Path(root) / ".autograder" / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    with open(logs / f"worker-{_process_name()}.log", "ab") as log:  # host too: shards share the folder
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
    # nbgrader's gradebook code trips SQLAlchemy 2 warnings that say nothing about the submission.
    warnings.filterwarnings("ignore", category=SAWarning)
    os.environ.update(capacity.shared_cores(workers))  # kernels inherit it
    if fonts:  # matplotlib's font list, built once by the grading process for every kernel
        os.environ[FONT_LIST_ENV] = fonts


@contextlib.contextmanager
def _pool(course: Course, workers: int, size: int, sandboxed: bool):
    """A pool of ``size`` grading workers, forked from the workers' server, for ``workers`` side by side.

    Left by an exception (Ctrl-C, say), it stops its workers and their kernels at once instead of waiting for
    every submission in it to be graded.
    """
    pool = ProcessPoolExecutor(max_workers=size, initializer=_worker_env, mp_context=worker_context(),
                               initargs=(str(course.root), workers, font_list() if sandboxed else None))
    try:
        yield pool
    except BaseException:
        _stop_workers()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        _remove_empty_logs(course)


def _remove_empty_logs(course: Course) -> None:
    """Delete the empty logs of this machine's grading workers that have ended (most are: kernels seldom say
    anything), so that ``.autograder/logs/`` keeps only logs worth reading."""
    host = socket.gethostname()
    for log in (course.root / ".autograder" / "logs").glob(f"worker-{host}-*.log"):
        pid = log.stem.rpartition("-")[2]
        with contextlib.suppress(OSError):
            if pid.isdigit() and not Path("/proc", pid).exists() and log.stat().st_size == 0:
                log.unlink()


def _stop_workers() -> None:
    """Stop this process's grading workers (its multiprocessing children): each stops its kernels and exits, or
    is killed after ``STOP_GRACE_SECONDS`` (its kernels then die with it: bwrap's --die-with-parent)."""
    workers = multiprocessing.active_children()
    for worker in workers:
        worker.terminate()
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for worker in workers:
        worker.join(max(0.0, deadline - time.monotonic()))
        if worker.is_alive():
            worker.kill()
            worker.join()


def grade(course: Course, lab: str, *, workers: int | None = None, force: bool = False,
          progress: bool = True, sandbox: bool = True, skip_canary: bool = False, say=None,
          shard: tuple[int, int] | None = None, students: list[str] | None = None) -> list[Outcome]:
    """Grade every ``submitted/<student>/<lab>/`` (or only ``students``'); returns one outcome per student, in name
    order.

    Each kernel runs in the sandbox; without one, grading refuses unless ``sandbox=False``. The canary
    runs first (unless ``skip_canary``): if it does not score full marks, ``CanaryFailed`` is raised and
    nothing is graded. ``say`` (e.g. ``print``) is told what the canary found.

    ``shard=(K, N)`` grades only share K of N (``course.shard_of``), so that N processes, on N machines
    sharing the course folder and a PostgreSQL gradebook, grade a lab together, at the same time. Another
    run of the same lab (or share) in the same course is refused while one runs (``lab_lock``).

    Interrupted (a KeyboardInterrupt), it stops its workers and their kernels within seconds and raises
    ``GradingStopped``; what it graded is recorded, and the next run grades the rest.
    """
    course.check_lab(lab)
    workers = workers or capacity.default_workers(SandboxedKernelManager(config=_config(course)).memory_bytes)
    if workers < 1:
        raise CourseError("--workers must be at least 1.")
    if shard is not None and not (shard[1] >= 1 and 0 <= shard[0] < shard[1]):
        raise CourseError(f"shard {shard[0]}/{shard[1]}: the shares of N are numbered 0 to N-1.")
    submitted = course.students(lab)
    if students:  # an id typed as usual finds a folder a Mac named, so that grading says to rename it
        folders = {unicodedata.normalize("NFC", folder): folder for folder in submitted}
        students = [s if s in submitted else folders.get(unicodedata.normalize("NFC", s), s) for s in students]
    unknown = sorted(set(students or []) - set(submitted))
    if unknown:
        close = difflib.get_close_matches(unknown[0], submitted, n=3)
        raise CourseError(f"No submission of {lab} from {', '.join(unknown)}: there is no folder submitted/"
                          f"{unknown[0]}/{lab}/." + (f" Did you mean {' or '.join(close)}?" if close else ""))
    problem = sandbox and sandbox_problem()
    if problem:
        raise CourseError(f"Students' code cannot be sandboxed here: {problem} Grading refuses to run it "
                          "with your rights; fix that, or pass --unsafe-no-sandbox if you trust every submission.")
    _check_writable(course, lab)
    outcomes, todo, marked, regrades = {}, {}, False, collections.Counter()
    with lab_lock(course, lab, "grade", shard), adopting_orphans():
        try:
            start_worker_server()  # it imports the grader while this process checks the gradebook, sandbox, canary
            ensure_in_gradebook(course, lab, shard)
            environment = canary.environment(course, sandbox) | ({"canary": "skipped"} if skip_canary else {})
            foreign = canary.foreign_code(course, environment)
            if foreign:
                raise CourseError(f"Nothing was graded: {foreign}")
            environment_print = hashlib.sha256(json.dumps(environment, sort_keys=True).encode()).hexdigest()[:16]
            deadlines = _deadlines(course, lab)
            mine = [student for student in (sorted(set(students)) if students else submitted)
                    if not shard or shard_of(student, shard[1]) == shard[0]]
            records = {student: load_record(course, lab, student) for student in mine}
            held = set() if force else set(_with_gradebook(course, lambda gb: graded_submissions(
                gb, lab, [student for student, record in records.items() if record])))
            for student, previous in records.items():
                prints = submission_fingerprint(course, lab, student, environment_print,
                                                deadlines.get(student, deadlines.get(None, "")))
                if not force and previous and previous.fingerprint == prints and previous.status in FINAL \
                        and not previous.queued and not lost(previous, student in held):
                    previous.skipped = True
                    outcomes[student] = previous
                else:
                    todo[student] = prints
                    if previous and previous.status != Status.NOT_GRADED and not force:
                        regrades[_why_again(previous, prints, student in held)] += 1
            if todo and sandbox:  # the kernels' font list is built while the canary's course is made
                threading.Thread(target=font_list, daemon=True).start()
            reference_seconds = _canary_times(course, lab, sandbox, workers, environment, shard, say) \
                if todo and not skip_canary else {}
            if say and regrades:
                say(f"Grading again {sum(regrades.values())} submission(s) graded before: " + "; ".join(
                    f"{count} because {why}" for why, count in regrades.most_common()) + ".")
            mark_to_grade(course, lab, todo)
            marked = True
            with tqdm(total=len(todo), desc=f"grading {lab}", unit="submission", disable=not progress or not todo,
                      dynamic_ncols=True) as bar:
                def record(outcome: Outcome) -> None:
                    outcome.fingerprint = todo[outcome.student]
                    save_record(course, outcome)
                    outcomes[outcome.student] = outcome
                    bar.update()
                    bar.set_postfix_str(f"{outcome.student}: {outcome.status}", refresh=False)
                    kill_orphaned_sandboxes()  # of a worker killed outright; the rest go when the run ends

                crashed = _run_pool(course, lab, list(todo), workers, sandbox, record, reference_seconds)
                for student in crashed:  # a second try, alone, so that a crash is pinned on its own submission
                    if _run_pool(course, lab, [student], workers, sandbox, record, reference_seconds):
                        record(Outcome(student, lab, Status.ERROR,
                                       "the grading worker process died twice on this submission"))
        except KeyboardInterrupt as stop:  # Ctrl-C, or SIGTERM or SIGHUP turned into it by the command line
            graded = _recorded(course, lab, todo) if marked else 0
            raise GradingStopped(getattr(stop, "signum", signal.SIGINT), graded, len(todo), force) from None
        _show_current_scores(course, lab, outcomes)
        return [outcomes[s] for s in sorted(outcomes)]


def _show_current_scores(course: Course, lab: str, outcomes: dict[str, Outcome]) -> None:
    """Give each outcome skipped as unchanged its submission's score as the gradebook has it now, as ``export`` counts
    it: its record holds the score of its grading, without the hand grades given since."""
    skipped = [student for student, outcome in outcomes.items() if outcome.skipped and outcome.status not in UNGRADABLE]
    if skipped:
        for student, (score, max_score, _) in _gradebook_scores(course, lab, skipped).items():
            outcomes[student].score, outcomes[student].max_score = score, max_score


def _why_again(previous: Outcome, prints: str, held: bool) -> str:
    """Why a submission graded before (``previous``, its record) is graded again, its fingerprint now ``prints``;
    ``held``: whether the gradebook holds a graded submission of theirs (``records.lost``)."""
    if not previous.fingerprint:  # ``mark_started`` blanked it
        return "their last grading was stopped before it ended"
    if lost(previous, held):
        return "the gradebook has no grades of theirs (replaced, or restored from an older copy?)"
    if previous.status not in FINAL:
        return f"their last grading ended in {previous.status}"
    before, now = previous.fingerprint.split("|"), prints.split("|")
    if len(before) != len(now):
        return "they were graded by an earlier version of the kit, which recorded less about their grading"
    changed = [what for what, old, new in zip(FINGERPRINT_PARTS, before, now) if old != new]
    if not changed:  # ``mark_to_grade`` queued it, and that run was stopped before it started it
        return "an earlier regrade was stopped before it reached them"
    return " and ".join(changed) + " changed"


def _recorded(course: Course, lab: str, todo: dict[str, str]) -> int:
    """How many of the submissions a run marked to grade (``todo``: student -> fingerprint) have their outcome recorded,
    read from their records: a stop can come between recording an outcome and counting it."""
    return sum(1 for student, prints in todo.items()
               if (saved := load_record(course, lab, student)) and saved.fingerprint == prints and not saved.queued)


def _canary_times(course: Course, lab: str, sandbox: bool, workers: int, environment: dict,
                  shard: tuple[int, int] | None, say) -> dict:
    """Run the canary; each cell's time in it (the reference of its time limit). Raises CanaryFailed."""
    result = run_canary(course, lab, sandbox, workers, environment, own_folder=shard is not None)
    if not result.ok:
        raise CanaryFailed(result)
    if say:
        say(f"Canary: the lab's own solution scored full marks ({result.score:g} / {result.max_score:g}) in "
            f"{result.seconds:.1f} s; each cell may take {_limits_text(course)}.")
    return result.cell_seconds


def _limits_text(course: Course) -> str:
    execute = _config(course).SandboxedExecute
    from .preprocessors import SandboxedExecute
    multiple = execute.get("time_multiple", SandboxedExecute.time_multiple.default_value)
    floor = execute.get("time_floor", SandboxedExecute.time_floor.default_value)
    return f"{multiple:g}x its time in the canary, at least {floor:g} s"


def run_canary(course: Course, lab: str, sandbox: bool = True, workers: int | None = None,
               environment: dict | None = None, own_folder: bool = False) -> canary.CanaryResult:
    """Grade the lab's own solution as a submission would be graded (a worker of its own, the sandbox).

    ``own_folder``: in a folder of this process's own, deleted afterwards (concurrent shards, the doctor),
    instead of the lab's canary folder kept for the next run.
    """
    environment = environment or canary.environment(course, sandbox)
    folder = course.root / ".autograder" / "canary" / f"{lab}.{_process_name()}" if own_folder else None
    try:
        return _run_canary(course, lab, sandbox, workers, environment, folder)
    finally:
        if folder:
            shutil.rmtree(folder, ignore_errors=True)


def _run_canary(course: Course, lab: str, sandbox: bool, workers: int | None, environment: dict,
                folder: Path | None) -> canary.CanaryResult:
    scratch = canary.scratch_course(course, lab, folder)
    start = time.monotonic()
    with _pool(course, workers or 1, 1, sandbox) as pool:
        try:
            outcome, peak = pool.submit(grade_canary, scratch, lab, sandbox).result()
        except BrokenProcessPool:
            outcome, peak = Outcome(canary.STUDENT, lab, Status.ERROR, "its grading worker process died"), 0
    graded_path = scratch.autograded_notebook(canary.STUDENT, lab)
    graded = nbformat.read(graded_path, as_version=4) if graded_path.is_file() else None
    result = canary.CanaryResult(
        lab=lab, status=outcome.status, score=outcome.score or 0.0,
        max_score=canary.automatic_points(nbformat.read(course.source_notebook(lab), as_version=4)),
        lost=canary.lost_points(graded) if graded is not None else [outcome.detail],
        seconds=round(time.monotonic() - start, 2), cell_seconds=noted_times(graded) if graded is not None else {},
        peak_memory_bytes=peak, environment=environment)
    result.problem = canary.diagnose(course, lab, result, graded)
    return result


def _run_pool(course: Course, lab: str, students: list[str], workers: int, sandbox: bool, record,
              reference_seconds: dict) -> list[str]:
    """Grade ``students`` in a pool of worker processes, recording each outcome as it comes.

    Returns the students whose grading was cut short because a worker process died (the pool is
    then broken, so every submission still in it is returned, to be tried again).
    """
    crashed = []
    if not students:
        return crashed
    with _pool(course, workers, min(workers, len(students)), sandbox) as pool:
        futures = {pool.submit(grade_started, course, lab, s, sandbox, reference_seconds): s for s in students}
        for future in as_completed(futures):
            student = futures[future]
            try:
                record(future.result())
            except BrokenProcessPool:
                crashed.append(student)
            except Exception as error:  # a bug in the grader itself: record it, grade the others
                record(Outcome(student, lab, Status.ERROR, f"{type(error).__name__}: {error}"))
    return sorted(crashed)
