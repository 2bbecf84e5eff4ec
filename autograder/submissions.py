"""Sample submissions made from a lab's student version: solved, untouched, with a planted mistake.

The demo and the tests use them to show what grading does with each kind of submission.
"""
from __future__ import annotations

import copy
import importlib
from pathlib import Path

import nbformat

from .course import Course
from .hidden.common import PlantedMistake

WRITTEN_ANSWER = "(The student's written answer, graded by hand.)"


def planted_mistake(lab: str) -> PlantedMistake:
    """The lab's planted mistake, kept with its hidden tests (``autograder.hidden.<labN>.PLANTED_MISTAKE``)."""
    module = importlib.import_module(f"autograder.hidden.{lab.split('_')[0]}")
    return module.PLANTED_MISTAKE


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


def with_mistake(course: Course, lab: str, mistake: PlantedMistake | None = None) -> nbformat.NotebookNode:
    """A solved notebook with one planted mistake (by default, the lab's own)."""
    mistake = mistake or planted_mistake(lab)
    nb = solved(course, lab)
    cells = _solution_cells(nb)
    if mistake.solution_id not in cells:
        raise KeyError(f"{lab} has no solution cell {mistake.solution_id!r}; it has {sorted(cells)}")
    cells[mistake.solution_id].source = mistake.code
    return nb


def every_function_loops(nb):
    """Each graded function of the notebook starts with an endless loop."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if cell.get("metadata", {}).get("nbgrader", {}).get("solution") and cell.cell_type == "code":
            cell.source = "\n".join(line + ("\n    while True:\n        pass" if line.startswith("def ") else "")
                                    for line in cell.source.splitlines())
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
