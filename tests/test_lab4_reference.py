"""Lab 4: the reference layer classes, the two worked examples, and the hidden checks built on them.

The references are tested against independent formulas, numerical gradients and the published numbers of
the classic 2-2-2 example (recomputed here from scalar formulas); the hidden checks must pass on the
references and fail, with the right hint and without revealing expected values, on typical mistakes.
"""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograder.hidden import lab4
from autograder.judge.student import secret_seed
from autograder.reference import losses, modules, worked_examples
from autograder.submissions import PLANTED_MISTAKES
from course_utils.gradcheck import numerical_gradient, numerical_gradient_array
from hidden_checks import SEEDS, failing_checks, failure_message
from notebook_namespace import definitions, solution_sources

PLANTED = PLANTED_MISTAKES["lab4_backprop"]

CLASSIC_WEIGHTS = {"w1": 0.15, "w2": 0.20, "w3": 0.25, "w4": 0.30, "w5": 0.40, "w6": 0.45, "w7": 0.50,
                   "w8": 0.55, "b1": 0.35, "b2": 0.60}
CLASSIC_X, CLASSIC_TARGET = (0.05, 0.10), (0.01, 0.99)


def logistic(t):
    return 1 / (1 + math.exp(-t))


# ----------------------------------------------------------------------------- layer classes

shapes = st.tuples(st.integers(1, 6), st.integers(1, 6), st.integers(1, 6))


@settings(max_examples=30, deadline=None)
@given(shapes, st.integers(0, 10_000))
def test_dense_matches_the_affine_map_and_numerical_gradients(assert_gradient_close, shape, seed):
    N, D_in, D_out = shape
    rng = np.random.default_rng(seed)
    layer = modules.Dense(D_in, D_out, seed=rng, dtype=np.float64)
    layer.b = rng.normal(size=D_out)
    X, dout = rng.normal(size=(N, D_in)), rng.normal(size=(N, D_out))
    assert np.allclose(layer.forward(X), X @ layer.W + layer.b)
    dX = layer.backward(dout)
    assert_gradient_close(dX, numerical_gradient_array(layer.forward, X.copy(), dout))
    at_X = lambda _: layer.forward(X)  # noqa: E731
    assert_gradient_close(layer.dW, numerical_gradient_array(at_X, layer.W, dout))
    assert_gradient_close(layer.db, numerical_gradient_array(at_X, layer.b, dout))


def test_dense_initialization_is_he_scaled_seeded_and_in_the_requested_dtype():
    layer = modules.Dense(400, 300, seed=5)
    assert layer.W.dtype == np.float32 and layer.b.dtype == np.float32 and not layer.b.any()
    assert layer.W.std() == pytest.approx(math.sqrt(2 / 400), rel=0.02)
    assert np.array_equal(modules.Dense(400, 300, seed=5).W, layer.W)
    assert not np.array_equal(modules.Dense(400, 300, seed=6).W, layer.W)
    assert modules.Dense(3, 2, dtype=np.float64).W.dtype == np.float64


ACTIVATION_FORMULAS = {
    modules.Sigmoid: lambda X: 1 / (1 + np.exp(-X)),
    modules.ReLU: lambda X: np.where(X > 0, X, 0.0),
    modules.Tanh: lambda X: (np.exp(X) - np.exp(-X)) / (np.exp(X) + np.exp(-X)),
    modules.Softmax: lambda X: np.exp(X) / np.exp(X).sum(axis=1, keepdims=True),
}


@settings(max_examples=30, deadline=None)
@given(st.sampled_from(list(ACTIVATION_FORMULAS)), shapes, st.integers(0, 10_000))
def test_activation_layers_match_formulas_and_numerical_gradients(cls, shape, seed):
    N, D, _ = shape
    rng = np.random.default_rng(seed)
    X = rng.normal(scale=2.0, size=(N, D))
    X = np.where(np.abs(X) < 0.05, 0.05, X)  # keep ReLU's kink out of the centred differences
    dout = rng.normal(size=(N, D))
    layer = cls()
    assert np.allclose(layer.forward(X), ACTIVATION_FORMULAS[cls](X))
    dX = layer.backward(dout)
    numerical = numerical_gradient_array(cls().forward, X.copy(), dout)
    assert np.allclose(dX, numerical, rtol=1e-6, atol=1e-9)


def test_softmax_layer_is_stable_and_its_rows_are_distributions():
    out = modules.Softmax().forward(np.array([[1e4, -1e4, 0.0], [5.0, 5.0, 5.0]]))
    assert np.allclose(out, [[1, 0, 0], [1 / 3, 1 / 3, 1 / 3]]) and np.allclose(out.sum(axis=1), 1)


def test_softmax_layer_then_cross_entropy_on_probabilities_equals_the_fused_gradient():
    rng = np.random.default_rng(0)
    logits, y = rng.normal(size=(5, 4)), rng.integers(0, 4, size=5)
    layer = modules.Softmax()
    p = layer.forward(logits)
    dp = np.zeros_like(p)
    dp[np.arange(5), y] = -1 / (5 * p[np.arange(5), y])
    assert np.allclose(layer.backward(dp), losses.softmax_ce(logits, y)[1], atol=1e-15)


