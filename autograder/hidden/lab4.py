"""Hidden tests of Lab 4 (backpropagation by hand, then in code): one check per graded function or class.

Each ``check_<name>(student_object)`` compares the student's function or class with the reference
(``autograder.reference.modules`` and ``losses``) on seeded random inputs and shapes, and the
gradients with numerical gradients, in float64. Every check takes the student's object alone, so one
wrong function or class fails one question only, and runs in well under a second.

The two worked examples of the lab (parts A and B) are checked against ``autograder.reference.worked_examples``.
The scalar graph of part 0 is checked against ``autograder.reference.scalar_graphs``.
"""
import copy

import numpy as np

from autograder.judge.student import own_helpers_first, same_object, type_name
from autograder.reference import losses, modules, scalar_graphs
from autograder.reference.worked_examples import (
    CLASSIC_KEYS,
    FORWARD_KEYS,
    WEIGHT_NAMES,
    reference_classic_step,
    reference_layer_grads,
)
from course_utils.gradcheck import numerical_gradient_array

from .common import (
    SIGN_FLIPPED,
    bias_hint,
    call,
    call_each,
    expect_array,
    expect_close,
    expect_dict,
    expect_number,
    expect_numerical_gradients,
    expect_tuple,
    label_columns,
    must_raise,
    numerical_gradient_each,
    numerically_close,
    over_entries,
    random_sizes,
    secret_rng,
    tested_with,
    times,
    went_uphill,
)


# ============================================================================= part A: layer_grads

def _expect_vector_result(value, what, shape, text):
    hint = "return 1-D arrays such as W @ x, not columns of shape (n, 1)" if np.ndim(value) == 2 and \
        len(shape) == 1 else ""
    return expect_array(value, what, shape, text, shape_hint=hint)


def check_layer_grads(layer_grads):
    """dy, dx and dW of loss = z1^2 + z2^2, z = sigmoid(W x), W (2, 3), against the reference and numerically."""
    rng = secret_rng(4101)
    for trial in range(4):
        W = rng.normal(size=(2, 3)) * (2.0 if trial == 3 else 1.0)
        x = rng.normal(size=3)
        with tested_with("a random W of shape (2, 3) and x of shape (3,)"):
            result = expect_tuple(call(layer_grads, W, x), 3, "layer_grads should return a tuple (dy, dx, dW)")
            dy = _expect_vector_result(result[0], "layer_grads: dy", (2,), "(2,), like y")
            dx = _expect_vector_result(result[1], "layer_grads: dx", (3,), "(3,), like x")
            dW = expect_array(result[2], "layer_grads: dW", (2, 3), "(2, 3), like W")
            expected_dy, expected_dx, expected_dW = reference_layer_grads(W, x)
            y = W @ x
            z = 1 / (1 + np.exp(-y))
            expect_close(dy, expected_dy, "layer_grads: dy",
                         "dy = dloss/dz * dz/dy, with dloss/dz = 2 z and dz/dy = z (1 - z)",
                         diagnoses=[times(0.5, "did you forget the factor 2 of d(z^2)/dz = 2 z?"),
                                    lambda a, e: "you left out the derivative of the sigmoid, z (1 - z)"
                                    if np.allclose(a, 2 * z) else None,
                                    lambda a, e: "the sigmoid's derivative is z (1 - z) with z = sigmoid(y), "
                                    "not y (1 - y)" if np.allclose(a, 2 * z * y * (1 - y)) else None,
                                    SIGN_FLIPPED])
            expect_close(dx, expected_dx, "layer_grads: dx",
                         "dy is right, so check dx = W^T dy (each x_j feeds both y_1 and y_2: add the two paths)")
            expect_close(dW, expected_dW, "layer_grads: dW",
                         "dy is right, so check dW[i, j] = dy_i * x_j, the outer product of dy and x")
            loss = lambda p: float(np.sum((1 / (1 + np.exp(-(p["W"] @ p["x"])))) ** 2))  # noqa: E731
            expect_numerical_gradients(loss, {"x": x, "W": W}, {"x": dx, "W": dW}, "layer_grads")


# ============================================================================= part B: classic_step

def _classic_problem(rng):
    weights = {name: float(rng.uniform(-1, 1)) for name in WEIGHT_NAMES + ("b1", "b2")}
    x = tuple(float(v) for v in rng.uniform(0, 1, size=2))
    target = tuple(float(v) for v in rng.uniform(0, 1, size=2))
    return weights, x, target, float(rng.uniform(0.1, 1.0))


