"""Numerical gradients by centred differences, to check hand-written backward passes.

Use float64 inputs: in float32 the rounding error of f (about 1e-7 relative) divided by the step
``2h`` swamps the gradient, and relative errors of 1e-2 are normal even for a correct gradient.
In float64, a relative error below ``GRADIENT_TOLERANCE`` (1e-5) means the gradient is right: the
notebooks' tests, ``check_gradient`` and the grader all use this one constant. Around 1e-4 deserves a
second look (unless f has kinks, like ReLU), and above 1e-2 it is wrong.
"""

import numpy as np

from .checks import diagnose

# Largest relative error (see ``gradient_error``) of a right float64 gradient against centred differences
# with h=1e-5: above their own error (h**2 times the third derivative, up to about 3e-6 seen on random tanh
# networks), far below any real mistake (a missing factor, a transpose, a wrong sum: 1e-2 and more).
GRADIENT_TOLERANCE = 1e-5
ABSOLUTE_FLOOR = 1e-7  # differences this small count as agreement (centred differences near 0 and rounding)

_GRADIENT_HINT = (
    "Hint: check the backward pass that produced this gradient. Common causes: a missing factor "
    "(for example the 1/N of a mean over the batch), a transposed matrix, a sum over the wrong axis, "
    "or a cache from a different forward pass than the one f computes."
)


def _check_input_array(x, h):
    if not isinstance(x, np.ndarray):
        raise TypeError(
            f"x must be a NumPy array (it is changed in place and restored), got {type(x).__name__}."
        )
    if not np.issubdtype(x.dtype, np.floating):
        raise TypeError(
            f"x has dtype {x.dtype}; numerical gradients need a floating-point array. "
            "Use x.astype(np.float64)."
        )
    if not h > 0:
        raise ValueError(f"The step h must be > 0, got {h!r}.")


def _centred_differences(x, h, evaluate, difference):
    """grad[i] = difference(evaluate(x + h e_i), evaluate(x - h e_i)) / 2h for every index i of x."""
    grad = np.zeros(x.shape, dtype=np.float64)
    for index in np.ndindex(x.shape):
        original = x[index]
        try:
            x[index] = original + h
            plus = evaluate(x)
            x[index] = original - h
            minus = evaluate(x)
        finally:
            x[index] = original
        grad[index] = difference(plus, minus) / (2.0 * h)
    return grad


def numerical_gradient(f, x, h=1e-5):
    """Gradient of a scalar function by centred differences: (f(x + h) - f(x - h)) / 2h per entry.

    Args:
        f: function taking the array ``x`` and returning a scalar.
        x: floating-point array of any shape (float64 recommended). It is changed in place during
            the evaluation and restored exactly afterwards, even if f raises.
        h: step size.

    Returns:
        float64 array of the same shape as x: the derivative of f with respect to each entry.
    """
    _check_input_array(x, h)

    def evaluate(point):
        value = np.asarray(f(point))
        if value.size != 1:
            raise TypeError(
                f"numerical_gradient needs f to return a scalar, but it returned shape {value.shape}; "
                "for array-valued functions use numerical_gradient_array."
            )
        return float(value.reshape(()))

    return _centred_differences(x, h, evaluate, lambda plus, minus: plus - minus)


def numerical_gradient_array(f, x, dout, h=1e-5):
    """Gradient of ``sum(f(x) * dout)`` with respect to x, for an array-valued f.

    This is what a backward function computes: given the upstream gradient ``dout`` of the loss
    with respect to the output f(x), the gradient of the loss with respect to x.

    Args:
        f: function taking the array ``x`` and returning an array of the shape of ``dout``.
        x: floating-point array of any shape (float64 recommended); changed in place during the
            evaluation and restored exactly afterwards.
        dout: array of the shape of f(x): the upstream gradient.
        h: step size.

    Returns:
        float64 array of the same shape as x.
    """
    _check_input_array(x, h)
    dout = np.asarray(dout, dtype=np.float64)

    def evaluate(point):
        out = np.array(f(point), dtype=np.float64)
        if out.shape != dout.shape:
            raise ValueError(f"f(x) has shape {out.shape} but dout has shape {dout.shape}; they must match.")
        return out

    return _centred_differences(x, h, evaluate, lambda plus, minus: float(np.sum((plus - minus) * dout)))


def _elementwise_rel_error(a, b):
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"Cannot compare arrays of different shapes: {a.shape} and {b.shape}.")
    with np.errstate(invalid="ignore", over="ignore"):
        return np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))


def rel_error(a, b):
    """Largest relative error between two arrays: ``max(|a - b| / max(1e-8, |a| + |b|))``.

    Args:
        a, b: arrays (or numbers) of the same shape.

    Returns:
        float: 0.0 for identical arrays (and for empty ones), NaN if either contains NaN.
    """
    errors = _elementwise_rel_error(a, b)
    return float(np.max(errors)) if errors.size else 0.0


