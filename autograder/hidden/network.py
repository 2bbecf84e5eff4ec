"""Checks shared by the labs on the two-layer network of Labs 1-3 (tanh hidden layer, sigmoid output).

Inputs X (N, n_x), targets Y (N, 1), parameters {"W1": (n_x, n_h), "b1": (n_h,), "W2": (n_h, 1), "b2": (1,)},
float64.
"""
import numpy as np

from autograder.reference import shallow
from course_utils.checks import TANH_TWICE, TANH_WITH_Z1

from .common import KEY_HINT, bias_hint, expect_array, expect_dict, random_sizes

KEYS = shallow.PARAMETER_KEYS
# What to check when the hidden layer's gradients are wrong but the output layer's are right.
HIDDEN_LAYER_HINTS = {"W1": "the output-layer gradients are right, so check how the gradient flows back: "
                            "dZ1 = (dZ2 @ W2.T) * (1 - A1**2) and dW1 = X.T @ dZ1",
                      "b1": "check db1 = the sum of dZ1 over the samples, with dZ1 = (dZ2 @ W2.T) * (1 - A1**2)"}


def tanh_derivative_diagnoses(params, cache, X, Y, key, loss="bce"):
    """Diagnoses (see ``common``) of the hidden layer's gradient ``grads[key]`` ("W1" or "b1") for
    tanh's derivative written with Z1 or with tanh(A1) (``TANH_WITH_Z1``, ``TANH_TWICE``): the reference gradient with
    that value where tanh's derivative uses A1."""
    wrong = {TANH_WITH_Z1: cache["Z1"], TANH_TWICE: np.tanh(cache["A1"])}
    grads = {hint: shallow.backward_propagation(params, {**cache, "A1": value}, X, Y, loss)[key]
             for hint, value in wrong.items()}
    return [lambda a, e, hint=hint, grad=grad: hint if a.shape == grad.shape and np.allclose(a, grad, rtol=1e-6,
                                                                                            atol=1e-9) else None
            for hint, grad in grads.items()]


def sizes(rng):
    """Random small network and batch sizes: (N, n_x, n_h)."""
    return random_sizes(rng, (3, 13), (2, 6), (2, 7))


def describe(N, n_x, n_h):
    return f"N={N} samples, n_x={n_x} inputs and n_h={n_h} hidden units"


def shallow_problem(rng, N, n_x, n_h):
    """Inputs X (N, n_x), 0/1 targets Y (N, 1) with both classes, and random non-zero parameters."""
    X = rng.normal(size=(N, n_x))
    Y = np.zeros((N, 1))
    Y[rng.permutation(N)[: N // 2]] = 1.0
    params = {"W1": rng.normal(size=(n_x, n_h)), "b1": rng.normal(scale=0.5, size=n_h),
              "W2": rng.normal(size=(n_h, 1)), "b2": rng.normal(scale=0.5, size=1)}
    return X, Y, params


def shape_texts(n_x, n_h, n_y=1):
    """Expected shape of each parameter, as (shape, text)."""
    return {"W1": ((n_x, n_h), "(n_x, n_h)"), "b1": ((n_h,), "(n_h,), one entry per hidden unit"),
            "W2": ((n_h, n_y), "(n_h, n_y)"), "b2": ((n_y,), "(n_y,), one entry per output unit")}


def expect_arrays(values, n_x, n_h, what, N=None, n_y=1, like_params=False):
    """Check a dict of parameters or gradients: keys, shapes (with hints for biases), finite values.

    values: the student's dict; N: the batch size for gradients (None for parameters); what: its name in
    messages ("backward_propagation: grads"). Returns the arrays as NumPy arrays.
    """
    expect_dict(values, KEYS, what, KEY_HINT)
    checked = {}
    for key, (shape, text) in shape_texts(n_x, n_h, n_y).items():
        hint = bias_hint(np.shape(values[key]), N) if key.startswith("b") else ""
        checked[key] = expect_array(values[key], f"{what}[{key!r}]", shape,
                                    f"{text}, like params[{key!r}]" if like_params else text, shape_hint=hint)
    return checked
