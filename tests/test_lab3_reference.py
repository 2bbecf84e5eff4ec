"""Lab 3: the reference shallow network with loss="mse", and the hidden checks of the lab.

The reference is tested against independent formulas, numerical gradients and the facts the lab
teaches (the MSE gradient vanishes in the confidently wrong regime, cross-entropy's does not). The
hidden checks must pass on the reference and on the notebook's own solutions, fail with the right
hint (and without revealing expected values) on the mistakes students make, and fail only the
question whose function is wrong.
"""
import re
import warnings
from pathlib import Path

import nbformat
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograder.hidden import lab3
from autograder.judge.student import secret_seed
from autograder.reference import activations, losses, shallow
from autograder.submissions import PLANTED_MISTAKES
from course_utils.data import make_xor
from course_utils.gradcheck import numerical_gradient
from hidden_checks import SEEDS, failure_message

PLANTED = PLANTED_MISTAKES["lab3_loss_functions"]

NOTEBOOK = Path(__file__).resolve().parents[1] / "source/lab3_loss_functions/lab3_loss_functions.ipynb"
X4, y4 = make_xor()
Y4 = y4.reshape(-1, 1).astype(np.float64)
GRADED = ["mse_cost", "backward_propagation", "nn_model", "softmax", "softmax_cross_entropy"]


def random_problem(seed, N, n_x, n_h):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(N, n_x))
    Y = (rng.random((N, 1)) < 0.5).astype(np.float64)
    params = {"W1": rng.normal(size=(n_x, n_h)), "b1": rng.normal(size=n_h),
              "W2": rng.normal(size=(n_h, 1)), "b2": rng.normal(size=1)}
    return X, Y, params


def confidently_wrong_start():
    """The cross-entropy solution of XOR with its output layer negated: A2 near 1 where Y = 0 and vice versa."""
    params, _ = shallow.nn_model(X4, Y4, num_iterations=2000, learning_rate=1.2, scale=1.0, seed=0)
    return {**params, "W2": -params["W2"], "b2": -params["b2"]}


# ----------------------------------------------------------------------------- reference: loss="mse"

def test_compute_cost_mse_is_half_the_mean_squared_error_over_samples():
    A2, Y = np.array([[0.9], [0.2], [0.6]]), np.array([[1.0], [0.0], [0.0]])
    assert shallow.compute_cost(A2, Y, "mse") == pytest.approx((0.01 + 0.04 + 0.36) / 6, rel=1e-12)
    assert shallow.compute_cost(A2, Y) == pytest.approx(-(np.log(0.9) + np.log(0.8) + np.log(0.4)) / 3, rel=1e-12)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10_000), st.integers(1, 9), st.integers(1, 4), st.integers(1, 5), st.sampled_from(["mse", "bce"]))
def test_backward_propagation_matches_numerical_gradients_for_both_losses(seed, N, n_x, n_h, loss):
    X, Y, params = random_problem(seed, N, n_x, n_h)
    _, cache = shallow.forward_propagation(X, params)
    grads = shallow.backward_propagation(params, cache, X, Y, loss)
    for key in params:
        point = {k: v.copy() for k, v in params.items()}
        numerical = numerical_gradient(lambda _: shallow.compute_cost(shallow.forward_propagation(X, point)[0], Y,
                                                                      loss), point[key])
        # relative error of the whole gradient, with a floor for rounding in the differences of tiny gradients
        size = np.linalg.norm(grads[key]) + np.linalg.norm(numerical)
        assert np.linalg.norm(grads[key] - numerical) < 1e-7 * size + 1e-10, key


def test_mse_output_gradient_carries_the_sigmoid_derivative():
    X, Y, params = random_problem(4, 6, 2, 3)
    _, cache = shallow.forward_propagation(X, params)
    A2 = cache["A2"]
    db2 = shallow.backward_propagation(params, cache, X, Y, "mse")["b2"]
    assert np.allclose(db2, np.mean((A2 - Y) * A2 * (1 - A2), axis=0))
    assert np.allclose(shallow.backward_propagation(params, cache, X, Y)["b2"], np.mean(A2 - Y, axis=0))


def test_unknown_loss_is_a_value_error():
    with pytest.raises(ValueError, match="'mae'"):
        shallow.compute_cost(np.full((2, 1), 0.5), np.ones((2, 1)), "mae")
    with pytest.raises(ValueError, match="'hinge'"):
        shallow.nn_model(X4, Y4, num_iterations=1, loss="hinge")


