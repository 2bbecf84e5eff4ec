"""Reference optimisers: hand-computed steps, no mutation, weight decay, class/function agreement."""
import numpy as np
import pytest

from autograder.reference import optim


def test_sgd_step_by_hand():
    np.testing.assert_allclose(optim.sgd_step(np.array([1.0, -2.0]), np.array([0.5, 4.0]), 0.1), [0.95, -2.4])


def test_momentum_two_steps_by_hand():
    w, v = optim.momentum_step(np.array([1.0]), np.array([2.0]), np.zeros(1), lr=0.1, beta=0.9)
    np.testing.assert_allclose((w, v), ([0.8], [2.0]))
    w, v = optim.momentum_step(w, np.array([1.0]), v, lr=0.1, beta=0.9)
    np.testing.assert_allclose((w, v), ([0.8 - 0.1 * 2.8], [2.8]))


def test_rmsprop_first_step_by_hand():
    w, s = optim.rmsprop_step(np.array([1.0]), np.array([3.0]), np.zeros(1), lr=0.01, decay=0.9, eps=1e-8)
    np.testing.assert_allclose(s, [0.1 * 9])
    np.testing.assert_allclose(w, [1.0 - 0.01 * 3.0 / (np.sqrt(0.9) + 1e-8)])


def test_adam_first_step_moves_every_weight_by_lr_against_its_gradient_sign():
    grad = np.array([1e-3, -5.0, 200.0])
    w, m, v = optim.adam_step(np.zeros(3), grad, np.zeros(3), np.zeros(3), 1, 0.01, 0.9, 0.999, 1e-8)
    np.testing.assert_allclose(w, -0.01 * np.sign(grad), rtol=1e-4)
    np.testing.assert_allclose(m, 0.1 * grad)
    np.testing.assert_allclose(v, 0.001 * grad**2)


@pytest.mark.parametrize("step, state", [
    (lambda w, g, s: optim.sgd_step(w, g, 0.1), ()),
    (lambda w, g, s: optim.momentum_step(w, g, s[0], 0.1, 0.9), (np.ones(2),)),
    (lambda w, g, s: optim.rmsprop_step(w, g, s[0], 0.1, 0.9, 1e-8), (np.ones(2),)),
    (lambda w, g, s: optim.adam_step(w, g, s[0], s[1], 3, 0.1, 0.9, 0.999, 1e-8), (np.ones(2), np.ones(2))),
])
def test_step_functions_never_modify_their_inputs(step, state):
    w, g = np.array([1.0, 2.0]), np.array([0.5, -0.5])
    step(w, g, state)
    np.testing.assert_array_equal(w, [1.0, 2.0])
    np.testing.assert_array_equal(g, [0.5, -0.5])
    for s in state:
        np.testing.assert_array_equal(s, np.ones(2))


RULES = [optim.SGD, optim.Momentum, optim.RMSprop, optim.Adam]


def toy_params():
    return {"W1": np.ones((2, 3), np.float32), "b1": np.ones(3, np.float32)}


@pytest.mark.parametrize("rule_class", RULES)
def test_rules_update_in_place_in_the_parameters_dtype(rule_class):
    params = toy_params()
    W = params["W1"]
    rule = rule_class()
    rule(params, {"W1": np.full((2, 3), 0.5, np.float32), "b1": np.full(3, 0.5, np.float32)}, 0.1)
    assert params["W1"] is W and params["W1"].dtype == np.float32
    assert np.all(W < 1)
    for state in rule.state.values():
        arrays = state if isinstance(state, tuple) else (state,)
        assert all(a.dtype == np.float32 for a in arrays if isinstance(a, np.ndarray))


@pytest.mark.parametrize("rule_class", RULES)
def test_weight_decay_shrinks_weights_and_never_biases(rule_class):
    params = toy_params()
    zero_grads = {key: np.zeros_like(value) for key, value in params.items()}
    rule_class(weight_decay=0.5)(params, zero_grads, 0.1)
    np.testing.assert_array_equal(params["b1"], 1.0)
    assert np.all(params["W1"] < 1)


def test_sgd_weight_decay_is_l2_gradient():
    params = toy_params()
    optim.SGD(weight_decay=0.5)(params, {"W1": np.zeros((2, 3), np.float32), "b1": np.zeros(3, np.float32)}, 0.1)
    np.testing.assert_allclose(params["W1"], 1 - 0.1 * 0.5)


@pytest.mark.parametrize("rule, step", [
    (optim.Momentum(beta=0.8), lambda w, g, s, t: optim.momentum_step(w, g, s[0], 0.05, 0.8)),
    (optim.RMSprop(decay=0.9, eps=1e-6), lambda w, g, s, t: optim.rmsprop_step(w, g, s[0], 0.05, 0.9, 1e-6)),
    (optim.Adam(beta1=0.8, beta2=0.99), lambda w, g, s, t: optim.adam_step(w, g, *s, t, 0.05, 0.8, 0.99, 1e-8)),
])
def test_rules_follow_their_step_function_over_several_steps(rule, step):
    rng = np.random.default_rng(0)
    params = {"W1": rng.normal(size=(3, 2))}
    w, state = params["W1"].copy(), [np.zeros((3, 2)), np.zeros((3, 2))]
    for t in range(1, 5):
        grad = rng.normal(size=(3, 2))
        rule(params, {"W1": grad}, 0.05)
        w, *state = step(w, grad, state, t)
        np.testing.assert_allclose(params["W1"], w, rtol=1e-12)


@pytest.mark.optional
@pytest.mark.parametrize("name", ["Momentum", "RMSprop", "Adam"])
def test_rules_match_pytorch_optimisers(name):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    w0 = rng.normal(size=(4, 3))
    ours, theirs = {"W1": w0.copy()}, torch.tensor(w0.copy(), requires_grad=True)
    rule, torch_opt = {
        "Momentum": (optim.Momentum(0.9, weight_decay=0.01), torch.optim.SGD([theirs], lr=0.01, momentum=0.9, weight_decay=0.01)),
        "RMSprop": (optim.RMSprop(0.99, 1e-8, weight_decay=0.01), torch.optim.RMSprop([theirs], lr=0.01, alpha=0.99, eps=1e-8, weight_decay=0.01)),
        "Adam": (optim.Adam(0.9, 0.999, 1e-8, weight_decay=0.01), torch.optim.Adam([theirs], lr=0.01, eps=1e-8, weight_decay=0.01)),
    }[name]
    for _ in range(5):
        grad = rng.normal(size=(4, 3))
        rule(ours, {"W1": grad}, 0.01)
        theirs.grad = torch.tensor(grad)
        torch_opt.step()
        np.testing.assert_allclose(ours["W1"], theirs.detach().numpy(), rtol=1e-10, atol=1e-12)
