"""Grading time with the judge against hidden tests run in the kernel, for solved submissions of one lab.

Usage: python benchmarks/bench_judge.py LAB N (N solved submissions, 2 workers, sandboxed, best of 2 each).
"""
import sys
import tempfile
import time
from pathlib import Path
import autograder
from autograder.course import Course
from autograder.demo import scratch_course
from autograder.grade import grade
from autograder.release import release_lab
from autograder.submissions import solved, submit

IN_KERNEL = f"""
c.SandboxedExecute.judge = False
c.SandboxedKernelManager.blocked_packages = []
c.SandboxedKernelManager.readonly_paths = [{autograder.__path__[0]!r}]
"""

def run(lab, n, in_kernel):
    course = scratch_course(Course(Path(__file__).resolve().parents[1]), Path(tempfile.mkdtemp()), [lab])
    if in_kernel:
        with open(course.root / "nbgrader_config.py", "a") as f:
            f.write(IN_KERNEL)
    assert release_lab(course, lab) == []
    for i in range(n):
        submit(course, f"s{i}", lab, solved(course, lab))
    start = time.perf_counter()
    outcomes = list(grade(course, lab, workers=2, progress=False))
    seconds = time.perf_counter() - start
    assert all(o.status == "graded" and o.score == outcomes[0].score for o in outcomes), outcomes
    return seconds, outcomes[0].score

def main():
    lab, n = sys.argv[1], int(sys.argv[2])
    results = {True: [], False: []}
    for _ in range(2):
        for in_kernel in (True, False):
            seconds, score = run(lab, n, in_kernel)
            results[in_kernel].append(seconds)
            print(lab, "in kernel" if in_kernel else "judge", f"{seconds:.1f} s", "score", score, flush=True)
    a, b = min(results[False]), min(results[True])
    print(f"{lab}: judge {a:.1f} s, in-kernel {b:.1f} s for {n} submissions, ratio {a / b:.2f}")

if __name__ == "__main__":
    main()
