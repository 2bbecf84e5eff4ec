"""Hidden tests of Lab 2 (learning rates): one check per graded function.

Each ``check_<function>(student_function)`` compares the student's function with
``autograder.reference.learning_rates`` on seeded inputs and raises AssertionError with a
student-facing message on the first problem found. ``train`` and ``sweep_learning_rates`` call
the student's other functions; where the student's own helpers do not pass, their checks run them again
with the reference versions in place (``judge.student.own_helpers_first``), so that one wrong helper loses
only its own question.
Every check runs in well under a second.
"""
import contextlib
import io
import re

import numpy as np

from autograder.reference import learning_rates, shallow
from course_utils.data import make_xor

from ..judge.student import own_helpers_first
from .common import (
    KEY_HINT,
    call,
    expect_array,
    expect_close,
    expect_dict,
    expect_number,
    must_raise,
    random_sizes,
    secret_rng,
    tested_with,
    went_uphill,
)

KEYS = shallow.PARAMETER_KEYS
HISTORY_KEYS = ("costs", "learning_rates", "path", "params", "diverged", "message")
# The functions of the notebook that train and sweep_learning_rates may call, by their notebook names.
HELPERS = {name: getattr(learning_rates, name) for name in
           ("update_parameters", "step_decay", "detect_divergence", "flatten_parameters")}
NETWORK = {name: getattr(shallow, name) for name in
           ("initialize_parameters", "forward_propagation", "compute_cost", "backward_propagation")}


# ----------------------------------------------------------------------------- update_parameters

def check_update_parameters(update_parameters):
    """One gradient-descent step on every parameter, new arrays, and a ValueError for a bad learning rate."""
    rng = secret_rng(1201)
    for _ in range(3):
        n_x, n_h = random_sizes(rng, (2, 6), (2, 7))
        params = {"W1": rng.normal(size=(n_x, n_h)), "b1": rng.normal(size=n_h),
                  "W2": rng.normal(size=(n_h, 1)), "b2": rng.normal(size=1)}
        grads = {key: rng.normal(size=value.shape) for key, value in params.items()}
        learning_rate = float(10 ** rng.uniform(-2, 1))
        with tested_with(f"n_x={n_x}, n_h={n_h}, learning_rate={learning_rate:.3g}"):
            new = expect_dict(call(update_parameters, params, grads, learning_rate), KEYS,
                              "update_parameters: the returned params", KEY_HINT)
            expected = learning_rates.update_parameters(params, grads, learning_rate)
            for key in KEYS:
                value = expect_array(new[key], f"update_parameters: params[{key!r}]", params[key].shape,
                                     "the shape of the old parameter")
                expect_close(value, expected[key], f"update_parameters: params[{key!r}]",
                             "the new value is params - learning_rate * grads, key by key",
                             diagnoses=[went_uphill(params[key] + learning_rate * grads[key])])
    params = {key: np.ones((2, 2)) for key in KEYS}
    for bad in (0.0, -0.5, float("nan"), float("inf")):
        must_raise(update_parameters, params, params, bad, case=f"learning_rate={bad}",
                   should="saying that the learning rate must be a finite number > 0")


# ----------------------------------------------------------------------------- step_decay

