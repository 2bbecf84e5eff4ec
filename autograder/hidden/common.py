"""Building blocks for hidden tests: run a student's function safely and explain what is wrong.

Every check raises ``AssertionError`` with a complete sentence for the student's feedback. Messages
name the function, the value and the likely mistake; they never contain expected values or test code.
A "diagnosis" is a function ``(actual, expected) -> hint or None`` that recognises a typical mistake
from the student's value and the reference value (see ``times`` and ``SIGN_FLIPPED``).
"""
import contextlib
import copy
import inspect
import io
import warnings

import numpy as np

from course_utils.checks import diagnose, rounded_down, whole_label_columns
from course_utils.gradcheck import (GRADIENT_TOLERANCE, gradient_error, numerical_gradient,
                                   numerical_gradient_array)

from ..judge import student
from ..judge.student import KernelUnavailable, type_name
from ..judge.student import secret_rng, secret_seed  # noqa: F401 -- Lab 6's checks and tests still take them from here

MAX_ERROR_TEXT = 300
MEAN_HINT = "sum over the samples and divide by N"  # for a cost that came back per sample
KEY_HINT = "Use the keys 'W1', 'b1', 'W2', 'b2' (the same keys for the gradients as for the parameters)."


def _close(actual, expected, rtol=1e-6, atol=1e-9):
    """True if two numeric arrays of the same shape agree within tolerance."""
    return actual.shape == expected.shape and np.allclose(actual, expected, rtol=rtol, atol=atol)


def sentence(text):
    """``text`` ending with a full stop (unless it already ends with . ? or !)."""
    return text if text.endswith((".", "?", "!")) else text + "."


def times(factor, hint):
    """Diagnosis: the student's value is the expected value times ``factor`` (e.g. N: a missing mean)."""
    return lambda actual, expected: hint if _close(actual, expected * factor) else None


SIGN_FLIPPED = times(-1, "it is the negative of the right value: check the sign")


def over_entries(outputs):
    """Diagnosis: a mean over the N samples taken over all N * ``outputs`` entries (np.mean, or .size), 1/outputs of
    the right value."""
    return times(1 / outputs, "it is divided by the number of entries instead of by N, the number of samples (rows): "
                 "np.mean and .size count the outputs of every sample too")


def label_columns(y, name):
    """Diagnosis of the gradient of a mean cross-entropy: 1 subtracted in the whole columns of the labels ``y``
    (``name[:, y] -= 1``), worded as ``course_utils.checks.whole_label_columns`` words it."""
    return lambda actual, expected: next((hint for hint, wrong in whole_label_columns(expected, y, name).items()
                                          if _close(actual, wrong)), None)


def went_uphill(uphill):
    """Diagnosis: the student's value is ``uphill``, the parameter plus the step (a gradient added, not
    subtracted)."""
    uphill = np.asarray(uphill, dtype=np.float64)
    return lambda actual, expected: "you added the gradient: gradient descent subtracts it" \
        if _close(actual, uphill) else None


@contextlib.contextmanager
def tested_with(description):
    """Append ``(Tested with <description>.)`` to the message of any failed check inside the block."""
    try:
        yield
    except AssertionError as failure:
        raise AssertionError(f"{failure} (Tested with {description}.)") from None


def _argument_names(func, args, kwargs):
    """Names of the arguments as the function calls them (positions if the signature does not bind)."""
    try:
        return dict(inspect.signature(func).bind(*args, **kwargs).arguments)
    except (TypeError, ValueError):
        return {**{f"argument {i + 1}": arg for i, arg in enumerate(args)}, **kwargs}


def _first_difference(before, after, path):
    """Path of the first place where ``after`` differs from ``before``, or None if they are equal."""
    if isinstance(before, dict):
        if not isinstance(after, dict) or before.keys() != after.keys():
            return path
        return next((diff for key in before
                     if (diff := _first_difference(before[key], after[key], f"{path}[{key!r}]"))), None)
    if isinstance(before, (list, tuple)):
        if not isinstance(after, type(before)) or len(before) != len(after):
            return path
        return next((diff for i, (b, a) in enumerate(zip(before, after))
                     if (diff := _first_difference(b, a, f"{path}[{i}]"))), None)
    if isinstance(before, np.ndarray):
        same = isinstance(after, np.ndarray) and before.shape == after.shape and before.dtype == after.dtype \
            and np.array_equal(before, after, equal_nan=True)
        return None if same else path
    if isinstance(before, (int, float, complex, np.number)):
        same = type(after) is type(before) and (before == after or (before != before and after != after))
        return None if same else path  # NaN equals NaN here: an unchanged NaN argument is unchanged
    if isinstance(before, (str, np.generic)) or before is None:
        return None if before == after else path
    return None