def _backpropagated_through(weights, x, target, learning_rate, output_weights):
    """Hidden-layer gradients of the classic step when the output weights used going back are ``output_weights``."""
    expected = reference_classic_step(weights, x, target, learning_rate)
    deltas = [(expected[f"out_o{k}"] - target[k - 1]) * expected[f"out_o{k}"] * (1 - expected[f"out_o{k}"])
              for k in (1, 2)]
    into = {1: ("w5", "w7"), 2: ("w6", "w8")}  # weights leaving h1 and h2 towards o1 and o2
    grads = {}
    for h in (1, 2):
        d_out_h = sum(delta * output_weights[name] for delta, name in zip(deltas, into[h]))
        d_net_h = d_out_h * expected[f"out_h{h}"] * (1 - expected[f"out_h{h}"])
        for i, name in enumerate(("w1", "w2") if h == 1 else ("w3", "w4")):
            grads[f"dE_d{name}"] = d_net_h * x[i]
    return grads


def check_classic_step(classic_step):
    """Every forward value, E_total, the eight gradients and the new weights, on random networks."""
    rng = secret_rng(4202)
    for _ in range(4):
        weights, x, target, learning_rate = _classic_problem(rng)
        with tested_with("random weights, biases, input and target, and learning_rate="
                         f"{learning_rate:.3g}"):
            result = expect_dict(call(classic_step, weights, x, target, learning_rate), CLASSIC_KEYS,
                                 "classic_step: the result", "Use exactly the key names given in the exercise.")
            values = {key: expect_number(result[key], f"classic_step: result[{key!r}]") for key in CLASSIC_KEYS}
            expected = reference_classic_step(weights, x, target, learning_rate)
            for key in FORWARD_KEYS:
                unit = key[-2:]
                hint = (f"out_{unit} = sigmoid(net_{unit})" if key.startswith("out") else
                        "net_h1 = w1 i1 + w2 i2 + b1 and net_h2 = w3 i1 + w4 i2 + b1" if unit[0] == "h" else
                        "net_o1 = w5 out_h1 + w6 out_h2 + b2 and net_o2 = w7 out_h1 + w8 out_h2 + b2")
                expect_close(values[key], expected[key], f"classic_step: result[{key!r}]", hint, diagnoses=())
            expect_close(values["E_total"], expected["E_total"], "classic_step: result['E_total']",
                         "E_total = 1/2 (target1 - out_o1)^2 + 1/2 (target2 - out_o2)^2",
                         diagnoses=[times(2, "did you forget the factor 1/2?"),
                                    times(0.5, "E_total is the sum over the two outputs, not their mean")])
            output_diagnoses = [times(2, "the derivative of 1/2 (target - out)^2 with respect to out is "
                                      "-(target - out): the 1/2 cancels the 2"), SIGN_FLIPPED]
            for name in ("w5", "w6", "w7", "w8"):
                key = f"dE_d{name}"
                expect_close(values[key], expected[key], f"classic_step: result[{key!r}]",
                             "dE/dw5 = (out_o1 - target1) * out_o1 (1 - out_o1) * out_h1, and likewise for "
                             "w6 (out_h2), w7 and w8 (output o2)", output_diagnoses)
            updated = {name: values[f"new_{name}"] for name in ("w5", "w6", "w7", "w8")}
            with_new_weights = _backpropagated_through(weights, x, target, learning_rate, updated)
            for name in ("w1", "w2", "w3", "w4"):
                key = f"dE_d{name}"
                expect_close(values[key], expected[key], f"classic_step: result[{key!r}]",
                             "the output-layer gradients are right, so check the path back: out_h1 feeds both "
                             "outputs, so dE/dout_h1 = delta_o1 w5 + delta_o2 w7, then multiply by "
                             "out_h1 (1 - out_h1) and the input",
                             diagnoses=[lambda a, e, k=key: "you backpropagated through the updated output "
                                        "weights: compute every gradient with the weights of the forward pass, "
                                        "then update" if np.isclose(a, with_new_weights[k], rtol=1e-6, atol=1e-12)
                                        and not np.isclose(a, e) else None,
                                        times(2, "the 1/2 in E_total cancels the 2 of the square"), SIGN_FLIPPED])
            for name in WEIGHT_NAMES:
                key = f"new_{name}"
                expect_close(values[key], expected[key], f"classic_step: result[{key!r}]",
                             f"the new weight is {name} - learning_rate * dE/d{name}",
                             diagnoses=[went_uphill(weights[name] + learning_rate * expected[f"dE_d{name}"])])


# ============================================================================= part C: layer classes

