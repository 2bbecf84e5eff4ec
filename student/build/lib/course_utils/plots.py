"""Plots for training runs and models: learning curves, decision boundaries, weights, confusion matrices.

Every function draws into ``ax`` when given, otherwise into a new figure, and returns the Figure.
In a notebook a new figure is displayed when it is the last expression of a cell; elsewhere in a
cell (in a loop, or after ``fig = ...``) show it with ``display(fig)``. It is never shown twice, and
pyplot does not keep it open, so making many plots does not use up memory.
"""

import math

import matplotlib
import matplotlib.pyplot as plt
import numpy as np

from .training import History

HISTORY_KEYS = ("loss", "train_loss", "train_acc", "val_loss", "val_acc")
MAX_ANNOTATED_CLASSES = 20


def _figure_and_axes(ax, figsize):
    if ax is not None:
        return ax.figure, ax
    figure = plt.figure(figsize=figsize, layout="constrained")
    plt.close(figure)  # the caller displays the returned figure; pyplot must not show or keep it
    return figure, figure.add_subplot()


def _curve_values(run, key):
    values = getattr(run, key) if isinstance(run, History) else run
    try:
        values = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        values = None
    if values is None or values.ndim != 1:
        raise TypeError(f"Each run must be a History or a sequence of numbers, got {type(run).__name__}.")
    return values


def plot_learning_curves(histories, key="loss", log=False, ax=None, title=None):
    """Overlay one curve per run, for example the loss of several learning rates.

    Args:
        histories: dict label -> History (from ``fit``) or sequence of numbers; a single History
            or sequence is also accepted.
        key: which History list to plot: "loss" (per iteration), "train_loss", "train_acc",
            "val_loss" or "val_acc" (per epoch). Ignored for plain sequences, except in the labels.
        log: use a logarithmic y-axis (handy for losses that span several orders of magnitude).
        ax: matplotlib Axes to draw into (default: a new figure).
        title: optional title.

    Returns:
        matplotlib Figure. NaN and inf values (a diverged run) are left out of the curves.
    """
    if key not in HISTORY_KEYS:
        raise ValueError(f"key must be one of {HISTORY_KEYS}, got {key!r}.")
    runs = histories if isinstance(histories, dict) else {key: histories}
    figure, ax = _figure_and_axes(ax, (6.0, 4.0))
    any_positive = False
    for label, run in runs.items():
        values = _curve_values(run, key)
        keep = np.isfinite(values) & ((values > 0) if log else True)
        any_positive |= bool(keep.any())
        ax.plot(np.arange(1, values.size + 1), np.where(keep, values, np.nan), label=str(label))
    if log and any_positive:
        ax.set_yscale("log")
    ax.set_xlabel("iteration" if key == "loss" else "epoch")
    ax.set_ylabel(key.replace("_", " "))
    if len(runs) > 1:
        ax.legend()
    if title is not None:
        ax.set_title(title)
    return figure


def _labels_from_predictions(predictions, n_points):
    """Integer labels from labels, (N,)/(N, 1) probabilities (threshold 0.5) or (N, C) scores (argmax)."""
    predictions = np.asarray(predictions)
    if len(predictions) != n_points:
        raise ValueError(f"predict returned {len(predictions)} rows for {n_points} points; it must return one per point.")
    if predictions.ndim == 2 and predictions.shape[1] > 1:
        return np.argmax(predictions, axis=1)
    predictions = predictions.reshape(n_points)
    if np.issubdtype(predictions.dtype, np.floating):
        return (predictions >= 0.5).astype(np.int64)
    return predictions.astype(np.int64)


