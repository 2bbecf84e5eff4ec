"""``python -m autograder export``: the grade table, one row per (student, lab), a column per question."""
from __future__ import annotations

import collections
import csv
import io
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook, MissingEntry

from . import gradebook_schema  # noqa: F401 -- new gradebooks' schema version read in this process
from .course import Course, CourseError, command_line, in_course_root, sqlite_file, write_whole
from .gradebook_access import graded_submissions, require_released
from .hand_grades import waiting
from .records import UNGRADABLE, Outcome, Status, load_record, lost, unfinished

FIXED_LEFT = ["student_id", "lab"]
FIXED_RIGHT = ["total", "max_total", "status"]
NAMED = 5  # submissions named per lab in the pending answers' warning; the rest are counted


def question_ids(course: Course, lab: str) -> list[str]:
    """The grade ids of a lab's graded cells (tests and written answers), in notebook order."""
    nb = nbformat.read(course.source_notebook(lab), as_version=4)
    return [cell.metadata["nbgrader"]["grade_id"] for cell in nb.cells
            if cell.get("metadata", {}).get("nbgrader", {}).get("grade")]


def late_plugin(config):
    """nbgrader's late penalty plugin as the course's configuration sets it (``AssignLatePenalties.plugin_class``:
    by default ``LateSubmissionPlugin``, whose ``penalty_method`` is "none" or "zero")."""
    from nbgrader.preprocessors import AssignLatePenalties
    assign = AssignLatePenalties(config=config)
    assign.init_plugin()
    return assign.plugin_inst


def counted_score(submission) -> float:
    """A graded submission's score before any late penalty, leaving out the grades still to review by hand:
    nbgrader counts the old hand score of an answer changed since it was graded, the table shows it blank."""
    return sum(float(grade.score) for notebook in submission.notebooks for grade in notebook.grades
               if not grade.needs_manual_grade)  # not ``submission.score``: a query of its own, slow in a large course


def late_penalty(submission, score: float, plugin) -> float:
    """The late penalty of a submission whose counted score is ``score``, as nbgrader's ``AssignLatePenalties``
    computes it, but for the score as it is now: nbgrader's stays as it was at grading, before the hand grades
    (with "zero", a late submission got its hand-graded points back)."""
    if not submission.total_seconds_late:
        return 0.0
    penalty = plugin.late_submission_penalty(submission.student_id, score, submission.total_seconds_late)
    return 0.0 if penalty is None else min(max(float(penalty), 0.0), max(score, 0.0))


def final_score(submission, plugin) -> tuple[float, float]:
    """(total, late penalty) of a graded submission: its counted score (``counted_score``) less its late penalty
    (``late_penalty``), as the grade table and the student's page count it."""
    score = counted_score(submission)
    penalty = late_penalty(submission, score, plugin)
    return max(0.0, score - penalty), penalty


def question_columns(course: Course, labs: list[str]) -> dict[str, dict[str, str]]:
    """lab -> {grade id: its column}, in notebook order: a question's column is its grade id, or ``LAB/grade id`` where
    more than one of ``labs`` has a question of that id (two labs' "test_softmax_cross_entropy" are two questions)."""
    ids = {lab: question_ids(course, lab) for lab in labs}
    shared = {grade_id for grade_id in set().union(*ids.values())
              if sum(grade_id in lab_ids for lab_ids in ids.values()) > 1}
    return {lab: {grade_id: f"{lab}/{grade_id}" if grade_id in shared else grade_id for grade_id in lab_ids}
            for lab, lab_ids in ids.items()}


def _row(course: Course, lab: str, student: str, submission, lab_max: str, plugin, columns: dict[str, str]) -> dict:
    """A submission's row: its scores in the gradebook (``submission``: its graded submission there, or None), or 0
    with the reason; a queued one (``Outcome.queued``: a regrade has not started it yet) shows its last grading,
    whole. A record of a grading whose grades the gradebook does not hold (``records.lost``) shows as not graded."""
    row = {"student_id": student, "lab": lab}
    record = load_record(course, lab, student)
    if unfinished(record):  # a grading stopped half-way: what it left in the gradebook is half done
        record = Outcome(student, lab, Status.NOT_GRADED, "", max_score=record.max_score)
    if record is not None and record.status in (*UNGRADABLE, Status.NOT_GRADED):
        submission = None  # nothing graded this time: the gradebook holds an older grading, or half of one
    if submission is None:  # nothing graded (or only an older submission, or the gradebook lost it): zero, why
        row["total"] = "0"
        row["max_total"] = lab_max if record is None or record.max_score is None else f"{record.max_score:g}"
        row["status"] = Status.NOT_GRADED if record is None or lost(record, held=False) else record.status
        return row
    for notebook in submission.notebooks:
        for grade in notebook.grades:
            score = "" if grade.needs_manual_grade else f"{grade.score:g}"  # blank: still to grade
            row[columns.get(grade.name, grade.name)] = score
    row["total"], row["max_total"] = f"{final_score(submission, plugin)[0]:g}", f"{submission.max_score:g}"
    row["status"] = record.status if record else Status.GRADED
    if row["status"] == Status.GRADED and submission.needs_manual_grade:
        row["status"] = Status.NEEDS_MANUAL_GRADING
    return row


