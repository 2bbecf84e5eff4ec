"""Interactive training panels: sliders that re-train a model and redraw what it learned.

The panel knows nothing about networks. You give it a training function and the controls::

    def run(settings):                       # settings: {"lr": 0.1, "iterations": 500, ...}
        params, costs = my_model(X, Y, learning_rate=settings["lr"], ...)
        return costs, lambda points: my_predict(params, points)

    panel = TrainingPanel(run, X, y, {"lr": log_slider(0.1, 1e-3, 10.0, "learning rate"), ...})
    panel                                    # last line of a cell: shows the sliders and the plots

Whenever a control changes, the panel calls ``train(settings)`` again and redraws the learning curve
and the decision boundary. A cost that becomes NaN or inf or ends higher than it started, a note
returned by ``train`` (for example "stopped at iteration 12: the cost grew") and any error are shown
as a message under the controls, never raised. ``panel.set(lr=0.5)`` changes controls from code and
returns what the run gave, so the panel can be used (and tested) without a browser.

While nbgrader grades a notebook (``course_utils.env.under_autograde()``), the panel trains nothing:
it only shows a note, so grading stays fast.
"""

import asyncio
import html
import io
import time
import warnings
from dataclasses import dataclass

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure

from . import plots
from .env import under_autograde

GRADING_NOTE = ("The interactive panel is switched off while the notebook is being graded. "
                "Open the notebook in JupyterLab to use the sliders.")
MAX_MESSAGE_LENGTH = 300
COLOURS = {"trained": "#1a7f37", "diverged": "#b35900", "failed": "#c62828"}


def log_slider(value, low, high, description="", steps_per_decade=4):
    """A slider on a log scale, so that 0.001, 0.01, 0.1, 1 and 10 are equally far apart (for learning rates).

    value, low, high: positive numbers (the slider moves between low and high); steps_per_decade:
    positions between two powers of ten. Returns an ``ipywidgets.FloatLogSlider`` whose ``value``
    is the number itself (for example 0.1, not its exponent -1).
    """
    if not 0 < low <= value <= high:
        raise ValueError(f"log_slider needs 0 < low <= value <= high, got low={low}, value={value}, "
                         f"high={high}.")
    return widgets.FloatLogSlider(value=value, base=10, min=np.log10(low), max=np.log10(high),
                                  step=1 / steps_per_decade, description=description, readout_format=".3g",
                                  continuous_update=False, style={"description_width": "initial"})


def int_slider(value, low, high, step=1, description=""):
    """An integer slider (ints ``low`` to ``high`` by ``step``) that reports a value when released."""
    return widgets.IntSlider(value=value, min=low, max=high, step=step, description=description,
                             continuous_update=False, style={"description_width": "initial"})


def choice(options, value=None, description=""):
    """A row of buttons to pick one of ``options`` (a list of strings); ``value`` defaults to the first."""
    options = list(options)
    return widgets.ToggleButtons(options=options, value=options[0] if value is None else value,
                                 description=description, style={"description_width": "initial",
                                                                 "button_width": "auto"})


@dataclass
class PanelResult:
    """What one training run gave.

    Attributes:
        settings: the control values it ran with, {name: value}.
        costs: float64 array (T,), the cost of every iteration (empty if training failed).
        status: "trained", "diverged" (a cost became NaN or inf, the last cost is higher than the first,
            or ``train`` returned a note saying why it stopped) or "failed" (``train`` or ``predict``
            raised an exception).
        message: the text shown under the controls (None when all went well).
        seconds: how long training took.
    """

    settings: dict
    costs: np.ndarray
    status: str
    message: str | None
    seconds: float


