"""Hidden tests of Lab 5 (a two-layer network on CIFAR-10): one check per graded function.

Each ``check_<function>(student_function, ...)`` compares the student's function with
``autograder.reference`` (losses and the MLP) on seeded random sizes and inputs, gradients also with
numerical gradients, and raises AssertionError with a student-facing message on the first problem.
``loss_and_grads`` is checked with the reference losses in place of the student's two loss functions,
and ``train`` with reference models, so that one wrong function costs exactly one question.
"""
import contextlib
import functools
import io
import time

import numpy as np

from autograder.reference import losses, mlp, sgd
from course_utils.checks import EVERY_LABEL_MARGINS, OVER_THE_BATCH
from course_utils.data import one_hot

from ..judge.student import beside, own_first, own_helpers_first
from .common import (
    KEY_HINT,
    SIGN_FLIPPED,
    bias_hint,
    call,
    expect_array,
    expect_close,
    expect_number,
    expect_dict,
    expect_numerical_gradients,
    expect_tuple,
    must_raise,
    random_sizes,
    secret_rng,
    tested_with,
    times,
)

KEYS = ("W1", "b1", "W2", "b2")
HISTORY_KEYS = sgd.HISTORY_KEYS
LOSS_HINT = "average over the samples (and sum over the classes)"


# ----------------------------------------------------------------------------- shared helpers

def _expect_dtype(array, dtype, what):
    if array.dtype != dtype:
        raise AssertionError(f"{what} has dtype {array.dtype} but the inputs were {np.dtype(dtype)}: keep "
                             f"{np.dtype(dtype)} throughout (float32 training is twice as fast). Look for arrays "
                             "made with a float64 default, such as np.eye(C) or np.zeros(...) without dtype.")


def _labels(rng, N, C):
    """(N,) int64 labels in 0..C-1 that use at least two classes."""
    y = rng.integers(0, C, size=N)
    y[:2] = [0, 1]
    return rng.permutation(y).astype(np.int64)


def _network(rng, D, H, C, dtype=np.float64):
    """Random two-layer parameters with non-zero biases."""
    params = {"W1": rng.normal(scale=1 / np.sqrt(D), size=(D, H)), "b1": rng.normal(scale=0.3, size=H),
              "W2": rng.normal(scale=1 / np.sqrt(H), size=(H, C)), "b2": rng.normal(scale=0.3, size=C)}
    return {key: value.astype(dtype) for key, value in params.items()}


def _sizes(rng):
    """Random small sizes (N, D, H, C)."""
    return random_sizes(rng, (3, 13), (2, 8), (2, 9), (2, 7))


def _describe(N, D, H, C):
    return f"N={N} samples, D={D} inputs, H={H} hidden units and C={C} classes"


def _expect_loss_pair(result, N, C, name):
    """(loss: float, dscores: (N, C) array) from a loss function's result."""
    loss, dscores = expect_tuple(result, 2, f"{name} should return a tuple (loss, dscores)")
    loss = expect_number(loss, f"{name}: the loss", LOSS_HINT)
    dscores = expect_array(dscores, f"{name}: dscores", (N, C), "(N, C), the shape of scores")
    return loss, dscores


# ----------------------------------------------------------------------------- softmax_ce_loss

def _loss_over_the_batch(scores, y):
    """The loss a log-softmax normalised over the batch gives (``OVER_THE_BATCH``): each row shifted by its maximum,
    then each column's log-sum-exp subtracted (axis 0 where axis 1 was meant). scores: (N, C); y: (N,) ints."""
    shifted = scores - scores.max(axis=1, keepdims=True)
    with np.errstate(all="ignore"):  # a column far below the other rows' maxima: the log of 0, inf
        log_probs = shifted - np.log(np.exp(shifted).sum(axis=0, keepdims=True))
    return float(-log_probs[np.arange(len(y)), y].mean())