def test_sequential_composes_layers_and_exposes_their_own_arrays():
    net = modules.build_mlp([3, 4, 2], "tanh", seed=1, dtype=np.float64)
    X = np.random.default_rng(1).normal(size=(5, 3))
    dense1, tanh, dense2 = net.layers
    assert np.allclose(net.forward(X), np.tanh(X @ dense1.W + dense1.b) @ dense2.W + dense2.b)
    net.params()["W2"][...] = 0.0  # updating params in place changes the network
    assert not dense2.W.any() and np.allclose(net.forward(X), dense2.b)
    assert list(net.params()) == ["W1", "b1", "W2", "b2"] and net.params()["b1"] is dense1.b


@pytest.mark.parametrize("activation, cls", [("relu", modules.ReLU), ("sigmoid", modules.Sigmoid),
                                             ("tanh", modules.Tanh)])
def test_build_mlp_alternates_dense_and_activation_layers(activation, cls):
    net = modules.build_mlp([2, 5, 5, 3], activation, seed=0)
    assert [type(layer) for layer in net.layers] == [modules.Dense, cls, modules.Dense, cls, modules.Dense]
    assert [layer.W.shape for layer in net.layers[::2]] == [(2, 5), (5, 5), (5, 3)]
    assert not np.array_equal(net.layers[0].W[:, :2], net.layers[2].W[:2, :2])  # one generator, fresh draws
    with pytest.raises(ValueError, match="softsign"):
        modules.build_mlp([2, 3], "softsign")


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(1, 5), min_size=2, max_size=4), st.sampled_from(["sigmoid", "tanh"]),
       st.sampled_from(["softmax_ce", "mse"]), st.integers(0, 10_000))
def test_loss_and_grads_match_numerical_gradients(sizes, activation, loss_name, seed):
    rng = np.random.default_rng(seed)
    net = modules.build_mlp(sizes, activation, seed=rng, dtype=np.float64)
    for value in net.params().values():
        value += rng.normal(scale=0.3, size=value.shape)
    X = rng.normal(size=(4, sizes[0]))
    if loss_name == "softmax_ce":
        loss_fn, y = losses.softmax_ce, rng.integers(0, sizes[-1], size=4)
    else:
        loss_fn, y = losses.mse, rng.normal(size=(4, sizes[-1]))
    loss, grads = modules.loss_and_grads(net, X, y, loss_fn)
    assert loss == pytest.approx(loss_fn(net.forward(X), y)[0])
    for key, value in net.params().items():
        numerical = numerical_gradient(lambda _: loss_fn(net.forward(X), y)[0], value)
        assert np.allclose(grads[key], numerical, rtol=1e-5, atol=1e-9), key


# ----------------------------------------------------------------------------- worked examples

@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10_000))
def test_reference_layer_grads_match_column_vector_formulas_and_numerical_gradients(assert_gradient_close, seed):
    rng = np.random.default_rng(seed)
    W, x = rng.normal(size=(2, 3)), rng.normal(size=3)
    dy, dx, dW = worked_examples.reference_layer_grads(W, x)
    z = 1 / (1 + np.exp(-(W @ x)))
    assert np.allclose(dy, 2 * z ** 2 * (1 - z))
    assert np.allclose(dx, W.T @ dy) and np.allclose(dW, np.outer(dy, x))
    loss = lambda _: np.sum((1 / (1 + np.exp(-(W @ x)))) ** 2)  # noqa: E731
    assert_gradient_close(dx, numerical_gradient(loss, x))
    assert_gradient_close(dW, numerical_gradient(loss, W))


def classic_error(weights, x=CLASSIC_X, target=CLASSIC_TARGET):
    """E_total of the classic network, from scalar formulas."""
    w = weights
    h1 = logistic(w["w1"] * x[0] + w["w2"] * x[1] + w["b1"])
    h2 = logistic(w["w3"] * x[0] + w["w4"] * x[1] + w["b1"])
    o1 = logistic(w["w5"] * h1 + w["w6"] * h2 + w["b2"])
    o2 = logistic(w["w7"] * h1 + w["w8"] * h2 + w["b2"])
    return 0.5 * (target[0] - o1) ** 2 + 0.5 * (target[1] - o2) ** 2, (h1, h2, o1, o2)


