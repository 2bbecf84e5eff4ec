"""Lab 5's linear SVM baseline: the reference multiclass hinge loss and the hidden check of svm_loss.

The reference is tested against the hand-worked values of the notebook, a loop over the samples and classes,
and centred differences; the hidden check must pass on the reference and fail, with the right hint and
without revealing expected values, on typical mistakes.
"""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograder.hidden import lab5
from autograder.judge.student import secret_seed
from autograder.reference.losses import multiclass_hinge
from course_utils.gradcheck import numerical_gradient
from hidden_checks import SEEDS, failure_message


def hinge_by_loops(scores, y):
    N, C = scores.shape
    return sum(max(0.0, scores[i, j] - scores[i, y[i]] + 1) for i in range(N) for j in range(C) if j != y[i]) / N


def test_the_hand_worked_values_of_the_notebook():
    loss, dscores = multiclass_hinge(np.array([[3.2, 5.1, -1.7]]), np.array([0]))
    assert loss == pytest.approx(2.9) and np.allclose(dscores, [[-1, 1, 0]])
    scores = np.array([[3.2, 5.1, -1.7], [1.3, 4.9, 2.0], [2.2, 2.5, -3.1]])
    loss, dscores = multiclass_hinge(scores, np.array([0, 1, 2]))
    assert loss == pytest.approx((2.9 + 12.9) / 3)
    assert np.allclose(dscores, np.array([[-1, 1, 0], [0, 0, 0], [1, 1, -2]]) / 3)
    assert multiclass_hinge(np.zeros((4, 10)), np.array([0, 3, 9, 5]))[0] == pytest.approx(9.0)


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 6), st.integers(2, 6), st.integers(0, 10_000))
def test_matches_loops_and_centred_differences(assert_gradient_close, N, C, seed):
    rng = np.random.default_rng(seed)
    scores, y = rng.normal(size=(N, C)), rng.integers(0, C, size=N)
    terms = scores - scores[np.arange(N), y][:, None] + 1
    if np.any(np.abs(terms) < 1e-3):  # a kink of the hinge: no derivative there
        return
    loss, dscores = multiclass_hinge(scores, y)
    assert loss == pytest.approx(hinge_by_loops(scores, y), abs=1e-12)
    assert_gradient_close(dscores, numerical_gradient(lambda s: multiclass_hinge(s, y)[0], scores.copy()))


def test_float32_stays_float32():
    loss, dscores = multiclass_hinge(np.ones((2, 3), dtype=np.float32), np.array([0, 2]))
    assert isinstance(loss, float) and dscores.dtype == np.float32


@pytest.mark.parametrize("seed", SEEDS)
def test_the_hidden_check_passes_on_the_reference(seed):
    with secret_seed(seed):
        lab5.check_svm_loss(multiclass_hinge)


def with_own_term(scores, y):
    N = len(scores)
    terms = scores - scores[np.arange(N), y][:, None] + 1
    positive = terms > 0
    return float(np.sum(terms * positive) / N), multiclass_hinge(scores, y)[1]


def summed(scores, y):
    loss, dscores = multiclass_hinge(scores, y)
    return loss * len(scores), dscores


def without_right_class_gradient(scores, y):
    loss, dscores = multiclass_hinge(scores, y)
    dscores = dscores.copy()
    dscores[np.arange(len(scores)), y] = 0
    return loss, dscores


def against_every_label(scores, y):
    terms = scores - scores[:, y] + 1  # (N, N) against the scores of every label; a ValueError unless N = C
    terms[np.arange(len(y)), y] = 0
    return float(np.maximum(terms, 0).sum() / len(y)), multiclass_hinge(scores, y)[1]


def in_float64(scores, y):
    loss, dscores = multiclass_hinge(np.asarray(scores, dtype=np.float64), y)
    return loss, dscores


@pytest.mark.parametrize("student, expected", [
    (with_own_term, "leave out the right class's own term"),
    (summed, "you summed over the samples"),
    (without_right_class_gradient, "the right class gets a gradient too"),
    (in_float64, "has dtype float64 but the inputs were float32"),
    (against_every_label, "it compares each sample's scores with scores[:, y], the scores of every label in y ((N, N): "
                          "it fits the shape of scores only when N = C)"),
])
def test_the_hidden_check_catches(student, expected):
    message = failure_message(lab5.check_svm_loss, student)
    assert expected in message
