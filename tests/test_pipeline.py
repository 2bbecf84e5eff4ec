"""The grading pipeline end to end: real nbgrader, real kernels, a scratch copy of the course.

One scratch course per lab is released and graded once (in parallel); each test then checks what
one kind of submission came to. The first lab's course also holds the damaged and late submissions.
"""
import base64
import copy
import csv
import io
import os
import re
import subprocess
import sys
from html import escape as html_escape
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook
from nbgrader.utils import parse_utc

from autograder.capacity import usable_cores
from autograder.course import CONFIG_FILE, Course
from autograder.demo import scratch_course, written_points
from autograder.export import export, question_ids
from autograder.feedback import feedback, visible_text
from autograder.grade import _pool, grade
from autograder.leaks import secret_lines
from autograder.records import load_record
from autograder.release import out_of_sync
from autograder.report import report
from autograder.sandbox import sandbox_problem
from autograder.submissions import PLANTED_MISTAKES, solved, submit, untouched, with_mistake
from classic_mistakes import CHANGES, EQUIVALENT, classic_mistakes
from released import released_course

KIT = Course(Path(__file__).resolve().parents[1])
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("pipeline")]
SANDBOX = sandbox_problem() is None  # without bubblewrap, grade these trusted samples unsandboxed


def grade_cells(nb):
    return [c for c in nb.cells if c.get("metadata", {}).get("nbgrader", {}).get("grade")]


def auto_points(course, lab):
    """Points of the automatically graded questions (test cells), from the source notebook."""
    nb = nbformat.read(course.source_notebook(lab), as_version=4)
    return {c.metadata.nbgrader.grade_id: c.metadata.nbgrader.points for c in grade_cells(nb)
            if not c.metadata.nbgrader.get("solution")}


def with_warning(nb):
    """Every solved function first emits a RuntimeWarning (on stderr) when it is called."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if cell.get("metadata", {}).get("nbgrader", {}).get("solution") and cell.cell_type == "code":
            lines = cell.source.splitlines()
            for i, line in enumerate(lines):
                if line.startswith("def ") and line.rstrip().endswith(":"):
                    lines.insert(i + 1, "    __import__('warnings').warn('a harmless warning', RuntimeWarning)")
                    break
            cell.source = "\n".join(lines)
    return nb


def without_first_test_cell(nb):
    nb = copy.deepcopy(nb)
    first = next(i for i, c in enumerate(nb.cells) if c in grade_cells(nb) and c.cell_type == "code")
    del nb.cells[first]
    return nb


def with_duplicated_test_cell(nb):
    nb = copy.deepcopy(nb)
    test = next(c for c in grade_cells(nb) if c.cell_type == "code")
    duplicate = copy.deepcopy(test)
    duplicate["id"] = "student-made-copy"  # JupyterLab gives a copied cell a new id
    nb.cells.append(duplicate)
    return nb


def graded_course(tmp_path_factory, lab, make_submissions):
    """A scratch course with ``lab`` released, the given submissions graded in parallel, and the export."""
    course = released_course(KIT, tmp_path_factory.mktemp(lab), [lab])  # a copy of the process's one release of the lab
    for student, nb in make_submissions(course, lab).items():
        submit(course, student, lab, nb)
    outcomes = {o.student: o for o in grade(course, lab, workers=2, progress=False, sandbox=SANDBOX)}
    rows = {r["student_id"]: r for r in csv.DictReader(io.StringIO(export(course)))}
    return course, lab, outcomes, rows


def damaged(course, lab, good):
    """Submissions that test how grading treats damaged notebooks (lab-independent), and a late one: a due date is set,
    with nbgrader's late penalty that takes every point. ``good`` is the solved notebook."""
    renamed = course.submission_dir("renamed", lab)
    renamed.mkdir(parents=True)
    nbformat.write(good, renamed / "my_lab.ipynb")
    with Gradebook(course.db_url()) as gb:
        gb.update_or_create_assignment(lab, duedate=parse_utc("2026-12-01 18:00:00 America/Bogota"))
    with (course.root / CONFIG_FILE).open("a") as config:
        config.write('c.LateSubmissionPlugin.penalty_method = "zero"\n')
    late = course.submission_dir("late", lab)
    late.mkdir(parents=True)
    (late / "timestamp.txt").write_text("2026-12-03 10:00:00.000000 UTC")  # as nbgrader's submit writes it
    return {"malformed": course.release_notebook(lab).read_text()[:400],
            "byte_order_mark": "\ufeff" + nbformat.writes(good),
            "warnings": with_warning(good), "deleted_test": without_first_test_cell(good),
            "duplicated_test": with_duplicated_test_cell(good), "late": good}