def check_softmax_ce_loss(softmax_ce_loss):
    """Mean softmax cross-entropy and its gradient; stable for huge scores; float32 stays float32."""
    rng = secret_rng(501)
    for scale in (1.0, 3.0, 1e4):
        N, C = random_sizes(rng, (2, 12), (2, 8))
        scores, y = rng.normal(scale=scale, size=(N, C)), _labels(rng, N, C)
        with tested_with(f"N={N} samples, C={C} classes and scores of size about {scale:g}"):
            loss, dscores = _expect_loss_pair(call(softmax_ce_loss, scores, y), N, C, "softmax_ce_loss")
            expected_loss, expected_dscores = losses.softmax_ce(scores, y)
            stable = " (for large scores, subtract each row's maximum before np.exp)" if scale > 100 else ""
            expect_close(loss, expected_loss, "softmax_ce_loss: the loss",
                         f"it is the mean over the samples of -log(softmax(scores)[i, y[i]]){stable}",
                         [SIGN_FLIPPED, times(N, "you summed over the samples: divide by N to average"),
                          lambda a, e: OVER_THE_BATCH if np.isclose(a, _loss_over_the_batch(scores, y), rtol=1e-6)
                          else None])
            expect_close(dscores, expected_dscores, "softmax_ce_loss: dscores",
                         "it is (softmax(scores) - one_hot(y)) / N, row by row",
                         [SIGN_FLIPPED, times(N, "divide the gradient by N as well")])
    scores = rng.normal(size=(5, 4)).astype(np.float32)
    _, dscores = _expect_loss_pair(call(softmax_ce_loss, scores, _labels(rng, 5, 4)), 5, 4, "softmax_ce_loss")
    _expect_dtype(dscores, np.float32, "softmax_ce_loss: dscores")


# ----------------------------------------------------------------------------- mse_loss

def check_mse_loss(mse_loss):
    """1/(2N) squared error against one-hot targets, and its gradient (scores - Y) / N."""
    rng = secret_rng(502)
    for _ in range(3):
        N, C = random_sizes(rng, (2, 12), (2, 8))
        scores, Y = rng.normal(size=(N, C)), one_hot(_labels(rng, N, C), C, dtype=np.float64)
        with tested_with(f"N={N} samples and C={C} classes"):
            loss, dscores = _expect_loss_pair(call(mse_loss, scores, Y), N, C, "mse_loss")
            expected_loss, expected_dscores = losses.mse(scores, Y)
            expect_close(loss, expected_loss, "mse_loss: the loss",
                         "it is sum((scores - Y)**2) / (2 * N): summed over the classes, averaged over the samples",
                         [times(2, "it is twice the right value: this course's MSE divides by 2N, not N"),
                          times(N, "you did not divide by the number of samples N"),
                          times(2 * N, "divide the sum of squares by 2N")])
            expect_close(dscores, expected_dscores, "mse_loss: dscores", "it is (scores - Y) / N",
                         [SIGN_FLIPPED, times(2, "the 1/2 of the loss cancels the 2 of the square: no factor 2"),
                          times(N, "divide the gradient by N as well")])
    scores = rng.normal(size=(5, 3)).astype(np.float32)
    _, dscores = _expect_loss_pair(call(mse_loss, scores, one_hot(_labels(rng, 5, 3), 3)), 5, 3, "mse_loss")
    _expect_dtype(dscores, np.float32, "mse_loss: dscores")


# ----------------------------------------------------------------------------- svm_loss

