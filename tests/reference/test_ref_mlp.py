"""Reference MLP: numerical gradients for every activation x loss, known values, training, errors."""
import math

import numpy as np
import pytest

from autograder.reference import mlp, optim
from course_utils.gradcheck import numerical_gradient
from course_utils.training import fit

ACTIVATIONS = ["relu", "sigmoid", "tanh"]
LOSSES = ["softmax_ce", "mse", "bce"]


def problem(loss, n=6, sizes=(4, 5, 6), classes=3, seed=0):
    """float64 parameters of a 2-hidden-layer net, inputs and labels suited to ``loss``.

    Seeds are tried from ``seed`` on until every hidden pre-activation is at least 1e-3 away
    from 0, so that no ReLU kink lies within a finite-difference step.
    """
    out = 1 if loss == "bce" else classes
    for attempt in range(seed, seed + 100):
        rng = np.random.default_rng(attempt)
        params = mlp.init_params([*sizes, out], init="xavier", seed=attempt, dtype=np.float64)
        for key in params:
            if key.startswith("b"):
                params[key] = rng.normal(scale=0.1, size=params[key].shape)
        X = rng.normal(size=(n, sizes[0]))
        y = rng.integers(0, 2 if loss == "bce" else classes, size=n)
        if min_hidden_preactivation(params, X) > 1e-3:
            return params, X, y
    raise AssertionError("no seed gives pre-activations away from the ReLU kink")


def min_hidden_preactivation(params, X):
    """Smallest |pre-activation| of the hidden ReLU layers of a 3-layer net."""
    z1 = X @ params["W1"] + params["b1"]
    z2 = np.maximum(z1, 0) @ params["W2"] + params["b2"]
    return min(np.abs(z1).min(), np.abs(z2).min())


@pytest.mark.parametrize("reg", [0.0, 0.3])
@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_gradients_match_numerical_gradients(activation, loss, reg, assert_gradient_close):
    params, X, y = problem(loss)
    _, grads = mlp.loss_and_grads(params, X, y, activation=activation, loss=loss, reg=reg)
    assert grads.keys() == params.keys()
    for key, value in params.items():
        numerical = numerical_gradient(
            lambda v: mlp.loss_and_grads(params, X, y, activation=activation, loss=loss, reg=reg)[0], value)
        assert_gradient_close(grads[key], numerical, key)


def manual_two_layer_loss(params, X, y, reg):
    """Cross-entropy of relu(X W1 + b1) W2 + b2 written out from scratch, plus the L2 penalty."""
    hidden = np.maximum(0, X @ params["W1"] + params["b1"])
    scores = hidden @ params["W2"] + params["b2"]
    total = 0.0
    for row, label in zip(scores, y):
        total += -math.log(math.exp(row[label]) / sum(math.exp(s) for s in row))
    penalty = 0.5 * reg * sum((params[k] ** 2).sum() for k in ("W1", "W2"))
    return total / len(y) + penalty


def test_loss_matches_a_from_scratch_forward_pass():
    params = mlp.init_params([4, 7, 3], seed=1, dtype=np.float64)
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(5, 4)), rng.integers(0, 3, size=5)
    loss, _ = mlp.loss_and_grads(params, X, y, reg=0.1)
    assert loss == pytest.approx(manual_two_layer_loss(params, X, y, 0.1), rel=1e-12)


def test_mse_loss_one_hot_encodes_int_labels():
    params, X, y = problem("mse")
    loss, grads = mlp.loss_and_grads(params, X, y, loss="mse")
    loss_hot, grads_hot = mlp.loss_and_grads(params, X, np.eye(3)[y], loss="mse")
    assert loss == pytest.approx(loss_hot, rel=1e-12)
    for key in grads:
        np.testing.assert_allclose(grads[key], grads_hot[key], rtol=1e-12)


def test_bce_accepts_column_labels():
    params, X, y = problem("bce")
    flat, _ = mlp.loss_and_grads(params, X, y, loss="bce")
    column, _ = mlp.loss_and_grads(params, X, y[:, None], loss="bce")
    assert column == pytest.approx(flat, rel=1e-12)


def test_initial_softmax_loss_of_small_weights_is_log_of_class_count():
    params = mlp.init_params([50, 100, 10], init="normal", scale=1e-3, seed=0)
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((500, 50), dtype=np.float32), rng.integers(0, 10, size=500)
    loss, _ = mlp.loss_and_grads(params, X, y)
    assert abs(loss - math.log(10)) < 0.01


def test_init_params_shapes_dtype_zero_biases_and_seed():
    params = mlp.init_params([8, 5, 3], seed=4)
    assert {k: v.shape for k, v in params.items()} == {"W1": (8, 5), "b1": (5,), "W2": (5, 3), "b2": (3,)}
    assert all(v.dtype == np.float32 for v in params.values())
    assert not params["b1"].any() and not params["b2"].any()
    assert params["W1"].std() > 0
    np.testing.assert_array_equal(params["W1"], mlp.init_params([8, 5, 3], seed=4)["W1"])
    assert not np.array_equal(params["W1"], mlp.init_params([8, 5, 3], seed=5)["W1"])


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_float32_in_float32_out(activation, loss):
    params, X, y = problem(loss)
    params = {k: v.astype(np.float32) for k, v in params.items()}
    value, grads = mlp.loss_and_grads(params, X.astype(np.float32), y, activation=activation, loss=loss, reg=0.1)
    assert isinstance(value, float) and math.isfinite(value)
    assert all(g.dtype == np.float32 for g in grads.values())


