"""``python -m autograder grade LAB``: grade every submission of a lab with nbgrader, in parallel.

Each submission is graded by nbgrader's own autograde converter (it restores the locked and
test cells from the gradebook, runs the notebook in a fresh kernel and saves the grades) in one
of N worker processes. A bad submission gets a status of its own and never stops the others;
every outcome is recorded as soon as it is known, so an interrupted run loses nothing, and a
later run grades only what changed.
"""
from __future__ import annotations

import functools
import multiprocessing
import os
import re
import time
import warnings
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass
from pathlib import Path

import json

import nbformat
from nbgrader.api import Gradebook, MissingEntry
from nbgrader import utils
from nbgrader.converters import Autograde
from nbgrader.utils import capture_log
from sqlalchemy.exc import OperationalError, SAWarning
from tqdm import tqdm

from .course import CONFIG_FILE, Course, CourseError, fingerprint, write_json_atomic
from .findings import changed_tests, noted
from .sandbox import sandbox_problem

# Status codes (the ``status`` column of the export).
GRADED = "graded"
TIMEOUT = "timeout"
MISSING = "missing_notebook"
MALFORMED = "malformed_notebook"
KERNEL_DIED = "kernel_died"
TESTS_CHANGED = "tests_changed"
HIT_LIMIT = "hit_limit"
ERROR = "grading_error"
FINAL = {GRADED, TIMEOUT, MISSING, MALFORMED, KERNEL_DIED, TESTS_CHANGED, HIT_LIMIT}  # regraded only if changed
UNGRADABLE = {MISSING, MALFORMED, ERROR}  # nothing was graded: whatever the gradebook holds is older
CHANGE_OUTCOME = {"edited": "graded as released", "deleted": "put back and graded",
                  "duplicated": "the last copy counted", "moved": "graded where they now are"}
DB_RETRIES = 5
SANDBOX_DEATH = re.compile(r"The sandboxed kernel died: (.*?)\.?$", re.MULTILINE)
EXCEPTION_LINE = re.compile(r"^[\w.]*(Error|Exception)\b.*:")


@dataclass
class Outcome:
    """What grading one student's submission of one lab came to."""
    student: str
    lab: str
    status: str
    detail: str
    score: float | None = None
    max_score: float | None = None
    seconds: float = 0.0
    fingerprint: str = ""
    skipped: bool = False  # unchanged since the last run, not graded again


def record_path(course: Course, lab: str, student: str) -> Path:
    return course.records_dir / lab / f"{student}.json"


def load_record(course: Course, lab: str, student: str) -> Outcome | None:
    try:
        return Outcome(**json.loads(record_path(course, lab, student).read_text()))
    except (OSError, ValueError, TypeError):
        return None


def save_record(course: Course, outcome: Outcome) -> None:
    data = asdict(outcome)
    data["skipped"] = False
    write_json_atomic(record_path(course, outcome.lab, outcome.student), data)


def submission_fingerprint(course: Course, lab: str, student: str) -> str:
    """Changes when the submission, the lab's source or the grading configuration changes."""
    return fingerprint(course.submission_dir(student, lab), course.source_notebook(lab),
                       course.root / CONFIG_FILE)


# -- one submission (runs in a worker process) ------------------------------------------------

def read_submission(course: Course, lab: str, student: str) -> tuple[nbformat.NotebookNode | None, Outcome | None]:
    """(the submitted notebook, None), or (None, the outcome of a submission nbgrader cannot grade at all)."""
    folder = course.submission_dir(student, lab)
    notebook = folder / f"{lab}.ipynb"
    if not notebook.is_file():
        found = sorted(p.name for p in folder.glob("*.ipynb"))
        where = f"found {', '.join(found)} instead" if found else "the folder holds no notebook"
        return None, Outcome(student, lab, MISSING, f"expected {lab}.ipynb in submitted/{student}/{lab}/: {where}")
    try:
        nb = nbformat.read(notebook, as_version=4)
        nbformat.validate(nb)
    except Exception as error:  # any parse or schema error means the same to the instructor
        message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        return None, Outcome(student, lab, MALFORMED, f"{lab}.ipynb is not a valid notebook: {message}")
    return nb, None


def grade_submission(root: str, lab: str, student: str, sandbox: bool = True) -> Outcome:
    """Grade one submission with nbgrader's autograde; never raises for a bad submission."""
    course = Course(Path(root))
    start = time.monotonic()
    submitted, outcome = read_submission(course, lab, student)
    outcome = outcome or _autograde(course, lab, student, sandbox, submitted)
    outcome.seconds = round(time.monotonic() - start, 2)
    if outcome.status in (MISSING, MALFORMED):
        outcome.score, outcome.max_score = 0.0, _max_score(course, lab)
    return outcome


@functools.lru_cache(maxsize=4)
def _config(root: Path, sandbox: bool = True):
    """The course's nbgrader configuration, read once per worker process."""
    config = Course(root).config()
    config.SandboxedExecute.sandbox = sandbox
    return config


