"""Lab 5: the reference training loop, the source notebook's solutions, and the hidden checks built on them.

The reference loop is compared with ``course_utils.training.fit`` (an independent implementation) and with
another formulation of momentum; the notebook's solutions with numerical gradients over random shapes. The hidden
checks must pass on the solutions and fail, with the right hint and without revealing expected values, on typical
student mistakes, each one in its own question only.
"""
import functools
from pathlib import Path
from unittest import mock

import nbformat
import numpy as np
import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from autograder.hidden import lab5
from autograder.judge.student import secret_seed
from autograder.reference import mlp, sgd
from autograder.submissions import PLANTED_MISTAKES
from course_utils import data, training
from course_utils.gradcheck import numerical_gradient
from course_utils.training import fit
from hidden_checks import SEEDS
from notebook_namespace import failed_tests

PLANTED = PLANTED_MISTAKES["lab5_cifar10_mlp"]

NOTEBOOK = Path(__file__).resolve().parents[1] / "source" / "lab5_cifar10_mlp" / "lab5_cifar10_mlp.ipynb"
GIVEN_CELLS = ("sigmoid_helper",)


def solved_namespace():
    """A fresh namespace holding the notebook's given helpers and every solution function."""
    namespace = {"np": np, "data": data}
    for cell in nbformat.read(NOTEBOOK, as_version=4).cells:
        graded = cell.get("metadata", {}).get("nbgrader", {})
        if cell.cell_type == "code" and (graded.get("solution") or cell.get("id") in GIVEN_CELLS):
            lines = [line for line in cell.source.splitlines()
                     if "SOLUTION" not in line and not line.startswith("print(")]
            exec("\n".join(lines), namespace)
    return namespace


def with_cell(code):
    """The solved namespace with one function replaced by ``code`` (the full text of a solution cell)."""
    namespace = solved_namespace()
    exec(code, namespace)
    return namespace


def image_data(seed=0, N=600, N_test=200, D=48, C=4):
    """A small learnable classification set standing in for the notebook's images."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=0.6, size=(C, D))
    y, y_test = rng.integers(0, C, N), rng.integers(0, C, N_test)
    X = (centres[y] + rng.normal(size=(N, D))).astype(np.float32)
    X_test = (centres[y_test] + rng.normal(size=(N_test, D))).astype(np.float32)
    return X, y, X_test, y_test


def run_check(name, function, *args):
    getattr(lab5, f"check_{name}")(function, *args)


def failure(name, function, *args):
    with pytest.raises(AssertionError) as error:
        run_check(name, function, *args)
    return str(error.value)


# ----------------------------------------------------------------------------- reference training loop

def _minibatches_in_permutation_order(X, y, batch_size, rng):
    """fit's batches in Lab 5's order, rng.permutation(N) (fit draws its own order differently, on purpose: course_utils
    must not hold Lab 6's iterate_minibatches), so that the rest of the two loops can be compared step by step."""
    order = rng.permutation(len(X))
    for start in range(0, len(X), batch_size):
        yield X[order[start:start + batch_size]], y[order[start:start + batch_size]]


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.integers(3, 40), st.integers(1, 17), st.integers(1, 4),
       st.sampled_from([1.0, 0.7]))
def test_reference_train_without_momentum_follows_fit(seed, N, batch_size, epochs, lr_decay):
    rng = np.random.default_rng(seed)
    X, y = rng.normal(size=(N, 3)), rng.integers(0, 3, N)
    params = mlp.init_params([3, 4, 3], seed=seed, dtype=np.float64)
    ours, theirs = ({k: v.copy() for k, v in params.items()} for _ in range(2))
    loss_fn = functools.partial(mlp.loss_and_grads, reg=0.01)
    history = sgd.train(loss_fn, mlp.predict, ours, X, y, X, y, epochs=epochs, batch_size=batch_size,
                                   lr=0.1, lr_decay=lr_decay, seed=seed)
    with mock.patch.object(training, "_minibatches", _minibatches_in_permutation_order):
        fitted = fit(loss_fn, theirs, X, y, epochs=epochs, batch_size=batch_size, lr=0.1, lr_decay=lr_decay,
                     seed=seed, progress=False)
    for key in params:
        assert np.allclose(ours[key], theirs[key], rtol=1e-12, atol=1e-14), key
    assert np.allclose(history["train_loss"], fitted.train_loss, rtol=1e-12)
    assert history["train_acc"][-1] == np.mean(mlp.predict(ours, X) == y)