def test_classic_step_reproduces_the_published_numbers():
    result = worked_examples.reference_classic_step(CLASSIC_WEIGHTS, CLASSIC_X, CLASSIC_TARGET, 0.5)
    assert result["out_o1"] == pytest.approx(0.75136507, abs=1e-8)
    assert result["out_o2"] == pytest.approx(0.772928465, abs=1e-9)
    assert result["E_total"] == pytest.approx(0.298371109, abs=1e-9)
    assert result["new_w5"] == pytest.approx(0.35891648, abs=1e-8)
    assert result["new_w1"] == pytest.approx(0.149780716, abs=1e-9)
    assert list(result) == list(worked_examples.CLASSIC_KEYS) and all(isinstance(v, float) for v in result.values())


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000))
def test_classic_step_matches_scalar_formulas_and_finite_differences(seed):
    rng = np.random.default_rng(seed)
    weights = {key: float(rng.uniform(-1, 1)) for key in CLASSIC_WEIGHTS}
    result = worked_examples.reference_classic_step(weights, CLASSIC_X, CLASSIC_TARGET, 0.3)
    error, (h1, h2, o1, o2) = classic_error(weights)
    assert result["E_total"] == pytest.approx(error, rel=1e-12)
    assert [result[k] for k in ("out_h1", "out_h2", "out_o1", "out_o2")] == pytest.approx([h1, h2, o1, o2], rel=1e-12)
    assert result["net_h1"] == pytest.approx(math.log(h1 / (1 - h1)), rel=1e-9, abs=1e-12)
    for k in range(1, 9):
        name, step = f"w{k}", 1e-6
        numerical = (classic_error({**weights, name: weights[name] + step})[0]
                     - classic_error({**weights, name: weights[name] - step})[0]) / (2 * step)
        assert result[f"dE_d{name}"] == pytest.approx(numerical, rel=1e-6, abs=1e-10)
        assert result[f"new_{name}"] == pytest.approx(weights[name] - 0.3 * result[f"dE_d{name}"], rel=1e-12)


# ----------------------------------------------------------------------------- hidden checks

REFERENCES = {"layer_grads": worked_examples.reference_layer_grads, "classic_step": worked_examples.reference_classic_step,
              "Dense": modules.Dense, "Sigmoid": modules.Sigmoid, "ReLU": modules.ReLU, "Tanh": modules.Tanh,
              "Softmax": modules.Softmax, "mse_loss": losses.mse, "softmax_cross_entropy": losses.softmax_ce,
              "Sequential": modules.Sequential, "build_mlp": modules.build_mlp,
              "loss_and_grads": modules.loss_and_grads}


@pytest.mark.parametrize("name", REFERENCES)
@pytest.mark.parametrize("seed", SEEDS)
def test_hidden_checks_pass_on_the_reference(name, seed):
    with secret_seed(seed):
        getattr(lab4, f"check_{name}")(REFERENCES[name])


def layer_grads_without_sigmoid_derivative(W, x):
    z = 1 / (1 + np.exp(-(W @ x)))
    return 2 * z, W.T @ (2 * z), np.outer(2 * z, x)


def layer_grads_derivative_at_y(W, x):
    y = W @ x
    z = 1 / (1 + np.exp(-y))
    dy = 2 * z * y * (1 - y)
    return dy, W.T @ dy, np.outer(dy, x)


def layer_grads_transposed_dW(W, x):
    dy, dx, dW = worked_examples.reference_layer_grads(W, x)
    return dy, dx, dW.T


def layer_grads_columns(W, x):
    dy, dx, dW = worked_examples.reference_layer_grads(W, x)
    return dy[:, None], dx[:, None], dW


@pytest.mark.parametrize("student, expected", [
    (layer_grads_without_sigmoid_derivative, "you left out the derivative of the sigmoid"),
    (layer_grads_derivative_at_y, "not y (1 - y)"),
    (layer_grads_transposed_dW, "layer_grads: dW has shape (3, 2) but it should have shape (2, 3), like W: is it "
                                "transposed?"),
    (layer_grads_columns, "return 1-D arrays"),
])
def test_check_layer_grads_catches(student, expected):
    assert expected in failure_message(lab4.check_layer_grads, student)


def classic_with_updated_output_weights(weights, x, target, learning_rate=0.5):
    """Updates w5..w8 first, then backpropagates into the hidden layer through the new values."""
    r = worked_examples.reference_classic_step(weights, x, target, learning_rate)
    d1, d2 = ((r[f"out_o{k}"] - target[k - 1]) * r[f"out_o{k}"] * (1 - r[f"out_o{k}"]) for k in (1, 2))
    h1 = (d1 * r["new_w5"] + d2 * r["new_w7"]) * r["out_h1"] * (1 - r["out_h1"])
    h2 = (d1 * r["new_w6"] + d2 * r["new_w8"]) * r["out_h2"] * (1 - r["out_h2"])
    hidden = {"dE_dw1": h1 * x[0], "dE_dw2": h1 * x[1], "dE_dw3": h2 * x[0], "dE_dw4": h2 * x[1]}
    return {**r, **hidden, **{f"new_w{k}": weights[f"w{k}"] - learning_rate * hidden[f"dE_dw{k}"]
                              for k in range(1, 5)}}


def classic_without_half(weights, x, target, learning_rate=0.5):
    result = worked_examples.reference_classic_step(weights, x, target, learning_rate)
    return {**result, "E_total": 2 * result["E_total"]}