def _bound(layer, method, label):
    """The layer's method under the name ``label`` (e.g. "Dense.backward"), for ``call``'s messages."""
    bound = getattr(layer, method, None)
    if not callable(bound):
        raise AssertionError(f"{label} is missing: the class needs a method {method}.")
    if method == "forward":
        def run(X):
            return bound(X)
    else:
        def run(dout):
            return bound(dout)
    run.__name__ = label
    return run


def _new_layer(cls, name, *args):
    layer = call(cls, *args)
    if not hasattr(layer, "forward") or not hasattr(layer, "backward"):
        raise AssertionError(f"{name} objects need the methods forward(X) and backward(dout).")
    return layer


def _forward_backward(layer, name, X, dout):
    """Run the student's forward then backward; return (out, dX) checked for shape and finiteness."""
    out = expect_array(call(_bound(layer, "forward", f"{name}.forward"), X), f"{name}.forward: out",
                       dout.shape, f"{dout.shape} for X of shape {X.shape}")
    dX = expect_array(call(_bound(layer, "backward", f"{name}.backward"), dout), f"{name}.backward: dX",
                      X.shape, "(N, D), like X")
    return out, dX


def _expect_numerical(layer, name, what, X, dout, analytic, parameter=None):
    """``analytic`` against the numerical gradient of sum(forward(X) * dout) with respect to X, or to the
    layer's attribute named ``parameter`` (e.g. "W"; set to each perturbed value, then restored) if given.
    Every perturbed forward pass is made in one round trip to the kernel (``call_each``)."""
    forward, label = layer.forward, f"{name}.forward"
    if parameter is None:
        numerical = numerical_gradient_each(lambda points: call_each(forward, [(p,) for p in points], label),
                                            X.copy(), dout)
    else:
        value = np.array(getattr(layer, parameter), dtype=np.float64)
        numerical = numerical_gradient_each(
            lambda points: call_each(forward, [(X,)] * len(points), label, before=(layer, parameter, points)),
            value.copy(), dout)
        setattr(layer, parameter, value)
    if not numerically_close(analytic, numerical):
        raise AssertionError(f"{name}.backward: {what} does not match the numerical gradient of your forward pass.")


def _check_activation(student_cls, name, reference_cls, make_input, forward_hint, backward_hint,
                      backward_diagnoses=()):
    """Forward and backward of a parameter-free layer against the reference, and dX numerically."""
    rng = secret_rng(sum(map(ord, name)))
    for _ in range(3):
        N, D = random_sizes(rng, (2, 7), (2, 6))
        X = make_input(rng, (N, D))
        dout = rng.normal(size=(N, D))
        with tested_with(f"X of shape ({N}, {D})"):
            layer = _new_layer(student_cls, name)
            out, dX = _forward_backward(layer, name, X, dout)
            reference = reference_cls()
            expect_close(out, reference.forward(X), f"{name}.forward: out", forward_hint)
            expected = reference.backward(dout)
            diagnoses = [diagnose(X, dout, reference.forward(X)) for diagnose in backward_diagnoses]
            expect_close(dX, expected, f"{name}.backward: dX", backward_hint, diagnoses + [SIGN_FLIPPED])
            _expect_numerical(layer, name, "dX", X, dout, dX)


def _was(formula, hint):
    """Diagnosis factory: ``formula(X, dout, out)`` is what the mistaken backward returns."""
    return lambda X, dout, out: (lambda a, e: hint if np.allclose(a, formula(X, dout, out)) else None)


def _normal(rng, shape):
    return rng.normal(scale=2.0, size=shape)


def _away_from_zero(rng, shape):
    """Normal draws with |x| >= 0.1, so the ReLU's kink is out of the numerical gradient's reach."""
    X = rng.normal(scale=2.0, size=shape)
    return np.where(np.abs(X) < 0.1, 0.1 * np.sign(X) + 0.1 * (X == 0), X)


def check_Sigmoid(Sigmoid):
    """Sigmoid forward and backward."""
    _check_activation(Sigmoid, "Sigmoid", modules.Sigmoid, _normal, "out = 1 / (1 + exp(-X))",
                      "dX = dout * out * (1 - out), with out the output of forward (keep it in the cache)",
                      [_was(lambda X, dout, out: dout * X * (1 - X),
                            "the derivative is out * (1 - out) with out = sigmoid(X), not X * (1 - X)"),
                       _was(lambda X, dout, out: out * (1 - out),
                            "multiply the local derivative by dout (the chain rule)")])