def _autograde(course: Course, lab: str, student: str, sandbox: bool, submitted: nbformat.NotebookNode) -> Outcome:
    config = _config(course.root, sandbox)
    for attempt in range(DB_RETRIES):
        coursedir = course.coursedir(config)
        coursedir.assignment_id, coursedir.student_id = lab, student
        app = Autograde(coursedir=coursedir, config=config)
        app.force, app.create_student = True, True
        result = capture_log(app)
        error = result.get("error", "") + result.get("log", "")
        if result["success"] or "database is locked" not in error:
            break
        time.sleep(0.5 * (attempt + 1))  # another worker holds the gradebook: wait, then retry
    if not result["success"]:
        return _failure(student, lab, error)
    score, max_score = _scores(course, lab, student)
    status, detail = what_happened(course, lab, student, submitted)
    return Outcome(student, lab, status, detail, score, max_score)


def what_happened(course: Course, lab: str, student: str, submitted: nbformat.NotebookNode) -> tuple[str, str]:
    """The status and detail of a graded submission, from the grader's findings and its test cells."""
    graded = nbformat.read(course.autograded_notebook(student, lab), as_version=4)
    found = noted(graded)
    try:
        changes = changed_tests(nbformat.read(course.release_notebook(lab), as_version=4), submitted)
    except (OSError, ValueError):  # no release to compare with: nbgrader still restored the tests
        changes = {}
    parts, status = [], GRADED
    for finding in found:
        cell, kind, what = finding["cell"], finding["kind"], finding["what"]
        if kind == "kernel_died":
            status = TIMEOUT if "wall time" in what else KERNEL_DIED
            parts.append(f"the kernel died in cell {cell} ({what}); the cells before it were graded, "
                         "the rest scored nothing")
        else:
            parts.append(f"cell {cell} {what}")
            if kind == "timeout" and status == GRADED:
                status = TIMEOUT
    parts += [f"{kind} test cell(s) {', '.join(ids)}: {CHANGE_OUTCOME[kind]}" for kind, ids in changes.items()]
    if status == GRADED:  # nothing stopped: did the submission change its tests, or hit a limit?
        status = TESTS_CHANGED if changes else HIT_LIMIT if found else GRADED
    named = {finding["cell"] for finding in found}
    died = min((finding["cell"] for finding in found if finding["kind"] == "kernel_died"), default=len(graded.cells))
    errors = [f"cell {i} ({ename})" for i, ename in _student_errors(graded) if i not in named and i < died]
    if errors:
        parts.append("errors outside the tests in " + ", ".join(errors[:3]) +
                     (f" and {len(errors) - 3} more" if len(errors) > 3 else ""))
    return status, "; ".join(parts)


def _student_errors(nb) -> list[tuple[int, str]]:
    """(cell index, error name) of each error in a cell that is not a test (tests fail by design)."""
    return [(i, out.get("ename", "")) for i, cell in enumerate(nb.cells)
            if not (utils.is_grade(cell) and not utils.is_solution(cell))
            for out in cell.get("outputs", []) if out.get("output_type") == "error"]


def _failure(student: str, lab: str, error: str) -> Outcome:
    reason = SANDBOX_DEATH.search(error)
    if reason and "wall time" in reason.group(1):
        return Outcome(student, lab, TIMEOUT, f"the notebook was stopped: {reason.group(1)}; "
                       "nothing could be graded", 0.0)
    if reason or "DeadKernelError" in error or "Kernel died" in error:
        why = f": {reason.group(1)}" if reason else " (it crashed, ran out of memory or exited)"
        return Outcome(student, lab, KERNEL_DIED, f"the notebook's kernel died{why}; nothing could be graded", 0.0)
    if "TimeoutError" in error:
        return Outcome(student, lab, TIMEOUT, "the notebook's kernel did not answer in time; "
                       "nothing could be graded", 0.0)
    causes = [line.strip() for line in error.splitlines()
              if EXCEPTION_LINE.match(line.strip()) and "NbGraderException" not in line]
    return Outcome(student, lab, ERROR, "nbgrader could not grade it: " + (causes[-1] if causes else "unknown error"))


def _with_gradebook(course: Course, action):
    db_url = course.coursedir(_config(course.root)).db_url
    for attempt in range(DB_RETRIES):
        try:
            with Gradebook(db_url) as gb:
                return action(gb)
        except OperationalError:
            if attempt == DB_RETRIES - 1:
                raise
            time.sleep(0.5 * (attempt + 1))


def _scores(course: Course, lab: str, student: str) -> tuple[float, float]:
    def read(gb):
        submission = gb.find_submission(lab, student)
        return float(submission.score), float(submission.max_score)
    return _with_gradebook(course, read)


