"""The canary: a broken grading environment stops grading, with the cause and the fix, before any grade is written.

Real nbgrader, real sandboxed kernels, real command lines, in scratch copies of the course set up as an
instructor's would be: data not staged, the kit not installed where the kernels can see it.
"""
import copy
import csv
import io
import json
import os
import platform
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook, MissingEntry

from autograder import canary
from autograder.capacity import default_workers, usable_cores
from autograder.course import CONFIG_FILE, Course, install_command
from autograder.demo import scratch_course
from autograder.feedback import feedback, visible_text
from autograder.findings import noted_times
from autograder.grade import grade
from autograder.records import Status, load_record
from autograder.release import release_lab
from autograder.report import report
from autograder.sandbox import sandbox_problem
from autograder.submissions import every_function_loops, solved, submit, untouched
from released import released_course

KIT = Course(Path(__file__).resolve().parents[1])
LAB1, LAB5 = "lab1_initialization", "lab5_cifar10_mlp"
SANDBOX = sandbox_problem() is None
pytestmark = pytest.mark.slow


def released(tmp_path, lab):
    return released_course(KIT, tmp_path / "course", [lab])  # a copy of the process's one release of the lab


def command(course, *args):
    unsafe = [] if SANDBOX else ["--unsafe-no-sandbox"]
    return [sys.executable, "-m", "autograder", "--root", str(course.root), *args, *unsafe]


def submissions_in_gradebook(course, lab):
    with Gradebook(course.db_url()) as gb:
        try:
            return [s.student.id for s in gb.find_assignment(lab).submissions]
        except MissingEntry:
            return []


def test_lab5_without_its_data_grades_nothing_and_says_how_to_stage_it(tmp_path):
    course = released(tmp_path, LAB5)
    submit(course, "alice", LAB5, solved(course, LAB5))
    env = {k: v for k, v in os.environ.items() if k != "COURSE_DATA_DIR"}  # the grading server forgot it
    result = subprocess.run(command(course, "grade", LAB5), capture_output=True, text=True, env=env)
    assert result.returncode == 1, result.stdout + result.stderr
    assert ("the canary failed. Nothing was graded and the gradebook is unchanged. The lab's own solution"
            in result.stderr)
    # the solution's graded functions need no data, so it is the cells that load and use it that fail
    assert "some of its cells failed: cell" in result.stderr and "ConnectionError" in result.stderr
    assert "needs CIFAR-10" in result.stderr and "COURSE_DATA_DIR is not set" in result.stderr
    assert "cifar-10-python.tar.gz" in result.stderr
    assert load_record(course, LAB5, "alice") is None
    assert submissions_in_gradebook(course, LAB5) == []
    # doctor says the same, alone
    report = subprocess.run(command(course, "doctor", LAB5), capture_output=True, text=True, env=env)
    assert report.returncode == 1 and "needs CIFAR-10" in report.stdout
    # each line's mark is about what it says: the score was full, the cells that failed are the problem
    assert re.search(r"\[ok\] score (\d+) / \1 automatic points", report.stdout), report.stdout
    assert "[PROBLEM] The lab's own solution scored full marks in the grading sandbox, but some of its cells failed" \
        in report.stdout, report.stdout
    assert "nothing was graded" not in report.stdout.lower()  # the doctor grades nothing: it says only what it found


def test_lab5_with_a_damaged_archive_grades_nothing_and_says_what_is_wrong_with_it(tmp_path):
    course = released(tmp_path, LAB5)
    submit(course, "alice", LAB5, solved(course, LAB5))
    data = tmp_path / "data"
    data.mkdir()
    (data / "cifar-10-python.tar.gz").write_bytes(os.urandom(100_000))  # an upload that went wrong
    data.chmod(0o755)
    env = {**os.environ, "COURSE_DATA_DIR": str(data)}
    result = subprocess.run(command(course, "grade", LAB5), capture_output=True, text=True, env=env)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Nothing was graded" in result.stderr
    assert f"The lab's data set is there, but damaged: {data / 'cifar-10-python.tar.gz'} is truncated or damaged " \
           f"(ReadError: " in result.stderr
    assert f"(Graded kernels read it from COURSE_DATA_DIR, {data}.) Put an intact copy there" in result.stderr
    assert "graded kernels have no internet" not in result.stderr  # on old code: put the archive... where it is
    assert load_record(course, LAB5, "alice") is None


