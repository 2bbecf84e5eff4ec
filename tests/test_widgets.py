"""The training panel of course_utils.widgets, driven from code as a notebook's front end would drive it."""
import asyncio
import math
import sys
from pathlib import Path

import ipywidgets
import matplotlib.pyplot as plt
import numpy as np
import pytest

from course_utils import data
from course_utils.widgets import GRADING_NOTE, TrainingPanel, choice, int_slider, log_slider

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
X, y = data.make_xor(n_samples=40, noise=0.1, seed=0)


class SpyTrainer:
    """A stand-in training function: records the settings of every call, returns costs that depend on them."""

    def __init__(self, outcome=None):
        self.calls = []
        self.outcome = outcome

    def __call__(self, settings):
        self.calls.append(settings)
        if self.outcome is not None:
            return self.outcome(settings)
        costs = np.exp(-settings["lr"] * np.arange(settings["iterations"]))
        return costs, lambda points: (points[:, 0] > 0.5).astype(np.int64)


def controls(lr=0.1):
    return {"lr": log_slider(lr, 1e-3, 10.0, "learning rate"), "iterations": int_slider(20, 5, 100),
            "activation": choice(["relu", "tanh"])}


@pytest.fixture(autouse=True)
def in_jupyterlab(monkeypatch):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)


def test_log_slider_holds_the_number_and_moves_by_powers_of_ten():
    slider = log_slider(0.1, 1e-3, 10.0)
    assert isinstance(slider, ipywidgets.FloatLogSlider)
    assert (slider.min, slider.max, slider.base) == (-3, 1, 10)
    slider.value = 10 ** -2
    assert slider.value == pytest.approx(0.01)
    slider.value = 1e6
    assert slider.value == pytest.approx(10.0), "values beyond the range are clipped to it"
    with pytest.raises(ValueError, match="low <= value <= high"):
        log_slider(20.0, 1e-3, 10.0)


def test_the_panel_trains_once_when_built_and_shows_the_plots():
    spy = SpyTrainer()
    panel = TrainingPanel(spy, X, y, controls(), active=True)
    assert spy.calls == [{"lr": pytest.approx(0.1), "iterations": 20, "activation": "relu"}]
    assert panel.result.status == "trained" and panel.result.message is None
    assert bytes(panel.image.value).startswith(b"\x89PNG"), "the plots are drawn into the panel's image"
    assert "final cost" in panel.status.value


def test_moving_a_slider_retrains_with_the_new_value_and_redraws():
    spy = SpyTrainer()
    panel = TrainingPanel(spy, X, y, controls(lr=0.01), active=True)
    curve_before = panel.curve_axes.lines[0].get_ydata().copy()
    image_before = bytes(panel.image.value)
    panel.controls["lr"].value = 10 ** -1
    panel.controls["activation"].value = "tanh"
    assert [call["lr"] for call in spy.calls] == pytest.approx([0.01, 0.1, 0.1])
    assert spy.calls[-1]["activation"] == "tanh"
    curve_after = panel.curve_axes.lines[0].get_ydata()
    np.testing.assert_allclose(curve_after, np.exp(-0.1 * np.arange(20)))
    assert not np.allclose(curve_before, curve_after)
    assert bytes(panel.image.value) != image_before


def test_set_changes_several_controls_and_trains_once():
    spy = SpyTrainer()
    panel = TrainingPanel(spy, X, y, controls(), active=True)
    result = panel.set(lr=1.0, iterations=50)
    assert len(spy.calls) == 2
    assert result.settings == {"lr": pytest.approx(1.0), "iterations": 50, "activation": "relu"}
    assert result.costs.shape == (50,) and result is panel.result
    with pytest.raises(ValueError, match="No control named"):
        panel.set(learning_rate=1.0)


def test_a_nan_cost_is_reported_as_divergence_without_drawing_a_boundary():
    def diverging(settings):
        return [0.7, 5.0, math.inf, math.nan], lambda points: np.zeros(len(points))

    panel = TrainingPanel(SpyTrainer(diverging), X, y, controls(), active=True)
    assert panel.result.status == "diverged"
    assert "inf at iteration 2" in panel.result.message and "smaller learning rate" in panel.result.message
    assert "Diverged" in panel.status.value
    assert "not finite" in panel.boundary_axes.get_title()


