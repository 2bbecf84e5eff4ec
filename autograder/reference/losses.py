"""Loss functions returning ``(loss, gradient with respect to their input)``.

Conventions, shared by every loss here:

* the first axis indexes the N samples and the loss is a mean over samples
  (the exact factor, 1/N or 1/(2N), is stated in each docstring);
* ``loss`` is a Python float; the gradient has the shape and floating dtype of
  the prediction (float32 in, float32 out);
* binary and regression targets may be ``(N,)`` or ``(N, 1)`` whatever the
  prediction's shape among these two; any other mismatch is a ValueError.
"""
import numpy as np

from .activations import _as_float, sigmoid


def _matched_targets(pred, target, name):
    """Return ``target`` as an array of ``pred``'s shape and dtype, or raise ValueError."""
    target = np.asarray(target)
    if target.shape != pred.shape:
        column_vs_flat = (pred.ndim, target.ndim) in ((1, 2), (2, 1)) and pred.size == target.size \
            and pred.shape[0] == target.shape[0]
        if not column_vs_flat:
            raise ValueError(f"{name}: prediction has shape {pred.shape} but target has shape "
                             f"{target.shape}; they must match (one row per sample).")
        target = target.reshape(pred.shape)
    if pred.ndim == 0 or pred.shape[0] == 0:
        raise ValueError(f"{name}: expected at least one sample along the first axis, got shape {pred.shape}.")
    return target.astype(pred.dtype, copy=False)


def bce(probs, y, eps=1e-12):
    """Binary cross-entropy of probabilities.

    ``loss = -1/N * sum(y*log(p) + (1-y)*log(1-p))`` with ``p = clip(probs, eps, 1-eps)``
    (``eps`` is raised to the dtype's resolution, ~6e-8 in float32, so ``1-eps < 1``).

    probs: float (N,) or (N, 1), predicted probabilities of class 1.
    y: (N,) or (N, 1) targets in {0, 1} (or in [0, 1]).
    Returns (loss: float, dprobs: array like ``probs``), where
    ``dprobs = (p - y) / (p * (1 - p)) / N`` is the gradient at the clipped ``p``.
    """
    probs = _as_float(probs)
    y = _matched_targets(probs, y, "bce")
    eps = max(eps, float(np.finfo(probs.dtype).epsneg))
    p = np.clip(probs, eps, 1 - eps)
    n = probs.shape[0]
    loss = -np.sum(y * np.log(p) + (1 - y) * np.log1p(-p)) / n
    dprobs = (p - y) / (p * (1 - p) * n)
    return float(loss), dprobs


def bce_with_logits(logits, y):
    """Binary cross-entropy of ``sigmoid(logits)``, computed stably from the logits.

    ``loss = 1/N * sum(log(1 + exp(z)) - y*z)`` (log-sum-exp form, finite for any z).

    logits: float (N,) or (N, 1); y: (N,) or (N, 1) targets in {0, 1} (or in [0, 1]).
    Returns (loss: float, dlogits: array like ``logits``) with ``dlogits = (sigmoid(z) - y) / N``.
    """
    logits = _as_float(logits)
    y = _matched_targets(logits, y, "bce_with_logits")
    n = logits.shape[0]
    loss = np.sum(np.logaddexp(0, logits) - y * logits) / n
    dlogits = sigmoid(logits)
    dlogits -= y
    dlogits /= n
    return float(loss), dlogits


def _check_labels(y, n, c):
    """Validate integer labels ``y`` of shape (n,) with values in [0, c)."""
    if y.shape != (n,):
        raise ValueError(f"softmax_ce: labels must have shape ({n},) (one int per sample) "
                         f"or ({n}, {c}) (one-hot), got {y.shape}.")
    if not np.issubdtype(y.dtype, np.integer):
        raise TypeError(f"softmax_ce: labels of shape (N,) must be integers, got dtype {y.dtype}.")
    if y.min() < 0 or y.max() >= c:
        raise ValueError(f"softmax_ce: labels must lie in [0, {c - 1}] for {c} classes, "
                         f"got values from {y.min()} to {y.max()}.")


