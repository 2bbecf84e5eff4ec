"""Small 2-D toy data sets for experiments: XOR, a linearly separable set, circles and spirals.

Every generator returns ``(X, y)`` with ``X`` of shape ``(N, 2)`` (floating dtype ``dtype``) and
integer labels ``y`` of shape ``(N,)`` (int64). Samples are shuffled; ``seed`` is an int or a
``numpy.random.Generator``, so the same seed always gives the same data.
"""

import numpy as np

# The four corners of the unit square, ordered so that their XOR labels alternate 0, 1, 0, 1.
_XOR_CORNERS = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 1.0], [1.0, 0.0]])
_XOR_CORNER_LABELS = np.array([0, 1, 0, 1], dtype=np.int64)


def _check_float_dtype(dtype):
    dtype = np.dtype(dtype)
    if not np.issubdtype(dtype, np.floating):
        raise TypeError(f"dtype must be a floating-point type such as np.float32 or np.float64, got {dtype}.")
    return dtype


def _check_count(value, name, minimum=1):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}.")
    return int(value)


def _check_noise(noise):
    if not np.isfinite(noise) or noise < 0:
        raise ValueError(f"noise must be a finite number >= 0, got {noise!r}.")


def _shuffled(X, y, rng, dtype):
    order = rng.permutation(len(y))
    return X[order].astype(dtype), y[order].astype(np.int64)


def make_xor(n_samples=None, noise=0.1, seed=0, dtype=np.float64):
    """The XOR problem: label 1 where exactly one of the two coordinates is 1.

    Args:
        n_samples: None for the 4-point truth table (``noise`` is then ignored), or an int for
            that many points drawn around the four corners of the unit square.
        noise: standard deviation of the Gaussian noise added to each corner point.
        seed: int or numpy Generator.
        dtype: floating dtype of ``X``.

    Returns:
        X: (N, 2) array of ``dtype``; N is 4 for the truth table, else ``n_samples``.
        y: (N,) int64 labels in {0, 1}; the two classes differ in size by at most one.
    """
    dtype = _check_float_dtype(dtype)
    if n_samples is None:
        X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=dtype)
        return X, np.array([0, 1, 1, 0], dtype=np.int64)
    n_samples = _check_count(n_samples, "n_samples")
    _check_noise(noise)
    rng = np.random.default_rng(seed)
    corner = np.arange(n_samples) % 4
    X = _XOR_CORNERS[corner] + noise * rng.standard_normal((n_samples, 2))
    return _shuffled(X, _XOR_CORNER_LABELS[corner], rng, dtype)


def make_linear(n_samples=200, noise=0.0, seed=0, weights=(1.0, -1.0), bias=0.0, dtype=np.float64):
    """A linearly separable set: points uniform in [-1, 1]^D labelled 1 where ``X @ weights + bias > 0``.

    Args:
        n_samples: number of points N.
        noise: fraction of labels flipped at random (0 gives a perfectly separable set), in [0, 1].
        seed: int or numpy Generator.
        weights: D numbers (D = 2 by default) defining the separating direction.
        bias: offset of the separating line.
        dtype: floating dtype of ``X``.

    Returns:
        X: (N, D) array of ``dtype``; y: (N,) int64 labels in {0, 1}.
    """
    dtype = _check_float_dtype(dtype)
    n_samples = _check_count(n_samples, "n_samples")
    if not 0.0 <= noise <= 1.0:
        raise ValueError(f"noise is the fraction of flipped labels and must be in [0, 1], got {noise!r}.")
    weights = np.asarray(weights, dtype=np.float64)
    if weights.ndim != 1 or weights.size == 0:
        raise ValueError(f"weights must be a non-empty sequence of numbers, got shape {weights.shape}.")
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1.0, 1.0, size=(n_samples, weights.size))
    y = (X @ weights + bias > 0).astype(np.int64)
    flipped = rng.choice(n_samples, size=int(round(noise * n_samples)), replace=False)
    y[flipped] = 1 - y[flipped]
    return X.astype(dtype), y


def make_circles(n_samples=200, noise=0.05, factor=0.5, seed=0, dtype=np.float64):
    """Two concentric circles: the outer one (radius 1) is class 0, the inner one (radius ``factor``) class 1.

    Args:
        n_samples: number of points N (the outer circle gets the extra point when N is odd).
        noise: standard deviation of the Gaussian noise added to each point.
        factor: radius of the inner circle, in (0, 1).
        seed: int or numpy Generator.
        dtype: floating dtype of ``X``.

    Returns:
        X: (N, 2) array of ``dtype``; y: (N,) int64 labels in {0, 1}.
    """
    dtype = _check_float_dtype(dtype)
    n_samples = _check_count(n_samples, "n_samples")
    _check_noise(noise)
    if not 0.0 < factor < 1.0:
        raise ValueError(f"factor is the inner circle's radius and must be in (0, 1), got {factor!r}.")
    rng = np.random.default_rng(seed)
    y = (np.arange(n_samples) >= n_samples - n_samples // 2).astype(np.int64)
    radius = np.where(y == 1, factor, 1.0)
    angle = rng.uniform(0.0, 2.0 * np.pi, size=n_samples)
    X = radius[:, None] * np.column_stack([np.cos(angle), np.sin(angle)])
    X += noise * rng.standard_normal((n_samples, 2))
    return _shuffled(X, y, rng, dtype)


def make_spirals(n_samples=300, n_classes=3, noise=0.2, seed=0, dtype=np.float64):
    """Interleaved spirals, one arm per class (the CS231n spiral data set).

    Point i of class k has radius r in [0, 1] and angle 4k + 4r plus Gaussian noise of std ``noise``.

    Args:
        n_samples: total number of points N, shared as evenly as possible between the classes.
        n_classes: number of classes (spiral arms), >= 2.
        noise: standard deviation of the noise added to the angle.
        seed: int or numpy Generator.
        dtype: floating dtype of ``X``.

    Returns:
        X: (N, 2) array of ``dtype``; y: (N,) int64 labels in 0..n_classes-1.
    """
    dtype = _check_float_dtype(dtype)
    n_classes = _check_count(n_classes, "n_classes", minimum=2)
    n_samples = _check_count(n_samples, "n_samples", minimum=n_classes)
    _check_noise(noise)
    rng = np.random.default_rng(seed)
    y = np.arange(n_samples) * n_classes // n_samples
    position = np.arange(n_samples) - np.searchsorted(y, y)
    class_size = np.bincount(y, minlength=n_classes)[y]
    radius = position / np.maximum(class_size - 1, 1)
    angle = 4.0 * (y + radius) + noise * rng.standard_normal(n_samples)
    X = radius[:, None] * np.column_stack([np.sin(angle), np.cos(angle)])
    return _shuffled(X, y.astype(np.int64), rng, dtype)