def check_ReLU(ReLU):
    """ReLU forward and backward."""
    _check_activation(ReLU, "ReLU", modules.ReLU, _away_from_zero, "out = max(0, X), elementwise (np.maximum)",
                      "dX = dout where X > 0, and 0 elsewhere",
                      [_was(lambda X, dout, out: (X > 0).astype(float), "multiply by dout: dX = dout * (X > 0)"),
                       _was(lambda X, dout, out: dout * (X < 0), "the gradient passes where X > 0, not where X < 0")])


def check_Tanh(Tanh):
    """Tanh forward and backward."""
    _check_activation(Tanh, "Tanh", modules.Tanh, _normal, "out = np.tanh(X)",
                      "dX = dout * (1 - out**2), with out = tanh(X) the output of forward",
                      [_was(lambda X, dout, out: dout * (1 - X ** 2),
                            "the derivative is 1 - tanh(X)^2 = 1 - out^2, not 1 - X^2"),
                       _was(lambda X, dout, out: 1 - out ** 2,
                            "multiply the local derivative by dout (the chain rule)")])


def check_Softmax(Softmax):
    """Softmax forward (stable for large inputs) and its row-wise Jacobian-vector product."""
    _check_activation(Softmax, "Softmax", modules.Softmax, _normal,
                      "out = exp(X) / sum(exp(X)) along each row (axis=1)",
                      "every output of a row depends on every input of that row: "
                      "dX = out * (dout - sum(dout * out, axis=1, keepdims=True))",
                      [_was(lambda X, dout, out: dout * out * (1 - out),
                            "you used only the diagonal of the Jacobian: each out_i also depends on the other "
                            "inputs of its row, dX = out * (dout - sum(dout * out, axis=1, keepdims=True))")])
    X = np.array([[1000.0, 999.0, -1000.0], [-1000.0, -1001.0, -1002.0]])
    out = call(_bound(_new_layer(Softmax, "Softmax"), "forward", "Softmax.forward"), X)
    if not np.all(np.isfinite(np.asarray(out, dtype=np.float64))):
        raise AssertionError("Softmax.forward gives NaN or inf for inputs of size 1000: subtract the maximum of each "
                             "row before taking exp (it does not change the result).")
    expect_close(out, modules.Softmax().forward(X), "Softmax.forward: out for inputs of size 1000",
                 "subtract the maximum of each row (keepdims=True) before exp", diagnoses=())


def check_Dense(Dense):
    """Dense forward, dX, and the stored dW and db, against the reference and numerically."""
    rng = secret_rng(4303)
    for _ in range(3):
        N, D_in, D_out = (int(v) for v in rng.integers(2, 7, size=3))
        X, dout = rng.normal(size=(N, D_in)), rng.normal(size=(N, D_out))
        W, b = rng.normal(size=(D_in, D_out)), rng.normal(size=D_out)
        with tested_with(f"N={N}, D_in={D_in}, D_out={D_out}"):
            layer = _new_layer(Dense, "Dense", D_in, D_out, 0, np.float64)
            layer.W, layer.b = W.copy(), b.copy()
            out, dX = _forward_backward(layer, "Dense", X, dout)
            reference = modules.Dense(D_in, D_out, dtype=np.float64)
            reference.W, reference.b = W, b
            expect_close(out, reference.forward(X), "Dense.forward: out", "out = X @ self.W + self.b",
                         diagnoses=[lambda a, e: "did you forget the bias b?" if np.allclose(a, X @ W) else None])
            expected_dX = reference.backward(dout)
            expect_close(dX, expected_dX, "Dense.backward: dX", "dX = dout @ W.T")
            grads = {}
            for key, shape, text in (("dW", (D_in, D_out), "(D_in, D_out), like W"),
                                     ("db", (D_out,), "(D_out,), like b")):
                if getattr(layer, key, None) is None:
                    raise AssertionError(f"Dense.backward should store the gradient in self.{key}.")
                grads[key] = expect_array(getattr(layer, key), f"Dense.backward: self.{key}", shape, text,
                                          shape_hint=bias_hint(np.shape(getattr(layer, key)), N) if key == "db"
                                          else "")
            scale = [times(1 / N, "sum over the samples, do not average: the loss already has its 1/N in dout")]
            expect_close(grads["dW"], reference.dW, "Dense.backward: self.dW", "dW = X.T @ dout",
                         scale + [SIGN_FLIPPED])
            expect_close(grads["db"], reference.db, "Dense.backward: self.db",
                         "db = the sum of dout over the samples (axis 0)", scale + [SIGN_FLIPPED])
            _expect_numerical(layer, "Dense", "dX", X, dout, dX)
            _expect_numerical(layer, "Dense", "self.dW", X, dout, grads["dW"], "W")
            _expect_numerical(layer, "Dense", "self.db", X, dout, grads["db"], "b")