def round_trip(course, lab):
    """A correct, an untouched and a one-mistake submission; for the first lab also the damaged and late submissions
    (``damaged``); for Labs 6 and 7 also the submissions that test_lab_grading.py checks (noise, a deleted test cell,
    a malformed file, classic mistakes), graded here once."""
    good = solved(course, lab)
    submissions = {"correct": good, "untouched": untouched(course, lab), "one_mistake": with_mistake(course, lab)}
    if lab == KIT.labs()[0]:
        submissions |= damaged(course, lab, good)
    if classic := classic_mistakes(lab):
        submissions |= {"warnings": with_warning(good), "deleted_test": without_first_test_cell(good),
                        "malformed": course.release_notebook(lab).read_text()[:400]}
        submissions |= {student: with_mistake(course, lab, mistake) for student, mistake in classic.items()}
        submissions |= {student: with_mistake(course, lab, answer)
                        for student, answer in classic_mistakes(lab, EQUIVALENT).items()}
    return submissions


GRADED_LABS = {}  # lab -> its graded round trip, for this module and test_lab_grading.py (one xdist group)


@pytest.fixture(scope="session")
def graded_lab(tmp_path_factory):
    """lab -> (course, lab, outcomes, export rows): the lab's round trip, graded the first time it is asked for.
    The cache is the module's, not the fixture's: each module that imports the fixture gets a fixture of its own."""
    def get(lab):
        if lab not in GRADED_LABS:
            GRADED_LABS[lab] = graded_course(tmp_path_factory, lab, round_trip)
        return GRADED_LABS[lab]
    return get


@pytest.fixture(scope="module", params=KIT.labs())
def graded(request, graded_lab):
    """Every lab's round trip."""
    return graded_lab(request.param)


@pytest.fixture(scope="module")
def tampered(graded_lab):
    """The first lab's round trip, with its damaged and late submissions (``damaged``)."""
    return graded_lab(KIT.labs()[0])


def test_correct_submission_gets_every_automatic_point(graded):
    course, lab, outcomes, rows = graded
    full = sum(auto_points(course, lab).values())
    assert outcomes["correct"].status == "graded"
    assert outcomes["correct"].score == full
    for question, points in auto_points(course, lab).items():
        assert float(rows["correct"][question]) == points, question
    assert rows["correct"]["status"] == "needs_manual_grading"  # the written answers
    autograded = nbformat.read(course.autograded_notebook("correct", lab), as_version=4)
    assert [(i, o.get("ename") or o.get("text", "")[:200]) for i, c in enumerate(autograded.cells)
            for o in c.get("outputs", []) if o.output_type == "error"] == []  # a clean run, start to end


def test_untouched_release_gets_zero_without_error(graded):
    _, _, outcomes, rows = graded
    assert outcomes["untouched"].status == "graded"
    assert outcomes["untouched"].score == 0
    assert rows["untouched"]["total"] == "0"


def test_one_wrong_function_loses_exactly_its_question(graded):
    course, lab, outcomes, rows = graded
    points = auto_points(course, lab)
    lost = PLANTED_MISTAKES[lab].question_id
    assert outcomes["one_mistake"].score == sum(points.values()) - points[lost]
    assert float(rows["one_mistake"][lost]) == 0
    assert all(float(rows["one_mistake"][q]) == p for q, p in points.items() if q != lost)


def test_bad_submissions_get_a_status_and_the_rest_are_graded(tampered):
    course, lab, outcomes, rows = tampered
    assert outcomes["malformed"].status == "malformed_notebook"
    lines = course.release_notebook(lab).read_text()[:400].rstrip().count("\n") + 1
    assert outcomes["malformed"].detail == f"{lab}.ipynb is not a valid notebook: its JSON stops at line {lines}, " \
                                           "unfinished: the file was cut short (by an upload that did not finish, say)"
    bom = outcomes["byte_order_mark"]  # intact behind a Windows editor's byte-order mark: graded as it is
    assert (bom.status, bom.score, bom.detail) == ("graded", outcomes["correct"].score, "")
    assert outcomes["renamed"].status == "missing_notebook"
    assert "my_lab.ipynb" in outcomes["renamed"].detail
    for student in ("malformed", "renamed"):
        assert rows[student]["total"] == "0" and rows[student]["status"] == outcomes[student].status
    assert outcomes["correct"].score > 0


