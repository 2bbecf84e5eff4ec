"""The notebooks' visible tests give right answers written otherwise than the solutions every point.

A visible test of one function replaces the functions it calls by stand-ins (``checks.stand_ins``). A stand-in that
takes other parameter names than the function it replaces, returns less than it (a cache without a key the exercise
promises), or knows fewer inputs than a right answer may give it, fails that right answer: graded test cells count,
so the student loses the question. Each answer below failed so before; the hidden checks always passed them.
"""
import contextlib
import inspect
from pathlib import Path

import pytest

from autograder.course import Course
from course_utils import checks
from course_utils.checks import stand_ins
from notebook_namespace import failed_tests

COURSE = Course(Path(__file__).resolve().parents[1])

RIGHT_ANSWERS = {
    "the cost from the cache's A2 (Exercise 2: the cache holds A2)": ("lab1_initialization", "nn_model", """
def nn_model(X, Y, n_h=2, num_iterations=1000, learning_rate=1.2, method="random", seed=0, scale=0.01,
             print_cost=False):
    params = initialize_parameters(X.shape[1], n_h, Y.shape[1], method, seed=seed, scale=scale)
    costs = []
    for i in range(num_iterations):
        _, cache = forward_propagation(X, params)
        costs.append(compute_cost(cache["A2"], Y))
        if print_cost and i % 100 == 0:
            print("Cost after iteration# %d: %.6f" % (i, costs[-1]))
        params = update_parameters(params, backward_propagation(params, cache, X, Y), learning_rate)
    return params, costs
"""),
    "classes from the cache's Z2 > 0 (the same as A2 > 0.5)": ("lab1_initialization", "predict", """
def predict(params, X):
    _, cache = forward_propagation(X, params)
    return (cache["Z2"] > 0).astype(np.int64)
"""),
    "update_parameters called with its own keyword, learning_rate=": ("lab2_learning_rates", "train", """
def train(X, Y, learning_rate, num_iterations, n_h=2, scale=1.0, seed=0, decay=None, max_ratio=3.0):
    params = initialize_parameters(X.shape[1], n_h, Y.shape[1], "random", seed=seed, scale=scale)
    history = {"costs": [], "learning_rates": [], "path": [], "diverged": False, "message": None}
    for i in range(num_iterations):
        A2, cache = forward_propagation(X, params)
        cost = compute_cost(A2, Y)
        history["costs"].append(cost)
        history["path"].append(flatten_parameters(params))
        problem = detect_divergence(cost, history["costs"][0], max_ratio)
        if problem is not None:
            history["diverged"], history["message"] = True, f"stopped at iteration {i}: {problem}"
            break
        rate = learning_rate if decay is None else step_decay(learning_rate, i, *decay)
        history["learning_rates"].append(rate)
        grads = backward_propagation(params, cache, X, Y)
        params = update_parameters(params, grads, learning_rate=rate)
    history["params"] = params
    return history
"""),
    "softmax called one row at a time": ("lab3_loss_functions", "softmax_cross_entropy", """
def softmax_cross_entropy(Z, y):
    N = Z.shape[0]
    shifted = Z - Z.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    dZ = np.zeros_like(Z)
    for i in range(N):
        dZ[i] = softmax(Z[i:i + 1])[0]
        dZ[i, y[i]] -= 1
    return float(-log_probs[np.arange(N), y].mean()), dZ / N
"""),
    "softmax_ce_loss called with its own keyword, y=": ("lab5_cifar10_mlp", "loss_and_grads", """
def loss_and_grads(params, X, y, activation="relu", loss="softmax_ce", reg=0.0):
    if activation not in ("relu", "sigmoid"):
        raise ValueError(f"activation should be 'relu' or 'sigmoid', not {activation!r}")
    if loss not in ("softmax_ce", "mse"):
        raise ValueError(f"loss should be 'softmax_ce' or 'mse', not {loss!r}")
    Z1 = X @ params["W1"] + params["b1"]
    A1 = np.maximum(Z1, 0) if activation == "relu" else sigmoid(Z1)
    S = A1 @ params["W2"] + params["b2"]
    if loss == "softmax_ce":
        value, dS = softmax_ce_loss(S, y=y)
    else:
        value, dS = mse_loss(S, Y=data.one_hot(y, S.shape[1], dtype=S.dtype))
    value += reg / 2 * (np.sum(params["W1"] ** 2) + np.sum(params["W2"] ** 2))
    dZ1 = dS @ params["W2"].T
    dZ1 = dZ1 * (Z1 > 0) if activation == "relu" else dZ1 * A1 * (1 - A1)
    grads = {"W1": X.T @ dZ1 + reg * params["W1"], "b1": dZ1.sum(axis=0),
             "W2": A1.T @ dS + reg * params["W2"], "b2": dS.sum(axis=0)}
    return float(value), grads
"""),
}


@pytest.mark.parametrize("answer", sorted(RIGHT_ANSWERS))
def test_a_right_answer_that_a_stand_in_used_to_reject_gets_every_point(answer):
    lab, grade_id, code = RIGHT_ANSWERS[answer]
    assert failed_tests(lab, replace={grade_id: code}) == {}


def signature(func):
    """(name, kind, has a default) of each parameter of ``func``."""
    return [(p.name, p.kind, p.default is not p.empty) for p in inspect.signature(func).parameters.values()]


@pytest.mark.parametrize("lab", COURSE.labs())
def test_every_stand_in_takes_the_parameters_of_the_function_it_replaces(lab, monkeypatch):
    """So that a right answer calling it with keywords, or relying on a default, is not failed by the stand-in."""
    unlike = []

    @contextlib.contextmanager
    def comparing(namespace, **functions):
        unlike.extend(f"{name}{inspect.signature(stand_in)} for {name}{inspect.signature(namespace[name])}"
                      for name, stand_in in functions.items()
                      if callable(namespace.get(name)) and signature(stand_in) != signature(namespace[name]))
        with stand_ins(namespace, **functions):
            yield

    monkeypatch.setattr(checks, "stand_ins", comparing)
    assert failed_tests(lab) == {}
    assert unlike == []
