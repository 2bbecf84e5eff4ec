"""Sharded grading and the PostgreSQL gradebook, measured side by side in one run on this machine.

1. Two shards of one worker each (`grade --shard 0/2` and `--shard 1/2` at once) against one process
   of two workers (`grade --workers 2`), both into PostgreSQL, the same submissions (default 12 correct
   ones of Lab 1), fresh course copies and databases, alternating.
2. The gradebook's cost per submission, PostgreSQL against SQLite: everything nbgrader's autograde and
   the kit do for a submission except running its notebook (the execute preprocessor is left out), so
   that the difference is the database's, not the kernels' noise. Submissions one after another.

Needs Debian's postgresql package (a throwaway server is started as in the tests, and stopped).

    python benchmarks/bench_shards.py [--submissions 12] [--repeats 2] [--gradebook-submissions 40]
"""
import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

KIT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(KIT), str(KIT / "tests")]

from autograder.course import Course  # noqa: E402
from autograder.demo import scratch_course  # noqa: E402
from autograder.release import release_lab  # noqa: E402
from autograder.submissions import solved, submit  # noqa: E402
from postgres_server import PostgresServer, server_bin  # noqa: E402

LAB = "lab1_initialization"
NO_EXECUTION = "\nc.Autograde.autograde_preprocessors = c.Autograde.autograde_preprocessors[1:]  # no kernel\n"


def prepared(folder: Path, n: int, url: str | None = None, extra_config: str = "") -> Course:
    course = scratch_course(Course(KIT), folder, [LAB])
    with open(course.root / "nbgrader_config.py", "a") as config:
        config.write((f"\nc.CourseDirectory.db_url = {url!r}\n" if url else "") + extra_config)
    assert release_lab(course, LAB) == [], "the release leaks: fix source/ first"
    nb = solved(course, LAB)
    for i in range(n):
        submit(course, f"student{i:03d}", LAB, nb)
    return course


def grade_command(course: Course, *extra: str) -> list[str]:
    return [sys.executable, "-m", "autograder", "--root", str(course.root), "grade", LAB, *extra]


def timed(*commands: list[str]) -> float:
    """Wall time of the commands run at the same time."""
    start = time.perf_counter()
    processes = [subprocess.Popen(c, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) for c in commands]
    for process in processes:
        _, error = process.communicate()
        assert process.returncode == 0, error
    return time.perf_counter() - start


def gradebook_seconds(course: Course) -> list[float]:
    """Seconds per submission of the kit's grading of each submission, without running the notebook."""
    from autograder.grade import grade_submission
    seconds = []
    for student in course.students(LAB):
        start = time.perf_counter()
        outcome = grade_submission(course, LAB, student, sandbox=False)
        seconds.append(time.perf_counter() - start)
        assert outcome.status == "graded", outcome
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--submissions", type=int, default=12)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--gradebook-submissions", type=int, default=40)
    args = parser.parse_args()
    bindir = server_bin()
    if bindir is None:
        sys.exit("PostgreSQL's server is not installed: apt-get install postgresql")
    server = PostgresServer(bindir)
    server.start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            n = args.gradebook_submissions
            sqlite = prepared(tmp / "sqlite", n, extra_config=NO_EXECUTION)
            postgres = prepared(tmp / "postgres", n, server.create_database("gradebook"), NO_EXECUTION)
            sqlite_s, postgres_s = gradebook_seconds(sqlite), gradebook_seconds(postgres)
            print(f"gradebook work per submission: SQLite {1000 * statistics.median(sqlite_s):.0f} ms, "
                  f"PostgreSQL {1000 * statistics.median(postgres_s):.0f} ms", flush=True)
            single, sharded = [], []
            for r in range(args.repeats):
                one = prepared(tmp / f"one{r}", args.submissions, server.create_database(f"one{r}"))
                two = prepared(tmp / f"two{r}", args.submissions, server.create_database(f"two{r}"))
                single.append(timed(grade_command(one, "--workers", "2")))
                sharded.append(timed(grade_command(two, "--shard", "0/2", "--workers", "1"),
                                     grade_command(two, "--shard", "1/2", "--workers", "1")))
                print(f"run {r + 1}: one process, 2 workers: {single[-1]:.1f} s; "
                      f"two shards of 1 worker: {sharded[-1]:.1f} s", flush=True)
    finally:
        server.stop()
    print(f"\n{args.submissions} submissions of {LAB}, {args.repeats} runs each, median wall time:")
    print(f"  one process, --workers 2:       {statistics.median(single):6.1f} s")
    print(f"  two shards, --workers 1 each:   {statistics.median(sharded):6.1f} s "
          f"({statistics.median(sharded) / statistics.median(single):.2f}x)")
    print(f"\nGradebook work per submission (notebook not run), {n} submissions, median:")
    print(f"  SQLite:     {1000 * statistics.median(sqlite_s):6.0f} ms")
    print(f"  PostgreSQL: {1000 * statistics.median(postgres_s):6.0f} ms")


if __name__ == "__main__":
    main()