def test_a_late_submission_loses_the_penalty_in_the_table_and_the_export_as_on_its_page_until_given_more_time(
        tampered):
    course, lab, outcomes, rows = tampered
    late, full = outcomes["late"], outcomes["correct"].score
    assert (late.status, late.score) == ("graded", 0)
    assert late.detail == ("submitted 1 day 11 h after the due date (2026-12-01 23:00 UTC); late penalty: "
                           f"{full:g} point(s), taken from the total")
    assert rows["late"]["total"] == "0"  # nbgrader's own export says 0 too; the questions keep what they earned
    questions = auto_points(course, lab)
    assert {q: rows["late"][q] for q in questions} == {q: rows["correct"][q] for q in questions}
    feedback(course, lab, allow_pending=True)
    page = " ".join(visible_text(course.feedback_dir("late", lab).joinpath(f"{lab}.html").read_text()).split())
    assert f"Score: 0 / {late.max_score:g}" in page and f"Late submission penalty: -{full:g} points" in page
    assert outcomes["correct"].detail == ""  # no timestamp: not late

    written = written_points(course, lab)
    with Gradebook(course.db_url()) as gb:  # the written answers graded by hand, at full marks, after the grading
        for grade_ in gb.find_submission_notebook(lab, lab, "late").grades:
            if grade_.auto_score is None:
                grade_.manual_score, grade_.needs_manual_grade = grade_.max_score, False
        gb.db.commit()
    rows = {row["student_id"]: row for row in csv.DictReader(io.StringIO(export(course)))}
    assert rows["late"]["total"] == "0"  # "zero" takes the hand-graded points too (on old code: the written points)
    feedback(course, lab, allow_pending=True)
    page = " ".join(visible_text(course.feedback_dir("late", lab).joinpath(f"{lab}.html").read_text()).split())
    assert f"Score: 0 / {late.max_score:g}" in page and f"Late submission penalty: -{full + written:g} points" in page

    with Gradebook(course.db_url()) as gb:  # the late student is given two more days, after the grading
        gb.grant_extension(lab, "late", hours=48)
    again = {o.student: o for o in grade(course, lab, workers=1, progress=False, sandbox=SANDBOX)}
    assert [student for student, o in again.items() if not o.skipped] == ["late"]  # no --force needed
    assert (again["late"].score, again["late"].detail) == (full + written, "")  # the hand grades are kept


def test_deleted_test_cell_is_restored_and_graded(tampered):
    course, lab, outcomes, _ = tampered
    assert outcomes["deleted_test"].score == sum(auto_points(course, lab).values())
    deleted = outcomes["deleted_test"]
    assert deleted.status == "tests_changed" and "put back and graded" in deleted.detail
    autograded = nbformat.read(course.autograded_notebook("deleted_test", lab), as_version=4)
    ids = [c.metadata.nbgrader.grade_id for c in grade_cells(autograded)]
    assert sorted(ids) == sorted(question_ids(course, lab))


def test_duplicated_test_cell_counts_once(tampered):
    course, lab, outcomes, _ = tampered
    assert outcomes["duplicated_test"].score == sum(auto_points(course, lab).values())
    duplicated = outcomes["duplicated_test"]
    assert duplicated.status == "tests_changed" and "the last copy counted" in duplicated.detail


def test_warnings_on_stderr_cost_no_points(tampered):
    course, lab, outcomes, _ = tampered
    assert outcomes["warnings"].score == sum(auto_points(course, lab).values())
    autograded = nbformat.read(course.autograded_notebook("warnings", lab), as_version=4)
    shown = "".join(o.get("text", "") for c in autograded.cells for o in c.get("outputs", []))
    assert "a harmless warning" in shown  # still visible, just not fatal


def test_csv_has_a_column_per_question(graded):
    course, lab, _, rows = graded
    header = next(csv.reader(io.StringIO(export(course))))
    assert header == ["student_id", "lab", *question_ids(course, lab), "total", "max_total", "status"]
    assert set(rows) == set(course.students(lab))


def test_feedback_shows_messages_but_no_hidden_test_code(graded):
    course, lab, _, _ = graded
    pages = feedback(course, lab, allow_pending=True)  # the written answers are not graded by hand here
    assert len(pages) == len(course.students(lab))
    hidden = secret_lines(nbformat.read(course.source_notebook(lab), as_version=4), ("BEGIN HIDDEN TESTS",))
    assert hidden, "the lab should have hidden tests"
    for page in pages:
        text = visible_text(page.read_text())
        assert not [line for line in hidden if line in text], page
    mistake_page = visible_text(course.feedback_dir("one_mistake", lab).joinpath(f"{lab}.html").read_text())
    assert "AssertionError" in mistake_page and PLANTED_MISTAKES[lab].question_id in mistake_page
    assert "---->" not in mistake_page  # the failed test shows its message, not a traceback