def test_nn_model_from_initial_params_leaves_them_unchanged_and_equals_the_seeded_start():
    start = shallow.initialize_parameters(2, 3, 1, "random", seed=2, scale=1.0)
    before = {k: v.copy() for k, v in start.items()}
    params, costs = shallow.nn_model(X4, Y4, n_h=3, num_iterations=30, loss="mse", initial_params=start)
    assert all(np.array_equal(start[k], before[k]) for k in start)
    assert costs[0] == pytest.approx(np.sum((shallow.forward_propagation(X4, start)[0] - Y4) ** 2) / 8, rel=1e-12)
    seeded, seeded_costs = shallow.nn_model(X4, Y4, n_h=3, num_iterations=30, loss="mse", seed=2, scale=1.0)
    assert costs == seeded_costs and all(np.array_equal(params[k], seeded[k]) for k in params)


def test_confidently_wrong_the_mse_gradient_vanishes_and_cross_entropy_pushes_hardest():
    z = np.array([[-8.0], [-4.0], [0.0]])
    y = np.ones_like(z)
    a = activations.sigmoid(z)
    dz_mse = activations.sigmoid_backward(losses.mse(a, y)[1], a) * len(z)
    dz_bce = losses.bce_with_logits(z, y)[1] * len(z)
    assert abs(dz_mse[0, 0]) < 1e-3 < 0.99 < abs(dz_bce[0, 0])
    assert abs(dz_mse[0, 0]) < abs(dz_mse[1, 0]) < abs(dz_mse[2, 0])  # weaker the more wrong the network is
    assert abs(dz_bce[0, 0]) > abs(dz_bce[1, 0]) > abs(dz_bce[2, 0])  # stronger the more wrong


def test_a_confidently_wrong_network_recovers_at_once_with_cross_entropy_but_not_with_mse():
    start = confidently_wrong_start()
    assert np.array_equal(shallow.predict(start, X4).ravel(), 1 - y4)
    fixed = {loss: shallow.nn_model(X4, Y4, num_iterations=n, learning_rate=1.2, loss=loss, initial_params=start)[0]
             for loss, n in (("bce", 100), ("mse", 1000))}
    assert np.array_equal(shallow.predict(fixed["bce"], X4).ravel(), y4)
    assert np.array_equal(shallow.predict(fixed["mse"], X4).ravel(), 1 - y4)


# ----------------------------------------------------------------------------- the notebook's functions

def notebook_namespace(replace=None):
    """The notebook's ready-made network and solutions, run as the notebook runs them (replace: grade_id -> code)."""
    nb = nbformat.read(NOTEBOOK, as_version=4)
    namespace = {"np": np}
    for cell in nb.cells:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if cell.cell_type == "code" and (grade_id == "lab1_network" or grade_id in GRADED):
            source = (replace or {}).get(grade_id, cell.source)
            exec("\n".join(line for line in source.splitlines() if "### " not in line), namespace)  # noqa: S102
    return namespace


def failures(namespace):
    """grade_id of every hidden check that fails on the namespace's functions."""
    failed = []
    for name in GRADED:
        try:
            getattr(lab3, f"check_{name}")(namespace[name])
        except AssertionError:
            failed.append(f"test_{name}")
    return failed


@pytest.mark.parametrize("seed", SEEDS)
def test_hidden_checks_pass_on_the_notebook_solutions(seed):
    with secret_seed(seed):
        assert failures(notebook_namespace()) == []


def test_the_planted_mistake_fails_exactly_its_question_although_nn_model_calls_it():
    mistake = PLANTED
    assert failures(notebook_namespace({mistake.solution_id: mistake.code})) == [mistake.question_id]


def test_a_broken_softmax_costs_only_the_softmax_question():
    naive = "def softmax(Z):\n    return np.exp(Z) / np.exp(Z).sum(axis=1, keepdims=True)\n"
    assert failures(notebook_namespace({"softmax": naive})) == ["test_softmax"]


def test_a_broken_mse_cost_costs_only_the_mse_question():
    no_mean = "def mse_cost(A2, Y):\n    return float(np.sum((A2 - Y) ** 2) / 2), A2 - Y\n"
    assert failures(notebook_namespace({"mse_cost": no_mean})) == ["test_mse_cost"]


# ----------------------------------------------------------------------------- other correct ways of writing it

