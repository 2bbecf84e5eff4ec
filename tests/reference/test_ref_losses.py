"""Reference losses: independent formulas, known values, numerical gradients, stability, shapes."""
import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from autograder.reference import losses
from course_utils.gradcheck import numerical_gradient

seeds = st.integers(0, 2**32 - 1)
sizes = st.integers(1, 8)


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


@pytest.fixture(scope="session")
def check_gradient(assert_gradient_close):
    """Check the gradient a loss returns against the numerical gradient of its value."""
    def check(loss_fn, x, target):
        _, grad = loss_fn(x, target)
        assert_gradient_close(grad, numerical_gradient(lambda v: loss_fn(v, target)[0], x))
    return check


# ---- binary cross-entropy ------------------------------------------------------------------------

def test_bce_matches_its_definition_sample_by_sample():
    p, y = np.array([0.9, 0.2, 0.6]), np.array([1, 0, 0])
    expected = -(math.log(0.9) + math.log(0.8) + math.log(0.4)) / 3
    assert losses.bce(p, y)[0] == pytest.approx(expected, rel=1e-12)


@settings(max_examples=25, deadline=None)
@given(n=sizes, seed=seeds, column=st.booleans())
def test_bce_gradient(n, seed, column, check_gradient):
    rng = np.random.default_rng(seed)
    shape = (n, 1) if column else (n,)
    check_gradient(losses.bce, rng.uniform(0.05, 0.95, size=shape), rng.integers(0, 2, size=shape))


def test_bce_clips_certain_wrong_answers_to_a_finite_loss():
    loss, dprobs = losses.bce(np.array([0.0, 1.0]), np.array([1, 0]))
    assert loss == pytest.approx(-math.log(1e-12), rel=1e-3)
    assert np.all(np.isfinite(dprobs))


def test_bce_clipping_works_in_float32():
    loss, dprobs = losses.bce(np.array([0.0, 1.0, 1.0], np.float32), np.array([1, 0, 1]))
    assert math.isfinite(loss) and loss > 10
    assert dprobs.dtype == np.float32 and np.all(np.isfinite(dprobs))


@settings(max_examples=25, deadline=None)
@given(n=sizes, seed=seeds)
def test_bce_with_logits_equals_bce_of_sigmoid(n, seed, check_gradient):
    rng = np.random.default_rng(seed)
    z, y = rng.normal(scale=3, size=(n, 1)), rng.integers(0, 2, size=(n, 1))
    loss, dlogits = losses.bce_with_logits(z, y)
    ref_loss, dprobs = losses.bce(sigmoid(z), y)
    assert loss == pytest.approx(ref_loss, rel=1e-10)
    np.testing.assert_allclose(dlogits, dprobs * sigmoid(z) * (1 - sigmoid(z)), rtol=1e-8, atol=1e-14)
    check_gradient(losses.bce_with_logits, z, y)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bce_with_logits_is_exact_for_huge_logits(dtype):
    z, y = np.array([1e4, -1e4, 1e4, -1e4], dtype), np.array([0, 1, 1, 0])
    loss, dlogits = losses.bce_with_logits(z, y)
    assert loss == pytest.approx(2e4 / 4)
    np.testing.assert_array_equal(dlogits, np.array([1, -1, 0, 0]) / 4)
    assert dlogits.dtype == dtype


# ---- softmax cross-entropy -----------------------------------------------------------------------

def neg_log_softmax_at(logits, y):
    exps = np.exp(logits)
    return -np.mean(np.log(exps[np.arange(len(y)), y] / exps.sum(axis=1)))


@settings(max_examples=25, deadline=None)
@given(n=sizes, c=st.integers(2, 7), seed=seeds)
def test_softmax_ce_matches_minus_log_softmax_and_numerical_gradient(n, c, seed, check_gradient):
    rng = np.random.default_rng(seed)
    logits, y = rng.normal(scale=2, size=(n, c)), rng.integers(0, c, size=n)
    assert losses.softmax_ce(logits, y)[0] == pytest.approx(neg_log_softmax_at(logits, y), rel=1e-10)
    check_gradient(losses.softmax_ce, logits, y)


def test_softmax_ce_of_equal_logits_is_log_of_class_count():
    assert losses.softmax_ce(np.zeros((4, 10)), np.arange(4))[0] == pytest.approx(math.log(10), rel=1e-12)


