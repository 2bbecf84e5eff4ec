"""Lab 7's reference (networks of any depth with a choice of activation): independent formulas, numerical
gradients, the collapse of linear stacks, dead units and success rates counted by hand."""
import numpy as np
import pytest

from autograder.reference import architectures as arch
from course_utils import data
from course_utils.gradcheck import numerical_gradient


def network(rng, sizes):
    return {key: value for layer, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1)
            for key, value in ((f"W{layer}", rng.normal(size=(fan_in, fan_out))),
                               (f"b{layer}", rng.normal(scale=0.5, size=fan_out)))}


@pytest.mark.parametrize("name, value, derivative", [
    ("identity", lambda z: z, lambda z: np.ones_like(z)),
    ("sigmoid", lambda z: 1 / (1 + np.exp(-z)), lambda z: np.exp(-z) / (1 + np.exp(-z)) ** 2),
    ("tanh", np.tanh, lambda z: 1 / np.cosh(z) ** 2),
    ("relu", lambda z: np.where(z > 0, z, 0.0), lambda z: (z > 0).astype(float)),
])
def test_activations_return_their_value_and_derivative(name, value, derivative):
    Z = np.random.default_rng(0).normal(scale=3.0, size=(4, 5))
    A, dA = arch.ACTIVATIONS[name](Z)
    np.testing.assert_allclose(A, value(Z), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(dA, derivative(Z), rtol=1e-9, atol=1e-15)
    A32, dA32 = arch.ACTIVATIONS[name](Z.astype(np.float32))
    assert A32.dtype == dA32.dtype == np.float32


def test_identity_returns_a_copy():
    Z = np.arange(6.0).reshape(2, 3)
    A, _ = arch.identity(Z)
    A[0, 0] = 99.0
    assert Z[0, 0] == 0.0


def test_forward_computes_the_layers_and_keeps_what_backward_needs():
    rng = np.random.default_rng(1)
    params, X = network(rng, [3, 4, 2, 1]), rng.normal(size=(5, 3))
    scores, caches = arch.forward(params, X, "tanh")
    A1 = np.tanh(X @ params["W1"] + params["b1"])
    A2 = np.tanh(A1 @ params["W2"] + params["b2"])
    np.testing.assert_allclose(scores, A2 @ params["W3"] + params["b3"], rtol=1e-12)
    assert len(caches) == 3 and caches[-1][1] is None
    np.testing.assert_allclose(caches[1][0], A1)
    np.testing.assert_allclose(caches[1][1], 1 - A2 ** 2)


def test_bce_loss_is_the_mean_cross_entropy_of_the_sigmoid():
    scores, y = np.array([[2.0], [-1.0], [0.0]]), np.array([1, 0, 1])
    p = 1 / (1 + np.exp(-scores[:, 0]))
    loss, dscores = arch.bce_loss(scores, y)
    assert loss == pytest.approx(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))
    np.testing.assert_allclose(dscores, ((p - y) / 3)[:, None])
    big, _ = arch.bce_loss(np.array([[1e4], [-1e4]]), np.array([0, 1]))
    assert big == pytest.approx(1e4)


@pytest.mark.parametrize("activation", ["identity", "sigmoid", "tanh", "relu"])
@pytest.mark.parametrize("sizes", [[3, 1], [2, 5, 1], [3, 4, 4, 2, 1], [2, 3, 6, 3, 5, 1]])
def test_backward_matches_numerical_gradients(activation, sizes, assert_gradient_close):
    rng = np.random.default_rng(len(sizes))
    params, X, y = network(rng, sizes), rng.normal(size=(7, sizes[0])), rng.integers(0, 2, size=7)
    _, grads = arch.loss_and_grads(params, X, y, activation)
    assert list(grads) == list(params)
    for key in params:
        numerical = numerical_gradient(lambda _: arch.loss_and_grads(params, X, y, activation)[0], params[key])
        assert_gradient_close(grads[key], numerical, f"{activation} {sizes} {key}")


@pytest.mark.parametrize("sizes", [[3, 1], [2, 2, 1], [3, 5, 2, 4], [4, 4, 4, 4, 2]])
def test_a_stack_of_linear_layers_collapses_to_one(sizes):
    rng = np.random.default_rng(2)
    params, X = network(rng, sizes), rng.normal(size=(6, sizes[0]))
    W, b = arch.collapse_linear(params)
    assert W.shape == (sizes[0], sizes[-1]) and b.shape == (sizes[-1],)
    np.testing.assert_allclose(X @ W + b, arch.forward(params, X, "identity")[0], rtol=1e-10, atol=1e-12)