# ============================================================================= losses

def _check_loss(loss_fn, name, reference_fn, make_problem, loss_hint, gradient_hint, loss_diagnoses,
                gradient_diagnoses):
    rng = secret_rng(sum(map(ord, name)))
    for _ in range(3):
        pred, target, description = make_problem(rng)
        N, D = pred.shape
        with tested_with(description):
            result = expect_tuple(call(loss_fn, pred, target), 2, f"{name} should return a tuple (loss, dpred)")
            loss = expect_number(result[0], f"{name}: the loss")
            grad = expect_array(result[1], f"{name}: the gradient", pred.shape, f"{pred.shape}, like its input")
            expected_loss, expected_grad = reference_fn(pred, target)
            expect_close(loss, expected_loss, f"{name}: the loss", loss_hint, loss_diagnoses(N, D))
            expect_close(grad, expected_grad, f"{name}: the gradient", gradient_hint, gradient_diagnoses(N, D, target))
            numerical = numerical_gradient_array(lambda p: reference_fn(p, target)[0], pred.copy(), np.ones(()))
            if not numerically_close(grad, numerical):
                raise AssertionError(f"{name}: the gradient does not match the numerical gradient of the loss.")


def _regression_problem(rng):
    N, D = random_sizes(rng, (2, 9), (1, 4))
    return rng.normal(size=(N, D)), rng.normal(size=(N, D)), f"pred and target of shape ({N}, {D})"


def check_mse_loss(mse_loss):
    """1/(2N) squared error and its gradient (pred - target) / N."""
    _check_loss(mse_loss, "mse_loss", losses.mse, _regression_problem,
                "loss = 1/(2N) * sum((pred - target)**2), N the number of rows",
                "dpred = (pred - target) / N",
                lambda N, D: [over_entries(D), times(2, "did you forget the 1/2?"), times(N, "did you divide by N?")],
                lambda N, D, target: [over_entries(D), times(N, "did you divide by N?"),
                                      times(2, "the 1/2 cancels the 2 of the square"), SIGN_FLIPPED])


def _classification_problem(rng, scale=1.0):
    N, C = random_sizes(rng, (2, 9), (2, 6))
    return rng.normal(scale=scale, size=(N, C)), rng.integers(0, C, size=N), f"logits of shape ({N}, {C})"


def check_softmax_cross_entropy(softmax_cross_entropy):
    """Mean cross-entropy of the softmax, its gradient (softmax - one_hot) / N, and stability for large logits."""
    diagnoses = dict(loss_diagnoses=lambda N, C: [times(N, "did you average over the samples (divide by N)?"),
                                                  SIGN_FLIPPED],
                     gradient_diagnoses=lambda N, C, y: [times(N, "did you divide by N?"), SIGN_FLIPPED,
                                                         label_columns(y, "dlogits")])
    _check_loss(softmax_cross_entropy, "softmax_cross_entropy", losses.softmax_ce, _classification_problem,
                "loss = -1/N * sum over the samples of log(softmax(logits)[i, y[i]])",
                "dlogits = (softmax(logits) - one_hot(y)) / N", **diagnoses)
    logits = np.array([[1000.0, 0.0, -1000.0], [0.0, 800.0, 0.0]])
    y = np.array([0, 2])
    with tested_with("logits of size 1000"):
        result = expect_tuple(call(softmax_cross_entropy, logits, y), 2,
                              "softmax_cross_entropy should return a tuple (loss, dlogits)")
        loss = np.asarray(result[0], dtype=np.float64)
        if not np.all(np.isfinite(loss)) or not np.all(np.isfinite(np.asarray(result[1], dtype=np.float64))):
            raise AssertionError("softmax_cross_entropy gives NaN or inf for large logits: subtract the maximum of "
                                 "each row first, and compute log(softmax) as shifted - log(sum(exp(shifted))).")
        expected_loss, expected_grad = losses.softmax_ce(logits, y)
        expect_close(loss, expected_loss, "softmax_cross_entropy: the loss",
                     "compute log(softmax) as shifted - log(sum(exp(shifted))) so it never takes the log of 0",
                     diagnoses=())
        expect_close(result[1], expected_grad, "softmax_cross_entropy: the gradient",
                     "dlogits = (softmax(logits) - one_hot(y)) / N", diagnoses=())


# ============================================================================= the network

