"""A small, fast training loop for models written as ``loss_and_grads(params, X, y) -> (loss, grads)``.

``fit`` draws shuffled minibatches, applies an update rule to the parameters in place, records
losses and accuracies in a ``History``, and stops with a clear message when the loss diverges.
The update rules themselves (momentum, Adam, ...) are yours to write: pass one as ``update``.
"""

import math
import time
from dataclasses import dataclass, field

import numpy as np

from .progress import progress_bar

EVALUATION_CHUNK_ROWS = 2048
POSTFIX_REFRESH_SECONDS = 0.5


@dataclass(repr=False)
class History:
    """What happened during ``fit``.

    Attributes:
        loss: loss of every iteration (minibatch), in order.
        train_loss: per completed epoch, the mean of that epoch's iteration losses.
        train_acc: per epoch, accuracy on a fixed subset of the training set (needs ``predict``).
        val_loss, val_acc: per epoch, loss and accuracy on the validation set (need ``X_val``;
            ``val_acc`` also needs ``predict``).
        best_val_acc, best_epoch: the highest validation accuracy and its epoch (counted from 1,
            so ``val_acc[best_epoch - 1] == best_val_acc``); None without validation and predict.
        best_params: copies of the parameters at ``best_epoch``, or None.
        stopped_early: True when training stopped because the loss or a gradient became NaN or inf.
        stop_reason: the message explaining why, or None.
        epochs_run: number of completed epochs.
    """

    loss: list = field(default_factory=list)
    train_loss: list = field(default_factory=list)
    train_acc: list = field(default_factory=list)
    val_loss: list = field(default_factory=list)
    val_acc: list = field(default_factory=list)
    best_val_acc: float | None = None
    best_epoch: int | None = None
    best_params: dict | None = None
    stopped_early: bool = False
    stop_reason: str | None = None
    epochs_run: int = 0

    def summary(self):
        """One line with the final value of every recorded metric (and why training stopped early)."""
        parts = [f"epochs_run={self.epochs_run}"]
        for key in ("train_loss", "train_acc", "val_loss", "val_acc"):
            values = getattr(self, key)
            if values:
                parts.append(f"{key}={values[-1]:.4g}")
        if self.best_epoch is not None:
            parts.append(f"best_val_acc={self.best_val_acc:.4g} at epoch {self.best_epoch}")
        if self.stopped_early:
            parts.append(f"stopped early: {self.stop_reason}")
        return f"History({', '.join(parts)})"

    __repr__ = summary


def sgd(params, grads, lr):
    """Plain gradient descent, in place: ``p -= lr * g`` for every parameter."""
    for name, value in params.items():
        value -= lr * grads[name]


UPDATE_RULES = {"sgd": sgd}


def _resolve_update(update):
    if callable(update):
        return update
    if isinstance(update, str) and update in UPDATE_RULES:
        return UPDATE_RULES[update]
    raise ValueError(
        f"Unknown update {update!r}: use one of {sorted(UPDATE_RULES)} or pass a function "
        "update(params, grads, lr) that changes params in place."
    )


def _minibatches(X, y, batch_size, rng):
    """One epoch of ``(X_batch, y_batch)`` pairs in a fresh random order (a generator); the last may be smaller.

    The order sorts one uniform random key per sample (every order is equally likely), drawn from ``rng``
    (a numpy Generator), so calling this once per epoch gives a new, reproducible order every epoch.
    """
    order = np.argsort(rng.random(len(X)), kind="stable")
    for start in range(0, len(order), batch_size):
        rows = order[start:start + batch_size]
        yield np.take(X, rows, axis=0), np.take(y, rows, axis=0)


def _check_positive_int(value, name):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}.")
    return int(value)


def _check_positive_number(value, name):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or not 0 < value < math.inf:
        raise ValueError(f"{name} must be a positive finite number, got {value!r}.")
    return float(value)


def _check_params(params):
    if not isinstance(params, dict) or not params:
        raise TypeError(f"params must be a non-empty dict of NumPy arrays, got {type(params).__name__}.")
    for name, value in params.items():
        if not isinstance(value, np.ndarray) or not np.issubdtype(value.dtype, np.floating):
            kind = f"array of dtype {value.dtype}" if isinstance(value, np.ndarray) else type(value).__name__
            raise TypeError(
                f"params[{name!r}] is a {kind}; fit updates parameters in place, so every parameter "
                "must be a floating-point NumPy array (for example np.float32)."
            )


