"""Preparing data for training: splits, one-hot targets and feature scaling.

Arrays follow the course convention: ``X`` has shape (N, D) with one sample per row and labels ``y``
have shape (N,) (int64) or (N, k) for targets.
"""

import numpy as np


def _check_same_length(X, y):
    if len(X) != len(y):
        raise ValueError(
            f"X and y must have one row per sample, but X has {len(X)} rows and y has {len(y)}."
        )


def _as_float_array(X):
    """``X`` as an array; integer or boolean input becomes float64, floating input keeps its dtype."""
    X = np.asarray(X)
    return X if np.issubdtype(X.dtype, np.floating) else X.astype(np.float64)


def train_val_split(X, y, val_fraction=0.2, seed=0):
    """Shuffle the samples and split them into a training and a validation set.

    Args:
        X: (N, ...) array of samples; y: (N, ...) labels or targets.
        val_fraction: fraction of the samples that goes to validation, in (0, 1);
            the validation set gets ``round(val_fraction * N)`` samples (at least 1, at most N - 1).
        seed: int or numpy Generator.

    Returns:
        (X_train, y_train, X_val, y_val), with the dtypes of X and y.
    """
    X, y = np.asarray(X), np.asarray(y)
    _check_same_length(X, y)
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must be strictly between 0 and 1, got {val_fraction!r}.")
    n_samples = len(X)
    if n_samples < 2:
        raise ValueError(f"Need at least 2 samples to make a training and a validation set, got {n_samples}.")
    n_val = min(max(int(round(val_fraction * n_samples)), 1), n_samples - 1)
    order = np.random.default_rng(seed).permutation(n_samples)
    val_idx, train_idx = order[:n_val], order[n_val:]
    return (np.take(X, train_idx, axis=0), np.take(y, train_idx, axis=0),
            np.take(X, val_idx, axis=0), np.take(y, val_idx, axis=0))


def one_hot(y, num_classes=None, dtype=np.float32):
    """One-hot encode integer class labels.

    Args:
        y: (N,) integer labels in 0..num_classes-1 (a float array is accepted if every value is whole).
        num_classes: number of classes C; by default ``y.max() + 1``.
        dtype: dtype of the result.

    Returns:
        (N, C) array of ``dtype`` with a single 1 per row, in the column of that row's label.
    """
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"one_hot expects labels of shape (N,), got shape {y.shape}; try y.ravel().")
    if not (np.issubdtype(y.dtype, np.integer) or np.issubdtype(y.dtype, np.floating)):
        raise TypeError(f"one_hot expects integer class labels, got an array of dtype {y.dtype}.")
    if y.size and np.issubdtype(y.dtype, np.floating):
        whole = np.isfinite(y) & (y == np.round(y))
        if not whole.all():
            bad = int(np.argmin(whole))
            raise ValueError(f"one_hot expects integer class labels, but y[{bad}] = {y[bad]}.")
    if y.size and y.min() < 0:
        raise ValueError(f"Class labels must be >= 0, but y contains {y.min()}.")
    labels = y.astype(np.int64)
    if num_classes is None:
        num_classes = int(labels.max()) + 1 if labels.size else 0
    elif isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) or num_classes < 1:
        raise ValueError(f"num_classes must be an integer >= 1, got {num_classes!r}.")
    if labels.size and labels.max() >= num_classes:
        raise ValueError(
            f"Labels must be smaller than num_classes={num_classes}, but y contains {labels.max()}."
        )
    encoded = np.zeros((labels.size, num_classes), dtype=dtype)
    encoded[np.arange(labels.size), labels] = 1
    return encoded


def standardize(X_train, *X_others, eps=1e-8):
    """Scale every feature to mean 0 and standard deviation 1, with statistics of the training set only.

    Args:
        X_train: (N, D) training samples; X_others: any number of (M, D) arrays (validation, test)
            scaled with the training statistics.
        eps: added to the standard deviation, so constant features do not cause a division by zero.

    Returns:
        (X_train_s, *X_others_s, mean, std): the scaled arrays, then the (D,) mean and standard
        deviation of X_train. Floating inputs keep their dtype; integer inputs become float64.
    """
    X_train = _as_float_array(X_train)
    mean = X_train.mean(axis=0, dtype=np.float64).astype(X_train.dtype)
    std = X_train.std(axis=0).astype(X_train.dtype)
    scaled = [(_as_float_array(X) - mean) / (std + eps) for X in (X_train, *X_others)]
    return (*scaled, mean, std)


def subtract_mean_image(X_train, *X_others, copy=True):
    """Subtract the per-feature mean of the training set (the "mean image") from every array.

    Args:
        X_train: (N, D) training samples; X_others: any number of (M, D) arrays (validation, test).
        copy: True returns new arrays. False subtracts in place, which saves memory (the CIFAR-10
            training set takes 600 MB in float32); the arrays must then be floating-point.

    Returns:
        (X_train_c, *X_others_c, mean_image): the centred arrays, then the (D,) mean of X_train.
        Floating inputs keep their dtype (float32 stays float32); integer inputs become float64.
    """
    arrays = (X_train, *X_others)
    if not copy:
        for X in arrays:
            if not isinstance(X, np.ndarray) or not np.issubdtype(X.dtype, np.floating):
                raise TypeError(
                    "subtract_mean_image(copy=False) works in place and needs floating-point NumPy "
                    f"arrays, got {type(X).__name__} of dtype {np.asarray(X).dtype}; use copy=True."
                )
    X_train = _as_float_array(X_train)
    mean_image = X_train.mean(axis=0, dtype=np.float64).astype(X_train.dtype)
    if copy:
        centred = [_as_float_array(X) - mean_image for X in arrays]
    else:
        centred = list(arrays)
        for X in centred:
            X -= mean_image
    return (*centred, mean_image)
