"""Submissions of Lab 1 mangled by accident, graded in one batch in the sandbox, in a course folder whose path
has spaces and accents, for students whose names have accents or are written in Chinese.

Each gets the points its work earns, with a status that says what happened, never a grading error: an
exercise deleted with its test (nbgrader itself fails the whole notebook with a KeyError), an answer
rewritten in a cell of its own, a notebook saved by an editor that dropped every cell's metadata, a Google
Colab download, an old notebook format, a kernel named after the student's own conda environment, cells
turned into Markdown by a stray key, a cell pasted from another lab with its metadata, a test cell made ungraded or
its metadata saved as null, answer cells whose nbgrader metadata were dropped (written answers too, which
are graded as the student's where their place is clear, and named where it is not), Windows line endings saved
inside the cells' text by VS Code. A student id that nbgrader would read as a pattern, or that a Mac wrote
with its accents as separate marks, gets a grading error that says which folder to rename; a notebook under
another name (a copy the student worked in beside the untouched release, a second download) is named, with what to
do. A copy of an older course_utils beside the notebook is not what the notebook is graded with.
"""
import copy
import shlex
import shutil
import unicodedata
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell
from nbgrader.api import Gradebook

from autograder.course import Course
from autograder.feedback import feedback, visible_text
from autograder.grade import grade
from autograder.sandbox import sandbox_problem
from autograder.submissions import WRITTEN_ANSWER, solved, submit, untouched
from released import released_course

KIT = Course(Path(__file__).resolve().parents[1])
LAB = "lab1_initialization"
PROBLEM = sandbox_problem()
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("clumsy"),
              pytest.mark.skipif(PROBLEM is not None, reason=f"no sandbox possible here: {PROBLEM}")]


def grade_id(cell):
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def index_of(nb, name):
    return next(i for i, cell in enumerate(nb.cells) if grade_id(cell) == name)


def changed(nb, change):
    nb = copy.deepcopy(nb)
    change(nb)
    return nb


def exercise_rewritten(nb):
    """predict's answer cell and its test deleted, the answer typed again into a new cell in the same place."""
    answer = nb.cells[index_of(nb, "predict")].source
    del nb.cells[index_of(nb, "test_predict")]
    at = index_of(nb, "predict")
    nb.cells[at] = new_code_cell(answer)


def exercise_deleted(nb):
    del nb.cells[index_of(nb, "test_predict")]
    del nb.cells[index_of(nb, "predict")]


def metadata_dropped(nb):
    for cell in nb.cells:
        cell.metadata = {}


def is_answer(cell, written):
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return bool(meta.get("solution")) and (cell.cell_type == "markdown") == written


def code_answers_unmarked(nb):
    """The metadata of the answer cells that hold the functions dropped, as some editors save a cell they changed."""
    for cell in nb.cells:
        if is_answer(cell, written=False):
            cell.metadata = {}


def answer_unplaced(nb):
    """The written answers' metadata dropped, and a note of the student's own after the second answer: two cells
    could be that answer."""
    at = index_of(nb, "reflect_random")
    for cell in nb.cells:
        if is_answer(cell, written=True):
            cell.metadata = {}
    nb.cells.insert(at + 1, new_markdown_cell("(A note to myself: check this answer again.)"))


def windows_line_endings(tests_only):
    """VS Code on Windows saves "\\r\\n" inside the cells' text (of the test cells, say, when it reformats them)."""
    def change(nb):
        for cell in nb.cells:
            meta = cell.get("metadata", {}).get("nbgrader", {})
            if not tests_only or (meta.get("grade") and not meta.get("solution")):
                cell.source = cell.source.replace("\n", "\r\n")
    return change


def crlf_unmarked(nb):
    windows_line_endings(tests_only=False)(nb)
    metadata_dropped(nb)


def cell_from_another_lab(nb):
    """A test cell of Lab 4 pasted in with its metadata (JupyterLab copies them), after predict's test."""
    meta = {"grade": True, "grade_id": "test_gate_backward", "locked": True, "points": 2, "schema_version": 3,
            "solution": False, "task": False}
    pasted = new_code_cell("print('a cell of Lab 4')", metadata={"nbgrader": meta})
    nb.cells.insert(index_of(nb, "test_predict") + 1, pasted)


def made_ungraded(nb):
    nb.cells[index_of(nb, "test_predict")].metadata.nbgrader["grade"] = False


def metadata_null(nb):
    nb.cells[index_of(nb, "test_predict")].metadata["nbgrader"] = None


