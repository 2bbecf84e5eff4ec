"""Lab 6 graded end to end (real nbgrader, sandboxed kernels, the judge): honest submissions of every kind
get exactly what they earn, and each classic mistake loses the points of its own question only.

One scratch course is released and graded once (in parallel); each test checks one kind of submission.
"""
import pytest

from autograder.submissions import PlantedMistake, solved, untouched, with_mistake
from test_lab6_reference import altered
from test_pipeline import auto_points, graded_course, with_warning, without_first_test_cell

LAB = "lab6_optimizers"
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("pipeline")]

# Slightly wrong submissions: (the solution cell changed, the question that must lose its points, old, new).
MISTAKES = {
    "momentum_sign": ("momentum_update", "test_momentum_update", "params[key] -= lr * v", "params[key] += lr * v"),
    "eps_inside_root": ("rmsprop_update", "test_rmsprop_update", "params[key] -= lr * g / (np.sqrt(s) + eps)",
                        "params[key] -= lr * g / np.sqrt(s + eps)"),
    "adam_eps_default": ("adam_update", "test_adam_update", "eps=1e-8", "eps=1e-7"),  # only the hidden tests see it
    "drops_last_batch": ("iterate_minibatches", "test_iterate_minibatches",
                         "for start in range(0, len(order), batch_size):",
                         "for start in range(0, len(order) - batch_size + 1, batch_size):"),
    "sgd_returns_new": ("sgd_update", "test_sgd_update", "        params[key] -= lr * grads[key]",
                        "        params = {**params, key: params[key] - lr * grads[key]}"),
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    def make(course, lab):
        good = solved(course, lab)
        submissions = {"correct": good, "untouched": untouched(course, lab), "warnings": with_warning(good),
                       "deleted_test": without_first_test_cell(good),
                       "malformed": course.release_notebook(lab).read_text()[:400]}
        for student, (solution_id, question_id, old, new) in MISTAKES.items():
            code = altered(solution_id, old, new)
            submissions[student] = with_mistake(course, lab, PlantedMistake(solution_id, question_id, code))
        return submissions
    return graded_course(tmp_path_factory, LAB, make)


def test_the_solution_with_or_without_warnings_or_a_deleted_test_cell_gets_every_point(graded):
    course, lab, outcomes, rows = graded
    full = sum(auto_points(course, lab).values())
    for student in ("correct", "warnings", "deleted_test"):
        assert outcomes[student].score == full, (student, outcomes[student].detail)
    assert outcomes["correct"].status == outcomes["warnings"].status == "graded"
    assert outcomes["deleted_test"].status == "tests_changed"


def test_untouched_and_malformed_get_zero(graded):
    _, _, outcomes, rows = graded
    assert outcomes["untouched"].status == "graded" and outcomes["untouched"].score == 0
    assert outcomes["malformed"].status == "malformed_notebook" and rows["malformed"]["total"] == "0"


@pytest.mark.parametrize("student", sorted(MISTAKES))
def test_each_classic_mistake_loses_exactly_its_question(graded, student):
    course, lab, outcomes, rows = graded
    points = auto_points(course, lab)
    lost = MISTAKES[student][1]
    assert outcomes[student].status == "graded"
    assert float(rows[student][lost]) == 0
    assert {q: float(rows[student][q]) for q in points if q != lost} == {q: p for q, p in points.items() if q != lost}
    assert outcomes[student].score == sum(points.values()) - points[lost]
