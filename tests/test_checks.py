"""Tests of the notebook self-checks in course_utils.checks: silent on success, clear on failure."""

import warnings

import numpy as np
import pytest
from hypothesis import assume, given, settings, strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

from course_utils.checks import (OVER_THE_BATCH, TABLE_ITEMS, check_changed_in_place, check_close, check_dtype,
                                 check_finite, check_keys, check_label_loss, check_raises, check_shape, check_spread,
                                 check_type, check_unchanged, diagnose, stand_ins)


@settings(max_examples=30, deadline=None)
@given(shape=array_shapes(min_dims=1, max_dims=3, max_side=5))
def test_check_shape_accepts_the_right_shape_and_wildcards(shape):
    value = np.zeros(shape)
    assert check_shape(value, shape, "x") is None
    assert check_shape(value, (None,) + shape[1:], "x") is None


@pytest.mark.parametrize("value, expected, match", [
    (np.zeros((3, 4)), (4, 3), r"(?s)W1: shape \(3, 4\), but \(4, 3\) was expected.*transposed"),
    (np.zeros(5), (5, 1), r"(?s)W1: shape \(5,\), but \(5, 1\) was expected.*keepdims"),
    (np.zeros((2, 2)), (2, 3), r"W1: shape \(2, 2\)"),
    ([1, 2], (2,), r"W1 should be a NumPy array of shape \(2,\), not a list of 2 items \(an int and an int\)\."),
])
def test_check_shape_messages(value, expected, match):
    with pytest.raises(AssertionError, match=match):
        check_shape(value, expected, "W1")


def test_check_dtype():
    check_dtype(np.zeros(2, dtype=np.float32), "float", "h")
    check_dtype(np.zeros(2, dtype=np.float32), np.float32, "h")
    check_dtype(np.zeros(2, dtype=np.int64), "integer", "y")
    with pytest.raises(AssertionError, match="h: dtype float64, but float32 was expected"):
        check_dtype(np.zeros(2), np.float32, "h")
    with pytest.raises(AssertionError, match="(?s)y: dtype int64, but a float dtype was expected.*astype"):
        check_dtype(np.arange(2), "float", "y")
    with pytest.raises(AssertionError, match="y should be a NumPy array, not a float"):
        check_dtype(3.0, "float", "y")


@pytest.mark.parametrize("check, value, expected, message", [
    (check_dtype, np.array([True, False]), "integer",
     "the predictions: dtype bool, but an integer dtype was expected."),
    (check_dtype, np.zeros(2), "bool", "the predictions: dtype float64, but dtype bool was expected."),
    (check_shape, np.zeros(5), (5, 1), "the predictions: shape (5,), but (5, 1) was expected."),
    (check_type, None, dict, "the predictions should be of type dict, not None."),
])
def test_messages_read_correctly_for_a_plural_name(check, value, expected, message):
    with pytest.raises(AssertionError) as failure:
        check(value, expected, "the predictions")
    assert str(failure.value).split("\nHint: ")[0] == message


def test_check_finite():
    check_finite(np.ones((2, 2)), "loss")
    check_finite(1.5, "loss")
    bad = np.array([[1.0, np.nan], [np.inf, -np.inf]])
    found = r"(?s)probs .* 1 NaN and 2 inf .*index \(0, 1\).*Hint: .*log\(0\)"
    with pytest.raises(AssertionError, match=found) as told:
        check_finite(bad, "probs")
    # the labs' stable way, not clipping, which the check of the cost for large logits rejects next (Lab 3)
    assert "log-sum-exp trick" in str(told.value) and "clip" not in str(told.value)
    with pytest.raises(AssertionError, match="loss .* 1 NaN"):
        check_finite(float("nan"), "loss")
    with pytest.raises(AssertionError, match="loss should hold real numbers, not None"):
        check_finite(None, "loss")


