"""The small network behind learning_rate_explorer.ipynb: 2 inputs, one hidden layer, one output probability.

It is trained by full-batch gradient descent with **numerical** gradients (centred differences from
``course_utils.gradcheck.numerical_gradient``), not with a backward pass: writing backward passes is the
job of the labs. With a few dozen parameters this is fast enough for sliders.

Settings (the explorer's sliders): "learning rate" (float > 0), "hidden units" (int), "activation"
("relu", "tanh", "sigmoid", or "none": no activation, the hidden layer stays linear), "loss" ("bce":
binary cross-entropy, or "mse": squared error of the probability with the labs' convention
1/(2N) * sum (p - y)^2, both averaged over the N samples), "initialization" ("zeros", "random" with
standard deviation "scale", "xavier" or "he"), "scale" (float) and "iterations" (int).
"""
import numpy as np

from course_utils.gradcheck import numerical_gradient

ACTIVATIONS = {
    "relu": lambda z: np.maximum(z, 0.0),
    "tanh": np.tanh,
    "sigmoid": lambda z: np.exp(-np.logaddexp(0.0, -z)),
    "none": lambda z: z,  # no activation: the network is a linear map followed by the output's sigmoid
}
LOSSES = ("bce", "mse")
INITIALIZATIONS = ("zeros", "random", "xavier", "he")


def init_params(n_hidden, initialization, scale=1.0, seed=0):
    """Zero biases; weights by ``initialization`` (std ``scale``, sqrt(2/(fan_in+fan_out)) or sqrt(2/fan_in)).

    Returns {"W1": (2, n_hidden), "b1": (n_hidden,), "W2": (n_hidden, 1), "b2": (1,)}, float64.
    """
    if initialization not in INITIALIZATIONS:
        raise ValueError(f"Unknown initialization {initialization!r}: use one of {INITIALIZATIONS}.")
    rng = np.random.default_rng(seed)

    def weights(fan_in, fan_out):
        std = {"zeros": 0.0, "random": scale, "xavier": np.sqrt(2.0 / (fan_in + fan_out)),
               "he": np.sqrt(2.0 / fan_in)}[initialization]
        return rng.standard_normal((fan_in, fan_out)) * std

    return {"W1": weights(2, n_hidden), "b1": np.zeros(n_hidden), "W2": weights(n_hidden, 1), "b2": np.zeros(1)}


def output_score(params, X, activation):
    """The output unit's score z (its probability is sigmoid(z)): float64 (N,) for X of shape (N, 2)."""
    hidden = ACTIVATIONS[activation](X @ params["W1"] + params["b1"])
    return (hidden @ params["W2"] + params["b2"]).reshape(-1)


def cost(params, X, y, activation, loss):
    """Mean loss over the N samples; y: (N,) labels 0/1. BCE is computed from the score, stably; MSE is
    1/(2N) * sum (p - y)^2 of the probability p, the convention of the labs."""
    z = output_score(params, X, activation)
    if loss == "bce":
        return float(np.mean(np.logaddexp(0.0, z) - y * z))
    probability = ACTIVATIONS["sigmoid"](z)
    return float(np.mean((probability - y) ** 2) / 2)


def train(settings, X, y, seed=0):
    """Train with ``settings`` (see the module docstring) on X (N, 2), y (N,) int labels.

    Returns (costs: list of floats, one per iteration, predict: function (M, 2) -> (M,) probabilities).
    Training stops at the first cost that is NaN or infinite (the run diverged).
    """
    activation, loss = settings["activation"], settings["loss"]
    if activation not in ACTIVATIONS or loss not in LOSSES:
        raise ValueError(f"activation must be one of {tuple(ACTIVATIONS)} and loss one of {LOSSES}; "
                         f"got {activation!r} and {loss!r}.")
    params = init_params(settings["hidden units"], settings["initialization"], settings["scale"], seed)
    targets = np.asarray(y, dtype=np.float64).reshape(-1)
    costs = []
    for _ in range(settings["iterations"]):
        costs.append(cost(params, X, targets, activation, loss))
        if not np.isfinite(costs[-1]):
            break
        grads = {key: numerical_gradient(lambda _: cost(params, X, targets, activation, loss), value)
                 for key, value in params.items()}
        params = {key: value - settings["learning rate"] * grads[key] for key, value in params.items()}
    return costs, lambda points: ACTIVATIONS["sigmoid"](output_score(params, points, activation))
