"""Hidden tests of Lab 3 (MSE vs cross-entropy): one check per graded function.

Each ``check_<function>(student_function)`` compares the student's function with ``autograder.reference``
(``losses.mse``, ``shallow`` with ``loss="mse"|"bce"``, ``activations.softmax``, ``losses.softmax_ce``) on
seeded random sizes and inputs, and raises AssertionError with a student-facing message on the first
problem found. Functions that call the student's other graded functions run again with the reference
versions of those in their place where they fail with the student's own (``judge.student.own_helpers_first``),
so one wrong function loses one question only.
"""
import contextlib
import io

import numpy as np

from autograder.reference import activations, losses, shallow
from course_utils.data import make_xor

from ..judge.student import own_helpers_first
from .common import (
    MEAN_HINT,
    SIGN_FLIPPED,
    call,
    expect_array,
    expect_close,
    expect_number,
    expect_costs,
    expect_numerical_gradients,
    expect_tuple,
    label_columns,
    over_entries,
    random_sizes,
    secret_rng,
    tested_with,
    times,
    uses_its_inputs,
)
from .network import HIDDEN_LAYER_HINTS, KEYS, describe, expect_arrays, shallow_problem, sizes

LARGE_LOGIT = 1e4
KEEPDIMS_HINT = ("Use keepdims=True in the row maximum and the row sum, so that they keep the shape (N, 1) "
                 "and apply to every column of their row.")


# ----------------------------------------------------------------------------- running student code

def _mse_cost(A2, Y):
    return losses.mse(A2, Y)


def _backward_propagation(params, cache, X, Y, loss="bce"):
    return shallow.backward_propagation(params, cache, X, Y, loss)


def _softmax(Z):
    return activations.softmax(Z)


def _softmax_cross_entropy(Z, y):
    return losses.softmax_ce(Z, y)


# The graded functions of the notebook, by their notebook names, with the notebook's argument names.
REFERENCE_HELPERS = {"mse_cost": _mse_cost, "backward_propagation": _backward_propagation,
                     "softmax": _softmax, "softmax_cross_entropy": _softmax_cross_entropy}


def _expect_finite(value, problem):
    """Stability is judged on the result: NaN or inf in a numeric ``value`` fails with ``problem``."""
    array = np.asarray(value) if isinstance(value, (int, float, np.number, np.ndarray)) else None
    if array is not None and array.dtype.kind in "fc" and not np.all(np.isfinite(array)):
        raise AssertionError(problem)


def _call_rowwise(func, *args, context=""):
    """``call`` for functions of (N, C) logits, adding the keepdims hint to broadcasting errors."""
    try:
        return call(func, *args, context=context)
    except AssertionError as failure:
        if "broadcast" in str(failure):
            raise AssertionError(f"{failure} {KEEPDIMS_HINT}") from None
        raise


def _non_square(rng):
    """A number of samples N and of classes C with N != C, so that a wrong axis cannot go unnoticed."""
    N, C = random_sizes(rng, (3, 10), (2, 7))
    return (N + 1, C) if N == C else (N, C)


def _large_logits(rng, N, C):
    """(N, C) logits up to +-1e4, including a row of equal huge values and a row of equal very negative ones."""
    Z = rng.uniform(-LARGE_LOGIT, LARGE_LOGIT, size=(N, C))
    Z[0] = LARGE_LOGIT
    Z[1] = -LARGE_LOGIT
    return Z


# ----------------------------------------------------------------------------- mse_cost

def check_mse_cost(mse_cost):
    """Value and gradient of J = 1/(2N) sum((A2 - Y)**2) with the mean over samples, for 1 and 3 outputs."""
    rng = secret_rng(313)
    for n_y in (1, 1, 3):
        N = int(rng.integers(2, 20))
        N += N == n_y
        A2 = rng.uniform(0.02, 0.98, size=(N, n_y))
        Y = (rng.random((N, n_y)) < 0.5).astype(np.float64)
        with tested_with(f"A2 and Y of shape ({N}, {n_y})"):
            result = call(mse_cost, A2, Y)
            cost, dA2 = expect_tuple(result, 2, "mse_cost should return a tuple (cost, dA2)")
            cost = expect_number(cost, "mse_cost: the cost", MEAN_HINT)
            dA2 = expect_array(dA2, "mse_cost: dA2", (N, n_y), "(N, n_y), like A2")
            expected_cost, expected_dA2 = losses.mse(A2, Y)
            expect_close(cost, expected_cost, "mse_cost: the cost", "the cost is 1/(2N) * sum((A2 - Y)**2)",
                         diagnoses=[times(N, "did you average over the samples (divide by N)?"),
                                    times(2, "the course's convention has a factor 1/2: J = 1/(2N) * sum(...)"),
                                    over_entries(n_y),
                                    times(2 / n_y, "the convention is 1/(2N) * sum(...), with N = A2.shape[0] "
                                          "the number of samples"),
                                    SIGN_FLIPPED])
            cross_entropy_gradient = (A2 - Y) / (A2 * (1 - A2) * N)
            expect_close(dA2, expected_dA2, "mse_cost: dA2", "the gradient of the cost with respect to A2 is "
                         "(A2 - Y) / N",
                         diagnoses=[times(N, "did you divide by N?"),
                                    times(2, "with the factor 1/2 in the cost, the 2 from the square cancels: "
                                          "dA2 = (A2 - Y) / N"),
                                    over_entries(n_y),
                                    lambda a, e: "this is the gradient of the cross-entropy, not of the squared "
                                    "error" if np.allclose(a, cross_entropy_gradient) else None,
                                    SIGN_FLIPPED])


