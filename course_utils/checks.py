"""Self-checks for notebooks: each one passes silently or raises an AssertionError that says
what was checked, what was expected, what was found, and gives a hint.

    check_shape(W1, (3072, 100), "W1")
    check_close(my_loss, 2.3026, "loss of a random 10-class classifier", rtol=1e-3)

``diagnose`` names the usual mistakes when a value differs from the expected one (a factor N, 2 or 1/2,
a flipped sign, a transpose, a value equal to the input or to ``dout``, NaN or inf); ``check_close``
and the grader's hidden tests both use it, so they describe a mistake in the same words.
``check_unchanged`` catches a function that changes its input in place, ``check_changed_in_place`` one that puts a
new array where it had to change the given one, ``check_passed_on`` one that uses a notebook variable in place of its
argument, ``check_raises`` one that accepts an invalid argument, ``check_spread`` random draws of the wrong
standard deviation (naming uniform draws where normal ones were asked). ``stand_ins`` lets a test run one function with
known-good stand-ins for the others it calls.
"""

import contextlib
import inspect
import types

import numpy as np


def _fail(message, hint):
    raise AssertionError(f"{message}\nHint: {hint}")


def _a(word):
    """``word`` with its indefinite article: "a float", "an int"."""
    return f"{'an' if word[:1].lower() in 'aeiou' else 'a'} {word}"


def _describe(value):
    """What a value is, in a few words: "None", "a list of 3 items (...)", "a str ('0.5')"."""
    if value is None:
        return "None"
    if isinstance(value, np.ndarray):
        return f"a NumPy array of shape {value.shape} and dtype {value.dtype}"
    if isinstance(value, str):
        return f"a str ({value[:20]!r}{'...' if len(value) > 20 else ''})"
    if isinstance(value, dict):
        keys = ", ".join(repr(key) for key in list(value)[:4]) + (", ..." if len(value) > 4 else "")
        return f"a dict (keys {keys})" if value else "an empty dict"
    if isinstance(value, (list, tuple)):
        return f"{_a(type(value).__name__)} of {len(value)} item{'' if len(value) == 1 else 's'}" + (
            f" ({_list_in_words([_describe_briefly(item) for item in value[:4]])})" if value else "")
    return _a(type(value).__name__)


def _describe_briefly(value):
    if isinstance(value, np.ndarray):
        return f"a NumPy array of shape {value.shape}"
    return "None" if value is None else _a(type(value).__name__)


def _list_in_words(words):
    """'a, b and c' for up to three words, 'a, b, c, ...' for four (the first of more)."""
    if len(words) > 3:
        return ", ".join(words[:3]) + ", ..."
    return " and ".join(filter(None, [", ".join(words[:-1]), words[-1]]))


def _numeric(value):
    """``value`` as a NumPy array of real numbers or booleans, or None if it is not one."""
    try:
        array = value if isinstance(value, np.ndarray) else np.asarray(value)
    except (ValueError, TypeError, OverflowError):  # ragged nesting, or objects NumPy cannot convert
        return None
    return array if array.dtype.kind in "biuf" else None


_NUMBERS_HINTS = {
    type(None): "a function returns None when it reaches no return statement with a value: check that yours "
                "returns its result.",
    tuple: "a function that returns several values returns them as a tuple: unpack it (for example "
           "cost, grad = f(...)) and keep only the number you need.",
    str: "convert text with float(...), or use the number itself rather than a formatted string.",
    dict: "pass one of its values (for example params['W1']), not the whole dict.",
}