def _max_score(course: Course, lab: str) -> float | None:
    def read(gb):
        try:
            return float(gb.find_assignment(lab).max_score)
        except MissingEntry:
            return None
    return _with_gradebook(course, read)


# -- the whole lab ------------------------------------------------------------------------------

def _check_writable(course: Course) -> None:
    for folder in (course.root / "autograded", course.records_dir, course.root):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            probe = folder / ".write-probe"
            probe.write_bytes(b"x" * 65536)
            probe.unlink()
        except OSError as error:
            raise CourseError(f"Cannot write grading results to {folder}: {error.strerror}. "
                              "Free some space or fix the folder's permissions, then run the command again.")


def ensure_in_gradebook(course: Course, lab: str) -> None:
    """Make sure nbgrader's gradebook knows the lab (a fresh clone has no gradebook.db yet)."""
    def known(gb):
        try:
            return bool(gb.find_assignment(lab).notebooks)
        except MissingEntry:
            return False
    if not _with_gradebook(course, known):
        from .release import release_lab
        leaks = release_lab(course, lab)
        if leaks:
            raise CourseError(f"{lab} cannot be graded: its release leaks secrets:\n" +
                              "\n".join(map(str, leaks)))


def _worker_env(root: str, workers: int) -> None:
    # Kernels inherit the worker's stderr: send their chatter to a log file, not the terminal.
    logs = Path(root) / ".autograder" / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    with open(logs / f"worker-{os.getpid()}.log", "ab") as log:
        os.dup2(log.fileno(), 2)
    # nbgrader's gradebook code trips SQLAlchemy 2 warnings that say nothing about the submission.
    warnings.filterwarnings("ignore", category=SAWarning)
    # Kernels inherit this: N kernels side by side share the cores instead of each taking all.
    threads = str(max(1, (os.cpu_count() or 1) // workers))
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = threads


def grade(course: Course, lab: str, *, workers: int | None = None, force: bool = False,
          progress: bool = True, sandbox: bool = True) -> list[Outcome]:
    """Grade every ``submitted/<student>/<lab>/``; returns one outcome per student, in name order.

    Each kernel runs in the sandbox; without one, grading refuses unless ``sandbox=False``.
    """
    course.check_lab(lab)
    workers = workers or os.cpu_count() or 1
    if workers < 1:
        raise CourseError("--workers must be at least 1.")
    problem = sandbox and sandbox_problem()
    if problem:
        raise CourseError(f"Students' code cannot be sandboxed here: {problem} Grading refuses to run it "
                          "with your rights; fix that, or pass --unsafe-no-sandbox if you trust every submission.")
    _check_writable(course)
    ensure_in_gradebook(course, lab)
    outcomes, todo = {}, {}
    for student in course.students(lab):
        prints = submission_fingerprint(course, lab, student)
        previous = load_record(course, lab, student)
        if not force and previous and previous.fingerprint == prints and previous.status in FINAL:
            previous.skipped = True
            outcomes[student] = previous
        else:
            todo[student] = prints
    with tqdm(total=len(todo), desc=f"grading {lab}", unit="submission", disable=not progress or not todo,
              dynamic_ncols=True) as bar:
        def record(outcome: Outcome) -> None:
            outcome.fingerprint = todo[outcome.student]
            save_record(course, outcome)
            outcomes[outcome.student] = outcome
            bar.update()
            bar.set_postfix_str(f"{outcome.student}: {outcome.status}", refresh=False)

        crashed = _run_pool(course, lab, list(todo), workers, sandbox, record)
        for student in crashed:  # a second try, alone, so that a crash is pinned on its own submission
            if _run_pool(course, lab, [student], workers, sandbox, record):
                record(Outcome(student, lab, ERROR, "the grading worker process died twice on this submission"))
    return [outcomes[s] for s in sorted(outcomes)]


@functools.cache
def _worker_context():
    """Workers fork from a server that has imported nbgrader once: starting one takes milliseconds."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["autograder.grade"])
    return context


def _run_pool(course: Course, lab: str, students: list[str], workers: int, sandbox: bool, record) -> list[str]:
    """Grade ``students`` in a pool of worker processes, recording each outcome as it comes.

    Returns the students whose grading was cut short because a worker process died (the pool is
    then broken, so every submission still in it is returned, to be tried again).
    """
    crashed = []
    if not students:
        return crashed
    with ProcessPoolExecutor(max_workers=min(workers, len(students)), initializer=_worker_env,
                             initargs=(str(course.root), workers), mp_context=_worker_context()) as pool:
        futures = {pool.submit(grade_submission, str(course.root), lab, s, sandbox): s for s in students}
        for future in as_completed(futures):
            student = futures[future]
            try:
                record(future.result())
            except BrokenProcessPool:
                crashed.append(student)
            except Exception as error:  # a bug in the grader itself: record it, grade the others
                record(Outcome(student, lab, ERROR, f"{type(error).__name__}: {error}"))
    return sorted(crashed)