class TrainingPanel:
    """Controls that re-train a model on a 2-D data set and redraw its learning curve and decision boundary.

    Args:
        train: function ``train(settings) -> (costs, predict)`` or ``(costs, predict, note)``, where
            ``settings`` is {control name: value}, ``costs`` a sequence of floats (one per iteration),
            ``predict`` a function (M, 2) points -> (M,) labels or probabilities of class 1 (or None
            to skip the boundary), and ``note`` a message to show, such as why training stopped early.
        X: (N, 2) float points; y: (N,) or (N, 1) integer labels, drawn under the decision boundary.
        controls: {name: ipywidgets value widget}, for example from ``log_slider``.
        title: optional heading shown above the controls.
        debounce: seconds to wait after a change before training, so that several quick changes
            train once (only inside a running event loop, as in JupyterLab; elsewhere it trains at once).
        resolution: grid points per axis for the decision boundary.
        active: train and draw (default: True, except while nbgrader grades the notebook).

    Attributes:
        widget: the ``ipywidgets.VBox`` to display (the panel displays it when it ends a cell).
        result: the latest ``PanelResult`` (None before the first run).
        figure, curve_axes, boundary_axes: the matplotlib Figure drawn into the panel and its two Axes
            (None when the panel is not active).
    """

    def __init__(self, train, X, y, controls, *, title=None, debounce=0.3, resolution=60, active=None):
        if not callable(train):
            raise TypeError(f"train must be a function settings -> (costs, predict), got {type(train).__name__}.")
        not_widgets = [name for name, control in controls.items() if not isinstance(control, widgets.ValueWidget)]
        if not controls or not_widgets:
            raise TypeError("controls must be a non-empty dict {name: ipywidget with a value}, for example "
                            f"{{'lr': log_slider(0.1, 1e-3, 10.0)}}; not widgets: {not_widgets}.")
        self.train, self.X, self.y = train, np.asarray(X), np.asarray(y)
        self.controls = dict(controls)
        self.debounce, self.resolution = float(debounce), int(resolution)
        self.active = not under_autograde() if active is None else bool(active)
        self.result = None
        self.figure = self.curve_axes = self.boundary_axes = None
        self._pending = None
        self._quiet = False
        self.status = widgets.HTML()
        self.image = widgets.Image(format="png")
        heading = [widgets.HTML(f"<b>{html.escape(title)}</b>")] if title else []
        self.widget = widgets.VBox([*heading, *self.controls.values(), self.status, self.image])
        if not self.active:
            self.status.value = f"<i>{html.escape(GRADING_NOTE)}</i>"
            return
        self.figure = Figure(figsize=(9.0, 3.6))  # a fixed layout: constrained layout would double the drawing time
        self.curve_axes, self.boundary_axes = self.figure.subplots(1, 2)
        self.figure.subplots_adjust(left=0.08, right=0.98, bottom=0.14, top=0.9, wspace=0.25)
        for control in self.controls.values():
            control.observe(self._on_change, names="value")
        self.refresh()

    @property
    def settings(self):
        """The current control values, {name: value}."""
        return {name: control.value for name, control in self.controls.items()}

    def set(self, **values):
        """Change controls by name (``panel.set(lr=0.5, iterations=200)``), train once, return the PanelResult.

        Values outside a slider's range are clipped to it, as when dragging. Returns None when the
        panel is not active.
        """
        unknown = sorted(set(values) - set(self.controls))
        if unknown:
            raise ValueError(f"No control named {unknown}; the controls are {sorted(self.controls)}.")
        self._quiet = True
        try:
            for name, value in values.items():
                self.controls[name].value = value
        finally:
            self._quiet = False
        return self.refresh()

    def refresh(self):
        """Train with the current settings and redraw; returns the PanelResult (None when not active)."""
        if not self.active:
            return None
        self._cancel_pending()
        settings = self.settings
        started = time.perf_counter()
        costs, predict, note, error = self._run(settings)
        seconds = time.perf_counter() - started
        status, message = self._verdict(costs, note, error)
        if status == "failed":
            self.image.value = b""  # no plots of an earlier run next to this run's error
        else:
            drawn = self._draw(costs, predict)
            if drawn is not None:
                status, message = "failed", drawn
        self.result = PanelResult(settings, costs, status, message, seconds)
        self._show(self.result)
        return self.result

    def _run(self, settings):
        """Call train; returns (costs float64 array, predict or None, note or None, error message or None)."""
        empty = np.zeros(0)
        try:
            with warnings.catch_warnings(record=True) as caught, np.errstate(all="warn"):
                warnings.simplefilter("always")
                outcome = self.train(dict(settings))
        except Exception as error:  # any failure of the training code is shown, not raised
            return empty, None, None, f"Training raised {type(error).__name__}: {_shorten(str(error))}"
        if not isinstance(outcome, tuple) or len(outcome) not in (2, 3):
            return empty, None, None, ("train(settings) should return (costs, predict) or (costs, predict, note), "
                                       f"but it returned {type(outcome).__name__}.")
        costs, predict, note = (*outcome, None)[:3]
        try:
            costs = np.asarray(costs, dtype=np.float64).reshape(-1)
        except (TypeError, ValueError):
            return empty, None, None, "train(settings) should return the costs as a list of numbers."
        if caught:
            numpy_said = f"NumPy warned: {_shorten(str(caught[0].message))}."
            note = f"{note} ({numpy_said})" if note else numpy_said
        return costs, predict, note, None

    @staticmethod
    def _verdict(costs, note, error):
        """(status, message) for a run."""
        if error is not None:
            return "failed", error
        broken = np.flatnonzero(~np.isfinite(costs))
        if broken.size:
            first = int(broken[0])
            return "diverged", (f"Diverged: the cost became {costs[first]} at iteration {first}. "
                                "The steps are too large: try a smaller learning rate." + (f" {note}" if note else ""))
        if note:
            return "diverged", str(note)
        if costs.size > 1 and costs[-1] > costs[0]:
            return "diverged", (f"The cost ended higher than it started ({costs[0]:.4g} -> {costs[-1]:.4g}): the steps "
                                "overshoot. Try a smaller learning rate.")
        return "trained", None

    def _draw(self, costs, predict):
        """Redraw both plots into the image; returns an error message if predict failed, else None."""
        self.curve_axes.clear()
        self.boundary_axes.clear()
        plots.plot_learning_curves(costs, log=bool(np.any(costs > 0)), ax=self.curve_axes, title="learning curve")
        self.curve_axes.set_ylabel("cost")
        failure = None
        if not np.all(np.isfinite(costs)):
            self._draw_empty_boundary("no decision boundary:\nthe parameters are not finite")
        elif predict is None:
            self._draw_empty_boundary("no decision boundary")
        else:
            try:
                with warnings.catch_warnings(), np.errstate(all="ignore"):
                    warnings.simplefilter("ignore")
                    plots.plot_decision_boundary(predict, self.X, self.y, ax=self.boundary_axes,
                                                 resolution=self.resolution, title="decision boundary")
            except Exception as error:  # a failing predict is shown, not raised
                failure = f"predict raised {type(error).__name__}: {_shorten(str(error))}"
                self.boundary_axes.clear()
                self._draw_empty_boundary("no decision boundary:\npredict failed")
        buffer = io.BytesIO()
        self.figure.savefig(buffer, format="png", dpi=80)
        self.image.value = buffer.getvalue()
        return failure

    def _draw_empty_boundary(self, text):
        labels = self.y.reshape(-1)
        self.boundary_axes.scatter(self.X[:, 0], self.X[:, 1], c=labels, cmap="tab10", vmin=0,
                                   vmax=max(int(labels.max()), 1), edgecolors="k", s=20)
        self.boundary_axes.set_title(text, fontsize=9)

    def _show(self, result):
        if result.message is None:
            final = f"final cost {result.costs[-1]:.4g}" if result.costs.size else "no iterations"
            text = f"Trained in {result.seconds:.2f} s: {final}."
        else:
            text = result.message
        self.status.value = f'<span style="color:{COLOURS[result.status]}">{html.escape(text)}</span>'

    def _on_change(self, _change):
        """Train again after a control changed (after ``debounce`` seconds inside a running event loop)."""
        if self._quiet:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if loop is None or self.debounce <= 0:
            self.refresh()
            return
        self._cancel_pending()
        self._pending = loop.call_later(self.debounce, self.refresh)

    def _cancel_pending(self):
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)