def _check_data(X, y, what):
    X, y = np.asarray(X), np.asarray(y)
    if X.ndim == 0 or y.ndim == 0 or len(X) != len(y) or len(X) == 0:
        raise ValueError(
            f"{what}: X and y need one row per sample, but X has shape {X.shape} and y has shape {y.shape}."
        )
    return X, y


def _check_grads(grads, params):
    """Clear errors for grads that do not match params (checked on the first iteration only)."""
    if not isinstance(grads, dict) or set(grads) != set(params):
        found = sorted(grads) if isinstance(grads, dict) else type(grads).__name__
        raise ValueError(
            f"loss_and_grads must return (loss, grads) with grads a dict with the keys of params "
            f"{sorted(params)}, but grads has {found}."
        )
    for name, value in params.items():
        if np.shape(grads[name]) != value.shape:
            raise ValueError(
                f"grads[{name!r}] has shape {np.shape(grads[name])} but params[{name!r}] has shape "
                f"{value.shape}: a gradient must have the shape of its parameter."
            )


def _first_non_finite_grad(grads):
    for name, value in grads.items():
        if not np.isfinite(value).all():
            return name
    return None


def _labels(y):
    """Class labels from (N,) labels, (N, 1) binary targets or (N, C) one-hot/score targets."""
    if y.ndim == 1:
        return y
    if y.ndim == 2:
        return y[:, 0] if y.shape[1] == 1 else np.argmax(y, axis=1)
    raise ValueError(f"Accuracy needs y of shape (N,), (N, 1) or (N, C), got {y.shape}.")


def _chunks(n_rows):
    return [slice(start, start + EVALUATION_CHUNK_ROWS) for start in range(0, n_rows, EVALUATION_CHUNK_ROWS)]


def _accuracy(predict, params, X, labels):
    correct = 0
    for rows in _chunks(len(X)):
        predicted = np.asarray(predict(params, X[rows]))
        if predicted.ndim == 2 and predicted.shape[1] == 1:
            predicted = predicted[:, 0]
        if predicted.shape != labels[rows].shape:
            raise ValueError(
                f"predict(params, X) must return one label per row, shape ({len(X[rows])},), "
                f"but returned shape {predicted.shape}."
            )
        correct += int(np.count_nonzero(predicted == labels[rows]))
    return correct / len(X)


def _mean_loss(loss_and_grads, params, X, y):
    """Loss over all of X, evaluated in chunks and averaged with weights proportional to chunk size."""
    total = 0.0
    for rows in _chunks(len(X)):
        loss, _ = loss_and_grads(params, X[rows], y[rows])
        total += float(loss) * len(X[rows])
    return total / len(X)


def _stop_message(problem, epoch, iteration, lr):
    return (
        f"Training stopped: {problem} at epoch {epoch}, iteration {iteration}: the learning rate "
        f"(lr={lr:g}) is probably too large; try a smaller one. (If it also happens with small "
        "learning rates, look for log(0), division by zero or overflow in your loss.)"
    )


