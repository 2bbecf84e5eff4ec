"""Hidden tests of Lab 6 (optimizers and mini-batches): one check per graded function.

Each ``check_<function>(student_function)`` compares the student's function with
``autograder.reference.optim`` on secret random shapes and raises AssertionError with a
student-facing message on the first problem found. The update rules are run for several steps in a
row with one ``state`` dict, as a training loop would, so that a state that is not carried over,
shared between parameters or started wrongly shows up; messages name the classic mistakes (no bias
correction, epsilon inside the square root, the sign of the momentum step, ...). None of the graded
functions calls another one, so no reference helpers are swapped in. Each check runs in well under a
second.

Two helpers here are Lab 6's own (nothing in ``common`` does this): ``_in_place`` runs a student's
function on the very objects given (``common.call`` works on copies), because these functions must
change ``params`` and ``state`` in place; ``Draws`` gives ``iterate_minibatches`` a real numpy Generator,
made beside it (in the kernel when the judge grades), and tells from its state what each call drew.
"""
import numpy as np

from autograder.reference import optim

from ..judge.student import beside, type_name
from .common import call, expect_array, expect_close, secret_rng, sentence, tested_with

DEFAULTS = {
    "sgd_update": {"lr": 0.01},
    "momentum_update": {"lr": 0.01, "beta": 0.9},
    "rmsprop_update": {"lr": 0.001, "beta": 0.9, "eps": 1e-8},
    "adam_update": {"lr": 0.001, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8},
}
REFERENCE = {name: getattr(optim, name) for name in DEFAULTS}
STEPS = 4  # steps in a row with one state dict


def _in_place(func, *args, context="", **kwargs):
    """``func(*args, **kwargs)`` on the objects themselves (not copies), with ``common.call``'s error handling."""
    def run():
        return func(*args, **kwargs)
    run.__name__ = getattr(func, "__name__", "your function")
    return call(run, context=context)


class Draws:
    """A seeded numpy Generator for a student's function, made with the notebook's own numpy (so in the kernel
    when the judge grades: any correct use of it works, ``np.random.default_rng(rng)`` included), and its twin
    here: after each call, the generator's state tells whether the call drew one order of N samples, as
    ``permutation(N)`` does, and the twin which order that was."""

    NOTHING, OTHER = "nothing", "other"

    def __init__(self, func, seed):
        numpy = beside(func, "np")
        if numpy is None:
            raise AssertionError("the notebook has no np: keep its first cell, import numpy as np.")
        self.generator = numpy.random.default_rng(seed)
        self._twin = np.random.default_rng(seed)

    def drawn(self, N):
        """After a call: the order it drew (``permutation(N)``'s), ``NOTHING``, or ``OTHER`` (other numbers)."""
        before = self._twin.bit_generator.state
        order = self._twin.permutation(N)
        now = self.generator.bit_generator.state
        return self.NOTHING if now == before else order if now == self._twin.bit_generator.state else self.OTHER


# ----------------------------------------------------------------------------- iterate_minibatches

def _epoch(result, N, D, what):
    """The student's batches as (list of X batches, list of y batches), checked for form and shapes."""
    if not isinstance(result, (list, tuple)):
        raise AssertionError(f"{what} should return a list of (X_batch, y_batch) pairs, but it returned a "
                             f"{type_name(result)}. Build the list and return it (not a generator).")
    X_batches, y_batches = [], []
    for index, pair in enumerate(result):
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            raise AssertionError(f"{what}: batch {index} should be a pair (X_batch, y_batch), but it is a "
                                 f"{type_name(pair)}.")
        rows = np.shape(pair[0])[0] if np.ndim(pair[0]) else 0
        X_batch = expect_array(pair[0], f"{what}: X_batch of batch {index}", (rows, D), "(batch size, D), rows of X")
        y_batch = expect_array(pair[1], f"{what}: y_batch of batch {index}", (X_batch.shape[0],),
                               "(batch size,), the labels of the rows in X_batch", kind="int")
        X_batches.append(X_batch)
        y_batches.append(y_batch)
    return X_batches, y_batches