def test_feedback_explains_an_ungradable_submission(tampered):
    course, lab, outcomes, _ = tampered
    feedback(course, lab, allow_pending=True)
    page = visible_text(course.feedback_dir("malformed", lab).joinpath(f"{lab}.html").read_text())
    assert "could not be graded" in page and "is not a valid Jupyter notebook" in page
    # a submission graded with a status of its own gets its scores, like any other
    assert outcomes["deleted_test"].status == "tests_changed"
    page = visible_text(course.feedback_dir("deleted_test", lab).joinpath(f"{lab}.html").read_text())
    assert "could not be graded" not in page
    assert f"Score: {outcomes['deleted_test'].score:g} / {outcomes['deleted_test'].max_score:g}" in page


def test_regrading_grades_only_what_changed(tampered):
    course, lab, outcomes, _ = tampered
    submit(course, "warnings", lab, solved(course, lab))
    again = {o.student: o for o in grade(course, lab, workers=2, progress=False, sandbox=SANDBOX)}
    assert not again["warnings"].skipped and again["warnings"].score == outcomes["correct"].score
    assert all(o.skipped for s, o in again.items() if s != "warnings")
    alone = grade(course, lab, workers=2, progress=False, sandbox=SANDBOX, force=True, students=["correct"],
                  skip_canary=True)  # it passed a moment ago
    assert [(o.student, o.skipped, o.score) for o in alone] == [("correct", False, outcomes["correct"].score)]
    assert load_record(course, lab, "warnings") == again["warnings"]  # the others are left as they were
    empty = [log.name for log in (course.root / ".autograder" / "logs").glob("worker-*.log") if not log.stat().st_size]
    assert not empty, "each run's workers left an empty log behind"


def test_grading_a_student_without_a_submission_names_the_folder_and_the_ids_it_looks_like(tampered):
    course, lab, _, _ = tampered
    result = subprocess.run([sys.executable, "-m", "autograder", "--root", str(course.root), "grade", lab,
                             "--student", "corect"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 2 and result.stderr == (
        f"error: No submission of {lab} from corect: there is no folder submitted/corect/{lab}/. Did you mean "
        "correct?\n")


@pytest.mark.parametrize("lab", KIT.labs())
def test_release_is_in_sync_with_source(lab):
    assert out_of_sync(KIT, lab) == []


def test_the_item_report_gives_the_gradebooks_numbers_and_the_failure_messages(graded, tmp_path):
    course, lab, outcomes, rows = graded
    page, table, _ = report(course, lab, tmp_path)
    by_question = {row["question"]: row for row in csv.DictReader(io.StringIO(table.read_text()))}
    assert list(by_question) == question_ids(course, lab)
    for question, points in auto_points(course, lab).items():
        scores = [float(row[question]) for row in rows.values() if row[question] != ""]  # a malformed file has none
        # the report's two decimals, exactly (within 0.005, a share of 7/8 = 0.875 shown as 0.88 failed by 4e-18)
        assert by_question[question]["mean"] == f"{sum(scores) / len(scores):.2f}"
        assert by_question[question]["share_full_marks"] == f"{sum(score >= points for score in scores) / len(scores):.2f}"
    lost = PLANTED_MISTAKES[lab].question_id  # the untouched release and the planted mistake both fail it,
    also = [c for c in CHANGES.get(lab, {}).values() if c.question_id == lost]  # and so may a classic mistake
    failures = by_question[lost]["top_failures"].split(" | ")
    assert sum(int(entry.split("x ", 1)[0]) for entry in failures) == 2 + len(also), failures
    entries = [entry for row in by_question.values() if row["top_failures"] for entry in row["top_failures"].split(" | ")]
    assert any(entry.endswith("x NotImplementedError") for entry in entries), entries  # the untouched release
    assert not any(entry.rstrip().endswith(":") for entry in entries), entries  # an empty message: the name alone
    text = page.read_text()
    assert "data:image/png;base64," in text and "http" not in text.replace("http-equiv", "")  # viewable offline
    means = re.search(r"alt='mean score per question' src='data:image/png;base64,([^']+)'", text)
    height = int.from_bytes(base64.b64decode(means.group(1))[20:24], "big")  # the PNG header's height (pixels)
    bars = [question for question, row in by_question.items() if row["mean"] != ""]
    assert height >= 25 * len(bars)  # each question's label has a line of its own: none overlap
    assert all(html_escape(q) in text for q in question_ids(course, lab))


def test_grading_workers_side_by_side_share_the_cores_for_matrix_products(tmp_path):
    """With --workers 2, each worker, and so each kernel it starts, asks the BLAS for half the cores: two
    gradings side by side each taking all of them slow each other down (Labs 5 and 6 train networks)."""
    course = scratch_course(KIT, tmp_path / "course", [KIT.labs()[0]])
    with _pool(course, 2, 1, False) as pool:
        threads = [pool.submit(os.getenv, name).result()
                   for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")]
    assert threads == [str(max(1, usable_cores() // 2))] * 3
