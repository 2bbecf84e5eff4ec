"""A test fixed and the lab released again after students started: those who worked on the first release are
graded by the fixed test without being told they edited it; a student who did edit a test still is."""
import copy
import re
import shutil
from pathlib import Path

import nbformat
import pytest

from autograder.cli import main
from autograder.course import Course, CourseError
from autograder.demo import scratch_course
from autograder.doctor import doctor
from autograder.grade import grade
from autograder.records import load_record
from autograder.release import out_of_sync, release_lab
from autograder.sandbox import sandbox_problem
from autograder.submissions import solved, submit
from released import released_course

KIT = Course(Path(__file__).resolve().parents[1])
LAB = "lab1_initialization"
PROBLEM = sandbox_problem()


def grade_id(cell):
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


@pytest.mark.slow
@pytest.mark.skipif(PROBLEM is not None, reason=f"no sandbox possible here: {PROBLEM}")
def test_students_who_started_from_the_first_release_are_not_told_they_edited_the_fixed_test(tmp_path):
    course = released_course(KIT, tmp_path, [LAB])  # the first release: a copy of the process's one release
    assert not course.earlier_releases_dir(LAB).exists()  # nothing released before it to keep
    first = solved(course, LAB)
    tampered = copy.deepcopy(first)
    next(cell for cell in tampered.cells if grade_id(cell) == "test_compute_cost").source = "pass"
    submit(course, "worked_on_the_first", LAB, first)
    submit(course, "edited_a_test", LAB, tampered)

    source = nbformat.read(course.source_notebook(LAB), as_version=4)  # the instructor fixes a test
    next(cell for cell in source.cells if grade_id(cell) == "test_predict").source += "\nprint('predict: fixed')"
    nbformat.write(source, course.source_notebook(LAB))
    with pytest.raises(CourseError, match=rf"^source/{LAB} changed since the lab was released \(test_predict was "
                       rf"edited\), and nbgrader grades by the tests recorded at release: "
                       rf"students would be graded by the old ones. Nothing was graded. Release it again "
                       rf"\({re.escape(course.command('release', LAB))}\), then grade"):
        grade(course, LAB, workers=2, progress=False)  # before: the canary failed, and its advice was the doctor's
    assert load_record(course, LAB, "worked_on_the_first") is None
    assert release_lab(course, LAB) == []
    assert len(list(course.earlier_releases_dir(LAB).glob("*.ipynb"))) == 1
    assert release_lab(course, LAB) == []  # the same release again keeps nothing more
    assert len(list(course.earlier_releases_dir(LAB).glob("*.ipynb"))) == 1

    outcomes = {o.student: o for o in grade(course, LAB, workers=2, progress=False)}
    honest, edited = outcomes["worked_on_the_first"], outcomes["edited_a_test"]
    assert (honest.status, honest.detail) == ("graded", "") and honest.score > 0
    graded = nbformat.read(course.autograded_notebook("worked_on_the_first", LAB), as_version=4)
    test = next(cell for cell in graded.cells if grade_id(cell) == "test_predict")
    assert "predict: fixed" in "".join(output.get("text", "") for output in test.outputs)  # graded by the fix
    assert edited.status == "tests_changed" and edited.detail.startswith("edited test cell(s) test_compute_cost:")
    assert edited.score == honest.score


@pytest.mark.parametrize("skip_canary", [False, True])
def test_a_change_of_the_hidden_tests_or_points_alone_is_not_graded_by_the_old_release(tmp_path, skip_canary, capsys):
    """release/ does not hold hidden tests, so a change of them alone leaves it as it was; nbgrader grades by the
    gradebook's copy of each test, so students would be graded by the old one (as they were, even with no canary)."""
    course = released_course(KIT, tmp_path, [LAB])  # a copy of the process's one release of the lab
    submit(course, "ana", LAB, solved(course, LAB))
    source = nbformat.read(course.source_notebook(LAB), as_version=4)
    test = next(cell for cell in source.cells if grade_id(cell) == "test_predict")
    test.source = test.source.replace("### END HIDDEN TESTS", "hidden_lab1.check_predict(predict)\n### END HIDDEN TESTS")
    nbformat.write(source, course.source_notebook(LAB))
    assert out_of_sync(course, LAB) == []  # release/ is what source/ generates: nothing there to see
    assert main(["--root", str(course.root), "release", "--check", LAB]) == 1  # but the gradebook's tests are old
    assert capsys.readouterr().out.splitlines() == [
        f"{LAB}: OUT OF SYNC: release it again ({course.command('release', LAB)})",
        "  the gradebook's tests: test_predict's hidden tests were edited"]
    if not skip_canary:
        report, healthy = doctor(course, sandbox=False)  # with no lab named: it looks at every lab released
        assert not healthy and f"[PROBLEM] source/{LAB} changed since it was released (test_predict's hidden tests " \
            "were edited): grade refuses" in report
    next(cell for cell in source.cells if grade_id(cell) == "test_compute_cost").metadata.nbgrader.points = 4
    nbformat.write(source, course.source_notebook(LAB))
    with pytest.raises(CourseError, match=r"changed since the lab was released \(test_compute_cost is worth 4 points, "
                       r"released with 1; test_predict's hidden tests were edited\).*Nothing was graded"):
        grade(course, LAB, workers=1, progress=False, sandbox=False, skip_canary=skip_canary)
    assert load_record(course, LAB, "ana") is None


def test_a_release_replaced_by_git_pull_before_the_lab_is_released_again_is_still_known(tmp_path):
    """A newer kit pulled with git replaces source/ and release/ at once: the student version that students have is
    gone from release/ before `release` could keep it. It is rebuilt from the tests the gradebook recorded, so those
    students are not told they edited the tests that changed (before: every student, a blank one too)."""
    course = released_course(KIT, tmp_path / "course", [LAB])  # the first release: a copy of the process's one
    submit(course, "worked_on_the_first", LAB, solved(course, LAB))
    source = nbformat.read(course.source_notebook(LAB), as_version=4)  # the newer kit's fixed test ...
    next(cell for cell in source.cells if grade_id(cell) == "test_predict").source += "\nprint('predict: fixed')"
    nbformat.write(source, course.source_notebook(LAB))
    newer = scratch_course(course, tmp_path / "newer", [LAB])  # ... and its release/, as committed upstream
    assert release_lab(newer, LAB) == []
    shutil.rmtree(course.root / "release" / LAB)
    shutil.copytree(newer.root / "release" / LAB, course.root / "release" / LAB)
    assert release_lab(course, LAB) == []  # as grade says to
    [outcome] = grade(course, LAB, workers=1, progress=False, sandbox=False, skip_canary=True)
    assert (outcome.status, outcome.detail) == ("graded", "") and outcome.score > 0