def test_reference_train_momentum_matches_the_velocity_in_gradient_units():
    """Full batches: v <- mu v + g, p <- p - lr v is the same method as v <- mu v - lr g, p <- p + v."""
    rng = np.random.default_rng(3)
    X, y = rng.normal(size=(20, 4)), rng.integers(0, 3, 20)
    params = mlp.init_params([4, 5, 3], seed=1, dtype=np.float64)
    expected = {k: v.copy() for k, v in params.items()}
    velocity = {k: np.zeros_like(v) for k, v in params.items()}
    for _ in range(6):
        _, grads = mlp.loss_and_grads(expected, X, y)
        for key in expected:
            velocity[key] = 0.8 * velocity[key] + grads[key]
            expected[key] = expected[key] - 0.2 * velocity[key]
    sgd.train(mlp.loss_and_grads, mlp.predict, params, X, y, X, y, epochs=6, batch_size=20, lr=0.2,
                         momentum=0.8)
    for key in params:
        assert np.allclose(params[key], expected[key], rtol=1e-12), key


def test_reference_train_records_the_documented_quantities():
    X, y, X_test, y_test = image_data(N=100, N_test=40)
    params = mlp.init_params([X.shape[1], 8, 4], seed=0)
    losses_seen = []

    def loss_fn(p, Xb, yb):
        loss, grads = mlp.loss_and_grads(p, Xb, yb)
        if len(Xb) <= 32:
            losses_seen.append(loss)
        return loss, grads

    history = sgd.train(loss_fn, mlp.predict, params, X, y, X_test, y_test, epochs=2, batch_size=32,
                                   lr=0.05, momentum=0.9)
    assert set(history) == set(lab5.HISTORY_KEYS) and all(len(v) == 2 for v in history.values())
    assert history["train_loss"][1] == pytest.approx(np.mean(losses_seen[4:]))  # four batches per epoch
    assert history["test_loss"][1] == pytest.approx(mlp.loss_and_grads(params, X_test, y_test)[0])
    assert history["test_acc"][1] == np.mean(mlp.predict(params, X_test) == y_test)


# ----------------------------------------------------------------------------- the notebook's solutions

@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.integers(1, 8), st.integers(1, 6), st.integers(1, 6), st.integers(2, 5),
       st.sampled_from(["relu", "sigmoid"]), st.sampled_from(["softmax_ce", "mse"]), st.sampled_from([0.0, 0.3]))
@example(225, 1, 4, 5, 2, "relu", "softmax_ce", 0.3)  # a gradient of 1e-5, where the rounding error shows
def test_solution_gradients_match_numerical_gradients(seed, N, D, H, C, activation, loss, reg):
    namespace = solved_namespace()
    rng = np.random.default_rng(seed)
    X, y = rng.normal(size=(N, D)), rng.integers(0, C, N)
    params = {"W1": rng.normal(size=(D, H)), "b1": rng.normal(size=H),
              "W2": rng.normal(size=(H, C)), "b2": rng.normal(size=C)}
    if activation == "relu":  # away from the kink, where centred differences are meaningless
        assume(np.min(np.abs(X @ params["W1"] + params["b1"])) > 1e-3)
    _, grads = namespace["loss_and_grads"](params, X, y, activation, loss, reg)
    for key in params:
        point = {k: v.copy() for k, v in params.items()}
        numerical = numerical_gradient(lambda _: namespace["loss_and_grads"](point, X, y, activation, loss, reg)[0],
                                       point[key])
        scale = np.linalg.norm(grads[key]) + np.linalg.norm(numerical)
        # centred differences (h = 1e-5) round off about 1e-11 times the loss in each entry
        assert np.linalg.norm(grads[key] - numerical) <= 1e-6 * scale + 1e-9, key


def test_solution_losses_known_values_and_stability():
    namespace = solved_namespace()
    loss, dscores = namespace["softmax_ce_loss"](np.zeros((5, 10), dtype=np.float32), np.arange(5))
    assert loss == pytest.approx(np.log(10), rel=1e-6) and dscores.dtype == np.float32
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        loss, dscores = namespace["softmax_ce_loss"](np.array([[1e4, -1e4], [-1e4, 1e4]]), np.array([1, 1]))
    assert loss == pytest.approx(1e4) and np.all(np.isfinite(dscores))
    loss, dscores = namespace["mse_loss"](np.ones((4, 3)), np.zeros((4, 3)))
    assert loss == pytest.approx(1.5) and np.allclose(dscores, 0.25)


