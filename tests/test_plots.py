"""Tests of course_utils.plots: each plot returns a Figure with the expected artists."""

import io

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from course_utils.data import make_xor  # noqa: E402
from course_utils.plots import (confusion_matrix, plot_confusion_matrix, plot_decision_boundary,
                                plot_first_layer_weights, plot_learning_curves)  # noqa: E402
from course_utils.training import History  # noqa: E402


def render(figure):
    """Draw the figure completely (as saving a PNG does), so drawing problems and warnings show up."""
    figure.savefig(io.BytesIO(), format="png")


def test_learning_curves_overlay_runs_and_skip_non_finite_values():
    diverged = History(loss=[1.0, 0.5, np.inf, np.nan])
    figure = plot_learning_curves({"lr=0.1": History(loss=[1.0, 0.6, 0.3]), "lr=10": diverged,
                                   "list": [2.0, 1.0]}, log=True, title="loss")
    render(figure)
    ax = figure.axes[0]
    assert isinstance(figure, Figure) and len(ax.lines) == 3
    assert ax.get_yscale() == "log" and ax.get_xlabel() == "iteration"
    y = ax.lines[1].get_ydata()
    np.testing.assert_array_equal(y[:2], [1.0, 0.5])
    assert np.all(np.isnan(y[2:]))
    assert [text.get_text() for text in ax.get_legend().get_texts()] == ["lr=0.1", "lr=10", "list"]


def test_learning_curves_of_an_epoch_key_into_a_given_axes():
    host = Figure()
    ax = host.add_subplot()
    figure = plot_learning_curves(History(val_acc=[0.5, 0.7]), key="val_acc", ax=ax)
    assert figure is host and ax.get_xlabel() == "epoch"
    np.testing.assert_array_equal(ax.lines[0].get_xdata(), [1, 2])


def test_learning_curves_of_only_nan_on_a_log_scale_do_not_warn():
    render(plot_learning_curves({"nan": [np.nan, np.nan]}, log=True))


def test_learning_curves_refuse_unknown_keys():
    with pytest.raises(ValueError, match="val_acc"):
        plot_learning_curves({"a": History()}, key="accuracy")


@pytest.mark.parametrize("predict", [
    lambda Z: ((Z[:, 0] > 0.5) != (Z[:, 1] > 0.5)).astype(np.int64),  # labels
    lambda Z: (((Z[:, 0] > 0.5) != (Z[:, 1] > 0.5)) * 0.8 + 0.1)[:, None],  # (M, 1) probabilities
])
def test_decision_boundary_colours_regions_by_prediction(predict):
    X, y = make_xor(60, noise=0.1)
    figure = plot_decision_boundary(predict, X, y, resolution=50, title="xor")
    render(figure)
    ax = figure.axes[0]
    assert len(ax.collections) >= 2  # filled contours and the scatter of points
    scatter = ax.collections[-1]
    np.testing.assert_array_equal(scatter.get_offsets(), X)
    np.testing.assert_array_equal(scatter.get_array(), y)


def test_decision_boundary_with_a_single_predicted_class_does_not_warn():
    X, y = make_xor()
    render(plot_decision_boundary(lambda Z: np.zeros(len(Z), dtype=np.int64), X, y, resolution=20))


def test_decision_boundary_needs_2d_points():
    with pytest.raises(ValueError, match=r"\(N, 2\)"):
        plot_decision_boundary(lambda Z: Z[:, 0], np.zeros((4, 3)), np.zeros(4))


def test_first_layer_weights_rescale_each_unit_into_a_mosaic():
    rng = np.random.default_rng(0)
    W = rng.standard_normal((2 * 2 * 3, 5)) * np.array([1, 10, 100, 0.1, 0])  # the last unit is constant
    figure = plot_first_layer_weights(W, image_shape=(2, 2, 3), n_max=4)
    render(figure)
    images = figure.axes[0].images
    assert len(images) == 1
    mosaic = np.asarray(images[0].get_array())
    assert mosaic.shape == (2 * 2 + 1, 2 * 2 + 1, 3)  # 4 tiles of 2x2 in a 2x2 grid, 1-pixel gaps
    first = mosaic[:2, :2]
    expected = (W[:, 0] - W[:, 0].min()) / (W[:, 0].max() - W[:, 0].min())
    np.testing.assert_allclose(first, expected.reshape(2, 2, 3))
    for tile in (mosaic[:2, 3:], mosaic[3:, :2], mosaic[3:, 3:]):
        assert tile.min() == 0.0 and tile.max() == 1.0


def test_first_layer_weights_channels_first_rows_match_cifar_layout():
    image = np.arange(3 * 2 * 2, dtype=np.float64).reshape(3, 2, 2)  # (channels, height, width)
    W = image.reshape(-1, 1)
    mosaic = np.asarray(plot_first_layer_weights(W, image_shape=(3, 2, 2)).axes[0].images[0].get_array())
    np.testing.assert_allclose(mosaic, image.transpose(1, 2, 0) / image.max())


def test_first_layer_weights_shape_mismatch():
    with pytest.raises(ValueError, match="3072"):
        plot_first_layer_weights(np.zeros((100, 4)))


@pytest.mark.parametrize("seed", range(5))
def test_confusion_matrix_counts_pairs(seed):
    rng = np.random.default_rng(seed)
    y_true, y_pred = rng.integers(0, 4, 50), rng.integers(0, 4, 50)
    matrix = confusion_matrix(y_true, y_pred, num_classes=5)
    assert matrix.shape == (5, 5) and matrix.dtype == np.int64
    for i in range(5):
        for j in range(5):
            assert matrix[i, j] == np.sum((y_true == i) & (y_pred == j))


def test_confusion_matrix_refuses_labels_out_of_range():
    with pytest.raises(ValueError, match="num_classes=2"):
        confusion_matrix([0, 2], [0, 1], num_classes=2)


def test_plot_confusion_matrix_normalizes_rows_and_names_classes():
    figure = plot_confusion_matrix([0, 0, 1, 1, 1], [0, 1, 1, 1, 2], class_names=["cat", "dog", "eel"],
                                   normalize=True)
    render(figure)
    ax = figure.axes[0]
    shown = np.asarray(ax.images[0].get_array())
    np.testing.assert_allclose(shown, [[0.5, 0.5, 0], [0, 2 / 3, 1 / 3], [0, 0, 0]])
    assert [t.get_text() for t in ax.get_yticklabels()] == ["cat", "dog", "eel"]
    assert len(ax.texts) == 9


def test_new_figures_are_not_left_open_in_pyplot():
    before = plt.get_fignums()
    for _ in range(25):  # pyplot warns above 20 open figures
        plot_learning_curves({"a": [1.0, 2.0]})
    assert plt.get_fignums() == before
