"""Stopping `grade`: Ctrl-C, `kill`, a closed terminal, or the process killed outright.

An instructor stops a long grading (Ctrl-C), a service manager stops it (SIGTERM), an SSH session drops
(SIGHUP), or the out-of-memory killer takes it (SIGKILL). Before, Ctrl-C left the command grading every
submission still queued, then hanging for good on a worker whose kernel client it had interrupted; a killed
command left its workers finishing their notebooks and then waiting forever. Now the command stops within
seconds, with its workers and their kernels, says what was graded, keeps it, and the next run grades the rest.
"""
import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from autograder.course import Course
from autograder.export import grade_rows, queued_warning
from autograder.feedback import feedback, without_page
from autograder.grade import grade
from autograder.records import load_record
from autograder.sandbox import _children, sandbox_problem
from autograder.submissions import solved, submit, untouched
from released import released_course

KIT = Course(Path(__file__).resolve().parents[1])
LAB = "lab1_initialization"
STUDENTS = [f"student{i}" for i in range(3)]
UNSAFE = [] if sandbox_problem() is None else ["--unsafe-no-sandbox"]
pytestmark = pytest.mark.slow


@pytest.fixture
def course(tmp_path):
    course = released_course(KIT, tmp_path, [LAB])  # a copy of the process's one release of the lab
    for student in STUDENTS:
        submit(course, student, LAB, solved(course, LAB))
    return course


def start_grading(course: Course, *options: str, workers: int = 2) -> subprocess.Popen:
    """`python -m autograder grade` as from a terminal: its own session, signals at their defaults."""
    def default_signals():
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, signal.SIG_DFL)
    return subprocess.Popen([sys.executable, "-m", "autograder", "grade", LAB, "--workers", str(workers), *UNSAFE,
                             *options], cwd=course.root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, preexec_fn=default_signals)


def descendants(pid: int) -> list[int]:
    return [found for child in _children(pid) for found in (child, *descendants(child))]


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def kernels(pid: int) -> list[int]:
    return [child for child in descendants(pid) if "ipykernel" in command_line(child)]


