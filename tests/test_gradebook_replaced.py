"""The gradebook replaced under the grading records: `gradebook.db` deleted or restored from an older backup, or
`GRADEBOOK_URL` pointed at a new database, while `.autograder/status/` stays.

Before, every record was trusted: `grade` skipped everyone as "unchanged since last run", `export` wrote their rows
as `graded` with a total of 0, `report` counted those zeros, and `feedback` deleted every student's page, then failed
with nbgrader's traceback. Now a record whose submission the gradebook does not hold is not trusted: `grade` grades
it again (without --force) and says why, `export` and `report` count it as not graded, and `feedback` writes no page
for it, keeps the one it had and says what to run.

One small course (Lab 1, two correct submissions, graded once with real nbgrader for the module); each test works on
a copy. "Restored from an older copy": bob's submission is taken out of the gradebook with nbgrader's API, as a
backup taken after alice's grading and before bob's would have it; "replaced": the gradebook of the course as
released, never graded.
"""
import csv
import io
import shutil
import warnings
from pathlib import Path

import pytest
from nbgrader.api import Gradebook
from sqlalchemy.exc import SAWarning

from autograder.cli import main
from autograder.course import Course
from autograder.feedback import feedback
from autograder.grade import grade
from autograder.sandbox import sandbox_problem
from autograder.submissions import solved, submit
from released import released_course

KIT = Course(Path(__file__).resolve().parents[1])
LAB = "lab1_initialization"
STUDENTS = ["alice", "bob"]
SANDBOX = sandbox_problem() is None  # without bubblewrap, grade these trusted samples unsandboxed
UNSAFE = [] if SANDBOX else ["--unsafe-no-sandbox"]
WHY = "because the gradebook has no grades of theirs (replaced, or restored from an older copy?)"
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("gradebook_replaced")]


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> Path:
    """A course whose two submissions were graded and given their feedback pages, with the gradebook they were graded
    into; copied by each test (``course_with``)."""
    top = tmp_path_factory.mktemp("graded")
    course = released_course(KIT, top / "course", [LAB])
    for student in STUDENTS:
        submit(course, student, LAB, solved(course, LAB))
    outcomes = grade(course, LAB, workers=2, progress=False, sandbox=SANDBOX, skip_canary=True)
    assert [outcome.status for outcome in outcomes] == ["graded", "graded"] and outcomes[0].score > 0
    feedback(course, LAB, allow_pending=True)
    released_course(KIT, top / "released", [LAB])  # its gradebook: the lab released, nothing graded
    return top


def course_with(graded: Path, folder: Path, gradebook: str) -> Course:
    """A copy of the graded course whose gradebook is "restored" (bob's grading not in it) or "replaced" (empty)."""
    shutil.copytree(graded / "course", folder, symlinks=True)
    course = Course(folder.resolve())
    if gradebook == "replaced":
        shutil.copyfile(graded / "released" / "gradebook.db", course.root / "gradebook.db")
    else:
        with Gradebook(course.db_url()) as gb, warnings.catch_warnings():
            warnings.simplefilter("ignore", SAWarning)  # nbgrader's own, as grading workers ignore it
            gb.remove_submission(LAB, "bob")
    return course


def rows(course: Course) -> dict[str, dict]:
    return {row["student_id"]: row for row in csv.DictReader(io.StringIO((course.root / "grades.csv").read_text()))}


def test_grade_grades_again_the_submissions_whose_grades_the_gradebook_lost_and_says_why(graded, tmp_path, capsys):
    course = course_with(graded, tmp_path / "course", "restored")
    said = []
    outcomes = {o.student: o for o in grade(course, LAB, workers=2, progress=False, sandbox=SANDBOX, skip_canary=True,
                                            say=said.append)}
    assert outcomes["alice"].skipped and not outcomes["bob"].skipped  # alice's grades are there: kept
    assert outcomes["bob"].status == "graded" and outcomes["bob"].score == outcomes["alice"].score > 0
    assert f"Grading again 1 submission(s) graded before: 1 {WHY}." in said
    assert main(["--root", str(course.root), "export"]) == 0
    assert rows(course)["bob"]["total"] == rows(course)["alice"]["total"] != "0"
    assert "not graded" not in capsys.readouterr().err


