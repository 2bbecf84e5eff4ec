"""Hand grades across a regrade.

nbgrader's autograde marks every grade that has a hand score as needing review again, even when the answer is
the very text that was graded (a regrade after a test was fixed, ``grade --force``): the instructor would grade
every written answer of the class a second time. A written answer graded by hand keeps its grade when its text
and its points are unchanged; a changed answer (or question) waits for review, as nbgrader has it (its old hand
score is then left out of the totals: ``export.final_score``).
"""
from __future__ import annotations

from nbgrader import utils
from nbgrader.api import Gradebook, MissingEntry


def written_answers(nb) -> dict[str, tuple[float, str]]:
    """grade_id -> (points, text) of each written answer (a Markdown cell graded by hand) of a graded notebook."""
    return {cell.metadata.nbgrader["grade_id"]: (float(cell.metadata.nbgrader.get("points", 0)), cell.source)
            for cell in nb.cells if cell.cell_type == "markdown" and utils.is_grade(cell) and utils.is_solution(cell)}


def _grades(gb: Gradebook, lab: str, student: str) -> dict:
    """grade_id -> the submission's grade in the gradebook (none if it has no graded notebook yet)."""
    try:
        return {grade.name: grade for grade in gb.find_submission_notebook(lab, lab, student).grades}
    except MissingEntry:
        return {}


def reviewed(gb: Gradebook, lab: str, student: str, graded) -> dict[str, tuple[float, str]]:
    """grade_id -> (points, text) of each written answer of ``graded`` (the submission's graded notebook, before a
    regrade) whose hand grade stands: scored by hand and not waiting for review."""
    grades = _grades(gb, lab, student)
    return {grade_id: answer for grade_id, answer in written_answers(graded).items()
            if grade_id in grades and grades[grade_id].manual_score is not None
            and not grades[grade_id].needs_manual_grade}


def keep_reviewed(gb: Gradebook, lab: str, student: str, graded,
                  before: dict[str, tuple[float, str]]) -> list[str]:
    """After a regrade, the hand grades of ``before`` (``reviewed``) whose answer in ``graded`` (the new graded
    notebook) reads the same, for as many points, stand again, not waiting for review; returns their grade ids."""
    now, grades = written_answers(graded), _grades(gb, lab, student)
    kept = [grade_id for grade_id, answer in before.items() if now.get(grade_id) == answer and grade_id in grades]
    for grade_id in kept:
        grades[grade_id].needs_manual_grade = False
    gb.db.commit()
    return kept