def gradient_error(analytic, numerical):
    """Largest relative error of an analytic gradient against a numerical one, ignoring differences below
    ``ABSOLUTE_FLOOR`` (a true zero comes out of centred differences as about 1e-11, not 0): the pass criterion
    of ``check_gradient``, the notebooks and the hidden checks.

    analytic, numerical: real arrays of one shape (compared in float64). Returns a float; compare it with
    GRADIENT_TOLERANCE. ``rel_error`` gives the relative error itself, small differences included.
    """
    errors = _errors_above_floor(analytic, numerical)
    return float(np.max(errors)) if errors.size else 0.0


def _errors_above_floor(analytic, numerical):
    """The elementwise relative errors (float64, of the arrays' shape), 0 where ``|analytic - numerical|`` is at
    most ABSOLUTE_FLOOR."""
    errors = _elementwise_rel_error(analytic, numerical)
    with np.errstate(invalid="ignore"):
        small = np.abs(np.asarray(analytic, dtype=np.float64) - np.asarray(numerical, dtype=np.float64)) \
            <= ABSOLUTE_FLOOR
    return np.where(small, 0.0, errors)


def _worst_index(errors):
    """Index of the largest relative error, NaN counting as the largest."""
    nan = np.isnan(errors)
    flat = int(np.argmax(nan)) if nan.any() else int(np.argmax(errors))
    return np.unravel_index(flat, errors.shape)


def _assert_gradients_match(name, x, analytic_grad, numerical_grad, h, tol):
    """``rel_error`` of the two gradients if ``gradient_error`` is at most ``tol``; else an AssertionError."""
    errors = _errors_above_floor(analytic_grad, numerical_grad)
    error = float(np.max(errors)) if errors.size else 0.0
    if error <= tol:
        return rel_error(analytic_grad, numerical_grad)
    index = _worst_index(errors)
    entry = f"{name}[{', '.join(str(int(i)) for i in index)}]" if index else name
    precision_note = (
        f" Note: x has dtype {x.dtype}; gradient checks are only precise in float64, "
        "so convert x with x.astype(np.float64)." if x.dtype != np.float64 else ""
    )
    found = diagnose(analytic_grad, numerical_grad)
    raise AssertionError(
        f"Gradient check failed for {name}: relative error {error:.3g} is above the tolerance {tol:g}"
        + (f": {found}" if found else "")
        + ".\n"
        f"Worst entry {entry}: analytic gradient {float(np.asarray(analytic_grad)[index]):.8g}, "
        f"numerical gradient {float(numerical_grad[index]):.8g} (relative error {float(errors[index]):.3g}, "
        f"step h={h:g}).\n{'' if found else _GRADIENT_HINT}{precision_note}"
    )


def _check_gradient_shape(name, x, analytic_grad):
    analytic_grad = np.asarray(analytic_grad)
    if analytic_grad.shape != np.shape(x):
        raise ValueError(
            f"The gradient for {name} has shape {analytic_grad.shape}, but {name} has shape {np.shape(x)}: "
            "a gradient always has the shape of the array it is taken with respect to."
        )
    return analytic_grad


def check_gradient(f, x, analytic_grad, *, name="x", h=1e-5, tol=GRADIENT_TOLERANCE):
    """Compare an analytic gradient of a scalar function with its numerical gradient.

    Args:
        f: function taking ``x`` and returning a scalar.
        x: floating-point NumPy array of any shape (use float64), restored after the check.
        analytic_grad: your gradient of f with respect to x: an array of x's shape (any real dtype; compared in
            float64).
        name: what x is called, used in the message (for example "W1").
        h: step of the centred differences.
        tol: largest acceptable ``gradient_error``; GRADIENT_TOLERANCE unless you have a reason.

    Returns:
        float: the relative error ``rel_error(analytic_grad, numerical gradient)``, about 1e-9 or smaller for a
        right float64 gradient. The check passes when ``gradient_error`` is at most ``tol``: differences below
        ABSOLUTE_FLOOR count as agreement, so a gradient that is almost 0 everywhere passes even though its
        relative error can then be larger than ``tol``.

    Raises:
        AssertionError naming the worst entry, both gradient values there and the relative error.
        ValueError if analytic_grad and x have different shapes.
    """
    analytic_grad = _check_gradient_shape(name, x, analytic_grad)
    numerical_grad = numerical_gradient(f, x, h=h)
    return _assert_gradients_match(name, x, analytic_grad, numerical_grad, h, tol)


def check_gradient_array(f, x, dout, analytic_grad, *, name="x", h=1e-5, tol=GRADIENT_TOLERANCE):
    """Like ``check_gradient`` for an array-valued f: checks the gradient of ``sum(f(x) * dout)``.

    Args:
        f: function taking ``x`` and returning an array of the shape of ``dout``.
        x: floating-point NumPy array of any shape (use float64), restored after the check.
        dout: upstream gradient, a real array of the shape of f(x).
        analytic_grad: your gradient with respect to x (what your backward function returns
            for ``dout``), an array of x's shape.
        name, h, tol: as in ``check_gradient``.

    Returns:
        float: the relative error ``rel_error(analytic_grad, numerical gradient)`` when the check passes (as in
        ``check_gradient``); raises AssertionError otherwise.
    """
    analytic_grad = _check_gradient_shape(name, x, analytic_grad)
    numerical_grad = numerical_gradient_array(f, x, dout, h=h)
    return _assert_gradients_match(name, x, analytic_grad, numerical_grad, h, tol)