def plot_decision_boundary(predict, X, y, ax=None, resolution=200, padding=0.5, title=None):
    """Colour the plane by the class a 2-D classifier predicts, with the data points on top.

    Args:
        predict: function (M, 2) array -> (M,) labels, or (M,)/(M, 1) probabilities of class 1
            (thresholded at 0.5), or (M, C) class scores (argmax). For a model with parameters use
            ``lambda X: predict(params, X)``.
        X: (N, 2) points; y: (N,) or (N, 1) integer labels.
        ax: matplotlib Axes to draw into (default: a new figure).
        resolution: grid points per axis.
        padding: margin around the data, in data units.
        title: optional title.

    Returns:
        matplotlib Figure.
    """
    X = np.asarray(X)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"plot_decision_boundary needs 2-D points, X of shape (N, 2); got {X.shape}.")
    y = np.asarray(y).reshape(-1)
    if y.size != len(X):
        raise ValueError(f"y must have one label per point: X has {len(X)} rows, y has {y.size} values.")
    grid_dtype = X.dtype if np.issubdtype(X.dtype, np.floating) else np.float64
    low, high = X.min(axis=0) - padding, X.max(axis=0) + padding
    xx, yy = np.meshgrid(np.linspace(low[0], high[0], resolution), np.linspace(low[1], high[1], resolution))
    grid = np.column_stack([xx.ravel(), yy.ravel()]).astype(grid_dtype)
    regions = _labels_from_predictions(predict(grid), len(grid)).reshape(xx.shape)
    n_classes = int(max(regions.max(), y.max())) + 1
    colours = {"cmap": matplotlib.colormaps["tab10" if n_classes <= 10 else "tab20"],
               "vmin": 0, "vmax": max(n_classes - 1, 1)}
    figure, ax = _figure_and_axes(ax, (5.0, 5.0))
    ax.contourf(xx, yy, regions, levels=np.arange(n_classes + 1) - 0.5, alpha=0.3, **colours)
    ax.scatter(X[:, 0], X[:, 1], c=y, edgecolors="k", s=20, **colours)
    ax.set_xlim(low[0], high[0])
    ax.set_ylim(low[1], high[1])
    if title is not None:
        ax.set_title(title)
    return figure