def test_export_and_report_count_them_as_not_graded_and_say_which_command_grades_them(graded, tmp_path, capsys):
    course = course_with(graded, tmp_path / "course", "restored")
    assert main(["--root", str(course.root), "export"]) == 0
    table, err = rows(course), capsys.readouterr().err
    assert table["bob"]["status"] == "not_graded" and table["bob"]["total"] == "0"
    assert table["alice"]["status"] == "needs_manual_grading" and float(table["alice"]["total"]) > 0
    assert (f"1 submission is not graded yet ({LAB}: 1); its row in grades.csv says not_graded, with a total of 0. "
            f"Grade it (python -m autograder --root {course.root} grade {LAB}) and export again.") in err, err
    assert "regrade" not in err

    assert main(["--root", str(course.root), "report", LAB]) == 0
    page = (course.root / "reports" / f"{LAB}.html").read_text()
    assert (f"2 submissions; mean total {float(table['alice']['total']):.2f}, median {float(table['alice']['total']):g}; "
            "1 without a graded notebook are left out of the totals' figures (1 not_graded)") in page


@pytest.mark.parametrize("gradebook", ["restored", "replaced"])
def test_feedback_keeps_their_pages_writes_none_for_them_and_says_what_to_run(graded, tmp_path, capsys, gradebook):
    course = course_with(graded, tmp_path / "course", gradebook)
    lost = ["bob"] if gradebook == "restored" else STUDENTS
    pages = {student: course.feedback_dir(student, LAB) / f"{LAB}.html" for student in STUDENTS}
    before = {student: page.read_text() for student, page in pages.items()}
    for page in pages.values():
        page.write_text(page.read_text() + "<!-- page from before -->")

    assert main(["--root", str(course.root), "feedback", LAB, "--allow-pending"]) == 1
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err and "MissingEntry" not in out + err
    assert f"Wrote {2 - len(lost)} feedback page(s)" in out
    assert f"No page for {len(lost)} submission(s) not graded yet" in err and f": {', '.join(lost)}." in err
    assert (f"The gradebook has no grades of {len(lost)} of them, graded before ({', '.join(lost)}): it was replaced, "
            "or restored from an older copy? Their pages from before, if any, were left as they were.") in err
    assert f"Run `python -m autograder --root {course.root} grade {LAB}`, then feedback again." in err
    for student in lost:  # left as they were: not deleted, not rewritten
        assert pages[student].read_text() == before[student] + "<!-- page from before -->"
    if gradebook == "restored":
        assert pages["alice"].read_text() == before["alice"]  # written anew from the gradebook

    assert main(["--root", str(course.root), "grade", LAB, "--skip-canary", *UNSAFE]) == 0  # as it says
    assert f"Grading again {len(lost)} submission(s) graded before: {len(lost)} {WHY}." in capsys.readouterr().out
    assert main(["--root", str(course.root), "feedback", LAB, "--allow-pending"]) == 0
    assert not [student for student, page in pages.items() if "<!-- page from before -->" in page.read_text()]  # written anew


def test_export_and_report_of_a_course_whose_gradebook_was_deleted_say_to_restore_it(graded, tmp_path, capsys):
    """Before, "This course has no gradebook yet: nothing was released or graded here", beside the records of the
    gradings."""
    course = course_with(graded, tmp_path / "course", "restored")
    (course.root / "gradebook.db").unlink()
    for command in (["export"], ["report", LAB]):
        assert main(["--root", str(course.root), *command]) == 2
        err = capsys.readouterr().err
        assert f"The gradebook {course.root / 'gradebook.db'} is gone, though {LAB} was graded here (the grading " \
               f"records are in {course.records_dir}): put it back from a backup, then run this again." in err, err
        assert f"release and grade it again (`python -m autograder --root {course.root} release {LAB}`" in err
    assert not (course.root / "gradebook.db").exists()