@pytest.mark.skipif(not SANDBOX, reason="needs bubblewrap: without a sandbox, kernels see every folder on disk")
def test_a_kit_that_graded_kernels_cannot_import_stops_grading_and_names_the_fix(tmp_path):
    """An instructor runs `python -m autograder` inside a second copy of the kit, never installed there: the
    grader imports that copy from the current folder, graded kernels import only installed packages."""
    copy_root = tmp_path / "elsewhere"  # a second, complete copy of the kit
    shutil.copytree(KIT.root, copy_root, ignore=shutil.ignore_patterns(
        ".git", "submitted", "autograded", "feedback", ".autograder", "gradebook.db", "__pycache__", "*.egg-info"))
    course = Course(copy_root)
    submit(course, "alice", LAB1, solved(course, LAB1))
    # graded kernels would import the installed kit (this checkout), which the sandbox does not show them
    assert not str(KIT.root).startswith(str(copy_root))
    released = subprocess.run(command(course, "release", LAB1), capture_output=True, text=True, cwd=copy_root)
    assert released.returncode == 0, released.stdout + released.stderr  # grade refuses an unreleased lab
    result = subprocess.run(command(course, "grade", LAB1), capture_output=True, text=True, cwd=copy_root)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "course_utils cannot be imported by graded kernels" in result.stderr
    assert install_command(copy_root) in result.stderr
    assert load_record(course, LAB1, "alice") is None
    assert submissions_in_gradebook(course, LAB1) == []


def test_a_kit_whose_code_differs_from_the_courses_own_grades_nothing_and_names_the_files(tmp_path):
    """An instructor edits a hidden check in the course, then grades with `--root` from another folder: the
    command runs the installed kit (this checkout), whose checks are not the course's."""
    copy_root = tmp_path / "course"
    shutil.copytree(KIT.root, copy_root, ignore=shutil.ignore_patterns(
        ".git", "submitted", "autograded", "feedback", ".autograder", "gradebook.db", "__pycache__", "*.egg-info"))
    with open(copy_root / "autograder" / "hidden" / "lab1.py", "a") as checks:
        checks.write("\n# the instructor's stricter check of predict would go here\n")
    course = Course(copy_root)
    elsewhere = tmp_path / "home"
    elsewhere.mkdir()
    refused = subprocess.run([sys.executable, "-m", "autograder", "--root", str(copy_root), "release", LAB1],
                             capture_output=True, text=True, cwd=elsewhere)  # another kit's code would write release/
    assert refused.returncode == 2 and "Nothing was released: this command runs the kit from" in refused.stderr, \
        refused.stdout + refused.stderr
    assert not (copy_root / "gradebook.db").exists()
    released = subprocess.run([sys.executable, "-m", "autograder", "release", LAB1],  # the course's own kit
                              capture_output=True, text=True, cwd=copy_root)
    assert released.returncode == 0, released.stdout + released.stderr
    submit(course, "alice", LAB1, solved(course, LAB1))
    result = subprocess.run(command(course, "grade", LAB1), capture_output=True, text=True, cwd=elsewhere)
    assert result.returncode == 2, result.stdout + result.stderr
    assert (f"Nothing was graded: this command runs the kit from {KIT.root / 'autograder'}, not this course's own "
            f"autograder/ ({copy_root / 'autograder'}), and their files differ (hidden/lab1.py)") in result.stderr
    assert install_command(copy_root) in result.stderr and "Traceback" not in result.stderr
    assert load_record(course, LAB1, "alice") is None
    assert submissions_in_gradebook(course, LAB1) == []
    report = subprocess.run(command(course, "doctor"), capture_output=True, text=True, cwd=elsewhere)
    assert report.returncode == 1, report.stdout + report.stderr
    assert "[PROBLEM] This command runs the kit from" in report.stdout and "(hidden/lab1.py)" in report.stdout
    # started inside another copy of the kit (here: the installed one), python -m imports that copy first, whatever is
    # installed: the advice is where to run the command from, and followed, it runs the course's own kit (whose
    # kernels then ask for the install, which the tests' environment cannot take)
    inside = subprocess.run(command(course, "doctor"), capture_output=True, text=True, cwd=KIT.root)
    assert inside.returncode == 1, inside.stdout + inside.stderr
    assert (f"`python -m` imports the kit of the folder it is started in ({KIT.root}) before the installed one: run "
            f"the command from the course root (cd {shlex.quote(str(copy_root))}), with the kit installed from there "
            f"({install_command(copy_root)}) if it is not yet.") in inside.stdout, inside.stdout
    advised = subprocess.run(command(course, "doctor"), capture_output=True, text=True, cwd=copy_root)
    assert "This command runs the kit from" not in advised.stdout and \
        f"course_utils from {copy_root / 'course_utils'}" in advised.stdout, advised.stdout + advised.stderr