ALTERNATIVES = [
    ("mse_cost", "loops", """
def mse_cost(A2, Y):
    N, n_y = A2.shape
    total = 0.0
    for i in range(N):
        for k in range(n_y):
            total += (A2[i, k] - Y[i, k]) ** 2
    dA2 = np.zeros_like(A2)
    for i in range(N):
        dA2[i] = (A2[i] - Y[i]) / N
    return total / (2 * N), dA2
"""),
    ("mse_cost", "mean of the row sums", """
def mse_cost(A2, Y):
    cost = 0.5 * np.mean(np.sum((A2 - Y) ** 2, axis=1))
    return float(cost), (A2 - Y) * (1 / A2.shape[0])
"""),
    ("mse_cost", "norm", """
def mse_cost(A2, Y):
    return float(np.linalg.norm(A2 - Y) ** 2 / (2 * len(A2))), np.divide(A2 - Y, len(A2))
"""),
    ("backward_propagation", "np.dot, the formula of dZ2 written out, grads in another order", """
def backward_propagation(params, cache, X, Y, loss="bce"):
    N = X.shape[0]
    A1, A2 = cache["A1"], cache["A2"]
    if loss == "mse":
        dZ2 = (A2 - Y) * A2 * (1 - A2) / N
    else:
        dZ2 = (A2 - Y) / N
    dZ1 = np.dot(dZ2, params["W2"].T) * (1 - np.power(A1, 2))
    return {"W2": np.dot(A1.T, dZ2), "b2": np.sum(dZ2, axis=0), "W1": np.dot(X.T, dZ1), "b1": np.sum(dZ1, axis=0)}
"""),
    ("backward_propagation", "the chain rule through dA2 of bce_cost or mse_cost", """
def backward_propagation(params, cache, X, Y, loss="bce"):
    A1, A2 = cache["A1"], cache["A2"]
    _, dA2 = bce_cost(A2, Y) if loss == "bce" else mse_cost(A2, Y)
    dZ2 = dA2 * A2 * (1 - A2)
    dZ1 = (dZ2 @ params["W2"].T) * (1 - A1 * A1)
    return {"W1": X.T @ dZ1, "b1": dZ1.sum(axis=0), "W2": A1.T @ dZ2, "b2": dZ2.sum(axis=0)}
"""),
    ("backward_propagation", "tanh's derivative from Z1, einsum, keepdims then reshape", """
def backward_propagation(params, cache, X, Y, loss="bce"):
    dZ2 = (cache["A2"] - Y) / len(X)
    if loss == "mse":
        dZ2 = dZ2 * cache["A2"] * (1 - cache["A2"])
    dZ1 = np.matmul(dZ2, params["W2"].T) * (1 - np.tanh(cache["Z1"]) ** 2)
    return dict(W1=np.einsum("ni,nj->ij", X, dZ1), b1=np.sum(dZ1, axis=0, keepdims=True).reshape(-1),
                W2=np.einsum("ni,nj->ij", cache["A1"], dZ2), b2=np.sum(dZ2, axis=0, keepdims=True).ravel())
"""),
    ("backward_propagation", "a loop over the samples", """
def backward_propagation(params, cache, X, Y, loss="bce"):
    N = X.shape[0]
    grads = {key: np.zeros_like(value) for key, value in params.items()}
    for i in range(N):
        a1, a2 = cache["A1"][i], cache["A2"][i]
        dz2 = (a2 - Y[i]) / N * (a2 * (1 - a2) if loss == "mse" else 1.0)
        dz1 = (params["W2"] @ dz2) * (1 - a1 ** 2)
        grads["W2"] += np.outer(a1, dz2)
        grads["b2"] += dz2
        grads["W1"] += np.outer(X[i], dz1)
        grads["b1"] += dz1
    return grads
"""),
    ("nn_model", "copied parameters updated in place, if/else on the loss", """
def nn_model(X, Y, loss="bce", n_h=2, num_iterations=1000, learning_rate=1.2, seed=0, scale=1.0,
             initial_params=None):
    if initial_params is None:
        initial_params = initialize_parameters(X.shape[1], n_h, Y.shape[1], seed=seed, scale=scale)
    params = {key: value.copy() for key, value in initial_params.items()}
    costs = []
    for _ in range(num_iterations):
        A2, cache = forward_propagation(X, params)
        if loss == "mse":
            cost = mse_cost(A2, Y)[0]
        else:
            cost = bce_cost(A2, Y)[0]
        costs.append(float(cost))
        grads = backward_propagation(params, cache, X, Y, loss)
        for key in params:
            params[key] -= learning_rate * grads[key]
    return params, costs
"""),
    ("nn_model", "a while loop from a shallow copy", """
def nn_model(X, Y, loss="bce", n_h=2, num_iterations=1000, learning_rate=1.2, seed=0, scale=1.0,
             initial_params=None):
    params = dict(initial_params) if initial_params else initialize_parameters(
        X.shape[1], n_h, Y.shape[1], method="random", seed=seed, scale=scale)
    cost_of = bce_cost if loss == "bce" else mse_cost
    costs = []
    while len(costs) < num_iterations:
        A2, cache = forward_propagation(X, params)
        costs.append(cost_of(A2, Y)[0])
        params = update_parameters(params, backward_propagation(params, cache, X, Y, loss=loss), learning_rate)
    return params, costs
"""),
    ("softmax", "a loop over the rows", """
def softmax(Z):
    probs = np.empty_like(Z, dtype=float)
    for i in range(Z.shape[0]):
        row = np.exp(Z[i] - Z[i].max())
        probs[i] = row / row.sum()
    return probs
"""),
    ("softmax", "the exponential of the log-probabilities", """
def softmax(Z):
    m = np.max(Z, axis=1, keepdims=True)
    return np.exp(Z - m - np.log(np.sum(np.exp(Z - m), axis=1, keepdims=True)))
"""),
    ("softmax", "transposes and np.newaxis instead of keepdims", """
def softmax(Z):
    e = np.exp((Z.T - Z.max(axis=1)).T)
    return e / e.sum(axis=1)[:, np.newaxis]
"""),
    ("softmax_cross_entropy", "one-hot rows of np.eye, log-sum-exp with the maximum added back", """
def softmax_cross_entropy(Z, y):
    N, C = Z.shape
    m = np.max(Z, axis=1, keepdims=True)
    log_probs = Z - (m + np.log(np.sum(np.exp(Z - m), axis=1, keepdims=True)))
    onehot = np.eye(C)[y]
    return float(-np.sum(onehot * log_probs) / N), (np.exp(log_probs) - onehot) / N
"""),
    ("softmax_cross_entropy", "a loop for the cost, softmax with 1 subtracted at the labels", """
def softmax_cross_entropy(Z, y):
    N = Z.shape[0]
    total = 0.0
    for i in range(N):
        shifted = Z[i] - np.max(Z[i])
        total += np.log(np.sum(np.exp(shifted))) - shifted[y[i]]
    dZ = softmax(Z)
    dZ[np.arange(N), y] -= 1
    return float(total / N), dZ / N
"""),
    ("softmax_cross_entropy", "np.take_along_axis and np.mean", """
def softmax_cross_entropy(Z, y):
    shifted = Z - Z.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    cost = -np.mean(np.take_along_axis(log_probs, y.reshape(-1, 1), axis=1))
    onehot = np.zeros(Z.shape)
    onehot[range(len(y)), y] = 1
    return float(cost), (softmax(Z) - onehot) / len(y)
"""),
]


