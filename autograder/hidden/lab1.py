"""Hidden tests of Lab 1 (zero vs random initialization): one check per graded function.

Each ``check_<function>(student_function)`` compares the student's function with
``autograder.reference.shallow`` on seeded random sizes and inputs, and raises AssertionError
with a student-facing message on the first problem found. Every check runs in well under a second.
"""
import contextlib
import io
import re

import numpy as np

from autograder.reference import shallow
from course_utils.checks import uniform_spread
from course_utils.data import make_xor

from ..judge.student import own_helpers_first
from .network import (HIDDEN_LAYER_HINTS, KEYS, describe, expect_arrays, shallow_problem, sizes,
                      tanh_derivative_diagnoses)
from .common import (
    MEAN_HINT,
    SIGN_FLIPPED,
    call,
    expect_array,
    expect_close,
    expect_costs,
    expect_dict,
    expect_number,
    expect_numerical_gradients,
    expect_tuple,
    must_raise,
    secret_rng,
    tested_with,
    times,
    uses_its_inputs,
    went_uphill,
)

RANDOM_METHODS = ("random", "xavier", "he")
# The notebook's graded functions, by their notebook names: check_nn_model runs the student's loop with
# these in place of the student's own, so a wrong helper costs its own question only.
REFERENCE_HELPERS = {name: getattr(shallow, name) for name in (
    "initialize_parameters", "forward_propagation", "compute_cost", "backward_propagation", "update_parameters")}
LN2 = float(np.log(2.0))


def _expect_params(params, n_x, n_h, n_y, what):
    """Check a parameter dict's keys, shapes and finiteness; return its arrays."""
    return expect_arrays(params, n_x, n_h, what, n_y=n_y)


# ----------------------------------------------------------------------------- initialize_parameters

def _expected_std(method, fan_in, fan_out, scale):
    return {"random": scale, "xavier": np.sqrt(2.0 / (fan_in + fan_out)), "he": np.sqrt(2.0 / fan_in)}[method]


def _check_weight_statistics(W, method, fan_in, fan_out, scale, what):
    """Mean, standard deviation and normality of a large random weight matrix."""
    std = W.std()
    expected = _expected_std(method, fan_in, fan_out, scale)
    if abs(W.mean()) > 6 * expected / np.sqrt(W.size):
        raise AssertionError(f"{what} should have mean 0, but its entries are shifted away from 0: "
                             "draw from a normal distribution centred at 0.")
    uniform = uniform_spread(W, expected) if abs(std / expected - 1) > 0.03 else None
    if uniform:
        raise AssertionError(f"{what} has the wrong spread: {uniform}.")
    if abs(std / expected - 1) > 0.03:
        formula = {"random": "the standard deviation should be scale",
                   "xavier": "Xavier uses the standard deviation sqrt(2 / (fan_in + fan_out))",
                   "he": "He uses the standard deviation sqrt(2 / fan_in), with fan_in the layer's number of inputs"}
        raise AssertionError(f"{what} has the wrong spread (standard deviation): {formula[method]}. "
                             "Multiply standard normal draws by it (not its square).")
    kurtosis = np.mean((W - W.mean()) ** 4) / std ** 4
    if abs(kurtosis - 3) > 0.3:
        raise AssertionError(f"{what} does not look normally distributed: draw with rng.standard_normal "
                             "(a Gaussian), not a uniform or other distribution.")


def _repeats_draws(W1, W2) -> bool:
    """Whether W2 holds W1's first draws again (a generator made anew from the seed for each matrix), in either order of
    the axes: independent draws of this size correlate by about 0.01."""
    return any(abs(np.corrcoef(later.ravel(), first.ravel()[:later.size])[0, 1]) > 0.5
               for first, later in ((W1, W2), (W1.T, W2.T)))


