"""Tests of numerical gradients and gradient checks in course_utils.gradcheck."""

import re

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

from course_utils.gradcheck import (ABSOLUTE_FLOOR, GRADIENT_TOLERANCE, check_gradient, check_gradient_array,
                                    gradient_error, numerical_gradient, numerical_gradient_array, rel_error)

FAST = settings(max_examples=30, deadline=None)
shapes = array_shapes(min_dims=0, max_dims=3, max_side=4)
values = st.floats(-3, 3, allow_nan=False, allow_infinity=False)


@FAST
@given(x=arrays(np.float64, shapes, elements=values))
def test_numerical_gradient_of_known_functions(x):
    original = x.copy()
    np.testing.assert_allclose(numerical_gradient(lambda v: np.sum(v ** 2), x), 2 * original,
                               rtol=1e-7, atol=1e-8)
    np.testing.assert_allclose(numerical_gradient(lambda v: np.sum(np.sin(v)), x), np.cos(original),
                               rtol=1e-6, atol=1e-8)
    np.testing.assert_array_equal(x, original)


@FAST
@given(x=arrays(np.float64, shapes, elements=values), seed=st.integers(0, 1000))
def test_numerical_gradient_array_is_the_chain_rule(x, seed):
    dout = np.random.default_rng(seed).standard_normal(x.shape)
    original = x.copy()
    grad = numerical_gradient_array(np.tanh, x, dout)
    np.testing.assert_allclose(grad, dout * (1 - np.tanh(original) ** 2), rtol=1e-6, atol=1e-8)
    np.testing.assert_array_equal(x, original)


def test_numerical_gradient_array_of_a_matrix_product():
    rng = np.random.default_rng(0)
    A, W, dout = rng.standard_normal((4, 3)), rng.standard_normal((3, 5)), rng.standard_normal((4, 5))
    np.testing.assert_allclose(numerical_gradient_array(lambda w: A @ w, W, dout), A.T @ dout, rtol=1e-7)


def test_x_is_restored_when_f_raises():
    x = np.array([1.0, 2.0, 3.0])
    calls = []

    def failing(v):
        calls.append(v.copy())
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        numerical_gradient(failing, x)
    assert not np.array_equal(calls[0], [1.0, 2.0, 3.0])  # x was really perturbed in place
    np.testing.assert_array_equal(x, [1.0, 2.0, 3.0])


def test_float32_input_works_and_returns_float64():
    x = np.array([0.5, -1.0], dtype=np.float32)
    grad = numerical_gradient(lambda v: float(np.sum(v.astype(np.float64) ** 2)), x, h=1e-2)
    assert grad.dtype == np.float64 and x.dtype == np.float32
    np.testing.assert_allclose(grad, [1.0, -2.0], rtol=1e-4)


@pytest.mark.parametrize("x, error, match", [
    (np.arange(3), TypeError, "float64"),
    ([1.0, 2.0], TypeError, "NumPy array"),
])
def test_numerical_gradient_rejects_unusable_x(x, error, match):
    with pytest.raises(error, match=match):
        numerical_gradient(np.sum, x)


def test_numerical_gradient_needs_a_scalar_function():
    with pytest.raises(TypeError, match="numerical_gradient_array"):
        numerical_gradient(lambda v: v * 2, np.ones(3))


@FAST
@given(pair=shapes.flatmap(lambda s: st.tuples(arrays(np.float64, s, elements=values),
                                               arrays(np.float64, s, elements=values))))
def test_rel_error_matches_its_definition(pair):
    a, b = pair
    expected = 0.0
    for x, y in zip(a.ravel().tolist(), b.ravel().tolist()):
        expected = max(expected, abs(x - y) / max(1e-8, abs(x) + abs(y)))
    assert rel_error(a, b) == pytest.approx(expected, rel=1e-12, abs=0)


def test_rel_error_known_values():
    assert rel_error(1.0, 3.0) == pytest.approx(0.5)
    assert rel_error(np.zeros(3), np.zeros(3)) == 0.0
    assert rel_error([1e-9], [0.0]) == pytest.approx(0.1)  # the 1e-8 floor of the denominator


def test_rel_error_shape_mismatch_names_both_shapes():
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(3, 2\)"):
        rel_error(np.ones((2, 3)), np.ones((3, 2)))