def _compare_epoch(result, X, y, batch_size, drawn, previous_order, what):
    """One epoch of the student's against the reference's (``drawn``: what the call drew, see ``Draws.drawn``);
    returns the order the student's batches follow."""
    N, D = X.shape
    X_batches, y_batches = _epoch(result, N, D, what)
    if drawn is Draws.NOTHING:
        raise AssertionError(f"{what} never drew a random order from rng: draw it at every call with "
                             "order = rng.permutation(N), using the generator it is given (not np.random, not a "
                             "new generator).")
    if drawn is Draws.OTHER:
        raise AssertionError(f"{what} drew other random numbers than one order of the N samples (several orders, "
                             "say): draw exactly one, order = rng.permutation(N), and cut it into batches.")
    ids = np.concatenate(y_batches) if y_batches else np.zeros(0, np.int64)
    if ids.size < N:
        if len(y_batches) == N // batch_size and N % batch_size:
            raise AssertionError(f"{what} dropped the last {N % batch_size} samples of the epoch: when batch_size "
                                 "does not divide N, keep the last, smaller batch, so that every sample is used.")
        raise AssertionError(f"{what}: the batches hold {ids.size} samples in all, not N = {N}: every sample must "
                             "appear exactly once per epoch.")
    if ids.size > N or not np.array_equal(np.sort(ids), np.arange(N)):
        raise AssertionError(f"{what}: some samples appear twice and others not at all: every sample must appear "
                             "exactly once per epoch (cut one permutation into consecutive slices).")
    for index, (X_batch, y_batch) in enumerate(zip(X_batches, y_batches)):
        if not np.array_equal(X_batch, X[y_batch]):
            raise AssertionError(f"{what}: in batch {index}, the rows of X_batch do not belong with the labels in "
                                 "y_batch: index X and y with the same indices.")
    sizes = [len(batch) for batch in y_batches]
    expected_sizes = [min(batch_size, N - start) for start in range(0, N, batch_size)]
    if sizes != expected_sizes:
        raise AssertionError(f"{what}: the batch sizes are wrong: every batch holds batch_size samples, except "
                             "the last one, which holds what is left.")
    if not np.array_equal(ids, drawn):
        if np.array_equal(ids, np.arange(N)):
            hint = "the samples are in their original order: they must be shuffled"
        elif previous_order is not None and np.array_equal(ids, previous_order):
            hint = "this epoch repeats the order of the previous call: use the order drawn in this call"
        else:
            hint = "batch k must hold the samples order[k * batch_size:(k + 1) * batch_size] of the order drawn"
        raise AssertionError(sentence(f"{what}: the batches do not follow order = rng.permutation(N): {hint}"))
    return ids


def check_iterate_minibatches(iterate_minibatches):
    """Secret sizes (last batch smaller, batch of one, one batch for all); two epochs with one generator."""
    rng = secret_rng(1601)
    N = int(rng.integers(11, 40))
    cases = [(N, int(rng.integers(2, 6)), int(rng.choice([b for b in range(3, 10) if N % b]))),
             (int(rng.integers(5, 9)), 1, 1),
             (int(rng.integers(5, 12)), int(rng.integers(1, 4)), 16),
             (24, int(rng.integers(1, 4)), int(rng.choice([4, 6, 8])))]
    for N, D, batch_size in cases:
        X = rng.normal(size=(N, D))
        y = np.arange(N, dtype=np.int64)  # each label names its row, so every batch can be traced
        X_given, y_given = X.copy(), y.copy()
        draws = Draws(iterate_minibatches, int(rng.integers(2**32)))
        order = None
        with tested_with(f"X of shape {(N, D)}, y of shape {(N,)} and batch_size={batch_size}"):
            for epoch in (1, 2):
                what = "iterate_minibatches" if epoch == 1 else "iterate_minibatches, called a second time"
                result = _in_place(iterate_minibatches, X_given, y_given, batch_size, draws.generator)
                if not (np.array_equal(X_given, X) and np.array_equal(y_given, y)):
                    raise AssertionError(f"{what} changed X or y in place: leave them unchanged and build the "
                                         "batches with indexing (X[indices] makes a copy).")
                order = _compare_epoch(result, X, y, batch_size, draws.drawn(N), order, what)


