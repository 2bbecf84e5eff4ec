"""Lab 2 (learning rates): gradient descent with a chosen learning rate, on the shallow network of Lab 1.

Built on ``autograder.reference.shallow`` (tanh hidden layer, sigmoid output, mean binary cross-entropy).
``X`` is float (N, n_x), ``Y`` holds 0/1 targets (N, 1); parameters are {"W1", "b1", "W2", "b2"}.

A training run returns a *history* dict:
    "costs": list of floats, the cost before each update (the cost of the initial parameters first);
    "learning_rates": list of floats, the learning rate of each update made;
    "path": list of float64 (P,) arrays, ``flatten_parameters`` of the parameters at which each cost was
        computed (so ``len(path) == len(costs)``);
    "params": the parameters after the last update (or where the run stopped);
    "diverged": bool, True when the run stopped early because the cost diverged;
    "message": None, or a sentence saying at which iteration the run stopped and why.
A run that diverges stops at the first cost that ``detect_divergence`` flags, before updating again,
so it records one more cost than learning rates.
"""
import numpy as np

from . import shallow


def update_parameters(params, grads, learning_rate):
    """One gradient-descent step ``p - learning_rate * grads[p]`` for every parameter, as new arrays.

    learning_rate must be a finite number > 0 (else ValueError); params and grads are left unchanged.
    """
    if not (np.isfinite(learning_rate) and learning_rate > 0):
        raise ValueError(f"The learning rate must be a finite number > 0, got {learning_rate!r}.")
    return shallow.update_parameters(params, grads, learning_rate)


def step_decay(initial_lr, iteration, drop=0.5, every=100):
    """Learning rate at ``iteration`` (counted from 0) under step decay: ``initial_lr * drop ** (iteration // every)``.

    The rate is ``initial_lr`` for iterations 0 .. every-1, then ``initial_lr * drop`` up to 2*every-1, and so on.
    """
    return initial_lr * drop ** (iteration // every)


def detect_divergence(cost, first_cost, max_ratio=3.0):
    """None while training is healthy, else a sentence saying why the run diverged.

    cost: the current cost (float); first_cost: the cost of the initial parameters. The run has
    diverged when ``cost`` is NaN or infinite, or greater than ``max_ratio * first_cost``.
    """
    if np.isnan(cost):
        return "the cost is nan"
    if np.isinf(cost):
        return "the cost is inf"
    if cost > max_ratio * first_cost:
        return f"the cost grew from {first_cost:.4g} to {cost:.4g}, more than {max_ratio:g} times its first value"
    return None


def flatten_parameters(params):
    """All parameters in one float64 vector (P,): W1, b1, W2, b2 raveled and concatenated in this order."""
    return np.concatenate([np.ravel(params[key]) for key in shallow.PARAMETER_KEYS]).astype(np.float64)


def train(X, Y, learning_rate, num_iterations, n_h=2, scale=1.0, seed=0, decay=None, max_ratio=3.0):
    """Full-batch gradient descent from ``shallow.initialize_parameters(n_x, n_h, n_y, "random", seed, scale)``.

    decay: None for a constant learning rate, or (drop, every) for
    ``step_decay(learning_rate, iteration, drop, every)``. Each iteration records the cost and the
    flattened parameters, stops if ``detect_divergence(cost, costs[0], max_ratio)`` reports a problem
    (message "stopped at iteration <i>: <problem>"), and otherwise records the learning rate and updates.
    Returns the history dict described in the module docstring.
    """
    params = shallow.initialize_parameters(X.shape[1], n_h, Y.shape[1], "random", seed=seed, scale=scale)
    history = {"costs": [], "learning_rates": [], "path": [], "diverged": False, "message": None}
    for iteration in range(num_iterations):
        A2, cache = shallow.forward_propagation(X, params)
        cost = shallow.compute_cost(A2, Y)
        history["costs"].append(cost)
        history["path"].append(flatten_parameters(params))
        problem = detect_divergence(cost, history["costs"][0], max_ratio)
        if problem is not None:
            history["diverged"] = True
            history["message"] = f"stopped at iteration {iteration}: {problem}"
            break
        rate = learning_rate if decay is None else step_decay(learning_rate, iteration, *decay)
        history["learning_rates"].append(rate)
        grads = shallow.backward_propagation(params, cache, X, Y)
        params = update_parameters(params, grads, rate)
    history["params"] = params
    return history


def sweep_learning_rates(X, Y, learning_rates, num_iterations, **options):
    """One ``train`` run per learning rate, in the given order: {learning_rate: history}.

    options are passed on to ``train`` (n_h, scale, seed, decay, max_ratio). Prints one line per run:
    its final cost, or why it stopped.
    """
    histories = {}
    for learning_rate in learning_rates:
        history = train(X, Y, learning_rate, num_iterations, **options)
        outcome = history["message"] if history["diverged"] else f"final cost {history['costs'][-1]:.4f}"
        print(f"learning rate {learning_rate:g}: {outcome}")
        histories[learning_rate] = history
    return histories