# ----------------------------------------------------------------------------- hidden checks on the solutions

@pytest.mark.parametrize("name", ["softmax_ce_loss", "mse_loss", "loss_and_grads", "predict", "train"])
@pytest.mark.parametrize("seed", SEEDS)
def test_hidden_checks_pass_on_the_solutions(name, seed):
    with secret_seed(seed):
        run_check(name, solved_namespace()[name])


@pytest.mark.parametrize("seed", [933, 1598, 3038])
def test_a_right_gradient_is_not_failed_by_relus_kink(seed):
    """Secret seeds (3 of the first 4,000) whose inputs put a ReLU pre-activation within reach of the numerical
    gradient's step: it differed from the right gradient (relative error 6e-2), and a correct submission lost 5
    points in a real grading."""
    with secret_seed(seed):
        lab5.check_loss_and_grads(mlp.loss_and_grads)


def test_hidden_checks_pass_on_the_reference_implementations():
    run_check("softmax_ce_loss", lab5.losses.softmax_ce)
    run_check("mse_loss", lab5.losses.mse)
    run_check("loss_and_grads", mlp.loss_and_grads)
    run_check("predict", mlp.predict)

    def train(*args, verbose=True, **kwargs):
        return sgd.train(*args, **kwargs)

    run_check("train", train)


