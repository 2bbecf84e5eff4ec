"""Sample submissions made from a lab's student version: solved, untouched, with a planted mistake.

The demo and the tests use them to show what grading does with each kind of submission.
"""
from __future__ import annotations

import copy
from pathlib import Path

import nbformat

from .course import Course

WRITTEN_ANSWER = "(The student's written answer, graded by hand.)"


def _solution_cells(nb) -> dict:
    return {cell.metadata["nbgrader"]["grade_id"]: cell for cell in nb.cells
            if cell.get("metadata", {}).get("nbgrader", {}).get("solution")}


def _without_delimiters(source: str) -> str:
    return "\n".join(line for line in source.splitlines()
                     if "BEGIN SOLUTION" not in line and "END SOLUTION" not in line)


def solved(course: Course, lab: str) -> nbformat.NotebookNode:
    """The student version with every code solution filled in from source/ and every written answer given."""
    nb = nbformat.read(course.release_notebook(lab), as_version=4)
    answers = _solution_cells(nbformat.read(course.source_notebook(lab), as_version=4))
    for grade_id, cell in _solution_cells(nb).items():
        cell.source = _without_delimiters(answers[grade_id].source) if cell.cell_type == "code" else WRITTEN_ANSWER
    return nb


def untouched(course: Course, lab: str) -> nbformat.NotebookNode:
    """The student version exactly as released."""
    return nbformat.read(course.release_notebook(lab), as_version=4)


def with_mistake(course: Course, lab: str, grade_id: str, code: str) -> nbformat.NotebookNode:
    """A solved notebook whose solution cell ``grade_id`` is replaced by ``code``."""
    nb = solved(course, lab)
    cells = _solution_cells(nb)
    if grade_id not in cells:
        raise KeyError(f"{lab} has no solution cell {grade_id!r}; it has {sorted(cells)}")
    cells[grade_id].source = code
    return nb


def submit(course: Course, student: str, lab: str, nb: nbformat.NotebookNode | str) -> Path:
    """Place a submission at ``submitted/<student>/<lab>/<lab>.ipynb`` (a string is written as it is)."""
    folder = course.submission_dir(student, lab)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{lab}.ipynb"
    if isinstance(nb, str):
        path.write_text(nb)
    else:
        nbformat.write(copy.deepcopy(nb), path)
    return path
