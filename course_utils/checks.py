"""Self-checks for notebooks: each one passes silently or raises an AssertionError that says
what was checked, what was expected, what was found, and gives a hint.

    check_shape(W1, (3072, 100), "W1")
    check_close(my_loss, 2.3026, "loss of a random 10-class classifier", rtol=1e-3)

``diagnose`` names the usual mistakes when a value differs from the expected one (a factor N, 2 or 1/2,
a flipped sign, a transpose, a value equal to the input or to ``dout``, NaN or inf); ``check_close``
and the grader's hidden tests both use it, so they describe a mistake in the same words.
``stand_ins`` lets a test run one function with known-good stand-ins for the others it calls.
"""

import contextlib

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


def _same(a, b):
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=1e-6, atol=1e-12))


def ratio(found, expected):
    """The factor r with ``found == r * expected`` entry by entry (within 1e-6), or None if there is none.

    found, expected: numbers or float arrays of one shape; entries where expected is 0 must be 0 in found.
    """
    found, expected = np.asarray(found, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    if found.shape != expected.shape or not np.all(np.isfinite(found)) or not np.any(expected):
        return None
    nonzero = np.abs(expected) > 1e-12 * np.max(np.abs(expected))
    factor = float(np.median(found[nonzero] / expected[nonzero]))
    return factor if factor and _same(found, factor * expected) else None


def _factor_text(factor, n):
    """How a found/expected factor reads to a student, e.g. 'N times too large (N = 5)', or None."""
    named = [(-1.0, "the negative of the expected value: check the sign"),
             (2.0, "twice the expected value: a factor 2 too many (or a missing 1/2)"),
             (0.5, "half the expected value: a missing factor 2 (or an extra 1/2)")]
    if n and n > 2:
        named += [(float(n), f"N times too large (N = {n} samples): a missing 1/N, average over the samples"),
                  (1.0 / n, f"N times too small (N = {n} samples): you divided by N twice (or averaged twice)"),
                  (-float(n), f"-N times the expected value (N = {n}): check the sign and the 1/N")]
    return next((text for value, text in named if abs(factor / value - 1) < 1e-6), None)


def diagnose(found, expected, n=None, given=None, dout=None):
    """The likely mistake behind a wrong value, as a phrase, or None if no usual pattern fits.

    found, expected: numbers or arrays (the student's value, the right one); n: the number of samples N,
    if the value depends on it (a factor N is then named as such); given: the function's input, and
    dout: the upstream gradient of a backward pass, to recognise a value returned unchanged.
    """
    found, expected = np.asarray(found), np.asarray(expected)
    if found.dtype.kind not in "biuf" or expected.dtype.kind not in "biuf":
        return None
    with np.errstate(all="ignore"):
        return _diagnose(found.astype(np.float64), expected.astype(np.float64), n, given, dout)


def _diagnose(found, expected, n, given, dout):
    if not np.all(np.isfinite(found)):
        return "it contains NaN or inf: look for log(0), a division by zero or exp of a large number"
    if found.ndim == 2 and found.shape == expected.shape[::-1] and found.shape[0] != found.shape[1] \
            and _same(found.T, expected):
        return "it is the transpose of the expected result: check the order of a matrix product (or a .T)"
    for other, text in ((dout, "it equals dout: the local derivative (the factor of this layer) is missing"),
                        (given, "it equals the input: the function returns its input unchanged")):
        if other is not None and not _same(expected, np.asarray(other, dtype=np.float64)) \
                and _same(found, np.asarray(other, dtype=np.float64)):
            return text
    if found.shape != expected.shape:
        return None
    factor = ratio(found, expected)
    if factor is None:
        return None
    named = _factor_text(factor, n)
    if named or found.size == 1:  # two single numbers always have a ratio: only a usual one means something
        return named
    inverse = round(1 / factor) if 1e-6 < abs(factor) < 1 else 0
    exact = f" = 1/{inverse}" if inverse and abs(1 / factor / inverse - 1) < 1e-6 else ""
    return f"it is the expected value times {factor:.4g} (found / expected = {factor:.4g}{exact})"


def check_close(actual, expected, name, rtol=1e-6, atol=1e-8, n=None, given=None, dout=None):
    """Check that ``actual`` matches ``expected`` within ``|actual - expected| <= atol + rtol * |expected|``.

    The message reports the largest deviation (where it is, and both values there), not the whole array,
    and the likely mistake (``diagnose``, with its n, given and dout) when a usual pattern fits.
    """
    actual = _as_numeric_array(actual, name)
    expected = np.asarray(expected)
    if np.ndim(actual) == 2 and actual.shape == expected.shape[::-1] and actual.shape[0] != actual.shape[1]:
        found = diagnose(actual, expected)
        if found:
            _fail(f"{name} has shape {actual.shape}, but shape {expected.shape} was expected: {found}.",
                  "a row-major result has one row per sample.")
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
    found = diagnose(a, e, n, given, dout)
    _fail(f"{name} has the right shape but not the expected values: {n_off} of {close.size} value(s) "
          f"differ; the largest deviation is {float(deviation[worst]):.3g}{where} "
          f"(found {float(a[worst]):.8g}, expected {float(e[worst]):.8g}; rtol={rtol:g}, atol={atol:g})"
          + (f": {found}." if found else "."),
          "find the step of your computation that does this." if found else
          "no simple pattern (a constant factor, a sign, a transpose) fits, so compare your formula with "
          "the definition step by step.")


def check_type(value, expected_type, name):
    """Check ``isinstance(value, expected_type)`` (a type or a tuple of types)."""
    if isinstance(value, expected_type):
        return
    types = expected_type if isinstance(expected_type, tuple) else (expected_type,)
    wanted = " or ".join(t.__name__ for t in types)
    _fail(f"{name} should be of type {wanted}, but it is {_describe(value)}.",
          "check which value your function returns for this input" + (
              ": a function returns None when no return statement with a value is reached, so check the "
              "condition that should apply to this input." if value is None else "."))


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


@contextlib.contextmanager
def stand_ins(namespace, **functions):
    """Inside the block, the names of ``namespace`` (a notebook's ``globals()``) refer to ``functions``.

    A test of one function replaces the other functions it calls by known-good stand-ins, so that a
    mistake elsewhere cannot make it fail. The notebook's own definitions are put back afterwards.
    """
    saved = {name: namespace[name] for name in functions if name in namespace}
    namespace.update(functions)
    try:
        yield
    finally:
        for name in functions:
            namespace.pop(name, None)
        namespace.update(saved)


def known_values(name, pairs):
    """A stand-in function that knows its results for some inputs: ``pairs`` is a list of (input, result).

    Called with an array equal to one of the inputs it returns a copy of that result; with anything else it
    raises an AssertionError saying that the test only prepared those inputs.
    """
    def stand_in(value):
        for given, result in pairs:
            if np.shape(value) == np.shape(given) and np.array_equal(value, given):
                return np.array(result, dtype=np.float64, copy=True)
        raise AssertionError(f"this test's stand-in for {name} only knows the inputs the test prepared; "
                             f"your code called {name} with other values ({_describe(np.asarray(value))}).")
    stand_in.__name__ = name
    return stand_in
