"""Where one grading's time goes, phase by phase: ``python benchmarks/profile_grading.py [LAB ...] [--runs 2]``.

Grades a solved submission of each lab in this process (sandboxed, judge on, as ``grade`` does in a
worker), with timers around nbgrader's and the kit's steps, and prints one table per lab. Alongside,
the same notebook's cells run in a plain kernel (no sandbox, no nbgrader, hidden tests in the kernel):
the notebook's own execution time, which the grading cannot go below.
"""
import argparse
import functools
import inspect
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

KIT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(KIT))

import nbformat  # noqa: E402
from nbgrader.converters import Autograde  # noqa: E402
from nbgrader.preprocessors import (ClearOutput, OverwriteCells, OverwriteKernelspec, SaveAutoGrades,  # noqa: E402
                                    CheckCellMetadata)

from bench_grading import run_plain, stage_data, stock_notebook  # noqa: E402

from autograder import grade as grading  # noqa: E402
from autograder.course import Course  # noqa: E402
from autograder.demo import scratch_course  # noqa: E402
from autograder.judge import remote  # noqa: E402
from autograder.preprocessors import SandboxedExecute  # noqa: E402
from autograder.release import release_lab  # noqa: E402
from autograder.sandbox import SandboxedKernelManager, font_list  # noqa: E402
from autograder.submissions import solved, submit  # noqa: E402

PHASES = {  # phase name -> (owner, attribute) timed on every call
    "nbgrader: setting up the submission in the gradebook": (Autograde, "init_assignment"),
    "sanitize: clear outputs": (ClearOutput, "preprocess"),
    "sanitize: restore locked and test cells (gradebook)": (OverwriteCells, "preprocess"),
    "sanitize: kernelspec, cell metadata": (OverwriteKernelspec, "preprocess"),
    "check cell metadata (twice)": (CheckCellMetadata, "preprocess"),
    "execute: start the sandboxed kernel": (SandboxedKernelManager, "start_kernel"),
    "execute: wait until the kernel answers": (SandboxedExecute, "start_new_kernel_client"),
    "execute: all cells (visible parts and judge)": (SandboxedExecute, "preprocess_cell"),
    "execute: the judge's hidden checks": (SandboxedExecute, "_judge"),
    "execute: stop the kernel": (SandboxedKernelManager, "shutdown_kernel"),
    "save grades (gradebook)": (SaveAutoGrades, "preprocess"),
    "read notebooks": (nbformat, "read"),
    "write notebooks": (nbformat, "write"),
    "status and detail (findings)": (grading, "what_happened"),
    "scores (gradebook)": (grading, "_scores"),
}
ROUND_TRIPS = (remote.KernelSession, "_say")


def timed(owner, name, totals, counts):
    original = getattr(owner, name)
    if hasattr(original, "__wrapped_by_profile__"):
        return

    if inspect.iscoroutinefunction(original):
        @functools.wraps(original)
        async def wrapper(*args, **kwargs):
            start = time.perf_counter()
            try:
                return await original(*args, **kwargs)
            finally:
                totals[(owner, name)] += time.perf_counter() - start
                counts[(owner, name)] += 1
    else:
        @functools.wraps(original)
        def wrapper(*args, **kwargs):
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                totals[(owner, name)] += time.perf_counter() - start
                counts[(owner, name)] += 1
    wrapper.__wrapped_by_profile__ = True
    setattr(owner, name, wrapper)


def plain_run(course: Course, lab: str) -> float:
    """Seconds to run the solved notebook's cells (hidden tests included) in a plain kernel."""
    nb = stock_notebook(nbformat.read(course.source_notebook(lab), as_version=4), solved(course, lab))
    start = time.perf_counter()
    run_plain(nb, course.release_notebook(lab).parent)
    return time.perf_counter() - start


TOTALS, COUNTS = defaultdict(float), defaultdict(int)  # by (owner, name); the timers, once in place, add here


def profile(lab: str, runs: int) -> None:
    totals, counts = TOTALS, COUNTS
    for owner, name in [*PHASES.values(), ROUND_TRIPS]:
        timed(owner, name, totals, counts)
    with tempfile.TemporaryDirectory() as tmp:
        stage_data([lab], Path(tmp))
        course = scratch_course(Course(KIT), Path(tmp) / "course", [lab])
        assert release_lab(course, lab) == []
        for run in range(runs):
            submit(course, f"s{run}", lab, solved(course, lab))
        grading.ensure_in_gradebook(course, lab)
        font_list()  # built once per grading run, before its first kernel, as grade() does
        wall = 0.0
        for run in range(runs):
            start = time.perf_counter()
            outcome = grading.grade_submission(course, lab, f"s{run}", True)
            wall += time.perf_counter() - start
            assert outcome.status == "graded" and outcome.score > 0, outcome
        plain = sum(plain_run(course, lab) for _ in range(runs)) / runs
    print(f"\n{lab}: one solved submission, sandboxed, judge on (mean of {runs})")
    print(f"  {'whole grading (grade_submission)':58s} {wall / runs:7.2f} s")
    for phase, key in PHASES.items():
        print(f"  {phase:58s} {totals[key] / runs:7.2f} s  ({counts[key] / runs:g} calls)")
    print(f"  {'  of which judge round trips to the kernel':58s} {totals[ROUND_TRIPS] / runs:7.2f} s  "
          f"({counts[ROUND_TRIPS] / runs:g} round trips)")
    print(f"  {'the same cells in a plain kernel (no sandbox, no nbgrader)':58s} {plain:7.2f} s")
    for key in [*PHASES.values(), ROUND_TRIPS]:
        totals[key], counts[key] = 0.0, 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("labs", nargs="*", default=["lab1_initialization", "lab5_cifar10_mlp"])
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    for lab in args.labs:
        profile(lab, args.runs)


if __name__ == "__main__":
    main()