def test_a_note_from_train_and_a_growing_cost_are_shown():
    panel = TrainingPanel(SpyTrainer(lambda s: ([0.7, 2.5], None, "stopped at iteration 1: the cost grew")),
                          X, y, controls(), active=True)
    assert (panel.result.status, panel.result.message) == ("diverged", "stopped at iteration 1: the cost grew")
    panel = TrainingPanel(SpyTrainer(lambda s: ([0.7, 0.5, 0.9], None)), X, y, controls(), active=True)
    assert panel.result.status == "diverged" and "ended higher than it started" in panel.result.message


@pytest.mark.parametrize("outcome, expected", [
    (lambda s: 1 / 0, "Training raised ZeroDivisionError: division by zero"),
    (lambda s: [0.5, 0.4], "should return (costs, predict)"),
    (lambda s: ([0.5, 0.4], lambda points: np.zeros(3)), "predict raised ValueError"),
])
def test_errors_are_shown_never_raised(outcome, expected):
    spy = SpyTrainer(outcome)
    panel = TrainingPanel(spy, X, y, controls(), active=True)
    assert panel.result.status == "failed" and expected in panel.result.message
    panel.controls["lr"].value = 1.0  # a slider callback does not raise either
    assert len(spy.calls) == 2 and panel.result.status == "failed"
    assert "color:#c62828" in panel.status.value
    if "predict" not in expected:
        assert bytes(panel.image.value) == b"", "no plots are left from an earlier run"


def test_numpy_warnings_during_training_are_reported_not_printed():
    def overflowing(settings):
        return [0.7, float(np.exp(np.float64(1000.0)) * 0)], None

    panel = TrainingPanel(SpyTrainer(overflowing), X, y, controls(), active=True)
    assert "NumPy warned: overflow" in panel.result.message


def test_under_autograde_nothing_is_trained(monkeypatch):
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    spy = SpyTrainer()
    panel = TrainingPanel(spy, X, y, controls())
    panel.controls["lr"].value = 1.0
    assert panel.set(iterations=50) is None and panel.refresh() is None
    assert spy.calls == [] and panel.figure is None
    assert GRADING_NOTE in panel.status.value


def test_quick_changes_inside_an_event_loop_train_once_after_the_pause():
    spy = SpyTrainer()
    panel = TrainingPanel(spy, X, y, controls(), active=True, debounce=0.05)

    async def drag():
        for exponent in (-2, -1, 0):
            panel.controls["lr"].value = 10.0 ** exponent
        assert len(spy.calls) == 1, "no training while the slider is still moving"
        await asyncio.sleep(0.2)

    asyncio.run(drag())
    assert [call["lr"] for call in spy.calls] == pytest.approx([0.1, 1.0])


def test_the_panel_leaves_no_pyplot_figures_open():
    open_before = plt.get_fignums()
    panel = TrainingPanel(SpyTrainer(), X, y, controls(), active=True)
    panel.set(lr=1.0)
    assert plt.get_fignums() == open_before


def test_the_panel_displays_as_its_widget_and_rejects_bad_arguments():
    panel = TrainingPanel(SpyTrainer(), X, y, controls(), active=False)
    assert "application/vnd.jupyter.widget-view+json" in panel._repr_mimebundle_()
    with pytest.raises(TypeError, match="controls must be"):
        TrainingPanel(SpyTrainer(), X, y, {"lr": 0.1})
    with pytest.raises(TypeError, match="train must be a function"):
        TrainingPanel("train", X, y, controls())


@pytest.fixture
def explorer_model(monkeypatch):
    monkeypatch.syspath_prepend(str(NOTEBOOKS))
    import explorer_model
    yield explorer_model
    sys.modules.pop("explorer_model", None)


