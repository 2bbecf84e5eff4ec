"""Grading survives faults: a killed grader, a dying worker, an output folder that cannot be written."""
import copy
import errno
import json
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook
from nbgrader.apps import NbGraderAPI

from autograder.cli import permission_problem
from autograder.course import CONFIG_FILE, Course
from autograder.demo import scratch_course
from autograder.feedback import feedback, visible_text
from autograder.grade import grade, load_record
from autograder.sandbox import sandbox_problem
from autograder.submissions import solved, submit, untouched
from released import released_course

KIT = Course(Path(__file__).resolve().parents[1])
LAB = "lab1_initialization"
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("grading_faults")]
SANDBOX = sandbox_problem() is None  # without bubblewrap, grade these trusted samples unsandboxed


@pytest.fixture
def course(tmp_path):
    return released_course(KIT, tmp_path / "course", [LAB])  # a copy of the process's one release of the lab


def grade_command(course, *extra):
    unsafe = [] if SANDBOX else ["--unsafe-no-sandbox"]
    return [sys.executable, "-m", "autograder", "--root", str(course.root), "grade", LAB, *unsafe, *extra]


def test_nbgraders_autograde_and_generate_feedback_alone_do_nothing_and_say_to_use_the_kit(course):
    """As the formgrader's Autograde and Generate Feedback buttons run them (with --force): autograde without the
    canary, the time limits it sets or the kit's records (an endless loop would have had nbgrader's 300 s per cell);
    generate_feedback without feedback's checks (it wrote a page of a half-graded notebook, or one with hidden test
    code, and a page for no submission that could not be graded)."""
    submit(course, "s0", LAB, solved(course, LAB))
    [graded] = grade(course, LAB, workers=1, progress=False, sandbox=SANDBOX, skip_canary=True)
    notebook = course.autograded_notebook("s0", LAB).read_bytes()
    alone = subprocess.run([sys.executable, "-m", "nbgrader", "autograde", LAB, "--student", "s0", "--force"],
                           cwd=course.root, capture_output=True, text=True)
    said = " ".join((alone.stdout + alone.stderr).split())
    refusal = "This course grades with `python -m autograder grade LAB`, run in the course root"
    assert alone.returncode != 0 and refusal in said and "so it grades nothing here" in said, said
    assert "Traceback" not in said  # the refusal alone, not under nbgrader's traceback
    config = course.config()
    button = NbGraderAPI(course.coursedir(config), config=config).autograde(LAB, "s0", force=True)
    assert not button["success"] and refusal in button["log"]  # what the formgrader shows
    assert course.autograded_notebook("s0", LAB).read_bytes() == notebook  # its last grading stays as it was
    assert load_record(course, LAB, "s0") == graded and graded.status == "graded"

    [page] = feedback(course, LAB, allow_pending=True)  # the kit's command writes the page, with nbgrader's converter
    written = page.read_bytes()
    alone = subprocess.run([sys.executable, "-m", "nbgrader", "generate_feedback", LAB, "--student", "s0", "--force"],
                           cwd=course.root, capture_output=True, text=True)
    said = " ".join((alone.stdout + alone.stderr).split())
    refusal = "This course writes feedback with `python -m autograder feedback LAB`, run in the course root"
    assert alone.returncode != 0 and refusal in said and "so it writes nothing here" in said, said
    assert "Traceback" not in said
    button = NbGraderAPI(course.coursedir(config), config=config).generate_feedback(LAB, "s0", force=True)
    assert not button["success"] and refusal in button["log"]
    assert page.read_bytes() == written  # the page stays as the kit wrote it