def _margins_with_every_label(svm_loss):
    """If ``svm_loss`` compares the scores with ``scores[:, y]`` (``EVERY_LABEL_MARGINS``), an AssertionError that says
    so, tried on square scores (N = C), where that code runs; elsewhere it raises a broadcasting ValueError."""
    rng = secret_rng(5031)
    N = int(rng.integers(4, 8))
    scores, y = rng.normal(size=(N, N)), _labels(rng, N, N)
    try:
        loss = expect_number(expect_tuple(call(svm_loss, scores, y), 2, "svm_loss")[0], "svm_loss: the loss")
    except AssertionError:
        return
    terms = scores - scores[:, y] + 1  # every score against the scores of every label in y: (N, N)
    terms[np.arange(N), y] = 0
    wrong = np.maximum(terms, 0).sum() / N
    if np.isclose(loss, wrong, rtol=1e-6) and not np.isclose(loss, losses.multiclass_hinge(scores, y)[0], rtol=1e-6):
        raise AssertionError(f"svm_loss: the loss has the wrong value: {EVERY_LABEL_MARGINS}. (Tested with N={N} "
                             f"samples and C={N} classes; for N != C it raises a ValueError, as the shapes do not "
                             "broadcast.)")


def check_svm_loss(svm_loss):
    """The multiclass hinge loss (margin 1, averaged over the samples) and its gradient; float32 stays float32.
    A failure is looked at once more on square scores, to name the comparison with scores[:, y]."""
    try:
        _check_svm_loss(svm_loss)
    except AssertionError:
        _margins_with_every_label(svm_loss)
        raise


def _check_svm_loss(svm_loss):
    rng = secret_rng(503)
    for scale in (0.3, 1.0, 3.0):
        N, C = random_sizes(rng, (2, 12), (3, 8))
        scores, y = rng.normal(scale=scale, size=(N, C)), _labels(rng, N, C)
        with tested_with(f"N={N} samples, C={C} classes and scores of size about {scale:g}"):
            loss, dscores = _expect_loss_pair(call(svm_loss, scores, y), N, C, "svm_loss")
            expected_loss, expected_dscores = losses.multiclass_hinge(scores, y)
            own_term = lambda a, e: "leave out the right class's own term, max(0, s_y - s_y + 1) = 1: the sum runs " \
                "over the wrong classes j != y[i] only" if np.isclose(a, e + 1) else None  # noqa: E731
            expect_close(loss, expected_loss, "svm_loss: the loss",
                         "it is the mean over the samples of the sum over the wrong classes of "
                         "max(0, scores[i, j] - scores[i, y[i]] + 1)",
                         [own_term, times(N, "you summed over the samples: divide by N to average")])
            right_class = np.zeros((N, C), dtype=bool)
            right_class[np.arange(N), y] = True
            missing_right = lambda a, e: "the right class gets a gradient too: minus the number of wrong " \
                "classes with a positive term, divided by N" if np.allclose(a, np.where(right_class, 0, e)) \
                and not np.allclose(a, e) else None  # noqa: E731
            expect_close(dscores, expected_dscores, "svm_loss: dscores",
                         "a wrong class j with a positive term gets 1/N, the right class minus the number of "
                         "such classes over N, every other entry 0",
                         [missing_right, SIGN_FLIPPED, times(N, "divide the gradient by N as well")])
    scores = rng.normal(size=(5, 4)).astype(np.float32)
    _, dscores = _expect_loss_pair(call(svm_loss, scores, _labels(rng, 5, 4)), 5, 4, "svm_loss")
    _expect_dtype(dscores, np.float32, "svm_loss: dscores")


# ----------------------------------------------------------------------------- loss_and_grads

def _reference_softmax_ce_loss(scores, y):
    return losses.softmax_ce(scores, y)


def _reference_mse_loss(scores, Y):
    return losses.mse(scores, Y)


REFERENCE_LOSSES = {"softmax_ce_loss": _reference_softmax_ce_loss, "mse_loss": _reference_mse_loss}


def _expect_grads(grads, params, N, what):
    """The gradient dict for a batch of N: the keys and shapes of params, finite values. Returns the arrays."""
    expect_dict(grads, KEYS, f"{what}: grads", KEY_HINT)
    texts = {"W1": "(D, H), like W1", "b1": "(H,), like b1", "W2": "(H, C), like W2", "b2": "(C,), like b2"}
    return {key: expect_array(grads[key], f"{what}: grads[{key!r}]", params[key].shape, texts[key],
                              shape_hint=bias_hint(np.shape(grads[key]), N) if key.startswith("b") else "")
            for key in KEYS}