def test_graded_kernels_importing_another_course_utils_than_the_course_s_own_is_named(tmp_path):
    """As the environment probe reports a kit installed without -e from another clone: graded kernels import
    that copy's course_utils, the grader the course's own."""
    other = tmp_path / "site-packages" / "course_utils"
    shutil.copytree(KIT.root / "course_utils", other, ignore=shutil.ignore_patterns("__pycache__"))
    env = {"grader_course_utils": str(KIT.root / "course_utils"), "course_utils": str(other)}
    assert canary.foreign_code(KIT, env) is None  # the same files: a copy installed from this very version
    (other / "gradcheck.py").write_text((other / "gradcheck.py").read_text() + "\nGRADIENT_TOLERANCE = 1e-4\n")
    (other / "extra.py").write_text("")
    problem = canary.foreign_code(KIT, env)
    assert problem == (f"graded kernels import course_utils from {other}, not this course's own course_utils/ "
                       f"({KIT.root / 'course_utils'}), and their files differ (extra.py, gradcheck.py): the course's "
                       f"own version would not be what grades. Install the kit from this course root "
                       f"({install_command(KIT.root)}), then run the command again.")


def test_a_healthy_server_passes_the_doctor_with_time_and_memory(tmp_path):
    course = released(tmp_path, LAB1)
    report = subprocess.run(command(course, "doctor", LAB1), capture_output=True, text=True)
    assert report.returncode == 0, report.stdout + report.stderr
    assert "[ok] graded kernels import course_utils from" in report.stdout
    assert "[ok] score 13 / 13 automatic points" in report.stdout
    assert "memory: the kernel's peak was" in report.stdout and "ready to grade" in report.stdout
    assert "[ok] formgrader: shows students' Markdown and HTML outputs cleaned of scripts" in report.stdout
    assert "[info] sandbox: memfd_create and shmget fail in graded kernels (a seccomp filter)" in report.stdout \
        or platform.machine() not in ("x86_64", "aarch64") or not SANDBOX
    assert f"capacity: grade runs {default_workers(2 * 1024 ** 3)} notebook(s) side by side by default " \
           f"({usable_cores()} usable core(s), " in report.stdout