ALTERNATIVES = {  # right answers written otherwise than the solutions, as students write them
    "softmax_ce_loss": ["""
def softmax_ce_loss(scores, y):
    N = scores.shape[0]
    shifted = scores - scores.max(axis=1)[:, None]
    lse = np.log(np.sum(np.exp(shifted), axis=1))
    loss = np.mean(lse - shifted[np.arange(N), y])
    dscores = np.exp(shifted) / np.sum(np.exp(shifted), axis=1)[:, None]
    dscores[np.arange(N), y] -= 1
    return float(loss), dscores / N
""", """
def softmax_ce_loss(scores, y):
    N, C = scores.shape
    Y = np.eye(C, dtype=scores.dtype)[y]
    shifted = scores - np.max(scores, axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return float(-np.einsum("ij,ij->", Y, log_probs) / N), (np.exp(log_probs) - Y) / N
""", """
def softmax_ce_loss(scores, y):
    log_probs = scores - np.logaddexp.reduce(scores, axis=1, keepdims=True)
    loss = -np.mean(log_probs[np.arange(len(y)), y])
    return float(loss), (np.exp(log_probs) - data.one_hot(y, scores.shape[1], dtype=scores.dtype)) / len(y)
"""],
    "mse_loss": ["""
def mse_loss(scores, Y):
    d = scores - Y
    return float(0.5 * np.mean(np.sum(d ** 2, axis=1))), d / scores.shape[0]
""", """
def mse_loss(scores, Y):
    N = len(scores)
    return float(np.linalg.norm(scores - Y) ** 2 / (2 * N)), (scores - Y) / N
""", """
def mse_loss(scores, Y):
    N = scores.shape[0]
    total = 0.0
    for i in range(N):
        d = scores[i] - Y[i]
        total += np.dot(d, d)
    return float(total / (2 * N)), np.subtract(scores, Y) / N
"""],
    "svm_loss": ["""
def svm_loss(scores, y):
    N = scores.shape[0]
    correct = scores[np.arange(N), y]
    margins = np.maximum(0, scores - correct[:, np.newaxis] + 1)
    margins[np.arange(N), y] = 0
    mask = (margins > 0).astype(scores.dtype)
    mask[np.arange(N), y] = -np.sum(mask, axis=1)
    return float(np.sum(margins) / N), mask / N
""", """
def svm_loss(scores, y):
    N, C = scores.shape
    right = np.zeros((N, C), dtype=bool)
    right[np.arange(N), y] = True
    margins = np.maximum(scores - np.sum(np.where(right, scores, 0), axis=1, keepdims=True) + 1, 0)
    positive = (margins > 0) & ~right
    dscores = positive.astype(scores.dtype)
    dscores -= right * positive.sum(axis=1, keepdims=True)
    return float((margins.sum() - N) / N), dscores / N  # each right class's own term is 1
""", """
def svm_loss(scores, y):
    N, C = scores.shape
    rows, correct = np.arange(N), scores[np.arange(N), y]
    loss, dscores = 0.0, np.zeros_like(scores)
    for j in range(C):
        term = scores[:, j] - correct + 1
        active = (term > 0) & (y != j)
        loss += np.sum(term[active])
        dscores[active, j] += 1
        dscores[rows[active], y[active]] -= 1
    return float(loss / N), dscores / N
"""],
    "loss_and_grads": ["""
def loss_and_grads(params, X, y, activation="relu", loss="softmax_ce", reg=0.0):
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    Z1 = np.dot(X, W1) + b1
    if activation == "relu":
        A1 = np.maximum(0, Z1)
    elif activation == "sigmoid":
        A1 = sigmoid(Z1)
    else:
        raise ValueError("activation must be 'relu' or 'sigmoid'")
    S = np.dot(A1, W2) + b2
    if loss == "softmax_ce":
        data_loss, dS = softmax_ce_loss(S, y)
    elif loss == "mse":
        data_loss, dS = mse_loss(S, data.one_hot(y, S.shape[1], dtype=S.dtype))
    else:
        raise ValueError("loss must be 'softmax_ce' or 'mse'")
    grads = {"b2": np.sum(dS, axis=0), "W2": np.dot(A1.T, dS) + reg * W2}
    dA1 = np.dot(dS, W2.T)
    dZ1 = np.where(Z1 > 0, dA1, 0) if activation == "relu" else dA1 * A1 * (1 - A1)
    grads["b1"] = np.sum(dZ1, axis=0)
    grads["W1"] = np.dot(X.T, dZ1) + reg * W1
    return float(data_loss + reg / 2 * (np.linalg.norm(W1) ** 2 + np.linalg.norm(W2) ** 2)), grads
""", """
def loss_and_grads(params, X, y, activation="relu", loss="softmax_ce", reg=0.0):
    if activation not in ["relu", "sigmoid"] or loss not in ["softmax_ce", "mse"]:
        raise ValueError("valid activations: relu, sigmoid; valid losses: softmax_ce, mse")
    Z1 = np.einsum("nd,dh->nh", X, params["W1"]) + params["b1"]
    A1 = Z1 * (Z1 > 0) if activation == "relu" else sigmoid(Z1)
    scores = np.einsum("nh,hc->nc", A1, params["W2"]) + params["b2"]
    N, C = scores.shape
    if loss == "softmax_ce":
        value, dscores = softmax_ce_loss(scores, y)
    else:
        Y = np.zeros((N, C), dtype=scores.dtype)
        Y[np.arange(N), y] = 1
        value, dscores = mse_loss(scores, Y)
    for key in ("W1", "W2"):
        value += 0.5 * reg * np.sum(np.square(params[key]))
    dZ1 = dscores @ params["W2"].T
    if activation == "relu":
        dZ1[A1 <= 0] = 0
    else:
        dZ1 = dZ1 * sigmoid(Z1) * (1 - sigmoid(Z1))
    grads = {"W1": np.einsum("nd,nh->dh", X, dZ1), "b1": dZ1.sum(0), "W2": A1.T @ dscores, "b2": dscores.sum(0)}
    for key in ("W1", "W2"):
        grads[key] += reg * params[key]
    return float(value), grads
"""],
    "predict": ["""
def predict(params, X, activation="relu"):
    labels = []
    for x in X:
        z = x @ params["W1"] + params["b1"]
        a = np.maximum(z, 0) if activation == "relu" else sigmoid(z)
        labels.append(np.argmax(a @ params["W2"] + params["b2"]))
    return np.array(labels, dtype=np.int64)
""", """
def forward(params, X, activation):
    Z1 = X @ params["W1"] + params["b1"]
    return (np.where(Z1 > 0, Z1, 0) if activation == "relu" else sigmoid(Z1)) @ params["W2"] + params["b2"]


def predict(params, X, activation="relu"):
    S = forward(params, X, activation)
    P = np.exp(S - S.max(axis=1, keepdims=True))  # the softmax keeps the largest score's place
    return np.argmax(P / P.sum(axis=1, keepdims=True), axis=1).astype(int)
"""],
    "train": ["""
def train(loss_fn, predict_fn, params, X, y, X_test, y_test, *, epochs=10, batch_size=256, lr=0.01,
          lr_decay=1.0, momentum=0.0, seed=0, verbose=True):
    rng = np.random.default_rng(seed)
    N = X.shape[0]
    velocity = {k: np.zeros(v.shape) for k, v in params.items()}
    history = {"train_loss": [], "train_acc": [], "test_loss": [], "test_acc": []}
    for epoch in range(epochs):
        losses = []
        for rows in np.array_split(rng.permutation(N), np.arange(batch_size, N, batch_size)):
            loss, grads = loss_fn(params, X[rows], y[rows])
            losses.append(loss)
            for k in grads:
                velocity[k] = momentum * velocity[k] - lr * grads[k]
                params[k] += velocity[k]
        history["train_loss"].append(sum(losses) / len(losses))
        history["train_acc"].append(np.sum(predict_fn(params, X) == y) / len(y))
        history["test_loss"].append(loss_fn(params, X_test, y_test)[0])
        history["test_acc"].append(np.count_nonzero(predict_fn(params, X_test) == y_test) / len(y_test))
        if verbose:
            print(epoch, *(values[-1] for values in history.values()))
        lr = lr * lr_decay
    return history
""", """
def train(loss_fn, predict_fn, params, X, y, X_test, y_test, *, epochs=10, batch_size=256, lr=0.01,
          lr_decay=1.0, momentum=0.0, seed=0, verbose=True):
    rng = np.random.default_rng(seed)
    step = {key: np.zeros_like(params[key]) for key in params}
    history = dict(train_loss=[], train_acc=[], test_loss=[], test_acc=[])
    for epoch in range(epochs):
        rate = lr * lr_decay ** epoch
        perm = rng.permutation(len(y))
        X_shuffled, y_shuffled = X[perm], y[perm]
        batch_losses, start = [], 0
        while start < len(y):
            end = min(start + batch_size, len(y))
            loss, grads = loss_fn(params, X_shuffled[start:end], y_shuffled[start:end])
            batch_losses.append(loss)
            for key in params:  # the velocity's opposite: step = -velocity
                step[key] = momentum * step[key] + rate * grads[key]
                params[key] -= step[key]
            start = end
        history["train_loss"].append(float(np.mean(batch_losses)))
        history["train_acc"].append(float((predict_fn(params, X) == y).mean()))
        history["test_loss"].append(float(loss_fn(params, X_test, y_test)[0]))
        history["test_acc"].append(float((predict_fn(params, X_test) == y_test).mean()))
        if verbose:
            print(f"epoch {epoch + 1}: {history}")
    return history
"""],
}
ALTERNATIVE_CASES = [pytest.param(name, code, id=f"{name}-{i}") for name, codes in ALTERNATIVES.items()
                     for i, code in enumerate(codes)]


