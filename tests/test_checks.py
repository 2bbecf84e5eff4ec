"""Tests of the notebook self-checks in course_utils.checks: silent on success, clear on failure."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

from course_utils.checks import (check_close, check_dtype, check_finite, check_keys, check_shape,
                                 check_type)


@settings(max_examples=30, deadline=None)
@given(shape=array_shapes(min_dims=1, max_dims=3, max_side=5))
def test_check_shape_accepts_the_right_shape_and_wildcards(shape):
    value = np.zeros(shape)
    assert check_shape(value, shape, "x") is None
    assert check_shape(value, (None,) + shape[1:], "x") is None


@pytest.mark.parametrize("value, expected, match", [
    (np.zeros((3, 4)), (4, 3), r"(?s)W1 has shape \(3, 4\), but shape \(4, 3\) was expected.*transposed"),
    (np.zeros(5), (5, 1), r"(?s)W1 has shape \(5,\).*\(5, 1\).*keepdims"),
    (np.zeros((2, 2)), (2, 3), r"W1 has shape \(2, 2\)"),
    ([1, 2], (2,), r"W1 should be a NumPy array of shape \(2,\), but it is a list"),
])
def test_check_shape_messages(value, expected, match):
    with pytest.raises(AssertionError, match=match):
        check_shape(value, expected, "W1")


def test_check_dtype():
    check_dtype(np.zeros(2, dtype=np.float32), "float", "h")
    check_dtype(np.zeros(2, dtype=np.float32), np.float32, "h")
    check_dtype(np.zeros(2, dtype=np.int64), "integer", "y")
    with pytest.raises(AssertionError, match="h has dtype float64, but dtype float32 was expected"):
        check_dtype(np.zeros(2), np.float32, "h")
    with pytest.raises(AssertionError, match="(?s)y has dtype int64, but a float dtype was expected.*astype"):
        check_dtype(np.arange(2), "float", "y")
    with pytest.raises(AssertionError, match="y should be a NumPy array"):
        check_dtype(3.0, "float", "y")


def test_check_finite():
    check_finite(np.ones((2, 2)), "loss")
    check_finite(1.5, "loss")
    bad = np.array([[1.0, np.nan], [np.inf, -np.inf]])
    with pytest.raises(AssertionError, match=r"(?s)probs .* 1 NaN and 2 inf .*index \(0, 1\).*Hint: .*log\(0\)"):
        check_finite(bad, "probs")
    with pytest.raises(AssertionError, match="loss .* 1 NaN"):
        check_finite(float("nan"), "loss")
    with pytest.raises(AssertionError, match="should hold numbers"):
        check_finite(None, "loss")


def test_check_close_reports_the_largest_deviation_only():
    expected = np.arange(1000, dtype=np.float64).reshape(10, 100)
    actual = expected.copy()
    actual[3, 7] += 0.5
    actual[4, 2] += 2.0
    with pytest.raises(AssertionError) as failure:
        check_close(actual, expected, "dW")
    message = str(failure.value)
    assert "2 of 1000" in message and "largest deviation is 2 at index (4, 2)" in message
    assert "found 404, expected 402" in message and "Hint" in message
    assert len(message) < 600, "the message must not print the whole expected array"


def test_check_close_tolerances_shapes_and_nan():
    check_close(np.array([1.0, 2.0]), [1.0 + 1e-9, 2.0], "x")
    check_close(np.array([np.nan]), np.array([np.nan]), "x")
    check_close(0.1 + 0.2, 0.3, "sum")
    with pytest.raises(AssertionError, match="found nan, expected 1"):
        check_close(np.array([1.0, np.nan]), np.array([1.0, 1.0]), "x")
    with pytest.raises(AssertionError, match=r"x has shape \(2,\), but shape \(2, 1\) was expected"):
        check_close(np.ones(2), np.ones((2, 1)), "x")
    with pytest.raises(AssertionError, match="rtol=0.001"):
        check_close(1.1, 1.0, "loss", rtol=1e-3)


def test_check_type():
    check_type({}, dict, "params")
    check_type(1.0, (int, float), "lr")
    with pytest.raises(AssertionError, match="(?s)params should be of type dict, but it is None.*return"):
        check_type(None, dict, "params")
    with pytest.raises(AssertionError, match="lr should be of type int or float, but it is a str"):
        check_type("0.1", (int, float), "lr")


def test_check_keys():
    check_keys({"W1": 0, "b1": 0}, ["b1", "W1"], "params")
    with pytest.raises(AssertionError, match=r"missing \['b1'\] and unexpected \['B1'\]"):
        check_keys({"W1": 0, "B1": 0}, ["W1", "b1"], "params")
    with pytest.raises(AssertionError, match=r"params should be a dict, but it is a list"):
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
