"""Student-facing NumPy helpers for the neural-networks-from-scratch course.

Modules:
    course_utils.data       toy data sets, CIFAR-10, splits, one-hot, scaling
    course_utils.gradcheck  numerical gradients and gradient checks
    course_utils.training   ``fit``: a training loop for your ``loss_and_grads`` function
    course_utils.plots      learning curves, decision boundaries, weights, confusion matrices
    course_utils.checks     self-checks with friendly messages for notebooks
    course_utils.progress   progress bars that suit notebooks and grading
"""

import importlib

from . import checks, data, gradcheck, progress, training
from .gradcheck import check_gradient, numerical_gradient, rel_error
from .training import History, fit

__all__ = [
    "History",
    "check_gradient",
    "checks",
    "data",
    "fit",
    "gradcheck",
    "numerical_gradient",
    "plots",
    "progress",
    "rel_error",
    "training",
]


def __getattr__(name):
    """Import ``course_utils.plots`` (and so matplotlib) only when it is first used."""
    if name == "plots":
        return importlib.import_module(".plots", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