# ----------------------------------------------------------------------------- backward_propagation

LAYER_HINTS = {
    "mse": {"W2": "with the squared error, dZ2 = dA2 * A2 * (1 - A2) with dA2 = (A2 - Y) / N, and dW2 = A1.T @ dZ2",
            "b2": "db2 is the sum over the samples of dZ2 = (A2 - Y) * A2 * (1 - A2) / N"},
    "bce": {"W2": "with the cross-entropy, dZ2 = (A2 - Y) / N and dW2 = A1.T @ dZ2",
            "b2": "with the cross-entropy, db2 is the sum over the samples of dZ2 = (A2 - Y) / N"},
}



def _check_gradients(grads, params, cache, X, Y, loss, what):
    """The student's gradients (already shape-checked) against the reference for ``loss``, then numerically."""
    N = X.shape[0]
    expected = shallow.backward_propagation(params, cache, X, Y, loss)
    other_loss = "bce" if loss == "mse" else "mse"
    other = shallow.backward_propagation(params, cache, X, Y, other_loss)
    other_hint = {"mse": "these are the cross-entropy gradients: with the squared error the sigmoid's derivative "
                         "does not cancel, so dZ2 = (A2 - Y) * A2 * (1 - A2) / N",
                  "bce": "these are the squared-error gradients: with the cross-entropy, dZ2 = (A2 - Y) / N"}[loss]
    for key in ("W2", "b2", "W1", "b1"):
        diagnoses = [lambda a, e, key=key: other_hint if np.allclose(a, other[key]) else None,
                     times(N, "did you average over the batch (divide by N)?"),
                     times(1 / N, "you divided by N twice"), SIGN_FLIPPED]
        hint = LAYER_HINTS[loss].get(key) or HIDDEN_LAYER_HINTS[key]
        expect_close(grads[key], expected[key], f"{what}[{key!r}]", hint, diagnoses)
    expect_numerical_gradients(lambda p: shallow.compute_cost(shallow.forward_propagation(X, p)[0], Y, loss),
                               params, grads, what)


@own_helpers_first(REFERENCE_HELPERS)
def check_backward_propagation(backward_propagation):
    """Gradients for loss="mse" and loss="bce" (the default) match the reference and numerical gradients."""
    rng = secret_rng(323)
    for loss in ("mse", "mse", "bce", None):
        N, n_x, n_h = sizes(rng)
        X, Y, params = shallow_problem(rng, N, n_x, n_h)
        _, cache = shallow.forward_propagation(X, params)
        options = {} if loss is None else {"loss": loss}
        called = f"backward_propagation(params, cache, X, Y{'' if loss is None else f', loss={loss!r}'})"
        with tested_with(describe(N, n_x, n_h)):
            grads = expect_arrays(call(backward_propagation, params, cache, X, Y, **options), n_x, n_h,
                                  f"{called}: grads", N=N, like_params=True)
            if loss is None:
                mse_grads = shallow.backward_propagation(params, cache, X, Y, "mse")
                if all(np.allclose(grads[key], mse_grads[key]) for key in KEYS):
                    raise AssertionError(f"{called} computed the squared-error gradients: the default loss should "
                                         "be 'bce' (def backward_propagation(params, cache, X, Y, loss=\"bce\")).")
            _check_gradients(grads, params, cache, X, Y, loss or "bce", f"{called}: grads")


# ----------------------------------------------------------------------------- nn_model

def _train(nn_model, X, Y, context, **options):
    """Call nn_model; check (params, costs); return (params as float64 arrays, costs as an array)."""
    with contextlib.redirect_stdout(io.StringIO()):
        result = call(nn_model, X, Y, context=context, **options)
    params, costs = expect_tuple(result, 2, "nn_model should return a tuple (params, costs)")
    params = expect_arrays(params, X.shape[1], options["n_h"], f"nn_model {context}: the returned params")
    costs = expect_costs(costs, options["num_iterations"], f"nn_model {context}")
    return params, costs


