"""``feedback`` hands out no secret text: a page whose graded notebook shows, in its outputs, solution,
hidden test or model answer lines of any lab in source/ is deleted and the command fails, saying
whose and where; a correct submission, whose code rightly equals the solution, gets its page, and so does one
whose outputs hold a secret line within a longer line of its own code.

Real grading (without the sandbox, so that a kernel can read the instructor's files) and nbgrader's
real feedback.
"""
import copy
import shutil
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook
from traitlets.config import Config

from autograder.course import Course, CourseError
from autograder.feedback import course_secrets, feedback, output_text, secret_outputs, visible_text
from autograder.grade import grade
from autograder.submissions import solved, submit, untouched
from released import released_course

KIT = Course(Path(__file__).resolve().parents[1])
LAB, OTHER = "lab1_initialization", "lab2_learning_rates"
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("feedback")]

PRINT_A_SOLUTION = """
import json
cells = json.load(open({path!r}))["cells"]
print("".join(next(c["source"] for c in cells if c["cell_type"] == "code"
                   and c["metadata"].get("nbgrader", {{}}).get("solution"))))
"""
SHAPE_ERROR = 'forward_propagation(np.ones((5, 3)), initialize_parameters(2, 4, 1, "random"))'


def cell_index(nb, grade_id):
    return next(i for i, cell in enumerate(nb.cells)
                if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id)


def page(course, student):
    return course.feedback_dir(student, LAB) / f"{LAB}.html"


def test_a_page_showing_another_labs_solution_is_deleted_and_the_command_says_whose_and_where(tmp_path):
    course = released_course(KIT, tmp_path / "course", [LAB, OTHER], released=[LAB])  # a copy of the process's one release of the lab
    good = solved(course, LAB)
    honest = copy.deepcopy(good)  # ends with a traceback that quotes the student's own (solution) code
    honest.cells.append(new_code_cell(SHAPE_ERROR))
    submit(course, "alice", LAB, honest)
    leaking = copy.deepcopy(good)
    at = cell_index(leaking, "initialize_parameters")
    leaking.cells[at].source += PRINT_A_SOLUTION.format(path=str(course.source_notebook(OTHER)))
    submit(course, "mallory", LAB, leaking)
    submit(course, "bob", LAB, untouched(course, LAB))  # its traceback quotes a line holding one of OTHER's secrets
    outcomes = {o.student: o for o in grade(course, LAB, workers=2, progress=False, sandbox=False, skip_canary=True)}
    assert outcomes["alice"].score == outcomes["mallory"].score > 0

    with pytest.raises(CourseError) as error:
        feedback(course, LAB, allow_pending=True)
    message = str(error.value)
    assert message.startswith(f"The feedback page of mallory for {LAB} was deleted")
    assert f"cell {at + 1} (initialize_parameters) shows secret text of {OTHER}" in message
    assert str(course.submission_dir("mallory", LAB)) in message and "alice" not in message and "bob" not in message
    secrets = course_secrets(course)
    assert not [line for line in secrets if line in message]  # where, never what
    assert not page(course, "mallory").exists()

    # no false alarm: alice's traceback shows her code, which equals solution lines of the lab; bob left Lab 1
    # untouched, and his traceback quotes `trained, histories = {}, {}`, in which `histories = {}` is a line of
    # Lab 2's solution
    assert page(course, "alice").exists() and page(course, "bob").exists()
    bobs = nbformat.read(course.autograded_notebook("bob", LAB), as_version=4)
    shown = "".join(output_text(output) for cell in bobs.cells for output in cell.get("outputs", []))
    assert [line for line, labs in secrets.items() if labs == [OTHER] and line in shown]
    graded = nbformat.read(course.autograded_notebook("alice", LAB), as_version=4)
    traceback = "".join(output_text(output) for output in graded.cells[-1].outputs)
    assert [line for line, labs in secrets.items() if LAB in labs and line in traceback]
    shutil.rmtree(course.submission_dir("mallory", LAB))
    shutil.rmtree(course.autograded_notebook("mallory", LAB).parent)
    assert feedback(course, LAB, allow_pending=True) == [page(course, "alice"), page(course, "bob")]


GUESS = "My guess at the hidden test, from the docs: `hidden_lab1.check_predict(predict)`."
WITHOUT_CLEARING = ("\nc.GenerateFeedback.preprocessors = [p for p in c.GenerateFeedback.preprocessors "
                    "if p is not ClearHiddenTests]\n")


def test_a_hidden_test_line_the_student_wrote_is_no_leak_but_hidden_tests_reaching_the_page_are(tmp_path):
    """A written answer that quotes a hidden test's line (guessable from the docs) is the student's own text on their
    page, which made the command fail and delete the page; the gradebook's hidden tests on the page still do."""
    course = released_course(KIT, tmp_path / "course", [LAB])
    guessed = solved(course, LAB)
    guessed.cells[cell_index(guessed, "reflect_symmetry")].source = GUESS
    submit(course, "grace", LAB, guessed)
    grade(course, LAB, workers=1, progress=False, sandbox=False, skip_canary=True)
    assert feedback(course, LAB, allow_pending=True) == [page(course, "grace")]
    assert "hidden_lab1.check_predict(predict)" in visible_text(page(course, "grace").read_text())

    config = course.root / "nbgrader_config.py"  # a configuration that lost the removal of hidden tests from pages
    config.write_text(config.read_text() + WITHOUT_CLEARING)
    with pytest.raises(CourseError, match=r"^Hidden test code reached the feedback page .*, which was deleted\.$"):
        feedback(course, LAB, allow_pending=True)
    assert not page(course, "grace").exists()


def test_a_traceback_through_course_utils_shows_no_secret(tmp_path):
    """A training cell stopped at its time limit: the interrupt can land on any line of course_utils' training loop,
    and the traceback quotes the lines around it, one of which is also in Lab 5's solution. Students have
    course_utils: that line gives nothing away. (Here the interrupt comes from the batches, at the loop's top.)"""
    nb = new_notebook(cells=[new_code_cell(
        "import numpy as np\nimport course_utils.training as training\n\n"
        "def stopped(*args):\n    raise KeyboardInterrupt\n\n"
        "training._minibatches = stopped\n"
        "training.fit(lambda params, X, y: (0.0, {'W': params['W']}), {'W': np.zeros((3, 1))}, np.zeros((8, 3)), "
        "np.zeros(8, dtype=np.int64), epochs=1, progress=False)")])
    unix_sockets = Config({"KernelManager": {"transport": "ipc", "ip": str(tmp_path / "kernel")}})  # no port race
    NotebookClient(nb, kernel_name="python3", allow_errors=True, timeout=120, config=unix_sockets).execute()
    shown = output_text(nb.cells[0].outputs[-1])
    assert "KeyboardInterrupt" in shown and "for epoch in range(1, epochs + 1):" in shown
    assert secret_outputs(nb, course_secrets(KIT)) == []


def test_feedback_on_a_lab_without_submissions_says_there_are_none(tmp_path, capsys):
    """A lab not collected yet (or a typo of the right folder): "Wrote 0 feedback page(s)" alone looked like success."""
    from autograder.cli import main
    course = released_course(KIT, tmp_path / "course", [LAB])
    assert main(["--root", str(course.root), "feedback", LAB]) == 0
    said = capsys.readouterr()
    assert said.out.startswith("Wrote 0 feedback page(s)")
    assert said.err == (f"There is no submission of {LAB} in {course.root / 'submitted'} (one folder per student, "
                        f"submitted/<student>/{LAB}/): collect them, grade them, then give feedback.\n")

