"""Grading into a real PostgreSQL gradebook, by two shards at the same time, one of them killed and rerun.

One module-scoped course (Lab 1, six submissions) is released into a throwaway PostgreSQL server and
graded by `grade --shard 0/2` and `grade --shard 1/2` started together (one worker each); the second is
killed mid-run and started again while the first still runs. The same submissions are graded by one
process into SQLite; the two exports must be identical. Few kernels run (two of the six notebooks are
ungradable, the SQLite run skips its canary): on a loaded 2-core machine each one takes 10-30 s.
"""
import csv
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from autograder.course import Course, shard_of
from autograder.demo import scratch_course
from autograder.export import export
from autograder.feedback import feedback, visible_text
from autograder.grade import grade
from autograder.gradebook_access import gradebook_problem
from autograder.release import release_lab
from autograder.sandbox import sandbox_problem
from autograder.submissions import PLANTED_MISTAKES, solved, submit, untouched, with_mistake
from postgres_server import postgres  # noqa: F401 (the session's server)

KIT = Course(Path(__file__).resolve().parents[1])
LAB = "lab1_initialization"
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("postgres")]
SANDBOX = sandbox_problem() is None  # without bubblewrap, grade these trusted samples unsandboxed
STUDENTS = [f"s{i}" for i in range(6)]  # shard 0 of 2: s2, s3, s5; shard 1 of 2: s0, s1, s4


def submit_all(course):
    """Three notebooks to run (s0 correct, with a last cell that writes to its kernel's stderr, which goes to its grading
    worker's log; s1 one mistake, s5 untouched) and three that cannot be graded.

    s0 writes to the file descriptor the kernel was started with as its stderr. ipykernel replaces descriptor 2 with a
    pipe, which a thread of the kernel copies to that one, whenever it gets to run; grading kills the kernel as soon as
    its last cell is done (Execute.shutdown_kernel = "immediate"), so on a loaded machine bytes written to descriptor 2
    were sometimes never copied, and no log was left to read. (Without that pipe, descriptor 2 is the one.)"""
    correct = solved(course, LAB)
    stderr = 'getattr(sys.stderr, "_original_stdstream_copy", 2)'  # ipykernel's name for it
    correct.cells.append(nbformat.v4.new_code_cell(
        f'import os, sys\nos.write({stderr}, b"s0 writes to its kernel\'s stderr\\n")'))
    for student, nb in {"s0": correct, "s1": with_mistake(course, LAB), "s5": untouched(course, LAB),
                        "s2": course.release_notebook(LAB).read_text()[:400]}.items():  # s2: cut-off JSON
        submit(course, student, LAB, nb)
    misnamed = course.submission_dir("s3", LAB)
    misnamed.mkdir(parents=True)
    (misnamed / "lab1.ipynb").write_text(course.release_notebook(LAB).read_text())
    course.submission_dir("s4", LAB).mkdir(parents=True)  # an empty folder


def cli(course, *args):
    return [sys.executable, "-m", "autograder", "--root", str(course.root), *args]