def classic_uphill(weights, x, target, learning_rate=0.5):
    result = worked_examples.reference_classic_step(weights, x, target, learning_rate)
    return {**result, **{f"new_w{k}": weights[f"w{k}"] + learning_rate * result[f"dE_dw{k}"] for k in range(1, 9)}}


def classic_hard_coded(weights, x, target, learning_rate=0.5):
    return worked_examples.reference_classic_step(CLASSIC_WEIGHTS, CLASSIC_X, CLASSIC_TARGET)


@pytest.mark.parametrize("student, expected", [
    (classic_with_updated_output_weights, "result['dE_dw1'] has the wrong value: you backpropagated through the "
                                          "updated output weights"),
    (classic_without_half, "did you forget the factor 1/2?"),
    (classic_uphill, "you added the gradient"),
    (classic_hard_coded, "result['net_h1'] has the wrong value"),
])
def test_check_classic_step_catches(student, expected):
    message = failure_message(lab4.check_classic_step, student)
    assert expected in message
    for value in worked_examples.reference_classic_step(*lab4._classic_problem(np.random.default_rng(4202))).values():
        assert f"{value:.4g}" not in message


class DenseMeanBias(modules.Dense):
    def backward(self, dout):
        dX = super().backward(dout)
        self.db = self.db / len(dout)
        return dX


class DenseWithoutBias(modules.Dense):
    def forward(self, X):
        return super().forward(X) - self.b


class DenseNotStoring(modules.Dense):
    def backward(self, dout):
        return dout @ self.W.T


class SigmoidDerivativeAtX(modules.Sigmoid):
    def forward(self, X):
        self.X = X
        return super().forward(X)

    def backward(self, dout):
        return dout * self.X * (1 - self.X)


class ReLUWithoutDout(modules.ReLU):
    def backward(self, dout):
        return (self.cache > 0).astype(float)


class SoftmaxDiagonal(modules.Softmax):
    def backward(self, dout):
        return dout * self.cache * (1 - self.cache)


class SoftmaxUnstable(modules.Softmax):
    def forward(self, X):
        self.cache = np.exp(X) / np.exp(X).sum(axis=1, keepdims=True)
        return self.cache


namespace = {"np": np}
exec(PLANTED.code, namespace)
PlantedTanh = namespace["Tanh"]


@pytest.mark.parametrize("check, student, expected", [
    (lab4.check_Dense, DenseMeanBias, "Dense.backward: self.db has the right shape but wrong values: sum over the "
                                      "samples, do not average"),
    (lab4.check_Dense, DenseWithoutBias, "did you forget the bias b?"),
    (lab4.check_Dense, DenseNotStoring, "should store the gradient in self.dW"),
    (lab4.check_Sigmoid, SigmoidDerivativeAtX, "not X * (1 - X)"),
    (lab4.check_ReLU, ReLUWithoutDout, "multiply by dout"),
    (lab4.check_Tanh, PlantedTanh, "not 1 - X^2"),
    (lab4.check_Softmax, SoftmaxDiagonal, "you used only the diagonal of the Jacobian"),
    (lab4.check_Softmax, SoftmaxUnstable, "subtract the maximum of each row"),
])
def test_layer_checks_catch(check, student, expected):
    message = failure_message(check, student)
    assert expected in message


def test_the_planted_mistake_fails_only_its_own_check():
    failure_message(lab4.check_Tanh, PlantedTanh)
    lab4.check_build_mlp(modules.build_mlp)  # the other checks take the reference, never the student's Tanh
    assert PLANTED.solution_id == "Tanh" and PLANTED.question_id == "test_Tanh"


def mse_without_half(pred, target):
    loss, grad = losses.mse(pred, target)
    return 2 * loss, grad


def mse_over_entries(pred, target):
    diff = pred - target
    return float(np.mean(diff ** 2) / 2), diff / diff.size


def test_check_mse_loss_says_a_mean_over_all_entries_is_not_over_the_samples_whatever_the_outputs():
    for seed in SEEDS:
        with secret_seed(seed):
            message = failure_message(lab4.check_mse_loss, mse_over_entries)
        assert message.startswith("mse_loss: the loss has the wrong value: it is divided by the number of entries "
                                  "instead of by N, the number of samples (rows): np.mean and .size count the outputs "
                                  "of every sample too. (Tested with pred and target of shape ("), message


def cross_entropy_naive(logits, y):
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    n = len(y)
    grad = p.copy()
    grad[np.arange(n), y] -= 1
    return -np.mean(np.log(p[np.arange(n), y])), grad / n


def cross_entropy_whole_columns(logits, y):
    dlogits = np.exp(logits - logits.max(axis=1, keepdims=True))
    dlogits /= dlogits.sum(axis=1, keepdims=True)
    dlogits[:, y] -= 1
    return losses.softmax_ce(logits, y)[0], dlogits / len(y)


def cross_entropy_summed(logits, y):
    loss, grad = losses.softmax_ce(logits, y)
    return loss * len(y), grad * len(y)