@pytest.mark.parametrize("name, code", ALTERNATIVE_CASES)
def test_other_correct_ways_of_writing_it_pass(name, code):
    function = with_cell(code)[name]
    for seed in SEEDS:
        with secret_seed(seed):
            run_check(name, function)


@pytest.mark.parametrize("round_", range(max(len(codes) for codes in ALTERNATIVES.values())))
def test_other_correct_ways_of_writing_it_pass_the_visible_tests_too(round_):
    """The notebook run with one alternative of every function at once: no question fails, visible or hidden."""
    answers = {name: codes[round_ % len(codes)] for name, codes in ALTERNATIVES.items()}
    assert failed_tests("lab5_cifar10_mlp", answers) == {}


MISTAKES = {
    "softmax_ce_loss": [
        ("""def softmax_ce_loss(scores, y):
    shifted = scores - scores.max(axis=1, keepdims=True)
    probs = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
    loss = -np.log(probs[np.arange(len(y)), y]).sum()
    dscores = probs.copy()
    dscores[np.arange(len(y)), y] -= 1
    return float(loss), dscores
""", "summed over the samples"),
        ("""def softmax_ce_loss(scores, y):
    probs = np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)
    loss = -np.log(probs[np.arange(len(y)), y]).mean()
    dscores = probs.copy()
    dscores[np.arange(len(y)), y] -= 1
    return float(loss), dscores / len(y)
""", "overflowing exp"),
        ("""def softmax_ce_loss(scores, y):
    shifted = scores - scores.max(axis=1, keepdims=True)
    probs = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
    return float(-np.log(probs[np.arange(len(y)), y]).mean()), (probs - (np.arange(probs.shape[1]) == y[:, None])) / len(y)
""", "log of 0"),
        ("""def softmax_ce_loss(scores, y):
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return float(-log_probs[np.arange(len(y)), y].mean()), (np.exp(log_probs) - np.eye(scores.shape[1])[y]) / len(y)
""", "keep float32"),
        ("""def softmax_ce_loss(scores, y):
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=0, keepdims=True))
    probs = np.exp(log_probs)
    return float(-log_probs[np.arange(len(y)), y].mean()), (probs - np.eye(scores.shape[1])[y]) / len(y)
""", "it normalises over the batch (axis 0)"),
    ],
    "mse_loss": [
        ("""def mse_loss(scores, Y):
    return float(np.mean(np.sum((scores - Y) ** 2, axis=1))), (scores - Y) / len(Y)
""", "divides by 2N, not N"),
        ("""def mse_loss(scores, Y):
    return float(np.sum((scores - Y) ** 2) / (2 * len(Y))), 2 * (scores - Y) / len(Y)
""", "no factor 2"),
    ],
    "loss_and_grads": [
        ("""def loss_and_grads(params, X, y, activation="relu", loss="softmax_ce", reg=0.0):
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    Z1 = X @ W1 + b1
    A1 = np.maximum(Z1, 0) if activation == "relu" else sigmoid(Z1)
    scores = A1 @ W2 + b2
    if loss == "softmax_ce":
        value, dscores = softmax_ce_loss(scores, y)
    else:
        value, dscores = mse_loss(scores, data.one_hot(y, scores.shape[1], dtype=scores.dtype))
    dZ1 = dscores @ W2.T * ((Z1 > 0) if activation == "relu" else A1 * (1 - A1))
    return value, {"W1": X.T @ dZ1 + reg * W1, "b1": dZ1.sum(axis=0),
                   "W2": A1.T @ dscores + reg * W2, "b2": dscores.sum(axis=0)}
""", "is missing"),
        ("""def loss_and_grads(params, X, y, activation="relu", loss="softmax_ce", reg=0.0):
    if activation not in ("relu", "sigmoid") or loss not in ("softmax_ce", "mse"):
        raise ValueError("activation: 'relu' or 'sigmoid'; loss: 'softmax_ce' or 'mse'")
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    Z1 = X @ W1 + b1
    A1 = np.maximum(Z1, 0) if activation == "relu" else sigmoid(Z1)
    scores = A1 @ W2 + b2
    if loss == "softmax_ce":
        value, dscores = softmax_ce_loss(scores, y)
    else:
        value, dscores = mse_loss(scores, data.one_hot(y, scores.shape[1], dtype=scores.dtype))
    value += 0.5 * reg * (np.sum(W1 ** 2) + np.sum(W2 ** 2))
    dZ1 = dscores @ W2.T * ((Z1 > 0) if activation == "relu" else Z1 * (1 - Z1))
    return value, {"W1": X.T @ dZ1 + reg * W1, "b1": dZ1.sum(axis=0),
                   "W2": A1.T @ dscores + reg * W2, "b2": dscores.sum(axis=0)}
""", "A1 * (1 - A1)"),
    ],
    "predict": [
        ("""def predict(params, X, activation="relu"):
    return (np.maximum(X @ params["W1"] + params["b1"], 0) @ params["W2"] + params["b2"]).argmax(axis=1)
""", "with activation='sigmoid': some labels are wrong"),
        ("""def predict(params, X, activation="relu"):
    return (np.maximum(X @ params["W1"] + params["b1"], 0) @ params["W2"] + params["b2"]).argmax(axis=0)
""", "one label per sample"),
    ],
    "train": [
        (PLANTED.code, "same order"),
        (PLANTED.code.replace("    order = rng.permutation(len(X))\n", "    order = np.arange(len(X))\n"),
         "original order"),
        (PLANTED.code.replace("    order = rng.permutation(len(X))\n", "")
         .replace("        batch_losses = []\n", "        batch_losses = []\n        order = np.random.permutation(len(X))\n"),
         "run twice with the same seed"),
        (PLANTED.code.replace("    order = rng.permutation(len(X))\n", "")  # fit's order: sorted random keys
         .replace("        batch_losses = []\n", "        batch_losses = []\n        order = np.argsort(rng.random(len(X)))\n"),
         "do not follow order = rng.permutation(N)"),
        (PLANTED.code.replace("velocity[key] *= momentum", "velocity[key] *= 0.0"), "momentum is ignored"),
        (PLANTED.code.replace("        lr *= lr_decay\n", ""), "lr_decay is ignored"),
        (PLANTED.code.replace("    rng = np.random.default_rng(seed)\n",
                                           "    rng = np.random.default_rng(seed)\n"
                                           "    params = {key: value.copy() for key, value in params.items()}\n"),
         "did not change params"),
        (PLANTED.code.replace('history["train_loss"].append(float(np.mean(batch_losses)))',
                                           'history["train_loss"].append(float(loss_fn(params, X, y)[0]))'),
         "history['train_loss'] has wrong values"),
    ],
}
CASES = [pytest.param(name, code, hint, id=f"{name}-{i}") for name, cases in MISTAKES.items()
         for i, (code, hint) in enumerate(cases)]