@contextlib.contextmanager
def _student_code(name, suffix="", then=""):
    """Run the student's code of the block quietly: warnings silenced and floating-point errors ignored (they never
    cost points). An exception becomes an AssertionError "<name> raised <Type>: <its message><suffix>. <then>"."""
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            yield
    except KernelUnavailable:
        raise
    except NotImplementedError:
        raise AssertionError(f"{name} is not implemented yet: it still raises NotImplementedError. "
                             "Replace that line with your code.") from None
    except Exception as error:  # any failure of student code is reported, not propagated
        text = str(error)
        text = text if len(text) <= MAX_ERROR_TEXT else text[:MAX_ERROR_TEXT] + "..."
        raise AssertionError(sentence(f"{name} raised {type(error).__name__}: {text}{suffix}")
                             + (f" {then}" if then else "")) from None


def call(func, *args, context="", may_modify=False, **kwargs):
    """Run a student's function on deep copies of the arguments and return its result.

    Warnings are silenced and floating-point errors ignored (they never cost points). An exception becomes
    an AssertionError "<name> raised <Type>: <its message> <context>."; ``context`` is a phrase such as
    "for method='he'". Unless ``may_modify``, an argument changed in place is a failure too.
    """
    name = getattr(func, "__name__", "your function")
    given_args, given_kwargs = copy.deepcopy(args), copy.deepcopy(kwargs)
    suffix = f" {context}" if context else ""
    with _student_code(name, suffix):
        result = func(*given_args, **given_kwargs)
    if not may_modify:
        originals = _argument_names(func, args, kwargs)
        for arg_name, given in _argument_names(func, given_args, given_kwargs).items():
            changed = _first_difference(originals[arg_name], given, arg_name)
            if changed:
                raise AssertionError(
                    f"{name} changed its input {changed} in place{suffix}. It must leave its inputs unchanged "
                    "and return new values: write for example `new = old - step` instead of `old -= step`.")
    return result


def _outcome(func, args, kwargs):
    """How ``func(*args, **kwargs)`` ends: ("result", its value) or ("error", the message of its ValueError), run
    quietly on copies; None for any other ending (another error, say NameError, ends the same way whatever the
    input)."""
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            return "result", call(func, *args, may_modify=True, **kwargs)
    except AssertionError as error:
        return ("error", str(error)) if " raised ValueError: " in str(error) else None


def _holds_numbers(value):
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, (list, tuple)):
        return any(_holds_numbers(item) for item in value)
    return isinstance(value, (np.ndarray, int, float, np.number)) and not isinstance(value, bool)


@contextlib.contextmanager
def uses_its_inputs(func, args, other_args, inputs, **kwargs):
    """Inside the block, a failed check of ``func(*args, **kwargs)`` is looked at once more: if ``func(*other_args,
    **kwargs)``, with other values for the arguments ``inputs`` ("X and Y"), ends the same way (the same numbers, or
    the same ValueError), the function ignores them (it reads notebook variables instead, say), and the message says
    that instead of what it got wrong as a consequence."""
    try:
        yield
    except AssertionError:
        first, other = _outcome(func, args, kwargs), _outcome(func, other_args, kwargs)
        if first is None or other is None or first[0] != other[0] or _first_difference(first[1], other[1], "it") \
                or first[0] == "result" and not _holds_numbers(first[1]):
            raise
        name = getattr(func, "__name__", "your function")
        same = "result" if first[0] == "result" else "error"
        several = " and " in inputs
        raise AssertionError(f"{name} does not use the {inputs} it is given: called with "
                             f"{'other' if several else 'another'} {inputs}, it gives the same {same}. Compute with "
                             f"its argument{'s' if several else ''} {inputs}, not with notebook variables (such as "
                             "the notebook's data).") from None


def call_each(func, arguments, name, before=None):
    """``[func(*args) for args in arguments]`` run quietly, as ``call`` runs one call, and in one round trip to the
    kernel (``judge.student.call_each``: ``before`` sets an attribute before each call). Each call gets copies
    of its arguments, and what it changes in them is not looked at: check that with ``call`` first. ``name``
    names the function in messages ("Dense.forward")."""
    with _student_code(name):
        return student.call_each(func, arguments, before)