def _not_numeric(value, name):
    """The message and hint for a value that NumPy cannot turn into an array of real numbers."""
    if isinstance(value, list) or isinstance(value, np.ndarray) and value.ndim > 0:
        container = "list" if isinstance(value, list) else "array"
        items = list(value)
        bad = next((i for i, item in enumerate(items) if _numeric(item) is None), None)
        if bad is not None:
            return (f"{name} should hold real numbers, but item {bad} of the {container} is {_describe(items[bad])}.",
                    _NUMBERS_HINTS.get(type(items[bad]), "build it from numbers and NumPy arrays only."))
        shapes = [np.shape(item) for item in items]
        other = next((i for i, shape in enumerate(shapes) if shape != shapes[0]), None)
        if other is not None:
            return (f"{name} should be a regular array of numbers, but item 0 of the {container} "
                    f"{_shape_in_words(shapes[0])} and item {other} {_shape_in_words(shapes[other])}.",
                    "an array needs items of one shape: check how the list is built (for example that each "
                    "step appends one number).")
    return (f"{name} should hold real numbers, not {_describe(value)}.",
            _NUMBERS_HINTS.get(type(value), "use a NumPy array (or a number) of real numbers."))


def _shape_in_words(shape):
    return "is a single number" if shape == () else f"has shape {shape}"


def _as_numeric_array(value, name):
    array = _numeric(value)
    if array is None:
        _fail(*_not_numeric(value, name))
    return array


def _format_shape(shape):
    return "(" + ", ".join("any" if n is None else str(n) for n in shape) + ("," if len(shape) == 1 else "") + ")"


def check_shape(value, expected_shape, name):
    """Check that ``value`` is an array of shape ``expected_shape`` (None in it matches any size)."""
    expected_shape = tuple(expected_shape)
    if not hasattr(value, "shape"):
        _fail(f"{name} should be a NumPy array of shape {_format_shape(expected_shape)}, not {_describe(value)}.",
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
    _fail(f"{name}: shape {shape}, but {_format_shape(expected_shape)} was expected.", hint)


_DTYPE_KINDS = {"float": (np.floating, "a float dtype"), "floating": (np.floating, "a float dtype"),
                "int": (np.integer, "an integer dtype"), "integer": (np.integer, "an integer dtype"),
                "bool": (np.bool_, "dtype bool")}


def check_dtype(value, expected_kind_or_dtype, name):
    """Check the dtype of an array: a dtype (np.float32, "float64", ...) or "float", "integer" or "bool"."""
    if not hasattr(value, "dtype"):
        _fail(f"{name} should be a NumPy array, not {_describe(value)}.", "convert it with np.asarray(...).")
    if expected_kind_or_dtype in _DTYPE_KINDS:
        expected, wanted = _DTYPE_KINDS[expected_kind_or_dtype]
        matches = np.issubdtype(value.dtype, expected)
    else:
        expected = np.dtype(expected_kind_or_dtype)
        matches, wanted = value.dtype == expected, str(expected)
    if not matches:
        _fail(f"{name}: dtype {value.dtype}, but {wanted} was expected.",
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
    _fail(f"{name} should contain only finite numbers, but {n_nan} NaN and {n_inf} inf value(s) were found{where}.",
          "look for log(0), division by zero, or exp of a large number: subtract the row maximum before exp, "
          "and compute a log-probability with the log-sum-exp trick rather than as the log of a probability, which "
          "can round to 0.")


def check_passed_on(value, given, name):
    """Check that a function passed on the array ``given`` that it received, not another one (a notebook variable).

    name: what the student reads, e.g. "the X that nn_model passed to forward_propagation".
    """
    if not (isinstance(value, np.ndarray) and value.shape == np.shape(given) and np.array_equal(value, given)):
        _fail(f"{name} is not the one it was given, but {_describe(value)}.",
              "compute with the function's own arguments, not with notebook variables such as X_xor: the function "
              "must work for any data it is given.")


def check_raises(error, call, name):
    """Check that ``call()`` raises ``error`` (an exception class), as a function must for an invalid argument.

    name: the call as the student reads it, e.g. "initialize_parameters(2, 2, 1, 'uniform')".
    """
    try:
        call()
    except error:
        return
    except Exception as other:  # noqa: BLE001 -- any other exception is the finding
        _fail(f"{name} should raise {_a(error.__name__)}, but it raised {type(other).__name__}: {other}",
              f"raise {error.__name__}(...) for this argument, not {type(other).__name__}.")
    _fail(f"{name} should raise {_a(error.__name__)}, but it returned normally.",
          f"check the argument at the start of the function, and raise {error.__name__}(...) with a message "
          "that says what is wrong.")


def check_unchanged(value, before, name):
    """Check that an input a function was given still equals ``before``, its copy from before the call.

    name: what the student reads, e.g. "Z after softmax(Z)".
    """
    if not np.array_equal(np.asarray(value), np.asarray(before), equal_nan=True):
        _fail(f"{name}: it was changed in place, but the function must leave its inputs unchanged.",
              "compute into a new array (Z = Z - m, or a new name) instead of changing the input "
              "(Z -= m, Z[mask] = 0).")


def check_changed_in_place(value, original, name):
    """Check that ``value`` is the array ``original`` itself, which a function had to change in place.

    name: what the student reads, e.g. "params['W'] after sgd_update".
    """
    if value is not original:
        _fail(f"{name} is a new array, but the function must change the array it was given in place.",
              "write into the array itself (params[key] -= step) instead of putting a new array in its place "
              "(params[key] = params[key] - step).")


def _same(a, b):
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=1e-6, atol=1e-12))