@pytest.mark.parametrize("name, way, code", ALTERNATIVES, ids=[f"{name}-{way}" for name, way, _ in ALTERNATIVES])
def test_other_correct_ways_of_writing_it_pass(name, way, code):
    """A right answer written another way than the solution passes its hidden check, and costs no other question
    (nn_model and backward_propagation call the student's mse_cost, softmax_cross_entropy may call softmax)."""
    namespace = notebook_namespace({name: code})
    for seed in SEEDS:
        with secret_seed(seed):
            getattr(lab3, f"check_{name}")(namespace[name])
    with secret_seed(SEEDS[1]):
        assert failures(namespace) == []


# ----------------------------------------------------------------------------- hidden checks: messages

def mse_sum(A2, Y):
    return float(np.sum((A2 - Y) ** 2) / 2), (A2 - Y)


def mse_without_half(A2, Y):
    cost, dA2 = losses.mse(A2, Y)
    return 2 * cost, dA2


def mse_mean_over_entries(A2, Y):
    return float(np.mean((A2 - Y) ** 2) / 2), (A2 - Y) / A2.size


def mse_cross_entropy_gradient(A2, Y):
    return losses.mse(A2, Y)[0], losses.bce(A2, Y)[1]


def mse_gradient_with_two(A2, Y):
    cost, dA2 = losses.mse(A2, Y)
    return cost, 2 * dA2