def test_killing_the_grader_and_running_it_again_loses_nothing_and_counts_nothing_twice(course):
    good = solved(course, LAB)
    students = [f"s{i}" for i in range(4)]  # two workers: at most two are recorded by the time the kill lands
    for student in students:
        submit(course, student, LAB, good if student != "s3" else untouched(course, LAB))
    grader = subprocess.Popen(grade_command(course, "--workers", "2", "--skip-canary"), start_new_session=True,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    records = course.records_dir / LAB

    def recorded():  # outcomes recorded, not the submissions only marked as being graded
        return {path.stem for path in records.glob("*.json") if json.loads(path.read_text())["fingerprint"]}
    deadline = time.monotonic() + 240
    while not recorded() and time.monotonic() < deadline:
        time.sleep(0.05)
    os.killpg(grader.pid, signal.SIGKILL)  # the grader, its workers and their kernels, mid-run
    grader.wait()
    done_before = recorded()
    assert 0 < len(done_before) < len(students), "the kill should land mid-run"

    again = {o.student: o for o in grade(course, LAB, workers=2, progress=False, sandbox=SANDBOX, skip_canary=True)}
    assert set(again) == set(students)
    assert all(again[s].skipped for s in done_before)  # what was recorded is kept, not redone
    full = again["s0"].score
    assert full > 0 and all(again[s].score == full for s in students if s != "s3") and again["s3"].score == 0
    with Gradebook(course.db_url()) as gb:  # one submission per student, whatever ran twice
        assert sorted(s.student.id for s in gb.find_assignment(LAB).submissions) == students


def test_a_kernel_that_does_not_start_in_time_gets_a_timeout_that_says_so(course, tmp_path):
    """A loaded server, where a kernel answers after the start-up limit: here a kernel that sleeps 3 s before it
    starts, against a limit of 1 s. Before, the grader's own look at the failed start raised AttributeError, reported
    as nbgrader failing on the submission."""
    spec = tmp_path / "jupyter" / "kernels" / "slow-python3"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": ["sh", "-c", f'sleep 3; exec {sys.executable} -m ipykernel_launcher -f "$0"', "{connection_file}"],
        "display_name": "Python 3, slow to start", "language": "python"}))
    config = course.root / CONFIG_FILE
    config.write_text(config.read_text() + '\nc.SandboxedExecute.kernel_name = "slow-python3"\n'
                      "c.SandboxedExecute.startup_timeout = 1\n")
    submit(course, "slow_start", LAB, solved(course, LAB))
    result = subprocess.run([*grade_command(course, "--skip-canary")], capture_output=True, text=True,
                            env={**os.environ, "JUPYTER_PATH": str(tmp_path / "jupyter")}, timeout=300)
    row = next(line for line in result.stdout.splitlines() if line.startswith("slow_start"))
    assert "timeout" in row and "the notebook's kernel did not start in time; nothing could be graded" in row, \
        result.stdout + result.stderr


def test_a_worker_that_dies_is_retried_once_then_recorded_and_leaves_nothing_in_tmp(course, tmp_path):
    good = solved(course, LAB)
    # Kills the process that runs the kernel: the grader's worker (possible only without the sandbox). First it
    # writes down where its kernel's sockets are: the worker had no time to delete that folder.
    sockets = tmp_path / "sockets.txt"
    killer = with_cell(good, "import os, signal\nfrom ipykernel.connect import get_connection_info\n"
                             f"with open({str(sockets)!r}, 'a') as seen:\n"
                             "    print(get_connection_info(unpack=True)['ip'], file=seen)\n"
                             "os.kill(os.getppid(), signal.SIGKILL)")
    submit(course, "killer", LAB, killer)
    submit(course, "honest", LAB, good)
    outcomes = {o.student: o for o in grade(course, LAB, workers=2, progress=False, sandbox=False, skip_canary=True)}
    assert outcomes["killer"].status == "grading_error"
    assert "died twice" in outcomes["killer"].detail
    assert outcomes["honest"].status == "graded" and outcomes["honest"].score > 0
    folders = [Path(ip).parent for ip in sockets.read_text().split()]
    assert len(folders) == 2 and all(folder.name.startswith("autograder-kernel-") for folder in folders)
    assert not any(folder.exists() for folder in folders)  # deleted when the grading ended, not left in /tmp


def with_cell(nb, source):
    """The notebook with one more code cell, written by the student, after its first cell."""
    nb = copy.deepcopy(nb)
    nb.cells.insert(1, nbformat.v4.new_code_cell(source))
    return nb