def must_raise(func, *args, case, should="", exc=ValueError, **kwargs):
    """Check that the student's ``func(*args, **kwargs)`` raises ``exc``, as it must for an invalid argument.

    case: the invalid argument as messages name it ("the unknown method 'uniform'", "learning_rate=0.0");
    should: how the error should help, completing "it should raise a ValueError ..." ("that lists the
    valid methods"). Runs quietly, like ``call``.
    """
    name = getattr(func, "__name__", "your function")
    wanted = f"It should raise a {exc.__name__}{' ' + should if should else ''}."
    with _student_code(name, f" for {case}", wanted):
        try:
            func(*args, **kwargs)
        except exc:
            return
    raise AssertionError(f"{name} accepted {case}. {wanted}")


def expect_tuple(result, length, what):
    """Check that ``result`` is a tuple (or list) of ``length`` items; ``what`` reads like "forward_propagation
    should return a tuple (A2, cache)". Returns the items as a tuple."""
    if not isinstance(result, (tuple, list)) or len(result) != length:
        got = f"a {type(result).__name__} of {len(result)} items" if isinstance(result, (tuple, list)) \
            else type(result).__name__
        raise AssertionError(f"{what}, but it returned {got}.")
    return tuple(result)


def expect_dict(result, keys, what, key_hint=""):
    """Check that ``result`` is a dict with at least ``keys``; ``what`` names it ("the cache of
    forward_propagation"). ``key_hint`` is added when keys are missing. Returns the dict."""
    expected = ", ".join(repr(key) for key in keys)
    if not isinstance(result, dict):
        raise AssertionError(f"{what} should be a dict with keys {expected}, but it is a {type(result).__name__}.")
    missing = [key for key in keys if key not in result]
    if missing:
        hint = f" {key_hint}" if key_hint else ""
        raise AssertionError(f"{what} should be a dict with keys {expected}, but it has no key "
                             f"{', '.join(map(repr, missing))}.{hint}")
    return result


def random_sizes(rng, *ranges):
    """Random small sizes for test inputs: one int from each ``(low, high)`` range, ``high`` excluded."""
    return tuple(int(rng.integers(low, high)) for low, high in ranges)


def bias_hint(shape, N=None):
    """Why a bias (or its gradient, for a batch of N) has the wrong ``shape``: 2-D, or a batch axis kept or not
    summed over; '' if none of these."""
    if N is None:
        return "biases are 1-D arrays such as np.zeros(n_h), not 2-D columns or rows" if len(shape) == 2 else ""
    if len(shape) == 2 and shape[0] == 1:
        return "did you keep the batch axis? Sum over axis 0 without keepdims"
    if len(shape) == 2 and shape[0] == N or shape == (N,):
        return "did you sum over the samples (axis 0)?"
    return "sum over axis 0 only" if shape == () else ""


def _shape_hint(actual_shape, expected_shape):
    """A general guess at the cause of a shape mismatch, or ''."""
    if actual_shape == expected_shape[::-1]:
        return "is it transposed?"
    if int(np.prod(actual_shape)) == int(np.prod(expected_shape)):
        return "it has the right number of entries, so check for an extra or a missing axis (keepdims, reshape)"
    return ""


def expect_array(value, what, shape, shape_text, shape_hint="", kind="float"):
    """Check a returned array and return it as a NumPy array.

    value: what the student returned; what: its name in messages ("forward_propagation: A2");
    shape: the expected shape; shape_text: how the notebook writes it ("(N, 1), one row per sample");
    shape_hint: why the shape may be wrong (default: a general guess); kind: "float" (finite floating
    values) or "int" (integer labels).
    """
    if isinstance(value, (list, tuple)) or value is None or not hasattr(value, "shape"):
        raise AssertionError(f"{what} should be a NumPy array of shape {shape_text}, "
                             f"but it is a {type(value).__name__}.")
    value = np.asarray(value)
    if value.shape != tuple(shape):
        hint = shape_hint or _shape_hint(value.shape, tuple(shape))
        raise AssertionError(sentence(f"{what} has shape {value.shape} but it should have shape {shape_text}"
                                       f"{': ' + hint if hint else ''}"))
    if kind == "int" and not np.issubdtype(value.dtype, np.integer):
        raise AssertionError(f"{what} has dtype {value.dtype} but it should hold integers: "
                             "convert it with .astype(np.int64).")
    if kind == "float":
        if not np.issubdtype(value.dtype, np.number) or np.issubdtype(value.dtype, np.complexfloating):
            raise AssertionError(f"{what} has dtype {value.dtype} but it should hold real numbers.")
        if not np.all(np.isfinite(value)):
            raise AssertionError(f"{what} contains NaN or infinite values: look for a division by zero, "
                                 "the log of 0 or an overflowing exp.")
    return value


