"""Progress bars that suit where the code runs: a widget in JupyterLab, plain text elsewhere.

When nbgrader executes a notebook (it sets the environment variable NBGRADER_EXECUTION in the
kernel), the bar is plain text on stdout and refreshes at most every 30 seconds, so graded
notebooks stay small and nothing is written to stderr.
"""

import sys

from tqdm.std import tqdm as text_tqdm

from .env import under_autograde

GRADING_REFRESH_SECONDS = 30.0


def _notebook_tqdm():
    """The widget-based tqdm class inside a Jupyter kernel with working ipywidgets, else None."""
    if "ipykernel.zmqshell" not in sys.modules:
        return None
    try:
        from tqdm.notebook import IProgress, tqdm as widget_tqdm
    except ImportError:
        return None
    return widget_tqdm if IProgress is not None else None


def progress_bar(iterable=None, *, total=None, desc=None, enabled=True, leave=True):
    """A tqdm progress bar over ``iterable`` (or a manual one advanced with ``bar.update(n)``).

    Args:
        iterable: what to iterate over, or None for a manual bar.
        total: expected number of steps (defaults to ``len(iterable)`` when available).
        desc: short label shown before the bar.
        enabled: False returns a silent bar that prints nothing.
        leave: keep the finished bar on screen.

    Returns:
        a ``tqdm`` object: a widget in Jupyter, plain text on stdout during nbgrader grading,
        plain text on stderr in a terminal.
    """
    options = dict(total=total, desc=desc, leave=leave)
    if not enabled:
        return text_tqdm(iterable, disable=True, **options)
    if under_autograde():
        return text_tqdm(iterable, file=sys.stdout, mininterval=GRADING_REFRESH_SECONDS, ascii=True,
                         dynamic_ncols=False, **options)
    widget_tqdm = _notebook_tqdm()
    if widget_tqdm is not None:
        return widget_tqdm(iterable, **options)
    in_kernel = "ipykernel.zmqshell" in sys.modules
    return text_tqdm(iterable, file=sys.stdout if in_kernel else None, **options)