def _shorten(text):
    return text if len(text) <= MAX_MESSAGE_LENGTH else text[:MAX_MESSAGE_LENGTH] + "..."


# ----------------------------------------------------------------------------- optimizer paths on a 2-D surface

def float_slider(value, low, high, step=0.01, description=""):
    """A slider of numbers ``low`` to ``high`` by ``step`` (e.g. a momentum coefficient) that reports when released."""
    return widgets.FloatSlider(value=value, min=low, max=high, step=step, description=description,
                               readout_format=".3g", continuous_update=False, style={"description_width": "initial"})


@dataclass
class Surface:
    """A function of two parameters to draw as contours: ``height(x, y)`` works on arrays, elementwise.

    extent: (x_min, x_max, y_min, y_max), the part of the plane drawn; minimum: the (x, y) of the
    lowest point, marked with a star (or None).
    """

    height: object
    extent: tuple
    minimum: tuple | None = None
    name: str = ""


class TrajectoryPanel(TrainingPanel):
    """Controls that re-run an optimizer on a 2-D surface and redraw its path on the contour plot.

    The same machinery as ``TrainingPanel`` (debounce, ``set``, messages instead of errors, nothing
    trained while nbgrader grades), with other plots: the path of the parameters over the contours of
    the surface, and the height of the surface at every step.

    Args:
        run: function ``run(settings) -> (surface, path)`` or ``(surface, path, note)``, where
            ``surface`` is a ``Surface``, ``path`` an array (T + 1, 2) of the parameters before the
            first step and after each step, and ``note`` a message to show.
        controls, title, debounce, active: as for ``TrainingPanel``.
        resolution: grid points per axis for the contours.

    Attributes:
        path: the latest path, float64 (T + 1, 2) (None before the first run or after a failure).
        Others as for ``TrainingPanel``; ``curve_axes`` holds the heights, ``boundary_axes`` the contours.
    """

    def __init__(self, run, controls, *, title=None, debounce=0.3, resolution=80, active=None):
        if not callable(run):
            raise TypeError(f"run must be a function settings -> (surface, path), got {type(run).__name__}.")
        self.path = None
        super().__init__(run, np.zeros((0, 2)), np.zeros(0, dtype=np.int64), controls, title=title,
                         debounce=debounce, resolution=resolution, active=active)

    def _run(self, settings):
        """Call run; returns (heights float64 (T + 1,), (surface, path) or None, note, error message or None)."""
        empty = np.zeros(0)
        self.path = None
        try:
            with warnings.catch_warnings(record=True) as caught, np.errstate(all="warn"):
                warnings.simplefilter("always")
                outcome = self.train(dict(settings))
                if not isinstance(outcome, tuple) or len(outcome) not in (2, 3) or not isinstance(outcome[0], Surface):
                    return empty, None, None, ("run(settings) should return (surface, path) or (surface, path, note), "
                                               f"with a Surface first, but it returned {type(outcome).__name__}.")
                surface, path, note = (*outcome, None)[:3]
                path = np.asarray(path, dtype=np.float64)
                if path.ndim != 2 or path.shape[1] != 2 or len(path) == 0:
                    return empty, None, None, ("run(settings) should return a path of shape (T + 1, 2), "
                                               f"not {path.shape}.")
                heights = np.asarray(surface.height(path[:, 0], path[:, 1]), dtype=np.float64).reshape(-1)
        except Exception as error:  # any failure of the optimizer is shown, not raised
            return empty, None, None, f"Running the optimizer raised {type(error).__name__}: {_shorten(str(error))}"
        if caught:
            numpy_said = f"NumPy warned: {_shorten(str(caught[0].message))}."
            note = f"{note} ({numpy_said})" if note else numpy_said
        self.path = path
        return heights, (surface, path), note, None

    def _draw(self, heights, drawing):
        """Redraw the contours with the path and the heights per step; returns None."""
        surface, path = drawing
        self.curve_axes.clear()
        self.boundary_axes.clear()
        positive = bool(np.all(heights[np.isfinite(heights)] > 0)) and np.any(np.isfinite(heights))
        plots.plot_learning_curves(heights, log=positive, ax=self.curve_axes, title="height at each step")
        self.curve_axes.set_xlabel("step")
        self.curve_axes.set_ylabel("f(x, y)")
        draw_surface(surface, path, ax=self.boundary_axes, resolution=self.resolution)
        buffer = io.BytesIO()
        self.figure.savefig(buffer, format="png", dpi=80)
        self.image.value = buffer.getvalue()
        return None

    def _show(self, result):
        if result.message is None and result.costs.size:
            text = (f"{result.costs.size - 1} steps in {result.seconds:.2f} s: final height {result.costs[-1]:.4g}, "
                    f"at ({self.path[-1, 0]:.3g}, {self.path[-1, 1]:.3g}).")
            self.status.value = f'<span style="color:{COLOURS["trained"]}">{html.escape(text)}</span>'
        else:
            super()._show(result)


