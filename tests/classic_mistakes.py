"""Classic mistakes in Labs 6 and 7, each in one graded function: graded end to end beside each lab's round trip
(test_pipeline.py), each must lose the points of its own question only (test_lab_grading.py). They include
mistakes in functions that other graded functions call (Lab 7: backward under layer_gradient_norms and, through
train, under success_rate)."""
from autograder.submissions import PlantedMistake
from test_lab6_reference import altered as altered_lab6
from test_lab7_reference import altered as altered_lab7


# lab -> {student: (the solution cell changed, the question that must lose its points, old code, new code)}
CHANGES = {
    "lab6_optimizers": {
        "momentum_sign": ("momentum_update", "test_momentum_update", "params[key] -= lr * v", "params[key] += lr * v"),
        "eps_inside_root": ("rmsprop_update", "test_rmsprop_update", "params[key] -= lr * g / (np.sqrt(s) + eps)",
                            "params[key] -= lr * g / np.sqrt(s + eps)"),
        "adam_eps_default": ("adam_update", "test_adam_update", "eps=1e-8", "eps=1e-7"),  # only the hidden tests see it
        "drops_last_batch": ("iterate_minibatches", "test_iterate_minibatches",
                             "for start in range(0, len(order), batch_size):",
                             "for start in range(0, len(order) - batch_size + 1, batch_size):"),
        "sgd_returns_new": ("sgd_update", "test_sgd_update", "        params[key] -= lr * grads[key]",
                            "        params = {**params, key: params[key] - lr * grads[key]}"),
    },
    "lab7_architectures": {
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
    },
}
ALTERED = {"lab6_optimizers": altered_lab6, "lab7_architectures": altered_lab7}


def classic_mistakes(lab: str) -> dict[str, PlantedMistake]:
    """student -> their mistake in ``lab`` (none for a lab not in ``CHANGES``)."""
    return {student: PlantedMistake(solution_id, question_id, ALTERED[lab](solution_id, old, new))
            for student, (solution_id, question_id, old, new) in CHANGES.get(lab, {}).items()}
