"""Statuses of graded submissions, the facts they come from, and the grader's record of each outcome.

``grade``, ``feedback`` and ``export`` share these names. A status is decided from ``Fact`` values that
the sandbox and the autograde preprocessors record (``findings.py``), never from the wording of a
message: rewording a message changes no status.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path

from .course import write_whole


class Status(StrEnum):
    """What grading one submission came to (the ``status`` column of the export)."""
    GRADED = "graded"                              # every automatic test ran
    NEEDS_MANUAL_GRADING = "needs_manual_grading"  # graded, written answers still to grade (export only)
    TESTS_CHANGED = "tests_changed"                # test cells edited, deleted, unmarked, duplicated or moved
    HIT_LIMIT = "hit_limit"                        # a cell hit a sandbox limit, the kernel went on
    TIMEOUT = "timeout"                            # a cell or the notebook ran out of time
    KERNEL_DIED = "kernel_died"                    # the kernel crashed or exited
    MALFORMED = "malformed_notebook"               # not a valid notebook
    MISSING = "missing_notebook"                   # no <lab>.ipynb in the submission's folder
    ERROR = "grading_error"                        # nbgrader or the grader failed on it
    NOT_GRADED = "not_graded"                      # submitted, never graded (export only)


FINAL = {Status.GRADED, Status.TIMEOUT, Status.MISSING, Status.MALFORMED, Status.KERNEL_DIED,
         Status.TESTS_CHANGED, Status.HIT_LIMIT}  # regraded only if something changed
UNGRADABLE = {Status.MISSING, Status.MALFORMED, Status.ERROR}  # nothing graded: the gradebook holds older results


class Fact(StrEnum):
    """Something the sandbox or a preprocessor saw while a notebook ran."""
    # the kernel died (the sandbox's exit kinds)
    WALL_TIME = "wall_time"          # the notebook's wall time ran out: the sandbox killed it
    CPU_TIME = "cpu_time"            # the CPU time limit killed it
    SIGNAL = "signal"                # another signal killed it (a crash, the out-of-memory killer)
    EXIT = "exit"                    # it exited
    # the kernel went on
    CELL_TIMEOUT = "cell_timeout"    # a cell (or its hidden checks) ran past its time limit and was stopped
    STARTUP_TIMEOUT = "startup_timeout"  # the kernel did not start in time
    MEMORY = "memory"                # a MemoryError
    PROCESSES = "processes"          # no more processes or threads
    FILE_SIZE = "file_size"          # a file past the size limit
    SCRATCH = "scratch"              # the scratch space is full
    OUTPUT_LINES = "output_lines"    # a cell printed more lines than kept
    OUTPUT_BUDGET = "output_budget"  # the notebook passed its output budget


DEATHS = {Fact.WALL_TIME, Fact.CPU_TIME, Fact.SIGNAL, Fact.EXIT}
OUT_OF_TIME = {Fact.WALL_TIME, Fact.CELL_TIMEOUT, Fact.STARTUP_TIMEOUT}


def status_of(facts, tests_changed: bool) -> Status:
    """The status of a graded notebook from its facts; the first of kernel_died, timeout, tests_changed, hit_limit."""
    facts = set(map(Fact, facts))
    if facts & DEATHS - {Fact.WALL_TIME}:
        return Status.KERNEL_DIED
    if facts & OUT_OF_TIME:
        return Status.TIMEOUT
    if tests_changed:
        return Status.TESTS_CHANGED
    return Status.HIT_LIMIT if facts else Status.GRADED


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
    changed_tests: dict[str, list[str]] = field(default_factory=dict)  # findings.changed_tests: kind -> grade ids
    lost_answers: dict[str, list[str]] = field(default_factory=dict)  # findings.lost_answer_marks: kind -> grade ids
    queued: bool = False  # a run means to grade it again and has not started it yet (``mark_to_grade``)


def record_path(course, lab: str, student: str) -> Path:
    """Where the outcome of a submission is recorded (``course`` is an ``autograder.course.Course``)."""
    return course.records_dir / lab / f"{student}.json"


def load_record(course, lab: str, student: str) -> Outcome | None:
    """The recorded outcome of a submission, or None if it was never graded (or its record is unreadable)."""
    try:
        outcome = Outcome(**json.loads(record_path(course, lab, student).read_text(encoding="utf-8")))
        outcome.status = Status(outcome.status)
        return outcome
    except (OSError, ValueError, TypeError):
        return None


def save_record(course, outcome: Outcome) -> None:
    data = asdict(outcome)
    data["skipped"] = False
    write_whole(record_path(course, outcome.lab, outcome.student), json.dumps(data, indent=1, sort_keys=True))


def mark_to_grade(course, lab: str, students) -> None:
    """Record that a run is about to grade these students' submissions: each one's record is marked ``queued`` and
    stays whole, so that export shows its outcome (and says a regrade has not reached it yet) while the run has not
    started it. Until a new outcome is recorded, the next run grades it again, even after a ``--force`` run whose
    fingerprints had not changed. A worker calls ``mark_started`` as it starts each one. A record whose last grading
    never ended (``unfinished``) is left as it is: the next run grades it again anyway."""
    for student in students:
        record = load_record(course, lab, student)
        if record is not None and record.fingerprint and not record.queued:
            record.queued = True
            save_record(course, record)


def mark_started(course, lab: str, student: str) -> None:
    """Record that a worker starts grading a submission, before nbgrader touches its gradebook rows or ``autograded/``:
    blank its record's fingerprint (its outcome stays, no longer ``queued``), or record "not graded" for one never
    graded before. Until its new outcome is recorded, ``unfinished`` tells feedback and export not to trust what a
    grading stopped half-way left there, and the next run grades it again."""
    record = load_record(course, lab, student)
    if record is None:
        record = Outcome(student, lab, Status.NOT_GRADED, "its grading was started and has not ended")
    record.fingerprint, record.queued = "", False
    save_record(course, record)


def unfinished(record: Outcome | None) -> bool:
    """Whether the last grading of a submission started and never ended (stopped, killed): its graded notebook and
    gradebook rows, if any, are half done. False for a submission never graded here (no record)."""
    return record is not None and not record.fingerprint


def regrade_pending(record: Outcome | None) -> bool:
    """Whether a grading of a submission was started (``unfinished``) or queued (``Outcome.queued``) and its outcome is
    not recorded yet: what it has now is half done or about to be replaced."""
    return unfinished(record) or (record is not None and record.queued)


def lost(record: Outcome | None, held: bool) -> bool:
    """Whether a submission's record says it was graded (a status with a graded notebook) while the gradebook holds no
    graded submission of theirs (``held`` False: ``gradebook_access.graded_submissions`` left them out): the gradebook
    was replaced by an empty one or restored from a copy older than that grading (or ``GRADEBOOK_URL`` names another
    database). Such a record is not trusted: ``grade`` grades the submission again (without ``--force``), ``export``
    and ``report`` count it as not graded, and ``feedback`` writes no page for it (and deletes none)."""
    return record is not None and not held and record.status not in (*UNGRADABLE, Status.NOT_GRADED)