def _regularisation(params, reg):
    return 0.5 * reg * sum(float(np.sum(params[key] ** 2)) for key in ("W1", "W2"))


def _away_from_the_kink(rng, X, params):
    """``X`` with every sample whose hidden pre-activations come within 0.05 of 0 drawn again: there ReLU's kink is in
    the numerical gradient's reach, which then differs from a right gradient (a correct answer lost 5 points)."""
    while (near := np.abs(X @ params["W1"] + params["b1"]).min(axis=1) < 0.05).any():
        X[near] = rng.normal(size=(int(near.sum()), X.shape[1]))
    return X


def _check_network(loss_and_grads, rng, activation, loss_name, reg):
    N, D, H, C = _sizes(rng)
    X, y, params = rng.normal(size=(N, D)), _labels(rng, N, C), _network(rng, D, H, C)
    if activation == "relu":
        X = _away_from_the_kink(rng, X, params)
    context = f"activation={activation!r}, loss={loss_name!r}, reg={reg:g}"
    what = f"loss_and_grads with {context}"
    with tested_with(_describe(N, D, H, C)):
        result = call(loss_and_grads, params, X, y, activation=activation, loss=loss_name, reg=reg)
        loss, grads = expect_tuple(result, 2, "loss_and_grads should return a tuple (loss, grads)")
        loss = expect_number(loss, f"{what}: the loss", LOSS_HINT)
        grads = _expect_grads(grads, params, N, what)
        expected_loss, expected = mlp.loss_and_grads(params, X, y, activation, loss_name, reg)
        penalty = _regularisation(params, reg)
        expect_close(loss, expected_loss, f"{what}: the loss",
                     "compute the scores X -> hidden layer -> output layer, then the loss of the scores plus "
                     "the L2 term 0.5 * reg * (sum(W1**2) + sum(W2**2))",
                     [lambda a, e: "the L2 term 0.5 * reg * (sum(W1**2) + sum(W2**2)) is missing"
                      if reg and np.isclose(a, e - penalty) else None,
                      lambda a, e: "the L2 term has a factor 0.5: 0.5 * reg * (sum(W1**2) + sum(W2**2))"
                      if reg and np.isclose(a, e + penalty) else None])
        derivative = {"relu": "ReLU's derivative is 1 where Z1 > 0 and 0 elsewhere",
                      "sigmoid": "the sigmoid's derivative is A1 * (1 - A1)"}[activation]
        hints = {"W2": "dW2 = A1.T @ dscores (+ reg * W2)", "b2": "db2 is dscores summed over the samples",
                 "W1": f"dW1 = X.T @ dZ1 (+ reg * W1) with dZ1 = (dscores @ W2.T) times the activation's "
                       f"derivative: {derivative}",
                 "b1": f"db1 is dZ1 summed over the samples; {derivative}"}
        for key in ("W2", "b2", "W1", "b1"):
            diagnoses = [SIGN_FLIPPED]
            if reg and key.startswith("W"):
                diagnoses.append(lambda a, e, W=params[key]: "the L2 term's gradient reg * W is missing"
                                 if np.allclose(a, e - reg * W) else None)
            if reg and key.startswith("b"):
                diagnoses.append(lambda a, e, b=params[key]: "the biases are not regularised: no reg * b"
                                 if np.allclose(a, e + reg * b) else None)
            expect_close(grads[key], expected[key], f"{what}: grads[{key!r}]", hints[key], diagnoses)
        expect_numerical_gradients(lambda p: mlp.loss_and_grads(p, X, y, activation, loss_name, reg)[0],
                                   params, grads, what)


