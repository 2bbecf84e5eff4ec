"""Labs 6 and 7 graded end to end (real nbgrader, sandboxed kernels, the judge): honest submissions of every
kind get exactly what they earn, and each classic mistake (``classic_mistakes.py``) loses the points of its own
question only, including mistakes in functions that other graded functions call.

Each lab's scratch course is the one test_pipeline.py grades for its round trip (``graded_lab``), graded once
for both modules; each test checks one kind of submission.
"""
import pytest

from autograder.submissions import PLANTED_MISTAKES
from classic_mistakes import CHANGES, EQUIVALENT
from test_pipeline import auto_points, graded_lab  # noqa: F401 -- graded_lab is the shared fixture

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("pipeline")]

LABS = list(CHANGES)
MISTAKEN = [(lab, student) for lab in LABS for student in [*sorted(CHANGES[lab]), "one_mistake"]]


@pytest.mark.parametrize("lab", LABS)
def test_the_solution_with_or_without_warnings_or_a_deleted_test_cell_gets_every_point(graded_lab, lab):
    course, lab, outcomes, rows = graded_lab(lab)
    full = sum(auto_points(course, lab).values())
    for student in ("correct", "warnings", "deleted_test"):
        assert outcomes[student].score == full, (student, outcomes[student].detail)
    assert outcomes["correct"].status == outcomes["warnings"].status == "graded"
    assert outcomes["deleted_test"].status == "tests_changed"


@pytest.mark.parametrize(("lab", "student"), [(lab, student) for lab in EQUIVALENT for student in EQUIVALENT[lab]])
def test_a_correct_answer_written_another_way_gets_every_point(graded_lab, lab, student):
    """Lab 6: ``np.random.default_rng(rng)`` inside iterate_minibatches returns the generator given, as the judge's
    own (a real numpy Generator, made in the kernel)."""
    course, lab, outcomes, rows = graded_lab(lab)
    assert outcomes[student].status == "graded"
    assert outcomes[student].score == sum(auto_points(course, lab).values()), outcomes[student].detail


@pytest.mark.parametrize("lab", LABS)
def test_untouched_and_malformed_get_zero(graded_lab, lab):
    _, _, outcomes, rows = graded_lab(lab)
    assert outcomes["untouched"].status == "graded" and outcomes["untouched"].score == 0
    assert outcomes["malformed"].status == "malformed_notebook" and rows["malformed"]["total"] == "0"


@pytest.mark.parametrize(("lab", "student"), MISTAKEN)
def test_each_classic_mistake_loses_exactly_its_question(graded_lab, lab, student):
    course, lab, outcomes, rows = graded_lab(lab)
    points = auto_points(course, lab)
    lost = (CHANGES[lab][student] if student in CHANGES[lab] else PLANTED_MISTAKES[lab]).question_id
    assert outcomes[student].status == "graded"
    assert float(rows[student][lost]) == 0
    assert {q: float(rows[student][q]) for q in points if q != lost} == {q: p for q, p in points.items() if q != lost}
    assert outcomes[student].score == sum(points.values()) - points[lost]
