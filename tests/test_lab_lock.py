"""One grading run per lab and course at a time (``autograder.lab_lock``).

A second `grade` of a lab that is being graded (an instructor starting it again in another terminal) would
remake the canary's course under the first run's canary, which then failed with a misleading "the lab's own
solution scored 0", and grade the same submissions at the same moment. It is refused at once, saying who
holds the lab, and changes nothing; so are a `release` of it and its `feedback`. Shards of a lab run together, each share once;
a killed run's lock goes with it; the doctor runs beside a grading.
"""
import fcntl
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from nbgrader.api import Gradebook, MissingEntry

from autograder.course import Course, CourseError
from autograder.demo import scratch_course
from autograder.feedback import feedback
from autograder.lab_lock import lab_lock, working_on
from autograder.records import record_path
from autograder.sandbox import sandbox_problem
from autograder.submissions import solved, submit
from released import released_course

KIT = Course(Path(__file__).resolve().parents[1])
LAB1, LAB2 = "lab1_initialization", "lab2_learning_rates"
UNSAFE = [] if sandbox_problem() is None else ["--unsafe-no-sandbox"]
HOLD = """import sys, time
from autograder.course import Course
from autograder.lab_lock import lab_lock
with lab_lock(Course.at(sys.argv[1]), sys.argv[2], "grade"):
    print("held", flush=True)
    time.sleep(600)
"""


@pytest.fixture
def course(tmp_path):
    (tmp_path / "nbgrader_config.py").write_text("")
    return Course(tmp_path)


def test_shards_of_a_lab_grade_together_but_each_share_only_once(course):
    with lab_lock(course, LAB1, "grade", (0, 2)), lab_lock(course, LAB1, "grade", (1, 2)):
        with pytest.raises(CourseError, match=r"Share 0/2 of lab1_initialization is already being graded "
                                              r"\(`grade --shard 0/2`, process \d+ on"):
            with lab_lock(course, LAB1, "grade", (0, 2)):
                pass


def test_a_run_without_shards_and_shards_of_the_same_lab_exclude_each_other(course):
    with lab_lock(course, LAB1, "grade", (1, 3)):
        with pytest.raises(CourseError, match=r"working on lab1_initialization in this course \(`grade --shard`\)"):
            with lab_lock(course, LAB1, "grade"):
                pass
    with lab_lock(course, LAB1, "grade"):
        with pytest.raises(CourseError, match=r"working on lab1_initialization in this course \(`grade`, process"):
            with lab_lock(course, LAB1, "grade", (1, 3)):
                pass
        with lab_lock(course, LAB2, "grade"):  # another lab goes on
            pass
    with lab_lock(course, LAB1, "grade", (1, 3)):  # released when the run ends
        pass


def test_a_lab_being_graded_is_not_released_under_it_nor_graded_while_released(course):
    with lab_lock(course, LAB1, "grade", (0, 2)):
        with pytest.raises(CourseError, match=r"Releasing it now could change its tests while that command uses them"):
            with lab_lock(course, LAB1, "release"):
                pass
    with lab_lock(course, LAB1, "release"):
        with pytest.raises(CourseError, match=r"\(`release`, process \d+ on .*Grading it at the same time would get "
                                              r"in that command's way"):
            with lab_lock(course, LAB1, "grade"):
                pass


def test_no_feedback_is_written_while_a_lab_is_graded_in_shards_nor_graded_while_written(tmp_path):
    course = scratch_course(KIT, tmp_path, [LAB1])
    pages = course.root / "feedback"
    with lab_lock(course, LAB1, "grade", (0, 2)):
        with pytest.raises(CourseError, match=r"\(`grade --shard`\)\. Feedback written now could show grades that "
                                              r"are about to change: wait until it ends"):
            feedback(course, LAB1, allow_pending=True)
    assert not pages.exists()
    with lab_lock(course, LAB1, "feedback"):
        with pytest.raises(CourseError, match=r"\(`feedback`, process \d+ on .*then run grade again"):
            with lab_lock(course, LAB1, "grade", (1, 2)):
                pass


def test_who_works_on_a_lab_is_seen_without_getting_in_the_way_of_a_run_starting(course):
    assert working_on(course, LAB1) == []
    with lab_lock(course, LAB1, "grade", (0, 2)), lab_lock(course, LAB1, "grade", (1, 2)):
        assert [holder.split(",")[0] for holder in working_on(course, LAB1)] == ["`grade --shard 0/2`",
                                                                                 "`grade --shard 1/2`"]
        assert working_on(course, LAB2) == []
    assert working_on(course, LAB1) == []  # their names are gone with them
    lab_file = course.root / ".autograder" / "locks" / f"{LAB1}.lock"
    lab_file.write_text("`grade`, process 1 on a machine that crashed")  # a killed run's name stays
    looking = open(lab_file)
    fcntl.flock(looking, fcntl.LOCK_SH)  # a look as the run starts, let go of a moment later
    threading.Timer(0.05, looking.close).start()
    with lab_lock(course, LAB1, "grade"):
        assert working_on(course, LAB1)[0].startswith("`grade`, process ")