def check_step_decay(step_decay):
    """The learning rate of step decay, at random iterations and on both sides of every drop."""
    rng = secret_rng(1202)
    for _ in range(4):
        initial_lr, drop = float(10 ** rng.uniform(-2, 1)), float(rng.uniform(0.1, 0.9))
        every = int(rng.integers(2, 50))
        steps = int(rng.integers(1, 5))
        iterations = sorted({0, every - 1, every, steps * every - 1, steps * every, int(rng.integers(0, 10 * every))})
        for iteration in iterations:
            context = f"initial_lr={initial_lr:.3g}, iteration={iteration}, drop={drop:.3g}, every={every}"
            with tested_with(context):
                value = expect_number(call(step_decay, initial_lr, iteration, drop=drop, every=every),
                                       "step_decay: the learning rate")
                expected = learning_rates.step_decay(initial_lr, iteration, drop, every)
                smooth = initial_lr * drop ** (iteration / every)
                early = initial_lr * drop ** ((iteration + 1) // every)
                expect_close(value, expected, "step_decay: the learning rate",
                             "the rate is initial_lr * drop ** k, where k counts the completed blocks of `every` "
                             "iterations", diagnoses=[
                                 lambda a, e: "the rate should drop in steps, staying constant within each block "
                                 "of `every` iterations: use integer division, iteration // every"
                                 if np.isclose(a, smooth) else None,
                                 lambda a, e: "the first drop happens at iteration `every` (iterations count from "
                                 "0), not one iteration earlier" if np.isclose(a, early) else None])
    value = expect_number(call(step_decay, 0.8, 250), "step_decay with its default drop and every")
    expect_close(value, learning_rates.step_decay(0.8, 250), "step_decay(0.8, 250) with the default drop and every",
                 "the defaults are drop=0.5 and every=100", diagnoses=())


# ----------------------------------------------------------------------------- detect_divergence

def check_detect_divergence(detect_divergence):
    """None for healthy costs; a message for NaN, inf, and costs above max_ratio times the first cost."""
    rng = secret_rng(1203)
    # 3.2 times it stays below 3: a ratio is told from an absolute cost; a multiple of 2**-10, whose product by 3 is
    # exact: a cost of 3 times it is then healthy however a right answer compares (cost / first_cost > max_ratio too)
    first_cost = round(float(rng.uniform(0.3, 0.9)) * 1024) / 1024
    healthy = [(first_cost * 0.2, 3.0), (first_cost, 3.0), (first_cost * 2.9, 3.0), (first_cost * 3.0, 3.0),
               (first_cost * 4.5, 5.0)]
    for cost, max_ratio in healthy:
        context = f"cost={cost:.4g}, first_cost={first_cost:.4g}, max_ratio={max_ratio:g}"
        message = call(detect_divergence, cost, first_cost, max_ratio=max_ratio, context=context,
                       may_modify=True)  # numbers cannot change in place (and NaN != NaN)
        if message is not None:
            raise AssertionError(f"detect_divergence returned {type(message).__name__} for a healthy run ({context}); "
                                 "it should return None unless the cost is NaN, inf, or more than max_ratio "
                                 "times the first cost.")
    diverged = [(float("nan"), 3.0, "nan"), (float("inf"), 3.0, "inf"), (first_cost * 3.2, 3.0, ""),
                (first_cost * 1.6, 1.5, ""), (first_cost * 40, 10.0, "")]
    for cost, max_ratio, word in diverged:
        context = f"cost={cost:.4g}, first_cost={first_cost:.4g}, max_ratio={max_ratio:g}"
        message = call(detect_divergence, cost, first_cost, max_ratio=max_ratio, context=context,
                       may_modify=True)  # numbers cannot change in place (and NaN != NaN)
        if not isinstance(message, str) or not message.strip():
            raise AssertionError(f"detect_divergence returned {message!r} for a diverged run ({context}); it should "
                                 "return a sentence (a non-empty string) saying why the run diverged.")
        if word and word not in message.lower():
            raise AssertionError(f"detect_divergence's message for {context} should say that the cost is {word}, "
                                 f"but it was {message[:120]!r}.")
    message = call(detect_divergence, first_cost * 3.5, first_cost, context="with the default max_ratio")
    if not isinstance(message, str):
        raise AssertionError("detect_divergence with the default max_ratio=3.0 should flag a cost 3.5 times the "
                             "first cost.")


# ----------------------------------------------------------------------------- train

def _xor_problem():
    X, y = make_xor(n_samples=40, noise=0.2, seed=secret_rng(7))
    return X, y.reshape(-1, 1).astype(np.float64)


def _expect_history(history, what):
    """Check the keys and types of a history dict; return (costs array, learning rates array)."""
    expect_dict(history, HISTORY_KEYS, what, "Build it as in the exercise: costs, learning_rates, path, params, "
                                               "diverged and message.")
    for key in ("costs", "learning_rates", "path"):
        if not isinstance(history[key], (list, tuple, np.ndarray)):
            raise AssertionError(f"{what}[{key!r}] should be a list, but it is a {type(history[key]).__name__}.")
    try:
        costs = np.array([float(np.asarray(c).reshape(())) for c in history["costs"]])
        rates = np.array([float(np.asarray(r).reshape(())) for r in history["learning_rates"]])
    except (TypeError, ValueError):
        raise AssertionError(f"{what}: costs and learning_rates should be lists of single numbers.") from None
    return costs, rates


def _compare_run(history, expected, what):
    """A student's history against the reference's, key by key."""
    costs, rates = _expect_history(history, what)
    expected_costs = np.array(expected["costs"])
    if costs.size != expected_costs.size:
        reason = ("it should stop at the first cost that detect_divergence flags, without updating again"
                  if expected["diverged"] else "a run that does not diverge records one cost per iteration")
        raise AssertionError(f"{what}['costs'] has {costs.size} entries, but {reason}.")
    expect_close(costs[:1], expected_costs[:1], f"{what}['costs'][0]",
                 "the first cost is the cost of the initial parameters, from "
                 "initialize_parameters(n_x, n_h, n_y, 'random', seed=seed, scale=scale)", diagnoses=())
    if rates.size != len(expected["learning_rates"]):
        raise AssertionError(f"{what}['learning_rates'] has {rates.size} entries: record the learning rate of "
                             "every update made (none for the iteration at which a run stops).")
    expect_close(rates, np.array(expected["learning_rates"]), f"{what}['learning_rates']",
                 "use the constant learning_rate without decay, and step_decay(learning_rate, iteration, drop, "
                 "every) with decay=(drop, every)", diagnoses=())
    expect_close(costs, expected_costs, f"{what}['costs']",
                 "each iteration computes the cost, then updates with update_parameters(params, grads, rate)",
                 diagnoses=())
    if len(history["path"]) != len(expected["path"]):
        raise AssertionError(f"{what}['path'] should have one entry per recorded cost (the parameters at which "
                             "that cost was computed).")
    try:
        path = np.array([np.asarray(point, dtype=np.float64).reshape(-1) for point in history["path"]])
    except (TypeError, ValueError):
        raise AssertionError(f"{what}['path'] should be a list of flatten_parameters(params) vectors, "
                             "all of the same length.") from None
    path = expect_array(path, f"{what}['path'] as an array", np.shape(expected["path"]),
                        "(number of costs, P), one flatten_parameters(params) per recorded cost")
    expect_close(path, np.array(expected["path"]), f"{what}['path']",
                 "record flatten_parameters(params) for the parameters at which each cost is computed", diagnoses=())
    params = expect_dict(history["params"], KEYS, f"{what}['params']")
    for key in KEYS:
        value = expect_array(params[key], f"{what}['params'][{key!r}]", expected["params"][key].shape,
                             "the shape of the parameter")
        expect_close(value, expected["params"][key], f"{what}['params'][{key!r}]",
                     "return the parameters after the last update", diagnoses=())
    if bool(history["diverged"]) != expected["diverged"]:
        raise AssertionError(f"{what}['diverged'] should be {expected['diverged']}.")
    message = history["message"]
    reason = str(expected["message"]).split(": ", 1)[-1]  # detect_divergence's sentence, which has numbers too
    iteration = re.compile(rf"(?<![\d.]){len(costs) - 1}(?![\d.])")
    if expected["diverged"] and (not isinstance(message, str) or not iteration.search(message.replace(reason, " "))):
        raise AssertionError(f"{what}['message'] should be a sentence saying at which iteration the run stopped "
                             "and why, for example 'stopped at iteration 5: the cost is nan'.")
    if not expected["diverged"] and message is not None:
        raise AssertionError(f"{what}['message'] should be None when the run did not diverge.")


@own_helpers_first({**NETWORK, **HELPERS})
def check_train(train):
    """Constant, decayed and diverging runs match the reference, with the reference helpers in place."""
    X, Y = _xor_problem()
    runs = [dict(learning_rate=0.8, num_iterations=25, n_h=3, scale=1.0, seed=2),
            dict(learning_rate=2.0, num_iterations=30, n_h=2, scale=0.5, seed=3, decay=(0.5, 8)),
            dict(learning_rate=60.0, num_iterations=30, n_h=2, scale=1.0, seed=0),
            dict(learning_rate=6.0, num_iterations=20, n_h=4, scale=1.0, seed=1, max_ratio=1.2)]
    for options in runs:
        description = ", ".join(f"{key}={value}" for key, value in options.items())
        with tested_with(f"40 noisy XOR points and {description}"):
            output = io.StringIO()
            with contextlib.redirect_stdout(output):
                history = call(train, X, Y, **options)
            _compare_run(history, learning_rates.train(X, Y, **options), "train: history")


# ----------------------------------------------------------------------------- sweep_learning_rates

@own_helpers_first({**NETWORK, **HELPERS, "train": learning_rates.train})
def check_sweep_learning_rates(sweep_learning_rates):
    """One reference train run per learning rate, in order, with the options passed on."""
    X, Y = _xor_problem()
    rates = [0.05, 60.0, 0.5, 2.0]
    options = dict(n_h=3, seed=4, scale=1.0, decay=(0.5, 5))
    with tested_with(f"learning_rates={rates}, num_iterations=15 and {options}"):
        with contextlib.redirect_stdout(io.StringIO()):
            result = call(sweep_learning_rates, X, Y, rates, 15, **options)
        if not isinstance(result, dict):
            raise AssertionError("sweep_learning_rates should return a dict {learning_rate: history}, but it "
                                 f"returned a {type(result).__name__}.")
        if list(result) != rates:
            raise AssertionError("sweep_learning_rates should return a dict whose keys are the learning rates, "
                                 f"in the order given; its keys were {list(result)[:6]}.")
        for rate in rates:
            costs, _ = _expect_history(result[rate], f"sweep_learning_rates: result[{rate}]")
            expected = learning_rates.train(X, Y, rate, 15, **options)
            if costs.shape != (len(expected["costs"]),) or not np.allclose(costs, expected["costs"]):
                raise AssertionError(f"sweep_learning_rates: result[{rate}] is not the history of "
                                     f"train(X, Y, {rate}, num_iterations, **options): pass every option on to "
                                     "train.")

