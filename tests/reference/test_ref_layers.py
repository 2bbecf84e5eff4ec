"""Reference dense layer: forward by loops, backward by numerical gradients."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from autograder.reference.layers import dense_backward, dense_forward
from course_utils.gradcheck import numerical_gradient_array

dims = st.integers(1, 6)


def test_forward_matches_loops():
    rng = np.random.default_rng(0)
    X, W, b = rng.normal(size=(3, 4)), rng.normal(size=(4, 2)), rng.normal(size=2)
    expected = [[sum(X[n, d] * W[d, k] for d in range(4)) + b[k] for k in range(2)] for n in range(3)]
    out, _ = dense_forward(X, W, b)
    np.testing.assert_allclose(out, expected, rtol=1e-12)


@settings(max_examples=25, deadline=None)
@given(n=dims, d_in=dims, d_out=dims, seed=st.integers(0, 2**32 - 1))
def test_backward_matches_numerical_gradients(n, d_in, d_out, seed, assert_gradient_close):
    rng = np.random.default_rng(seed)
    X, W, b = rng.normal(size=(n, d_in)), rng.normal(size=(d_in, d_out)), rng.normal(size=d_out)
    dout = rng.normal(size=(n, d_out))
    _, cache = dense_forward(X, W, b)
    dX, dW, db = dense_backward(dout, cache)
    assert_gradient_close(dX, numerical_gradient_array(lambda v: dense_forward(v, W, b)[0], X, dout), "dX")
    assert_gradient_close(dW, numerical_gradient_array(lambda v: dense_forward(X, v, b)[0], W, dout), "dW")
    assert_gradient_close(db, numerical_gradient_array(lambda v: dense_forward(X, W, v)[0], b, dout), "db")


def test_skipping_dX_keeps_dW_and_db():
    rng = np.random.default_rng(1)
    X, W, b = rng.normal(size=(5, 3)), rng.normal(size=(3, 2)), np.zeros(2)
    dout = rng.normal(size=(5, 2))
    _, cache = dense_forward(X, W, b)
    full = dense_backward(dout, cache)
    dX, dW, db = dense_backward(dout, cache, compute_dX=False)
    assert dX is None
    np.testing.assert_array_equal(dW, full[1])
    np.testing.assert_array_equal(db, full[2])


def test_float32_stays_float32():
    X = np.ones((2, 3), np.float32)
    out, cache = dense_forward(X, np.ones((3, 4), np.float32), np.zeros(4, np.float32))
    assert out.dtype == np.float32
    assert all(g.dtype == np.float32 for g in dense_backward(np.ones_like(out), cache))


@pytest.mark.parametrize("X_shape, W_shape, b_shape", [((2, 3), (4, 5), (5,)), ((2, 3), (3, 5), (4,)), ((3,), (3, 5), (5,))])
def test_mismatched_shapes_are_rejected(X_shape, W_shape, b_shape):
    with pytest.raises(ValueError, match="dense_forward"):
        dense_forward(np.ones(X_shape), np.ones(W_shape), np.ones(b_shape))