def _compare_runs(actual, expected, other_loss_costs, context, start_hint):
    """The student's (params, costs) against the reference run, naming the likely mistake."""
    (params, costs), (expected_params, expected_costs) = actual, expected
    if not np.allclose(costs, expected_costs, rtol=1e-6, atol=1e-9) and np.allclose(costs, other_loss_costs):
        raise AssertionError(f"nn_model {context} trained with the other loss: pass loss on to the cost and to "
                             "backward_propagation.")
    expect_close(costs[0], expected_costs[0], f"nn_model {context}: the first cost", start_hint, diagnoses=())
    expect_close(costs, expected_costs, f"nn_model {context}: the list of costs",
                 "each iteration runs forward_propagation, computes the cost of `loss`, runs backward_propagation "
                 "with `loss` and update_parameters with the learning rate, and records the cost before the update",
                 diagnoses=())
    for key in KEYS:
        expect_close(params[key], expected_params[key], f"nn_model {context}: the returned params[{key!r}]",
                     "return the parameters after the last update", diagnoses=())


@own_helpers_first(REFERENCE_HELPERS)
def check_nn_model(nn_model):
    """The training loop for both losses, from given parameters and from a seeded random start."""
    X, y = make_xor(n_samples=40, noise=0.2, seed=secret_rng(7))
    Y = y.reshape(-1, 1).astype(np.float64)
    X_other, y_other = make_xor(n_samples=40, noise=0.2, seed=secret_rng(8))
    Y_other = y_other.reshape(-1, 1).astype(np.float64)
    rng = secret_rng(333)
    given_start = "start from a copy of initial_params when they are given"
    for loss in ("mse", "bce"):
        _, _, start = shallow_problem(rng, 2, 2, 3)
        options = dict(n_h=3, num_iterations=40, learning_rate=0.9)
        context = f"with loss={loss!r} and initial_params"
        with tested_with("40 noisy XOR points, 40 iterations, learning_rate=0.9"), uses_its_inputs(
                nn_model, (X, Y), (X_other, Y_other), "X and Y", loss=loss, initial_params=start, **options):
            actual = _train(nn_model, X, Y, context, loss=loss, initial_params=start, **options)
            expected = shallow.nn_model(X, Y, loss=loss, initial_params=start, **options)
            other = shallow.nn_model(X, Y, loss="bce" if loss == "mse" else "mse", initial_params=start, **options)
            _compare_runs(actual, expected, other[1], context, given_start)

    options = dict(n_h=4, num_iterations=15, learning_rate=1.2, seed=3, scale=0.7)
    context = "without initial_params (seed=3, scale=0.7)"
    with tested_with("40 noisy XOR points, n_h=4"):
        actual = _train(nn_model, X, Y, context, loss="mse", **options)
        expected = shallow.nn_model(X, Y, method="random", loss="mse", **options)
        other = shallow.nn_model(X, Y, method="random", loss="bce", **options)
        _compare_runs(actual, expected, other[1], context,
                      "without initial_params, start from initialize_parameters(n_x, n_h, n_y, \"random\", "
                      "seed=seed, scale=scale)")
        options = {**options, "initial_params": shallow.initialize_parameters(2, 4, 1, "random", 3, 0.7)}
        _, costs = _train(nn_model, X, Y, "called without loss", **options)
        if not np.allclose(costs, other[1]):
            raise AssertionError("nn_model called without loss should train with the cross-entropy: "
                                 "the default is loss=\"bce\".")


# ----------------------------------------------------------------------------- softmax

def check_softmax(softmax):
    """Row-wise probabilities on non-square logits, and no overflow for logits up to +-1e4."""
    rng = secret_rng(343)
    for _ in range(3):
        N, C = _non_square(rng)
        Z = rng.normal(scale=3.0, size=(N, C))
        with tested_with(f"logits Z of shape ({N}, {C})"):
            probs = expect_array(_call_rowwise(softmax, Z), "softmax(Z)", (N, C), "(N, C), like Z")
            columns_sum_to_one = np.allclose(probs.sum(axis=0), 1.0)
            expect_close(probs, activations.softmax(Z), "softmax(Z)",
                         "softmax(Z)[i, k] = exp(Z[i, k] - m_i) / sum_j exp(Z[i, j] - m_i), with m_i the maximum "
                         "of row i: each row must sum to 1",
                         diagnoses=[lambda a, e: "each column sums to 1 instead of each row: sum over the classes "
                                    "(axis=1, keepdims=True)" if columns_sum_to_one else None,
                                    lambda a, e: "the rows sum to 1 but the values are off: subtract each row's own "
                                    "maximum (axis=1, keepdims=True)" if np.allclose(a.sum(axis=1), 1.0) else None])
    N, C = _non_square(rng)
    Z = _large_logits(rng, N, C)
    with tested_with(f"logits of shape ({N}, {C}) between -1e4 and 1e4"):
        probs = _call_rowwise(softmax, Z)
        _expect_finite(probs, "softmax overflows for large inputs: subtract the row maximum first, "
                              "Z - Z.max(axis=1, keepdims=True), which does not change the result.")
        probs = expect_array(probs, "softmax(Z)", (N, C), "(N, C), like Z")
        expect_close(probs, activations.softmax(Z), "softmax(Z)",
                     "for large logits, subtract each row's maximum before the exponential")


