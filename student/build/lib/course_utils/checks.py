"""Self-checks for notebooks: each one passes silently or raises an AssertionError that says
what was checked, what was expected, what was found, and gives a hint.

    check_shape(W1, (3072, 100), "W1")
    check_close(my_loss, 2.3026, "loss of a random 10-class classifier", rtol=1e-3)
"""

import numpy as np


def _fail(message, hint):
    raise AssertionError(f"{message}\nHint: {hint}")


def _describe(value):
    if value is None:
        return "None"
    if isinstance(value, np.ndarray):
        return f"a NumPy array of shape {value.shape} and dtype {value.dtype}"
    return f"a {type(value).__name__}"


def _as_numeric_array(value, name):
    array = np.asarray(value) if not isinstance(value, np.ndarray) else value
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_):
        _fail(f"{name} should hold numbers, but it is {_describe(value)}.",
              "return a NumPy array (or a number), not None or a list of other objects.")
    return array


def _format_shape(shape):
    return "(" + ", ".join("any" if n is None else str(n) for n in shape) + ("," if len(shape) == 1 else "") + ")"


def check_shape(value, expected_shape, name):
    """Check that ``value`` is an array of shape ``expected_shape`` (None in it matches any size)."""
    expected_shape = tuple(expected_shape)
    if not hasattr(value, "shape"):
        _fail(f"{name} should be a NumPy array of shape {_format_shape(expected_shape)}, "
              f"but it is {_describe(value)}.",
              "convert it with np.asarray(...), or check that your function returns the array.")
    shape = tuple(value.shape)
    matches = len(shape) == len(expected_shape) and all(
        want is None or want == got for want, got in zip(expected_shape, shape))
    if matches:
        return
    if len(shape) != len(expected_shape):
        hint = ("the number of dimensions differs: an (N,) vector and an (N, 1) column are different; "
                "use .reshape(...), .ravel() or keepdims=True in sums and means.")
    elif None not in expected_shape and sorted(shape) == sorted(expected_shape):
        hint = "the dimensions look swapped: is a matrix transposed (or multiplied in the wrong order)?"
    else:
        hint = "follow the shapes through your computation: X is (N, D), W is (D_in, D_out), b is (D_out,)."
    _fail(f"{name} has shape {shape}, but shape {_format_shape(expected_shape)} was expected.", hint)


def check_dtype(value, expected_kind_or_dtype, name):
    """Check the dtype of an array: a dtype (np.float32, "float64", ...) or "float", "integer" or "bool"."""
    kinds = {"float": np.floating, "floating": np.floating, "int": np.integer, "integer": np.integer,
             "bool": np.bool_}
    if not hasattr(value, "dtype"):
        _fail(f"{name} should be a NumPy array, but it is {_describe(value)}.",
              "convert it with np.asarray(...).")
    if expected_kind_or_dtype in kinds:
        expected = kinds[expected_kind_or_dtype]
        matches = np.issubdtype(value.dtype, expected)
        wanted = f"a {expected_kind_or_dtype} dtype"
    else:
        expected = np.dtype(expected_kind_or_dtype)
        matches = value.dtype == expected
        wanted = f"dtype {expected}"
    if not matches:
        _fail(f"{name} has dtype {value.dtype}, but {wanted} was expected.",
              "convert with .astype(...); integer results often come from integer inputs "
              "(np.array([1, 2]) is int64), float64 from mixing in float64 arrays.")


def check_finite(value, name):
    """Check that an array or number contains no NaN and no inf."""
    array = _as_numeric_array(value, name)
    finite = np.isfinite(array)
    if finite.all():
        return
    n_nan, n_inf = int(np.isnan(array).sum()), int(np.isinf(array).sum())
    first = np.unravel_index(int(np.argmin(finite)), array.shape) if array.ndim else ()
    where = f" (the first at index {tuple(int(i) for i in first)})" if array.ndim else ""
    _fail(f"{name} should contain only finite numbers, but it contains {n_nan} NaN and {n_inf} inf "
          f"value(s){where}.",
          "look for log(0), division by zero, or exp of a large number; subtract the maximum before "
          "exp in softmax, and clip probabilities before log.")


def check_close(actual, expected, name, rtol=1e-6, atol=1e-8):
    """Check that ``actual`` matches ``expected`` within ``|actual - expected| <= atol + rtol * |expected|``.

    The message reports the largest deviation (where it is, and both values there), not the whole array.
    """
    actual = _as_numeric_array(actual, name)
    expected = np.asarray(expected)
    check_shape(actual, expected.shape, name)
    a, e = actual.astype(np.float64), expected.astype(np.float64)
    close = np.isclose(a, e, rtol=rtol, atol=atol, equal_nan=True)
    if close.all():
        return
    with np.errstate(invalid="ignore", over="ignore"):
        deviation = np.where(close, 0.0, np.abs(a - e))
    deviation = np.where(np.isnan(deviation), np.inf, deviation)
    worst = np.unravel_index(int(np.argmax(deviation)), a.shape) if a.ndim else ()
    where = f" at index {tuple(int(i) for i in worst)}" if a.ndim else ""
    n_off = int((~close).sum())
    _fail(f"{name} has the right shape but not the expected values: {n_off} of {close.size} value(s) "
          f"differ; the largest deviation is {float(deviation[worst]):.3g}{where} "
          f"(found {float(a[worst]):.8g}, expected {float(e[worst]):.8g}; rtol={rtol:g}, atol={atol:g}).",
          "compare your formula with the definition step by step; check the averaging (1/N), "
          "signs, and which axis you sum over.")


def check_type(value, expected_type, name):
    """Check ``isinstance(value, expected_type)`` (a type or a tuple of types)."""
    if isinstance(value, expected_type):
        return
    types = expected_type if isinstance(expected_type, tuple) else (expected_type,)
    wanted = " or ".join(t.__name__ for t in types)
    _fail(f"{name} should be of type {wanted}, but it is {_describe(value)}.",
          "check what your function returns (a missing return statement gives None).")


def check_keys(mapping, expected_keys, name):
    """Check that a dict has exactly the keys ``expected_keys``."""
    if not hasattr(mapping, "keys"):
        _fail(f"{name} should be a dict, but it is {_describe(mapping)}.",
              "build it with {'W1': ..., 'b1': ...}.")
    expected, found = set(expected_keys), set(mapping.keys())
    missing, extra = sorted(expected - found, key=str), sorted(found - expected, key=str)
    if not missing and not extra:
        return
    problems = []
    if missing:
        problems.append(f"missing {missing}")
    if extra:
        problems.append(f"unexpected {extra}")
    _fail(f"{name} should have the keys {sorted(expected, key=str)}, but has {sorted(found, key=str)}: "
          f"{' and '.join(problems)}.",
          "key names are case-sensitive and must match exactly (for example 'W1', 'b1').")
