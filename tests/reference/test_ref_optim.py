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


# ----------------------------------------------------------------------------- Lab 6: update(params, grads, state, lr, ...)

LAB6_RULES = {
    "sgd_update": (optim.sgd_update, lambda: optim.SGD(), {}),
    "momentum_update": (optim.momentum_update, lambda: optim.Momentum(beta=0.8), {"beta": 0.8}),
    "rmsprop_update": (optim.rmsprop_update, lambda: optim.RMSprop(decay=0.7, eps=1e-3), {"beta": 0.7, "eps": 1e-3}),
    "adam_update": (optim.adam_update, lambda: optim.Adam(beta1=0.8, beta2=0.95, eps=1e-4),
                    {"beta1": 0.8, "beta2": 0.95, "eps": 1e-4}),
}


def test_iterate_minibatches_covers_every_sample_once_in_the_drawn_order():
    X, y = np.arange(22.0).reshape(11, 2), np.arange(11)
    batches = optim.iterate_minibatches(X, y, 4, np.random.default_rng(3))
    assert [len(b) for _, b in batches] == [4, 4, 3]
    order = np.random.default_rng(3).permutation(11)
    np.testing.assert_array_equal(np.concatenate([b for _, b in batches]), order)
    for X_batch, y_batch in batches:
        np.testing.assert_array_equal(X_batch, X[y_batch])


def test_iterate_minibatches_draws_a_new_order_every_epoch():
    X, y = np.random.default_rng(0).normal(size=(30, 3)), np.arange(30)
    rng = np.random.default_rng(5)
    epochs = [np.concatenate([b for _, b in optim.iterate_minibatches(X, y, 7, rng)]) for _ in range(2)]
    assert not np.array_equal(*epochs)
    for order in epochs:
        np.testing.assert_array_equal(np.sort(order), np.arange(30))


def test_lab6_updates_by_hand():
    params, state = {"w": np.array([1.0])}, {}
    optim.momentum_update(params, {"w": np.array([2.0])}, state, lr=0.1, beta=0.9)
    optim.momentum_update(params, {"w": np.array([1.0])}, state, lr=0.1, beta=0.9)
    np.testing.assert_allclose((params["w"], state["v"]["w"]), ([0.52], [2.8]))
    params, state = {"w": np.array([1.0])}, {}
    optim.rmsprop_update(params, {"w": np.array([3.0])}, state, lr=0.01, beta=0.9)
    np.testing.assert_allclose((params["w"], state["s"]["w"]), ([1 - 0.03 / np.sqrt(0.9)], [0.9]))
    grad = np.array([1e-3, -5.0, 200.0])
    params, state = {"w": np.zeros(3)}, {}
    for step in (1, 2):
        optim.adam_update(params, {"w": grad}, state, lr=0.01)
        np.testing.assert_allclose(params["w"], -0.01 * step * np.sign(grad), rtol=1e-4)
    assert state["t"] == 2


def test_lab6_defaults():
    import inspect
    defaults = {name: {k: p.default for k, p in inspect.signature(rule).parameters.items()
                       if p.default is not inspect.Parameter.empty} for name, (rule, _, _) in LAB6_RULES.items()}
    assert defaults == {"sgd_update": {"lr": 0.01}, "momentum_update": {"lr": 0.01, "beta": 0.9},
                        "rmsprop_update": {"lr": 0.001, "beta": 0.9, "eps": 1e-8},
                        "adam_update": {"lr": 0.001, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}}


@pytest.mark.parametrize("name", LAB6_RULES)
def test_lab6_updates_follow_the_classes_in_place_per_parameter(name):
    rule, make_class, hyper = LAB6_RULES[name]
    rng = np.random.default_rng(2)
    params = {"W1": rng.normal(size=(3, 2)).astype(np.float32), "W2": rng.normal(size=(3, 2)).astype(np.float32),
              "b1": rng.normal(size=2).astype(np.float32)}
    arrays = dict(params)
    reference = {key: value.copy() for key, value in params.items()}
    by_class, state = make_class(), {}
    for _ in range(5):
        grads = {key: rng.normal(size=value.shape).astype(np.float32) * 10.0 ** rng.uniform(-2, 2)
                 for key, value in params.items()}
        rule(params, grads, state, lr=0.05, **hyper)
        by_class(reference, grads, 0.05)
        for key in params:
            assert params[key] is arrays[key] and params[key].dtype == np.float32
            np.testing.assert_allclose(params[key], reference[key], rtol=1e-6, atol=1e-7)
    for slots in (value for value in state.values() if isinstance(value, dict)):
        assert set(slots) == set(params) and len({id(a) for a in slots.values()}) == len(params)


@pytest.mark.optional
@pytest.mark.parametrize("name", ["momentum_update", "rmsprop_update", "adam_update"])
def test_lab6_updates_match_pytorch(name):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    start = {"W": rng.normal(size=(4, 3)), "b": rng.normal(size=3)}
    ours = {key: value.copy() for key, value in start.items()}
    theirs = [torch.tensor(start[key].copy(), requires_grad=True) for key in ("W", "b")]
    rule, torch_opt, hyper = {
        "momentum_update": (optim.momentum_update, torch.optim.SGD(theirs, lr=0.01, momentum=0.9), {"beta": 0.9}),
        "rmsprop_update": (optim.rmsprop_update, torch.optim.RMSprop(theirs, lr=0.01, alpha=0.9, eps=1e-8),
                           {"beta": 0.9, "eps": 1e-8}),
        "adam_update": (optim.adam_update, torch.optim.Adam(theirs, lr=0.01, betas=(0.9, 0.999), eps=1e-8), {}),
    }[name]
    state = {}
    for _ in range(6):
        grads = {key: rng.normal(size=value.shape) for key, value in start.items()}
        rule(ours, grads, state, lr=0.01, **hyper)
        for tensor, key in zip(theirs, ("W", "b")):
            tensor.grad = torch.tensor(grads[key])
        torch_opt.step()
        for tensor, key in zip(theirs, ("W", "b")):
            np.testing.assert_allclose(ours[key], tensor.detach().numpy(), rtol=1e-10, atol=1e-12)
