"""Multi-layer perceptron built from the reference layers, activations and losses.

A network with L layers has parameters ``{"W1", "b1", ..., "WL", "bL"}`` with
``W{l}`` of shape (D_{l-1}, D_l) and ``b{l}`` of shape (D_l,). Hidden layers
apply the chosen activation; the last layer is linear and feeds the loss:

* "softmax_ce": softmax cross-entropy on int labels (N,) (or (N, C) one-hot);
* "mse": 1/(2N) squared error between the linear outputs and one-hot targets
  (int labels are one-hot encoded; (N, C) targets are used as given);
* "bce": one output unit read as the logit of class 1, binary cross-entropy
  of its sigmoid; labels (N,) or (N, 1) in {0, 1}.

Everything stays in the parameters' dtype (float32 for training, float64 for
gradient checks).
"""
import numpy as np

from . import activations, losses
from .init import initialize
from .layers import dense_backward, dense_forward

ACTIVATIONS = {
    "relu": (activations.relu_forward, activations.relu_backward),
    "sigmoid": (activations.sigmoid_forward, activations.sigmoid_backward),
    "tanh": (activations.tanh_forward, activations.tanh_backward),
}
LOSSES = ("softmax_ce", "mse", "bce")


def init_params(layer_sizes, init="he", seed=0, dtype=np.float32, scale=0.01):
    """Create the parameters of an MLP.

    layer_sizes: [D_in, H_1, ..., D_out], at least two positive ints.
    init: weight initialisation method (see ``init.initialize``); biases are zeros.
    seed: int or ``numpy.random.Generator``; scale: std of the "normal" method.
    Returns {"W1": (D_in, H_1), "b1": (H_1,), ...} arrays of ``dtype``.
    """
    sizes = list(layer_sizes)
    if len(sizes) < 2 or any(int(s) != s or s < 1 for s in sizes):
        raise ValueError(f"layer_sizes must list at least two positive ints (input and output sizes), got {sizes}.")
    rng = np.random.default_rng(seed)
    params = {}
    for layer, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
        params[f"W{layer}"] = initialize(fan_in, fan_out, init, rng=rng, scale=scale, dtype=dtype)
        params[f"b{layer}"] = np.zeros(fan_out, dtype=dtype)
    return params


def _num_layers(params):
    """Number of dense layers, checking that W1..WL and b1..bL are all present."""
    num = sum(1 for key in params if key.startswith("W"))
    expected = {f"{p}{l}" for l in range(1, num + 1) for p in "Wb"}
    if num == 0 or not expected <= set(params):
        raise ValueError(f"params must hold W1..WL and b1..bL, got keys {sorted(params)}.")
    return num


def _check_choice(name, choices, kind):
    """Raise a ValueError listing the valid choices unless ``name`` is one of them."""
    if name not in choices:
        raise ValueError(f"Unknown {kind} {name!r}; choose one of {', '.join(map(repr, choices))}.")


def _activation(name):
    """(forward, backward) pair of a hidden activation, by name."""
    _check_choice(name, ACTIVATIONS, "activation")
    return ACTIVATIONS[name]


def _forward(params, X, activation):
    """Run the network on X (N, D_in); returns (output (N, D_out), list of per-layer caches)."""
    act_forward, _ = _activation(activation)
    num = _num_layers(params)
    X = np.asarray(X, dtype=params["W1"].dtype)
    if X.ndim != 2 or X.shape[1] != params["W1"].shape[0]:
        raise ValueError(f"X must have shape (N, {params['W1'].shape[0]}), got {X.shape}.")
    caches = []
    h = X
    for layer in range(1, num + 1):
        h, dense_cache = dense_forward(h, params[f"W{layer}"], params[f"b{layer}"])
        act_cache = None
        if layer < num:
            h, act_cache = act_forward(h)
        caches.append((dense_cache, act_cache))
    return h, caches


def _output_loss(out, y, loss):
    """Loss (a name from LOSSES) of the last layer's output ``out`` (N, D_out) and its gradient."""
    y = np.asarray(y)
    if y.shape[0] != out.shape[0]:
        raise ValueError(f"X has {out.shape[0]} samples but y has {y.shape[0]} labels.")
    if loss == "softmax_ce":
        return losses.softmax_ce(out, y)
    if loss == "mse":
        if y.ndim == 1 and out.shape[1] > 1:
            y = _one_hot(y, out.shape[1], out.dtype)
        return losses.mse(out, y)
    if out.shape[1] != 1:
        raise ValueError(f"loss='bce' needs exactly one output unit, the network has {out.shape[1]}.")
    return losses.bce_with_logits(out, y)


def _one_hot(y, num_classes, dtype):
    """One-hot (N, num_classes) encoding of int labels y (N,)."""
    if not np.issubdtype(y.dtype, np.integer) or y.min() < 0 or y.max() >= num_classes:
        raise ValueError(f"labels must be ints in [0, {num_classes - 1}], got dtype {y.dtype} "
                         f"and values from {y.min()} to {y.max()}.")
    encoded = np.zeros((y.shape[0], num_classes), dtype=dtype)
    encoded[np.arange(y.shape[0]), y] = 1
    return encoded


def loss_and_grads(params, X, y, activation="relu", loss="softmax_ce", reg=0.0):
    """Loss of the MLP on a batch and its gradient with respect to every parameter.

    params: dict from ``init_params``; X: (N, D_in), converted to the parameters' dtype.
    y: int labels (N,) for "softmax_ce" and "mse" (or (N, C) targets), binary labels
    (N,) or (N, 1) for "bce". reg: L2 strength, adds ``0.5 * reg * sum(W**2)`` over
    the weight matrices to the loss and ``reg * W`` to their gradients (biases are
    not regularised).
    Returns (loss: float, grads: dict with the keys and shapes of ``params``).
    """
    _check_choice(loss, LOSSES, "loss")
    _, act_backward = _activation(activation)
    out, caches = _forward(params, X, activation)
    value, dout = _output_loss(out, y, loss)
    grads = {}
    for layer in range(len(caches), 0, -1):
        dense_cache, act_cache = caches[layer - 1]
        if act_cache is not None:
            dout = act_backward(dout, act_cache)
        dout, grads[f"W{layer}"], grads[f"b{layer}"] = dense_backward(dout, dense_cache, compute_dX=layer > 1)
        if reg:
            W = params[f"W{layer}"]
            value += 0.5 * reg * float(np.vdot(W, W))
            grads[f"W{layer}"] += reg * W
    return value, {key: grads[key] for key in params}


def predict(params, X, activation="relu"):
    """Predicted labels, int64 (N,): argmax of the outputs, or ``logit > 0`` for one output unit."""
    out, _ = _forward(params, X, activation)
    if out.shape[1] == 1:
        return (out[:, 0] > 0).astype(np.int64)
    return out.argmax(axis=1).astype(np.int64, copy=False)
