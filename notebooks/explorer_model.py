"""The small network behind learning_rate_explorer.ipynb: 2 inputs, one hidden layer, one output probability.

Its parameters are one flat float64 vector ``theta`` (``unpack`` shows it as the layers' weights and biases).
It is trained by full-batch gradient descent on theta with **numerical** gradients (centred differences from
``course_utils.gradcheck.numerical_gradient``): writing the layers' initialization, forward and backward passes
and updates is the job of the labs. With a few dozen parameters this is fast enough for sliders.

Settings (the explorer's sliders): "learning rate" (float > 0), "hidden units" (int), "activation"
("relu", "tanh", "sigmoid", or "none": no activation, the hidden layer stays linear), "loss" ("bce":
binary cross-entropy, or "mse": squared error of the probability with the labs' convention
1/(2N) * sum (p - y)^2, both averaged over the N samples), "initialization" ("zeros", "random" with
standard deviation "scale", "xavier" or "he"), "scale" (float) and "iterations" (int).
"""
import numpy as np

from course_utils.gradcheck import numerical_gradient


def sigmoid(z):
    """1 / (1 + exp(-z)), computed without overflow for any z."""
    return np.exp(-np.logaddexp(0.0, -z))


ACTIVATIONS = {
    "relu": lambda z: np.maximum(z, 0.0),
    "tanh": np.tanh,
    "sigmoid": sigmoid,
    "none": lambda z: z,  # no activation: the network is a linear map followed by the output's sigmoid
}
LOSSES = {  # the mean loss over the samples, from the output scores z (N,) and the labels y (N,)
    "bce": lambda z, y: np.mean(np.logaddexp(0.0, z) - y * z),  # -mean(y log p + (1 - y) log(1 - p)), stably
    "mse": lambda z, y: np.mean((sigmoid(z) - y) ** 2) / 2,
}
WEIGHT_STD = {  # the standard deviation of a layer's weights, by initialization
    "zeros": lambda fan_in, fan_out, scale: 0.0,
    "random": lambda fan_in, fan_out, scale: scale,
    "xavier": lambda fan_in, fan_out, scale: np.sqrt(2.0 / (fan_in + fan_out)),
    "he": lambda fan_in, fan_out, scale: np.sqrt(2.0 / fan_in),
}
INITIALIZATIONS = tuple(WEIGHT_STD)


def unpack(theta):
    """Views of theta, float64 (4H + 1,) for H hidden units: {"W1": (2, H), "b1": (H,), "W2": (H, 1), "b2": (1,)}."""
    H = (theta.size - 1) // 4
    return {"W1": theta[:2 * H].reshape(2, H), "b1": theta[2 * H:3 * H],
            "W2": theta[3 * H:4 * H].reshape(H, 1), "b2": theta[4 * H:]}


def init_theta(n_hidden, initialization, scale=1.0, seed=0):
    """theta (float64, (4 * n_hidden + 1,)): normal weights with ``WEIGHT_STD[initialization]``, zero biases."""
    if initialization not in WEIGHT_STD:
        raise ValueError(f"Unknown initialization {initialization!r}: use one of {INITIALIZATIONS}.")
    theta = np.random.default_rng(seed).standard_normal(4 * n_hidden + 1)
    layers = unpack(theta)
    layers["W1"] *= WEIGHT_STD[initialization](2, n_hidden, scale)
    layers["W2"] *= WEIGHT_STD[initialization](n_hidden, 1, scale)
    layers["b1"][:], layers["b2"][:] = 0.0, 0.0
    return theta


def output_score(theta, X, activation):
    """The output unit's score z (its probability is sigmoid(z)): float64 (N,) for X of shape (N, 2)."""
    layers = unpack(theta)
    hidden = ACTIVATIONS[activation](X @ layers["W1"] + layers["b1"])
    return (hidden @ layers["W2"] + layers["b2"]).reshape(-1)


def train(settings, X, y, seed=0):
    """Train with ``settings`` (see the module docstring) on X (N, 2), y (N,) int labels.

    Returns (costs: list of floats, one per iteration, predict: function (M, 2) -> (M,) probabilities).
    Training stops at the first cost that is NaN or infinite (the run diverged).
    """
    activation, loss = settings["activation"], settings["loss"]
    if activation not in ACTIVATIONS or loss not in LOSSES:
        raise ValueError(f"activation must be one of {tuple(ACTIVATIONS)} and loss one of {tuple(LOSSES)}; "
                         f"got {activation!r} and {loss!r}.")
    theta = init_theta(settings["hidden units"], settings["initialization"], settings["scale"], seed)
    targets = np.asarray(y, dtype=np.float64).reshape(-1)

    def cost(at):
        return float(LOSSES[loss](output_score(at, X, activation), targets))

    costs = []
    for _ in range(settings["iterations"]):
        costs.append(cost(theta))
        if not np.isfinite(costs[-1]):
            break
        theta = theta - settings["learning rate"] * numerical_gradient(cost, theta)
    return costs, lambda points: sigmoid(output_score(theta, points, activation))