def check_initialize_parameters(initialize_parameters):
    """Deterministic methods match the reference exactly; random methods have the right statistics and seeding."""
    rng = secret_rng(101)
    for method in ("zeros", "constant"):
        n_x, n_h, n_y = (int(v) for v in rng.integers(1, 7, size=3))
        value = float(rng.uniform(-2, 2))
        context = f"for method={method!r}" + (f", value={value:.3g}" if method == "constant" else "")
        with tested_with(f"n_x={n_x}, n_h={n_h}, n_y={n_y}"):
            params = call(initialize_parameters, n_x, n_h, n_y, method, seed=0, value=value, context=context)
            params = _expect_params(params, n_x, n_h, n_y, f"initialize_parameters {context}: params")
            expected = shallow.initialize_parameters(n_x, n_h, n_y, method, value=value)
            for key in KEYS:
                hint = "biases start at zero" if key.startswith("b") else \
                    ("every weight should be 0" if method == "zeros" else "every weight should equal value")
                expect_close(params[key], expected[key], f"initialize_parameters {context}: params[{key!r}]", hint,
                             diagnoses=())
    # W1 has 60,000 entries, W2 20,000: their spread is then known within 0.5% (3% allowed) and their kurtosis
    # within 0.035 (0.3 allowed), fan-in differs from fan-out in both, and each draw is 0.6 MB to send
    n_x, n_h, n_y = 300, 200, 100
    for method in RANDOM_METHODS:
        scale = float(rng.uniform(0.1, 2.0))
        context = f"for method={method!r}" + (f", scale={scale:.3g}" if method == "random" else "")
        with tested_with(f"n_x={n_x}, n_h={n_h}, n_y={n_y}"):
            draw = lambda seed: _expect_params(  # noqa: E731
                call(initialize_parameters, n_x, n_h, n_y, method, seed=seed, scale=scale, context=context),
                n_x, n_h, n_y, f"initialize_parameters {context}: params")
            params = draw(7)
            for key in ("b1", "b2"):
                if np.any(params[key] != 0):
                    raise AssertionError(f"initialize_parameters {context}: params[{key!r}] should be all zeros "
                                         "(only the weights are random).")
            _check_weight_statistics(params["W1"], method, n_x, n_h, scale, f"initialize_parameters {context}: W1")
            _check_weight_statistics(params["W2"], method, n_h, n_y, scale, f"initialize_parameters {context}: W2")
            if _repeats_draws(params["W1"], params["W2"]):
                raise AssertionError(f"initialize_parameters {context}: W2 repeats the first numbers drawn for W1: "
                                     "draw W1, then W2, from one generator made once from the seed.")
            if not np.array_equal(draw(7)["W1"], params["W1"]):
                raise AssertionError(f"initialize_parameters {context} gave different weights for the same seed: "
                                     "create the generator from the seed with np.random.default_rng(seed).")
            if np.array_equal(draw(8)["W1"], params["W1"]):
                raise AssertionError(f"initialize_parameters {context} gave the same weights for different seeds: "
                                     "use the seed argument, np.random.default_rng(seed).")
    must_raise(initialize_parameters, 2, 2, 1, "uniform", case="the unknown method 'uniform'",
               should="that lists the valid methods")


# ----------------------------------------------------------------------------- forward_propagation

