"""Grading throughput: ``python -m autograder grade --workers N`` against plain ``nbgrader autograde``.

Both grade the same submissions of a lab (by default 40 correct submissions of Lab 1) in two
scratch copies of the course, one after the other in this run, so they see the same machine.

    python benchmarks/bench_grading.py [--lab LAB] [--submissions 40] [--workers 2]
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

KIT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(KIT))

from autograder.course import Course  # noqa: E402
from autograder.demo import scratch_course  # noqa: E402
from autograder.release import release_lab  # noqa: E402
from autograder.submissions import solved, submit  # noqa: E402


def prepared_course(folder: Path, lab: str, n: int) -> Course:
    course = scratch_course(Course(KIT), folder, [lab])
    assert release_lab(course, lab) == [], "the release leaks: fix source/ first"
    nb = solved(course, lab)
    for i in range(n):
        submit(course, f"student{i:03d}", lab, nb)
    return course


def timed(command, cwd) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lab", default="lab1_initialization")
    parser.add_argument("--submissions", type=int, default=40)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        ours = prepared_course(Path(tmp) / "ours", args.lab, args.submissions)
        plain = prepared_course(Path(tmp) / "plain", args.lab, args.submissions)
        print(f"{args.submissions} submissions of {args.lab}, {os.cpu_count()} cores")
        t_plain = timed(["nbgrader", "autograde", args.lab, "--force"], plain.root)
        print(f"nbgrader autograde (sequential):     {t_plain:7.1f} s")
        t_ours = timed([sys.executable, "-m", "autograder", "grade", args.lab, "--workers", str(args.workers)],
                       ours.root)
        print(f"python -m autograder grade --workers {args.workers}: {t_ours:7.1f} s")
        print(f"speed-up: {t_plain / t_ours:.2f}x")


if __name__ == "__main__":
    main()
