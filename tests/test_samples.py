"""The sample submissions' planted mistakes: one per lab, each replacing a real solution cell and aimed at a
real graded test cell of that lab (what the demo and the pipeline tests rely on)."""
from pathlib import Path

import nbformat
import pytest

from autograder.course import Course
from autograder.submissions import PLANTED_MISTAKES

COURSE = Course(Path(__file__).resolve().parents[1])


def test_every_lab_has_one_planted_mistake():
    assert sorted(PLANTED_MISTAKES) == COURSE.labs()


@pytest.mark.parametrize("lab", COURSE.labs())
def test_a_planted_mistake_replaces_a_solution_and_names_a_graded_test(lab):
    mistake = PLANTED_MISTAKES[lab]
    cells = {cell.metadata["nbgrader"]["grade_id"]: cell.metadata["nbgrader"]
             for cell in nbformat.read(COURSE.source_notebook(lab), as_version=4).cells
             if "grade_id" in cell.get("metadata", {}).get("nbgrader", {})}
    assert cells[mistake.solution_id].get("solution") and not cells[mistake.solution_id].get("grade")
    assert cells[mistake.question_id].get("grade") and not cells[mistake.question_id].get("solution")
    assert mistake.code.lstrip().startswith(("def ", "class ")) and mistake.solution_id in mistake.code
