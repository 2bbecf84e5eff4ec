"""A test fixed and the lab released again after students started: those who worked on the first release are
graded by the fixed test without being told they edited it; a student who did edit a test still is."""
import copy
from pathlib import Path

import nbformat
import pytest

from autograder.course import Course, CourseError
from autograder.demo import scratch_course
from autograder.grade import grade
from autograder.records import load_record
from autograder.release import release_lab
from autograder.sandbox import sandbox_problem
from autograder.submissions import solved, submit

KIT = Course(Path(__file__).resolve().parents[1])
LAB = "lab1_initialization"
PROBLEM = sandbox_problem()


def grade_id(cell):
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


@pytest.mark.slow
@pytest.mark.skipif(PROBLEM is not None, reason=f"no sandbox possible here: {PROBLEM}")
def test_students_who_started_from_the_first_release_are_not_told_they_edited_the_fixed_test(tmp_path):
    course = scratch_course(KIT, tmp_path, [LAB])
    assert release_lab(course, LAB) == []
    first = solved(course, LAB)
    tampered = copy.deepcopy(first)
    next(cell for cell in tampered.cells if grade_id(cell) == "test_compute_cost").source = "pass"
    submit(course, "worked_on_the_first", LAB, first)
    submit(course, "edited_a_test", LAB, tampered)

    source = nbformat.read(course.source_notebook(LAB), as_version=4)  # the instructor fixes a test
    next(cell for cell in source.cells if grade_id(cell) == "test_predict").source += "\nprint('predict: fixed')"
    nbformat.write(source, course.source_notebook(LAB))
    with pytest.raises(CourseError, match=rf"^release/{LAB} is not what source/{LAB} generates \({LAB}.ipynb: "
                       rf"differs from what source/ generates\): source/ changed since the lab was last released, or "
                       rf"release/ did. Students would be graded by the tests of that earlier release. Release it "
                       rf"again \(python -m autograder release {LAB}\), then grade"):
        grade(course, LAB, workers=2, progress=False)  # before: the canary failed, and its advice was the doctor's
    assert load_record(course, LAB, "worked_on_the_first") is None
    assert release_lab(course, LAB) == []
    assert len(list(course.earlier_releases_dir(LAB).glob("*.ipynb"))) == 1
    assert release_lab(course, LAB) == []  # the same release again keeps nothing more
    assert len(list(course.earlier_releases_dir(LAB).glob("*.ipynb"))) == 1

    outcomes = {o.student: o for o in grade(course, LAB, workers=2, progress=False)}
    honest, edited = outcomes["worked_on_the_first"], outcomes["edited_a_test"]
    assert (honest.status, honest.detail) == ("graded", "") and honest.score > 0
    graded = nbformat.read(course.autograded_notebook("worked_on_the_first", LAB), as_version=4)
    test = next(cell for cell in graded.cells if grade_id(cell) == "test_predict")
    assert "predict: fixed" in "".join(output.get("text", "") for output in test.outputs)  # graded by the fix
    assert edited.status == "tests_changed" and edited.detail.startswith("edited test cell(s) test_compute_cost:")
    assert edited.score == honest.score
