"""Grading throughput: ``python -m autograder grade --workers N`` against plain ``nbgrader autograde``.

Both grade the same submissions of a lab (by default 40 correct submissions of Lab 1) in fresh
scratch copies of the course, alternating (plain, ours, plain, ours, ...) in this run so that both
see the same machine; the medians are compared.

    python benchmarks/bench_grading.py [--lab LAB] [--submissions 40] [--workers 2] [--repeats 2]
"""
import argparse
import os
import statistics
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
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    print(f"{args.submissions} submissions of {args.lab}, {os.cpu_count()} cores, both with the course's "
          "nbgrader_config.py (every kernel sandboxed)")
    plain_times, our_times = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for repeat in range(args.repeats):
            plain = prepared_course(Path(tmp) / f"plain{repeat}", args.lab, args.submissions)
            ours = prepared_course(Path(tmp) / f"ours{repeat}", args.lab, args.submissions)
            plain_times.append(timed(["nbgrader", "autograde", args.lab, "--force"], plain.root))
            our_times.append(timed([sys.executable, "-m", "autograder", "grade", args.lab,
                                    "--workers", str(args.workers)], ours.root))
            print(f"run {repeat + 1}: nbgrader autograde {plain_times[-1]:6.1f} s, "
                  f"python -m autograder grade --workers {args.workers} {our_times[-1]:6.1f} s")
    t_plain, t_ours = statistics.median(plain_times), statistics.median(our_times)
    print(f"median: nbgrader autograde (sequential) {t_plain:.1f} s, ours {t_ours:.1f} s, "
          f"speed-up {t_plain / t_ours:.2f}x")


if __name__ == "__main__":
    main()
