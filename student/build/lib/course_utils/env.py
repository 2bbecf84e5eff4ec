"""Where the notebook is running: in JupyterLab, or under nbgrader's autograder."""
import os


def under_autograde() -> bool:
    """True when nbgrader executes the notebook (``nbgrader autograde`` or ``validate``).

    nbgrader sets the environment variable ``NBGRADER_EXECUTION`` in the kernel it starts.
    Labs use this to train on less data, keep progress bars quiet and skip slow widgets.
    """
    return bool(os.environ.get("NBGRADER_EXECUTION"))