def softmax_ce(logits, y):
    """Softmax cross-entropy, averaged over samples.

    ``loss = -1/N * sum_i log(softmax(logits_i)[y_i])``, computed with the
    log-sum-exp trick (finite for any logits).

    logits: float (N, C).
    y: int labels (N,) in [0, C), or targets (N, C) whose rows sum to 1 (e.g. one-hot).
    Returns (loss: float, dlogits: (N, C) like ``logits``) with
    ``dlogits = (softmax(logits) - onehot(y)) / N``.
    """
    logits = _as_float(logits)
    if logits.ndim != 2:
        raise ValueError(f"softmax_ce: logits must have shape (N, C), got {logits.shape}.")
    n, c = logits.shape
    y = np.asarray(y)
    if y.ndim == 2:
        return _softmax_ce_targets(logits, _matched_targets(logits, y, "softmax_ce"))
    _check_labels(y, n, c)
    rows = np.arange(n)
    shifted = logits - logits.max(axis=1, keepdims=True)
    picked = shifted[rows, y]
    probs = np.exp(shifted, out=shifted)
    sums = probs.sum(axis=1, keepdims=True)
    loss = (np.sum(np.log(sums)) - np.sum(picked)) / n
    probs /= sums
    probs[rows, y] -= 1
    probs /= n
    return float(loss), probs


def _softmax_ce_targets(logits, targets):
    """Softmax cross-entropy against (N, C) target distributions (see ``softmax_ce``)."""
    n = logits.shape[0]
    shifted = logits - logits.max(axis=1, keepdims=True)
    probs = np.exp(shifted)
    sums = probs.sum(axis=1, keepdims=True)
    loss = -np.sum(targets * (shifted - np.log(sums))) / n
    probs /= sums
    dlogits = (probs * targets.sum(axis=1, keepdims=True) - targets) / n
    return float(loss), dlogits


def mse(pred, target):
    """Mean squared error with the 1/(2N) convention.

    ``loss = 1/(2N) * sum((pred - target)**2)``, ``dpred = (pred - target) / N``.

    pred: float (N, ...); target: same shape (or (N,) vs (N, 1)).
    Returns (loss: float, dpred: array like ``pred``).
    """
    pred = _as_float(pred)
    target = _matched_targets(pred, target, "mse")
    n = pred.shape[0]
    diff = pred - target
    loss = np.vdot(diff, diff) / (2 * n)
    diff /= n
    return float(loss), diff


def mae(pred, target):
    """Mean absolute error with the 1/N convention.

    ``loss = 1/N * sum(|pred - target|)``, ``dpred = sign(pred - target) / N``
    (the subgradient 0 is used where ``pred == target``).

    pred: float (N, ...); target: same shape (or (N,) vs (N, 1)).
    Returns (loss: float, dpred: array like ``pred``).
    """
    pred = _as_float(pred)
    target = _matched_targets(pred, target, "mae")
    n = pred.shape[0]
    diff = pred - target
    loss = np.sum(np.abs(diff)) / n
    return float(loss), np.sign(diff) / n


def multiclass_hinge(scores, y, margin=1.0):
    """Multiclass SVM (hinge) loss, averaged over samples (the linear SVM of Lab 5).

    ``loss = 1/N * sum_i sum_{j != y_i} max(0, scores[i, j] - scores[i, y_i] + margin)``: every wrong
    class whose score comes within ``margin`` of the right one costs the gap.

    scores: float (N, C); y: int labels (N,) in [0, C).
    Returns (loss: float, dscores: (N, C) like ``scores``): ``dscores[i, j] = 1/N`` for each wrong class j
    with a positive term, ``dscores[i, y_i] = -(number of such classes) / N``, 0 elsewhere (at the kink, a
    term of exactly 0, the subgradient 0 is used).
    """
    scores = _as_float(scores)
    if scores.ndim != 2:
        raise ValueError(f"multiclass_hinge: scores must have shape (N, C), got {scores.shape}.")
    n, c = scores.shape
    y = np.asarray(y)
    _check_labels(y, n, c)
    rows = np.arange(n)
    terms = scores - scores[rows, y][:, None] + margin
    terms[rows, y] = 0
    positive = terms > 0
    loss = np.sum(terms, where=positive) / n
    dscores = positive.astype(scores.dtype)
    dscores[rows, y] = -positive.sum(axis=1)
    dscores /= n
    return float(loss), dscores
