"""Run a source notebook's code cells in this process, as an instructor runs it in Jupyter.

Hidden regions run their checks on the notebook's own (local) functions, so one run tells which
graded test cells, visible part or hidden part, a submission fails. Fast enough to run a notebook
once per planted mistake: the cells before the first exercise (imports, data loading, pictures of the data),
which no answer can change, run once per lab and process; each later run starts from a copy of what they left.
"""
import contextlib
import copy
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


_PRELUDES = {}  # (lab, sources of the cells before the first exercise) -> (their namespace, a pristine copy of it)


def _prelude_length(cells, replace):
    """How many leading cells come before the first exercise, test or replaced cell: no answer can change them."""
    for i, (grade_id, is_test, source) in enumerate(cells):
        if is_test or grade_id in replace or "BEGIN SOLUTION" in source:
            return i
    return len(cells)


def _copy_of(namespace):
    """A copy of a namespace: arrays, containers and generators copied (a cell may change them in place); modules,
    functions and classes, which a fresh run would share too (imports come from sys.modules), shared."""
    memo, copied = {}, {}
    for name, value in namespace.items():
        try:
            copied[name] = copy.deepcopy(value, memo)
        except Exception:  # noqa: BLE001 -- modules and the like cannot be copied
            copied[name] = value
    return copied


def _namespace_after_prelude(lab, prelude, fresh, run):
    """The namespace the prelude cells leave, run once per (lab, their sources): the same dict each time (the
    functions they define keep it as their globals), reset to a copy of its state right after them."""
    key = (lab, tuple(source for _, _, source in prelude))
    if key not in _PRELUDES:
        namespace = dict(fresh)
        run(prelude, namespace)
        _PRELUDES[key] = (namespace, _copy_of(namespace))
        return namespace
    namespace, pristine = _PRELUDES[key]
    namespace.clear()
    namespace.update(_copy_of(pristine))
    return namespace


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
            def run(some, namespace):
                for grade_id, is_test, source in some:
                    try:
                        exec(compile(replace.get(grade_id, source), f"<{lab}:{grade_id}>", "exec"), namespace)  # noqa: S102
                    except Exception as error:  # noqa: BLE001 -- a failing cell is the result
                        if is_test:
                            failures[grade_id] = f"{type(error).__name__}: {error}"

            cells = cells or source_cells(lab)
            first = _prelude_length(cells, replace)
            run(cells[first:], _namespace_after_prelude(lab, cells[:first], namespace, run))
    finally:
        import matplotlib.pyplot as plt
        plt.close("all")
        if previous is None:
            os.environ.pop("NBGRADER_EXECUTION", None)
        else:
            os.environ["NBGRADER_EXECUTION"] = previous
    return failures


def solution_sources(lab):
    """{grade_id: code} for every solution cell of ``source/<lab>/<lab>.ipynb``, without the solution markers."""
    return {grade_id: "\n".join(line for line in source.splitlines() if "### BEGIN SOLUTION" not in line
                                and "### END SOLUTION" not in line)
            for grade_id, is_test, source in source_cells(lab) if not is_test and "### BEGIN SOLUTION" in source}


def definitions(lab, **replacements):
    """The namespace of the solved notebook's definitions (setup, given and solution cells; no tests, no experiments),
    with some solution cells' code replaced: {grade_id: code}."""
    import matplotlib.pyplot as plt
    namespace = {"__name__": "__main__"}
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            for grade_id, is_test, source in source_cells(lab):
                if not is_test:
                    exec(replacements.get(grade_id, source), namespace)  # noqa: S102
    finally:
        plt.close("all")  # the setup cells' pictures: more than 20 open in one process make matplotlib warn
    return namespace