@own_helpers_first(REFERENCE_LOSSES)
def check_loss_and_grads(loss_and_grads):
    """Loss and gradients of the two-layer network for both activations, both losses, with and without L2."""
    rng = secret_rng(503)
    for activation, loss_name, reg in (("relu", "softmax_ce", 0.0), ("sigmoid", "mse", 0.0),
                                       ("sigmoid", "softmax_ce", 0.3), ("relu", "mse", 0.7)):
        _check_network(loss_and_grads, rng, activation, loss_name, reg)
    N, D, H, C = 6, 5, 4, 3
    X, y, params = rng.normal(size=(N, D)).astype(np.float32), _labels(rng, N, C), _network(rng, D, H, C,
                                                                                             np.float32)
    for activation in ("relu", "sigmoid"):
        what = f"loss_and_grads with float32 inputs and activation={activation!r}"
        result = call(loss_and_grads, params, X, y, activation=activation, loss="softmax_ce", reg=0.1)
        loss, grads = expect_tuple(result, 2, "loss_and_grads should return a tuple (loss, grads)")
        expect_number(loss, f"{what}: the loss", LOSS_HINT)
        for key, value in _expect_grads(grads, params, N, what).items():
            _expect_dtype(value, np.float32, f"{what}: grads[{key!r}]")
    must_raise(loss_and_grads, params, X, y, activation="softplus", case="activation='softplus'",
               should="that names the valid activations")
    must_raise(loss_and_grads, params, X, y, loss="hinge", case="loss='hinge'", should="that names the valid losses")


# ----------------------------------------------------------------------------- predict

def check_predict(predict):
    """The class with the largest score, int labels of shape (N,), for both activations."""
    rng = secret_rng(504)
    for activation in ("relu", "sigmoid", "relu"):
        N, D, H, C = _sizes(rng)
        N += 10
        X, params = rng.normal(size=(N, D)), _network(rng, D, H, C)
        with tested_with(f"activation={activation!r}, {_describe(N, D, H, C)}"):
            labels = call(predict, params, X, activation=activation)
            labels = expect_array(labels, "predict: the result", (N,), "(N,), one label per sample", kind="int")
            if not np.array_equal(labels, mlp.predict(params, X, activation)):
                raise AssertionError(f"predict with activation={activation!r}: some labels are wrong: compute the "
                                     "scores as in loss_and_grads (with this activation) and take the class "
                                     "with the largest score in each row, scores.argmax(axis=1).")


# ----------------------------------------------------------------------------- train

class _Recorder:
    """A loss function that remembers which samples each call saw (sample ids are stored in column 0 of X)."""

    def __init__(self, loss_fn):
        self.loss_fn, self.batches = loss_fn, []

    def __call__(self, params, X, y):
        self.batches.append(np.asarray(X)[:, 0].round().astype(np.int64))
        return self.loss_fn(params, X, y)


def _run_train(train, context, *args, **kwargs):
    """Call the student's train (output silenced) on our own objects; return (history, seconds)."""
    def run():
        with contextlib.redirect_stdout(io.StringIO()):
            return train(*args, **kwargs)

    run.__name__ = getattr(train, "__name__", "train")
    start = time.perf_counter()
    history = call(run, context=context)
    return history, time.perf_counter() - start


def _expect_history(history, epochs, context):
    """The history dict: four lists of ``epochs`` finite numbers; returned as float64 arrays."""
    what = f"train {context}: the returned history"
    expect_dict(history, HISTORY_KEYS, what, "Return the dict history with one list per quantity.")
    values = {}
    for key in HISTORY_KEYS:
        entries = history[key]
        if not hasattr(entries, "__len__") or len(entries) != epochs:
            length = len(entries) if hasattr(entries, "__len__") else "no"
            raise AssertionError(f"{what}[{key!r}] should hold one number per epoch ({epochs} here), but it has "
                                 f"{length} entries.")
        values[key] = np.array([expect_number(entry, f"{what}[{key!r}]", LOSS_HINT) for entry in entries])
    for key in ("train_acc", "test_acc"):
        if np.any((values[key] < 0) | (values[key] > 1)):
            raise AssertionError(f"{what}[{key!r}] should hold accuracies between 0 and 1 (the fraction of "
                                 "correct labels), not percentages or counts.")
    return values