def expect_number(value, what, shape_hint=""):
    """A single finite real number (Python, NumPy, or an array with one entry), returned as a float.

    shape_hint: what to do when ``value`` holds several numbers (e.g. ``MEAN_HINT``).
    """
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number, np.ndarray)) \
            or np.asarray(value).dtype.kind not in "iuf":
        raise AssertionError(f"{what} should be a single number, but it is a {type_name(value)}.")
    if np.size(value) != 1:
        raise AssertionError(sentence(f"{what} should be a single number, but it has shape {np.shape(value)}"
                                      f"{': ' + shape_hint if shape_hint else ''}"))
    number = float(np.asarray(value).reshape(()))
    if not np.isfinite(number):
        raise AssertionError(f"{what} is {number}: look for a division by zero, the log of 0 or an overflowing exp.")
    return number


def expect_close(actual, expected, what, hint, diagnoses=(SIGN_FLIPPED,), rtol=1e-6, atol=1e-9, n=None, given=None):
    """Check values against the reference, naming the likely mistake when they differ.

    actual, expected: arrays of the same shape (shapes checked before); what: the value's name;
    hint: what to check when no diagnosis recognises the mistake; diagnoses: see the module docstring,
    tried before ``course_utils.checks.diagnose`` (the students' own checks' words; n: the number of
    samples, when the value depends on it; given: the value before a step, whose change is then compared).
    """
    whole = rounded_down(actual, expected)  # before the integers become floats
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    if _close(actual, expected, rtol, atol):
        return
    found = whole or next((text for diagnosis in diagnoses if (text := diagnosis(actual, expected))), None)
    general = None if found else diagnose(actual, expected, n, given)
    problem = "has the wrong value" if expected.ndim == 0 else "has the right shape but wrong values"
    raise AssertionError(sentence(f"{what} {problem}: {found or (general + '; ' + hint if general else hint)}"))


def numerically_close(analytic, numerical):
    """True if an analytic gradient agrees with a centred-difference one (float64, h=1e-5), by the one
    criterion of the notebooks and ``check_gradient``: ``gradient_error`` at most ``GRADIENT_TOLERANCE``."""
    return np.shape(analytic) == np.shape(numerical) and gradient_error(analytic, numerical) <= GRADIENT_TOLERANCE


def numerical_gradient_each(evaluate_all, x, dout):
    """``numerical_gradient_array`` of ``f`` at ``x`` for the upstream gradient ``dout``, where
    ``evaluate_all(points) -> [f(point) for point in points]`` evaluates every perturbed point at once (with
    ``call_each``: one round trip to the kernel, not two per entry of ``x``). The points are recorded in a
    first pass, then their values replayed in the same order."""
    points = []
    numerical_gradient_array(lambda point: points.append(point.copy()) or np.zeros(np.shape(dout)), x, dout)
    values = iter(evaluate_all(points))
    return numerical_gradient_array(lambda point: next(values), x, dout)


def expect_numerical_gradients(cost_of, params, grads, what, hint=""):
    """Compare gradients with centred differences of a scalar function of the parameters.

    cost_of: function of a params dict returning a float (the reference cost); params: dict of
    float arrays; grads: the student's gradients (dict of arrays, shapes checked before) under the
    same keys; what: prefix for messages ("backward_propagation"). Entries must be ``numerically_close``.
    """
    for key in params:
        point = {name: np.array(value, dtype=np.float64) for name, value in params.items()}
        numerical = numerical_gradient(lambda _: cost_of(point), point[key])
        analytic = np.asarray(grads[key], dtype=np.float64)
        if not numerically_close(analytic, numerical):
            found = diagnose(analytic, numerical)
            raise AssertionError(sentence(
                f"{what}: grads[{key!r}] does not match the numerical gradient of the cost (relative error "
                f"{gradient_error(analytic, numerical):.1e}; a correct gradient is within {GRADIENT_TOLERANCE:.0e})"
                f"{': ' + found if found else ''}{': ' + hint if hint and not found else ''}"))


def expect_costs(costs, num_iterations, what):
    """The costs a training loop returned, as a float array: one finite number per iteration."""
    if not isinstance(costs, (list, tuple, np.ndarray)) or len(costs) != num_iterations:
        length = len(costs) if hasattr(costs, "__len__") else "no"
        raise AssertionError(f"{what}: costs should be a list with one cost per iteration "
                             f"(num_iterations entries), but it has {length} entries.")
    costs = np.array([float(np.asarray(c).reshape(())) if np.size(c) == 1 else np.nan for c in costs])
    if not np.all(np.isfinite(costs)):
        raise AssertionError(f"{what}: costs should be single finite numbers, one per iteration.")
    return costs