def _tile_mosaic(tiles, n_columns, gap=1):
    """Arrange (n, h, w, c) tiles in a grid with ``gap`` white pixels between them."""
    n, height, width, channels = tiles.shape
    n_rows = math.ceil(n / n_columns)
    mosaic = np.ones((n_rows * (height + gap) - gap, n_columns * (width + gap) - gap, channels))
    for i, tile in enumerate(tiles):
        top, left = (i // n_columns) * (height + gap), (i % n_columns) * (width + gap)
        mosaic[top:top + height, left:left + width] = tile
    return mosaic


def _channels_last(image_shape):
    """(height, width, channels) and whether rows are stored channels-first, from a row layout."""
    shape = tuple(int(n) for n in image_shape)
    if len(shape) == 2:
        return shape + (1,), False
    if len(shape) == 3 and shape[2] in (1, 3):
        return shape, False
    if len(shape) == 3 and shape[0] in (1, 3):
        return shape[1:] + shape[:1], True
    raise ValueError(
        "image_shape must be (channels, height, width) or (height, width, channels) with 1 or 3 "
        f"channels, or (height, width); got {shape}."
    )


def plot_first_layer_weights(W, image_shape=(3, 32, 32), n_max=100, ax=None):
    """Show what first-layer units look for: each column of W as an image.

    Args:
        W: (D, H) first-layer weights, with D = prod(image_shape).
        image_shape: how the D values of a row of X form an image: (channels, height, width)
            with 1 or 3 channels, (height, width, channels), or (height, width) for grey images.
            The default (3, 32, 32) matches the rows of ``load_cifar10`` (three colour planes).
        n_max: show at most this many units (the first ones).
        ax: matplotlib Axes to draw into (default: a new figure).

    Returns:
        matplotlib Figure with one mosaic image; each unit is rescaled to [0, 1] on its own
        (its smallest weight black, its largest white; a constant unit is grey).
    """
    W = np.asarray(W, dtype=np.float64)
    (height, width, channels), channels_first = _channels_last(image_shape)
    n_inputs = height * width * channels
    if W.ndim != 2 or W.shape[0] != n_inputs:
        raise ValueError(
            f"W must have shape (D, H) with D = {height} * {width} * {channels} = {n_inputs} "
            f"(one row per input value of an image of shape {tuple(image_shape)}), but it has shape {W.shape}."
        )
    units = W[:, :n_max].T
    low, high = units.min(axis=1, keepdims=True), units.max(axis=1, keepdims=True)
    spread = high - low
    scaled = np.where(spread > 0, (units - low) / np.where(spread > 0, spread, 1.0), 0.5)
    if channels_first:
        tiles = scaled.reshape(-1, channels, height, width).transpose(0, 2, 3, 1)
    else:
        tiles = scaled.reshape(-1, height, width, channels)
    mosaic = _tile_mosaic(tiles, n_columns=math.ceil(math.sqrt(len(units))))
    figure, ax = _figure_and_axes(ax, (6.0, 6.0))
    if channels == 1:
        ax.imshow(mosaic[..., 0], cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
    else:
        ax.imshow(mosaic, interpolation="nearest")
    ax.set_title(f"first-layer weights ({len(units)} of {W.shape[1]} units)")
    ax.axis("off")
    return figure


def _class_labels(values, name):
    values = np.asarray(values)
    if values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    if values.ndim != 1:
        raise ValueError(f"{name} must have shape (N,), got {values.shape}.")
    if values.size and not np.issubdtype(values.dtype, np.integer):
        raise TypeError(f"{name} must hold integer class labels, got dtype {values.dtype}.")
    if values.size and values.min() < 0:
        raise ValueError(f"{name} must hold class labels >= 0, but contains {values.min()}.")
    return values.astype(np.int64)


def confusion_matrix(y_true, y_pred, num_classes=None):
    """Count how often each true class was predicted as each class.

    Args:
        y_true, y_pred: (N,) integer labels in 0..C-1.
        num_classes: C; by default one more than the largest label.

    Returns:
        (C, C) int64 array: entry [i, j] counts samples of true class i predicted as class j.
    """
    y_true, y_pred = _class_labels(y_true, "y_true"), _class_labels(y_pred, "y_pred")
    if y_true.size != y_pred.size:
        raise ValueError(f"y_true has {y_true.size} labels but y_pred has {y_pred.size}; they must match.")
    largest = int(max(y_true.max(), y_pred.max())) if y_true.size else -1
    if num_classes is None:
        num_classes = largest + 1
    elif largest >= num_classes:
        raise ValueError(f"Labels must be smaller than num_classes={num_classes}, but found {largest}.")
    counts = np.bincount(y_true * num_classes + y_pred, minlength=num_classes * num_classes)
    return counts.reshape(num_classes, num_classes).astype(np.int64)


def plot_confusion_matrix(y_true, y_pred, class_names=None, normalize=False, ax=None):
    """Show the confusion matrix as an image, true classes as rows and predicted classes as columns.

    Args:
        y_true, y_pred: (N,) integer labels.
        class_names: optional C names (for example ``CIFAR10_CLASSES``); they also fix C.
        normalize: show each row as fractions of that true class (rows sum to 1) instead of counts.
        ax: matplotlib Axes to draw into (default: a new figure).

    Returns:
        matplotlib Figure (cells are annotated with their values for up to 20 classes).
    """
    matrix = confusion_matrix(y_true, y_pred, None if class_names is None else len(class_names))
    n_classes = len(matrix)
    if normalize:
        row_totals = matrix.sum(axis=1, keepdims=True)
        matrix = matrix / np.maximum(row_totals, 1)
    names = [str(name) for name in class_names] if class_names is not None else [str(i) for i in range(n_classes)]
    figure, ax = _figure_and_axes(ax, (1.0 + 0.6 * max(n_classes, 5),) * 2)
    ax.imshow(matrix, cmap="Blues", vmin=0)
    ax.set_xticks(range(n_classes), names, rotation=45, ha="right")
    ax.set_yticks(range(n_classes), names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    if n_classes <= MAX_ANNOTATED_CLASSES:
        threshold = (matrix.max() if matrix.size else 0) / 2
        for (row, column), value in np.ndenumerate(matrix):
            text = f"{value:.2f}" if normalize else str(value)
            ax.text(column, row, text, ha="center", va="center", fontsize=8,
                    color="white" if value > threshold else "black")
    ax.set_title("confusion matrix" + (" (rows normalized)" if normalize else ""))
    return figure