def _small_problem(seed, N=24, D=5, H=6, C=3, N_test=10):
    rng = secret_rng(seed)
    return (rng.normal(size=(N, D)), _labels(rng, N, C), rng.normal(size=(N_test, D)), _labels(rng, N_test, C),
            _network(rng, D, H, C))


def _check_full_batch(train, options, diagnoses):
    """With one batch per epoch the order does not matter: compare the whole trajectory with the reference."""
    X, y, X_test, y_test, params = _small_problem(7)
    loss_fn = functools.partial(mlp.loss_and_grads, activation="relu", loss="softmax_ce", reg=0.05)
    predict_fn = functools.partial(mlp.predict, activation="relu")
    options = dict(epochs=4, batch_size=len(X), seed=0, **options)
    context = "with " + ", ".join(f"{key}={value!r}" for key, value in options.items() if key != "seed")
    expected_params = {key: value.copy() for key, value in params.items()}
    expected = sgd.train(loss_fn, predict_fn, expected_params, X, y, X_test, y_test, **options)

    def variant(**changes):
        copies = {key: value.copy() for key, value in params.items()}
        sgd.train(loss_fn, predict_fn, copies, X, y, X_test, y_test, **{**options, **changes})
        return copies

    alternatives = [(variant(**changes), hint) for changes, hint in diagnoses]
    trained = {key: value.copy() for key, value in params.items()}
    history, _ = _run_train(train, context, loss_fn, predict_fn, trained, X, y, X_test, y_test, verbose=False,
                            **options)
    values = _expect_history(history, options["epochs"], context)
    if all(np.array_equal(trained[key], params[key]) for key in KEYS):
        raise AssertionError(f"train {context} did not change params: update the arrays of the params dict "
                             "in place (params[key] += ...), so that the caller gets the trained network.")
    if any(np.shape(trained[key]) != params[key].shape for key in KEYS):
        raise AssertionError(f"train {context} changed the shape of a parameter.")
    if not all(np.allclose(trained[key], expected_params[key], rtol=1e-7, atol=1e-10) for key in KEYS):
        hint = next((text for candidate, text in alternatives
                     if all(np.allclose(trained[key], candidate[key], rtol=1e-7, atol=1e-10) for key in KEYS)),
                    "after each minibatch, update velocity = momentum * velocity - lr * grads and then "
                    "params += velocity (velocities start at zero), and multiply lr by lr_decay after each epoch")
        raise AssertionError(f"train {context}: the trained parameters are wrong: {hint}.")
    explanations = {
        "train_loss": "the mean of the losses of the epoch's minibatches (each computed before its update)",
        "train_acc": "the accuracy of predict_fn on the whole training set X, after the epoch",
        "test_loss": "loss_fn(params, X_test, y_test)[0], after the epoch",
        "test_acc": "the accuracy of predict_fn on X_test, after the epoch"}
    for key, explanation in explanations.items():
        if not np.allclose(values[key], expected[key], rtol=1e-7, atol=1e-10):
            raise AssertionError(f"train {context}: history[{key!r}] has wrong values: each entry is {explanation}.")


def _identified(rng, N, D, offset):
    """(N, D) inputs whose column 0 holds the sample ids offset, offset + 1, ..."""
    X = rng.normal(size=(N, D))
    X[:, 0] = offset + np.arange(N)
    return X