@pytest.mark.parametrize("student, expected", [
    (mse_sum, "the cost has the wrong value: did you average over the samples (divide by N)?"),
    (mse_without_half, "the course's convention has a factor 1/2"),
    (mse_mean_over_entries, "it is divided by the number of entries instead of by N, the number of samples (rows)"),
    (mse_cross_entropy_gradient, "dA2 has the right shape but wrong values: this is the gradient of the "
                                 "cross-entropy"),
    (mse_gradient_with_two, "the 2 from the square cancels"),
])
def test_check_mse_cost_catches(student, expected):
    assert expected in failure_message(lab3.check_mse_cost, student)


def planted_backward():
    namespace = {"np": np}
    exec(PLANTED.code, namespace)  # noqa: S102
    return namespace["backward_propagation"]


def backward_without_mean(params, cache, X, Y, loss="bce"):
    grads = shallow.backward_propagation(params, cache, X, Y, loss)
    return {key: value * X.shape[0] for key, value in grads.items()}


def backward_bias_over_wrong_axis(params, cache, X, Y, loss="bce"):
    A2 = cache["A2"]
    dZ2 = (A2 - Y) / X.shape[0] * (A2 * (1 - A2) if loss == "mse" else 1.0)
    return {**shallow.backward_propagation(params, cache, X, Y, loss), "b2": dZ2.sum(axis=1)}


def backward_mse_by_default(params, cache, X, Y, loss="mse"):
    return shallow.backward_propagation(params, cache, X, Y, loss)


@pytest.mark.parametrize("student, expected", [
    (planted_backward(), "loss='mse'): grads['W2'] has the right shape but wrong values: these are the cross-entropy "
                         "gradients: with the squared error the sigmoid's derivative does not cancel"),
    (backward_without_mean, "did you average over the batch (divide by N)?"),
    (backward_bias_over_wrong_axis, "like params['b2']: did you sum over the samples (axis 0)?"),
    (backward_mse_by_default, "the default loss should be 'bce'"),
])
def test_check_backward_propagation_catches(student, expected):
    message = failure_message(lab3.check_backward_propagation, student)
    assert expected in message and "(Tested with N=" in message


def nn_model_reference(X, Y, loss="bce", n_h=2, num_iterations=1000, learning_rate=1.2, seed=0, scale=1.0,
                       initial_params=None):
    return shallow.nn_model(X, Y, n_h=n_h, num_iterations=num_iterations, learning_rate=learning_rate, seed=seed,
                            scale=scale, loss=loss, initial_params=initial_params)


def nn_model_always_bce(X, Y, loss="bce", **options):
    return nn_model_reference(X, Y, "bce", **options)


def nn_model_ignoring_initial_params(X, Y, loss="bce", initial_params=None, **options):
    return nn_model_reference(X, Y, loss, **options)


def nn_model_in_place(X, Y, loss="bce", n_h=2, num_iterations=1000, learning_rate=1.2, seed=0, scale=1.0,
                      initial_params=None):
    params = initial_params or shallow.initialize_parameters(X.shape[1], n_h, 1, "random", seed, scale)
    costs = []
    for _ in range(num_iterations):
        A2, cache = shallow.forward_propagation(X, params)
        costs.append(shallow.compute_cost(A2, Y, loss))
        for key, grad in shallow.backward_propagation(params, cache, X, Y, loss).items():
            params[key] -= learning_rate * grad
    return params, costs


X_xor, Y_xor = X4, Y4  # the notebook's names for the XOR truth table, as a student's function may read them


def nn_model_on_the_notebooks_data(X, Y, loss="bce", **options):
    return nn_model_reference(X_xor, Y_xor, loss, **options)


@pytest.mark.parametrize("student, expected", [
    (nn_model_on_the_notebooks_data, "nn_model_on_the_notebooks_data does not use the X and Y it is given: called with "
                                     "other X and Y, it gives the same result. Compute with its arguments X and Y, not "
                                     "with notebook variables (such as the notebook's data). (Tested with"),
    (nn_model_always_bce, "with loss='mse' and initial_params trained with the other loss"),
    (nn_model_ignoring_initial_params, "the first cost has the wrong value: start from a copy of initial_params"),
    (nn_model_in_place, "changed its input initial_params['W1'] in place"),
])
def test_check_nn_model_catches(student, expected):
    assert expected in failure_message(lab3.check_nn_model, student)


def test_check_nn_model_grades_the_loop_even_when_backward_propagation_is_wrong():
    namespace = notebook_namespace({"backward_propagation": PLANTED.code})
    lab3.check_nn_model(namespace["nn_model"])
    with pytest.raises(AssertionError):
        lab3.check_backward_propagation(namespace["backward_propagation"])


def softmax_naive(Z):
    return np.exp(Z) / np.exp(Z).sum(axis=1, keepdims=True)