def test_the_lecture_explorer_learns_xor_and_stays_symmetric_from_zeros(explorer_model):
    settings = {"learning rate": 1.0, "hidden units": 3, "activation": "tanh", "loss": "bce",
                "initialization": "xavier", "scale": 1.0, "iterations": 150}
    panel = TrainingPanel(lambda chosen: explorer_model.train({**settings, **chosen}, X, y), X, y, {
        "learning rate": log_slider(1.0, 1e-3, 100.0), "initialization": choice(explorer_model.INITIALIZATIONS)},
        active=True)
    result = panel.set(**{"initialization": "xavier"})
    assert result.status == "trained" and result.costs[-1] < 0.2 * result.costs[0]
    # From zero weights, tanh units output 0 and the balanced XOR set keeps the cost at ln 2
    costs, predict = explorer_model.train({**settings, "initialization": "zeros", "iterations": 20}, X, y)
    np.testing.assert_allclose(costs, np.log(2), atol=1e-9)
    np.testing.assert_allclose(predict(X), 0.5)


def test_the_lecture_explorer_without_activation_is_linear_and_its_mse_has_the_labs_convention(explorer_model):
    settings = {"learning rate": 1.0, "hidden units": 12, "activation": "none", "loss": "bce",
                "initialization": "xavier", "scale": 1.0, "iterations": 150}
    theta = explorer_model.init_theta(12, "xavier", seed=0)
    params = explorer_model.unpack(theta)
    assert params["W1"].std() == pytest.approx(np.sqrt(2 / 14), rel=0.3) and not params["b1"].any()
    points = np.random.default_rng(0).normal(size=(5, 2))
    # no activation: the score is one linear map of the input, W1 W2 and b1 W2 + b2
    np.testing.assert_allclose(explorer_model.output_score(theta, points, "none"),
                               (points @ (params["W1"] @ params["W2"]) + params["b1"] @ params["W2"]
                                + params["b2"]).ravel())
    costs, predict = explorer_model.train(settings, X, y)
    assert costs[-1] > 0.6 and np.mean((predict(X) > 0.5) == y) < 0.75  # a straight boundary cannot split XOR
    # MSE of the probability is 1/(2N) sum (p - y)^2, as in the labs: 1/8 when every p is 0.5
    costs, _ = explorer_model.train({**settings, "loss": "mse", "initialization": "zeros", "iterations": 2}, X, y)
    np.testing.assert_allclose(costs, 0.125)


# ----------------------------------------------------------------------------- Lab 6's trajectory panel

from course_utils.widgets import Surface, TrajectoryPanel, draw_surface, float_slider  # noqa: E402

BOWL = Surface(lambda x, y: 0.5 * (x ** 2 + 10 * y ** 2), (-5, 5, -2, 2), (0, 0), "bowl")


class SpyOptimizer:
    """Gradient descent with momentum on BOWL; records the settings of every call."""

    def __init__(self):
        self.calls = []

    def __call__(self, settings):
        self.calls.append(settings)
        w, v, path = np.array([-4.0, 1.5]), np.zeros(2), [np.array([-4.0, 1.5])]
        for _ in range(settings["steps"]):
            v = settings["beta"] * v + np.array([w[0], 10 * w[1]])
            w = w - settings["lr"] * v
            path.append(w)
            if np.abs(w).max() > 1e3:
                return BOWL, np.array(path), "stopped early: the parameters flew off"
        return BOWL, np.array(path)


def optimizer_controls(lr=0.01):
    return {"optimizer": choice(["momentum", "SGD"]), "lr": log_slider(lr, 1e-4, 1.0, "learning rate"),
            "beta": float_slider(0.9, 0.0, 0.99, step=0.01, description="beta"), "steps": int_slider(50, 10, 200)}


def test_float_slider_reports_numbers_when_released():
    slider = float_slider(0.9, 0.0, 0.99, step=0.01, description="beta")
    assert isinstance(slider, ipywidgets.FloatSlider) and not slider.continuous_update
    slider.value = 2.0
    assert slider.value == pytest.approx(0.99), "values beyond the range are clipped to it"


