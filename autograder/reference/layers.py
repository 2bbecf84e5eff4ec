"""Fully connected (dense) layer: forward and backward with a cache."""
import numpy as np


def dense_forward(X, W, b):
    """Affine map ``out = X @ W + b``.

    X: float (N, D_in); W: float (D_in, D_out); b: float (D_out,).
    Returns (out: (N, D_out), cache: (X, W)); dtypes follow NumPy promotion
    (all float32 gives float32).
    """
    X, W, b = np.asarray(X), np.asarray(W), np.asarray(b)
    if X.ndim != 2 or W.ndim != 2 or b.shape != (W.shape[1],) or X.shape[1] != W.shape[0]:
        raise ValueError(f"dense_forward: expected X (N, D_in), W (D_in, D_out), b (D_out,), "
                         f"got X {X.shape}, W {W.shape}, b {b.shape}.")
    out = X @ W
    out += b
    return out, (X, W)


def dense_backward(dout, cache, compute_dX=True):
    """Gradients of ``X @ W + b``.

    dout: float (N, D_out), upstream gradient; cache: (X, W) from ``dense_forward``.
    Returns (dX: (N, D_in), dW: (D_in, D_out), db: (D_out,)), each summed over the
    batch. With ``compute_dX=False`` (first layer of a network) dX is None and
    its matrix product is skipped.
    """
    X, W = cache
    dX = dout @ W.T if compute_dX else None
    dW = X.T @ dout
    db = dout.sum(axis=0)
    return dX, dW, db
