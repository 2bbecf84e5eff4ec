"""Peak memory of the grading process when a Lab 1 submission answers the judge with a huge array.

Usage: python benchmarks/bench_answer_memory.py MB [KERNEL_GIB]
Grades, in this process (as one grading worker does), a solved Lab 1 submission whose ``predict``
returns an array of MB megabytes (0: the solved submission unchanged), in the sandbox, and prints
the outcome and this process's peak resident memory (VmHWM). KERNEL_GIB raises the kernel's memory
limit (default: the course's, 2 GiB), so that larger answers can be sent at all.
Run each case in a fresh process: the peak is the process's own.
"""
import copy
import resource
import sys
import tempfile
import time
from pathlib import Path

from nbformat.v4 import new_code_cell

from autograder.course import Course
from autograder.demo import scratch_course
from autograder.grade import ensure_in_gradebook, grade_submission
from autograder.release import release_lab
from autograder.submissions import solved, submit

LAB = "lab1_initialization"


def peak_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main():
    megabytes = int(sys.argv[1])
    course = scratch_course(Course(Path(__file__).resolve().parents[1]), Path(tempfile.mkdtemp()), [LAB])
    if len(sys.argv) > 2:
        with open(course.root / "nbgrader_config.py", "a") as config:
            config.write(f"\nc.SandboxedKernelManager.memory_bytes = {int(sys.argv[2])} * 1024**3\n")
    assert release_lab(course, LAB) == []
    nb = copy.deepcopy(solved(course, LAB))
    if megabytes:
        at = next(i for i, cell in enumerate(nb.cells)
                  if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "test_predict")
        nb.cells.insert(at, new_code_cell(
            "def predict(params, X):\n"
            f"    return np.ones(({megabytes} * 10**6, 1), dtype=np.uint8)"))
    submit(course, "big", LAB, nb)
    ensure_in_gradebook(course, LAB)
    before = peak_mib()
    start = time.perf_counter()
    outcome = grade_submission(course, LAB, "big")
    seconds = time.perf_counter() - start
    print(f"answer {megabytes} MB: {outcome.status}, score {outcome.score}/{outcome.max_score}, {seconds:.1f} s; "
          f"peak RSS {before:.0f} MiB before grading, {peak_mib():.0f} MiB after; detail: {outcome.detail}")


if __name__ == "__main__":
    main()