def grade_rows(course: Course, labs: list[str] | None = None) -> tuple[list[str], list[dict]]:
    """The CSV header and rows for every lab (or ``labs``) and every student who submitted it."""
    url = course.db_url()
    if (gradebook := sqlite_file(url)) and not gradebook.is_file():
        graded = sorted(folder.name for folder in course.records_dir.glob("*") if any(folder.glob("*.json")))
        if graded:  # the gradebook deleted, or moved, after gradings
            raise CourseError(f"The gradebook {gradebook} is gone, though {', '.join(graded)} "
                              f"{'were' if len(graded) > 1 else 'was'} graded here (the grading records are in "
                              f"{course.records_dir}): put it back from a backup, then run this again. Without one, "
                              f"release and grade {'each lab' if len(graded) > 1 else 'it'} again "
                              f"(`{course.command('release', graded[0])}`, then "
                              f"`{course.command('grade', graded[0])}`).")
        raise CourseError(f"This course has no gradebook yet ({gradebook}): nothing was "
                          f"released or graded here. Release a lab (`{course.command('release', 'LAB')}`), grade it "
                          f"(`{course.command('grade', 'LAB')}`), then run this again.")
    submitted = {lab: students for lab in labs or course.labs() if (students := course.students(lab))}
    columns = question_columns(course, list(submitted))
    questions, rows, plugin = [], [], late_plugin(course.config())
    with Gradebook(url) as gb:
        for lab, students in submitted.items():
            questions += [column for column in columns[lab].values() if column not in questions]
            try:  # the lab's points, for the rows without a graded notebook too
                lab_max = f"{gb.find_assignment(lab).max_score:g}"
            except MissingEntry:  # not released into this gradebook
                lab_max = ""
            held = graded_submissions(gb, lab, students)  # one query per lab, not one per student
            rows += [_row(course, lab, student, held.get(student), lab_max, plugin, columns[lab])
                     for student in students]
    return FIXED_LEFT + questions + FIXED_RIGHT, rows


def export(course: Course, out: Path | None = None, labs: list[str] | None = None) -> str:
    """Write the grade table (of every lab, or ``labs``) to ``out`` (default: grades.csv in the course root) and return
    its text; ``check_exportable`` first."""
    out = out or course.root / "grades.csv"
    header, rows = grade_rows(course, labs)
    check_exportable(course, rows, labs, out)
    return write_table(header, rows, out)


def check_exportable(course: Course, rows: list[dict], labs: list[str] | None, out: Path) -> None:
    """Raise CourseError when one of ``labs`` (None: every lab) was never released, or when ``rows`` is empty (no
    student submitted any of them): a table without rows would replace the instructor's last one at ``out``."""
    for lab in labs or []:
        require_released(course, lab, "export")
    if not rows:
        raise CourseError(f"No student has submitted {' or '.join(labs) if labs else 'any lab'} yet "
                          f"(submitted/<student>/<lab>/), so there is nothing to export: {out} was left as it was. "
                          "Collect the submissions, grade them, then export again.")


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # what a spreadsheet reads as the start of a formula


def read_as_formula(student: str) -> bool:
    """True if a spreadsheet opening the table would run the student id ``student`` (a folder name) as a formula."""
    return student.startswith(FORMULA_STARTS)