def test_check_gradient_passes_for_a_correct_gradient():
    x = np.random.default_rng(1).standard_normal((3, 4))
    error = check_gradient(lambda v: np.sum(v ** 3), x, 3 * x ** 2, name="W")
    assert 0.0 <= error <= 1e-7


def test_check_gradient_names_the_worst_entry():
    x = np.random.default_rng(2).standard_normal((3, 4))
    wrong = 2 * x
    wrong[1, 2] *= 1.5
    with pytest.raises(AssertionError) as failure:
        check_gradient(lambda v: np.sum(v ** 2), x, wrong, name="W1")
    message = str(failure.value)
    assert "W1[1, 2]" in message
    found = re.search(r"analytic gradient (\S+), numerical gradient (\S+) \(relative error (\S+),", message)
    analytic, numerical, error = (float(value) for value in found.groups())
    assert analytic == pytest.approx(wrong[1, 2], rel=1e-7)
    assert numerical == pytest.approx(2 * x[1, 2], rel=1e-6)
    assert error == pytest.approx(0.5 / 2.5, rel=1e-3)  # |3x - 2x| / (|3x| + |2x|)
    assert "tolerance 1e-05" in message and "Hint" in message


def test_check_gradient_reports_nan_entries_first():
    x = np.ones(4)
    analytic = 2 * x
    analytic[3] = np.nan
    with pytest.raises(AssertionError, match=r"x\[3\]"):
        check_gradient(lambda v: np.sum(v ** 2), x, analytic)


def test_check_gradient_float32_failure_suggests_float64():
    x = np.linspace(-1, 1, 5, dtype=np.float32)
    with pytest.raises(AssertionError, match="float64"):
        check_gradient(lambda v: np.sum(v ** 3), x, np.zeros(5))


def test_check_gradient_shape_mismatch_is_a_clear_value_error():
    with pytest.raises(ValueError, match=r"shape \(4,\).*shape \(3,\)"):
        check_gradient(np.sum, np.ones(3), np.ones(4), name="b")


def test_check_gradient_array_checks_a_backward_function():
    rng = np.random.default_rng(3)
    x, dout = rng.standard_normal((2, 5)), rng.standard_normal((2, 5))
    relu_backward = dout * (x > 0)
    assert check_gradient_array(lambda v: np.maximum(v, 0), x, dout, relu_backward) <= 1e-7
    with pytest.raises(AssertionError, match="Gradient check failed for h1"):
        check_gradient_array(lambda v: np.maximum(v, 0), x, dout, dout, name="h1")


@FAST
@given(x=arrays(np.float64, array_shapes(min_dims=1, max_dims=2, max_side=4), elements=values))
def test_check_gradient_returns_the_relative_error_of_rel_error(x):
    def f(v):
        return np.sum(np.tanh(v) * v)

    analytic = np.tanh(x) + x * (1 - np.tanh(x) ** 2)
    error = check_gradient(f, x, analytic)
    assert type(error) is float
    assert error == rel_error(analytic, numerical_gradient(f, x))


def test_check_gradient_reports_tiny_errors_instead_of_zero():
    # Lab 4 prints these numbers and asks students to expect "around 1e-9 or smaller", not 0.0
    x = np.random.default_rng(1).standard_normal((3, 4))
    error = check_gradient(lambda v: np.sum(v ** 3), x, 3 * x ** 2, name="W")
    assert 1e-12 < error <= 1e-7
    dout = np.random.default_rng(2).standard_normal((3, 4))
    error = check_gradient_array(np.tanh, x, dout, dout * (1 - np.tanh(x) ** 2))
    assert 1e-13 < error <= 1e-7


def test_a_gradient_of_zero_passes_and_reports_its_relative_error():
    # centred differences of v**3 at 0 give h**2 = 1e-10, below ABSOLUTE_FLOOR: agreement, whatever the ratio
    x = np.zeros(3)
    numerical = numerical_gradient(lambda v: np.sum(v ** 3), x)
    assert np.all((numerical > 0) & (numerical < ABSOLUTE_FLOOR))
    assert gradient_error(np.zeros(3), numerical) == 0.0
    error = check_gradient(lambda v: np.sum(v ** 3), x, np.zeros(3))
    assert error == rel_error(np.zeros(3), numerical) == pytest.approx(1e-2) and error > GRADIENT_TOLERANCE