def colab_download(nb):
    """As Google Colab saves a notebook: its own metadata, no cell ids, an id in each cell's metadata."""
    nb.metadata = {"colab": {"provenance": []}, "kernelspec": {"name": "python3", "display_name": "Python 3"},
                   "language_info": {"name": "python"}}
    nb.nbformat_minor = 0
    for number, cell in enumerate(nb.cells):
        cell.pop("id", None)
        cell.metadata["id"] = f"cell{number:04d}"


def old_format(nb):
    nb.nbformat_minor = 2
    for cell in nb.cells:
        cell.pop("id", None)


def conda_kernel(nb):
    nb.metadata["kernelspec"] = {"name": "conda-env-nn-py", "display_name": "Python [conda env:nn]",
                                 "language": "python"}


def to_markdown(name):
    def change(nb):
        cell = nb.cells[index_of(nb, name)]
        cell.cell_type = "markdown"
        cell.pop("outputs", None)
        cell.pop("execution_count", None)
    return change


CODE_ANSWERS = ["initialize_parameters", "forward_propagation", "compute_cost", "backward_propagation",
                "update_parameters", "nn_model", "predict"]
TESTS = [f"test_{name}" for name in CODE_ANSWERS]
WRITTEN = ["reflect_symmetry", "reflect_random", "reflect_scale", "reflect_experiment"]
CHANGES = {  # student -> (change, status, what the detail names)
    "José García": (lambda nb: None, "graded", ""),
    "exercise_rewritten": (exercise_rewritten, "tests_changed", "deleted test cell(s) test_predict: put back and graded"),
    "exercise_deleted": (exercise_deleted, "tests_changed", "deleted test cell(s) test_predict: put back and graded"),
    "metadata_dropped": (metadata_dropped, "tests_changed", "their nbgrader metadata were lost"),
    "colab_download": (colab_download, "graded", ""),
    "old_format": (old_format, "graded", ""),
    "王伟": (conda_kernel, "graded", ""),
    "answer_made_markdown": (to_markdown("predict"), "graded", ""),
    "test_made_markdown": (to_markdown("test_predict"), "tests_changed", "edited test cell(s) test_predict"),
    "code_answers_unmarked": (code_answers_unmarked, "graded", f"answer cell(s) {', '.join(CODE_ANSWERS)}: their "
                              "nbgrader metadata were lost (saved by another editor?); found in their place and "
                              "graded as the student's answers"),
    "answer_unplaced": (answer_unplaced, "graded", "written answer(s) reflect_random: their nbgrader metadata were "
                        "lost and several cells could be the student's answer"),
    "crlf_tests": (windows_line_endings(tests_only=True), "graded", ""),
    "crlf_everywhere": (windows_line_endings(tests_only=False), "graded", ""),
    "crlf_unmarked": (crlf_unmarked, "tests_changed", f"unmarked test cell(s) {', '.join(TESTS)}: their nbgrader "
                      "metadata were lost"),
    "cell_from_another_lab": (cell_from_another_lab, "graded", ""),
    "test_made_ungraded": (made_ungraded, "tests_changed", "edited test cell(s) test_predict: graded as released"),
    "metadata_null": (metadata_null, "tests_changed", "unmarked test cell(s) test_predict: their nbgrader metadata were "
                      "lost"),
}


APPLE_DOUBLE = b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        "  # the start of a Mac's ._<name> file
PATTERN_ID = "li[1]"  # a folder name nbgrader would read as a pattern (it would match li1/)
MAC_ID = unicodedata.normalize("NFD", "María López")  # a folder a Mac named: í and ó as i and o with a mark
OLD_COPY = "kept_an_old_course_utils"  # course_utils/ copied beside the notebook from a release without stand_ins