# ----------------------------------------------------------------------------- the update rules

def _problem(rng, dtype, tiny):
    """Parameters (two of the same shape, so that shared state shows) and STEPS rounds of gradients."""
    n_in, n_out, n_bias = (int(n) for n in rng.integers(2, 6, size=3))
    shapes = {"W1": (n_in, n_out), "b1": (n_out,), "W2": (n_in, n_out), "b2": (n_bias,)}
    params = {key: rng.normal(size=shape).astype(dtype) for key, shape in shapes.items()}
    scales = {key: 10 ** rng.uniform(-2, 1.5) for key in shapes}
    rounds = []
    for _ in range(STEPS):
        grads = {key: (rng.normal(size=shape) * scales[key]).astype(dtype) for key, shape in shapes.items()}
        if tiny:  # gradients far below epsilon's scale for some entries: where epsilon goes, and its value, show
            grads["W1"].flat[0] = grads["W2"].flat[-1] = 3e-9
            grads["b1"].flat[0] = -1e-8
        rounds.append(grads)
    return params, rounds


def _variant_step(name, variant, w, g, slots, t, hyper):
    """One step of a typical wrong version of an update rule, for diagnoses; slots: this key's state (a dict)."""
    lr = hyper["lr"]
    if name == "sgd_update":
        return w + lr * g
    if name == "momentum_update":
        beta = hyper["beta"]
        v = slots.get("v", np.zeros_like(w))
        v = beta * v + (1 - beta) * g if variant == "ema" else beta * v + g
        if variant == "reset":
            v = g
        slots["v"] = v
        return w + lr * v if variant == "uphill" else w - lr * v
    if name == "rmsprop_update":
        beta, eps = hyper["beta"], hyper["eps"]
        s = np.zeros_like(w) if variant == "reset" else slots.get("s", np.zeros_like(w))
        s = (1 - beta) * s + beta * g * g if variant == "swapped" else beta * s + (1 - beta) * g * g
        slots["s"] = s
        if variant == "eps_inside":
            return w - lr * g / np.sqrt(s + eps)
        if variant == "no_sqrt":
            return w - lr * g / (s + eps)
        return w - lr * g / (np.sqrt(s) + eps)
    beta1, beta2, eps = hyper["beta1"], hyper["beta2"], hyper["eps"]
    fresh = variant == "reset"
    m = np.zeros_like(w) if fresh else slots.get("m", np.zeros_like(w))
    v = np.zeros_like(w) if fresh else slots.get("v", np.zeros_like(w))
    m, v = beta1 * m + (1 - beta1) * g, beta2 * v + (1 - beta2) * g * g
    slots["m"], slots["v"] = m, v
    t = 1 if variant in ("t_fixed", "reset") else t
    if variant == "no_bias_correction":
        m_hat, v_hat = m, v
    else:
        m_hat, v_hat = m / (1 - beta1 ** t), v / (1 - beta2 ** t)
    if variant == "eps_inside":
        return w - lr * m_hat / np.sqrt(v_hat + eps)
    return w - lr * m_hat / (np.sqrt(v_hat) + eps)