def test_softmax_ce_accepts_one_hot_targets(check_gradient):
    rng = np.random.default_rng(3)
    logits, y = rng.normal(size=(6, 4)), rng.integers(0, 4, size=6)
    loss, dlogits = losses.softmax_ce(logits, y)
    loss_hot, dlogits_hot = losses.softmax_ce(logits, np.eye(4)[y])
    assert loss_hot == pytest.approx(loss, rel=1e-12)
    np.testing.assert_allclose(dlogits_hot, dlogits, rtol=1e-12, atol=1e-15)
    check_gradient(losses.softmax_ce, logits, np.eye(4)[y])


def test_softmax_ce_does_not_modify_the_logits():
    logits = np.array([[1.0, 2.0, 3.0]])
    losses.softmax_ce(logits, np.array([0]))
    np.testing.assert_array_equal(logits, [[1.0, 2.0, 3.0]])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_ce_is_finite_for_huge_logits(dtype):
    logits = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 0.0]], dtype)
    loss, dlogits = losses.softmax_ce(logits, np.array([1, 1]))
    assert loss == pytest.approx(2e4 / 2)
    np.testing.assert_allclose(dlogits, [[0.5, -0.5, 0.0], [0.0, 0.0, 0.0]])
    assert dlogits.dtype == dtype


@pytest.mark.parametrize("y, error", [
    (np.array([0, 3]), ValueError),
    (np.array([-1, 0]), ValueError),
    (np.array([0.0, 1.0]), TypeError),
    (np.array([0, 1, 2]), ValueError),
    (np.ones((2, 4)), ValueError),
])
def test_softmax_ce_rejects_bad_labels(y, error):
    with pytest.raises(error, match="softmax_ce"):
        losses.softmax_ce(np.zeros((2, 3)), y)


# ---- regression losses ---------------------------------------------------------------------------

@settings(max_examples=25, deadline=None)
@given(n=sizes, d=st.integers(1, 4), seed=seeds)
def test_mse_is_half_mean_over_samples_of_squared_error(n, d, seed, check_gradient):
    rng = np.random.default_rng(seed)
    pred, target = rng.normal(size=(n, d)), rng.normal(size=(n, d))
    expected = sum(((pred[i] - target[i]) ** 2).sum() for i in range(n)) / (2 * n)
    assert losses.mse(pred, target)[0] == pytest.approx(expected, rel=1e-12)
    check_gradient(losses.mse, pred, target)


@settings(max_examples=25, deadline=None)
@given(n=sizes, d=st.integers(1, 4), seed=seeds)
def test_mae_is_mean_over_samples_of_absolute_error(n, d, seed, check_gradient):
    rng = np.random.default_rng(seed)
    target = rng.normal(size=(n, d))
    pred = target + rng.choice([-1, 1], size=(n, d)) * rng.uniform(0.1, 1, size=(n, d))
    expected = sum(np.abs(pred[i] - target[i]).sum() for i in range(n)) / n
    assert losses.mae(pred, target)[0] == pytest.approx(expected, rel=1e-12)
    check_gradient(losses.mae, pred, target)


def test_mae_subgradient_is_zero_where_prediction_is_exact():
    _, dpred = losses.mae(np.array([1.0, 2.0]), np.array([1.0, 0.0]))
    np.testing.assert_array_equal(dpred, [0.0, 0.5])


# ---- conventions shared by all losses ------------------------------------------------------------

PAIRED_LOSSES = [losses.bce, losses.bce_with_logits, losses.mse, losses.mae]


@pytest.mark.parametrize("loss_fn", PAIRED_LOSSES)
def test_flat_and_column_targets_give_the_same_loss(loss_fn):
    pred, y = np.array([0.2, 0.7, 0.4]), np.array([0, 1, 1])
    flat = loss_fn(pred, y)
    column = loss_fn(pred[:, None], y)
    assert column[0] == pytest.approx(flat[0], rel=1e-12)
    assert column[1].shape == (3, 1)
    np.testing.assert_allclose(column[1][:, 0], flat[1], rtol=1e-12)


@pytest.mark.parametrize("loss_fn", PAIRED_LOSSES)
def test_mismatched_shapes_are_rejected(loss_fn):
    with pytest.raises(ValueError, match="shape"):
        loss_fn(np.full((3, 1), 0.5), np.zeros(4))


@pytest.mark.parametrize("loss_fn", PAIRED_LOSSES + [losses.softmax_ce])
def test_float32_predictions_keep_float32_gradients(loss_fn):
    pred = np.full((4, 1), 0.3, np.float32) if loss_fn is not losses.softmax_ce else np.zeros((4, 3), np.float32)
    y = np.array([0, 1, 1, 0])
    loss, grad = loss_fn(pred, y)
    assert isinstance(loss, float) and grad.dtype == np.float32
