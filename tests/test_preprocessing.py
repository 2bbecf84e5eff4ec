"""Tests of splits, one-hot encoding and feature scaling in course_utils.data."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from course_utils.data import one_hot, standardize, subtract_mean_image, train_val_split

FAST = settings(max_examples=30, deadline=None)


def _numbered_samples(n, d=3):
    """X whose row i is all i, so every sample can be identified after shuffling."""
    return np.repeat(np.arange(n, dtype=np.float64)[:, None], d, axis=1), np.arange(n)


@FAST
@given(n=st.integers(2, 200), fraction=st.floats(0.01, 0.99), seed=st.integers(0, 1000))
def test_train_val_split_is_a_partition_that_keeps_pairs(n, fraction, seed):
    X, y = _numbered_samples(n)
    X_tr, y_tr, X_val, y_val = train_val_split(X, y, val_fraction=fraction, seed=seed)
    assert len(X_val) == min(max(round(fraction * n), 1), n - 1)
    np.testing.assert_array_equal(np.sort(np.concatenate([y_tr, y_val])), np.arange(n))
    np.testing.assert_array_equal(X_tr[:, 0], y_tr)
    np.testing.assert_array_equal(X_val[:, 0], y_val)


def test_train_val_split_is_seeded_and_shuffles():
    X, y = _numbered_samples(100)
    first, again = train_val_split(X, y, seed=5), train_val_split(X, y, seed=5)
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[1], np.arange(80)), "the samples were not shuffled"
    assert not np.array_equal(first[1], train_val_split(X, y, seed=6)[1])


@FAST
@given(labels=st.lists(st.integers(0, 9), min_size=1, max_size=50), extra=st.integers(0, 3))
def test_one_hot_matches_identity_rows(labels, extra):
    y = np.array(labels)
    C = max(labels) + 1 + extra
    encoded = one_hot(y, C)
    assert encoded.shape == (len(labels), C) and encoded.dtype == np.float32
    np.testing.assert_array_equal(encoded, np.eye(C, dtype=np.float32)[y])
    np.testing.assert_array_equal(np.argmax(one_hot(y), axis=1), y)


@pytest.mark.parametrize("y, num_classes, error, match", [
    (np.array([0, -1]), None, ValueError, ">= 0"),
    (np.array([0.0, 1.5]), None, ValueError, "integer"),
    (np.array([0, 3]), 3, ValueError, "num_classes=3"),
    (np.array([[0], [1]]), None, ValueError, "ravel"),
    (np.array(["a", "b"]), None, TypeError, "integer"),
])
def test_one_hot_rejects_bad_labels(y, num_classes, error, match):
    with pytest.raises(error, match=match):
        one_hot(y, num_classes)


@FAST
@given(n=st.integers(2, 40), d=st.integers(1, 6), seed=st.integers(0, 1000))
def test_standardize_uses_training_statistics(n, d, seed):
    rng = np.random.default_rng(seed)
    X_train = rng.normal(3.0, 2.0, size=(n, d))
    X_test = rng.normal(size=(5, d))
    X_train_s, X_test_s, mean, std = standardize(X_train, X_test)
    np.testing.assert_allclose(mean, X_train.mean(axis=0))
    np.testing.assert_allclose(std, X_train.std(axis=0))
    np.testing.assert_allclose(X_train_s.mean(axis=0), 0.0, atol=1e-9)
    np.testing.assert_allclose(X_test_s, (X_test - mean) / (std + 1e-8))


def test_standardize_handles_constant_features_without_warnings():
    X_s, mean, std = standardize(np.ones((4, 2), dtype=np.float32))
    assert X_s.dtype == np.float32 and np.all(X_s == 0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_subtract_mean_image_keeps_dtype(dtype):
    rng = np.random.default_rng(0)
    X_train, X_test = rng.random((20, 5)).astype(dtype), rng.random((4, 5)).astype(dtype)
    X_train_c, X_test_c, mean = subtract_mean_image(X_train, X_test)
    assert X_train_c.dtype == X_test_c.dtype == mean.dtype == dtype
    np.testing.assert_allclose(mean, X_train.astype(np.float64).mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(X_test_c, X_test - mean, rtol=1e-6)
    assert X_train_c is not X_train


def test_subtract_mean_image_in_place():
    X_train = np.arange(12, dtype=np.float32).reshape(4, 3)
    X_val = np.ones((2, 3), dtype=np.float32)
    expected_val = X_val - X_train.mean(axis=0)
    X_train_c, X_val_c, _ = subtract_mean_image(X_train, X_val, copy=False)
    assert X_train_c is X_train and X_val_c is X_val
    np.testing.assert_allclose(X_train.mean(axis=0), 0.0, atol=1e-6)
    np.testing.assert_allclose(X_val, expected_val)


def test_subtract_mean_image_in_place_refuses_integers():
    with pytest.raises(TypeError, match="copy=True"):
        subtract_mean_image(np.arange(6).reshape(3, 2), copy=False)