def test_kernel_deaths_get_their_status_and_spare_the_others(course):
    """(An endless loop in a cell of the student's own: test_canary.py, where its time limit comes from.)"""
    good = solved(course, LAB)
    submit(course, "kernel_death", LAB, with_cell(good, "import os\nos._exit(1)"))
    submit(course, "honest", LAB, good)
    late_exit = copy.deepcopy(good)
    late_exit.cells.append(nbformat.v4.new_code_cell("import os\nos._exit(0)"))
    submit(course, "late_exit", LAB, late_exit)
    outcomes = {o.student: o for o in grade(course, LAB, workers=2, progress=False, sandbox=SANDBOX, skip_canary=True)}
    # ending the kernel after every test ran gains nothing and loses nothing
    assert outcomes["late_exit"].status == "kernel_died" and outcomes["late_exit"].score == outcomes["honest"].score
    feedback(course, LAB, allow_pending=True)  # its feedback has its scores, and shows where the kernel died
    page = visible_text(course.feedback_dir("late_exit", LAB).joinpath(f"{LAB}.html").read_text())
    assert f"Score: {outcomes['late_exit'].score:g} / {outcomes['late_exit'].max_score:g}" in page
    assert "KernelDied: the kernel died here" in page
    # it died in its own cell (the second), before any test: it keeps what it earned, nothing
    assert outcomes["kernel_death"].status == "kernel_died" and outcomes["kernel_death"].score == 0
    assert "died in cell 2" in outcomes["kernel_death"].detail
    assert "errors outside the tests" not in outcomes["kernel_death"].detail  # the cells after it never ran
    assert outcomes["honest"].status == "graded" and outcomes["honest"].score > 0


def test_grading_refuses_without_a_sandbox_unless_told_it_is_unsafe(course):
    nb = solved(course, LAB)  # its last cell says how the kernel talks to the grader
    nb.cells.append(nbformat.v4.new_code_cell("from ipykernel.kernelapp import IPKernelApp\n"
                                              "print(IPKernelApp.instance().transport)"))
    submit(course, "s0", LAB, nb)
    no_bwrap = {**os.environ, "PATH": os.path.dirname(sys.executable)}  # bubblewrap cannot be found
    safe = [c for c in grade_command(course) if c != "--unsafe-no-sandbox"]
    refused = subprocess.run(safe, capture_output=True, text=True, env=no_bwrap)
    assert refused.returncode == 2
    assert "cannot be sandboxed here" in refused.stderr and "--unsafe-no-sandbox" in refused.stderr
    assert load_record(course, LAB, "s0") is None
    unsafe = safe + ["--unsafe-no-sandbox"]
    allowed = subprocess.run(unsafe, capture_output=True, text=True, env=no_bwrap)
    assert allowed.returncode == 0, allowed.stderr
    first = load_record(course, LAB, "s0")
    assert first.status == "graded" and first.score > 0
    graded = nbformat.read(course.autograded_notebook("s0", LAB), as_version=4)
    # unix sockets of its own: over TCP, two kernels started side by side could pick the same port
    assert graded.cells[-1].outputs[0]["text"] == "ipc\n"
    # the table's scores leave out the written answers: the line below it says so, and where to grade them
    assert ("Scores above are the automatic ones and the hand grades given: 4 answers in 1 submission wait to be "
            "graded by hand") in allowed.stdout, allowed.stdout
    unchanged = subprocess.run(unsafe, capture_output=True, text=True, env=no_bwrap)
    assert "unchanged since last run" in unchanged.stdout


def test_an_unwritable_output_folder_stops_grading_before_it_starts(course):
    submit(course, "s0", LAB, solved(course, LAB))
    (course.root / "autograded").write_text("not a folder")
    result = subprocess.run(grade_command(course), capture_output=True, text=True)
    assert result.returncode == 2
    assert "Cannot write grading results to" in result.stderr and "autograded" in result.stderr
    assert load_record(course, LAB, "s0") is None  # nothing was graded


NOBODY = 65534


