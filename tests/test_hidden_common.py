"""The shared building blocks of the hidden checks (autograder.hidden.common)."""
import warnings

import numpy as np
import pytest

from autograder.hidden.common import MEAN_HINT, bias_hint, expect_number, must_raise, random_sizes


@pytest.mark.parametrize("value", [2, 2.0, np.float32(2.0), np.int64(2), np.array(2.0), np.array([2.0]),
                                   np.array([[2]], dtype=np.int8)])
def test_a_single_real_number_of_any_kind_comes_back_as_a_float(value):
    number = expect_number(value, "the cost")
    assert type(number) is float and number == 2.0


@pytest.mark.parametrize("value", [True, np.bool_(True), "2.0", [2.0], None, 2 + 0j, np.array([1 + 2j]),
                                   np.array([None], dtype=object)])
def test_anything_else_is_refused_with_its_type(value):
    with pytest.raises(AssertionError, match=r"^the cost should be a single number, but it is a \w+\.$"):
        expect_number(value, "the cost")


def test_several_numbers_are_refused_with_their_shape_and_the_hint():
    with pytest.raises(AssertionError) as refused:
        expect_number(np.ones((4, 1)), "compute_cost: the cost", MEAN_HINT)
    assert str(refused.value) == ("compute_cost: the cost should be a single number, but it has shape (4, 1): "
                                  "sum over the samples and divide by N.")


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf, np.array([np.nan])])
def test_a_number_that_is_not_finite_is_refused_with_its_likely_causes(value):
    with pytest.raises(AssertionError, match="the log of 0 or an overflowing exp"):
        expect_number(value, "the cost")


def initialize(n_x, method="he"):
    """A student's function with a method argument; only 'he' is valid."""
    if method != "he":
        raise ValueError(f"unknown method {method!r}: use 'he'")
    return np.zeros(n_x)


def accepting(n_x, method="he"):
    return np.zeros(n_x)


def looking_up(n_x, method="he"):
    return {"he": np.zeros(n_x)}[method]


def unfinished(n_x, method="he"):
    raise NotImplementedError()


@pytest.mark.parametrize("student, message", [
    (accepting,
     "accepting accepted the unknown method 'uniform'. It should raise a ValueError that lists the valid methods."),
    (looking_up, "looking_up raised KeyError: 'uniform' for the unknown method 'uniform'. It should raise a "
                 "ValueError that lists the valid methods."),
    (unfinished,
     "unfinished is not implemented yet: it still raises NotImplementedError. Replace that line with your code."),
])
def test_must_raise_says_what_the_function_did_instead(student, message):
    with pytest.raises(AssertionError) as failure:
        must_raise(student, 3, method="uniform", case="the unknown method 'uniform'",
                   should="that lists the valid methods")
    assert str(failure.value) == message


def test_must_raise_passes_the_error_it_asks_for_and_noise_costs_nothing():
    def noisy(learning_rate):
        warnings.warn("a harmless warning", RuntimeWarning)
        np.log(np.zeros(1))
        if not learning_rate > 0:
            raise ValueError("the learning rate must be > 0")

    saved = np.geterr()
    try:
        np.seterr(all="raise")  # as a notebook may set it: the call still ignores floating-point errors
        must_raise(initialize, 3, "uniform", case="method='uniform'")
        must_raise(noisy, -1.0, case="learning_rate=-1.0")
        with pytest.raises(AssertionError, match=r"^noisy accepted learning_rate=0.5\. It should raise a TypeError\.$"):
            must_raise(noisy, 0.5, case="learning_rate=0.5", exc=TypeError)
    finally:
        np.seterr(**saved)


def test_random_sizes_are_drawn_from_each_range_in_order():
    draws = [random_sizes(np.random.default_rng(seed), (3, 13), (2, 3), (1, 7)) for seed in range(50)]
    assert all(type(n) is int and 3 <= n < 13 and d == 2 and 1 <= c < 7 for n, d, c in draws)
    assert random_sizes(np.random.default_rng(1), (3, 13), (1, 7)) == random_sizes(np.random.default_rng(1), (3, 13),
                                                                                    (1, 7))


@pytest.mark.parametrize("shape, N, hint", [
    ((1, 4), 6, "did you keep the batch axis? Sum over axis 0 without keepdims"),
    ((6, 4), 6, "did you sum over the samples (axis 0)?"),
    ((6,), 6, "did you sum over the samples (axis 0)?"),
    ((), 6, "sum over axis 0 only"),
    ((4, 1), None, "biases are 1-D arrays such as np.zeros(n_h), not 2-D columns or rows"),
    ((5,), None, ""),
])
def test_a_bias_of_the_wrong_shape_gets_the_hint_of_its_likely_mistake(shape, N, hint):
    assert bias_hint(shape, N) == hint