def grade_shard(course, shard):
    unsafe = [] if SANDBOX else ["--unsafe-no-sandbox"]
    return subprocess.Popen(cli(course, "grade", LAB, "--shard", shard, "--workers", "1", *unsafe),
                            start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def finish(process, what):
    output, _ = process.communicate(timeout=600)
    assert process.returncode == 0, f"{what} failed:\n{output}"
    return output


def course_copy(folder, source, url=None):
    """A scratch course with the kit's configuration (and gradebook ``url``) and the lab as in ``source``."""
    course = scratch_course(KIT, folder, [])
    shutil.copytree(source.root / "source" / LAB, course.root / "source" / LAB)  # one snapshot for both runs
    if url:
        with open(course.root / "nbgrader_config.py", "a") as config:
            config.write(f"\nc.CourseDirectory.db_url = {url!r}\n")
    return course


@pytest.fixture(scope="module")
def sharded(postgres, tmp_path_factory):  # noqa: F811
    course = course_copy(tmp_path_factory.mktemp("postgres"), KIT, postgres.create_database("course"))
    reference = course_copy(tmp_path_factory.mktemp("sqlite"), course)
    released = subprocess.run(cli(course, "release", LAB), capture_output=True, text=True, timeout=300)
    assert released.returncode == 0, released.stdout + released.stderr
    submit_all(course)
    assert sorted(s for s in STUDENTS if shard_of(s, 2) == 1) == ["s0", "s1", "s4"]

    first, second = grade_shard(course, "0/2"), grade_shard(course, "1/2")
    records = course.records_dir / LAB

    def recorded():  # outcomes recorded, not the submissions only marked as being graded
        return {path.stem for path in records.glob("*.json") if json.loads(path.read_text())["fingerprint"]}
    deadline = time.monotonic() + 400
    while time.monotonic() < deadline and second.poll() is None:
        if recorded() & {"s0", "s1", "s4"}:
            break
        time.sleep(0.1)
    if second.poll() is not None:
        pytest.fail(f"shard 1/2 ended before it could be killed:\n{second.communicate()[0]}")
    os.killpg(second.pid, signal.SIGKILL)  # shard 1, its workers and their kernels, mid-run
    second.communicate()
    killed_after = recorded() & {"s0", "s1", "s4"}
    assert 0 < len(killed_after) < 3, f"the kill should land mid-run, after {killed_after}"
    rerun = grade_shard(course, "1/2")  # while shard 0 may still be grading
    outputs = finish(first, "shard 0/2"), finish(rerun, "shard 1/2, run again")

    assert release_lab(reference, LAB) == []
    submit_all(reference)
    single = {o.student: o for o in grade(reference, LAB, workers=2, progress=False, sandbox=SANDBOX,
                                          skip_canary=True)}  # the shards ran it; not what is compared
    return course, reference, single, killed_after, outputs


def test_postgres_gradebook_is_really_used(sharded):
    course, *_ = sharded
    assert course.db_url().startswith("postgresql://")
    assert not (course.root / "gradebook.db").exists()


def test_each_shard_grades_its_own_share_and_a_killed_one_loses_nothing_when_rerun(sharded):
    course, _, _, killed_after, (first, rerun) = sharded
    for student in ("s2", "s3", "s5"):
        assert f"\n{student} " in first and all(f"\n{s} " not in first for s in ("s0", "s1", "s4"))
    for student in killed_after:  # recorded before the kill: kept, not graded again
        assert f"\n{student} " in rerun and "unchanged since last run" in rerun.split(f"\n{student} ")[1].split("\n")[0]
    assert all(f"\n{s} " not in rerun for s in ("s2", "s3", "s5"))


def test_one_gradebook_row_per_graded_submission(sharded):
    course, *_ = sharded
    with Gradebook(course.db_url()) as gb:
        graded = sorted(s.student.id for s in gb.find_assignment(LAB).submissions)
    assert graded == ["s0", "s1", "s5"]  # the others had no valid notebook: nothing to store


def test_export_is_identical_to_one_process_grading_into_sqlite(sharded):
    course, reference, single, *_ = sharded
    sharded_csv, single_csv = export(course), export(reference)
    assert sharded_csv == single_csv
    rows = {r["student_id"]: r for r in csv.DictReader(io.StringIO(sharded_csv))}
    full = single["s0"].score
    assert full > 0 and float(rows["s0"]["total"]) == full
    assert float(rows["s1"][PLANTED_MISTAKES[LAB].question_id]) == 0 and 0 < float(rows["s1"]["total"]) < full
    assert rows["s2"]["status"] == "malformed_notebook"
    assert rows["s3"]["status"] == rows["s4"]["status"] == "missing_notebook"
    assert rows["s5"]["total"] == "0" and rows["s5"]["status"] == "graded"


def score_lines(page):
    return [line.strip() for line in visible_text(page.read_text()).splitlines() if "Score:" in line]


def test_feedback_after_a_sharded_run_is_as_after_a_single_run(sharded):
    course, reference, *_ = sharded
    pages, reference_pages = feedback(course, LAB, allow_pending=True), feedback(reference, LAB, allow_pending=True)
    assert [p.relative_to(course.root) for p in pages] == [p.relative_to(reference.root) for p in reference_pages]
    assert len(pages) == len(STUDENTS)
    for page, same in zip(pages, reference_pages):  # the same scores (hidden checks draw new random inputs)
        assert score_lines(page) == score_lines(same), page
    mistake = visible_text(course.feedback_dir("s1", LAB).joinpath(f"{LAB}.html").read_text())
    assert PLANTED_MISTAKES[LAB].question_id in mistake
    assert "could not be graded" in visible_text(course.feedback_dir("s2", LAB).joinpath(f"{LAB}.html").read_text())


def test_shards_keep_their_canaries_and_logs_apart(sharded):
    course, *_ = sharded
    logs = {p.name: p.read_text() for p in (course.root / ".autograder" / "logs").glob("worker-*.log")}
    assert all(name.startswith(f"worker-{os.uname().nodename}-") for name in logs)  # shards of other hosts: theirs
    assert all(logs.values()), "the empty logs of the workers stay behind"
    assert "s0 writes to its kernel's stderr" in "".join(logs.values())
    canaries = course.root / ".autograder" / "canary"
    assert [p.name for p in canaries.iterdir()] == [LAB]  # each shard's own canary course is gone
    assert not (canaries / LAB / "submitted").exists()  # and shards never graded in the shared one


def test_a_shard_refuses_to_release_the_lab_itself(postgres, tmp_path):  # noqa: F811
    course = course_copy(tmp_path / "course", KIT, postgres.create_database("unreleased"))
    submit(course, "s0", LAB, "{}")
    result = subprocess.run(cli(course, "grade", LAB, "--shard", "0/1", "--unsafe-no-sandbox"),  # refused before
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"`{course.command('release', LAB)}` once, then start the shards" in result.stderr
    assert "postgresql://postgres@/unreleased" in result.stderr
    assert not (course.root / "release").exists()


def test_a_gradebook_that_cannot_be_opened_is_said_plainly_by_every_command(postgres, tmp_path):  # noqa: F811
    """A database the server does not have (a typo in the URL, as a wrong password or a server that is down would
    be): each command names the gradebook, its password masked, and what to check. Before, nbgrader's traceback, and
    for release its advice to upgrade the database."""
    url = postgres.url("cuorse").replace("postgres@", "postgres:secret@")  # the server has no such database
    course = course_copy(tmp_path / "course", KIT, url)
    for command in (["release", LAB], ["grade", LAB], ["export"], ["feedback", LAB], ["report", LAB]):
        result = subprocess.run(cli(course, *command), capture_output=True, text=True, timeout=300)
        assert result.returncode == 2 and "Traceback" not in result.stderr, (command, result.stderr)
        assert result.stderr.startswith("error: The gradebook postgresql://postgres:***@/cuorse?host=") and \
            'database "cuorse" does not exist' in result.stderr and "the URL's user, password and database are " \
            "right (c.CourseDirectory.db_url in nbgrader_config.py)" in result.stderr, (command, result.stderr)
        assert "secret" not in result.stderr and "db upgrade" not in result.stderr
    doctor = subprocess.run(cli(course, "doctor"), capture_output=True, text=True, timeout=300)
    assert doctor.returncode == 1 and "[PROBLEM] The gradebook postgresql://postgres:***@/cuorse" in doctor.stdout
    assert not (course.root / "release").exists()


def test_a_gradebook_database_that_does_not_store_utf8_is_refused_saying_how_to_copy_it_into_one(
        postgres, tmp_path):  # noqa: F811
    """A LATIN1 database, as PostgreSQL makes by default on a server whose locale is Latin-1, holding a gradebook from
    before. Before, export ended in a traceback for the whole class (a UnicodeEncodeError, for a student named 王伟),
    and grade, the lab released, gave him a grading_error. The advice, followed as written, gives a gradebook that
    keeps what it held and takes any name."""
    url = postgres.create_database("latin1", encoding="LATIN1")
    with Gradebook(url) as gb:
        gb.update_or_create_assignment(LAB)
        gb.update_or_create_student("josé.garcía")
    course = course_copy(tmp_path / "course", KIT, url)
    submit(course, "王伟", LAB, "{}")
    for command in (["export"], ["grade", LAB]):
        result = subprocess.run(cli(course, *command), capture_output=True, text=True, timeout=300)
        assert result.returncode == 2 and "Traceback" not in result.stderr, (command, result.stderr)
        assert result.stderr.startswith("error: The gradebook postgresql://postgres@/latin1?host=") and \
            "stores text as LATIN1" in result.stderr and "createdb -E UTF8 -T template0 latin1_utf8 && pg_dump " \
            "latin1 | psql latin1_utf8" in result.stderr, (command, result.stderr)
    assert not course.records_dir.exists()

    postgres.tool("createdb", "-E", "UTF8", "-T", "template0", "latin1_utf8")  # the advice, on this server
    dump = postgres.socket_dir / "latin1.sql"  # a pipe, in two steps
    postgres.tool("pg_dump", "-f", str(dump), "latin1")
    postgres.tool("psql", "-v", "ON_ERROR_STOP=1", "-q", "-d", "latin1_utf8", "-f", str(dump))
    with open(course.root / "nbgrader_config.py", "a") as config:
        config.write(f"\nc.CourseDirectory.db_url = {postgres.url('latin1_utf8')!r}\n")
    assert gradebook_problem(postgres.url("latin1_utf8"), write=True) is None
    with Gradebook(postgres.url("latin1_utf8")) as gb:
        assert gb.find_assignment(LAB) and gb.find_student("josé.garcía")
        gb.update_or_create_student("王伟")
        assert gb.find_student("王伟").id == "王伟"
    export = subprocess.run(cli(course, "export"), capture_output=True, text=True, timeout=300)
    assert export.returncode == 0 and "Traceback" not in export.stderr, export.stderr


def test_a_user_who_may_only_read_the_gradebook_may_export_but_release_and_grade_say_what_right_is_missing(
        postgres, tmp_path):  # noqa: F811
    """An assistant's database user with SELECT only. Before, release ended in nbgrader's traceback, grade gave every
    student a grading_error, and doctor called the server ready to grade."""
    course = course_copy(tmp_path / "course", KIT, postgres.create_database("read_only"))
    assert release_lab(course, LAB) == []
    submit(course, "alice", LAB, solved(course, LAB))
    postgres.sql("read_only", "CREATE ROLE reader LOGIN; GRANT SELECT ON ALL TABLES IN SCHEMA public TO reader")
    reader = postgres.url("read_only", user="reader")
    with open(course.root / "nbgrader_config.py", "a") as config:
        config.write(f"\nc.CourseDirectory.db_url = {reader!r}\n")
    for command in (["release", LAB], ["grade", LAB]):
        result = subprocess.run(cli(course, *command), capture_output=True, text=True, timeout=300)
        assert result.returncode == 2 and result.stderr.startswith(
            "error: The gradebook postgresql://reader@/read_only?host=") and "opens, but reader may not write to it: " \
            "permission denied for table" in result.stderr and "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES " \
            "IN SCHEMA public TO reader" in result.stderr, (command, result.stderr)
    assert not course.autograded_notebook("alice", LAB).exists() and not course.records_dir.exists()
    export = subprocess.run(cli(course, "export"), capture_output=True, text=True, timeout=300)
    assert export.returncode == 0 and (course.root / "grades.csv").is_file(), export.stderr
    doctor = subprocess.run(cli(course, "doctor"), capture_output=True, text=True, timeout=300)
    assert doctor.returncode == 1 and "[PROBLEM] The gradebook postgresql://reader@" in doctor.stdout, doctor.stdout

    postgres.sql("read_only", "GRANT INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO reader")
    assert gradebook_problem(reader, write=True) is None
    postgres.create_database("empty")  # the first release creates nbgrader's tables: the owner may, reader may not
    assert gradebook_problem(postgres.url("empty"), write=True) is None
    assert "reader may not write to it: it has no right to create tables in the database's schema" in \
        gradebook_problem(postgres.url("empty", user="reader"), write=True)
