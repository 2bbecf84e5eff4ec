"""Reference initialisers: statistics, exact constants, seeding and the dispatcher."""
import numpy as np
import pytest

from autograder.reference import init


@pytest.mark.parametrize("method, fan_in, fan_out, expected_std", [
    ("he", 400, 500, np.sqrt(2 / 400)),
    ("xavier", 400, 500, np.sqrt(2 / 900)),
    ("normal", 400, 500, 0.01),
])
def test_random_initialisers_have_the_documented_spread(method, fan_in, fan_out, expected_std):
    W = init.initialize(fan_in, fan_out, method, rng=0)
    assert W.shape == (fan_in, fan_out) and W.dtype == np.float32
    # 200,000 samples: the sample std is within ~0.3% of the true one, the mean within ~0.01 std.
    assert W.std() == pytest.approx(expected_std, rel=0.01)
    assert abs(W.mean()) < 0.01 * expected_std


def test_normal_scale_and_random_alias():
    np.testing.assert_array_equal(init.initialize(30, 40, "random", rng=3, scale=0.5),
                                  init.normal(30, 40, scale=0.5, rng=3))
    assert init.normal(300, 400, scale=2.0, rng=1).std() == pytest.approx(2.0, rel=0.01)


def test_zeros_and_constant_are_exact():
    np.testing.assert_array_equal(init.initialize(3, 4, "zeros"), np.zeros((3, 4)))
    np.testing.assert_array_equal(init.initialize(3, 4, "constant", value=0.5), np.full((3, 4), 0.5))
    assert init.zeros(2, 5, dtype=np.float64).dtype == np.float64


@pytest.mark.parametrize("method", ["normal", "xavier", "he"])
def test_seeding_is_reproducible_and_generators_are_accepted(method):
    first = init.initialize(20, 30, method, rng=7)
    np.testing.assert_array_equal(first, init.initialize(20, 30, method, rng=7))
    np.testing.assert_array_equal(first, init.initialize(20, 30, method, rng=np.random.default_rng(7)))
    assert not np.array_equal(first, init.initialize(20, 30, method, rng=8))


def test_a_shared_generator_gives_different_layers():
    rng = np.random.default_rng(0)
    assert not np.array_equal(init.he(10, 10, rng=rng), init.he(10, 10, rng=rng))


def test_float64_and_float32_draw_the_same_weights():
    np.testing.assert_allclose(init.he(5, 6, rng=2, dtype=np.float64), init.he(5, 6, rng=2), rtol=1e-6)


def test_unknown_method_lists_the_choices():
    with pytest.raises(ValueError, match="'zeros'.*'constant'.*'normal'.*'random'.*'xavier'.*'he'"):
        init.initialize(3, 4, "kaiming")