def test_check_close_reports_the_largest_deviation_only():
    expected = np.arange(1000, dtype=np.float64).reshape(10, 100)
    actual = expected.copy()
    actual[3, 7] += 0.5
    actual[4, 2] += 2.0
    with pytest.raises(AssertionError) as failure:
        check_close(actual, expected, "dW")
    message = str(failure.value)
    assert "2 of 1000 values differ" in message and "largest deviation is 2 at index (4, 2)" in message
    assert "found 404, expected 402" in message and "Hint" in message
    assert len(message) < 600, "the message must not print the whole expected array"


def test_check_close_tolerances_shapes_and_nan():
    check_close(np.array([1.0, 2.0]), [1.0 + 1e-9, 2.0], "x")
    check_close(np.array([np.nan]), np.array([np.nan]), "x")
    check_close(0.1 + 0.2, 0.3, "sum")
    with pytest.raises(AssertionError, match="found nan, expected 1"):
        check_close(np.array([1.0, np.nan]), np.array([1.0, 1.0]), "x")
    with pytest.raises(AssertionError, match=r"x: shape \(2,\), but \(2, 1\) was expected"):
        check_close(np.ones(2), np.ones((2, 1)), "x")
    with pytest.raises(AssertionError, match="rtol=0.001"):
        check_close(1.1, 1.0, "loss", rtol=1e-3)


def test_check_type():
    check_type({}, dict, "params")
    check_type(1.0, (int, float), "lr")
    with pytest.raises(AssertionError, match="(?s)params should be of type dict, not None.*return"):
        check_type(None, dict, "params")
    with pytest.raises(AssertionError, match=r"lr should be of type int or float, not a str \('0.1'\)"):
        check_type("0.1", (int, float), "lr")
    batches = (batch for batch in [(1, 2)])  # a function that yields its batches
    with pytest.raises(AssertionError, match="(?s)batches should be of type list, not a generator.*collect them in a "
                                             "list and return the list"):
        check_type(batches, list, "batches")


def test_check_raises_names_an_error_of_another_kind_and_a_call_that_returned():
    def update(learning_rate):
        if learning_rate <= 0:
            raise ValueError("the learning rate must be > 0")

    def update_with_type_error(learning_rate):
        raise TypeError("no")

    check_raises(ValueError, lambda: update(0.0), "update(0.0)")
    with pytest.raises(AssertionError, match=r"(?s)^update\(1.0\) should raise a ValueError, but it returned normally\."
                                             r".*raise ValueError\(\.\.\.\)"):
        check_raises(ValueError, lambda: update(1.0), "update(1.0)")
    with pytest.raises(AssertionError, match=r"(?s)^f\(\) should raise a ValueError, but it raised TypeError: no\n"
                                             r".*not TypeError"):
        check_raises(ValueError, lambda: update_with_type_error(0.0), "f()")


def test_check_keys():
    check_keys({"W1": 0, "b1": 0}, ["b1", "W1"], "params")
    with pytest.raises(AssertionError, match=r"missing \['b1'\] and unexpected \['B1'\]"):
        check_keys({"W1": 0, "B1": 0}, ["W1", "b1"], "params")
    with pytest.raises(AssertionError, match=r"params should be a dict, not a list"):
        check_keys([1], ["W1"], "params")


@settings(max_examples=25, deadline=None)
@given(a=arrays(np.float64, array_shapes(max_dims=2, max_side=4), elements=st.floats(-1e3, 1e3)))
def test_check_close_agrees_with_numpy_allclose(a):
    b = a + 1e-3
    check_close(a, a, "a")
    if np.allclose(a, b, rtol=1e-6, atol=1e-8):
        check_close(a, b, "a")
    else:
        with pytest.raises(AssertionError):
            check_close(a, b, "a")


