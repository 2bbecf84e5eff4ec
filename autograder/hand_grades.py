"""Hand grades across a regrade.

nbgrader's autograde marks every grade that has a hand score as needing review again, even when what was graded is
unchanged (a regrade after a test was fixed, ``grade --force``): the instructor would grade every written answer of
the class a second time, and review again every automatic score they had overridden. A hand grade stands when what
it was given for is unchanged: a written answer's text and points; for a test whose automatic score was overridden,
the test, its points, the student's code and the automatic score. Else it waits for review, as nbgrader has it
(its old hand score is then left out of the totals: ``export.final_score``).
"""
from __future__ import annotations

from nbgrader import utils
from nbgrader.api import Gradebook, MissingEntry

WAITING_KINDS = "written answers, or test scores you set by hand that wait for review again"  # what ``waiting`` counts


def waiting(answers: int, submissions: int) -> str:
    """What waits to be graded by hand, as grade, feedback and export count it: "N answers in M submissions wait to be
    graded by hand"."""
    return (f"{answers} answer{'s' if answers != 1 else ''} in {submissions} "
            f"submission{'s' if submissions != 1 else ''} wait{'' if answers != 1 else 's'} to be graded by hand")


def graded_for(nb) -> dict[str, tuple]:
    """grade_id -> what a hand grade of the cell is given for, of each cell of a graded notebook: a written answer (a
    Markdown cell graded by hand), its points and text; a test cell, its points, its source and the student's code
    (each code solution cell's source: a changed written answer changes no test's result)."""
    code = tuple(cell.source for cell in nb.cells if utils.is_solution(cell) and cell.cell_type == "code")
    found = {}
    for cell in nb.cells:
        if not utils.is_grade(cell):
            continue
        points = float(cell.metadata.nbgrader.get("points", 0))
        if cell.cell_type == "markdown" and utils.is_solution(cell):
            found[cell.metadata.nbgrader["grade_id"]] = (points, cell.source)
        elif cell.cell_type == "code" and not utils.is_solution(cell):
            found[cell.metadata.nbgrader["grade_id"]] = (points, cell.source, code)
    return found


def _grades(gb: Gradebook, lab: str, student: str) -> dict:
    """grade_id -> the submission's grade in the gradebook (none if it has no graded notebook yet)."""
    try:
        return {grade.name: grade for grade in gb.find_submission_notebook(lab, lab, student).grades}
    except MissingEntry:
        return {}


def reviewed(gb: Gradebook, lab: str, student: str, graded) -> dict[str, tuple]:
    """grade_id -> (what it was graded for, its automatic score, its hand score, whether that hand grade stands:
    scored by hand and not waiting for review) of each graded cell of ``graded`` (the submission's graded notebook),
    read before a regrade."""
    grades = _grades(gb, lab, student)
    return {grade_id: (what, grade.auto_score, grade.manual_score,
                       grade.manual_score is not None and not grade.needs_manual_grade)
            for grade_id, what in graded_for(graded).items() if (grade := grades.get(grade_id)) is not None}


def keep_reviewed(gb: Gradebook, lab: str, student: str, graded, before: dict[str, tuple]) -> list[str]:
    """After a regrade, a hand grade stands again, not waiting for review, where ``graded`` (the new graded notebook)
    still has what it was given for, with the same automatic score, and the cell has a hand score now: one that stood
    before the regrade (``before``: ``reviewed``), or one a grader saved while the notebook was regraded (a hand score
    other than before's, which nbgrader's autograde then marked for review). A hand score cleared meanwhile waits, as
    the grader left it. Returns the grade ids of the hand grades that stand."""
    now, grades = graded_for(graded), _grades(gb, lab, student)
    kept = []
    for grade_id, (what, auto_score, manual_score, stood) in before.items():
        grade = grades.get(grade_id)
        if (grade is not None and grade.manual_score is not None and now.get(grade_id) == what
                and grade.auto_score == auto_score and (stood or grade.manual_score != manual_score)):
            grade.needs_manual_grade = False
            kept.append(grade_id)
    gb.db.commit()
    return kept