def test_a_data_folder_graded_kernels_cannot_read_is_a_problem_for_the_doctor(tmp_path):
    """COURSE_DATA_DIR set to a folder that is not there (a typo, a share not mounted yet): Labs 5 and 6 would fail
    at grading time, so the doctor does not call the server ready."""
    course = released(tmp_path, LAB1)
    missing = tmp_path / "datos del curso"
    env = {**os.environ, "COURSE_DATA_DIR": str(missing)}
    report = subprocess.run(command(course, "doctor"), capture_output=True, text=True, env=env)
    assert report.returncode == 1, report.stdout + report.stderr
    assert (f"[PROBLEM] data: COURSE_DATA_DIR={missing}, which graded kernels cannot read (FileNotFoundError: No "
            "such file or directory): set it to the folder that holds the staged data sets, readable by every user, "
            "or unset it") in report.stdout and "ready to grade" not in report.stdout, report.stdout
    missing.mkdir()
    report = subprocess.run(command(course, "doctor"), capture_output=True, text=True, env=env)
    assert report.returncode == 0 and f"[info] data: COURSE_DATA_DIR={missing}; graded kernels see: nothing" in \
        report.stdout, report.stdout + report.stderr


def test_a_configuration_without_the_formgraders_cleaning_is_a_problem_for_the_doctor(tmp_path):
    """An nbgrader_config.py written before the formgrader was made to clean what it shows, or from scratch."""
    course = released(tmp_path, LAB1)
    config = course.root / CONFIG_FILE
    config.write_text(config.read_text().replace("c.HTMLExporter.sanitize_html = True", ""))
    report = subprocess.run(command(course, "doctor"), capture_output=True, text=True)
    assert report.returncode == 1, report.stdout + report.stderr
    assert (f"[PROBLEM] formgrader: {CONFIG_FILE} does not clean what the formgrader shows of a submission, so a "
            "script in a student's written answer would run in your Jupyter session, with your rights, when you grade "
            f"it: copy the HTMLExporter lines of the kit's {CONFIG_FILE} into yours") in report.stdout, report.stdout
    typo = '\nc.HTMLExporter.filters = {"markdown2html": "autograder.no_such.filter"}\n'
    config.write_text(config.read_text() + typo)
    report = subprocess.run(command(course, "doctor"), capture_output=True, text=True)  # a problem, said
    said = ("[PROBLEM] formgrader: it cannot render a submission here (ModuleNotFoundError: No module named "
            "'autograder.no_such')")
    assert report.returncode == 1 and said in report.stdout, report.stdout + report.stderr


def test_releasing_a_lab_makes_its_canary_course_so_that_its_first_grading_need_not(tmp_path):
    course = scratch_course(KIT, tmp_path / "course", [LAB1])
    assert release_lab(course, LAB1) == []  # this course's own release
    made = course.root / ".autograder" / "canary" / LAB1 / "made-from.sha256"
    assert made.is_file()
    key, when = made.read_text(), made.stat().st_mtime_ns
    submit(course, "alice", LAB1, solved(course, LAB1))
    said = []
    [alice] = grade(course, LAB1, workers=1, progress=False, sandbox=SANDBOX, say=said.append)
    assert "full marks (13 / 13)" in said[0] and alice.status == Status.GRADED and alice.score == 13
    assert made.stat().st_mtime_ns == when  # graded in the course release made, not made again
    source = nbformat.read(course.source_notebook(LAB1), as_version=4)
    source.cells[0].source += "\n\nA sentence added after the first release."
    nbformat.write(source, course.source_notebook(LAB1))
    assert release_lab(course, LAB1) == []
    assert made.read_text() != key  # made again from the new source


def test_a_release_is_not_stopped_by_a_canary_folder_it_cannot_make(tmp_path):
    course = scratch_course(KIT, tmp_path / "course", [LAB1])
    (course.root / ".autograder" / "canary").mkdir(parents=True)
    (course.root / ".autograder" / "canary" / LAB1).write_text("")  # in its way (as would be one left by root)
    result = subprocess.run([sys.executable, "-m", "autograder", "--root", str(course.root), "release", LAB1],
                            capture_output=True, text=True)
    assert result.returncode == 0 and "released to release/" in result.stdout, result.stdout + result.stderr
    assert course.release_notebook(LAB1).is_file()