def failure_of(check, *args, **kwargs):
    """The message and hint of the AssertionError that ``check`` raises, and that it raised nothing else."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(AssertionError) as failure:
            check(*args, **kwargs)
    assert failure.value.__context__ is None, "the message must not come with NumPy's own error"
    message, hint = str(failure.value).split("\nHint: ")
    return message, hint


TUPLE_HINT = ("a function that returns several values returns them as a tuple: unpack it (for example "
              "cost, grad = f(...)) and keep only the number you need.")
NONE_HINT = ("a function returns None when it reaches no return statement with a value: check that yours "
             "returns its result.")


@pytest.mark.parametrize("value, message, hint", [
    ([0.69, (0.69, np.zeros((4, 1)))],
     "the costs should hold real numbers, but item 1 of the list is a tuple of 2 items (a float and a NumPy array "
     "of shape (4, 1)).", TUPLE_HINT),
    ((0.69, np.zeros((4, 1))),
     "the costs should hold real numbers, not a tuple of 2 items (a float and a NumPy array of shape (4, 1)).",
     TUPLE_HINT),
    ([0.69, None], "the costs should hold real numbers, but item 1 of the list is None.", NONE_HINT),
    (None, "the costs should hold real numbers, not None.", NONE_HINT),
    ({"W1": 1.0, "b1": 0.0}, "the costs should hold real numbers, not a dict (keys 'W1', 'b1').",
     "pass one of its values (for example params['W1']), not the whole dict."),
    ("0.69", "the costs should hold real numbers, not a str ('0.69').",
     "convert text with float(...), or use the number itself rather than a formatted string."),
    ([[1.0, 2.0, 3.0], [1.0, 2.0]],
     "the costs should be a regular array of numbers, but item 0 of the list has shape (3,) and item 1 has shape "
     "(2,).", "an array needs items of one shape: check how the list is built (for example that each step appends "
              "one number)."),
    ([0.69, np.zeros(2)],
     "the costs should be a regular array of numbers, but item 0 of the list is a single number and item 1 has "
     "shape (2,).", "an array needs items of one shape: check how the list is built (for example that each step "
                    "appends one number)."),
    (np.array([0.5, None], dtype=object), "the costs should hold real numbers, but item 1 of the array is None.",
     NONE_HINT),
    (1 + 2j, "the costs should hold real numbers, not a complex.", "use a NumPy array (or a number) of real numbers."),
])
@pytest.mark.parametrize("check", [
    lambda value: check_close(value, np.ones(2), "the costs"),
    lambda value: check_finite(value, "the costs"),
])
def test_a_value_that_is_not_numbers_gets_a_message_not_a_numpy_error(check, value, message, hint):
    assert failure_of(check, value) == (message, hint)


@pytest.mark.parametrize("found, expected, n, message, hint", [
    # the audit's examples: the sum instead of the mean of 4 samples, and a third of the expected value
    (2.7725887, 0.69314718, None, "found 2.7725887, expected 0.69314718 (rtol=1e-06, atol=1e-08): it is 4 times "
     "the expected value.", "compare your formula with the definition step by step."),
    (2.7725887, 0.69314718, 4, "found 2.7725887, expected 0.69314718 (rtol=1e-06, atol=1e-08): it is 4 times the "
     "expected value, a factor N = 4: did you sum over the samples instead of averaging, or forget to divide by N?",
     "find the step of your computation that does this."),
    (0.5 / 3, 0.5, None, "found 0.16666667, expected 0.5 (rtol=1e-06, atol=1e-08): it is 1/3 of the expected value.",
     "compare your formula with the definition step by step."),
    (0.1667, 0.5, None, "found 0.1667, expected 0.5 (rtol=1e-06, atol=1e-08): it is 0.3334 times the expected value.",
     "compare your formula with the definition step by step."),
    (0.125, 0.5, 4, "found 0.125, expected 0.5 (rtol=1e-06, atol=1e-08): it is 1/4 of the expected value, a factor "
     "1/N = 1/4: did you divide by N twice (or average twice)?", "find the step of your computation that does this."),
    (1.0, 0.5, 2, "found 1, expected 0.5 (rtol=1e-06, atol=1e-08): it is twice the expected value, a factor 2 = N: "
     "did you sum over the samples instead of averaging, or forget to divide by N (or by 2)?",
     "find the step of your computation that does this."),
    (1.0, 0.5, None, "found 1, expected 0.5 (rtol=1e-06, atol=1e-08): it is twice the expected value: a factor 2 "
     "too many (or a missing 1/2).", "find the step of your computation that does this."),
    (-0.5, 0.5, None, "found -0.5, expected 0.5 (rtol=1e-06, atol=1e-08): it is the negative of the expected value: "
     "check the sign.", "find the step of your computation that does this."),
    (-1.5, 0.5, None, "found -1.5, expected 0.5 (rtol=1e-06, atol=1e-08): it is -3 times the expected value: the "
     "sign is flipped too.", "compare your formula with the definition step by step."),
    (0.5000021, 0.5, None, "found 0.5000021, expected 0.5 (rtol=1e-06, atol=1e-08): it is slightly larger than the "
     "expected value (by a relative 4.2e-06): look for float32 rounding or a slightly different constant (such as "
     "an epsilon).", "compare your formula with the definition step by step."),
    (0.5, 0.0, None, "found 0.5, expected 0 (rtol=1e-06, atol=1e-08).",
     "compare your formula with the definition step by step."),
    (0.0, 0.5, None, "found 0, expected 0.5 (rtol=1e-06, atol=1e-08).",
     "compare your formula with the definition step by step."),
    (np.nan, 0.5, None, "found nan, expected 0.5 (rtol=1e-06, atol=1e-08): it is NaN: look for log(0), a division "
     "by zero or exp of a large number.", "find the step of your computation that does this."),
    (-np.inf, 0.5, None, "found -inf, expected 0.5 (rtol=1e-06, atol=1e-08): it is -inf: look for log(0), a "
     "division by zero or exp of a large number.", "find the step of your computation that does this."),
    (1e300, 1e-300, None, "found 1e+300, expected 1e-300 (rtol=1e-06, atol=1e-08).",
     "compare your formula with the definition step by step."),
])
def test_check_close_of_single_numbers_states_their_ratio(found, expected, n, message, hint):
    assert failure_of(check_close, found, expected, "the cost", n=n) == (f"the cost: {message}", hint)


finite = st.floats(-1e6, 1e6, allow_nan=False).filter(lambda x: abs(x) > 1e-6)


@settings(max_examples=60, deadline=None)
@given(expected=finite, n=st.integers(2, 10_000))
def test_a_factor_n_or_1_over_n_of_a_single_number_is_named_as_n(expected, n):
    name = "2 = N" if n == 2 else f"N = {n}"
    inverse = "1/2 = 1/N" if n == 2 else f"1/N = 1/{n}"
    assert f"a factor {name}: did you sum over the samples" in diagnose(expected * n, expected, n=n)
    assert f"a factor {inverse}: did you divide by N twice" in diagnose(expected / n, expected, n=n)
    message, _ = failure_of(check_close, expected * n, expected, "the cost", n=n)
    assert f"a factor {name}" in message


@settings(max_examples=60, deadline=None)
@given(expected=finite, k=st.integers(3, 1000))
def test_a_whole_factor_of_a_single_number_is_stated_plainly(expected, k):
    assert failure_of(check_close, expected * k, expected, "the cost")[0].endswith(
        f": it is {k} times the expected value.")
    assert failure_of(check_close, expected / k, expected, "the cost")[0].endswith(
        f": it is 1/{k} of the expected value.")


@settings(max_examples=100, deadline=None)
@given(found=st.floats(allow_nan=True, allow_infinity=True), expected=st.floats(allow_nan=False))
def test_any_two_different_numbers_get_a_message_without_warnings_or_false_claims(found, expected):
    with np.errstate(over="ignore"):  # NumPy 1.26's isclose warns of |found - expected| above the largest float
        assume(not np.isclose(found, expected, rtol=1e-6, atol=1e-8))
    message, hint = failure_of(check_close, found, expected, "the cost")
    assert "no simple pattern" not in hint and "times 1 " not in message and "times 1." not in message


def test_single_numbers_name_only_the_usual_factors_in_diagnose():
    # the hidden checks show diagnose's phrase without the values: any other ratio would give the value away
    assert diagnose(2.0, 0.5) is None and diagnose(0.1, 0.3) is None
    assert diagnose(2.0, 0.5, n=4) == ("it is 4 times the expected value, a factor N = 4: did you sum over the "
                                       "samples instead of averaging, or forget to divide by N?")
    assert diagnose(-1.0, 0.5, n=4) is None and diagnose(-2.0, 0.5, n=4).startswith("it is -4 times")


def test_a_local_derivative_not_multiplied_by_dout_is_named_whatever_dout_is():
    """The chain rule forgotten in a backward pass: before, "1/7 of the expected value" for dout = 7 everywhere, and
    "no simple pattern" for a dout that varies."""
    rng = np.random.default_rng(0)
    local, dout = rng.uniform(0.1, 1.0, size=(3, 4)), rng.uniform(1.5, 3.0, size=(3, 4))
    forgotten = "it is the local derivative alone: multiply it by dout, the gradient from above (the chain rule)"
    for upstream in (dout, np.full((3, 4), 7.0), 2.0, dout[0]):  # an array, a constant one, a number, a row
        assert diagnose(local, local * upstream, dout=upstream) == forgotten
    assert diagnose(local, local * 3.0, dout=np.ones((5, 6))) == "it is 1/3 of the expected value"  # not dout's shape
    assert diagnose(local, local * 3.0) == "it is 1/3 of the expected value"


@pytest.mark.parametrize("factor, n, phrase", [
    (2.0, 2, "it is twice the expected value, a factor 2 = N: did you sum over the samples instead of averaging, "
             "or forget to divide by N (or by 2)?"),
    (2.0, 5, "it is twice the expected value: a factor 2 too many (or a missing 1/2)."),
    (5.0, 5, "it is 5 times the expected value, a factor N = 5: did you sum over the samples instead of averaging, "
             "or forget to divide by N?"),
    (0.37, None, "it is 0.37 times the expected value."),
    (-0.37, None, "it is -0.37 times the expected value: the sign is flipped too."),
    (1.000002, None, "it is slightly larger than the expected value (by a relative 2e-06): look for float32 "
                     "rounding or a slightly different constant (such as an epsilon)."),
    (0.99975, None, "it is slightly smaller than the expected value (by a relative 0.00025): too much for rounding: "
                    "look for a slightly different constant (such as an epsilon), or a value from another step (an "
                    "updated value where the old one is needed, say)."),
])
def test_check_close_of_arrays_names_a_constant_factor(factor, n, phrase):
    expected = np.arange(1.0, 7.0).reshape(2, 3)
    message, _ = failure_of(check_close, factor * expected, expected, "dW", n=n)
    assert message.endswith(f"; rtol=1e-06, atol=1e-08): {phrase}")


LOG_PROBS = np.log(np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6], [0.2, 0.5, 0.3]]))
LABELS = np.array([1, 2, 0])


def test_a_label_loss_that_takes_every_label_of_every_sample_is_named_with_the_fix():
    """log_probs[:, y] is (N, N): its mean (or its sum over N) is the classic mistake of Labs 3 and 5."""
    right = -LOG_PROBS[np.arange(3), LABELS].mean()
    check_label_loss(right, LOG_PROBS, LABELS, "the loss")
    for wrong in (-LOG_PROBS[:, LABELS].mean(), -LOG_PROBS[:, LABELS].sum() / 3):
        with pytest.raises(AssertionError) as error:
            check_label_loss(wrong, LOG_PROBS, LABELS, "the loss")
        assert "it takes the log-probability of every sample for every label in y" in str(error.value)
        assert "log_probs[np.arange(N), y]" in str(error.value)


def test_a_label_loss_summed_instead_of_averaged_is_named_as_a_factor_n():
    summed = -LOG_PROBS[np.arange(3), LABELS].sum()
    with pytest.raises(AssertionError, match="a factor N = 3: did you sum over the samples"):
        check_label_loss(summed, LOG_PROBS, LABELS, "the loss")


def test_an_input_changed_in_place_is_named_and_an_unchanged_one_passes():
    Z = np.array([[1.0, np.nan, 3.0]])
    before = Z.copy()
    check_unchanged(Z, before, "Z after softmax(Z)")  # NaN where it was: unchanged
    Z -= 3.0  # what a softmax that shifts its input in place does
    message, hint = failure_of(check_unchanged, Z, before, "Z after softmax(Z)")
    assert message == "Z after softmax(Z): it was changed in place, but the function must leave its inputs unchanged."
    assert "Z -= m" in hint


@pytest.mark.parametrize("log, named", [(np.log10, "np.log10"), (np.log2, "np.log2")])
def test_a_logarithm_of_another_base_is_named(log, named):
    probabilities = np.array([0.9, 0.2, 0.6])
    message, _ = failure_of(check_close, -np.mean(log(probabilities)), -np.mean(np.log(probabilities)), "the cost")
    assert message.endswith(f"as a {'base-10' if log is np.log10 else 'base-2'} logarithm gives: use the natural "
                            f"logarithm, np.log, not {named}.")


def test_a_new_array_in_place_of_one_to_change_in_place_is_named():
    W = np.ones(3)
    params = {"W": W}
    params["W"] -= 0.5  # in place: the same array
    check_changed_in_place(params["W"], W, "params['W'] after sgd_update")
    params["W"] = params["W"] - 0.5  # equal values would pass a comparison; the array is another one
    message, hint = failure_of(check_changed_in_place, params["W"], W, "params['W'] after sgd_update")
    assert message == ("params['W'] after sgd_update is a new array, but the function must change the array it was "
                       "given in place.")
    assert "params[key] -= step" in hint


def test_a_step_taken_the_wrong_way_is_named_when_the_input_is_given():
    """Gradient descent that adds the gradient: 1 + 0.1 * 0.5 instead of 1 - 0.1 * 0.5 (it read "1.105 times")."""
    start = np.ones((2, 2))
    message, _ = failure_of(check_close, np.full((2, 2), 1.05), np.full((2, 2), 0.95), "W1 after one step",
                            given=start)
    assert message.endswith("it changed the input by the opposite of the expected change: check the sign of the step.")
    assert diagnose(np.full((2, 2), 1.05), np.full((2, 2), 0.95)) == "it is 1.105 times the expected value"


@pytest.mark.parametrize("found, words", [
    (0.975, "the change it made to the input is 1/2 of the expected change: check the size of the step"),
    (0.9, "the change it made to the input is 2 times the expected change"),
    (1.15, "it changed the input the opposite way, by 3 times the expected change: check the sign and the size"),
])
def test_a_step_of_the_wrong_size_is_named_as_a_factor_of_the_step_when_the_input_is_given(found, words):
    """A gradient step of half the size, 1 - 0.1 * 0.5 / 2, read "it is 1.026 times the expected value": the values'
    ratio, which says nothing of the step."""
    message, _ = failure_of(check_close, np.full((2, 2), found), np.full((2, 2), 0.95), "W1 after one step",
                            given=np.ones((2, 2)))
    assert words in message


def test_a_known_mistake_is_named_in_the_words_the_test_gives():
    X, W, b = np.array([[1.0, 2.0, 3.0]]), np.array([[1.0, 0.0], [0.0, 1.0], [1.0, -1.0]]), np.array([0.5, -0.5])
    known = {"it is X @ W without + b: did you forget the bias b?": X @ W}
    message, hint = failure_of(check_close, X @ W, X @ W + b, "out", known=known)
    assert message.endswith("(found 4, expected 4.5; rtol=1e-06, atol=1e-08): it is X @ W without + b: did you "
                            "forget the bias b?"), message
    assert hint == "find the step of your computation that does this."
    message, _ = failure_of(check_close, 2 * (X @ W + b), X @ W + b, "out", known=known)  # another mistake
    assert message.endswith("it is twice the expected value: a factor 2 too many (or a missing 1/2)."), message


def test_integers_that_are_the_expected_fractions_rounded_down_are_named_as_integer_division():
    assert diagnose(0, 2 / 6) == ("it is an int, the expected value rounded down to a whole number: did you divide "
                                  "with // (integer division) where / was needed?")
    assert diagnose(np.array([0, 1]), np.array([0.5, 1.5])).startswith("it is made of integers, the expected value")
    assert diagnose(0.0, 2 / 6) is None and diagnose(np.int64(2), 0.5) is None  # a float 0, or not rounded down


@pytest.mark.parametrize("found, n", [(0.75, 3), (1.25, 5), (7 / 120, 7)])
def test_a_value_divided_by_another_count_than_n_is_named(found, n):
    assert diagnose(found, 1.0, n=n) == (
        f"it looks divided by another count than N = {n}, the number of samples it was given: is N taken from a notebook "
        "variable (the notebook's data, say) instead of from the arguments?")
    assert diagnose(found, 1.0) is None and diagnose(1 / 3, 1.0, n=6) is None and diagnose(3.0, 1.0, n=12) is None


def test_weights_drawn_uniformly_on_minus_std_to_std_are_named_and_normal_ones_pass():
    rng = np.random.default_rng(0)
    check_spread(rng.standard_normal((400, 300)) * 0.07, 0.07, "standard deviation of W")
    with pytest.raises(AssertionError, match=r"about 1/sqrt\(3\) = 0.58 of the one asked, as a uniform distribution"):
        check_spread(rng.uniform(-0.07, 0.07, (400, 300)), 0.07, "standard deviation of W")
    with pytest.raises(AssertionError) as failure:  # half the spread, normal: no uniform distribution named
        check_spread(rng.standard_normal((400, 300)) * 0.035, 0.07, "standard deviation of W")
    assert "uniform" not in str(failure.value)


def test_a_label_loss_given_a_known_mistakes_value_names_it():
    log_probs = np.log(np.array([[0.2, 0.5, 0.3], [0.6, 0.1, 0.3], [0.1, 0.1, 0.8]]))
    right = -log_probs[np.arange(3), LABELS].mean()
    check_label_loss(right, log_probs, LABELS, "the loss", known={OVER_THE_BATCH: 9.0})
    with pytest.raises(AssertionError, match=r"found 9, expected .*: it normalises over the batch \(axis 0\)"):
        check_label_loss(9.0, log_probs, LABELS, "the loss", known={OVER_THE_BATCH: 9.0})


NOTEBOOK = '''
def relu(z):
    return "own relu"

def softplus(z):
    return "own softplus"

def _own(z):
    return relu(z)

ACTIVATIONS = {"relu": relu, "softplus": softplus}
PAIRS = [("relu", relu), ("softplus", softplus)]
FLAGS = {"relu": None}

def by_name(z):
    return relu(z)

def through_own_function(z):
    return _own(z)

def through_a_dict(z, name="relu"):
    return ACTIVATIONS[name](z)

def through_a_list_of_pairs(z):
    return dict(PAIRS)["relu"](z)

def through_a_default(z, activation=relu):
    return activation(z)

def through_a_keyword_default(z, *, activation=relu):
    return activation(z)

class Layer:
    def forward(self, z, activation=relu):
        return activation(z)

act = relu
STACK = (softplus, (relu, "relu"))

def through_an_alias(z):
    return act(z)

def through_a_tuple(z):
    return STACK[1][0](z)

def make_forward(activation):
    def forward(z):
        return activation(z)
    return forward

through_a_closure = make_forward(relu)
'''
REACHES = ["by_name", "through_own_function", "through_a_dict", "through_a_list_of_pairs", "through_a_default",
           "through_a_keyword_default", "through_an_alias", "through_a_tuple", "through_a_closure"]


def test_a_stand_in_takes_the_place_of_a_function_however_the_notebook_reaches_it():
    namespace = {"__name__": "__main__"}
    exec(NOTEBOOK, namespace)  # noqa: S102 -- a notebook's cell
    own_relu, own_dict, pairs = namespace["relu"], dict(namespace["ACTIVATIONS"]), list(namespace["PAIRS"])
    stack = namespace["STACK"]
    with stand_ins(namespace, relu=lambda z: "stand-in"):
        assert [namespace[name](0) for name in REACHES] == ["stand-in"] * len(REACHES)
        assert namespace["Layer"]().forward(0) == "stand-in"
        assert namespace["ACTIVATIONS"]["softplus"](0) == "own softplus"  # the others stay the notebook's own
        assert namespace["FLAGS"] == {"relu": None}
    assert [namespace[name](0) for name in REACHES] == ["own relu"] * len(REACHES)  # all put back
    assert namespace["Layer"]().forward(0) == "own relu"
    assert namespace["relu"] is own_relu and namespace["ACTIVATIONS"] == own_dict and namespace["PAIRS"] == pairs
    assert namespace["PAIRS"][0] is pairs[0]  # the very tuple the notebook made
    assert namespace["act"] is own_relu and namespace["STACK"] is stack
    assert namespace["through_a_closure"].__closure__[0].cell_contents is own_relu


def test_stand_ins_puts_everything_back_when_the_block_raises_and_adds_no_name_for_good():
    namespace = {"__name__": "__main__"}
    exec(NOTEBOOK, namespace)  # noqa: S102 -- a notebook's cell
    with pytest.raises(ZeroDivisionError), stand_ins(namespace, relu=lambda z: 1 / 0, namespace=print):
        namespace["through_a_default"](0)
    assert namespace["through_a_default"](0) == "own relu" and "namespace" not in namespace


def test_a_stand_in_still_finds_the_function_it_stands_for():
    namespace = {"__name__": "__main__"}
    exec(NOTEBOOK + "given_relu = relu\nORIGINALS = {'relu': relu}\n"  # noqa: S102 -- a visible test's cell
         "def counting(z):\n    return 'counted ' + given_relu(z)\n"
         "def keeping(z, original=relu):\n    return 'kept ' + ORIGINALS['relu'](z) + ' ' + original(z)\n"
         "def made():\n    def stand_in(z):\n        return 'made ' + ORIGINALS['relu'](z)\n    return stand_in\n",
         namespace)
    for stand_in, expected in ((namespace["counting"], "counted own relu"),
                               (namespace["keeping"], "kept own relu own relu"),
                               (namespace["made"](), "made own relu")):
        with stand_ins(namespace, relu=stand_in):
            assert namespace["by_name"](0) == namespace["through_a_dict"](0) == expected


def test_stand_ins_looks_through_tables_of_functions_but_not_through_data():
    """A notebook function that names a long list (a history of costs, say) is not slowed down by each stand-in block
    going through it: lists and dicts of more than TABLE_ITEMS items are data, not tables of functions."""
    namespace = {"__name__": "__main__"}
    exec(NOTEBOOK + f"TABLE = [relu] * {TABLE_ITEMS}\nHISTORY = [relu] * {TABLE_ITEMS + 1}\n"  # noqa: S102
         "def from_table(z):\n    return TABLE[-1](z)\ndef from_history(z):\n    return HISTORY[-1](z)\n", namespace)
    with stand_ins(namespace, relu=lambda z: "stand-in"):
        assert namespace["from_table"](0) == "stand-in" and namespace["from_history"](0) == "own relu"
    assert namespace["TABLE"] == [namespace["relu"]] * TABLE_ITEMS
