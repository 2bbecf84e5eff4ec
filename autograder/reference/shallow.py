"""The shallow network of Labs 1-3: n_x inputs, one tanh hidden layer of n_h units, n_y sigmoid outputs.

Row-major throughout: ``X`` is float (N, n_x), one sample per row; ``Y`` holds 0/1
targets of shape (N, n_y) (Labs 1-3 use n_y = 1). Parameters (and gradients, under
the same keys) are ``{"W1": (n_x, n_h), "b1": (n_h,), "W2": (n_h, n_y), "b2": (n_y,)}``.
The cost is chosen by ``loss``: "bce", the binary cross-entropy averaged over the N samples
(1/N convention, the default), or "mse", the mean squared error ``1/(2N) * sum((A2 - Y)**2)``
(1/(2N) convention, as ``losses.mse``).
"""
import numpy as np

from . import activations, init, layers, losses, optim

PARAMETER_KEYS = ("W1", "b1", "W2", "b2")
LOSSES = ("bce", "mse")


def _check_loss(loss):
    """Raise ValueError unless ``loss`` is one of ``LOSSES``."""
    if loss not in LOSSES:
        raise ValueError(f"Unknown loss {loss!r}: use one of {LOSSES}.")


def initialize_parameters(n_x, n_h, n_y, method="random", seed=0, scale=0.01, value=0.5):
    """Weights by ``method``, biases zero; every array float64.

    method: "zeros", "constant" (every weight equals ``value``), "random" (standard
    normal times ``scale``), "xavier" (std sqrt(2 / (fan_in + fan_out))) or "he"
    (std sqrt(2 / fan_in)). seed: int or ``numpy.random.Generator``; W1 is drawn
    first, then W2, from the same generator.
    Returns {"W1": (n_x, n_h), "b1": (n_h,), "W2": (n_h, n_y), "b2": (n_y,)}.
    """
    rng = np.random.default_rng(seed)

    def weights(fan_in, fan_out):
        return init.initialize(fan_in, fan_out, method, rng=rng, scale=scale, value=value, dtype=np.float64)

    return {"W1": weights(n_x, n_h), "b1": np.zeros(n_h),
            "W2": weights(n_h, n_y), "b2": np.zeros(n_y)}


def forward_propagation(X, params):
    """Forward pass ``A2 = sigmoid(tanh(X @ W1 + b1) @ W2 + b2)``.

    X: float (N, n_x); params as returned by ``initialize_parameters``.
    Returns (A2: (N, n_y) probabilities, cache: {"Z1", "A1": (N, n_h), "Z2", "A2": (N, n_y)}).
    """
    Z1, _ = layers.dense_forward(X, params["W1"], params["b1"])
    A1 = activations.tanh(Z1)
    Z2, _ = layers.dense_forward(A1, params["W2"], params["b2"])
    A2 = activations.sigmoid(Z2)
    return A2, {"Z1": Z1, "A1": A1, "Z2": Z2, "A2": A2}


def compute_cost(A2, Y, loss="bce"):
    """The cost of the predictions A2 as a Python float.

    loss="bce": binary cross-entropy ``-1/N * sum(Y log A2 + (1 - Y) log(1 - A2))``;
    loss="mse": mean squared error ``1/(2N) * sum((A2 - Y)**2)``.
    A2: float (N, n_y) probabilities; Y: 0/1 targets of the same shape (or (N,) when n_y = 1).
    """
    _check_loss(loss)
    cost, _ = (losses.bce if loss == "bce" else losses.mse)(A2, Y)
    return cost


def backward_propagation(params, cache, X, Y, loss="bce"):
    """Gradients of ``compute_cost(forward_propagation(X, params)[0], Y, loss)`` with respect to the parameters.

    params: as from ``initialize_parameters``; cache: from ``forward_propagation(X, params)``;
    X: float (N, n_x); Y: 0/1 targets (N, n_y).
    Returns grads with the keys and shapes of ``params``. The gradient at Z2 is ``(A2 - Y) / N``
    under cross-entropy (the sigmoid's derivative cancels) and ``(A2 - Y) * A2 * (1 - A2) / N``
    under the mean squared error.
    """
    _check_loss(loss)
    if loss == "bce":
        _, dZ2 = losses.bce_with_logits(cache["Z2"], Y)
    else:
        _, dA2 = losses.mse(cache["A2"], Y)
        dZ2 = activations.sigmoid_backward(dA2, cache["A2"])
    dA1, dW2, db2 = layers.dense_backward(dZ2, (cache["A1"], params["W2"]))
    dZ1 = activations.tanh_backward(dA1, cache["A1"])
    _, dW1, db1 = layers.dense_backward(dZ1, (X, params["W1"]), compute_dX=False)
    return {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}


def update_parameters(params, grads, learning_rate):
    """One gradient-descent step ``p - learning_rate * grads[p]`` for every parameter.

    Returns a new dict of new arrays; ``params`` and ``grads`` are left unchanged.
    """
    return {key: optim.sgd_step(params[key], grads[key], learning_rate) for key in params}


def nn_model(X, Y, n_h=2, num_iterations=1000, learning_rate=1.2, method="random", seed=0, scale=0.01,
             print_cost=False, loss="bce", initial_params=None):
    """Train the network by full-batch gradient descent on the cost ``loss`` ("bce" or "mse").

    X: float (N, n_x); Y: 0/1 targets (N, n_y). Parameters start from ``initial_params``
    (a params dict, copied, never changed) if given, else from
    ``initialize_parameters(n_x, n_h, n_y, method, seed, scale)``. Each iteration
    runs forward, records the cost, runs backward and updates the parameters; with
    ``print_cost`` it prints ``Cost after iteration# k: <cost>`` for k = 0, 100, 200, ...
    Returns (params after ``num_iterations`` updates, costs: list of ``num_iterations`` floats,
    the cost before each update).
    """
    _check_loss(loss)
    if initial_params is None:
        params = initialize_parameters(X.shape[1], n_h, Y.shape[1], method=method, seed=seed, scale=scale)
    else:
        params = {key: np.array(value, dtype=np.float64) for key, value in initial_params.items()}
    costs = []
    for iteration in range(num_iterations):
        A2, cache = forward_propagation(X, params)
        cost = compute_cost(A2, Y, loss)
        costs.append(cost)
        if print_cost and iteration % 100 == 0:
            print(f"Cost after iteration# {iteration}: {cost:.6f}")
        grads = backward_propagation(params, cache, X, Y, loss)
        params = update_parameters(params, grads, learning_rate)
    return params, costs


def predict(params, X):
    """Class predictions: 1 where the output probability exceeds 0.5, else 0.

    X: float (N, n_x). Returns int64 (N, n_y).
    """
    A2, _ = forward_propagation(X, params)
    return (A2 > 0.5).astype(np.int64)