def test_float64_inputs_do_not_upcast_float32_parameters_and_params_stay_unchanged():
    params, X, y = problem("softmax_ce")
    params = {k: v.astype(np.float32) for k, v in params.items()}
    before = {k: v.copy() for k, v in params.items()}
    _, grads = mlp.loss_and_grads(params, X, y, reg=0.1)
    assert all(g.dtype == np.float32 for g in grads.values())
    for key in params:
        np.testing.assert_array_equal(params[key], before[key])


def test_predict_is_argmax_of_outputs():
    params = mlp.init_params([4, 6, 3], seed=2, dtype=np.float64)
    X = np.random.default_rng(2).normal(size=(20, 4))
    scores = np.maximum(0, X @ params["W1"]) @ params["W2"]
    labels = mlp.predict(params, X)
    assert labels.dtype == np.int64
    np.testing.assert_array_equal(labels, scores.argmax(axis=1))


def test_predict_thresholds_a_single_logit_at_zero():
    params = {"W1": np.array([[1.0]]), "b1": np.array([-0.5])}
    np.testing.assert_array_equal(mlp.predict(params, np.array([[0.2], [0.9], [0.5]])), [0, 1, 0])


def spirals(points_per_class=100, classes=3, seed=0):
    """The classic CS231n spiral data set: float32 (N, 2) points and int64 labels."""
    rng = np.random.default_rng(seed)
    X, y = [], []
    for label in range(classes):
        radius = np.linspace(0.0, 1.0, points_per_class)
        angle = np.linspace(label * 4.0, (label + 1) * 4.0, points_per_class) + rng.normal(scale=0.2, size=points_per_class)
        X.append(np.c_[radius * np.sin(angle), radius * np.cos(angle)])
        y.append(np.full(points_per_class, label))
    return np.concatenate(X).astype(np.float32), np.concatenate(y).astype(np.int64)


@pytest.mark.parametrize("make_update, lr", [(lambda: "sgd", 0.5), (optim.Momentum, 0.05), (optim.Adam, 0.01)],
                         ids=["sgd", "momentum", "adam"])
def test_training_with_fit_learns_the_spirals(make_update, lr):
    X, y = spirals()
    params = mlp.init_params([2, 100, 3], seed=0)
    history = fit(lambda p, Xb, yb: mlp.loss_and_grads(p, Xb, yb, reg=1e-3), params, X, y, epochs=300,
                  batch_size=50, lr=lr, update=make_update(), X_val=X, y_val=y, progress=False, predict=mlp.predict)
    assert history.train_loss[-1] < 0.5 * history.train_loss[0]
    assert (mlp.predict(params, X) == y).mean() > 0.9


@pytest.mark.parametrize("call, match", [
    (lambda p, X, y: mlp.loss_and_grads(p, X, y, activation="softplus"), "activation 'softplus'"),
    (lambda p, X, y: mlp.loss_and_grads(p, X, y, loss="hinge"), "loss 'hinge'"),
    (lambda p, X, y: mlp.loss_and_grads(p, X[:, :3], y), r"X must have shape \(N, 4\)"),
    (lambda p, X, y: mlp.loss_and_grads(p, X, y[:-1]), "6 samples but y has 5"),
    (lambda p, X, y: mlp.loss_and_grads(p, X, y, loss="bce"), "one output unit"),
    (lambda p, X, y: mlp.loss_and_grads({"W1": p["W1"]}, X, y), "W1..WL and b1..bL"),
    (lambda p, X, y: mlp.predict(p, X, activation="gelu"), "activation 'gelu'"),
])
def test_bad_input_raises_a_clear_error(call, match):
    params, X, y = problem("softmax_ce")
    with pytest.raises(ValueError, match=match):
        call(params, X, y)


@pytest.mark.parametrize("sizes", [[5], [4, 0, 3], [4, 2.5, 3]])
def test_init_params_rejects_bad_layer_sizes(sizes):
    with pytest.raises(ValueError, match="layer_sizes"):
        mlp.init_params(sizes)


@pytest.mark.optional
@pytest.mark.parametrize("reg", [0.0, 0.3])
@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_loss_and_gradients_match_pytorch_autograd(activation, loss, reg):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    params, X, y = problem(loss)
    value, grads = mlp.loss_and_grads(params, X, y, activation=activation, loss=loss, reg=reg)
    tensors = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    h = torch.tensor(X)
    for layer in (1, 2, 3):
        h = h @ tensors[f"W{layer}"] + tensors[f"b{layer}"]
        if layer < 3:
            h = {"relu": torch.relu, "sigmoid": torch.sigmoid, "tanh": torch.tanh}[activation](h)
    target = torch.tensor(y)
    if loss == "softmax_ce":
        torch_loss = F.cross_entropy(h, target)
    elif loss == "mse":
        torch_loss = 0.5 * ((h - F.one_hot(target, 3).double()) ** 2).sum() / len(y)
    else:
        torch_loss = F.binary_cross_entropy_with_logits(h[:, 0], target.double())
    torch_loss = torch_loss + 0.5 * reg * sum((tensors[f"W{l}"] ** 2).sum() for l in (1, 2, 3))
    torch_loss.backward()
    assert value == pytest.approx(torch_loss.item(), rel=1e-12)
    for key, tensor in tensors.items():
        np.testing.assert_allclose(grads[key], tensor.grad.numpy(), rtol=1e-10, atol=1e-14)
