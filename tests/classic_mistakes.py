"""Classic mistakes in Labs 6 and 7, each in one graded function: graded end to end beside each lab's round trip
(test_pipeline.py), each must lose the points of its own question only (test_lab_grading.py). They include
mistakes in functions that other graded functions call (Lab 7: backward under layer_gradient_norms and, through
train, under success_rate; identity under forward), mistakes only the hidden tests see, and mistakes that the
in-process catalogue (mistakes.py, test_mistakes_cost_once.py) does not plant. A plain mistake in a function that no
other graded function calls, already in the catalogue, is not graded here again: the catalogue asserts it."""
from typing import NamedTuple

from autograder.submissions import PlantedMistake
from test_lab6_reference import altered as altered_lab6
from test_lab7_reference import altered as altered_lab7


class Change(NamedTuple):
    solution_id: str  # the solution cell changed
    question_id: str  # the question that must lose its points
    old: str          # a piece of the solution's code ...
    new: str          # ... and what the student wrote instead


# lab -> {student: their change}
CHANGES = {
    "lab6_optimizers": {
        "eps_inside_root": Change("rmsprop_update", "test_rmsprop_update",
                                  "params[key] -= lr * g / (np.sqrt(s) + eps)",
                                  "params[key] -= lr * g / np.sqrt(s + eps)"),
        "adam_eps_default": Change("adam_update", "test_adam_update",  # only the hidden tests see it
                                   "eps=1e-8", "eps=1e-7"),
        "sgd_returns_new": Change("sgd_update", "test_sgd_update", "        params[key] -= lr * grads[key]",
                                  "        params = {**params, key: params[key] - lr * grads[key]}"),
    },
    "lab7_architectures": {
        "derivative_float64": Change("identity", "test_identity",
                                     "dA_dZ = np.ones_like(Z)", "dA_dZ = np.ones(Z.shape)"),
        "bias_gradient_mean": Change("backward", "test_backward",
                                     'grads[f"b{layer}"] = dZ.sum(axis=0)', 'grads[f"b{layer}"] = dZ.mean(axis=0)'),
        "he_for_random": Change("success_rate", "test_success_rate",  # only the hidden tests see it
                                '"random", scale=1.0', '"he"'),
    },
}
# lab -> {student: a correct answer written another way}: every point
EQUIVALENT = {
    "lab6_optimizers": {
        "rng_wrapped": Change("iterate_minibatches", "test_iterate_minibatches", "order = rng.permutation(X.shape[0])",
                              "rng = np.random.default_rng(rng)\n    order = rng.permutation(X.shape[0])"),
    },
}
ALTERED = {"lab6_optimizers": altered_lab6, "lab7_architectures": altered_lab7}


def classic_mistakes(lab: str, changes: dict = CHANGES) -> dict[str, PlantedMistake]:
    """student -> their mistake in ``lab`` (none for a lab not in ``changes``; ``EQUIVALENT``: their other way)."""
    return {student: PlantedMistake(change.solution_id, change.question_id,
                                    ALTERED[lab](change.solution_id, change.old, change.new))
            for student, change in changes.get(lab, {}).items()}