def copy_old_course_utils(folder):
    """course_utils as a release before ``checks.stand_ins`` had it, copied into ``folder`` (as a student might, whom
    pip failed)."""
    shutil.copytree(KIT.root / "course_utils", folder / "course_utils", ignore=shutil.ignore_patterns("__pycache__"))
    checks = folder / "course_utils" / "checks.py"
    text = checks.read_text(encoding="utf-8")
    assert text.count("def stand_ins(") == 1
    checks.write_text(text.replace("def stand_ins(", "def _not_yet_written("), encoding="utf-8")


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    course = released_course(KIT, tmp_path_factory.mktemp("clumsy") / "Cursos de año" / "Redes Neuronales", [LAB])
    good = solved(course, LAB)
    for student, (change, _, _) in CHANGES.items():
        submit(course, student, LAB, changed(good, change))
    submit(course, PATTERN_ID, LAB, good)
    submit(course, MAC_ID, LAB, good)
    submit(course, OLD_COPY, LAB, good)
    copy_old_course_utils(course.submission_dir(OLD_COPY, LAB))
    submit(course, "worked_in_a_copy", LAB, untouched(course, LAB))  # JupyterLab's File > Duplicate, then worked there
    nbformat.write(good, course.submission_dir("worked_in_a_copy", LAB) / f"{LAB}-Copy1.ipynb")
    submit(course, "downloaded_again", LAB, good)  # the browser named the second download "... (1).ipynb"
    folder = course.submission_dir("downloaded_again", LAB)
    (folder / f"{LAB}.ipynb").rename(folder / f"{LAB} (1).ipynb")
    submit(course, "unpacked_a_folder_down", LAB, good)  # the student's zip held the lab's folder
    folder = course.submission_dir("unpacked_a_folder_down", LAB)
    (folder / LAB).mkdir()
    (folder / f"{LAB}.ipynb").rename(folder / LAB / f"{LAB}.ipynb")
    for student in ("worked_in_a_copy", "downloaded_again"):  # unpacked from an archive made on a Mac
        for notebook in course.submission_dir(student, LAB).glob("*.ipynb"):
            (notebook.parent / f"._{notebook.name}").write_bytes(APPLE_DOUBLE)
    outcomes = {o.student: o for o in grade(course, LAB, workers=2, progress=False, skip_canary=True)}
    return course, outcomes


def points_of(course, name):
    source = nbformat.read(course.source_notebook(LAB), as_version=4)
    return float(source.cells[index_of(source, name)].metadata.nbgrader.points)


@pytest.mark.parametrize("student", CHANGES)
def test_each_gets_the_points_its_work_earns_and_a_status_saying_what_happened(graded, student):
    course, outcomes = graded
    full = outcomes["José García"].score
    assert full > 0
    earned = full - points_of(course, "test_predict") if student == "exercise_deleted" else full
    _, status, named = CHANGES[student]
    outcome = outcomes[student]
    assert (outcome.status, outcome.score) == (status, earned), outcome.detail
    assert named in outcome.detail and "nbgrader could not grade it" not in outcome.detail


def test_a_student_id_nbgrader_cannot_use_says_which_folder_to_rename(graded):
    course, outcomes = graded
    outcome = outcomes[PATTERN_ID]
    assert outcome.status == "grading_error" and outcome.detail == (
        "nbgrader cannot grade a student id that contains '[' (it reads the id as a pattern when it looks for the "
        f"notebook): rename the folder submitted/li[1]/ (to li_1, say) and grade again: mv -T "
        f"{shlex.quote(str(course.root / 'submitted' / PATTERN_ID))} "
        f"{shlex.quote(str(course.root / 'submitted' / 'li_1'))}")


def test_a_student_id_a_mac_wrote_says_how_to_rename_it_even_when_asked_for_as_typed(graded):
    course, outcomes = graded
    expected = (f"the folder name submitted/{MAC_ID}/ writes its accents as separate marks, as a Mac does, not as "
                "the single characters that Linux, learning platforms and keyboards use: nbgrader would record an id "
                "that looks like María López but is not the same text, and the student could appear twice in the "
                "grades. Rename the folder and grade again: "
                f"mv -T {shlex.quote(str(course.root / 'submitted' / MAC_ID))} "
                f"{shlex.quote(str(course.root / 'submitted' / 'María López'))}")
    outcome = outcomes[MAC_ID]
    assert (outcome.status, outcome.detail) == ("grading_error", expected)
    asked = grade(course, LAB, workers=1, progress=False, skip_canary=True, students=["María López"])
    assert [(o.student, o.status, o.detail) for o in asked] == [(MAC_ID, "grading_error", expected)]


