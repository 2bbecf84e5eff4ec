"""Hidden tests of Lab 7 (architectures): one check per graded function.

Each ``check_<function>(student_function)`` compares the student's function with
``autograder.reference.architectures`` on secret random shapes (depths, widths, batch sizes) and raises
AssertionError with a student-facing message on the first problem found. ``layer_gradient_norms`` and
``success_rate`` call the notebook's other functions: they are graded with the reference ``forward``,
``bce_loss``, ``backward``, ``init_network``, ``train`` and ``predict``, so that a wrong ``backward`` loses
its own question only. Each check runs in well under a second.
"""
import inspect
from fractions import Fraction

import numpy as np

from autograder.judge.student import own_helpers_first, secret_rng, with_helpers
from autograder.reference import architectures as arch
from course_utils.checks import WITH_A_PREV

from .common import (bias_hint, call, expect_array, expect_close, expect_dict, expect_number,
                     expect_numerical_gradients, expect_tuple, tested_with, times)

ACTIVATION_NAMES = ("sigmoid", "tanh", "relu")


def _network(rng, sizes, dtype=np.float64):
    """Random parameters (non-zero biases) for layer sizes [D, H1, ..., 1]."""
    params = {}
    for layer, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
        params[f"W{layer}"] = (rng.normal(size=(fan_in, fan_out)) / np.sqrt(fan_in)).astype(dtype)
        params[f"b{layer}"] = rng.normal(scale=0.3, size=fan_out).astype(dtype)
    return params


def _sizes(rng, depth, square=False):
    """[D, H1, ..., 1] with ``depth`` layers; with ``square``, every hidden layer of one width (and D too)."""
    if square:
        width = int(rng.integers(2, 6))
        return [width] * depth + [1]
    return [int(rng.integers(2, 5))] + [int(n) for n in rng.integers(2, 7, size=depth - 1)] + [1]


def _describe(sizes, N=None):
    shape = "-".join(map(str, sizes))
    return f"a {shape} network ({len(sizes) - 1} layer{'s' if len(sizes) > 2 else ''})" + (f" and N={N} samples"
                                                                                            if N else "")