def blocks(pid: int, signum: int) -> bool:
    """Whether process ``pid``'s main thread blocks signal ``signum`` now (its SigBlk mask in /proc)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    mask = int(next(line.split()[1] for line in status.splitlines() if line.startswith("SigBlk:")), 16)
    return bool(mask >> (signum - 1) & 1)


def recorded(course: Course, since: float = 0.0) -> list[str]:
    """Students whose outcome was recorded (after ``since``); not those only marked to be graded (again)."""
    return sorted(path.stem for path in (course.records_dir / LAB).glob("*.json") if path.stat().st_mtime > since
                  and (record := json.loads(path.read_text()))["fingerprint"] and not record.get("queued"))


def run(course: Course, *command: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "autograder", *command], cwd=course.root, capture_output=True,
                          text=True, timeout=600)


def wait_for(condition, seconds: float = 240.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)


def stop(process: subprocess.Popen, signum: int, group: bool) -> tuple[list[int], list[Path]]:
    """Send ``signum`` (to the command's process group, as a terminal does, or to the command alone); return the
    processes it had started and its kernels' private folders (sandboxed kernels only)."""
    started = descendants(process.pid)
    folders = [Path(part).parent for pid in kernels(process.pid) for part in command_line(pid).split()
               if part.endswith("kernel.json") and "autograder-sandbox-" in part]
    (os.killpg if group else os.kill)(process.pid, signum)
    return started, folders


def assert_all_gone(process: subprocess.Popen, started: list[int], folders: list[Path]) -> None:
    wait_for(lambda: not any(running(pid) for pid in started), seconds=15)
    assert not [folder for folder in folders if folder.exists()], "kernels' private folders left behind"
    assert process.poll() is not None


def grade_the_rest(course: Course, graded_before: list[str]) -> None:
    """The next run grades what the stopped one did not, and keeps what it did."""
    again = run(course, "grade", LAB, "--workers", "2", "--skip-canary", *UNSAFE)
    assert again.returncode == 0, again.stderr
    rows = {line.split()[0]: line for line in again.stdout.splitlines() if line.split()[:1] != ["student"]
            and line.startswith("student")}
    assert sorted(rows) == STUDENTS
    assert all("unchanged since last run" in rows[student] for student in graded_before), again.stdout
    assert all(" graded" in rows[student] for student in STUDENTS if student not in graded_before)
    assert recorded(course) == STUDENTS


def assert_stopped_ones_get_no_page_and_no_grade(course: Course, graded: list[str]) -> None:
    """What a stopped grading left of the submissions it was grading (a notebook run half-way, its gradebook rows)
    reaches no student and no grade table: feedback writes pages for the graded ones only and names the others, whose
    earlier pages go; the export says they are not graded, but for those a regrade had not started yet (queued), whose
    earlier grading it shows."""
    stopped = [student for student in STUDENTS if student not in graded]
    queued = [student for student in stopped if (record := load_record(course, LAB, student)) and record.queued]
    for student in stopped:  # a page an earlier feedback run wrote
        page = course.feedback_dir(student, LAB) / f"{LAB}.html"
        page.parent.mkdir(parents=True, exist_ok=True)
        page.write_text("an earlier page")
    said = run(course, "feedback", LAB, "--allow-pending")
    assert said.returncode == 1 and f"Wrote {len(graded)} feedback page(s)" in said.stdout, said.stderr
    assert f"whose grading was stopped before it ended or reached them: {', '.join(stopped)}. The pages of the " \
           f"{len(stopped)} stopped ones from before, if any, were removed: they showed a grading being redone." \
           in said.stderr
    assert sorted(path.parent.parent.name for path in (course.root / "feedback").glob(f"*/{LAB}/*.html")) == graded
    exported = run(course, "export")
    assert exported.returncode == 0, exported.stderr
    rows = {row.split(",")[0]: row.split(",") for row in (course.root / "grades.csv").read_text().splitlines()[1:]}
    assert {student: rows[student][-1] for student in stopped} == {
        student: "needs_manual_grading" if student in queued else "not_graded" for student in stopped}
    assert {student: rows[student][-1] for student in graded} == dict.fromkeys(graded, "needs_manual_grading")


def test_a_stopped_force_regrade_says_to_run_without_force_which_would_regrade_all():
    from autograder.grade import GradingStopped
    said = str(GradingStopped(signal.SIGINT, 2, 8, force=True))
    assert "Run the same command without --force (which would regrade every one) to grade the other 6." in said
    assert "Run the same command again to grade the other 6." in str(GradingStopped(signal.SIGINT, 2, 8))


@pytest.mark.parametrize("signum, group, name", [(signal.SIGHUP, True, "SIGHUP: its terminal was closed"),
                                                (signal.SIGTERM, False, "SIGTERM")])
def test_a_closed_terminal_or_sigterm_during_the_canary_stops_everything_before_any_grade(course, signum, group, name):
    process = start_grading(course)
    wait_for(lambda: kernels(process.pid))  # the canary's kernel
    started, folders = stop(process, signum, group)
    assert process.wait(timeout=20) == 128 + signum
    out, err = process.communicate()
    assert_all_gone(process, started, folders)
    assert recorded(course) == []
    assert f"Grading stopped ({name}) before any submission was graded" in err
    assert "Traceback" not in err
    said = run(course, "feedback", LAB, "--allow-pending")  # names those it has no page for, not in silence
    assert said.returncode == 1 and "Wrote 0 feedback page(s)" in said.stdout
    assert f"No page for 3 submission(s) not graded yet, or whose grading was stopped before it ended or reached " \
           f"them: {', '.join(STUDENTS)}. Run `python -m autograder grade {LAB}`, then feedback again." in said.stderr


def test_ctrl_c_as_the_command_starts_stops_it_with_its_own_message_alone(course):
    """Pressed while the workers' server imports the grader (the command's first seconds): before, the server also
    printed a KeyboardInterrupt's traceback of some 55 lines, from multiprocessing's forkserver."""
    process = start_grading(course)
    # pressed once the command has started the server (a Ctrl-C in that instant: the test after this one)
    wait_for(lambda: any("forkserver" in command_line(pid) for pid in descendants(process.pid))
             and not blocks(process.pid, signal.SIGINT), seconds=20)
    started, folders = stop(process, signal.SIGINT, group=True)
    code = process.wait(timeout=20)
    out, err = process.communicate()  # its pipes closed before any assertion (left open, they fail a later test)
    assert code == 128 + signal.SIGINT, (code, err)
    assert_all_gone(process, started, folders)
    assert "stopped" in err and "Traceback" not in err, err
    assert recorded(course) == []


PRESS_CTRL_C_AS_IT_STARTS = """
import os, signal
import multiprocessing.{module} as module
from autograder.workers import start_worker_server, worker_context
start = module.ensure_running
def start_while_ctrl_c_is_pressed():
    os.kill(os.getpid(), signal.SIGINT)  # in the instant the process is started
    module.ensure_running = start  # once
    start()
module.ensure_running = start_while_ctrl_c_is_pressed
try:
    start_worker_server()
except KeyboardInterrupt:
    print("stopped")
worker = worker_context().Process(target=os.getpid)  # the workers' server, if it was started, still serves
worker.start()
worker.join()
print("a worker ended with", worker.exitcode)
"""


@pytest.mark.parametrize("module", ["resource_tracker", "forkserver"])
def test_a_ctrl_c_in_the_instant_the_workers_server_starts_stops_the_command_and_not_the_server(module):
    """Before, the command ignored Ctrl-C while it started the server (so that the server, which inherits that, would
    not die of it with a traceback while it imports the grader): one pressed then was lost, and the grading went on."""
    ran = subprocess.run([sys.executable, "-c", PRESS_CTRL_C_AS_IT_STARTS.format(module=module)], capture_output=True,
                         text=True, timeout=120)
    assert ran.stdout.splitlines() == ["stopped", "a worker ended with 0"], ran.stdout + ran.stderr
    assert ran.stderr == ""


def test_ctrl_c_then_a_regrade_killed_outright_stop_at_once_and_the_next_run_finishes_each(course):
    process = start_grading(course, "--skip-canary")  # a stop during the canary: the test above
    # a submission graded, the others being graded: each started (a submission not reached yet has no record, and its
    # page, planted below, would stay, as one from before its first grading could not exist)
    wait_for(lambda: recorded(course) and kernels(process.pid)
             and all(load_record(course, LAB, student) for student in STUDENTS))
    started, folders = stop(process, signal.SIGINT, group=True)  # as a terminal sends it
    assert process.wait(timeout=20) == 128 + signal.SIGINT
    out, err = process.communicate()
    assert_all_gone(process, started, folders)
    graded = recorded(course)
    assert 1 <= len(graded) < len(STUDENTS)
    assert f"Grading stopped (Ctrl-C) after {len(graded)} of the 3 submission(s) to grade were graded and " \
           f"recorded; its kernels were stopped. Run the same command again to grade the other " \
           f"{3 - len(graded)}." in err
    assert "Traceback" not in err
    assert_stopped_ones_get_no_page_and_no_grade(course, graded)
    grade_the_rest(course, graded)

    forced = time.time()
    process = start_grading(course, "--force", "--skip-canary")  # all again, though nothing changed (fingerprints the same)
    wait_for(lambda: recorded(course, since=forced) and kernels(process.pid))
    started, folders = stop(process, signal.SIGKILL, group=False)  # the out-of-memory killer, say
    process.wait(timeout=20)
    process.communicate()
    assert_all_gone(process, started, folders)  # before, its workers finished their notebooks, then waited forever
    # nbgrader had deleted the graded notebooks of those being regraded; the next run grades them, and the
    # students the killed run had not reached yet, instead of passing them over as "unchanged"
    assert_stopped_ones_get_no_page_and_no_grade(course, recorded(course))
    grade_the_rest(course, recorded(course, since=forced))
    assert all(course.autograded_notebook(student, LAB).is_file() for student in STUDENTS)
    said = run(course, "feedback", LAB, "--allow-pending")
    assert said.returncode == 0 and "Wrote 3 feedback page(s)" in said.stdout, said.stderr


EXPORT_THEN_CTRL_C = """\
import os, pathlib, signal, subprocess, time
grading = pathlib.Path({grading!r})
if grading.exists():  # the test's regrade has reached this notebook: export, then stop the run as Ctrl-C does
    with open({said!r}, "w") as said:
        subprocess.run([{python!r}, "-m", "autograder", "--root", {root!r}, "export", "--out", {table!r}], stderr=said)
    os.kill(int(grading.read_text()), signal.SIGINT)
    time.sleep(60)  # stopped with its worker
"""


def test_a_regrade_shows_the_submissions_it_has_not_reached_with_their_last_grading_until_it_grades_them(tmp_path):
    """A cron job exports the grade table while `grade --force` regrades the lab, which is then stopped. Before, the
    run blanked the record of every submission it meant to grade as it began, so every row of the lab said not_graded
    with 0, during the run and after it. Graded one at a time, the first student's notebook exports, then stops the
    run: only its own row, whose grading rewrites its gradebook rows, is not graded; the others show their last
    grading, with a warning, until the next run grades them (their fingerprints unchanged)."""
    course = released_course(KIT, tmp_path / "course", [LAB])
    grading, said, table = tmp_path / "grading", tmp_path / "export-stderr", tmp_path / "during.csv"
    exports = untouched(course, LAB)  # its grading is the shortest
    exports.cells.append(nbformat.v4.new_code_cell(EXPORT_THEN_CTRL_C.format(
        grading=str(grading), said=str(said), python=sys.executable, root=str(course.root), table=str(table))))
    submit(course, "amy", LAB, exports)  # graded first: in name order, by one worker
    submit(course, "ben", LAB, solved(course, LAB))
    submit(course, "cai", LAB, "{")  # malformed: recorded without a kernel, nothing in the gradebook
    options = {"workers": 1, "progress": False, "sandbox": False, "skip_canary": True}  # as the command's flags below
    before = {outcome.student: outcome for outcome in grade(course, LAB, **options)}
    header, rows = grade_rows(course)
    last = {row["student_id"]: {column: row.get(column, "") for column in header} for row in rows}
    assert last["ben"]["status"] == "needs_manual_grading" and float(last["ben"]["total"]) == before["ben"].score > 0
    assert (last["cai"]["status"], last["cai"]["total"]) == ("malformed_notebook", "0")

    process = start_grading(course, "--unsafe-no-sandbox", "--skip-canary", "--force", workers=1)
    grading.write_text(str(process.pid))
    assert process.wait(timeout=240) == 128 + signal.SIGINT
    assert "Grading stopped (Ctrl-C) before any submission was graded" in process.communicate()[1]

    def assert_not_reached_show_their_last_grading(rows: list[dict]) -> None:
        rows = {row["student_id"]: {column: row.get(column, "") for column in header} for row in rows}
        assert (rows["amy"]["status"], rows["amy"]["total"]) == ("not_graded", "0")
        assert (rows["ben"], rows["cai"]) == (last["ben"], last["cai"])  # on the old code: not_graded, 0 too

    def warning(table: str) -> str:
        return (f"warning: 2 rows of {table} (lab1_initialization: 2) show the grading from before a regrade that has "
                "not reached them yet: the previous scores and status. Let the regrade end (or, if it was stopped, "
                f"finish it: {course.command('grade', LAB)}) and export again.")
    assert_not_reached_show_their_last_grading(list(csv.DictReader(table.read_text().splitlines())))  # during it
    assert warning(table.name) in said.read_text()
    _, rows = grade_rows(course)  # after it was stopped
    assert_not_reached_show_their_last_grading(rows)
    assert queued_warning(course, rows, "grades.csv") == warning("grades.csv")
    reported = subprocess.run([sys.executable, "-m", "autograder", "--root", str(course.root), "report", LAB],
                              capture_output=True, text=True)  # its figures mix the two gradings
    assert reported.returncode == 0 and warning(f"{LAB}.html").replace("export again", "run report again") in \
        reported.stderr, reported.stderr
    for student in ("ben", "cai"):  # queued, not blanked
        assert load_record(course, LAB, student).fingerprint == before[student].fingerprint
    # the instructor asked for a regrade: no page of the grading before it, nor of the one stopped half-way
    everyone = ["amy", "ben", "cai"]
    assert feedback(course, LAB, allow_pending=True) == [] and without_page(course, LAB) == (everyone, everyone, [])

    grading.unlink()
    told = []
    after = {outcome.student: outcome for outcome in grade(course, LAB, say=told.append, **options)}
    assert "Grading again 3 submission(s) graded before: 2 because an earlier regrade was stopped before it reached " \
           "them; 1 because their last grading was stopped before it ended." in told
    assert not any(outcome.skipped for outcome in after.values())
    assert {s: (o.status, o.score) for s, o in after.items()} == {s: (o.status, o.score) for s, o in before.items()}
    assert queued_warning(course, grade_rows(course)[1], "grades.csv") is None