VARIANTS = {
    "sgd_update": {"uphill": "you added the gradient: a step goes against it, params[key] -= lr * grads[key]"},
    "momentum_update": {
        "uphill": "the step goes the wrong way: with v = beta * v + grads[key], the update is params[key] -= lr * v",
        "ema": "this lab's momentum adds the whole gradient, v = beta * v + grads[key], without a (1 - beta) factor",
        "reset": "the velocity must carry over from one call to the next: keep it in state['v'][key] and update it",
    },
    "rmsprop_update": {
        "eps_inside": "epsilon goes outside the square root: divide by (np.sqrt(s) + eps)",
        "no_sqrt": "divide by the square root of the running average, np.sqrt(s) + eps, not by s itself",
        "swapped": "the running average keeps beta of its old value and adds (1 - beta) * grads[key] ** 2",
        "reset": "the running average must carry over from one call to the next: keep it in state['s'][key]",
    },
    "adam_update": {
        "no_bias_correction": "the step is missing the bias correction: divide m by (1 - beta1 ** t) and v by "
                              "(1 - beta2 ** t) before the step",
        "eps_inside": "epsilon goes outside the square root: divide by (np.sqrt(v_hat) + eps)",
        "t_fixed": "the step count t must grow by one at every call (state['t'], 1 at the first step)",
        "t_per_key": "the step count t grows by one per call, not per parameter: add 1 to state['t'] once, before "
                     "the loop over the keys",
        "reset": "m and v must carry over from one call to the next: keep them in state['m'][key] and state['v'][key]",
    },
}


def _variant_params(name, variant, params, rounds, steps, hyper):
    """The parameters after ``steps`` steps of a wrong version of the rule."""
    current = {key: np.array(value, dtype=np.float64) for key, value in params.items()}
    slots = {key: {} for key in params}
    for t in range(1, steps + 1):
        for index, key in enumerate(current):
            count = (t - 1) * len(current) + index + 1 if variant == "t_per_key" else t
            current[key] = _variant_step(name, variant, current[key], np.asarray(rounds[t - 1][key], np.float64),
                                         slots[key], count, hyper)
    return current


def _diagnoses(name, params, rounds, steps, hyper, key, tolerance):
    """Diagnoses recognising the rule's typical mistakes in params[key] after ``steps`` steps."""
    found = []
    for variant, hint in VARIANTS[name].items():
        wrong = _variant_params(name, variant, params, rounds, steps, hyper)[key]
        found.append(lambda actual, expected, wrong=wrong, hint=hint:
                     hint if actual.shape == wrong.shape and np.allclose(actual, wrong, **tolerance) else None)
    return found


def _hyper_text(hyper):
    return ", ".join(f"{key}={value:.3g}" for key, value in hyper.items()) if hyper else "the default hyper-parameters"


def _run(update, name, params, rounds, hyper, dtype, tolerance):
    """``_steps``, and when it fails although every parameter alone passes, a message about shared state."""
    try:
        _steps(update, name, params, rounds, hyper, dtype, tolerance)
    except AssertionError as error:
        if any(hint in str(error) for hint in VARIANTS[name].values()):
            raise  # a typical mistake recognised in the run of all parameters (t counted per parameter, say)
        if len(params) > 1 and all(_alone_is_right(update, name, params, rounds, hyper, dtype, tolerance, key)
                                   for key in params):
            raise AssertionError(f"{name} is wrong when several parameters are updated together, but right when "
                                 "each one is the only one: keep the state of each parameter apart, under its own "
                                 "key (state[...][key]), created with np.zeros_like(params[key]) for each key."
                                 ) from None
        raise