def softmax_over_columns(Z):
    e = np.exp(Z - Z.max(axis=0, keepdims=True))
    return e / e.sum(axis=0, keepdims=True)


def softmax_without_keepdims(Z):
    e = np.exp(Z - Z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1)


def softmax_column_maximum(Z):
    e = np.exp(Z - Z.max(axis=0, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def softmax_in_place(Z):
    Z -= Z.max(axis=1, keepdims=True)
    return activations.softmax(Z)


@pytest.mark.parametrize("student, expected", [
    (softmax_naive, "softmax overflows for large inputs: subtract the row maximum first"),
    (softmax_over_columns, "each column sums to 1 instead of each row"),
    (softmax_without_keepdims, "Use keepdims=True"),
    (softmax_column_maximum, "subtract each row's own maximum"),
    (softmax_in_place, "changed its input Z in place"),
])
def test_check_softmax_catches(student, expected):
    assert expected in failure_message(lab3.check_softmax, student)


def test_check_softmax_ignores_harmless_warnings_and_student_error_settings():
    def softmax(Z):
        warnings.warn("a harmless warning", RuntimeWarning)
        np.seterr(all="ignore")
        return activations.softmax(Z)

    old = np.geterr()
    try:
        lab3.check_softmax(softmax)
        assert "overflows" in failure_message(lab3.check_softmax, softmax_naive)
    finally:
        np.seterr(**old)


def ce_log_of_softmax(Z, y):
    P = activations.softmax(Z)
    N = len(y)
    onehot = np.eye(Z.shape[1])[y]
    return float(-np.mean(np.log(P[np.arange(N), y]))), (P - onehot) / N


def ce_with_epsilon(Z, y):
    P = activations.softmax(Z)
    N = len(y)
    return float(-np.mean(np.log(P[np.arange(N), y] + 1e-12))), losses.softmax_ce(Z, y)[1]


def ce_without_mean(Z, y):
    cost, dZ = losses.softmax_ce(Z, y)
    return cost * len(y), dZ * len(y)


def ce_every_pair(Z, y):
    P = activations.softmax(Z)
    return float(-np.sum(np.log(P[:, y])) / len(y)), losses.softmax_ce(Z, y)[1]


def ce_without_onehot(Z, y):
    return losses.softmax_ce(Z, y)[0], activations.softmax(Z) / len(y)


def ce_whole_columns(Z, y):
    dZ = activations.softmax(Z)
    dZ[:, y] -= 1
    return losses.softmax_ce(Z, y)[0], dZ / len(y)


@pytest.mark.parametrize("student, expected", [
    (ce_log_of_softmax, "overflows (or takes the log of 0) for large inputs: compute the log-probabilities with the "
                        "log-sum-exp trick"),
    (ce_with_epsilon, "a small number added inside the log (or clipping) caps the cost"),
    (ce_without_mean, "the cost has the wrong value: did you average over the samples (divide by N)?"),
    (ce_every_pair, "probs[np.arange(N), y], not probs[:, y]"),
    (ce_without_onehot, "subtract the one-hot labels"),
    (ce_whole_columns, "dZ has the right shape but wrong values: 1 was subtracted in "),
    (ce_whole_columns, " of every row, because dZ[:, y] -= 1 changes whole columns: subtract 1 only at each sample's"),
])
def test_check_softmax_cross_entropy_catches(student, expected):
    assert expected in failure_message(lab3.check_softmax_cross_entropy, student)


def test_check_softmax_cross_entropy_does_not_charge_a_broken_softmax():
    naive = "def softmax(Z):\n    return np.exp(Z) / np.exp(Z).sum(axis=1, keepdims=True)\n"
    namespace = notebook_namespace({"softmax": naive})
    lab3.check_softmax_cross_entropy(namespace["softmax_cross_entropy"])


def test_messages_do_not_reveal_expected_values():
    message = failure_message(lab3.check_mse_cost, mse_sum)
    rng = np.random.default_rng(313)
    N = int(rng.integers(2, 20))
    A2 = rng.uniform(0.02, 0.98, size=(N, 1))
    Y = (rng.random((N, 1)) < 0.5).astype(np.float64)
    cost, dA2 = losses.mse(A2, Y)
    for value in [cost, *dA2.ravel(), *A2.ravel()]:
        assert f"{value:.4g}" not in message and f"{value:.3f}" not in message
    assert not re.search(r"\d\.\d{3}", failure_message(lab3.check_softmax_cross_entropy, ce_without_mean))