def draw_surface(surface, path=None, ax=None, resolution=80, label=None, color=None, levels=25):
    """Contours of ``surface`` (log-spaced levels above its lowest value) and, optionally, a path on them.

    path: array (T + 1, 2) drawn as a line with dots, its start as a circle; ax: matplotlib Axes (a new
    figure if None); label, color: of the path, for a legend. Returns the Axes.
    """
    if ax is None:
        import matplotlib.pyplot as plt  # only here: the panel draws on its own Figure, without pyplot
        _, ax = plt.subplots(figsize=(5, 4), layout="constrained")
    x_min, x_max, y_min, y_max = surface.extent
    xs, ys = np.meshgrid(np.linspace(x_min, x_max, resolution), np.linspace(y_min, y_max, resolution))
    heights = np.asarray(surface.height(xs, ys), dtype=np.float64)
    if not ax.collections:  # the contours once per Axes, however many paths are drawn on them
        low = float(np.min(heights))
        span = max(float(np.max(heights)) - low, 1e-12)
        levels_at = low + np.geomspace(span * 1e-4, span, levels)
        ax.contour(xs, ys, heights, levels=levels_at, cmap="viridis", linewidths=0.7)
        if surface.minimum is not None:
            ax.plot(*surface.minimum, "*", color="k", markersize=12)
        ax.set_xlim(x_min, x_max)
        ax.set_ylim(y_min, y_max)
        ax.set_xlabel("x")
        ax.set_ylabel("y")
        if surface.name:
            ax.set_title(surface.name)
    if path is not None:
        path = np.asarray(path, dtype=np.float64)
        line, = ax.plot(path[:, 0], path[:, 1], ".-", markersize=3, linewidth=1, label=label, color=color)
        ax.plot(path[0, 0], path[0, 1], "o", color=line.get_color(), markersize=6)
    return ax