def _reference_layers(rng, sizes, activation):
    """Reference float64 layers of an MLP with random weights and biases."""
    net = modules.build_mlp(sizes, activation, seed=rng, dtype=np.float64)
    for layer in net.params().values():
        layer[...] += rng.normal(scale=0.3, size=layer.shape)
    return net.layers


def _layer_order(net):
    """The layers of the student's ``net.layers`` in order, each as its class and the shape of its W (None if there
    is no such list)."""
    layers = getattr(net, "layers", None)
    return [(type_name(layer), np.shape(getattr(layer, "W", ()))) for layer in layers] \
        if isinstance(layers, list) else None


def check_Sequential(Sequential):
    """forward runs the layers in order, backward in reverse order, and returns dX; grads fill every Dense layer."""
    rng = secret_rng(4404)
    for sizes, activation in (([4, 6, 5, 3], "relu"), ([3, 5, 2], "tanh")):
        N = int(rng.integers(2, 7))
        layers = _reference_layers(rng, sizes, activation)
        X, dout = rng.normal(size=(N, sizes[0])), rng.normal(size=(N, sizes[-1]))
        with tested_with(f"reference layers of sizes {sizes} with {activation} between them"):
            net = call(Sequential, layers)
            reference = modules.Sequential(copy.deepcopy(layers))
            out = expect_array(call(_bound(net, "forward", "Sequential.forward"), X), "Sequential.forward: out",
                               (N, sizes[-1]), "(N, D_out), the output of the last layer")
            expect_close(out, reference.forward(X), "Sequential.forward: out",
                         "pass X through every layer in order, each layer's output being the next one's input",
                         diagnoses=())
            order = _layer_order(net)
            dX = call(_bound(net, "backward", "Sequential.backward"), dout)
            if order is not None and _layer_order(net) not in (order, None):
                raise AssertionError("Sequential.backward changed the order of the list self.layers: it should go "
                                     "through the layers backwards without changing the list (list.reverse() reverses "
                                     "the list itself, so the next pass runs in the wrong order).")
            dX = expect_array(dX, "Sequential.backward: dX", (N, sizes[0]), "(N, D_in), like X",
                              shape_hint="pass dout through every layer's backward, in reverse order")
            expect_close(dX, reference.backward(dout), "Sequential.backward: dX",
                         "pass dout through every layer's backward in reverse order and return the last result",
                         diagnoses=())
            grads = expect_dict(call(net.grads), reference.grads().keys(), "Sequential.grads()")
            for key, value in reference.grads().items():
                expect_close(expect_array(grads[key], f"Sequential.grads()[{key!r}]", value.shape, str(value.shape)),
                             value, f"Sequential.grads()[{key!r}]",
                             "backward must call every layer's backward, so that each Dense layer stores its dW and db",
                             diagnoses=())


def check_build_mlp(build_mlp):
    """Dense and activation layers alternate, no activation after the last Dense, one generator for all layers."""
    classes = {"relu": "ReLU", "sigmoid": "Sigmoid", "tanh": "Tanh"}
    for sizes, activation in (([5, 6, 6, 3], "tanh"), ([2, 4, 4, 4, 2], "relu"), ([3, 1], "sigmoid"),
                              ([3, 4, 2], "sigmoid")):
        context = f"for layer_sizes={sizes}, activation={activation!r}"
        net = call(build_mlp, sizes, activation, seed=3, dtype=np.float64, context=context)
        layers = getattr(net, "layers", None)
        if not isinstance(layers, (list, tuple)):
            raise AssertionError(f"build_mlp {context} should return a Sequential (with a list net.layers).")
        names = [type_name(layer) for layer in layers]
        expected = [name for i in range(len(sizes) - 1) for name in ("Dense", classes[activation])][:-1]
        if names != expected:
            raise AssertionError(f"build_mlp {context} gave the layers {names}, but it should give {expected}: "
                                 "a Dense layer for each pair of consecutive sizes, the activation between them, "
                                 "and no activation after the last Dense layer.")
        if any(same_object(a, b) for i, a in enumerate(layers) for b in layers[i + 1:]):
            raise AssertionError(f"build_mlp {context} put one layer object in the network more than once: each layer "
                                 "keeps the cache of its own forward pass for backward, so create a new activation "
                                 "(and Dense) layer for each place, inside the loop.")
        dense = layers[::2]
        for i, (layer, D_in, D_out) in enumerate(zip(dense, sizes[:-1], sizes[1:]), start=1):
            W = np.asarray(getattr(layer, "W", None))
            if W.shape != (D_in, D_out) or W.dtype != np.float64:
                raise AssertionError(f"build_mlp {context}: Dense layer {i} should have W of shape ({D_in}, {D_out}) "
                                     "and the dtype passed to build_mlp: create it as Dense(D_in, D_out, rng, dtype).")
        same = [np.asarray(a.W) for a in dense if np.shape(a.W) == np.shape(dense[1].W)] if len(dense) > 2 else []
        if len(same) > 1 and all(np.array_equal(same[0], W) for W in same[1:]):
            raise AssertionError(f"build_mlp {context}: layers of the same size got identical weights: create one "
                                 "generator rng = np.random.default_rng(seed) and pass it to every Dense layer.")
        again = call(build_mlp, sizes, activation, seed=3, dtype=np.float64, context=context)
        other = call(build_mlp, sizes, activation, seed=4, dtype=np.float64, context=context)
        if not np.array_equal(again.layers[0].W, dense[0].W) or np.array_equal(other.layers[0].W, dense[0].W):
            raise AssertionError(f"build_mlp {context}: the weights should depend on the seed, and only on it: "
                                 "create the generator with np.random.default_rng(seed).")
    must_raise(build_mlp, [2, 3, 2], "softsign", case="the unknown activation 'softsign'",
               should="that lists the valid activations")


