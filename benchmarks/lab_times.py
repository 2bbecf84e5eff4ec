"""A lab's two time budgets: the whole notebook in student mode, and one sandboxed grading per submission.

1. student mode: the lab's solved release notebook run top to bottom by nbclient in a plain kernel, as a
   student runs it (no NBGRADER_EXECUTION, so all the experiments at full size), kernel start included;
   it prints the notebook's lines about accuracy, so Lab 6's Adam accuracy on real digits is read here too;
2. grading: a scratch course with the lab released and N solved submissions, graded by ``grade`` with one
   worker in the sandbox (canary first): the canary's time and each submission's.

    python benchmarks/lab_times.py LAB [--submissions 3]

Data come from COURSE_DATA_DIR as in a course (Lab 5: CIFAR-10; Lab 6: MNIST). The load average is
printed before and after: the figures mean little on a busy machine.
"""
import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

KIT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(KIT))

import nbformat  # noqa: E402
from nbclient import NotebookClient  # noqa: E402

from autograder.course import Course  # noqa: E402
from autograder.demo import scratch_course  # noqa: E402
from autograder.grade import grade  # noqa: E402
from autograder.release import release_lab  # noqa: E402
from autograder.submissions import solved, submit  # noqa: E402


def load() -> str:
    return "load average " + " ".join(f"{value:.2f}" for value in os.getloadavg())


def student_mode(lab: str, folder: Path) -> None:
    nb = solved(Course(KIT), lab)
    env = {key: value for key, value in os.environ.items() if key != "NBGRADER_EXECUTION"}
    start = time.perf_counter()
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(folder)}}).execute(
        env=env)
    seconds = time.perf_counter() - start
    errors = [output.ename for cell in nb.cells for output in cell.get("outputs", []) if output.output_type == "error"]
    print(f"student mode: {seconds:.1f} s (kernel start included), errors: {errors or 'none'}")
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            for line in output.get("text", "").splitlines() if output.get("name") == "stdout" else []:
                if "accuracy" in line:
                    print("   ", line.strip())
    nbformat.write(nb, folder / f"{lab}-student-mode.ipynb")


def grading(lab: str, submissions: int, folder: Path) -> None:
    course = scratch_course(Course(KIT), folder / "course", [lab])
    assert release_lab(course, lab) == []
    for i in range(submissions):
        submit(course, f"student{i}", lab, solved(course, lab))
    start = time.perf_counter()
    outcomes = grade(course, lab, workers=1, progress=False, sandbox=True, say=print)
    for outcome in outcomes:
        print(f"  {outcome.student}: {outcome.status}, {outcome.score:g} automatic points, {outcome.seconds:.1f} s")
    print(f"grade (canary and {submissions} submissions, one worker): {time.perf_counter() - start:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("lab")
    parser.add_argument("--submissions", type=int, default=3)
    args = parser.parse_args()
    print(f"{args.lab} on {os.cpu_count()} cores; {load()}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        student_mode(args.lab, Path(tmp))
        print(load(), flush=True)
        grading(args.lab, args.submissions, Path(tmp))
    print(load())


if __name__ == "__main__":
    main()
