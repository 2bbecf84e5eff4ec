"""Layers as objects (Lab 4): each one keeps the cache of its last forward pass.

``layer.forward(X) -> out`` stores what the backward pass needs; ``layer.backward(dout) -> dX``
returns the gradient with respect to the layer's input and, for ``Dense``, stores the parameter
gradients ``dW`` and ``db``. The formulas live in ``layers`` and ``activations``: these classes
only hold the parameters and the cache around them.

A ``Sequential`` network is a list of layers; its parameters and gradients are dicts in the course
convention ``{"W1", "b1", "W2", ...}`` (numbered by Dense layer), holding the layers' own arrays,
so updating ``params()[key]`` in place updates the network.
"""
import numpy as np

from . import activations
from .layers import dense_backward, dense_forward


class Dense:
    """Fully connected layer ``out = X @ W + b``.

    D_in, D_out: numbers of inputs and outputs; seed: int or ``numpy.random.Generator``;
    dtype: float dtype of the parameters (float32 to train, float64 for gradient checks).
    W (D_in, D_out) starts as He-scaled normal draws (std sqrt(2 / D_in)), b (D_out,) at zero.
    After ``backward``, dW and db hold the gradients (shapes of W and b).
    """

    def __init__(self, D_in, D_out, seed=0, dtype=np.float32):
        rng = np.random.default_rng(seed)
        self.W = (rng.standard_normal((D_in, D_out)) * np.sqrt(2.0 / D_in)).astype(dtype)
        self.b = np.zeros(D_out, dtype=dtype)
        self.dW = None
        self.db = None
        self.cache = None

    def forward(self, X):
        """X: (N, D_in) -> out: (N, D_out)."""
        out, self.cache = dense_forward(X, self.W, self.b)
        return out

    def backward(self, dout):
        """dout: (N, D_out) -> dX: (N, D_in); stores dW (D_in, D_out) and db (D_out,), summed over the batch."""
        dX, self.dW, self.db = dense_backward(dout, self.cache)
        return dX


class _Activation:
    """An elementwise (softmax: row-wise) function without parameters; subclasses name the pair of functions."""
    forward_function = None
    backward_function = None

    def __init__(self):
        self.cache = None

    def forward(self, X):
        """X: float array (N, D) -> out: same shape."""
        out, self.cache = type(self).forward_function(X)
        return out

    def backward(self, dout):
        """dout: (N, D), gradient with respect to out -> dX: (N, D)."""
        return type(self).backward_function(dout, self.cache)


class Sigmoid(_Activation):
    """``1 / (1 + exp(-X))``, elementwise."""
    forward_function = staticmethod(activations.sigmoid_forward)
    backward_function = staticmethod(activations.sigmoid_backward)


class ReLU(_Activation):
    """``max(0, X)``, elementwise (gradient 0 at X = 0)."""
    forward_function = staticmethod(activations.relu_forward)
    backward_function = staticmethod(activations.relu_backward)


class Tanh(_Activation):
    """``tanh(X)``, elementwise."""
    forward_function = staticmethod(activations.tanh_forward)
    backward_function = staticmethod(activations.tanh_backward)


class Softmax(_Activation):
    """Softmax over the last axis: each row of the output is a probability distribution."""
    forward_function = staticmethod(activations.softmax_forward)
    backward_function = staticmethod(activations.softmax_backward)


ACTIVATIONS = {"relu": ReLU, "sigmoid": Sigmoid, "tanh": Tanh}


class Sequential:
    """Layers applied one after the other; ``backward`` runs them in reverse order.

    layers: list of objects with ``forward(X) -> out`` and ``backward(dout) -> dX``; a layer with
    attributes W and b (and dW and db after ``backward``) has parameters.
    """

    def __init__(self, layers):
        self.layers = list(layers)

    def forward(self, X):
        """X: (N, D_in) -> the output of the last layer."""
        for layer in self.layers:
            X = layer.forward(X)
        return X

    def backward(self, dout):
        """dout: gradient with respect to the output -> gradient with respect to X (N, D_in)."""
        for layer in reversed(self.layers):
            dout = layer.backward(dout)
        return dout

    def _with_parameters(self):
        return [layer for layer in self.layers if hasattr(layer, "W")]

    def params(self):
        """{"W1": W of the first Dense layer, "b1": ..., "W2": ...}: the layers' own arrays (not copies)."""
        return {f"{name}{i}": getattr(layer, name) for i, layer in enumerate(self._with_parameters(), start=1)
                for name in ("W", "b")}

    def grads(self):
        """{"W1": dW of the first Dense layer, "b1": db, ...}, from the last backward pass."""
        return {f"{name}{i}": getattr(layer, "d" + name) for i, layer in enumerate(self._with_parameters(), start=1)
                for name in ("W", "b")}


def build_mlp(layer_sizes, activation="relu", seed=0, dtype=np.float32):
    """A multi-layer perceptron: Dense layers with the activation between them, none after the last.

    layer_sizes: [D_in, H_1, ..., D_out], at least two ints; activation: "relu", "sigmoid" or "tanh";
    seed: int or Generator, one generator draws every layer's weights in order; dtype: of the parameters.
    Returns a Sequential whose output is the (N, D_out) scores.
    """
    if activation not in ACTIVATIONS:
        raise ValueError(f"Unknown activation {activation!r}: use one of {sorted(ACTIVATIONS)}.")
    if len(layer_sizes) < 2:
        raise ValueError(f"layer_sizes needs at least an input and an output size, got {list(layer_sizes)}.")
    rng = np.random.default_rng(seed)
    layers = []
    for D_in, D_out in zip(layer_sizes[:-1], layer_sizes[1:]):
        layers += [Dense(D_in, D_out, rng, dtype), ACTIVATIONS[activation]()]
    return Sequential(layers[:-1])


def loss_and_grads(net, X, y, loss_fn):
    """One forward and backward pass of ``net`` on a batch.

    net: a Sequential; X: (N, D_in); y: targets as ``loss_fn`` takes them;
    loss_fn: ``(scores, y) -> (loss, dscores)``, e.g. ``losses.softmax_ce`` or ``losses.mse``.
    Returns (loss: float, grads: dict {"W1", "b1", ...} like ``net.params()``).
    """
    loss, dscores = loss_fn(net.forward(X), y)
    net.backward(dscores)
    return loss, net.grads()