def write_table(header: list[str], rows: list[dict], out: Path) -> str:
    """Write ``rows`` as CSV to ``out``, whole or not at all, and return the text. A student id that a spreadsheet
    would run as a formula (``read_as_formula``: a hostile name, say) is written with a ' in front, as text."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=header, restval="", lineterminator="\n")
    writer.writeheader()
    writer.writerows({**row, "student_id": "'" + row["student_id"]} if read_as_formula(row["student_id"]) else row
                     for row in rows)
    text = buffer.getvalue()
    write_whole(out, text)
    return text


def formula_warning(rows: list[dict], file_name: str) -> str | None:
    """What to tell an instructor about the student ids in ``rows`` that ``write_table`` wrote with a ' in front, or
    None if there are none."""
    named = sorted({row["student_id"] for row in rows if read_as_formula(row["student_id"])})
    if not named:
        return None
    shown = ", ".join(repr(student) for student in named[:NAMED]) + (
        f" and {len(named) - NAMED} more" if len(named) > NAMED else "")
    return (f"warning: {len(named)} student id{'s' if len(named) != 1 else ''} in {file_name} start"
            f"{'' if len(named) != 1 else 's'} with =, +, -, @ or a tab, which a spreadsheet would run as a formula: "
            f"{shown}. {'They are' if len(named) != 1 else 'It is'} written with a ' in front, as text. Check "
            f"{'these folder names' if len(named) != 1 else 'that folder name'} in submitted/ before you upload the "
            "table.")


def pending_in_rows(rows: list[dict]) -> dict[str, dict[str, int]]:
    """lab -> row's student -> how many of the row's answers are still to grade by hand, whatever its status: the
    question cells of a graded notebook left blank (a row without a graded notebook has no question cells)."""
    pending = {}
    for row in rows:
        count = sum(value == "" for key, value in row.items() if key not in (*FIXED_LEFT, *FIXED_RIGHT))
        if count:
            pending.setdefault(row["lab"], {})[row["student_id"]] = count
    return pending


def pending_warning(rows: list[dict], file_name: str, root: Path) -> str | None:
    """What to tell an instructor about the answers still to grade by hand in ``rows`` of the course at ``root``
    (written answers, and test scores set by hand that wait for review), or None if there are none.

    Those rows' totals leave the answers out, and only the rows of notebooks whose automatic tests all ran say
    ``needs_manual_grading``: the warning names the others first, with their own status (``timeout``, ``hit_limit``,
    ...).
    """
    pending = pending_in_rows(rows)
    if not pending:
        return None
    status = {(row["lab"], row["student_id"]): row["status"] for row in rows}
    answers = sum(count for by_student in pending.values() for count in by_student.values())
    submissions = sum(map(len, pending.values()))
    labs = []
    for lab, by_student in pending.items():
        usual = {student for student in by_student if status[lab, student] == Status.NEEDS_MANUAL_GRADING}
        named = [f"{student} ({status[lab, student]})" for student in sorted(set(by_student) - usual)] + sorted(usual)
        more = len(named) - NAMED
        labs.append(f"{lab}: " + ", ".join(named[:NAMED]) + (f" and {more} more" if more > 0 else ""))
    return (f"warning: {waiting(answers, submissions)}; their cells in {file_name} are blank and the totals leave "
            f"them out ({'; '.join(labs)}). Grade them in nbgrader's formgrader (run "
            f"`{in_course_root(root, 'jupyter lab')}`, then Nbgrader > Formgrader > Manage Submissions) and export "
            "again.")


def ungraded_warning(rows: list[dict], file_name: str, root: Path) -> str | None:
    """What to tell an instructor about the submissions not graded yet in ``rows`` of the course at ``root`` (their
    total of 0 is no grade), or None if every submission was graded."""
    by_lab = _per_lab(row for row in rows if row["status"] == Status.NOT_GRADED)
    if not by_lab:
        return None
    count = sum(by_lab.values())
    regrade = command_line(root, "grade", next(iter(by_lab)) if len(by_lab) == 1 else "LAB")
    return (f"warning: {count} submission{'s' if count != 1 else ''} {'are' if count != 1 else 'is'} not graded yet "
            f"({', '.join(f'{lab}: {n}' for lab, n in by_lab.items())}); {'their rows' if count != 1 else 'its row'} "
            f"in {file_name} say{'' if count != 1 else 's'} {Status.NOT_GRADED}, with a total of 0. Grade "
            f"{'them' if count != 1 else 'it'} ({regrade}) and export again.")


def error_warning(rows: list[dict], file_name: str, root: Path) -> str | None:
    """What to tell an instructor about the rows of ``rows`` whose grading failed (``grading_error``: a student
    folder nbgrader cannot use, say; their total of 0 is no grade), or None if there are none."""
    failed = [row for row in rows if row["status"] == Status.ERROR]
    if not failed:
        return None
    named = ", ".join(f"{row['student_id']} ({row['lab']})" for row in failed[:NAMED])
    more = f" and {len(failed) - NAMED} more" if len(failed) > NAMED else ""
    which = command_line(root, "grade", failed[0]["lab"] if len({row["lab"] for row in failed}) == 1 else "LAB")
    return (f"warning: {len(failed)} row{'s' if len(failed) != 1 else ''} of {file_name} could not be graded "
            f"({Status.ERROR}, a total of 0 that is no grade): {named}{more}. `{which}` prints why for each (in its "
            "detail column) and what to do; then grade again and export again.")


def queued_warning(course: Course, rows: list[dict], file_name: str, again: str = "export again") -> str | None:
    """What to tell an instructor about the rows (of ``rows``, written to ``file_name``) that show a submission's
    grading from before a regrade that has not reached it yet (``records.mark_to_grade``: a run under way, or one
    stopped), or None if there are none; ``again``: what to do once it is graded."""
    by_lab = _per_lab(row for row in rows if row["status"] != Status.NOT_GRADED  # those ungraded_warning counts
                      and (record := load_record(course, row["lab"], row["student_id"])) and record.queued)
    if not by_lab:
        return None
    count = sum(by_lab.values())
    regrade = course.command("grade", next(iter(by_lab)) if len(by_lab) == 1 else "LAB")
    return (f"warning: {count} row{'s' if count != 1 else ''} of {file_name} "
            f"({', '.join(f'{lab}: {n}' for lab, n in by_lab.items())}) show{'' if count != 1 else 's'} the grading "
            f"from before a regrade that has not reached {'them' if count != 1 else 'it'} yet: the previous scores "
            f"and status. Let the regrade end (or, if it was stopped, finish it: {regrade}) and {again}.")


def _per_lab(rows) -> dict[str, int]:
    """lab -> how many of ``rows`` are of it, in the order of the rows."""
    return dict(collections.Counter(row["lab"] for row in rows))