@pytest.mark.parametrize("name, code, hint", CASES)
def test_hidden_check_names_the_mistake_and_only_fails_its_own_question(name, code, hint):
    namespace = with_cell(code)
    message = failure(name, namespace[name])
    assert hint in message
    for other in MISTAKES:
        if other != name:
            run_check(other, namespace[other])


def test_planted_mistake_fails_exactly_its_question():
    namespace = with_cell(PLANTED.code)
    failed = []
    for name in MISTAKES:
        try:
            run_check(name, namespace[name])
        except AssertionError:
            failed.append(f"test_{name}")
    assert failed == [PLANTED.question_id]


@pytest.mark.parametrize("shuffle", ["order = rng.permutation(X.shape[0])",
                                     "order = np.arange(len(X))\n        rng.shuffle(order)"])
def test_train_that_draws_the_same_permutation_another_way_gets_its_points(shuffle):
    """The check asks for rng.permutation(N)'s order each epoch, not for that call."""
    code = (PLANTED.code.replace("    order = rng.permutation(len(X))\n", "")
            .replace("        batch_losses = []\n", f"        batch_losses = []\n        {shuffle}\n"))
    run_check("train", with_cell(code)["train"])


@pytest.mark.parametrize("seed", SEEDS)
def test_train_check_rejects_a_loop_that_does_not_learn_on_a_larger_problem(seed):
    namespace = solved_namespace()

    def train(loss_fn, predict_fn, params, X, y, X_test, y_test, **options):
        if X.shape[1] < 10:  # the small exact-trajectory problems: train correctly
            return namespace["train"](loss_fn, predict_fn, params, X, y, X_test, y_test, **options)
        return namespace["train"](loss_fn, predict_fn, params, X, y, X_test, y_test, **{**options, "lr": 1e-9})

    with secret_seed(seed):
        assert "improved the test accuracy only from" in failure("train", train)


