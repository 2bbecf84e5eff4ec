"""Tests of the 2-D toy data sets in course_utils.data."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from course_utils.data import make_circles, make_linear, make_spirals, make_xor


def test_xor_truth_table():
    X, y = make_xor()
    assert X.shape == (4, 2) and y.dtype == np.int64
    np.testing.assert_array_equal(y, np.logical_xor(X[:, 0], X[:, 1]).astype(np.int64))
    np.testing.assert_array_equal(X, [[0, 0], [0, 1], [1, 0], [1, 1]])


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 300), seed=st.integers(0, 2**31))
def test_noisy_xor_is_balanced_and_labelled_by_nearest_corner(n, seed):
    X, y = make_xor(n, noise=0.05, seed=seed, dtype=np.float32)
    assert X.shape == (n, 2) and X.dtype == np.float32 and y.shape == (n,) and y.dtype == np.int64
    assert abs(int(y.sum()) - (n - int(y.sum()))) <= 1
    corner = np.round(X).astype(int)  # noise 0.05 never moves a point past the midpoint 0.5 in practice
    np.testing.assert_array_equal(y, corner[:, 0] ^ corner[:, 1])


def test_xor_is_reproducible_and_seed_dependent():
    np.testing.assert_array_equal(make_xor(50, seed=3)[0], make_xor(50, seed=3)[0])
    assert not np.array_equal(make_xor(50, seed=3)[0], make_xor(50, seed=4)[0])


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 300), w=st.tuples(st.floats(-3, 3), st.floats(-3, 3)), b=st.floats(-0.5, 0.5))
def test_linear_labels_follow_the_line(n, w, b):
    X, y = make_linear(n, weights=w, bias=b, seed=1)
    assert X.shape == (n, 2) and np.all(np.abs(X) <= 1)
    np.testing.assert_array_equal(y, (X[:, 0] * w[0] + X[:, 1] * w[1] + b > 0).astype(np.int64))


def test_linear_noise_flips_the_requested_fraction():
    X, y = make_linear(400, noise=0.1, seed=2)
    clean = (X @ np.array([1.0, -1.0]) > 0).astype(np.int64)
    assert np.count_nonzero(y != clean) == 40


def test_circles_radii_and_classes():
    X, y = make_circles(201, noise=0.0, factor=0.3, seed=0)
    radius = np.hypot(X[:, 0], X[:, 1])
    np.testing.assert_allclose(radius[y == 0], 1.0)
    np.testing.assert_allclose(radius[y == 1], 0.3)
    assert np.count_nonzero(y == 0) == 101


@settings(max_examples=25, deadline=None)
@given(n_classes=st.integers(2, 6), per_class=st.integers(1, 40))
def test_spirals_shapes_and_class_sizes(n_classes, per_class):
    n = n_classes * per_class + 1
    X, y = make_spirals(n, n_classes=n_classes, seed=0)
    assert X.shape == (n, 2) and y.dtype == np.int64
    sizes = np.bincount(y, minlength=n_classes)
    assert sizes.size == n_classes and sizes.max() - sizes.min() <= 1
    assert np.all(np.hypot(X[:, 0], X[:, 1]) <= 1 + 1e-12)


def test_spirals_without_noise_follow_cs231n_arms():
    X, y = make_spirals(30, n_classes=3, noise=0.0)
    radius = np.hypot(X[:, 0], X[:, 1])
    for k in range(3):
        r = np.sort(radius[y == k])
        np.testing.assert_allclose(r, np.linspace(0, 1, 10), atol=1e-12)
        outer = X[y == k][np.argmax(radius[y == k])]  # r = 1, angle 4(k + 1)
        np.testing.assert_allclose(outer, [np.sin(4 * (k + 1)), np.cos(4 * (k + 1))], atol=1e-12)


@pytest.mark.parametrize("call, match", [
    (lambda: make_xor(0), "n_samples"),
    (lambda: make_xor(10, noise=-1), "noise"),
    (lambda: make_linear(10, noise=1.5), "noise"),
    (lambda: make_circles(10, factor=1.0), "factor"),
    (lambda: make_spirals(10, n_classes=1), "n_classes"),
    (lambda: make_spirals(2, n_classes=3), "n_samples"),
])
def test_bad_arguments_raise_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_integer_dtype_is_refused():
    with pytest.raises(TypeError, match="floating"):
        make_linear(10, dtype=np.int32)
