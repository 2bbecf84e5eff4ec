"""Activation functions: plain, forward (with cache) and backward.

Every function works elementwise on an array of any shape (softmax: over the
last axis), keeps the input's floating dtype (float32 in, float32 out) and is
numerically stable: no overflow and no warnings for inputs up to 1e4 in size.

``<name>_forward(x) -> (out, cache)`` and ``<name>_backward(dout, cache) -> dx``
follow the layer convention: ``dout`` is the upstream gradient with the shape
of ``out``, ``dx`` has the shape and dtype of ``x``.
"""
import numpy as np


def _as_float(x):
    """Return ``x`` as a floating array, keeping float32/float64 as they are."""
    x = np.asarray(x)
    return x if np.issubdtype(x.dtype, np.floating) else x.astype(np.float64)


def sigmoid(x):
    """Logistic sigmoid ``1 / (1 + exp(-x))``, stable for any finite ``x``.

    Computed as ``exp(-logaddexp(0, -x))`` so large negative inputs never overflow.
    """
    x = _as_float(x)
    return np.exp(-np.logaddexp(0, -x)).astype(x.dtype, copy=False)


def sigmoid_forward(x):
    """Sigmoid with cache ``out`` (the derivative is ``out * (1 - out)``)."""
    out = sigmoid(x)
    return out, out


def sigmoid_backward(dout, cache):
    """Gradient of the sigmoid: ``dout * out * (1 - out)``."""
    out = cache
    return dout * out * (1 - out)


def tanh(x):
    """Hyperbolic tangent (``np.tanh`` is already stable)."""
    return np.tanh(_as_float(x))


def tanh_forward(x):
    """Tanh with cache ``out`` (the derivative is ``1 - out**2``)."""
    out = tanh(x)
    return out, out


def tanh_backward(dout, cache):
    """Gradient of tanh: ``dout * (1 - out**2)``."""
    out = cache
    return dout * (1 - out * out)


def relu(x):
    """Rectified linear unit ``max(0, x)``."""
    x = _as_float(x)
    return np.maximum(x, 0, dtype=x.dtype)


def relu_forward(x):
    """ReLU with cache ``out``."""
    out = relu(x)
    return out, out


def relu_backward(dout, cache):
    """Gradient of ReLU: ``dout`` where ``x > 0``, else 0 (the gradient at exactly 0 is 0)."""
    out = cache
    return np.where(out > 0, dout, np.zeros((), dtype=np.result_type(dout, out)))


def leaky_relu(x, alpha=0.01):
    """Leaky ReLU: ``x`` for ``x > 0``, ``alpha * x`` otherwise."""
    x = _as_float(x)
    return np.where(x > 0, x, x * x.dtype.type(alpha))


def leaky_relu_forward(x, alpha=0.01):
    """Leaky ReLU with cache ``(x, alpha)``."""
    x = _as_float(x)
    return leaky_relu(x, alpha), (x, alpha)


def leaky_relu_backward(dout, cache):
    """Gradient of leaky ReLU: ``dout`` where ``x > 0``, ``alpha * dout`` otherwise (so ``alpha`` at 0)."""
    x, alpha = cache
    dout = np.asarray(dout)
    return np.where(x > 0, dout, dout * np.result_type(dout, x).type(alpha))


def softmax(x):
    """Softmax over the last axis, stable thanks to subtracting the row maximum.

    ``x``: float array ``(..., C)``; result: same shape and dtype, rows sum to 1.
    """
    x = _as_float(x)
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    e /= e.sum(axis=-1, keepdims=True)
    return e


def softmax_forward(x):
    """Softmax with cache ``out``."""
    out = softmax(x)
    return out, out


def softmax_backward(dout, cache):
    """Jacobian-vector product of the softmax over the last axis.

    ``dx = out * (dout - sum(dout * out, axis=-1, keepdims=True))``, the full
    Jacobian ``diag(out) - out out^T`` applied to ``dout`` row by row.
    """
    out = cache
    return out * (dout - (dout * out).sum(axis=-1, keepdims=True))