def check_forward_propagation(forward_propagation):
    """A2 and the cache (Z1, A1, Z2, A2) match the reference, layer by layer."""
    rng = secret_rng(202)
    for _ in range(3):
        N, n_x, n_h = sizes(rng)
        X, _, params = shallow_problem(rng, N, n_x, n_h)
        with tested_with(describe(N, n_x, n_h)):
            result = call(forward_propagation, X, params)
            A2, cache = expect_tuple(result, 2, "forward_propagation should return a tuple (A2, cache)")
            expected_A2, expected = shallow.forward_propagation(X, params)
            A2 = expect_array(A2, "forward_propagation: A2", (N, 1), "(N, n_y), one row per sample")
            expect_dict(cache, ("Z1", "A1", "Z2", "A2"), "forward_propagation: the cache")
            shapes = {"Z1": ((N, n_h), "(N, n_h)"), "A1": ((N, n_h), "(N, n_h)"),
                      "Z2": ((N, 1), "(N, n_y)"), "A2": ((N, 1), "(N, n_y)")}
            values = {key: expect_array(cache[key], f"forward_propagation: cache[{key!r}]", *shapes[key])
                      for key in shapes}
            without_b1 = X @ params["W1"]
            hidden_sigmoid = 1 / (1 + np.exp(-expected["Z1"]))
            output_tanh = np.tanh(expected["Z2"])
            checks = [
                ("Z1", "Z1 = X @ W1 + b1", [lambda a, e: "did you forget the bias b1?"
                                            if np.allclose(a, without_b1) else None]),
                ("A1", "A1 = tanh(Z1)", [lambda a, e: "the hidden layer uses tanh, not the sigmoid"
                                         if np.allclose(a, hidden_sigmoid) else None]),
                ("Z2", "Z2 = A1 @ W2 + b2 (with A1 from the hidden layer, not X)", [SIGN_FLIPPED]),
                ("A2", "check the output activation: A2 = sigmoid(Z2)",
                 [lambda a, e: "the output layer uses the sigmoid, not tanh" if np.allclose(a, output_tanh) else None]),
            ]
            for key, hint, diagnoses in checks:
                expect_close(values[key], expected[key], f"forward_propagation: cache[{key!r}]", hint, diagnoses)
            expect_close(A2, expected_A2, "forward_propagation: A2", "return the A2 you store in the cache",
                         diagnoses=())


# ----------------------------------------------------------------------------- compute_cost

def check_compute_cost(compute_cost):
    """The mean binary cross-entropy, as one number, on random probabilities and labels."""
    rng = secret_rng(303)
    for _ in range(4):
        N = 2 * int(rng.integers(2, 10)) + 1  # odd: a count of 4 (the truth table's) in its place is no usual factor
        A2 = rng.uniform(0.02, 0.98, size=(N, 1))
        Y = (rng.random((N, 1)) < 0.5).astype(np.float64)
        Y[0], Y[-1] = 0.0, 1.0
        with tested_with(f"N={N} samples"):
            cost = expect_number(call(compute_cost, A2, Y), "compute_cost: the cost", MEAN_HINT)
            expected = shallow.compute_cost(A2, Y)
            expect_close(cost, expected, "compute_cost: the cost",
                         "the cost is -1/N * sum(Y * log(A2) + (1 - Y) * log(1 - A2))",
                         diagnoses=[times(N, "did you average over the samples (divide by N)?"),
                                    times(-1, "the cost should be positive: did you forget the minus sign?"),
                                    times(1 / N, "you divided by N twice")], n=N)


# ----------------------------------------------------------------------------- backward_propagation

def check_backward_propagation(backward_propagation):
    """Gradients match the reference (with shape and scaling hints) and numerical gradients."""
    rng = secret_rng(404)
    for _ in range(3):
        N, n_x, n_h = sizes(rng)
        X, Y, params = shallow_problem(rng, N, n_x, n_h)
        _, cache = shallow.forward_propagation(X, params)
        with tested_with(describe(N, n_x, n_h)):
            grads = call(backward_propagation, params, cache, X, Y)
            values = expect_arrays(grads, n_x, n_h, "backward_propagation: grads", N=N, like_params=True)
            expected = shallow.backward_propagation(params, cache, X, Y)
            diagnoses = [times(N, "did you average over the batch (divide by N)?"),
                         times(1 / N, "you divided by N twice"), SIGN_FLIPPED]
            layer_hints = {
                "W2": "check dZ2 = (A2 - Y) / N and dW2 = A1.T @ dZ2",
                "b2": "check dZ2 = (A2 - Y) / N and db2 = the sum of dZ2 over the samples",
                **HIDDEN_LAYER_HINTS,
            }
            for key in ("W2", "b2", "W1", "b1"):
                derivative = tanh_derivative_diagnoses(params, cache, X, Y, key) if key in ("W1", "b1") else []
                expect_close(values[key], expected[key], f"backward_propagation: grads[{key!r}]", layer_hints[key],
                             diagnoses + derivative)
            expect_numerical_gradients(lambda p: shallow.compute_cost(shallow.forward_propagation(X, p)[0], Y),
                                       params, values, "backward_propagation")