def limits_of_stopped_cells(outcome):
    """The time limits (s) of the cells the grader stopped, in notebook order, from an outcome's detail."""
    parts = [part for part in outcome.detail.split("; ") if "was stopped at its time limit" in part]
    return [float(part.rsplit("(", 1)[1].removesuffix(" s)")) for part in parts]


def test_runaway_code_is_stopped_at_limits_calibrated_by_the_canary(tmp_path):
    course = released(tmp_path, LAB1)
    config = course.root / CONFIG_FILE
    config.write_text(config.read_text() + "\nc.SandboxedExecute.time_floor = 3\n"
                      "c.SandboxedExecute.time_floor_after_stop = 2\nc.SandboxedExecute.iopub_timeout = 10\n")
    good = solved(course, LAB1)
    submit(course, "honest", LAB1, good)
    submit(course, "loops", LAB1, every_function_loops(good))
    stuck = copy.deepcopy(good)
    stuck.cells.insert(1, nbformat.v4.new_code_cell("while True:\n    pass"))
    submit(course, "stuck_once", LAB1, stuck)
    stubborn = copy.deepcopy(good)  # a loop that swallows the interrupt, after every test: before, a grading error
    stubborn.cells.append(nbformat.v4.new_code_cell("import time\nwhile True:\n    try:\n        time.sleep(1)\n"
                                                     "    except:\n        pass"))
    submit(course, "stubborn", LAB1, stubborn)
    said = []
    outcomes = {o.student: o for o in grade(course, LAB1, workers=2, progress=False, sandbox=SANDBOX, say=said.append)}
    assert said and "full marks (13 / 13)" in said[0] and "10x its time in the canary, at least 3 s" in said[0]
    assert outcomes["honest"].status == Status.GRADED and outcomes["honest"].score == 13
    slowest = max(noted_times(nbformat.read(
        course.root / ".autograder/canary" / LAB1 / "autograded/canary" / LAB1 / f"{LAB1}.ipynb", as_version=4)).values())
    loops = outcomes["loops"]
    assert loops.status == Status.TIMEOUT and loops.score < 13
    first, *later = limits_of_stopped_cells(loops)
    assert len(later) >= 2
    # limits come from the canary's times, far below the configured 300 s; after a stop, shorter still
    assert 3 <= first <= max(3, 10 * slowest) + 0.01
    assert all(2 <= limit <= max(2, 3 * slowest) + 0.01 for limit in later) and 2 in later
    # an endless loop in a cell of the student's own is stopped; the tests after it keep their points
    # (the second cell, as JupyterLab numbers it)
    assert outcomes["stuck_once"].status == Status.TIMEOUT
    assert "cell 2 was stopped at its time limit" in outcomes["stuck_once"].detail
    assert outcomes["stuck_once"].score == 13
    stubborn = outcomes["stubborn"]  # its kernel is stopped; what ran before still counts
    assert stubborn.status == Status.TIMEOUT and stubborn.score == 13, (stubborn.status, stubborn.detail)
    assert f"cell {len(good.cells) + 1} was stopped at its time limit" in stubborn.detail, stubborn.detail
    # the student reads that their code ran out of time, not the KeyboardInterrupt that stopped it
    feedback(course, LAB1, allow_pending=True)
    page = (course.feedback_dir("loops", LAB1) / f"{LAB1}.html").read_text()
    assert "Your code ran out of time: this cell was stopped at its time limit (" in page
    assert "The test stopped with an error: KeyboardInterrupt" not in page
    assert "The test stopped with an error: CellTimeoutError" not in page
    # the loop in a cell of the student's own is named above the summary, where every test passed
    page = visible_text((course.feedback_dir("stuck_once", LAB1) / f"{LAB1}.html").read_text())
    # the item report counts the stops as such, not as the KeyboardInterrupt that stopped them
    _, table, _ = report(course, LAB1, tmp_path / "report")
    failures = " | ".join(row["top_failures"] for row in csv.DictReader(io.StringIO(table.read_text())))
    assert "1x stopped at its time limit" in failures and "KeyboardInterrupt" not in failures, failures
    notes = page[page.index("What the grader saw while it ran your notebook:"):page.index("Summary")]  # old code: none
    assert "Cell 2: Your code ran out of time: this cell was stopped at its time limit (" in notes
    assert "several times what the model solution needs" in notes and "Cell 3" not in notes