def test_layer_gradient_norms_are_the_norms_of_the_weight_gradients_layer_1_first():
    rng = np.random.default_rng(3)
    params, X, y = network(rng, [2, 5, 3, 1]), rng.normal(size=(6, 2)), np.array([0, 1, 1, 0, 1, 0])
    _, grads = arch.loss_and_grads(params, X, y, "sigmoid")
    expected = [np.sqrt(np.sum(grads[f"W{layer}"] ** 2)) for layer in (1, 2, 3)]
    np.testing.assert_allclose(arch.layer_gradient_norms(params, X, y, "sigmoid"), expected, rtol=1e-12)


def test_gradients_vanish_through_deep_sigmoid_networks_and_not_through_relu_with_he_weights():
    X, y = data.make_xor(n_samples=200, noise=0.15, seed=0)
    X = X - 0.5
    sigmoid = arch.layer_gradient_norms(arch.init_network([2] + [32] * 7 + [1], "xavier", seed=0), X, y, "sigmoid")
    relu = arch.layer_gradient_norms(arch.init_network([2] + [32] * 7 + [1], "he", seed=0), X, y, "relu")
    assert sigmoid[0] / sigmoid[-1] < 1e-4 and np.all(np.diff(sigmoid) > 0)
    assert 0.1 < relu[1:].min() / relu[1:].max()


def test_dead_fraction_counts_units_that_are_zero_for_every_sample():
    params = {"W1": np.array([[1.0, -1.0, 0.0], [2.0, -3.0, 0.0]]), "b1": np.zeros(3),
              "W2": np.array([[1.0, -1.0], [0.0, 0.0], [0.0, 0.0]]), "b2": np.zeros(2),
              "W3": np.ones((2, 1)), "b3": np.zeros(1)}
    np.testing.assert_allclose(arch.dead_fraction(params, np.eye(2)), [2 / 3, 1 / 2])
    alive_once = {"W1": np.array([[1.0, 1.0], [-1.0, -1.0]]), "b1": np.array([0.0, -5.0]),
                  "W2": np.ones((2, 1)), "b2": np.zeros(1)}
    np.testing.assert_allclose(arch.dead_fraction(alive_once, np.eye(2)), [0.5])


def test_train_works_on_a_copy_and_records_one_loss_per_step():
    X, y = data.make_xor(n_samples=40, noise=0.1, seed=1, dtype=np.float32)
    start = arch.init_network([2, 4, 1], "xavier", seed=0)
    before = {key: value.copy() for key, value in start.items()}
    params, losses = arch.train(start, X, y, "tanh", 0.5, 30)
    assert len(losses) == 30 and losses[-1] < losses[0]
    assert all(np.array_equal(start[key], before[key]) for key in start)
    assert params["W1"].dtype == np.float32
    assert losses[0] == pytest.approx(arch.bce_loss(arch.forward(start, X, "tanh")[0], y)[0])


def test_success_rate_is_the_share_of_seeds_that_reach_the_threshold():
    X, y = data.make_xor(n_samples=60, noise=0.15, seed=0, dtype=np.float32)
    accuracies = [arch.final_accuracy(2, seed, X, y, 1.2, 150) for seed in range(4)]
    for threshold in sorted(set(accuracies)):
        expected = sum(a >= threshold for a in accuracies) / 4
        assert arch.success_rate(2, range(4), X, y, lr=1.2, iterations=150, threshold=threshold) == expected


def test_the_width_sweep_of_the_lab_succeeds_more_often_with_more_units():
    """The lab's measured figures: 0, 2, 4, 4 and 5 of 5 seeds for 1, 2, 3, 4 and 8 hidden units."""
    X, y = data.make_xor(n_samples=200, noise=0.15, seed=0, dtype=np.float32)
    rates = [arch.success_rate(n_h, range(5), X, y, iterations=500) for n_h in (1, 2, 3, 4, 8)]
    assert rates == [0.0, 0.4, 0.8, 0.8, 1.0]


@pytest.mark.optional
@pytest.mark.parametrize("activation", ["identity", "sigmoid", "tanh", "relu"])
def test_gradients_match_pytorch_autograd(activation):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    params, X, y = network(rng, [3, 5, 4, 1]), rng.normal(size=(8, 3)), rng.integers(0, 2, size=8)
    loss, grads = arch.loss_and_grads(params, X, y, activation)
    tensors = {key: torch.tensor(value, requires_grad=True) for key, value in params.items()}
    h = torch.tensor(X)
    g = {"identity": lambda t: t, "sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu}[activation]
    for layer in (1, 2, 3):
        h = h @ tensors[f"W{layer}"] + tensors[f"b{layer}"]
        h = g(h) if layer < 3 else h
    torch_loss = torch.nn.functional.binary_cross_entropy_with_logits(h[:, 0], torch.tensor(y, dtype=torch.float64))
    torch_loss.backward()
    assert loss == pytest.approx(torch_loss.item(), rel=1e-12)
    for key, tensor in tensors.items():
        np.testing.assert_allclose(grads[key], tensor.grad.numpy(), rtol=1e-9, atol=1e-12)
