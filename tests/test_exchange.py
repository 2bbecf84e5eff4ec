"""A lab's round trip through nbgrader's exchange, as on a JupyterHub: released, submitted by two students,
collected, graded, and each student's feedback page released and fetched, by nbgrader's own exchange.

One submission is graded; one is cut short and one is under another name, so their pages are the grader's own pages
for submissions it could not grade. nbgrader's release_feedback reads timestamp.txt and submission_secret.txt beside
every page: before, the grader's own pages had neither, and release_feedback stopped at the first such page with a
traceback. A student fetches a page by the name of the notebook they submitted: before, the student whose notebook had
another name fetched nothing.
"""
import contextlib
import os
from pathlib import Path

import nbformat
import pytest
from nbgrader.auth import Authenticator
from nbgrader.coursedir import CourseDirectory
from nbgrader.exchange import ExchangeFactory
from nbgrader.utils import capture_log
from traitlets.config import Config

from autograder.course import Course
from autograder.feedback import feedback
from autograder.grade import grade
from autograder.sandbox import sandbox_problem
from autograder.submissions import solved
from released import released_course

KIT = Course(Path(__file__).resolve().parents[1])
LAB = "lab1_initialization"
COURSE_ID = "nn-from-scratch"  # nbgrader_config.py's


def nbgrader(root: Path, exchange: Path, command: str, student: str | None = None, **settings) -> None:
    """nbgrader's ``command`` (``ReleaseAssignment``, ``Submit``...) of the exchange at ``exchange``, run by the
    instructor in the course ``root``, or by ``student`` in their folder ``root`` (on a hub, each student is a user
    with a cache of their own), with the options ``settings`` (``{"ExchangeCollect": {"update": True}}``, say); it
    must succeed. Run in this process: a command line takes 2 s to start."""
    config = Config(CourseDirectory={"root": str(root), "course_id": COURSE_ID, "assignment_id": LAB},
                    Exchange={"root": str(exchange), "cache": str(root / "nbgrader_cache")})
    config.merge(Course(root).config() if student is None else Config(CourseDirectory={"student_id": student}))
    config.merge(Config(settings))
    app = getattr(ExchangeFactory(config=config), command)(
        coursedir=CourseDirectory(config=config), authenticator=Authenticator(config=config), config=config)
    with contextlib.chdir(root):  # a student's commands work in the folder they run in
        result = capture_log(app)
    assert result["success"], result.get("log", "") + result.get("error", "")


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")  # release_feedback leaves files open
def test_every_students_page_goes_back_through_the_exchange(tmp_path):
    course = released_course(KIT, tmp_path / "course", [LAB])  # a copy of the process's one release of the lab
    exchange = tmp_path / "exchange"
    exchange.mkdir()
    nbgrader(course.root, exchange, "ReleaseAssignment")
    work = {"ana": (LAB, nbformat.writes(solved(course, LAB))),
            "ben": (LAB, course.release_notebook(LAB).read_text(encoding="utf-8")[:700]),  # an upload cut short
            "cam": (f"{LAB} (1)", nbformat.writes(solved(course, LAB)))}  # the browser's name for a second download
    for student, (name, notebook) in work.items():
        home = tmp_path / student
        (home / LAB).mkdir(parents=True)
        (home / LAB / f"{name}.ipynb").write_text(notebook, encoding="utf-8")
        nbgrader(home, exchange, "Submit", student)
    nbgrader(course.root, exchange, "Collect")

    outcomes = {o.student: o.status for o in grade(course, LAB, workers=1, progress=False, skip_canary=True,
                                                     sandbox=sandbox_problem() is None)}
    assert outcomes == {"ana": "graded", "ben": "malformed_notebook", "cam": "missing_notebook"}
    feedback(course, LAB, allow_pending=True)
    nbgrader(course.root, exchange, "ReleaseFeedback")

    for student in work:
        nbgrader(tmp_path / student, exchange, "FetchFeedback", student)
        fetched = list((tmp_path / student / LAB / "feedback").glob("*/*.html"))
        page = course.feedback_dir(student, LAB) / f"{LAB}.html"
        assert [(p.stem, p.read_bytes()) for p in fetched] == [(work[student][0], page.read_bytes())], student