def test_loss_and_grads_is_graded_with_the_reference_losses_and_the_notebook_is_left_alone():
    namespace = solved_namespace()

    def broken_softmax_ce_loss(scores, y):
        return 0.0, np.zeros_like(scores)

    namespace["softmax_ce_loss"] = broken_softmax_ce_loss
    run_check("loss_and_grads", namespace["loss_and_grads"])
    assert namespace["softmax_ce_loss"] is broken_softmax_ce_loss and "mse_loss" in namespace


def test_messages_do_not_reveal_expected_values():
    namespace = with_cell(MISTAKES["mse_loss"][0][0])
    message = failure("mse_loss", namespace["mse_loss"])
    rng = np.random.default_rng(502)
    N, C = int(rng.integers(2, 12)), int(rng.integers(2, 8))
    scores = rng.normal(size=(N, C))
    Y = data.one_hot(lab5._labels(rng, N, C), C, dtype=np.float64)
    expected = lab5.losses.mse(scores, Y)[0]
    assert f"{expected:.3g}" not in message and f"{2 * expected:.3g}" not in message


def test_unimplemented_functions_fail_with_a_clear_message():
    def not_done(*args, **kwargs):
        raise NotImplementedError()

    for name in MISTAKES:
        not_done.__name__ = name
        assert "not implemented yet" in failure(name, not_done)
