"""Run a source notebook's code cells in this process, as an instructor runs it in Jupyter.

Hidden regions run their checks on the notebook's own (local) functions, so one run tells which
graded test cells, visible part or hidden part, a submission fails. Fast enough to run a notebook
once per planted mistake.
"""
import contextlib
import io
import os
import re
import warnings
from pathlib import Path

import matplotlib
import nbformat

ROOT = Path(__file__).resolve().parents[1]
MAGIC = re.compile(r"^\s*[%!].*$", re.MULTILINE)


def nbgrader(cell):
    return cell.get("metadata", {}).get("nbgrader", {})


def source_cells(lab):
    """The code cells of ``source/<lab>/<lab>.ipynb`` that define or test something, as (grade_id or "",
    is a graded test, source). The experiments (cells nbgrader does not know, after the first exercise)
    are left out: no test depends on them."""
    nb = nbformat.read(ROOT / "source" / lab / f"{lab}.ipynb", as_version=4)
    cells, exercises_started = [], False
    for cell in nb.cells:
        meta = nbgrader(cell)
        exercises_started = exercises_started or bool(meta.get("solution"))
        if cell.cell_type == "code" and (meta or not exercises_started):
            cells.append((meta.get("grade_id", ""), bool(meta.get("grade")) and not meta.get("solution"),
                          MAGIC.sub("", cell.source)))
    return cells


def failed_tests(lab, replace=None, cells=None):
    """{test grade_id: "ExceptionName: message"} for the graded test cells that raise.

    replace: {solution grade_id: source} cells replaced before running (a submission's answers).
    Every cell runs even after a failure, as under nbgrader; the run is FAST (as under autograde).
    """
    replace = replace or {}
    namespace = {"__name__": "__main__", "display": print}
    failures = {}
    matplotlib.use("Agg")
    previous = os.environ.get("NBGRADER_EXECUTION")
    os.environ["NBGRADER_EXECUTION"] = "autograde"
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()), \
                warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for grade_id, is_test, source in cells or source_cells(lab):
                try:
                    exec(compile(replace.get(grade_id, source), f"<{lab}:{grade_id}>", "exec"), namespace)  # noqa: S102
                except Exception as error:  # noqa: BLE001 -- a failing cell is the result
                    if is_test:
                        failures[grade_id] = f"{type(error).__name__}: {error}"
    finally:
        import matplotlib.pyplot as plt
        plt.close("all")
        if previous is None:
            os.environ.pop("NBGRADER_EXECUTION", None)
        else:
            os.environ["NBGRADER_EXECUTION"] = previous
    return failures
