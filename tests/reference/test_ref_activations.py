"""Reference activations: independent formulas, numerical gradients, stability, dtypes."""
import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from autograder.reference import activations as act
from course_utils.gradcheck import numerical_gradient_array

NAMES = ["sigmoid", "tanh", "relu", "leaky_relu", "softmax"]
shapes = st.lists(st.integers(1, 6), min_size=1, max_size=3).map(tuple)


def away_from_zero(rng, shape):
    """float64 values with |x| in [0.1, 3]: no ReLU kink within a finite-difference step."""
    return rng.choice([-1.0, 1.0], size=shape) * rng.uniform(0.1, 3.0, size=shape)


def softmax_by_loops(x):
    out = np.empty_like(x)
    for index in np.ndindex(x.shape[:-1]):
        row = x[index]
        exps = [math.exp(v - max(row)) for v in row]
        out[index] = [e / sum(exps) for e in exps]
    return out


@pytest.mark.parametrize("name, independent", [
    ("sigmoid", lambda x: 1 / (1 + np.exp(-x))),
    ("tanh", lambda x: (np.exp(x) - np.exp(-x)) / (np.exp(x) + np.exp(-x))),
    ("relu", lambda x: x * (x > 0)),
    ("leaky_relu", lambda x: np.where(x > 0, x, 0.01 * x)),
    ("softmax", softmax_by_loops),
])
def test_matches_independent_formula_on_moderate_inputs(name, independent):
    x = np.random.default_rng(0).normal(scale=3.0, size=(4, 7))
    np.testing.assert_allclose(getattr(act, name)(x), independent(x), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name", NAMES)
def test_forward_returns_the_plain_function_value(name):
    x = np.random.default_rng(1).normal(size=(3, 5))
    out, _ = getattr(act, f"{name}_forward")(x)
    np.testing.assert_array_equal(out, getattr(act, name)(x))


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=25, deadline=None)
@given(shape=shapes, seed=st.integers(0, 2**32 - 1))
def test_backward_matches_numerical_gradient(name, shape, seed, assert_gradient_close):
    rng = np.random.default_rng(seed)
    x = away_from_zero(rng, shape)
    dout = rng.normal(size=shape)
    forward, backward = getattr(act, f"{name}_forward"), getattr(act, f"{name}_backward")
    _, cache = forward(x)
    dx = backward(dout, cache)
    dx_num = numerical_gradient_array(lambda v: forward(v)[0], x, dout)
    assert_gradient_close(dx, dx_num)


def test_leaky_relu_uses_its_alpha_in_both_directions():
    x = np.array([-2.0, 3.0])
    out, cache = act.leaky_relu_forward(x, alpha=0.2)
    np.testing.assert_allclose(out, [-0.4, 3.0])
    np.testing.assert_allclose(act.leaky_relu_backward(np.ones(2), cache), [0.2, 1.0])


def test_relu_gradient_at_exactly_zero_is_zero():
    _, cache = act.relu_forward(np.array([-1.0, 0.0, 1.0]))
    np.testing.assert_array_equal(act.relu_backward(np.ones(3), cache), [0.0, 0.0, 1.0])


@settings(max_examples=25, deadline=None)
@given(shape=shapes, seed=st.integers(0, 2**32 - 1), shift=st.floats(-50, 50))
def test_softmax_rows_are_distributions_invariant_to_shifts(shape, seed, shift):
    x = np.random.default_rng(seed).normal(scale=5.0, size=shape)
    probs = act.softmax(x)
    assert np.all(probs >= 0)
    np.testing.assert_allclose(probs.sum(axis=-1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(act.softmax(x + shift), probs, rtol=1e-9, atol=1e-15)


def test_softmax_backward_is_the_full_jacobian_product():
    rng = np.random.default_rng(2)
    x, dout = rng.normal(size=5), rng.normal(size=5)
    p = act.softmax(x)
    jacobian = np.diag(p) - np.outer(p, p)
    np.testing.assert_allclose(act.softmax_backward(dout, act.softmax_forward(x)[1]), jacobian @ dout, rtol=1e-12)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_huge_inputs_are_finite_silent_and_keep_dtype(name, dtype):
    x = np.array([[-1e4, -500.0, 0.0, 500.0, 1e4]], dtype=dtype)
    forward, backward = getattr(act, f"{name}_forward"), getattr(act, f"{name}_backward")
    out, cache = forward(x)
    dx = backward(np.ones_like(x), cache)
    assert out.dtype == dtype and dx.dtype == dtype
    assert np.all(np.isfinite(out)) and np.all(np.isfinite(dx))


def test_saturated_values_are_the_limits():
    x = np.array([-1e4, 1e4])
    np.testing.assert_array_equal(act.sigmoid(x), [0.0, 1.0])
    np.testing.assert_array_equal(act.tanh(x), [-1.0, 1.0])
    np.testing.assert_array_equal(act.softmax(x), [0.0, 1.0])


def test_integer_input_gives_float_output():
    assert act.relu(np.array([-1, 2])).dtype == np.float64
    np.testing.assert_allclose(act.sigmoid(np.array([0])), [0.5])
