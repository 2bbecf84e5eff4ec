"""Classic mistakes in Labs 6 and 7, each in one graded function: graded end to end beside each lab's round trip
(test_pipeline.py), each must lose the points of its own question only (test_lab_grading.py). They include
mistakes in functions that other graded functions call (Lab 7: backward under layer_gradient_norms and, through
train, under success_rate)."""
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
        "momentum_sign": Change("momentum_update", "test_momentum_update",
                                "params[key] -= lr * v", "params[key] += lr * v"),
        "eps_inside_root": Change("rmsprop_update", "test_rmsprop_update",
                                  "params[key] -= lr * g / (np.sqrt(s) + eps)",
                                  "params[key] -= lr * g / np.sqrt(s + eps)"),
        "adam_eps_default": Change("adam_update", "test_adam_update",  # only the hidden tests see it
                                   "eps=1e-8", "eps=1e-7"),
        "drops_last_batch": Change("iterate_minibatches", "test_iterate_minibatches",
                                   "for start in range(0, len(order), batch_size):",
                                   "for start in range(0, len(order) - batch_size + 1, batch_size):"),
        "sgd_returns_new": Change("sgd_update", "test_sgd_update", "        params[key] -= lr * grads[key]",
                                  "        params = {**params, key: params[key] - lr * grads[key]}"),
    },
    "lab7_architectures": {
        "derivative_float64": Change("identity", "test_identity",
                                     "dA_dZ = np.ones_like(Z)", "dA_dZ = np.ones(Z.shape)"),
        "last_bias_only": Change("collapse_linear", "test_collapse_linear",
                                 'b = b @ params[f"W{layer}"] + params[f"b{layer}"]', 'b = params[f"b{layer}"]'),
        "bias_gradient_mean": Change("backward", "test_backward",
                                     'grads[f"b{layer}"] = dZ.sum(axis=0)', 'grads[f"b{layer}"] = dZ.mean(axis=0)'),
        "one_seed_for_all": Change("success_rate", "test_success_rate",
                                   "scale=1.0, seed=seed)", "scale=1.0, seed=0)"),
        "he_for_random": Change("success_rate", "test_success_rate",  # only the hidden tests see it
                                '"random", scale=1.0', '"he"'),
        "norms_reversed": Change("layer_gradient_norms", "test_layer_gradient_norms",
                                 "for layer in range(1, L + 1)", "for layer in range(L, 0, -1)"),
        "dead_for_one_sample": Change("dead_fraction", "test_dead_fraction",
                                      "np.all(caches[layer][0] == 0, axis=0)", "np.any(caches[layer][0] == 0, axis=0)"),
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
