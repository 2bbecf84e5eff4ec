"""Runaway code costs little: endless loops against per-cell limits calibrated by the canary.

Two measurements, side by side in one run on this machine, each a whole ``python -m autograder grade``
(canary included, sandboxed, ``--workers 2``) of a fresh scratch copy of Lab 1:

1. one submission whose every graded function loops forever: its grading time (status, score);
2. 20 correct submissions alone, then the same 20 plus 2 of the looping ones (alternating, ``--repeats``
   times); the ratio of the medians.

    python benchmarks/bench_runaway.py [--correct 20] [--loops 2] [--repeats 2]
"""
import argparse
import json
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
from autograder.submissions import every_function_loops, solved, submit  # noqa: E402

LAB = "lab1_initialization"


def course_with(folder: Path, correct: int, loops: int) -> Course:
    course = scratch_course(Course(KIT), folder, [LAB])
    assert release_lab(course, LAB) == [], "the release leaks: fix source/ first"
    good = solved(course, LAB)
    for i in range(correct):
        submit(course, f"correct{i:03d}", LAB, good)
    for i in range(loops):
        submit(course, f"loops{i}", LAB, every_function_loops(good))
    return course


def graded(course: Course) -> float:
    """Seconds of one whole grading run, from the command line."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "autograder", "--root", str(course.root), "grade", LAB, "--workers", "2"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--correct", type=int, default=20)
    parser.add_argument("--loops", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    print(f"{LAB}, {os.cpu_count()} cores, --workers 2, sandboxed, canary included")
    with tempfile.TemporaryDirectory() as tmp:
        alone = course_with(Path(tmp) / "alone", 0, 1)
        seconds = graded(alone)
        record = json.loads((alone.records_dir / LAB / "loops0.json").read_text())
        print(f"1. every graded function loops forever: whole run {seconds:.1f} s, its own grading "
              f"{record['seconds']:.1f} s, status {record['status']}, score {record['score']:g} / {record['max_score']:g}")
        without, with_loops = [], []
        for repeat in range(args.repeats):
            without.append(graded(course_with(Path(tmp) / f"without{repeat}", args.correct, 0)))
            with_loops.append(graded(course_with(Path(tmp) / f"with{repeat}", args.correct, args.loops)))
            print(f"   run {repeat + 1}: {args.correct} correct {without[-1]:.1f} s; "
                  f"with {args.loops} endless loops {with_loops[-1]:.1f} s")
    ratio = statistics.median(with_loops) / statistics.median(without)
    print(f"2. {args.correct} correct + {args.loops} endless loops / {args.correct} correct alone: "
          f"{statistics.median(with_loops):.1f} s / {statistics.median(without):.1f} s = {ratio:.2f}x")


if __name__ == "__main__":
    main()