def test_a_failed_run_releases_its_lock(course):
    with pytest.raises(RuntimeError):
        with lab_lock(course, LAB1, "grade"):
            raise RuntimeError("the canary failed")
    with lab_lock(course, LAB1, "grade"):
        pass


def command(course, *args):
    """The command line of ``args``; grade and doctor without the sandbox where none is possible."""
    unsafe = UNSAFE if args[0] in ("grade", "doctor") else []
    return [sys.executable, "-m", "autograder", "--root", str(course.root), *args, *unsafe]


@pytest.mark.slow
def test_a_second_grade_of_a_lab_is_refused_at_once_and_changes_nothing(tmp_path):
    course = released_course(KIT, tmp_path / "course", [LAB1])  # a copy of the process's one release of the lab
    submit(course, "ana", LAB1, solved(course, LAB1))
    canary = course.root / ".autograder" / "canary"  # release made the lab's canary course

    def canary_files():
        return {path: path.stat().st_mtime_ns for path in canary.rglob("*")}

    before = canary_files()
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(course.root), LAB1], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        second = subprocess.run(command(course, "grade", LAB1), capture_output=True, text=True, timeout=120)
        assert second.returncode == 2, second.stderr
        assert f"working on lab1_initialization in this course (`grade`, process {holder.pid} on" in second.stderr
        assert "wait until it ends" in second.stderr and "--shard K/N" in second.stderr
        release = subprocess.run(command(course, "release", LAB1), capture_output=True, text=True, timeout=120)
        assert release.returncode == 2, release.stderr
        assert "could change its tests while that command uses them" in release.stderr
        assert not record_path(course, LAB1, "ana").exists()
        assert before and canary_files() == before, "the running grade's canary course was touched"
        with Gradebook(course.db_url()) as gb:
            with pytest.raises(MissingEntry):
                gb.find_submission(LAB1, "ana")

        for table in (["export"], ["report", LAB1]):  # they run beside it, and say the grades are not final
            shown = subprocess.run(command(course, *table), capture_output=True, text=True, timeout=120)
            assert shown.returncode == 0 and (f"warning: lab1_initialization is being graded right now (`grade`, "
                                              f"process {holder.pid} on") in shown.stderr, shown.stderr
        doctor = subprocess.run(command(course, "doctor", LAB1), capture_output=True, text=True, timeout=300)
        assert doctor.returncode == 0 and "[ok] score 13 / 13" in doctor.stdout, doctor.stdout + doctor.stderr
        assert canary_files() == before, "the doctor used grade's canary course"
    finally:
        holder.kill()  # as a run cut off by a lost connection or `kill -9`
        holder.wait()
        holder.stdout.close()
    exported = subprocess.run(command(course, "export"), capture_output=True, text=True, timeout=120)
    assert exported.returncode == 0 and "being graded" not in exported.stderr, "a killed run's name left in its lock"
    assert "warning: 1 submission is not graded yet (lab1_initialization: 1)" in exported.stderr  # ana's
    ana = (course.root / "grades.csv").read_text().splitlines()[1].split(",")
    assert ana[:2] == ["ana", LAB1] and ana[-3:] == ["0", "21", "not_graded"]  # out of the lab's points, as any row
    graded = subprocess.run(command(course, "grade", LAB1, "--skip-canary"), capture_output=True, text=True,
                            timeout=300)
    assert graded.returncode == 0, graded.stdout + graded.stderr
    assert "ana" in graded.stdout and "graded" in graded.stdout


NO_LOCKS = """import sys
from autograder.course import Course
from autograder.lab_lock import lab_lock, working_on
course = Course.at(sys.argv[1])
with lab_lock(course, sys.argv[2], "release"):
    print("released; working on it:", working_on(course, sys.argv[2]), flush=True)
"""


@pytest.mark.skipif(shutil.which("strace") is None, reason="needs strace, to make flock fail as on NFS without locks")
def test_a_course_on_a_filesystem_without_locks_is_warned_about_and_the_command_runs(course):
    """NFS without its lock service answers every flock with ENOLCK: the command runs, saying that nothing keeps a
    second one out, and ``export`` looks for who grades the lab without a traceback. strace makes the kernel fail
    this process's flock calls so."""
    result = subprocess.run(["strace", "-f", "-qq", "-o", "/dev/null", "-e", "trace=flock", "-e",
                             "inject=flock:error=ENOLCK", sys.executable, "-c", NO_LOCKS, str(course.root), LAB1],
                            capture_output=True, text=True)
    if result.stderr.startswith("strace:"):  # e.g. ptrace is not allowed in this container
        pytest.skip(f"strace cannot trace here: {result.stderr.strip()}")
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    assert result.stdout == "released; working on it: []\n"
    assert result.stderr == (
        f"warning: the course folder's filesystem has no file locks (No locks available: {course.root}/.autograder/"
        f"locks/{LAB1}.lock), so nothing keeps another command from working on this lab at the same time: run one "
        "command at a time on it, or move the course to a local disk.\n")