def fit(loss_and_grads, params, X, y, *, epochs=10, batch_size=64, lr=0.01, update="sgd",
        X_val=None, y_val=None, seed=0, progress=True, predict=None, lr_decay=1.0,
        train_acc_samples=1000, restore_best=True):
    """Train a model with minibatch gradient descent, updating ``params`` in place.

    Args:
        loss_and_grads: function ``(params, X_batch, y_batch) -> (loss, grads)`` where loss is the
            mean loss over the batch (a scalar) and grads is a dict with the keys and shapes of params.
        params: dict name -> floating-point array (for example {"W1", "b1", "W2", "b2"}); updated in place.
        X: (N, D) training samples (float32 recommended); y: (N,) int64 labels or (N, k) targets.
        epochs: number of passes over the training set, >= 1.
        batch_size: samples per minibatch, >= 1 (the last batch of an epoch may be smaller).
        lr: learning rate, > 0.
        update: "sgd" (``p -= lr * g``) or your function ``update(params, grads, lr)`` that changes
            params in place.
        X_val, y_val: optional validation set, evaluated after every epoch.
        seed: int or numpy Generator; the same seed gives the same minibatches and results.
        progress: show a progress bar with the current loss.
        predict: optional function ``(params, X) -> (N,) labels``, needed for accuracies; accuracy
            compares them with y, or with argmax(y) for (N, C) targets, or y[:, 0] for (N, 1) targets.
        lr_decay: the learning rate is multiplied by this after every epoch.
        train_acc_samples: training accuracy is measured on a fixed random subset of this many samples.
        restore_best: with validation and predict, put the parameters of the epoch with the best
            validation accuracy back into params at the end.

    Returns:
        History. If the loss or a gradient becomes NaN or inf, training stops at once (that update
        is not applied), the reason is printed and stored in ``History.stop_reason``. NumPy
        floating-point warnings are silenced during training: this check replaces them.
    """
    if not callable(loss_and_grads):
        raise TypeError("loss_and_grads must be a function (params, X, y) -> (loss, grads).")
    if predict is not None and not callable(predict):
        raise TypeError("predict must be None or a function (params, X) -> labels.")
    _check_params(params)
    X, y = _check_data(X, y, "training data")
    if (X_val is None) != (y_val is None):
        raise ValueError("Give both X_val and y_val, or neither.")
    if X_val is not None:
        X_val, y_val = _check_data(X_val, y_val, "validation data")
    epochs = _check_positive_int(epochs, "epochs")
    batch_size = _check_positive_int(batch_size, "batch_size")
    train_acc_samples = _check_positive_int(train_acc_samples, "train_acc_samples")
    lr = _check_positive_number(lr, "lr")
    lr_decay = _check_positive_number(lr_decay, "lr_decay")
    apply_update = _resolve_update(update)

    rng = np.random.default_rng(seed)
    history = History()
    if predict is not None:
        subset = np.sort(rng.choice(len(X), size=train_acc_samples, replace=False)) \
            if len(X) > train_acc_samples else slice(None)
        X_acc, labels_acc = X[subset], _labels(y[subset])
        labels_val = _labels(y_val) if X_val is not None else None

    batches_per_epoch = math.ceil(len(X) / batch_size)
    bar = progress_bar(total=epochs * batches_per_epoch, desc="training", enabled=progress)
    next_postfix = time.monotonic() + POSTFIX_REFRESH_SECONDS
    try:
        with np.errstate(all="ignore"):
            for epoch in range(1, epochs + 1):
                first_loss_of_epoch = len(history.loss)
                batches = _minibatches(X, y, batch_size, rng)
                for iteration, (X_batch, y_batch) in enumerate(batches, start=1):
                    loss, grads = loss_and_grads(params, X_batch, y_batch)
                    loss = float(loss)
                    if not history.loss:
                        _check_grads(grads, params)
                    if not math.isfinite(loss):
                        history.stop_reason = _stop_message(f"the loss became {loss}", epoch, iteration, lr)
                    elif (bad := _first_non_finite_grad(grads)) is not None:
                        history.stop_reason = _stop_message(
                            f"the gradient {bad!r} contained NaN or inf values", epoch, iteration, lr)
                    if history.stop_reason is not None:
                        history.stopped_early = True
                        break
                    apply_update(params, grads, lr)
                    history.loss.append(loss)
                    bar.update(1)
                    if (now := time.monotonic()) >= next_postfix:
                        bar.set_postfix(loss=f"{loss:.4g}", refresh=False)
                        next_postfix = now + POSTFIX_REFRESH_SECONDS
                if history.stopped_early:
                    break
                epoch_losses = history.loss[first_loss_of_epoch:]
                history.train_loss.append(math.fsum(epoch_losses) / len(epoch_losses))
                if predict is not None:
                    history.train_acc.append(_accuracy(predict, params, X_acc, labels_acc))
                if X_val is not None:
                    history.val_loss.append(_mean_loss(loss_and_grads, params, X_val, y_val))
                    if predict is not None:
                        history.val_acc.append(_accuracy(predict, params, X_val, labels_val))
                        if history.best_val_acc is None or history.val_acc[-1] > history.best_val_acc:
                            history.best_val_acc, history.best_epoch = history.val_acc[-1], epoch
                            history.best_params = {name: value.copy() for name, value in params.items()}
                history.epochs_run = epoch
                lr *= lr_decay
    finally:
        bar.close()
    if history.stopped_early:
        print(history.stop_reason)
    if restore_best and history.best_params is not None:
        for name, value in history.best_params.items():
            params[name][...] = value
    return history