# ----------------------------------------------------------------------------- update_parameters

def check_update_parameters(update_parameters):
    """One gradient-descent step on every parameter, returning new arrays."""
    rng = secret_rng(505)
    for _ in range(3):
        _, n_x, n_h = sizes(rng)
        _, _, params = shallow_problem(rng, 2, n_x, n_h)
        grads = {key: rng.normal(size=value.shape) for key, value in params.items()}
        learning_rate = float(rng.uniform(0.05, 2.0))
        with tested_with(f"n_x={n_x}, n_h={n_h}, learning_rate={learning_rate:.3g}"):
            new = call(update_parameters, params, grads, learning_rate)
            new = _expect_params(new, n_x, n_h, 1, "update_parameters: the returned params")
            expected = shallow.update_parameters(params, grads, learning_rate)
            for key in KEYS:
                expect_close(new[key], expected[key], f"update_parameters: params[{key!r}]",
                             "the new value is params - learning_rate * grads, key by key",
                             diagnoses=[went_uphill(params[key] + learning_rate * grads[key])])


# ----------------------------------------------------------------------------- nn_model

def _run_model(nn_model, X, Y, context, **options):
    """Call nn_model, check its (params, costs) result, return (params as float64 arrays, costs array, stdout)."""
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        result = call(nn_model, X, Y, context=context, **options)
    params, costs = expect_tuple(result, 2, "nn_model should return a tuple (params, costs)")
    n_h = options["n_h"]
    params = _expect_params(params, X.shape[1], n_h, Y.shape[1], f"nn_model {context}: the returned params")
    costs = expect_costs(costs, options["num_iterations"], f"nn_model {context}")
    return params, costs, output.getvalue()


@own_helpers_first(REFERENCE_HELPERS)
def check_nn_model(nn_model):
    """The training loop: exact trajectory from a deterministic start, symmetry of zeros, seeding and printing."""
    X, y = make_xor(n_samples=40, noise=0.2, seed=secret_rng(5))
    Y = y.reshape(-1, 1).astype(np.float64)
    X_other, y_other = make_xor(n_samples=40, noise=0.2, seed=secret_rng(6))
    options = dict(n_h=3, num_iterations=30, learning_rate=0.7, method="constant")
    context = "with method='constant'"
    with tested_with("40 noisy XOR points, n_h=3, 30 iterations, learning_rate=0.7"), \
            uses_its_inputs(nn_model, (X, Y), (X_other, y_other.reshape(-1, 1).astype(np.float64)), "X and Y",
                            **options):
        params, costs, _ = _run_model(nn_model, X, Y, context, **options)
        expected_params, expected_costs = shallow.nn_model(X, Y, **options)
        expect_close(costs[0], expected_costs[0], f"nn_model {context}: the first cost",
                     "record the cost of the initial parameters, before the first update", diagnoses=())
        expect_close(costs, expected_costs, f"nn_model {context}: the list of costs",
                     "each iteration runs forward_propagation, compute_cost, backward_propagation and "
                     "update_parameters with the given learning_rate, and records the cost before the update",
                     diagnoses=())
        for key in KEYS:
            expect_close(params[key], expected_params[key], f"nn_model {context}: the returned params[{key!r}]",
                         "return the parameters after the last update", diagnoses=())

    X4, y4 = make_xor()
    Y4 = y4.reshape(-1, 1).astype(np.float64)
    context = "with method='zeros' on the XOR truth table"
    params, costs, _ = _run_model(nn_model, X4, Y4, context, n_h=2, num_iterations=20, learning_rate=1.2,
                                  method="zeros")
    if not np.allclose(costs, LN2, rtol=0, atol=1e-9):
        raise AssertionError(f"nn_model {context}: the cost should stay at ln 2 at every iteration "
                             "(the network cannot leave its symmetric start), but it changed.")
    if not (np.allclose(params["W1"][:, 0], params["W1"][:, 1]) and np.allclose(params["W2"][0], params["W2"][1])):
        raise AssertionError(f"nn_model {context}: the two hidden units should stay identical, but they differ.")

    context = "with method='random'"
    options = dict(n_h=4, num_iterations=10, learning_rate=1.2, method="random", scale=1.0)
    with tested_with("the XOR truth table, n_h=4, scale=1.0"):
        first = _run_model(nn_model, X4, Y4, context + ", seed=3", seed=3, **options)[1]
        again = _run_model(nn_model, X4, Y4, context + ", seed=3", seed=3, **options)[1]
        other = _run_model(nn_model, X4, Y4, context + ", seed=4", seed=4, **options)[1]
        if not np.array_equal(first, again):
            raise AssertionError(f"nn_model {context} gave different costs for the same seed: "
                                 "pass seed on to initialize_parameters.")
        if np.array_equal(first, other):
            raise AssertionError(f"nn_model {context} gave the same costs for different seeds: "
                                 "pass seed on to initialize_parameters.")
        tiny = _run_model(nn_model, X4, Y4, context + ", scale=1e-6", **{**options, "scale": 1e-6, "seed": 3})[1]
        if abs(tiny[0] - LN2) > 1e-6 or abs(first[0] - LN2) < 1e-6:
            raise AssertionError(f"nn_model {context}: the first cost does not depend on scale as it should: "
                                 "pass scale on to initialize_parameters.")

    context = "with print_cost=True"
    _, _, printed = _run_model(nn_model, X4, Y4, context, n_h=2, num_iterations=101, learning_rate=1.2,
                               method="random", scale=1.0, print_cost=True)
    reported = {int(k) for k in re.findall(r"iteration#?\s*(\d+)", printed)}
    if not {0, 100} <= reported:
        raise AssertionError(f"nn_model {context} should print 'Cost after iteration# k: <cost>' for "
                             "k = 0, 100, 200, ... (every 100 iterations, starting at 0).")