def test_results_left_by_a_grading_run_as_another_user_stop_grading_with_the_fix(tmp_path):
    """Root graded the lab once (or another teaching assistant did); the course's owner grades it again, and writes
    feedback. Before, the top folders passed the write check and every student graded before got a grading error;
    feedback printed nbgrader's traceback. Then release, and the doctor, with a gradebook root made."""
    if os.geteuid() != 0:  # a regular user: their own folder, left read-only
        course = scratch_course(KIT, tmp_path / "course", [LAB])
        as_owner, says = [], "its permissions do not let you write it. Fix them (chmod -R u+w"
    else:  # root: the course belongs to nobody, root's results are left in it
        shared = Path(tempfile.mkdtemp(prefix="course-of-nobody-"))
        os.chmod(shared, 0o755)
        course = scratch_course(KIT, shared / "course", [LAB])
        as_owner = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
        says = ("it belongs to root and this command runs as nobody (did an earlier command run as root?). Run it as "
                "root")
    try:  # the checks come before anything else: no release or submission is needed
        if as_owner:
            subprocess.run(["chown", "-R", str(NOBODY), str(course.root)], check=True)
        left, page = course.root / "autograded" / "s0" / LAB, course.root / "feedback" / "s0" / LAB
        for folder in (left, page):
            folder.mkdir(parents=True)
            folder.parent.parent.chmod(0o777)
            if not as_owner:
                folder.chmod(0o555)
        runs = as_owner and subprocess.run([*as_owner, sys.executable, "-c", "import autograder.grade"],
                                           capture_output=True)
        if runs and runs.returncode:
            pytest.skip("this Python environment cannot be run by another user (a private folder)")
        command = [*as_owner, *grade_command(course), "--unsafe-no-sandbox"]  # it stops before any notebook runs
        result = subprocess.run(command, capture_output=True, text=True)
        assert result.returncode == 2, result.stderr
        named = left if not as_owner else left.parent  # root made autograded/s0/ too
        assert f"Cannot write grading results to {named}: {says}" in result.stderr
        command = [*as_owner, sys.executable, "-m", "autograder", "--root", str(course.root), "feedback", LAB,
                   "--allow-pending"]
        result = subprocess.run(command, capture_output=True, text=True)
        named = page if not as_owner else page.parent
        assert result.returncode == 2 and f"Cannot write feedback pages to {named}: {says}" in result.stderr, \
            result.stderr
        gradebook = course.root / "gradebook.db"  # release, with a gradebook root made: before, nbgrader's traceback
        Gradebook(f"sqlite:///{gradebook}").close()
        if not as_owner:
            gradebook.chmod(0o444)
        command = [*as_owner, sys.executable, "-m", "autograder", "--root", str(course.root)]
        result = subprocess.run([*command, "release", LAB], capture_output=True, text=True)
        assert result.returncode == 2 and f"Cannot write the lab's cells to {gradebook}: {says}" in result.stderr, \
            result.stderr
        result = subprocess.run([*command, "doctor"], capture_output=True, text=True)
        assert result.returncode == 1 and f"[PROBLEM] Cannot write grading results to {gradebook}: {says}" in \
            result.stdout, result.stdout
    finally:
        if os.geteuid() == 0:
            shutil.rmtree(course.root.parent, ignore_errors=True)
        else:
            left.chmod(0o755)
            page.chmod(0o755)


UNPRIVILEGED = "nobody"  # an account every Debian and Ubuntu machine has: the instructor's, in these tests


def pasted(command, **env):
    """Run ``command`` (a command a message says to paste) in bash, as this test's user, with ``env`` added to its
    environment; root needs no sudo (nor has it, always)."""
    return subprocess.run(["bash", "-c", f"sudo() {{ \"$@\"; }}; {command}"], capture_output=True, text=True,
                          env={**os.environ, **env})


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root, to own a course another user grades, and to chown it")
def test_the_chown_that_grade_suggests_for_a_course_of_another_user_gives_that_course_at_a_path_with_a_space(
        tmp_path):
    """A course made by root, in a folder whose name holds a space and an apostrophe, is graded by the instructor's
    account: the suggested `sudo chown -R` (unquoted, it chowned `.../root` and `./owned`) makes the course theirs."""
    instructor = pwd.getpwnam(UNPRIVILEGED)
    shared = Path(tempfile.mkdtemp(prefix="moved-"))
    os.chmod(shared, 0o755)
    try:
        decoy = shared / "root"  # where the first word of the unquoted path pointed
        decoy.mkdir()
        course = scratch_course(KIT, shared / "root owned" / "instr's course", [LAB])
        as_instructor = ["setpriv", f"--reuid={instructor.pw_uid}", f"--regid={instructor.pw_gid}", "--clear-groups"]
        runs = subprocess.run([*as_instructor, sys.executable, "-c", "import autograder.grade"], capture_output=True)
        if runs.returncode:
            pytest.skip("this Python environment cannot be run by another user (a private folder)")
        command = [*as_instructor, *grade_command(course), "--unsafe-no-sandbox"]  # it stops before any notebook runs
        refused = subprocess.run(command, capture_output=True, text=True, cwd=shared)
        assert refused.returncode == 2, refused.stderr
        says = f"it belongs to root and this command runs as {UNPRIVILEGED}"
        assert f"Cannot write grading results to {course.root}: {says}" in refused.stderr, refused.stderr
        chown = refused.stderr.split("make the course yours again (")[1].split("), then run")[0]
        assert chown.startswith(f"sudo chown -R {UNPRIVILEGED} "), refused.stderr

        assert pasted(f"cd {shared} && {chown}").returncode == 0
        assert {path.stat().st_uid for path in [course.root, *course.root.rglob("*")]} == {instructor.pw_uid}
        assert decoy.stat().st_uid == 0 and not (shared / "owned").exists()
        again = subprocess.run(command, capture_output=True, text=True, cwd=shared)
        assert "Cannot write" not in again.stderr, again.stderr
    finally:
        shutil.rmtree(shared, ignore_errors=True)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root, to chown")
