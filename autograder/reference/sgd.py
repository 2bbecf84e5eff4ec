"""Minibatch SGD with momentum, learning-rate decay and per-epoch shuffling, as Lab 5 specifies ``train``."""
import numpy as np

HISTORY_KEYS = ("train_loss", "train_acc", "test_loss", "test_acc")


def train(loss_fn, predict_fn, params, X, y, X_test, y_test, *, epochs=10, batch_size=256, lr=0.01, lr_decay=1.0,
          momentum=0.0, seed=0):
    """Minibatch SGD with momentum, as the notebook specifies ``train`` (without printing).

    loss_fn(params, X, y) -> (loss, grads); predict_fn(params, X) -> (N,) labels; params: dict of float
    arrays, updated in place; X (N, D), y (N,); X_test (M, D), y_test (M,). Each epoch draws
    ``rng.permutation(N)`` from ``rng = np.random.default_rng(seed)`` and walks through it in batches.
    Returns {"train_loss", "train_acc", "test_loss", "test_acc"}: lists of ``epochs`` floats.
    """
    rng = np.random.default_rng(seed)
    velocity = {key: np.zeros_like(value) for key, value in params.items()}
    history = {key: [] for key in HISTORY_KEYS}
    for _ in range(epochs):
        order = rng.permutation(len(X))
        batch_losses = []
        for start in range(0, len(X), batch_size):
            rows = order[start:start + batch_size]
            loss, grads = loss_fn(params, X[rows], y[rows])
            batch_losses.append(float(loss))
            for key, value in params.items():
                velocity[key] *= momentum
                velocity[key] -= lr * grads[key]
                value += velocity[key]
        history["train_loss"].append(float(np.mean(batch_losses)))
        history["train_acc"].append(float(np.mean(predict_fn(params, X) == y)))
        history["test_loss"].append(float(loss_fn(params, X_test, y_test)[0]))
        history["test_acc"].append(float(np.mean(predict_fn(params, X_test) == y_test)))
        lr *= lr_decay
    return history