def _scaled_by(found, dout):
    """``found * dout`` (float64), or ``found`` itself where dout does not broadcast to its shape."""
    dout = np.asarray(dout, dtype=np.float64)
    try:
        return found if np.broadcast_shapes(found.shape, dout.shape) != found.shape else found * dout
    except ValueError:
        return found


def _equal(a, b):
    """True if two numbers agree within a relative 1e-6 (the tolerance of every factor named here)."""
    return abs(a - b) <= 1e-6 * abs(b)


def ratio(found, expected):
    """The factor r with ``found == r * expected`` entry by entry (within 1e-6), or None if there is none.

    found, expected: numbers or float arrays of one shape; entries where expected is 0 must be 0 in found.
    Returns a float, never 0 (all-zero found values, all-zero or non-finite expected values give None).
    """
    found, expected = np.asarray(found, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    if found.shape != expected.shape or not (np.all(np.isfinite(found)) and np.all(np.isfinite(expected))) \
            or not np.any(expected):
        return None
    nonzero = np.abs(expected) > 1e-12 * np.max(np.abs(expected))
    with np.errstate(over="ignore", under="ignore"):
        factor = float(np.median(found[nonzero] / expected[nonzero]))
        return factor if factor and np.isfinite(factor) and _same(found, factor * expected) else None


def _sample_factors(n):
    """The factors N, 1/N and -N for n samples (n >= 2), each with how it reads to a student."""
    if n == 2:
        return [(2.0, "it is twice the expected value, a factor 2 = N: did you sum over the samples instead of "
                      "averaging, or forget to divide by N (or by 2)?"),
                (0.5, "it is half the expected value, a factor 1/2 = 1/N: did you divide by N twice (or average "
                      "twice), or miss a factor 2?"),
                (-2.0, "it is -2 times the expected value, a factor -2 = -N: check the sign and the 1/N")]
    return [(float(n), f"it is {n} times the expected value, a factor N = {n}: did you sum over the samples "
                       "instead of averaging, or forget to divide by N?"),
            (1.0 / n, f"it is 1/{n} of the expected value, a factor 1/N = 1/{n}: did you divide by N twice "
                      "(or average twice)?"),
            (-float(n), f"it is -{n} times the expected value, a factor -N = -{n}: check the sign and the 1/N")]


def _factor_text(factor, n):
    """How a usual found/expected factor (N, 1/N, -N for n samples; -1, 2, 1/2; a logarithm's base) reads to a student,
    or None."""
    named = _sample_factors(int(n)) if n is not None and n >= 2 else []
    named += [(-1.0, "it is the negative of the expected value: check the sign"),
              (2.0, "it is twice the expected value: a factor 2 too many (or a missing 1/2)"),
              (0.5, "it is half the expected value: a missing factor 2 (or an extra 1/2)"),
              (1 / np.log(10), "it is 1/ln(10) = 0.4343 times the expected value, as a base-10 logarithm gives: use "
                               "the natural logarithm, np.log, not np.log10"),
              (1 / np.log(2), "it is 1/ln(2) = 1.443 times the expected value, as a base-2 logarithm gives: use the "
                              "natural logarithm, np.log, not np.log2")]
    return next((text for value, text in named if _equal(factor, value)), None) or _other_count_text(factor, n)


def _whole(x):
    return x >= 1 and _equal(x, round(x))


def _other_count_text(factor, n):
    """The words for a factor N/k (k a whole number, neither a multiple nor a divisor of N): a division by another
    count than N, such as the number of samples of a notebook variable; None for any other factor."""
    if n is None or n < 2 or factor <= 0 or _whole(factor) or _whole(1 / factor) or not _whole(n / factor):
        return None
    return (f"it looks divided by another count than N = {int(n)}, the number of samples it was given: is N taken "
            "from a notebook variable (the notebook's data, say) instead of from the arguments?")


def _ratio_text(factor):
    """Any found/expected factor in words: "it is 4 times the expected value", "it is 1/3 of ...", "-0.37 times"."""
    size = abs(factor)
    if abs(size - 1) < 1e-3:
        if factor < 0:
            return f"it is about the negative of the expected value (found / expected = {factor:.7g}): check the sign"
        causes = ("look for float32 rounding or a slightly different constant (such as an epsilon)"
                  if abs(size - 1) < 1e-5 else  # float32 rounding stays well below this
                  "too much for rounding: look for a slightly different constant (such as an epsilon), or a value "
                  "from another step (an updated value where the old one is needed, say)")
        return (f"it is slightly {'larger' if size > 1 else 'smaller'} than the expected value (by a relative "
                f"{abs(size - 1):.2g}): {causes}")
    return f"it is {_times(size)} the expected value" if factor > 0 else \
        f"it is -{_times(size, sign=True)} the expected value: the sign is flipped too"


def _times(size, sign=False):
    """A positive factor in words: "4 times", "1/3 of" ("1/3 times" after a minus sign), "1.105 times"."""
    if size > 1 and _equal(size, round(size)):
        return f"{round(size)} times"
    if 1e-6 < size < 1 and _equal(1 / size, round(1 / size)):
        return f"1/{round(1 / size)} {'times' if sign else 'of'}"
    return f"{size:.4g} times"


def diagnose(found, expected, n=None, given=None, dout=None):
    """The likely mistake behind a wrong value, as a phrase, or None if no usual pattern fits.

    found, expected: numbers or arrays (the student's value, the right one); n: the number of samples N,
    if the value depends on it (a factor N, 1/N or -N is then named as such, also for N = 2); given: the
    function's input, and dout: the upstream gradient of a backward pass, to recognise a value returned
    unchanged (and, for given, a step taken the wrong way: the input changed by the opposite of the expected
    change; for dout, a local derivative not multiplied by it). For single numbers only usual factors are named: any two numbers have a ratio, and saying
    it would give the expected value away (``check_close`` states it, next to both values).
    """
    found, expected = np.asarray(found), np.asarray(expected)
    if found.dtype.kind not in "biuf" or expected.dtype.kind not in "biuf":
        return None
    with np.errstate(all="ignore"):
        return rounded_down(found, expected) or _diagnose(found.astype(np.float64), expected.astype(np.float64), n,
                                                          given, dout)


def rounded_down(found, expected):
    """The likely mistake when ``found`` holds integers that are the float ``expected`` rounded down: an integer
    division (``//``) where ``/`` was needed; None otherwise."""
    found, expected = np.asarray(found), np.asarray(expected)
    if found.dtype.kind in "iu" and expected.dtype.kind == "f" and found.shape == expected.shape \
            and np.all(np.isfinite(expected)) and np.array_equal(found, np.floor(expected)) \
            and not np.array_equal(found, expected):
        return (f"it is {'an int' if found.ndim == 0 else 'made of integers'}, the expected value rounded down to a "
                "whole number: did you divide with // (integer division) where / was needed?")
    return None


def _not_finite_text(found):
    causes = "look for log(0), a division by zero or exp of a large number"
    if found.size == 1:
        return f"it is {'NaN' if np.isnan(found).all() else float(found.reshape(()))}: {causes}"
    return f"it contains NaN or inf: {causes}"


def _diagnose(found, expected, n, given, dout):
    if not np.all(np.isfinite(found)):
        return _not_finite_text(found)
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
    if dout is not None and _same(_scaled_by(found, dout), expected):
        return "it is the local derivative alone: multiply it by dout, the gradient from above (the chain rule)"
    if given is not None and np.shape(given) == expected.shape:
        start = np.asarray(given, dtype=np.float64)
        step = None if _same(expected, start) else ratio(found - start, expected - start)  # found/expected change
        if step is not None and _equal(step, -1.0):
            return "it changed the input by the opposite of the expected change: check the sign of the step"
        if step is not None and step < 0:
            return f"it changed the input the opposite way, by {_times(-step)} the expected change: check the " \
                   "sign and the size of the step"
        if step is not None and abs(step - 1) > 1e-3:
            return f"the change it made to the input is {_times(step)} the expected change: check the size of " \
                   "the step (the learning rate, or a factor in it)"
    factor = ratio(found, expected)
    if factor is None:
        return None
    named = _factor_text(factor, n)
    if named or found.size == 1:
        return named
    return _ratio_text(factor)


def _sentence(text):
    """``text`` ending with a full stop, unless it ends with a question mark already."""
    return text if text.endswith("?") else text + "."


def _values_differ(n_off, size):
    return f"{n_off} of {size} values {'differs' if n_off == 1 else 'differ'}"


def check_close(actual, expected, name, rtol=1e-6, atol=1e-8, n=None, given=None, dout=None, known=None):
    """Check that ``actual`` matches ``expected`` within ``|actual - expected| <= atol + rtol * |expected|``.

    The message reports the largest deviation (where it is, and both values there), not the whole array,
    and the likely mistake when a usual pattern fits: one of ``known`` ({what to say: the value that mistake
    gives}, e.g. {"did you forget the bias b?": X @ W}), else ``diagnose``'s (with its n, given and dout); for
    single numbers it also states their ratio (found / expected).
    """
    actual = _as_numeric_array(actual, name)
    expected = np.asarray(expected)
    if np.ndim(actual) == 2 and actual.shape == expected.shape[::-1] and actual.shape[0] != actual.shape[1]:
        found = diagnose(actual, expected)
        if found:
            _fail(f"{name}: shape {actual.shape}, but {expected.shape} was expected: {found}.",
                  "a row-major result has one row per sample.")
    check_shape(actual, expected.shape, name)
    a, e = actual.astype(np.float64), expected.astype(np.float64)
    with np.errstate(invalid="ignore", over="ignore"):  # inf - inf, and differences beyond the float range
        close = np.isclose(a, e, rtol=rtol, atol=atol, equal_nan=True)
        deviation = np.where(close, 0.0, np.abs(a - e))
    if close.all():
        return
    tolerance = f"rtol={rtol:g}, atol={atol:g}"
    found = next((text for text, wrong in (known or {}).items()
                  if np.shape(wrong) == a.shape and _same(a, np.asarray(wrong, dtype=np.float64))), None) \
        or diagnose(a, e, n, given, dout)
    hint = "find the step of your computation that does this." if found else \
        "compare your formula with the definition step by step."
    if a.size == 1:
        plain = ratio(a, e)
        described = found or (_ratio_text(plain) if plain is not None else None)
        _fail(_sentence(f"{name}: found {float(a.reshape(-1)[0]):.8g}, expected {float(e.reshape(-1)[0]):.8g} "
                        f"({tolerance})" + (f": {described}" if described else "")), hint)
    deviation = np.where(np.isnan(deviation), np.inf, deviation)
    worst = np.unravel_index(int(np.argmax(deviation)), a.shape)
    _fail(_sentence(f"{name}: right shape, but {_values_differ(int((~close).sum()), close.size)}; the largest "
                    f"deviation is {float(deviation[worst]):.3g} at index {tuple(int(i) for i in worst)} (found "
                    f"{float(a[worst]):.8g}, expected {float(e[worst]):.8g}; {tolerance})"
                    + (f": {found}" if found else "")),
          hint if found else "no simple pattern (a constant factor, a sign, a transpose) fits, so " + hint)


UNIFORM_SPREAD = ("its standard deviation is about 1/sqrt(3) = 0.58 of the one asked, as a uniform distribution on "
                  "(-a, a) gives (its standard deviation is a / sqrt(3)): draw from a normal (Gaussian) distribution "
                  "with the standard deviation asked")


def uniform_spread(values, std):
    """``UNIFORM_SPREAD`` if the random ``values`` look drawn uniformly from (-std, std), where a normal distribution
    of standard deviation ``std`` was asked (all within std, their spread std / sqrt(3) within 5%); else None.

    values: an array of at least 100 random draws; std: the standard deviation asked (a positive number).
    """
    values = np.asarray(values, dtype=np.float64)
    if values.size < 100 or not np.all(np.isfinite(values)) or not std > 0:
        return None
    inside = np.max(np.abs(values)) <= std * (1 + 1e-6)
    return UNIFORM_SPREAD if inside and abs(values.std() * np.sqrt(3) / std - 1) < 0.05 else None


def check_spread(values, std, name, rtol=0.05):
    """Check that the standard deviation of random draws ``values`` (an array) is ``std`` within ``rtol``.

    name: what the student reads, e.g. "standard deviation of W1 for method='he', n_x=400". Names draws from a
    uniform distribution on (-std, std) (``uniform_spread``), whose spread is std / sqrt(3).
    """
    values = _as_numeric_array(values, name)
    found = float(values.std())
    check_close(found, std, name, rtol=rtol, known={UNIFORM_SPREAD: found} if uniform_spread(values, std) else None)


OVER_THE_BATCH = ("it normalises over the batch (axis 0): each column's probabilities sum to 1, but each row's should, "
                  "over the C classes of its sample")


def check_label_loss(loss, log_probs, y, name, known=None):
    """Check a cross-entropy ``loss`` (a number): the mean over the N samples of ``-log_probs[i, y[i]]``.

    log_probs: float array (N, C), each sample's log-probabilities; y: int array (N,), the labels. Names the
    classic ``log_probs[:, y]`` mistake, which takes every sample's log-probability of every label in y.
    known: optional {what went wrong: the loss it gives}, as for ``check_close`` (e.g. ``OVER_THE_BATCH``).
    """
    log_probs, y = np.asarray(log_probs, dtype=np.float64), np.asarray(y)
    count = len(y)
    expected = float(-log_probs[np.arange(count), y].mean())
    every_pair = float(-log_probs[:, y].mean())  # (N, N): every sample with every label
    found = _as_numeric_array(loss, name)
    value = float(found.reshape(())) if found.size == 1 else None
    if value is not None and not np.isclose(value, expected, rtol=1e-6) and any(
            np.isclose(value, factor * every_pair, rtol=1e-6) for factor in (1, count)):
        _fail(f"{name}: found {value:.8g}, expected {expected:.8g}: it takes the log-probability "
              "of every sample for every label in y.",
              "log_probs[:, y] has shape (N, N); take one entry per row, the one of the sample's own label, with "
              "log_probs[np.arange(N), y].")
    check_close(loss, expected, name, n=count, known=known)


def whole_label_columns(expected, y, name):
    """``check_close``'s ``known`` for a gradient of a mean cross-entropy, ``expected`` ((N, C): 1 subtracted at each
    sample's label y[i], then divided by N), as it comes out when ``name[:, y] -= 1`` subtracts 1 in whole columns."""
    expected, y = np.asarray(expected, dtype=np.float64), np.asarray(y)
    columns = np.zeros(expected.shape)
    columns[:, y] = 1.0
    columns[np.arange(len(y)), y] -= 1.0  # what the mistake subtracts beyond each sample's own label
    labels = sorted(set(y.tolist()))
    where = f"column{'s' if len(labels) > 1 else ''} {_list_in_words([str(label) for label in labels])}" \
        if len(labels) <= 3 else "the columns of all the labels in y"
    return {f"1 was subtracted in {where} of every row, because "
            f"{name}[:, y] -= 1 changes whole columns: subtract 1 only at each sample's own label, one entry per row "
            "(row i, column y[i])": expected - columns / len(y)}


TANH_WITH_Z1 = ("it uses 1 - Z1**2, with Z1 from before the activation: tanh's derivative is written with the hidden "
                "layer's activation A1 = tanh(Z1)")
TANH_TWICE = ("it uses 1 - tanh(A1)**2, which applies tanh a second time: A1 is tanh(Z1) already, and tanh's derivative "
              "is written with A1 itself")
WITH_A_PREV = ("it multiplies by A_prev, the activation of the layer below, where the derivative of that activation is "
               "needed: the dA_dZ stored with the layer below in the caches")


EVERY_LABEL_MARGINS = ("it compares each sample's scores with scores[:, y], the scores of every label in y ((N, N): it "
                       "fits the shape of scores only when N = C), not with the score of the sample's own label: take "
                       "one entry per row, that of the sample's label (row i, column y[i])")


def check_type(value, expected_type, name):
    """Check ``isinstance(value, expected_type)`` (a type or a tuple of types)."""
    if isinstance(value, expected_type):
        return
    types = expected_type if isinstance(expected_type, tuple) else (expected_type,)
    wanted = " or ".join(t.__name__ for t in types)
    if inspect.isgenerator(value) and list in types:
        _fail(f"{name} should be of type {wanted}, not {_describe(value)}.",
              "a function with yield returns a generator, which makes its values one at a time and only once: "
              "collect them in a list and return the list.")
    _fail(f"{name} should be of type {wanted}, not {_describe(value)}.",
          "check which value your function returns for this input" + (
              ": a function returns None when no return statement with a value is reached, so check the "
              "condition that should apply to this input." if value is None else "."))


def check_keys(mapping, expected_keys, name):
    """Check that a dict has exactly the keys ``expected_keys``."""
    if not hasattr(mapping, "keys"):
        _fail(f"{name} should be a dict, not {_describe(mapping)}.",
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
    _fail(f"{name} should have the keys {sorted(expected, key=str)}; found {sorted(found, key=str)}: "
          f"{' and '.join(problems)}.",
          "key names are case-sensitive and must match exactly (for example 'W1', 'b1').")


TABLE_ITEMS = 1000  # a dict or list of more items is data, not a table of functions: stand_ins leaves it alone


@contextlib.contextmanager
def stand_ins(namespace, /, **functions):
    """Inside the block, ``functions`` (name -> stand-in) take the place of the notebook's functions of those names
    (``namespace`` is the notebook's ``globals()``) wherever its functions find them: by their names and other global
    names (``act = relu``), in the tuples, dicts and lists they name (a tuple in those too; up to ``TABLE_ITEMS``
    items), as default arguments and in their closures (``forward = make_forward(relu)``). The stand-ins' own code
    still finds the functions they stand for (the names, dicts and lists it uses are left alone). Everything is put
    back afterwards.

    A test of one function replaces the other functions it calls by known-good stand-ins, so that a mistake
    elsewhere cannot make it fail, however the function reaches them (``LOSSES = {"mse": mse_loss}`` too).
    """
    own = {id(namespace[name]): stand_in for name, stand_in in functions.items()
           if _defined_in(namespace.get(name), namespace)}
    saved = {name: namespace[name] for name in functions if name in namespace}
    written_here = [func for func in functions.values() if _defined_in(func, namespace)]
    callers = [func for func in _notebook_functions(namespace)
               if not any(func.__code__ is stand_in.__code__ for stand_in in written_here)]
    changes = [(container, key, item, new) for container, key in _places(namespace, callers, written_here)
               if (new := _swapped(item := container[key], own)) is not item]
    defaults = [(func, func.__defaults__, new) for func in callers
                if (new := _swapped(func.__defaults__, own)) is not func.__defaults__]
    cells = [(cell, item, new) for func in callers for cell in func.__closure__ or ()
             if (item := _contents(cell)) is not (new := _swapped(item, own))]
    namespace.update(functions)
    for container, key, _, new in changes:
        container[key] = new
    for func, _, new in defaults:
        func.__defaults__ = new
    for cell, _, new in cells:
        cell.cell_contents = new
    try:
        yield
    finally:
        for cell, item, new in cells:
            if _contents(cell) is new:
                cell.cell_contents = item
        for func, old, _ in defaults:
            func.__defaults__ = old
        for container, key, item, new in reversed(changes):
            with contextlib.suppress(LookupError):
                if container[key] is new:
                    container[key] = item
        for name in functions:
            namespace.pop(name, None)
        namespace.update(saved)


def _defined_in(obj, namespace):
    """Whether ``obj`` is a function defined in the notebook whose ``globals()`` is ``namespace``."""
    return isinstance(obj, types.FunctionType) and obj.__globals__ is namespace


def _notebook_functions(namespace):
    """The functions defined in the notebook, its classes' methods included."""
    here = namespace.get("__name__")
    return [obj for value in list(namespace.values())
            for obj in (vars(value).values() if isinstance(value, type) and value.__module__ == here else (value,))
            if _defined_in(obj, namespace)]


def _places(namespace, functions, replacements):
    """(container, key) of each place where ``functions`` can find another function besides its own global name: the
    global names they use (but the stand-in functions ``replacements`` do not), the items of the dicts and lists
    those name (of at most ``TABLE_ITEMS`` items), and their keyword-only defaults."""
    skipped = {id(func.__code__) for func in replacements}
    names = sorted(name for name in _global_names(functions, skipped) - _global_names(replacements)
                   if name in namespace)
    containers = [value for name in names
                  if type(value := namespace[name]) in (dict, list) and len(value) <= TABLE_ITEMS]
    return [*((namespace, name) for name in names),
            *((value, key) for value in containers
              for key in (list(value) if type(value) is dict else range(len(value)))),
            *((func.__kwdefaults__, key) for func in functions for key in (func.__kwdefaults__ or ()))]


def _global_names(functions, skipped_codes=()):
    """The global names that the code of ``functions`` uses, the functions nested in them included (but not those of
    ``skipped_codes``, ids of code objects)."""
    codes, names = [func.__code__ for func in functions], set()
    while codes:
        code = codes.pop()
        names.update(code.co_names)
        codes.extend(const for const in code.co_consts
                     if isinstance(const, types.CodeType) and id(const) not in skipped_codes)
    return names


def _contents(cell):
    """What a closure's cell holds (None while it is still empty)."""
    try:
        return cell.cell_contents
    except ValueError:
        return None


def _swapped(item, own):
    """``item`` with the functions of ``own`` (id -> stand-in) replaced: the stand-in of one, or a tuple holding some,
    in tuples of its own too (``item`` itself if it holds none)."""
    if id(item) in own:
        return own[id(item)]
    if type(item) is tuple and len(item) <= TABLE_ITEMS:
        parts = tuple(_swapped(part, own) for part in item)
        if any(new is not old for new, old in zip(parts, item)):
            return parts
    return item


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
