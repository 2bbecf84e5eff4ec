"""The shared building blocks of the hidden checks (autograder.hidden.common)."""
import numpy as np
import pytest

from autograder.hidden.common import MEAN_HINT, expect_number


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
