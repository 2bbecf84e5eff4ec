"""Lab 7 graded end to end (real nbgrader, sandboxed kernels, the judge): honest submissions of every kind
get exactly what they earn, and each classic mistake loses the points of its own question only, including
mistakes in the functions that other graded functions call (backward under layer_gradient_norms and, through
train, under success_rate).

One scratch course is released and graded once (in parallel); each test checks one kind of submission.
"""
import pytest

from autograder.submissions import PlantedMistake, solved, untouched, with_mistake
from test_lab7_reference import altered
from test_pipeline import auto_points, graded_course, with_warning, without_first_test_cell

LAB = "lab7_architectures"
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("pipeline")]

# Slightly wrong submissions: (the solution cell changed, the question that must lose its points, old, new).
MISTAKES = {
    "derivative_float64": ("identity", "test_identity", "dA_dZ = np.ones_like(Z)", "dA_dZ = np.ones(Z.shape)"),
    "last_bias_only": ("collapse_linear", "test_collapse_linear",
                       'b = b @ params[f"W{layer}"] + params[f"b{layer}"]', 'b = params[f"b{layer}"]'),
    "bias_gradient_mean": ("backward", "test_backward", 'grads[f"b{layer}"] = dZ.sum(axis=0)',
                           'grads[f"b{layer}"] = dZ.mean(axis=0)'),
    "one_seed_for_all": ("success_rate", "test_success_rate", "scale=1.0, seed=seed)", "scale=1.0, seed=0)"),
    "norms_reversed": ("layer_gradient_norms", "test_layer_gradient_norms", "for layer in range(1, L + 1)",
                       "for layer in range(L, 0, -1)"),
    "dead_for_one_sample": ("dead_fraction", "test_dead_fraction", "np.all(caches[layer][0] == 0, axis=0)",
                            "np.any(caches[layer][0] == 0, axis=0)"),
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    def make(course, lab):
        good = solved(course, lab)
        submissions = {"correct": good, "untouched": untouched(course, lab), "warnings": with_warning(good),
                       "deleted_test": without_first_test_cell(good),
                       "malformed": course.release_notebook(lab).read_text()[:400],
                       "planted": with_mistake(course, lab)}
        for student, (solution_id, question_id, old, new) in MISTAKES.items():
            code = altered(solution_id, old, new)
            submissions[student] = with_mistake(course, lab, PlantedMistake(solution_id, question_id, code))
        return submissions
    return graded_course(tmp_path_factory, LAB, make)


def test_the_solution_with_or_without_warnings_or_a_deleted_test_cell_gets_every_point(graded):
    course, lab, outcomes, rows = graded
    full = sum(auto_points(course, lab).values())
    assert full == 12
    for student in ("correct", "warnings", "deleted_test"):
        assert outcomes[student].score == full, (student, outcomes[student].detail)
    assert outcomes["correct"].status == outcomes["warnings"].status == "graded"
    assert outcomes["deleted_test"].status == "tests_changed"


def test_untouched_and_malformed_get_zero(graded):
    _, _, outcomes, rows = graded
    assert outcomes["untouched"].status == "graded" and outcomes["untouched"].score == 0
    assert outcomes["malformed"].status == "malformed_notebook" and rows["malformed"]["total"] == "0"


@pytest.mark.parametrize("student", sorted(MISTAKES) + ["planted"])
def test_each_classic_mistake_loses_exactly_its_question(graded, student):
    course, lab, outcomes, rows = graded
    points = auto_points(course, lab)
    lost = MISTAKES[student][1] if student in MISTAKES else "test_backward"
    assert outcomes[student].status == "graded"
    assert float(rows[student][lost]) == 0
    assert {q: float(rows[student][q]) for q in points if q != lost} == {q: p for q, p in points.items() if q != lost}
    assert outcomes[student].score == sum(points.values()) - points[lost]
