"""Weight initialisers returning (fan_in, fan_out) matrices.

``rng`` is an int seed, None (fresh entropy) or a ``numpy.random.Generator``.
Random initialisers draw float64 standard normals and cast to ``dtype``, so the
same seed gives the same weights (up to rounding) in float32 and float64.
"""
import numpy as np

METHODS = ("zeros", "constant", "normal", "random", "xavier", "he")


def zeros(fan_in, fan_out, dtype=np.float32):
    """All-zero (fan_in, fan_out) matrix."""
    return np.zeros((fan_in, fan_out), dtype=dtype)


def constant(fan_in, fan_out, value, dtype=np.float32):
    """(fan_in, fan_out) matrix filled with ``value``."""
    return np.full((fan_in, fan_out), value, dtype=dtype)


def normal(fan_in, fan_out, scale=0.01, rng=None, dtype=np.float32):
    """Gaussian (fan_in, fan_out) matrix with mean 0 and standard deviation ``scale``."""
    rng = np.random.default_rng(rng)
    return (rng.standard_normal((fan_in, fan_out)) * scale).astype(dtype)


def xavier(fan_in, fan_out, rng=None, dtype=np.float32):
    """Xavier/Glorot normal: mean 0, standard deviation ``sqrt(2 / (fan_in + fan_out))``."""
    return normal(fan_in, fan_out, np.sqrt(2.0 / (fan_in + fan_out)), rng, dtype)


def he(fan_in, fan_out, rng=None, dtype=np.float32):
    """He/Kaiming normal (for ReLU): mean 0, standard deviation ``sqrt(2 / fan_in)``."""
    return normal(fan_in, fan_out, np.sqrt(2.0 / fan_in), rng, dtype)


def initialize(fan_in, fan_out, method, rng=None, scale=0.01, value=0.0, dtype=np.float32):
    """Dispatch to an initialiser by name.

    method: one of "zeros", "constant" (uses ``value``), "normal" or "random"
    (uses ``scale``), "xavier", "he". Returns a (fan_in, fan_out) array of ``dtype``.
    """
    if method == "zeros":
        return zeros(fan_in, fan_out, dtype)
    if method == "constant":
        return constant(fan_in, fan_out, value, dtype)
    if method in ("normal", "random"):
        return normal(fan_in, fan_out, scale, rng, dtype)
    if method == "xavier":
        return xavier(fan_in, fan_out, rng, dtype)
    if method == "he":
        return he(fan_in, fan_out, rng, dtype)
    raise ValueError(f"Unknown initialisation method {method!r}; choose one of {', '.join(map(repr, METHODS))}.")