def _epoch_orders(train, seed, N=50, batch_size=16, epochs=3):
    """Run train with a recording linear model; return the list of minibatch sizes and the id order per epoch."""
    rng = secret_rng(11)
    X, X_test = _identified(rng, N, 4, 0), _identified(rng, 12, 4, 1000)
    y, y_test = _labels(rng, N, 3), _labels(rng, 12, 3)
    params = {"W1": np.zeros((4, 3)), "b1": np.zeros(3)}
    recorder = _Recorder(functools.partial(mlp.loss_and_grads, loss="softmax_ce"))
    context = f"with {N} samples, batch_size={batch_size}, epochs={epochs}, seed={seed}"
    history, _ = _run_train(train, context, recorder, mlp.predict, params, X, y, X_test, y_test, epochs=epochs,
                            batch_size=batch_size, lr=1e-3, seed=seed, verbose=False)
    _expect_history(history, epochs, context)
    batches = [ids for ids in recorder.batches if len(ids) <= batch_size and np.all(ids < N)]
    sizes = [len(ids) for ids in batches]
    seen = np.concatenate(batches) if batches else np.zeros(0, dtype=np.int64)
    if len(seen) != epochs * N:
        raise AssertionError(f"train {context}: loss_fn was called on {len(seen)} training samples in minibatches "
                             f"of at most batch_size samples, but each epoch should use every one of the {N} "
                             "samples exactly once.")
    orders = seen.reshape(epochs, N)
    if any(not np.array_equal(np.sort(order), np.arange(N)) for order in orders):
        raise AssertionError(f"train {context}: within an epoch some samples were used twice and others not at "
                             "all: take the minibatches from one permutation of the N indices per epoch.")
    full, rest = divmod(N, batch_size)
    if sizes != ([batch_size] * full + [rest] * bool(rest)) * epochs:
        raise AssertionError(f"train {context}: the minibatches should hold batch_size samples each (the last one "
                             f"of an epoch may be smaller), but their sizes were {sizes}.")
    return context, orders


def _check_shuffling(train, seed=3):
    context, orders = _epoch_orders(train, seed=seed)
    if any(np.array_equal(order, np.arange(len(order))) for order in orders):
        raise AssertionError(f"train {context}: the samples were used in their original order: shuffle them "
                             "at the start of every epoch with rng.permutation(N).")
    if all(np.array_equal(order, orders[0]) for order in orders):
        raise AssertionError(f"train {context}: every epoch used the samples in the same order: draw a new "
                             "permutation at the start of every epoch, not once before the loop.")
    _, again = _epoch_orders(train, seed=seed)
    if not np.array_equal(orders, again):
        raise AssertionError(f"train {context} used different minibatches when run twice with the same seed: "
                             "create one generator rng = np.random.default_rng(seed) at the start of train and "
                             "draw every permutation from it.")
    _, other = _epoch_orders(train, seed=seed + 1)
    if np.array_equal(orders, other):
        raise AssertionError(f"train {context} used the same minibatches with seed={seed} and seed={seed + 1}: "
                             "create the generator from the seed argument, np.random.default_rng(seed).")
    rng = np.random.default_rng(seed)
    expected = [rng.permutation(orders.shape[1]) for _ in orders]
    differs = next((epoch for epoch, (order, right) in enumerate(zip(orders, expected), start=1)
                    if not np.array_equal(order, right)), None)
    if differs:
        raise AssertionError(f"train {context}: the minibatches of epoch {differs} do not follow order = "
                             "rng.permutation(N): create one generator rng = np.random.default_rng(seed) at the "
                             "start of train, draw nothing else from it, and at the start of every epoch take "
                             "the batches order[0:batch_size], order[batch_size:2 * batch_size], ... of a new "
                             "order = rng.permutation(N).")


# loss_and_grads and predict with their default arguments (ReLU, softmax cross-entropy, no L2): the reference's
LEARNING_REFERENCE = (functools.partial(mlp.loss_and_grads, activation="relu", loss="softmax_ce"),
                      functools.partial(mlp.predict, activation="relu"))