@pytest.mark.parametrize("check, student, expected", [
    (lab4.check_mse_loss, mse_without_half, "did you forget the 1/2?"),
    (lab4.check_softmax_cross_entropy, cross_entropy_naive, "gives NaN or inf for large logits"),
    (lab4.check_softmax_cross_entropy, cross_entropy_summed, "did you average over the samples"),
    (lab4.check_softmax_cross_entropy, cross_entropy_whole_columns,
     "the gradient has the right shape but wrong values: 1 was subtracted in "),
    (lab4.check_softmax_cross_entropy, cross_entropy_whole_columns, " of every row, because dlogits[:, y] -= 1 changes "
     "whole columns: subtract 1 only at each sample's own label"),
])
def test_loss_checks_catch(check, student, expected):
    assert expected in failure_message(check, student)


class SequentialBackwardInOrder(modules.Sequential):
    def backward(self, dout):
        for layer in self.layers:
            dout = layer.backward(dout)
        return dout


class SequentialSkippingBackward(modules.Sequential):
    def backward(self, dout):
        return self.layers[-1].backward(dout)


def build_mlp_same_seed_per_layer(layer_sizes, activation="relu", seed=0, dtype=np.float32):
    layers = []
    for D_in, D_out in zip(layer_sizes[:-1], layer_sizes[1:]):
        layers += [modules.Dense(D_in, D_out, seed, dtype), modules.ACTIVATIONS[activation]()]
    return modules.Sequential(layers[:-1])


def build_mlp_final_activation(layer_sizes, activation="relu", seed=0, dtype=np.float32):
    net = modules.build_mlp(layer_sizes, activation, seed, dtype)
    return modules.Sequential(net.layers + [modules.ACTIVATIONS[activation]()])


def build_mlp_one_activation_object(layer_sizes, activation="relu", seed=0, dtype=np.float32):
    rng, activation_layer = np.random.default_rng(seed), modules.ACTIVATIONS[activation]()
    layers = []
    for D_in, D_out in zip(layer_sizes[:-1], layer_sizes[1:]):
        layers += [modules.Dense(D_in, D_out, rng, dtype), activation_layer]
    return modules.Sequential(layers[:-1])


def loss_and_grads_without_backward(net, X, y, loss_fn):
    return loss_fn(net.forward(X), y)[0], net.grads()


@pytest.mark.parametrize("check, student, expected", [
    (lab4.check_Sequential, SequentialBackwardInOrder, "Sequential.backward raised ValueError"),
    (lab4.check_Sequential, SequentialSkippingBackward, "pass dout through every layer's backward"),
    (lab4.check_build_mlp, build_mlp_same_seed_per_layer, "pass it to every Dense layer"),
    (lab4.check_build_mlp, build_mlp_final_activation, "no activation after the last Dense layer"),
    (lab4.check_build_mlp, build_mlp_one_activation_object, "put one layer object in the network more than once"),
    (lab4.check_loss_and_grads, loss_and_grads_without_backward, "call net.backward(dscores)"),
])
def test_network_checks_catch(check, student, expected):
    assert expected in failure_message(check, student)


class SequentialReversingItsLayers(modules.Sequential):
    def backward(self, dout):
        self.layers.reverse()
        for layer in self.layers:
            dout = layer.backward(dout)
        return dout


def test_a_backward_that_reverses_self_layers_is_told_so():
    assert failure_message(lab4.check_Sequential, SequentialReversingItsLayers).startswith(
        "Sequential.backward changed the order of the list self.layers: it should go through the layers backwards "
        "without changing the list (list.reverse() reverses the list itself, so the next pass runs in the wrong "
        "order).")


# ----------------------------------------------------------------------------- other correct ways of writing it

LAB = "lab4_backprop"
CHECKED = ("gate_backward", "graph_forward", "graph_backward", "layer_grads", "classic_step", "Dense", "Sigmoid", "ReLU",
           "Tanh", "Softmax", "mse_loss", "softmax_cross_entropy", "Sequential", "build_mlp", "loss_and_grads")


def notebook(**replacements):
    """The solved notebook's definitions, some solution cells replaced: {grade_id: code} (``definitions``)."""
    return definitions(LAB, **replacements)


def with_methods(name, methods):
    """The class ``name`` of the notebook with the student's ``forward`` and ``backward`` replaced by ``methods`` (the
    constructor, params and grads stay as the notebook gives them)."""
    code = solution_sources(LAB)[name]
    head, rest = code.split("    def forward", 1)
    tail = "    def params" + rest.split("    def params", 1)[1] if "    def params" in rest else ""
    return head + methods.strip("\n") + "\n\n" + tail