def _steps(update, name, params, rounds, hyper, dtype, tolerance):
    """``STEPS`` calls of the student's rule with one state dict, each compared with the reference."""
    theirs = {key: value.copy() for key, value in params.items()}
    ours = {key: value.copy() for key, value in params.items()}
    state, our_state = {}, {}
    full = {**DEFAULTS[name], **hyper}
    for step, grads in enumerate(rounds, start=1):
        before = {key: value.copy() for key, value in theirs.items()}
        given = {key: value.copy() for key, value in grads.items()}
        result = _in_place(update, theirs, given, state, **hyper)
        REFERENCE[name](ours, grads, our_state, **full)
        what_call = "the first call" if step == 1 else f"call {step} in a row (with the same state)"
        for key in params:
            value = theirs.get(key)
            what = f"{name}: params[{key!r}] after {what_call}"
            unchanged = isinstance(value, np.ndarray) and value.shape == before[key].shape \
                and np.array_equal(value, before[key])
            if unchanged and not np.array_equal(ours[key], before[key]):
                returned = " It returned new values instead: change the arrays of params themselves." \
                    if result is not None else ""
                first = " Update the velocity first (v = beta * v + grads[key]), then step with it." \
                    if name == "momentum_update" and not returned else ""
                raise AssertionError(f"{name} did not change params[{key!r}] at {what_call}: update every parameter "
                                     f"in place, params[key] -= step, with the step of this call.{first}{returned}")
            value = expect_array(value, what, before[key].shape, "the shape of the parameter")
            if value.dtype != dtype:
                raise AssertionError(f"{what} has dtype {value.dtype}, but the parameters were {np.dtype(dtype)}: "
                                     "update them in place (params[key] -= step), which keeps their dtype.")
            if np.allclose(value, ours[key], **tolerance):
                continue
            # the diagnoses replay the typical mistakes, so only for a wrong value
            expect_close(value, ours[key], what, f"follow the update rule of the exercise, with {name}'s "
                         "hyper-parameters and their defaults",
                         diagnoses=_diagnoses(name, params, rounds, step, full, key, tolerance), given=before[key],
                         **tolerance)
        if any(not np.array_equal(grads[key], given[key]) for key in grads):
            raise AssertionError(f"{name} changed grads in place: leave the gradients unchanged.")


def _alone_is_right(update, name, params, rounds, hyper, dtype, tolerance, key):
    """True if the rule, run on params[key] alone, matches the reference."""
    try:
        _steps(update, name, {key: params[key]}, [{key: grads[key]} for grads in rounds], hyper, dtype, tolerance)
    except AssertionError:
        return False
    return True


def _check_rule(update, name, salt):
    rng = secret_rng(salt)
    float64 = {"rtol": 1e-6, "atol": 1e-9}
    float32 = {"rtol": 2e-4, "atol": 1e-5}
    secret = {"lr": float(10 ** rng.uniform(-2.5, -1))}
    if name == "momentum_update":
        secret["beta"] = float(rng.uniform(0.5, 0.95))
    if name == "rmsprop_update":
        secret.update(beta=float(rng.uniform(0.5, 0.95)), eps=float(10 ** rng.uniform(-4, -2)))
    if name == "adam_update":
        secret.update(beta1=float(rng.uniform(0.5, 0.9)), beta2=float(rng.uniform(0.9, 0.995)),
                      eps=float(10 ** rng.uniform(-4, -2)))
    runs = [({}, np.float64, float64, True), (secret, np.float64, float64, True), ({}, np.float32, float32, False)]
    for hyper, dtype, tolerance, tiny in runs:
        params, rounds = _problem(rng, dtype, tiny)
        shapes = ", ".join(f"{key} {value.shape}" for key, value in params.items())
        with tested_with(f"{np.dtype(dtype)} parameters {shapes}, {STEPS} calls in a row and {_hyper_text(hyper)}"):
            _run(update, name, params, rounds, hyper, dtype, tolerance)


def check_sgd_update(sgd_update):
    """In-place SGD steps, default and secret learning rates, float64 and float32."""
    _check_rule(sgd_update, "sgd_update", 1602)


def check_momentum_update(momentum_update):
    """Momentum (v = beta v + g, w -= lr v) over several calls, per-parameter velocity, defaults."""
    _check_rule(momentum_update, "momentum_update", 1603)


def check_rmsprop_update(rmsprop_update):
    """RMSprop over several calls: running average per parameter, epsilon outside the root, defaults."""
    _check_rule(rmsprop_update, "rmsprop_update", 1604)


def check_adam_update(adam_update):
    """Adam over several calls: bias correction with the step count, epsilon outside the root, defaults."""
    _check_rule(adam_update, "adam_update", 1605)