def test_a_notebook_under_another_name_is_named_with_what_to_do(graded):
    course, outcomes = graded

    def mv(old: str, new: str) -> str:  # to paste from any folder
        return f"mv -T {shlex.quote(str(course.root / old))} {shlex.quote(str(course.root / new))}"

    copy, folder = outcomes["worked_in_a_copy"], f"submitted/worked_in_a_copy/{LAB}"  # its 0 is not its work's
    assert copy.status == "missing_notebook" and copy.score == 0 and copy.detail == (
        f"{LAB}.ipynb in {folder}/ is the released notebook untouched (none of its cells differs from "
        f"release/{LAB}/{LAB}.ipynb), so it would score 0; the student's work seems to be in {LAB}-Copy1.ipynb, not "
        f"graded: if it is, rename it over the untouched one and grade again: "
        + mv(f"{folder}/{LAB}-Copy1.ipynb", f"{folder}/{LAB}.ipynb"))
    renamed = outcomes["downloaded_again"]
    assert renamed.status == "missing_notebook" and renamed.detail == (
        f"expected {LAB}.ipynb in submitted/downloaded_again/{LAB}/: found {LAB} (1).ipynb instead; if it is the "
        f"student's work, rename it and grade again: "
        + mv(f"submitted/downloaded_again/{LAB}/{LAB} (1).ipynb", f"submitted/downloaded_again/{LAB}/{LAB}.ipynb"))
    down, down_folder = outcomes["unpacked_a_folder_down"], f"submitted/unpacked_a_folder_down/{LAB}"
    assert down.status == "missing_notebook" and down.detail == (
        f"expected {LAB}.ipynb in submitted/unpacked_a_folder_down/{LAB}/: found {LAB}/{LAB}.ipynb instead; if it is "
        f"the student's work, move it and grade again: "
        + mv(f"{down_folder}/{LAB}/{LAB}.ipynb", f"{down_folder}/{LAB}.ipynb"))


def test_a_copy_of_course_utils_beside_the_notebook_is_not_what_it_is_graded_with(graded):
    """The kernel imports the course's course_utils: the work gets its points and a clean run (before, the older copy
    was imported, the judge could not start in the kernel, and every test said "the notebook's kernel stopped
    answering the tests": 0 points, no detail)."""
    course, outcomes = graded
    outcome = outcomes[OLD_COPY]
    assert (outcome.status, outcome.score, outcome.detail) == ("graded", outcomes["José García"].score, "")
    assert [(i, o.get("ename"), o.get("evalue")) for i, c in enumerate(autograded(course, OLD_COPY).cells)
            for o in c.get("outputs", []) if o.output_type == "error"] == []


def test_a_deleted_test_is_put_back_after_the_answer_rewritten_in_its_place(graded):
    course, _ = graded
    nb = nbformat.read(course.autograded_notebook("exercise_rewritten", LAB), as_version=4)
    test = index_of(nb, "test_predict")
    assert "def predict(" in nb.cells[test - 1].source
    assert not any(out.get("output_type") == "error" for out in nb.cells[test].outputs)


@pytest.fixture(scope="module")
def shown(graded):
    """student -> the visible text of their feedback page."""
    course, _ = graded
    pages = feedback(course, LAB, allow_pending=True)
    return {page.parent.parent.name: " ".join(visible_text(page.read_text()).split()) for page in pages}


def autograded(course, student):
    return nbformat.read(course.autograded_notebook(student, LAB), as_version=4)


def test_each_student_gets_a_feedback_page(shown):
    assert set(shown) == {*CHANGES, PATTERN_ID, MAC_ID, OLD_COPY, "worked_in_a_copy", "downloaded_again",
                          "unpacked_a_folder_down"}
    # the student who worked in a copy reads why there is no score and what to rename; the others read nothing of
    # the kind (test_submission_mixups.py has the page of work in the notebook to grade, beside a copy)
    assert (f"The file {LAB}.ipynb you submitted is the lab's notebook as it was handed out: none of its cells was "
            "changed, so it was not graded (it would score 0). Your work seems to be in this notebook, which you "
            f"submitted beside it and which the grader does not grade: {LAB}-Copy1.ipynb") in shown["worked_in_a_copy"]
    assert f"rename it to {LAB}.ipynb (in place of the untouched one) and submit it again" in shown["worked_in_a_copy"]
    assert not any("Your work seems to be in" in text or "was not graded:" in text
                   for student, text in shown.items() if student != "worked_in_a_copy")