# ----------------------------------------------------------------------------- predict

def _one_output_just_above_half(rng, X, params):
    """``params`` with the output bias moved so that one random sample gets Z2 = 0.25 (A2 = 0.56): a threshold
    on Z2 instead of A2, or at a value above 0.56, then gets that sample wrong, whatever the other draws."""
    _, cache = shallow.forward_propagation(X, params)
    return {**params, "b2": params["b2"] + 0.25 - cache["Z2"][rng.integers(len(X))]}


@own_helpers_first(REFERENCE_HELPERS)
def check_predict(predict):
    """0/1 integer labels of shape (N, 1) from thresholding the output probability at 0.5."""
    rng = secret_rng(606)
    for _ in range(3):
        N, n_x, n_h = sizes(rng)
        N += 10
        X, _, params = shallow_problem(rng, N, n_x, n_h)
        params = _one_output_just_above_half(rng, X, params)
        X_other = np.concatenate([X, X[:3] + 1.0])  # other samples, three more
        with tested_with(describe(N, n_x, n_h)), uses_its_inputs(predict, (params, X), (params, X_other), "X"):
            labels = call(predict, params, X)
            values = np.asarray(labels) if hasattr(labels, "shape") else None
            if values is not None and values.shape == (N, 1) and not np.all(np.isin(values, (0, 1))):
                raise AssertionError("predict: the predictions should be 0 or 1, not probabilities: "
                                     "threshold A2 at 0.5.")
            labels = expect_array(labels, "predict: the result", (N, 1), "(N, 1), one row per sample",
                                  kind="int")
            expected = shallow.predict(params, X)
            probabilities, _ = shallow.forward_propagation(X, params)
            decided = np.abs(probabilities - 0.5) > 1e-9
            both_classes = len(np.unique(expected[decided])) == 2  # else "swapped" is also "all one class"
            if both_classes and np.array_equal(labels[decided], 1 - expected[decided]):
                raise AssertionError("predict: the classes are swapped: predict 1 where A2 > 0.5 and 0 elsewhere.")
            if not np.array_equal(labels[decided], expected[decided]):
                raise AssertionError("predict: some predictions are wrong: run forward_propagation and "
                                     "predict 1 where A2 > 0.5, else 0.")