def check_loss_and_grads(loss_and_grads):
    """The loss and the gradients of every parameter after one forward and backward pass, also numerically."""
    rng = secret_rng(4505)
    cases = (([3, 5, 4], "tanh", losses.softmax_ce, "softmax_ce"), ([2, 4, 3, 2], "sigmoid", losses.mse, "mse"))
    for sizes, activation, loss_fn, loss_name in cases:
        N = int(rng.integers(3, 8))
        layers = _reference_layers(rng, sizes, activation)
        X = rng.normal(size=(N, sizes[0]))
        y = rng.integers(0, sizes[-1], size=N) if loss_name == "softmax_ce" else rng.normal(size=(N, sizes[-1]))
        with tested_with(f"a reference network of sizes {sizes} ({activation}) and the loss {loss_name}"):
            net = modules.Sequential(layers)
            result = expect_tuple(call(loss_and_grads, net, X, y, loss_fn, may_modify=True), 2,
                                  "loss_and_grads should return a tuple (loss, grads)")
            reference = modules.Sequential(copy.deepcopy(layers))
            expected_loss, expected = modules.loss_and_grads(reference, X, y, loss_fn)
            loss = expect_number(result[0], "loss_and_grads: the loss")
            expect_close(loss, expected_loss, "loss_and_grads: the loss",
                         "return the loss_fn value of the network's output net.forward(X)", diagnoses=())
            grads = expect_dict(result[1], expected.keys(), "loss_and_grads: grads",
                                "Return net.grads() after the backward pass.")
            values = {}
            for key, value in expected.items():
                if grads[key] is None:
                    raise AssertionError(f"loss_and_grads: grads[{key!r}] is None: call net.backward(dscores) "
                                         "before reading the gradients.")
                values[key] = expect_array(grads[key], f"loss_and_grads: grads[{key!r}]", value.shape,
                                           f"{value.shape}, like params[{key!r}]")
                expect_close(values[key], value, f"loss_and_grads: grads[{key!r}]",
                             "run net.backward on the gradient that loss_fn returns, then return net.grads()")

            def cost_of(params):
                point = modules.Sequential(copy.deepcopy(layers))
                for key, value in params.items():
                    point.params()[key][...] = value
                return loss_fn(point.forward(X), y)[0]

            expect_numerical_gradients(cost_of, modules.Sequential(layers).params(), values, "loss_and_grads")


# ============================================================================= part 0: scalar graphs

_GATE_HINTS = {"add": "the add gate passes dout on unchanged: da = dout and db = dout",
               "mul": "each input gets dout times the other input: da = dout * b and db = dout * a",
               "max": "the larger input gets dout and the other 0 (on a tie, a gets dout)"}


def _gate_problems(rng):
    """(gate, a, b, dout) cases: every gate, the max gate with either input larger and with a tie."""
    problems = []
    for gate in scalar_graphs.GATES:
        for _ in range(2):
            a, b = rng.normal(size=2) * 3
            problems.append((gate, float(a), float(b), float(rng.normal() * 2)))
    a = float(rng.normal())
    problems += [("max", a - 1.5, a, float(rng.normal())), ("max", a + 1.5, a, float(rng.normal())),
                 ("max", a, a, float(rng.normal()))]
    return problems