def _labels(rng, N):
    """0/1 labels with both classes present."""
    y = np.zeros(N, dtype=np.int64)
    y[rng.permutation(N)[: max(1, N // 2)]] = 1
    return y


# ----------------------------------------------------------------------------- identity

def check_identity(identity):
    """Secret shapes of one to three axes, float32 and float64, values large and small."""
    rng = secret_rng(1701)
    for ndim, dtype in ((2, np.float32), (1, np.float64), (3, np.float64), (2, np.float64)):
        shape = tuple(int(n) for n in rng.integers(1, 6, size=ndim))
        Z = (rng.normal(size=shape) * 10 ** rng.uniform(-1, 3)).astype(dtype)
        with tested_with(f"Z of shape {shape} and dtype {np.dtype(dtype).name}"):
            result = expect_tuple(call(identity, Z), 2, "identity should return a pair (A, dA_dZ)")
            A = expect_array(result[0], "identity: A", shape, "the shape of Z")
            dA = expect_array(result[1], "identity: dA_dZ", shape, "the shape of Z, one derivative per entry")
            for name, value in (("A", A), ("dA_dZ", dA)):
                if value.dtype != Z.dtype:
                    raise AssertionError(f"identity: {name} has dtype {value.dtype} but Z has dtype {Z.dtype}: keep "
                                         "the dtype of Z (np.ones_like(Z) does, np.ones(Z.shape) gives float64).")
            expect_close(A, Z, "identity: A", "the identity returns its input unchanged, A = Z")
            zero = (lambda actual, expected: "the derivative of z is 1, not 0" if np.all(actual == 0) else None)
            same = (lambda actual, expected: "dA_dZ is the derivative of the identity (1 everywhere), not Z itself"
                    if np.array_equal(actual, Z) else None)
            expect_close(dA, np.ones(shape), "identity: dA_dZ", "the derivative of z is 1 for every entry",
                         diagnoses=(zero, same))


# ----------------------------------------------------------------------------- collapse_linear

def _bias_variants(params):
    """Typical wrong collapsed biases: {hint: b}."""
    L = arch.num_layers(params)
    last_only = params[f"b{L}"]
    summed = sum(params[f"b{layer}"] for layer in range(1, L + 1)) if len({params[f"b{layer}"].shape
                                                                          for layer in range(1, L + 1)}) == 1 else None
    variants = {"b must carry the earlier biases through the later layers: at each step b = b @ W_l + b_l":
                last_only}
    if summed is not None:
        variants["the biases do not simply add up: each one is multiplied by the weights of the layers after it, "
                 "b = b @ W_l + b_l"] = summed
    return variants


def check_collapse_linear(collapse_linear):
    """One layer, two layers of different widths, three and four square layers (the order of the products shows)."""
    rng = secret_rng(1702)
    cases = [([int(rng.integers(2, 5)), 1], False), (_sizes(rng, 2), False), (_sizes(rng, 3, square=True), True),
             (_sizes(rng, 4, square=True), True), (_sizes(rng, 3), False)]
    for sizes, square in cases:
        # the collapsed map has D_out columns; square stacks keep every size equal, so that the product taken in
        # the wrong order has the right shape and only its values give it away
        sizes[-1] = sizes[0] if square else int(rng.integers(1, 4))
        params = _network(rng, sizes)
        W_ref, b_ref = arch.collapse_linear(params)
        D, D_out = sizes[0], sizes[-1]
        with tested_with(_describe(sizes)):
            result = expect_tuple(call(collapse_linear, params), 2, "collapse_linear should return a pair (W, b)")
            W = expect_array(result[0], "collapse_linear: W", (D, D_out), "(D, D_out), the shape of W1 @ ... @ WL")
            b = expect_array(result[1], "collapse_linear: b", (D_out,), "(D_out,), one entry per output")
            reversed_order = None
            if square:
                product = params[f"W{len(sizes) - 1}"]
                for layer in range(len(sizes) - 2, 0, -1):
                    product = product @ params[f"W{layer}"]
                reversed_order = product
            order = (lambda actual, expected: "multiply the weights in the order of the layers, W1 @ W2 @ ... @ WL"
                     if reversed_order is not None and np.allclose(actual, reversed_order) else None)
            expect_close(W, W_ref, "collapse_linear: W", "W is the product W1 @ W2 @ ... @ WL",
                         diagnoses=(order,))
            bias = [(lambda actual, expected, wrong=wrong, hint=hint: hint
                     if wrong.shape == actual.shape and np.allclose(actual, wrong) else None)
                    for hint, wrong in _bias_variants(params).items()]
            expect_close(b, b_ref, "collapse_linear: b", "start from b1 and, for every later layer, "
                         "b = b @ W_l + b_l", diagnoses=tuple(bias))


# ----------------------------------------------------------------------------- backward

def _expect_grads(grads, params, what, N):
    """The student's gradients as arrays, checked for keys and shapes."""
    expect_dict(grads, list(params), what, "Use the keys of params: 'W1', 'b1', ..., up to the last layer.")
    checked = {}
    for key, value in params.items():
        hint = bias_hint(np.shape(grads[key]), N) if key.startswith("b") else ""
        checked[key] = expect_array(grads[key], f"{what}[{key!r}]", value.shape, f"{value.shape}, like params[{key!r}]",
                                    shape_hint=hint)
    return checked


def check_backward(backward):
    """Depths 1 to 4, widths equal and different, the three activations; against the reference and numerical
    gradients."""
    rng = secret_rng(1703)
    cases = [(_sizes(rng, 1), "tanh"), (_sizes(rng, 2), "sigmoid"), (_sizes(rng, 3, square=True), "relu"),
             (_sizes(rng, 4), "tanh"), (_sizes(rng, 3), str(rng.choice(ACTIVATION_NAMES)))]
    for sizes, activation in cases:
        N = int(rng.integers(3, 9))
        params, X, y = _network(rng, sizes), rng.normal(size=(N, sizes[0])), _labels(rng, N)
        scores, caches = arch.forward(params, X, activation)
        _, dscores = arch.bce_loss(scores, y)
        expected = arch.backward(params, caches, dscores)
        L = len(sizes) - 1
        # the layer's input A_prev in place of the derivative of the layer below (the next cache's A_prev)
        with_A_prev = arch.backward(params, [(A_prev, caches[i + 1][0] if i + 1 < L else None)
                                             for i, (A_prev, _) in enumerate(caches)], dscores)
        with tested_with(f"{_describe(sizes, N)} with {activation}"):
            grads = _expect_grads(call(backward, params, caches, dscores), params, "backward: grads", N)
            for layer in range(L, 0, -1):  # the last layer first: the first wrong one is named
                later_right = layer < L
                for key in (f"W{layer}", f"b{layer}"):
                    last = "A_prev.T @ dscores" if key[0] == "W" else "the sum of dscores over the samples"
                    hint = ("the layers above are right, so check how dZ flows back: "
                            "dZ = (dZ @ W_l.T) * caches[l - 2][1], the derivative stored with the layer below"
                            if later_right else f"d{key[0]} of the last layer is {last}")
                    diagnoses = (times(N, "dscores already holds the 1/N of the mean: do not multiply or divide by "
                                          "N again"),
                                 times(1 / N, "dscores already holds the 1/N of the mean: do not divide by N again"),
                                 lambda a, e, wrong=with_A_prev[key]: WITH_A_PREV if later_right and np.allclose(
                                     a, wrong, rtol=1e-6, atol=1e-9) else None)
                    expect_close(grads[key], expected[key], f"backward: grads[{key!r}]", hint, diagnoses=diagnoses)
            if activation == "tanh":
                def cost_of(point):
                    return arch.bce_loss(arch.forward(point, X, activation)[0], y)[0]
                expect_numerical_gradients(cost_of, params, grads, "backward")


# ----------------------------------------------------------------------------- layer_gradient_norms

REFERENCE_PASSES = {"forward": arch.forward, "bce_loss": arch.bce_loss, "backward": arch.backward}


@own_helpers_first(REFERENCE_PASSES)
def check_layer_gradient_norms(layer_gradient_norms):
    """Deep and shallow networks, the three activations; the reference forward, loss and backward are swapped in."""
    rng = secret_rng(1704)
    for depth, activation in ((int(rng.integers(5, 8)), "sigmoid"), (2, "tanh"), (int(rng.integers(3, 6)), "relu")):
        sizes = _sizes(rng, depth)
        N = int(rng.integers(4, 12))
        params, X, y = _network(rng, sizes, np.float32), rng.normal(size=(N, sizes[0])).astype(np.float32), \
            _labels(rng, N)
        expected = arch.layer_gradient_norms(params, X, y, activation)
        with tested_with(f"{_describe(sizes, N)} with {activation}"):
            norms = expect_array(call(layer_gradient_norms, params, X, y, activation), "layer_gradient_norms", (depth,),
                                 "(L,), one norm per layer")
            hints = (lambda actual, expected: "the norms are in reverse order: layer 1 first, layer L last"
                     if np.allclose(actual, expected[::-1], rtol=1e-4) else None,
                     lambda actual, expected: "return the norm itself, the square root of the sum of squares "
                     "(np.linalg.norm), not its square" if np.allclose(actual, expected ** 2, rtol=1e-4) else None)
            expect_close(norms, expected, "layer_gradient_norms", "norms[l - 1] is np.linalg.norm(grads['Wl']) of the "
                         "loss of the network on (X, y), weights only", diagnoses=hints, rtol=1e-4, atol=1e-7)


# ----------------------------------------------------------------------------- dead_fraction

def check_dead_fraction(dead_fraction):
    """ReLU networks of 2 to 5 layers whose units are dead, alive for one sample only, or alive for all."""
    rng = secret_rng(1705)
    for depth in (2, int(rng.integers(3, 6)), int(rng.integers(3, 6))):
        sizes = [int(rng.integers(2, 4))] + [int(n) for n in rng.integers(4, 9, size=depth - 1)] + [1]
        N = int(rng.integers(3, 9))
        params = _network(rng, sizes)
        for layer in range(1, depth):  # push some units' biases far down (dead) or up (alive everywhere)
            bias = params[f"b{layer}"]
            chosen = rng.permutation(bias.size)
            bias[chosen[: bias.size // 3]] -= 8.0
            bias[chosen[bias.size // 3: bias.size // 2]] += 8.0
        X = rng.normal(size=(N, sizes[0]))
        expected = arch.dead_fraction(params, X)
        with tested_with(_describe(sizes, N)):
            result = call(dead_fraction, params, X)
            fractions = expect_array(result, "dead_fraction", (depth - 1,), "(L - 1,), one fraction per hidden layer",
                                     shape_hint="there is one fraction per hidden layer, not for the input or the "
                                     "output" if np.size(result) in (depth, depth + 1) else "")
            _, caches = arch.forward(params, X, "relu")
            zero_share = np.array([np.mean(caches[layer][0] == 0) for layer in range(1, depth)])
            alive = 1 - expected
            any_zero = np.array([np.mean(np.any(caches[layer][0] == 0, axis=0)) for layer in range(1, depth)])
            dead_rows = np.array([np.mean(np.all(caches[layer][0] == 0, axis=1)) for layer in range(1, depth)])
            one_early = np.array([np.mean(np.all(caches[layer - 1][0] == 0, axis=0)) for layer in range(1, depth)])
            hints = (lambda actual, expected: "a unit is dead when its output is 0 for every sample; this is the share "
                     "of zero outputs over all samples and units" if np.allclose(actual, zero_share) else None,
                     lambda actual, expected: "this is the fraction of units that are alive; dead ones output 0 for "
                     "every sample" if np.allclose(actual, alive) else None,
                     lambda actual, expected: "a unit is dead when it outputs 0 for every sample, not for at least one "
                     "(np.all over the samples, axis 0)" if np.allclose(actual, any_zero) else None,
                     lambda actual, expected: "these are the fractions of each layer's input, one layer too early (the "
                     "first is X's): the output of hidden layer l is caches[l][0]"
                     if np.any(one_early) and np.allclose(actual, one_early) else None,
                     lambda actual, expected: "this is the fraction of samples (rows) for which every unit outputs 0; "
                     "a unit is a column of caches[l][0] (np.all over the samples, axis 0)"
                     if np.any(dead_rows) and np.allclose(actual, dead_rows) else None,
                     lambda actual, expected: "no unit counts as dead in any layer, though some are: in the output of "
                     "each hidden layer l, caches[l][0] (not its input), count the columns that are 0 in every row "
                     "(np.all over the samples, axis 0), with forward(params, X, 'relu'): only a ReLU outputs exact "
                     "zeros" if not np.any(actual) else None)
            expect_close(fractions, expected, "dead_fraction", "for each hidden layer l, the fraction of the columns "
                         "of caches[l][0] that are 0 in every row", diagnoses=hints)


# ----------------------------------------------------------------------------- success_rate

REFERENCE_TRAINING = {"init_network": arch.init_network, "train": arch.train, "predict": arch.predict}


class Recorded:
    """A reference function that writes down each call's arguments, by name, defaults filled in (a grader object,
    which the kernel calls back when the judge grades)."""

    def __init__(self, func):
        self.func, self.calls = func, []

    def __call__(self, *args, **kwargs):
        try:
            bound = inspect.signature(self.func).bind(*args, **kwargs)
        except TypeError:
            return self.func(*args, **kwargs)  # it raises, as the student's code would see it
        bound.apply_defaults()
        self.calls.append(bound.arguments)
        return self.func(*args, **kwargs)


def _check_runs(success_rate, n_h, seeds, X, y, lr, iterations):
    """The runs of ``success_rate``, told by the reference helpers it calls: one fresh network per seed, as the
    exercise says, trained once with tanh, lr and iterations (whatever the accuracies they reach). A function
    that reaches neither helper (it trains its networks with code of its own) is left to the check of its rate."""
    init, train = Recorded(arch.init_network), Recorded(arch.train)
    call(with_helpers(success_rate, {**REFERENCE_TRAINING, "init_network": init, "train": train}),
         n_h, seeds, X, y, lr=lr, iterations=iterations)
    if not init.calls and not train.calls:
        return
    made = [([int(n) for n in c["layer_sizes"]], c["method"], c["scale"], c["seed"]) for c in init.calls]
    if made != [([X.shape[1], n_h, 1], "random", 1.0, seed) for seed in seeds]:
        raise AssertionError(f"success_rate should make one fresh network per seed, in the order of seeds, with "
                             f"init_network([D, n_h, 1], 'random', scale=1.0, seed=seed); for seeds {seeds} it made "
                             + (", ".join(f"init_network({sizes}, {method!r}, scale={scale}, seed={seed})"
                                          for sizes, method, scale, seed in made) or "none"))
    runs = [(c["activation"], c["lr"], c["iterations"]) for c in train.calls]
    if runs != [("tanh", lr, iterations)] * len(seeds):
        raise AssertionError(f"success_rate should train each seed's network once, with train(params, X, y, 'tanh', "
                             f"lr, iterations); for {len(seeds)} seeds, lr={lr:g} and iterations={iterations} it ran "
                             + (", ".join(f"train(..., {activation!r}, {lr_run!r}, {its!r})"
                                          for activation, lr_run, its in runs) or "none"))


def _decided_by_rounding(n_h, seed, X, y, lr, iterations):
    """Whether the run of ``arch.final_accuracy`` ends with a score within 1e-4 of 0, or 1e-4 away from the same run's
    in float64: its rounding errors then decide a prediction, and a right train that rounds otherwise (the notebook's
    own, in a run growing unstable in its last steps) reaches another accuracy."""
    start = arch.init_network([X.shape[1], n_h, 1], "random", scale=1.0, seed=seed)
    scores = [arch.forward(arch.train({key: value.astype(dtype) for key, value in start.items()}, X.astype(dtype), y,
                                      "tanh", lr, iterations)[0], X.astype(dtype), "tanh")[0]
              for dtype in (np.float32, np.float64)]
    return np.abs(scores[0]).min() < 1e-4 or np.abs(scores[0] - scores[1]).max() > 1e-4


def _exact_fraction(accuracy, N):
    """Whether the float ``accuracy`` (of N samples) is its fraction count / N exactly, as 0.75 is 24 / 32 and 0.68 is
    not 17 / 25. A threshold that is not would decide a run that reaches it by the rounding of the student's
    comparison: count / N >= threshold, count >= threshold * N and 1 - errors / N >= threshold are all right, but
    for 17 of 25 samples right and threshold 0.68 the third gives 0.6799999999999999 and no success."""
    return Fraction(accuracy) == Fraction(round(accuracy * N), N)


@own_helpers_first(REFERENCE_TRAINING)
def check_success_rate(success_rate):
    """Secret seeds, width, learning rate and a threshold that some seeds reach and others miss (one of them exactly);
    the reference init_network, train and predict are swapped in."""
    rng = secret_rng(1706)
    # drawn until the seeds' runs differ (some then succeed and some fail, as one seed for all cannot), at an accuracy
    # that is its fraction exactly as a float (see _exact_fraction), and none of them decided by rounding
    for _ in range(10):
        N = int(rng.integers(24, 41))
        X = rng.normal(scale=0.15, size=(N, 2)) + np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 1.0], [1.0, 0.0]])[
            np.arange(N) % 4]
        y = np.array([0, 1, 0, 1])[np.arange(N) % 4].astype(np.int64)
        X = X.astype(np.float32)
        n_h = int(rng.integers(2, 4))
        lr, iterations = float(rng.choice([0.8, 1.0, 1.2])), int(rng.integers(40, 80))
        seeds = [int(s) for s in rng.choice(1000, size=6, replace=False)]
        accuracies = sorted({arch.final_accuracy(n_h, seed, X, y, lr, iterations) for seed in seeds})
        reached = [accuracy for accuracy in accuracies[1:] if _exact_fraction(accuracy, N)]
        if reached and not any(_decided_by_rounding(n_h, seed, X, y, lr, iterations) for seed in seeds):
            break
    # a threshold that one run reaches exactly, with runs on both sides when the seeds allow it
    threshold = reached[len(reached) // 2] if reached else accuracies[len(accuracies) // 2]
    expected = arch.success_rate(n_h, seeds, X, y, lr=lr, iterations=iterations, threshold=threshold)
    description = (f"n_h={n_h}, seeds {seeds}, N={N} samples of noisy XOR, lr={lr:g}, iterations={iterations} and "
                   f"threshold={threshold:.4g}")
    with tested_with(description):
        _check_runs(success_rate, n_h, seeds[:2], X, y, lr, iterations)
        result = call(success_rate, n_h, seeds, X, y, lr=lr, iterations=iterations, threshold=threshold)
        rate = expect_number(result, "success_rate")
        if rate > 1:
            raise AssertionError("success_rate returned a number above 1: return the fraction of the seeds that "
                                 "succeeded (successes / len(seeds)), not their count.")
        strict = arch.success_rate(n_h, seeds, X, y, lr=lr, iterations=iterations, threshold=threshold + 1e-9)
        hints = (lambda actual, expected: "a run whose accuracy equals the threshold is a success: "
                 "accuracy >= threshold" if strict != expected and np.isclose(actual, strict) else None,
                 lambda actual, expected: "this is the fraction of the runs that failed" if np.isclose(
                     actual, 1 - expected) and expected != 0.5 else None)
        expect_close(np.asarray(result).reshape(()), np.array(expected), "success_rate",
                     "train one fresh network per seed, init_network([D, n_h, 1], 'random', scale=1.0, seed=seed), "
                     "with the lr and iterations given, and count the runs whose training accuracy is at least "
                     "threshold", diagnoses=hints)