# ----------------------------------------------------------------------------- softmax_cross_entropy

@own_helpers_first(REFERENCE_HELPERS)
def check_softmax_cross_entropy(softmax_cross_entropy):
    """Mean categorical cross-entropy and its gradient (softmax - onehot) / N, stable for logits up to +-1e4."""
    rng = secret_rng(353)
    for _ in range(3):
        N, C = _non_square(rng)
        Z = rng.normal(scale=2.0, size=(N, C))
        y = rng.integers(0, C, size=N)
        y[:2] = rng.permutation(C)[:2]  # at least two classes, so that no mistake looks like another
        with tested_with(f"logits Z of shape ({N}, {C}) and labels y of shape ({N},)"):
            result = _call_rowwise(softmax_cross_entropy, Z, y)
            cost, dZ = expect_tuple(result, 2, "softmax_cross_entropy should return a tuple (cost, dZ)")
            cost = expect_number(cost, "softmax_cross_entropy: the cost", MEAN_HINT)
            dZ = expect_array(dZ, "softmax_cross_entropy: dZ", (N, C), "(N, C), like Z")
            expected_cost, expected_dZ = losses.softmax_ce(Z, y)
            probs = activations.softmax(Z)
            every_pair = -np.sum(np.log(probs[:, y])) / N
            expect_close(cost, expected_cost, "softmax_cross_entropy: the cost",
                         "the cost is -1/N * sum_i log(softmax(Z)[i, y[i]])",
                         diagnoses=[times(N, "did you average over the samples (divide by N)?"),
                                    lambda a, e: "pick one probability per row, the one of its label: "
                                    "probs[np.arange(N), y], not probs[:, y]" if np.isclose(a, every_pair) else None,
                                    times(-1, "the cost should be positive: did you forget the minus sign?")])
            expect_close(dZ, expected_dZ, "softmax_cross_entropy: dZ",
                         "dZ = (softmax(Z) - onehot(y)) / N, where onehot(y)[i, y[i]] = 1 and 0 elsewhere",
                         diagnoses=[times(N, "did you divide by N?"),
                                    lambda a, e: "subtract the one-hot labels from the probabilities"
                                    if np.allclose(a, probs / N) else None,
                                    SIGN_FLIPPED, label_columns(y, "dZ")])
            expect_numerical_gradients(lambda p: losses.softmax_ce(p["Z"], y)[0], {"Z": Z}, {"Z": dZ},
                                       "softmax_cross_entropy: dZ (here grads['Z'])")
    N, C = _non_square(rng)
    Z = _large_logits(rng, N, C)
    y = rng.integers(0, C, size=N)
    Z[-1] = -LARGE_LOGIT  # a row whose label has probability exp(-2e4): 0 in floating point, a finite cost
    Z[-1, (y[-1] + 1) % C] = LARGE_LOGIT
    with tested_with(f"logits of shape ({N}, {C}) between -1e4 and 1e4"):
        result = _call_rowwise(softmax_cross_entropy, Z, y)
        cost, dZ = expect_tuple(result, 2, "softmax_cross_entropy should return a tuple (cost, dZ)")
        _expect_finite(cost, "softmax_cross_entropy overflows (or takes the log of 0) for large inputs: compute "
                             "the log-probabilities with the log-sum-exp trick, log p = (Z - m) - "
                             "log(sum(exp(Z - m))) with m the row maximum, instead of np.log(softmax(Z)).")
        cost = expect_number(cost, "softmax_cross_entropy: the cost", MEAN_HINT)
        dZ = expect_array(dZ, "softmax_cross_entropy: dZ", (N, C), "(N, C), like Z")
        expected_cost, expected_dZ = losses.softmax_ce(Z, y)
        expect_close(cost, expected_cost, "softmax_cross_entropy: the cost",
                     "for large logits, a small number added inside the log (or clipping) caps the cost: compute "
                     "log p = (Z - m) - log(sum(exp(Z - m))) with m the row maximum", diagnoses=())
        expect_close(dZ, expected_dZ, "softmax_cross_entropy: dZ",
                     "for large logits, use a softmax that subtracts the row maximum", diagnoses=())