def check_gate_backward(gate_backward):
    """(da, db) of the add, multiply and max gates on secret random inputs and upstream gradients."""
    rng = secret_rng(4301)
    for gate, a, b, dout in _gate_problems(rng):
        with tested_with(f"gate={gate!r} and random a, b and dout"):
            result = expect_tuple(call(gate_backward, gate, a, b, dout), 2,
                                  "gate_backward should return a tuple (da, db)")
            found = np.array([expect_number(value, f"gate_backward({gate!r}, a, b, dout): {name}")
                              for value, name in zip(result, ("da", "db"))])
            expected = np.array(scalar_graphs.gate_backward(gate, a, b, dout))
            diagnoses = [lambda x, e: "multiply the local gradient by dout (the chain rule)"
                         if np.allclose(x, e / dout) and not np.allclose(x, e) else None]
            if gate == "mul":
                diagnoses.append(lambda x, e: "each input's gradient is dout times the *other* input"
                                 if np.allclose(x, [dout * a, dout * b]) else None)
            if gate == "max":
                diagnoses.append(lambda x, e: "dout goes to the larger input, not the smaller one"
                                 if a != b and np.allclose(x, e[::-1]) else None)
            expect_close(found, expected, f"gate_backward({gate!r}, a, b, dout): (da, db)", _GATE_HINTS[gate],
                         diagnoses=diagnoses + [SIGN_FLIPPED])


def _graph_points(rng):
    """Four (x, y, z, w): the max gate picks q twice and z twice, never at a tie."""
    points = []
    for picks_q in (True, False, True, False):
        x, y, w = rng.normal(size=3) * 2
        gap = float(rng.uniform(0.5, 3.0))
        z = x * y - gap if picks_q else x * y + gap
        points.append((float(x), float(y), float(z), float(w)))
    return points


def check_graph_forward(graph_forward):
    """q, r, s and f of the graph q = x y, r = max(q, z), s = r + x, f = s w at secret random points."""
    rng = secret_rng(4302)
    hints = {"q": "q = x * y", "r": "r = max(q, z)", "s": "s = r + x (x is used a second time here)",
             "f": "f = s * w"}
    for point in _graph_points(rng):
        with tested_with("random x, y, z and w"):
            values = expect_dict(call(graph_forward, *point), scalar_graphs.GRAPH_VALUES, "graph_forward: the result",
                                 "Use exactly the key names given in the exercise.")
            expected = scalar_graphs.graph_forward(*point)
            for key in scalar_graphs.GRAPH_VALUES:
                found = expect_number(values[key], f"graph_forward: result[{key!r}]")
                expect_close(found, expected[key], f"graph_forward: result[{key!r}]", hints[key], diagnoses=())


@own_helpers_first({"gate_backward": scalar_graphs.gate_backward, "graph_forward": scalar_graphs.graph_forward})
def check_graph_backward(graph_backward):
    """The gradients of f with respect to x, y, z and w at secret random points, given the right forward values.

    If graph_backward calls gate_backward or graph_forward, it gets the reference versions of them.
    """
    rng = secret_rng(4303)
    hints = {"x": "x feeds two gates (q = x * y and s = r + x): its gradient is the sum of both paths",
             "y": "dy = dq * x, where dq is what the max gate sends back to q",
             "z": "the max gate sends dr to the larger of q and z, 0 to the other",
             "w": "dw = s (the multiply gate f = s * w, with df/df = 1)"}
    for point in _graph_points(rng):
        values = scalar_graphs.graph_forward(*point)
        with tested_with("random x, y, z and w and their forward values"):
            grads = expect_dict(call(graph_backward, *point, values), scalar_graphs.GRAPH_INPUTS,
                                "graph_backward: the result", "Use exactly the key names given in the exercise.")
            expected = scalar_graphs.graph_backward(*point)
            x, y, z, w = point
            dq = w if values["q"] >= z else 0.0
            one_path = {"x": [w, dq * y], "y": [], "z": [], "w": []}
            for key in ("w", "z", "y", "x"):  # backwards through the graph: x, fed by two gates, comes last
                found = expect_number(grads[key], f"graph_backward: result[{key!r}]")
                diagnoses = [lambda f, e, paths=one_path[key]: "you kept only one of the two paths of x: add the "
                             "gradient of the add gate and that of the multiply gate"
                             if any(np.isclose(f, p) for p in paths) and not np.isclose(f, e) else None,
                             SIGN_FLIPPED]
                expect_close(found, expected[key], f"graph_backward: result[{key!r}]", hints[key],
                             diagnoses=diagnoses)