def test_answers_whose_metadata_were_lost_are_graded_as_the_students_own(graded, shown):
    """Google Colab drops every cell's metadata: each answer is found in its place (the cell between its question and
    the next cell, both unchanged) and graded as the student's; nbgrader adds no empty copy of it."""
    course, outcomes = graded
    restored = (f"answer cell(s) {', '.join(CODE_ANSWERS + WRITTEN)}: their nbgrader metadata were lost (saved by "
                "another editor?); found in their place and graded as the student's answers")
    release = nbformat.read(course.release_notebook(LAB), as_version=4)
    graded_ids = CODE_ANSWERS + TESTS + WRITTEN
    with Gradebook(course.db_url()) as gb:
        for student in ("metadata_dropped", "crlf_unmarked", "code_answers_unmarked"):
            nb = autograded(course, student)
            for name in WRITTEN:  # what the formgrader shows of it: the student's text
                (cell,) = [cell for cell in nb.cells if grade_id(cell) == name]
                assert cell.source == WRITTEN_ANSWER, (student, name)
                grade = gb.find_grade(name, LAB, LAB, student)  # the formgrader asks for a hand grade of it
                assert grade.needs_manual_grade and grade.auto_score is None and grade.manual_score is None
            for name in CODE_ANSWERS:
                (cell,) = [cell for cell in nb.cells if grade_id(cell) == name]
                assert f"def {name}(" in cell.source and "NotImplementedError" not in cell.source
            assert len(nb.cells) == len(release.cells)  # no cell added: each answer and test is there once
            assert [grade_id(cell) for cell in nb.cells if grade_id(cell) in graded_ids] == [
                grade_id(cell) for cell in release.cells if grade_id(cell) in graded_ids]
            assert not any("YOUR ANSWER HERE" in cell.source for cell in nb.cells)
            assert "changed this test cell" not in shown[student] and "lost the marks" not in shown[student]
    for student in ("metadata_dropped", "crlf_unmarked"):
        assert restored in outcomes[student].detail
        assert outcomes[student].lost_answers == {"restored": CODE_ANSWERS + WRITTEN}


def test_an_answer_whose_place_is_not_clear_is_named_for_the_instructor_the_grader_and_the_student(graded, shown):
    course, outcomes = graded
    outcome = outcomes["answer_unplaced"]
    assert outcome.lost_answers == {"restored": ["reflect_symmetry", "reflect_scale", "reflect_experiment"],
                                    "unplaced": ["reflect_random"]}
    assert ("answer cell(s) reflect_symmetry, reflect_scale, reflect_experiment: their nbgrader metadata were lost"
            in outcome.detail)
    assert ("written answer(s) reflect_random: their nbgrader metadata were lost and several cells could be the "
            "student's answer; an empty copy was put back to grade by hand: look for the answer in the cells near it"
            in outcome.detail)
    nb = autograded(course, "answer_unplaced")
    for name in ("reflect_symmetry", "reflect_scale", "reflect_experiment"):
        assert nb.cells[index_of(nb, name)].source == WRITTEN_ANSWER
    at = index_of(nb, "reflect_random")  # the copy the formgrader shows says where to look; the answer is after it
    assert nb.cells[at].source.startswith("This cell (id:reflect_random) was missing from the submission.")
    assert "The student's answer may be in a cell near this one" in nb.cells[at].source
    assert [cell.source for cell in nb.cells[at + 1:at + 3]] == [
        WRITTEN_ANSWER, "(A note to myself: check this answer again.)"]
    assert ("the cell of your answer had lost the marks that tell the grader which cell holds it"
            in shown["answer_unplaced"])


def test_windows_line_endings_in_the_cells_change_no_test(graded, shown):
    course, outcomes = graded
    for student in ("crlf_tests", "crlf_everywhere"):
        assert outcomes[student].changed_tests == {}
        assert "changed this test cell" not in shown[student] and "changed" not in outcomes[student].detail
        assert not any("\r" in cell.source for cell in autograded(course, student).cells)
    assert "deleted" not in outcomes["crlf_unmarked"].detail  # its tests are found by their text


def test_a_folder_renamed_as_told_is_graded_and_its_old_page_goes(graded):
    course, _ = graded
    assert course.feedback_dir(MAC_ID, LAB).is_dir()  # the page that says the folder cannot be graded
    course.submission_dir(MAC_ID, LAB).parent.rename(course.root / "submitted" / "María López")
    (renamed,) = grade(course, LAB, workers=1, progress=False, skip_canary=True, students=["María López"])
    assert (renamed.student, renamed.status) == ("María López", "graded")
    pages = feedback(course, LAB, allow_pending=True)
    students = {page.parent.parent.name for page in pages}
    assert "María López" in students and MAC_ID not in students  # on old code: both, one a stale page
    assert not course.feedback_dir(MAC_ID, LAB).exists()
    assert course.feedback_dir("worked_in_a_copy", LAB).is_dir()  # the others' pages stay