def test_links_a_student_adds_after_submitting_are_collected_as_links(tmp_path):
    """A student can still write to their inbound folder after submitting. nbgrader's own collect follows links with
    the instructor's rights: a link there to the course's source notebook was collected as the student's notebook,
    solutions and all, and graded as theirs; a pipe, or a submission over nbgrader's size limit, stopped the collect of
    the whole class. Now links are collected as links, so that grading refuses those submissions and names the links,
    a pipe is left out, and a submission too large is not collected (the others are)."""
    course = released_course(KIT, tmp_path / "course", [LAB])  # a copy of the process's one release of the lab
    exchange = tmp_path / "exchange"
    exchange.mkdir()
    nbgrader(course.root, exchange, "ReleaseAssignment")
    for student in ("ana", "dan", "eve", "fay"):
        home = tmp_path / student
        (home / LAB).mkdir(parents=True)
        (home / LAB / f"{LAB}.ipynb").write_bytes(course.release_notebook(LAB).read_bytes())
        nbgrader(home, exchange, "Submit", student)
    inbound = exchange / COURSE_ID / "inbound"
    ana, dan, eve, fay = (next(inbound.glob(f"{student}+{LAB}+*")) for student in ("ana", "dan", "eve", "fay"))
    (ana / f"{LAB}.ipynb").unlink()
    (ana / f"{LAB}.ipynb").symlink_to(course.source_notebook(LAB))
    (ana / "data").symlink_to(course.root / "source", target_is_directory=True)
    os.mkfifo(dan / "notes")
    (ana / "read-only").mkdir()
    (ana / "read-only" / "model.npz").symlink_to(course.root / "gradebook.db")
    (ana / "read-only").chmod(0o555)
    for entry in eve.iterdir():  # her whole submission, swapped for a link to the lab's source folder
        entry.unlink()
    eve.rmdir()
    eve.symlink_to(course.source_notebook(LAB).parent, target_is_directory=True)
    with open(fay / "weights.npy", "wb") as huge:  # 200 MB (sparse), over nbgrader's 100 MB for a submission
        huge.truncate(200_000_000)

    nbgrader(course.root, exchange, "Collect")
    nbgrader(course.root, exchange, "Collect", ExchangeCollect={"update": True})  # as it is run again, later

    submitted = course.root / "submitted"
    source = course.source_notebook(LAB).read_bytes()
    copies = [Path(folder, name) for folder, _, names in os.walk(submitted) for name in names
              if not Path(folder, name).is_symlink() and Path(folder, name).read_bytes() == source]
    assert copies == []
    assert os.readlink(course.submission_dir("ana", LAB) / f"{LAB}.ipynb") == str(course.source_notebook(LAB))
    assert os.readlink(course.submission_dir("ana", LAB) / "read-only" / "model.npz") == str(course.root / "gradebook.db")
    assert sorted(p.name for p in course.submission_dir("dan", LAB).iterdir()) == \
        [f"{LAB}.ipynb", "submission_secret.txt", "timestamp.txt"]
    assert (course.submission_dir("dan", LAB) / f"{LAB}.ipynb").read_bytes() == course.release_notebook(LAB).read_bytes()
    assert not course.submission_dir("fay", LAB).exists()  # left in the exchange; the others are collected
    outcomes = {o.student: o for o in grade(course, LAB, workers=1, progress=False, skip_canary=True,
                                            students=["ana", "eve"], sandbox=sandbox_problem() is None)}
    assert {student: o.status for student, o in outcomes.items()} == {"ana": "grading_error", "eve": "grading_error"}
    assert f"{LAB}.ipynb -> {course.source_notebook(LAB)}" in outcomes["ana"].detail
    assert f"submitted/eve/{LAB}/{eve.name} -> {course.source_notebook(LAB).parent}" in outcomes["eve"].detail
