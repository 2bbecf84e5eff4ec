"""Labs 6 and 7 graded end to end (real nbgrader, sandboxed kernels, the judge): honest submissions of every
kind get exactly what they earn, and each classic mistake loses the points of its own question only, including
mistakes in functions that other graded functions call (Lab 7: backward under layer_gradient_norms and,
through train, under success_rate).

One scratch course per lab is released and graded once (in parallel); each test checks one kind of submission.
"""
import pytest

from autograder.submissions import PLANTED_MISTAKES, PlantedMistake, solved, untouched, with_mistake
from test_lab6_reference import altered as altered_lab6
from test_lab7_reference import altered as altered_lab7
from test_pipeline import auto_points, graded_course, with_warning, without_first_test_cell

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("pipeline")]

# lab -> (how a solution cell is changed, the slightly wrong submissions:
#         {student: (the solution cell changed, the question that must lose its points, old code, new code)})
LABS = {
    "lab6_optimizers": (altered_lab6, {
        "momentum_sign": ("momentum_update", "test_momentum_update", "params[key] -= lr * v", "params[key] += lr * v"),
        "eps_inside_root": ("rmsprop_update", "test_rmsprop_update", "params[key] -= lr * g / (np.sqrt(s) + eps)",
                            "params[key] -= lr * g / np.sqrt(s + eps)"),
        "adam_eps_default": ("adam_update", "test_adam_update", "eps=1e-8", "eps=1e-7"),  # only the hidden tests see it
        "drops_last_batch": ("iterate_minibatches", "test_iterate_minibatches",
                             "for start in range(0, len(order), batch_size):",
                             "for start in range(0, len(order) - batch_size + 1, batch_size):"),
        "sgd_returns_new": ("sgd_update", "test_sgd_update", "        params[key] -= lr * grads[key]",
                            "        params = {**params, key: params[key] - lr * grads[key]}"),
    }),
    "lab7_architectures": (altered_lab7, {
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
    }),
}
MISTAKEN = [(lab, student) for lab, (_, mistakes) in LABS.items() for student in [*sorted(mistakes), "planted"]]


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """lab -> (course, lab, outcomes, export rows) of its scratch course, graded the first time it is asked for."""
    courses = {}

    def make(course, lab):
        altered, mistakes = LABS[lab]
        good = solved(course, lab)
        submissions = {"correct": good, "untouched": untouched(course, lab), "warnings": with_warning(good),
                       "deleted_test": without_first_test_cell(good),
                       "malformed": course.release_notebook(lab).read_text()[:400],
                       "planted": with_mistake(course, lab)}
        for student, (solution_id, question_id, old, new) in mistakes.items():
            mistake = PlantedMistake(solution_id, question_id, altered(solution_id, old, new))
            submissions[student] = with_mistake(course, lab, mistake)
        return submissions

    def get(lab):
        if lab not in courses:
            courses[lab] = graded_course(tmp_path_factory, lab, make)
        return courses[lab]
    return get


@pytest.mark.parametrize("lab", LABS)
def test_the_solution_with_or_without_warnings_or_a_deleted_test_cell_gets_every_point(graded, lab):
    course, lab, outcomes, rows = graded(lab)
    full = sum(auto_points(course, lab).values())
    for student in ("correct", "warnings", "deleted_test"):
        assert outcomes[student].score == full, (student, outcomes[student].detail)
    assert outcomes["correct"].status == outcomes["warnings"].status == "graded"
    assert outcomes["deleted_test"].status == "tests_changed"


@pytest.mark.parametrize("lab", LABS)
def test_untouched_and_malformed_get_zero(graded, lab):
    _, _, outcomes, rows = graded(lab)
    assert outcomes["untouched"].status == "graded" and outcomes["untouched"].score == 0
    assert outcomes["malformed"].status == "malformed_notebook" and rows["malformed"]["total"] == "0"


@pytest.mark.parametrize(("lab", "student"), MISTAKEN)
def test_each_classic_mistake_loses_exactly_its_question(graded, lab, student):
    course, lab, outcomes, rows = graded(lab)
    points = auto_points(course, lab)
    mistakes = LABS[lab][1]
    lost = mistakes[student][1] if student in mistakes else PLANTED_MISTAKES[lab].question_id
    assert outcomes[student].status == "graded"
    assert float(rows[student][lost]) == 0
    assert {q: float(rows[student][q]) for q in points if q != lost} == {q: p for q, p in points.items() if q != lost}
    assert outcomes[student].score == sum(points.values()) - points[lost]