def test_a_fixed_check_changes_the_grading_environment_and_a_reworded_command_does_not(tmp_path):
    """The hidden checks run in the grader, not in the kernels: a check fixed after a grading must regrade (before,
    every submission stayed "unchanged since last run" with the old check's verdict until --force)."""
    shutil.copytree(KIT.root / "autograder", tmp_path / "autograder", ignore=shutil.ignore_patterns("__pycache__"))
    probe = ("import json; from pathlib import Path; from autograder.canary import grader_environment; "
             "from autograder.course import Course; print(json.dumps(grader_environment(Course(Path('.')), True)))")

    def environment():
        result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                                cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(tmp_path)})
        return json.loads(result.stdout)

    before = environment()
    with open(tmp_path / "autograder" / "cli.py", "a") as cli:
        cli.write("# a message reworded\n")
    assert environment() == before
    for part in ("hidden/lab1.py", "reference/shallow.py", "judge/cells.py"):
        with open(tmp_path / "autograder" / part, "a") as code:
            code.write("# a check fixed\n")
        after = environment()
        assert after["checks_sha256"] != before["checks_sha256"], part
        before = after


def test_a_changed_grading_environment_regrades_what_it_graded(tmp_path):
    course = released(tmp_path, LAB1)
    submit(course, "alice", LAB1, untouched(course, LAB1))

    said = []

    def skipped():
        said.clear()
        return [o.skipped for o in grade(course, LAB1, workers=1, progress=False, sandbox=SANDBOX, skip_canary=True,
                                         say=said.append)]

    assert skipped() == [False] and said == []  # a first grading: nothing to explain
    assert skipped() == [True]  # nothing changed
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    (data / "cifar-10-python.tar.gz").write_bytes(b"staged after the first run")
    previous = os.environ.get("COURSE_DATA_DIR")
    os.environ["COURSE_DATA_DIR"] = str(data)
    try:  # the data graded kernels see changed: what was graded without it is graded again, and the command says why
        assert skipped() == [False]
        assert said == ["Grading again 1 submission(s) graded before: 1 because the grading environment (Python, "
                        "NumPy, course_utils or where it is installed, the checks' code, the data folder, the sandbox) "
                        "changed."]
        submit(course, "alice", LAB1, solved(course, LAB1))
        with (course.root / CONFIG_FILE).open("a") as config:
            config.write("\n# a comment\n")
        assert skipped() == [False] and said == [
            "Grading again 1 submission(s) graded before: 1 because the submission and the lab's source or "
            "nbgrader_config.py changed."]
    finally:
        os.environ["COURSE_DATA_DIR"] = previous
    record = json.loads((course.records_dir / LAB1 / "alice.json").read_text())
    assert record["status"] == "graded"
    record["fingerprint"] = "0" * 80  # as an earlier version of the kit recorded it: one hash of all but the date,
    del record["queued"]  # and no mark of a regrade queued
    (course.records_dir / LAB1 / "alice.json").write_text(json.dumps(record))
    assert skipped() == [False] and said == ["Grading again 1 submission(s) graded before: 1 because they were graded "
                                             "by an earlier version of the kit, which recorded less about their grading."]