def test_the_trajectory_panel_runs_once_and_draws_the_path_on_the_contours():
    spy = SpyOptimizer()
    panel = TrajectoryPanel(spy, optimizer_controls(), active=True)
    assert len(spy.calls) == 1 and panel.result.status == "trained"
    assert panel.path.shape == (51, 2)
    heights = 0.5 * (panel.path[:, 0] ** 2 + 10 * panel.path[:, 1] ** 2)
    np.testing.assert_allclose(panel.result.costs, heights)  # the costs are the heights along the path
    drawn = panel.boundary_axes.lines[-2]  # the path, then its starting point
    np.testing.assert_allclose(drawn.get_xydata(), panel.path)
    assert panel.boundary_axes.collections, "the contours of the surface are drawn"
    assert bytes(panel.image.value).startswith(b"\x89PNG")
    assert "50 steps" in panel.status.value and "final height" in panel.status.value


def test_moving_a_slider_reruns_and_redraws():
    spy = SpyOptimizer()
    panel = TrajectoryPanel(spy, optimizer_controls(), active=True)
    image_before, path_before = bytes(panel.image.value), panel.path.copy()
    panel.controls["beta"].value = 0.0
    assert spy.calls[-1]["beta"] == 0.0 and len(spy.calls) == 2
    assert not np.array_equal(panel.path, path_before)
    assert bytes(panel.image.value) != image_before


def test_a_diverging_run_is_reported_not_raised():
    panel = TrajectoryPanel(SpyOptimizer(), optimizer_controls(), active=True)
    result = panel.set(lr=1.0)
    assert result.status == "diverged" and "flew off" in result.message
    assert bytes(panel.image.value).startswith(b"\x89PNG"), "the path so far is still drawn"


@pytest.mark.parametrize("outcome, expected", [
    (lambda settings: 1 / 0, "raised ZeroDivisionError"),
    (lambda settings: ([0.0], [1.0]), "with a Surface first"),
    (lambda settings: (BOWL, np.zeros((5, 3))), "a path of shape"),
])
def test_trajectory_errors_are_shown_never_raised(outcome, expected):
    panel = TrajectoryPanel(outcome, optimizer_controls(), active=True)
    assert panel.result.status == "failed" and expected in panel.result.message
    assert panel.path is None and panel.image.value == b""


def test_the_trajectory_panel_does_nothing_under_autograde(monkeypatch):
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    spy = SpyOptimizer()
    panel = TrajectoryPanel(spy, optimizer_controls())
    panel.controls["lr"].value = 0.1
    assert panel.set(beta=0.5) is None and spy.calls == [] and panel.figure is None
    assert GRADING_NOTE in panel.status.value


def test_quick_changes_of_the_trajectory_panel_run_once_after_the_pause():
    spy = SpyOptimizer()
    panel = TrajectoryPanel(spy, optimizer_controls(), active=True, debounce=0.05)

    async def drag():
        for value in (0.5, 0.6, 0.7):
            panel.controls["beta"].value = value
        assert len(spy.calls) == 1
        await asyncio.sleep(0.2)

    asyncio.run(drag())
    assert [call["beta"] for call in spy.calls] == pytest.approx([0.9, 0.7])


def test_the_trajectory_panel_leaves_no_pyplot_figures_open():
    open_before = plt.get_fignums()
    TrajectoryPanel(SpyOptimizer(), optimizer_controls(), active=True).set(lr=0.02)
    assert plt.get_fignums() == open_before


def test_draw_surface_draws_contours_once_and_every_path():
    fig, ax = plt.subplots()
    try:
        draw_surface(BOWL, np.array([[-4.0, 1.0], [-2.0, 0.5]]), ax=ax, label="a")
        contours = len(ax.collections)
        draw_surface(BOWL, np.array([[4.0, 1.0], [2.0, 0.5]]), ax=ax, label="b")
        assert len(ax.collections) == contours, "the contours are drawn once per Axes"
        assert [line.get_label() for line in ax.lines if not line.get_label().startswith("_")] == ["a", "b"]
        assert ax.get_xlim() == (-5, 5) and ax.get_title() == "bowl"
    finally:
        plt.close(fig)