def test_the_chown_suggested_when_a_command_may_not_write_into_the_course_gives_that_course(tmp_path):
    """As `permission_problem` words a command's own write refused in the course (a feedback page, say)."""
    root = tmp_path / "root owned" / "instr's course"
    (root / "feedback").mkdir(parents=True)
    decoy = tmp_path / "root"
    decoy.mkdir()
    error = PermissionError(errno.EACCES, "Permission denied", str(root / "feedback" / "s0"))
    chown = permission_problem(error, root, "feedback").split("(e.g. `")[1].split("`)")[0]
    assert chown.startswith("sudo chown -R $USER ")
    assert pasted(f"cd {tmp_path} && {chown}", USER=UNPRIVILEGED).returncode == 0
    assert {path.owner() for path in [root, *root.rglob("*")]} == {UNPRIVILEGED}
    assert decoy.owner() == "root" and not (tmp_path / "owned").exists()


@pytest.mark.skipif(shutil.which("unshare") is None, reason="needs util-linux's unshare to mount a tiny filesystem")
def test_a_full_output_folder_stops_grading_before_it_starts(course):
    submit(course, "s0", LAB, solved(course, LAB))
    (course.root / "autograded").mkdir()
    script = (f"mount -t tmpfs -o size=16k tmpfs {course.root / 'autograded'} && "
              + " ".join(grade_command(course)))
    result = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, text=True)
    if "mount:" in result.stderr or "unshare failed" in result.stderr:  # e.g. the suite does not run as root
        pytest.skip(f"cannot mount a small filesystem here: {result.stderr.strip()}")
    assert result.returncode == 2
    assert "No space left on device" in result.stderr
    assert load_record(course, LAB, "s0") is None


@pytest.mark.skipif(not SANDBOX, reason=f"no sandbox possible here: {sandbox_problem()}")
def test_files_too_large_for_the_sandbox_are_a_grading_error_that_names_them_not_a_kernel_death(course):
    """A student who handed in the data set beside the notebook: its folder does not fit in the sandbox's scratch,
    where each graded notebook gets a copy of its folder (before: "kernel_died", "the notebook's kernel exited as it
    started", 0 points). Files that fit are copied, as before, and the notebook reads them."""
    with open(course.root / CONFIG_FILE, "a", encoding="utf-8") as config:
        config.write("\nc.SandboxedKernelManager.scratch_bytes = 4 * 1024**2\n")
    good = solved(course, LAB)
    submit(course, "kept_the_data", LAB, good)
    (course.submission_dir("kept_the_data", LAB) / "data").mkdir()
    (course.submission_dir("kept_the_data", LAB) / "data" / "cifar-10-python.tar.gz").write_bytes(b"\0" * 5 * 2**20)
    (course.submission_dir("kept_the_data", LAB) / "notes.txt").write_text("my notes\n", encoding="utf-8")
    reads = "assert open('data/weights.bin', 'rb').read(3) == b'\\1\\1\\1'"  # the copy is there
    submit(course, "kept_a_small_file", LAB, with_cell(good, reads))
    (course.submission_dir("kept_a_small_file", LAB) / "data").mkdir()
    (course.submission_dir("kept_a_small_file", LAB) / "data" / "weights.bin").write_bytes(b"\1" * 2**20)
    outcomes = {o.student: o for o in grade(course, LAB, workers=2, progress=False, skip_canary=True)}
    assert (outcomes["kept_the_data"].status, outcomes["kept_the_data"].detail) == ("grading_error", (
        "the submission's files besides the notebook take 5.0 MiB, more than the 4 MiB of the sandbox's scratch, where a "
        "graded notebook gets a copy of its folder (the largest: data/cifar-10-python.tar.gz (5.0 MiB)). Nothing was "
        "graded. Remove what the notebook does not need (data sets: graded notebooks read them from COURSE_DATA_DIR), "
        "or raise c.SandboxedKernelManager.scratch_bytes in nbgrader_config.py, then grade again"))
    small = outcomes["kept_a_small_file"]
    assert (small.status, small.detail) == ("graded", "") and small.score > 0