ALTERNATIVES = [
    ("gate_backward", "a dict of rules", """
def gate_backward(gate, a, b, dout):
    rules = {"add": lambda: (dout, dout), "mul": lambda: (b * dout, a * dout),
             "max": lambda: (dout, 0.0) if a >= b else (0.0, dout)}
    da, db = rules[gate]()
    return float(da), float(db)
"""),
    ("gate_backward", "indicators of the larger input", """
def gate_backward(gate, a, b, dout):
    if gate == "add":
        return float(dout), float(dout)
    if gate == "mul":
        return float(dout * b), float(dout * a)
    return float(dout * (a >= b)), float(dout * (a < b))
"""),
    ("graph_forward", "a conditional for the max, np.multiply and np.maximum", """
def graph_forward(x, y, z, w):
    q = np.multiply(x, y)
    r = q if q >= z else np.maximum(q, z)
    s = r + x
    return dict(f=float(w * s), s=float(s), r=float(r), q=float(q))
"""),
    ("graph_backward", "the branch taken from r == q", """
def graph_backward(x, y, z, w, values):
    dw, ds = values["s"], w
    dr, dx = ds, ds
    dq, dz = (dr, 0.0) if values["r"] == values["q"] else (0.0, dr)
    dx += dq * y
    return {"x": float(dx), "y": float(dq * x), "z": float(dz), "w": float(dw)}
"""),
    ("graph_backward", "an indicator, z strictly larger", """
def graph_backward(x, y, z, w, values):
    to_z = 1.0 if z > values["q"] else 0.0
    return dict(w=float(values["s"]), z=float(w * to_z), y=float(w * (1 - to_z) * x), x=float(w + w * (1 - to_z) * y))
"""),
    ("layer_grads", "dy @ W and a broadcast outer product", """
def layer_grads(W, x):
    z = sigmoid(np.dot(W, x))
    dy = 2 * z ** 2 * (1 - z)
    return dy, dy @ W, dy[:, None] * x[None, :]
"""),
    ("layer_grads", "loops", """
def layer_grads(W, x):
    z = sigmoid(W @ x)
    dy = np.zeros(2)
    dx = np.zeros(3)
    dW = np.zeros((2, 3))
    for i in range(2):
        dy[i] = 2 * z[i] * z[i] * (1 - z[i])
        for j in range(3):
            dx[j] += W[i, j] * dy[i]
            dW[i, j] = dy[i] * x[j]
    return dy, dx, dW
"""),
    ("classic_step", "the course's matrices", """
def classic_step(weights, x, target, learning_rate=0.5):
    w = weights
    W1 = np.array([[w["w1"], w["w3"]], [w["w2"], w["w4"]]])
    W2 = np.array([[w["w5"], w["w7"]], [w["w6"], w["w8"]]])
    X, T = np.array(x, dtype=float), np.array(target, dtype=float)
    net_h = X @ W1 + w["b1"]
    out_h = sigmoid(net_h)
    net_o = out_h @ W2 + w["b2"]
    out_o = sigmoid(net_o)
    delta_o = (out_o - T) * out_o * (1 - out_o)
    dW2 = np.outer(out_h, delta_o)
    dW1 = np.outer(X, (W2 @ delta_o) * out_h * (1 - out_h))
    grads = {"w1": dW1[0, 0], "w2": dW1[1, 0], "w3": dW1[0, 1], "w4": dW1[1, 1],
             "w5": dW2[0, 0], "w6": dW2[1, 0], "w7": dW2[0, 1], "w8": dW2[1, 1]}
    result = {"net_h1": net_h[0], "out_h1": out_h[0], "net_h2": net_h[1], "out_h2": out_h[1], "net_o1": net_o[0],
              "out_o1": out_o[0], "net_o2": net_o[1], "out_o2": out_o[1], "E_total": 0.5 * np.sum((T - out_o) ** 2)}
    for k in range(1, 9):
        result[f"dE_dw{k}"] = grads[f"w{k}"]
        result[f"new_w{k}"] = w[f"w{k}"] - learning_rate * grads[f"w{k}"]
    return {key: float(value) for key, value in result.items()}
"""),
    ("classic_step", "three chain-rule factors, math.exp", """
def classic_step(weights, x, target, learning_rate=0.5):
    logistic = lambda t: 1.0 / (1.0 + math.exp(-t))
    (i1, i2), (t1, t2), w = x, target, weights
    r = {"net_h1": w["w1"] * i1 + w["w2"] * i2 + w["b1"], "net_h2": w["w3"] * i1 + w["w4"] * i2 + w["b1"]}
    r["out_h1"], r["out_h2"] = logistic(r["net_h1"]), logistic(r["net_h2"])
    r["net_o1"] = w["w5"] * r["out_h1"] + w["w6"] * r["out_h2"] + w["b2"]
    r["net_o2"] = w["w7"] * r["out_h1"] + w["w8"] * r["out_h2"] + w["b2"]
    r["out_o1"], r["out_o2"] = logistic(r["net_o1"]), logistic(r["net_o2"])
    r["E_total"] = (t1 - r["out_o1"]) ** 2 / 2 + (t2 - r["out_o2"]) ** 2 / 2
    d1 = -(t1 - r["out_o1"]) * (r["out_o1"] * (1 - r["out_o1"]))
    d2 = -(t2 - r["out_o2"]) * (r["out_o2"] * (1 - r["out_o2"]))
    r.update(dE_dw5=d1 * r["out_h1"], dE_dw6=d1 * r["out_h2"], dE_dw7=d2 * r["out_h1"], dE_dw8=d2 * r["out_h2"])
    e1 = (d1 * w["w5"] + d2 * w["w7"]) * r["out_h1"] * (1 - r["out_h1"])
    e2 = (d1 * w["w6"] + d2 * w["w8"]) * r["out_h2"] * (1 - r["out_h2"])
    r.update(dE_dw1=e1 * i1, dE_dw2=e1 * i2, dE_dw3=e2 * i1, dE_dw4=e2 * i2)
    for k in range(1, 9):
        r["new_w%d" % k] = w["w%d" % k] - learning_rate * r["dE_dw%d" % k]
    return r
"""),
    ("Dense", "np.dot and a tuple in the cache", with_methods("Dense", """
    def forward(self, X):
        self.cache = (X,)
        return np.dot(X, self.W) + self.b

    def backward(self, dout):
        (X,) = self.cache
        self.db = np.sum(dout, axis=0)
        self.dW = np.dot(X.T, dout)
        return np.dot(dout, self.W.T)
""")),
    ("Dense", "einsum, a sum written as a product", with_methods("Dense", """
    def forward(self, X):
        self.cache = X.copy()
        return np.einsum("nd,de->ne", X, self.W) + self.b

    def backward(self, dout):
        X = self.cache
        self.dW = np.einsum("nd,ne->de", X, dout)
        self.db = np.ones(X.shape[0]) @ dout
        return (self.W @ dout.T).T
""")),
    ("Dense", "a loop over the samples", with_methods("Dense", """
    def forward(self, X):
        self.cache = X
        return np.matmul(X, self.W) + self.b

    def backward(self, dout):
        X = self.cache
        self.dW, self.db = np.zeros_like(self.W), np.zeros_like(self.b)
        for n in range(X.shape[0]):
            self.dW += np.outer(X[n], dout[n])
            self.db += dout[n]
        return dout @ self.W.T
""")),
    ("Sigmoid", "1 / (1 + exp(-X)), out - out**2", """
class Sigmoid:
    def forward(self, X):
        self.cache = 1 / (1 + np.exp(-X))
        return self.cache

    def backward(self, dout):
        return dout * (self.cache - self.cache ** 2)
"""),
    ("ReLU", "np.where", """
class ReLU:
    def forward(self, X):
        self.cache = X
        return np.where(X > 0, X, 0.0)

    def backward(self, dout):
        return np.where(self.cache > 0, dout, 0.0)
"""),
    ("ReLU", "boolean masks on copies", """
class ReLU:
    def forward(self, X):
        self.cache = X.copy()
        out = X.copy()
        out[out < 0] = 0
        return out

    def backward(self, dout):
        dX = dout.copy()
        dX[self.cache <= 0] = 0
        return dX
"""),
    ("Tanh", "from the sigmoid, (1 - out)(1 + out)", """
class Tanh:
    def forward(self, X):
        self.cache = 2 * sigmoid(2 * X) - 1
        return self.cache

    def backward(self, dout):
        return dout * (1 - self.cache) * (1 + self.cache)
"""),
    ("Softmax", "the Jacobian of each row", """
class Softmax:
    def forward(self, X):
        e = np.exp(X - np.max(X, axis=1)[:, None])
        self.cache = e / np.sum(e, axis=1)[:, None]
        return self.cache

    def backward(self, dout):
        dX = np.zeros_like(dout)
        for i, p in enumerate(self.cache):
            dX[i] = (np.diag(p) - np.outer(p, p)) @ dout[i]
        return dX
"""),
    ("Softmax", "log-sum-exp, the product expanded", """
class Softmax:
    def forward(self, X):
        shifted = X - X.max(axis=1, keepdims=True)
        self.cache = np.exp(shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True)))
        return self.cache

    def backward(self, dout):
        out = self.cache
        return out * dout - out * (out * dout).sum(axis=1, keepdims=True)
"""),
    ("Softmax", "einsum Jacobians", """
class Softmax:
    def forward(self, X):
        exps = np.exp(X - X.max(axis=1, keepdims=True))
        self.cache = exps / exps.sum(axis=1, keepdims=True)
        return self.cache

    def backward(self, dout):
        p = self.cache
        J = np.einsum("ij,jk->ijk", p, np.eye(p.shape[1])) - np.einsum("ij,ik->ijk", p, p)
        return np.einsum("ijk,ij->ik", J, dout)
"""),
    ("mse_loss", "the mean of the row sums", """
def mse_loss(pred, target):
    diff = pred - target
    return float(np.mean(np.sum(diff ** 2, axis=1)) / 2), diff / len(pred)
"""),
    ("mse_loss", "a loop of dot products", """
def mse_loss(pred, target):
    N = pred.shape[0]
    loss = 0.0
    for n in range(N):
        d = pred[n] - target[n]
        loss += 0.5 * np.dot(d, d)
    return loss / N, (pred - target) * (1.0 / N)
"""),
    ("softmax_cross_entropy", "one-hot rows of np.eye", """
def softmax_cross_entropy(logits, y):
    N, C = logits.shape
    m = logits.max(axis=1, keepdims=True)
    log_p = logits - m - np.log(np.exp(logits - m).sum(axis=1, keepdims=True))
    one_hot = np.eye(C)[y]
    return float(-np.sum(log_p * one_hot) / N), (np.exp(log_p) - one_hot) / N
"""),
    ("softmax_cross_entropy", "a loop over the samples", """
def softmax_cross_entropy(logits, y):
    N = logits.shape[0]
    loss, dlogits = 0.0, np.zeros_like(logits)
    for n in range(N):
        exps = np.exp(logits[n] - np.max(logits[n]))
        loss -= (logits[n, y[n]] - np.max(logits[n])) - np.log(np.sum(exps))
        dlogits[n] = exps / np.sum(exps)
        dlogits[n, y[n]] -= 1.0
    return loss / N, dlogits / N
"""),
    ("Sequential", "slices and a separate variable", with_methods("Sequential", """
    def forward(self, X):
        out = X
        for layer in self.layers:
            out = layer.forward(out)
        return out

    def backward(self, dout):
        grad = dout
        for layer in self.layers[::-1]:
            grad = layer.backward(grad)
        return grad
""")),
    ("Sequential", "indices, and functools.reduce", with_methods("Sequential", """
    def forward(self, X):
        for i in range(len(self.layers)):
            X = self.layers[i].forward(X)
        return X

    def backward(self, dout):
        from functools import reduce
        return reduce(lambda grad, layer: layer.backward(grad), reversed(self.layers), dout)
""")),
    ("build_mlp", "an index loop, if/elif, keywords", """
def build_mlp(layer_sizes, activation="relu", seed=0, dtype=np.float32):
    if activation == "relu":
        Act = ReLU
    elif activation == "sigmoid":
        Act = Sigmoid
    elif activation == "tanh":
        Act = Tanh
    else:
        raise ValueError("activation must be 'relu', 'sigmoid' or 'tanh'")
    rng = np.random.default_rng(seed)
    layers = []
    for i in range(len(layer_sizes) - 1):
        layers.append(Dense(layer_sizes[i], layer_sizes[i + 1], seed=rng, dtype=dtype))
        if i < len(layer_sizes) - 2:
            layers.append(Act())
    return Sequential(layers)
"""),
    ("build_mlp", "a tuple of layers", """
def build_mlp(layer_sizes, activation="relu", seed=0, dtype=np.float32):
    act = {"relu": ReLU, "sigmoid": Sigmoid, "tanh": Tanh}.get(activation)
    if act is None:
        raise ValueError(f"unknown activation {activation}; valid: relu, sigmoid, tanh")
    rng = np.random.default_rng(seed)
    pairs = list(zip(layer_sizes, layer_sizes[1:]))
    layers = ()
    for k, (n_in, n_out) in enumerate(pairs):
        layers += (Dense(n_in, n_out, rng, dtype),)
        if k != len(pairs) - 1:
            layers += (act(),)
    return Sequential(layers)
"""),
    ("build_mlp", "the Dense layers first, the activations put between them", """
def build_mlp(layer_sizes, activation="relu", seed=0, dtype=np.float32):
    kinds = {"relu": ReLU, "sigmoid": Sigmoid, "tanh": Tanh}
    if activation not in kinds:
        raise ValueError("activation should be one of " + ", ".join(kinds))
    rng = np.random.default_rng(seed)
    dense = [Dense(a, b, rng, dtype=dtype) for a, b in zip(layer_sizes[:-1], layer_sizes[1:])]
    layers = [dense[0]]
    for layer in dense[1:]:
        layers += [kinds[activation](), layer]
    return Sequential(layers)
"""),
    ("loss_and_grads", "in one line, a float", """
def loss_and_grads(net, X, y, loss_fn):
    loss, dscores = loss_fn(net.forward(X), y)
    net.backward(dscores)
    return float(loss), net.grads()
"""),
    ("loss_and_grads", "copies of the gradients", """
def loss_and_grads(net, X, y, loss_fn):
    value, grad = loss_fn(net.forward(X), y)
    net.backward(grad)
    return value, {key: array.copy() for key, array in net.grads().items()}
"""),
]


@pytest.mark.parametrize("name, way, code", ALTERNATIVES, ids=[f"{name}-{way}" for name, way, _ in ALTERNATIVES])
def test_other_correct_ways_of_writing_it_pass(name, way, code):
    """A right answer written another way than the solution passes its hidden check, and costs no other question
    (build_mlp builds its network from the student's Dense and activation classes)."""
    namespace = notebook(**{name: code})
    for seed in SEEDS:
        with secret_seed(seed):
            getattr(lab4, f"check_{name}")(namespace[name])
    with secret_seed(SEEDS[1]):
        assert failing_checks(lab4, CHECKED, namespace) == []