def _learning_problem(rng, N=2000, N_test=500, D=100, C=10):
    """Ten noisy clusters standing in for the images: X (N, D) and X_test (N_test, D) float32, y and y_test (int64).

    The check's own data, not the notebook's: it crosses to the kernel in a megabyte (5,000 CIFAR-10 images
    would not fit in one answer of the kernel), and train's question does not depend on how the notebook
    prepared its images. The reference network goes from 10% to about 65% test accuracy on it."""
    centres = rng.normal(scale=0.3, size=(C, D))
    y, y_test = _labels(rng, N, C), _labels(rng, N_test, C)
    X, X_test = ((centres[labels] + rng.normal(size=(len(labels), D))).astype(np.float32) for labels in (y, y_test))
    return X, y, X_test, y_test


def _check_learning(train, problem, loss_fn, predict_fn):
    """On ``problem`` (``_learning_problem``), train must improve the test accuracy about as much as the reference.

    loss_fn and predict_fn: the notebook's ``loss_and_grads`` and ``predict``, or ``LEARNING_REFERENCE``.
    """
    X, y, X_val, y_val = problem
    C = int(max(y.max(), y_val.max())) + 1
    options = dict(epochs=4, batch_size=100, lr=0.01, momentum=0.9, seed=0)
    context = (f"on {len(X)} training and {len(X_val)} test samples of {C} noisy clusters in {X.shape[1]} "
               "dimensions, with a 50-unit ReLU network, " + ", ".join(f"{k}={v!r}" for k, v in options.items()))
    params = mlp.init_params([X.shape[1], 50, C], seed=0)
    reference_loss, reference_predict = LEARNING_REFERENCE
    before = float(np.mean(reference_predict(params, X_val) == y_val))
    start = time.perf_counter()
    expected = sgd.train(reference_loss, reference_predict, {k: v.copy() for k, v in params.items()}, X, y, X_val,
                         y_val, **options)
    reference_seconds = time.perf_counter() - start
    history, seconds = _run_train(train, context, loss_fn, predict_fn, params, X, y, X_val, y_val, verbose=False,
                                  **options)
    after = _expect_history(history, options["epochs"], context)["test_acc"][-1]
    if seconds > max(60.0, 50 * reference_seconds):  # generous: under the judge every loss_fn call is a round trip
        raise AssertionError(f"train {context} took {seconds:.0f} s, far longer than needed: work on whole "
                             "minibatches (no loop over single samples) and evaluate once per epoch.")
    gain = expected["test_acc"][-1] - before
    if gain > 0.05 and after < before + gain / 2:
        raise AssertionError(f"train {context} improved the test accuracy only from {before:.1%} to {after:.1%}: "
                             "check the update (params move against the gradient) and the learning rate.")


def check_train(train):
    """The training loop: exact updates, momentum and decay, per-epoch shuffling, seeding, and learning.

    The learning check tries the notebook's own ``loss_and_grads`` and ``predict`` first (``own_first``: in the
    kernel, no round trip per minibatch), and the reference ones if that fails or the notebook has none."""
    _check_full_batch(train, dict(lr=0.3, momentum=0.6, lr_decay=1.0),
                      [(dict(momentum=0.0), "momentum is ignored: keep one velocity per parameter")])
    _check_full_batch(train, dict(lr=0.5, momentum=0.0, lr_decay=0.5),
                      [(dict(lr_decay=1.0), "lr_decay is ignored: multiply lr by lr_decay after every epoch"),
                       (dict(lr=0.25), "multiply lr by lr_decay after every epoch, not before the first one")])
    _check_shuffling(train)
    problem = _learning_problem(secret_rng(12))
    own = (beside(train, "loss_and_grads"), beside(train, "predict"))
    if all(callable(function) for function in own):
        own_first(lambda: _check_learning(train, problem, *own),
                  lambda: _check_learning(train, problem, *LEARNING_REFERENCE))
    else:
        _check_learning(train, problem, *LEARNING_REFERENCE)
