"""The grade table's question columns when labs share grade ids.

Labs 3 and 4 both have a question ``test_softmax_cross_entropy`` (3 and 2 points), and every lab a written
``reflect_experiment``: in a table of several labs, one column per grade id put different questions, with different
points, under one heading (an LMS import of that column mixed them). Each lab's question now has a column of its own.
The gradebook is nbgrader's, filled through its API as grading fills it (no notebook is run here).
"""
import csv
import io
import warnings
from pathlib import Path

from nbgrader.api import Gradebook
from sqlalchemy.exc import SAWarning

from autograder.cli import main
from autograder.course import Course
from autograder.demo import scratch_course
from autograder.export import export, question_ids
from autograder.release import release_lab
from autograder.submissions import solved, submit

KIT = Course(Path(__file__).resolve().parents[1])
LABS = ["lab3_loss_functions", "lab4_backprop"]
SHARED = "test_softmax_cross_entropy"


def graded_course(tmp_path) -> Course:
    """Labs 3 and 4 released, one submission of each by ana, scored as grading and then the formgrader would: each
    test of lab 3 its points, each of lab 4 one point less (at least 0); each written answer 1 point by hand."""
    course = scratch_course(KIT, tmp_path / "course", LABS)
    for lab in LABS:
        assert release_lab(course, lab) == []
        submit(course, "ana", lab, solved(course, lab))
    with Gradebook(course.db_url()) as gb, warnings.catch_warnings():
        warnings.simplefilter("ignore", SAWarning)  # nbgrader's own, as grading workers ignore it
        gb.add_student("ana")
        for lab in LABS:
            submission = gb.add_submission(lab, "ana")
            for grade in submission.notebooks[0].grades:
                points = float(grade.max_score)
                grade.auto_score = points if lab == LABS[0] else max(0.0, points - 1)
                if grade.cell.cell_type == "markdown":
                    grade.manual_score = 1.0
                grade.needs_manual_grade = False
        gb.db.commit()
    return course


def table(text: str) -> tuple[list[str], dict[str, dict]]:
    rows = list(csv.DictReader(io.StringIO(text)))
    return list(rows[0]), {row["lab"]: row for row in rows}


def test_each_labs_question_has_its_own_column_when_labs_share_a_grade_id(tmp_path):
    course = graded_course(tmp_path)
    with Gradebook(course.db_url()) as gb:
        points = {lab: {grade.name: float(grade.max_score)
                        for grade in gb.find_submission(lab, "ana").notebooks[0].grades} for lab in LABS}
    assert points[LABS[0]][SHARED] != points[LABS[1]][SHARED], "the two labs' questions should differ in points"

    header, rows = table(export(course))
    assert SHARED not in header and "reflect_experiment" not in header
    for lab in LABS:
        assert rows[lab][f"{lab}/{SHARED}"] == f"{points[lab][SHARED] - (lab == LABS[1]):g}"
        assert rows[lab][f"{lab}/reflect_experiment"] == "1"
        other = LABS[1 - LABS.index(lab)]
        assert rows[lab][f"{other}/{SHARED}"] == "", "a lab's row has no score in another lab's column"
    only_lab4 = set(question_ids(course, LABS[1])) - set(question_ids(course, LABS[0]))
    assert only_lab4 and only_lab4 <= set(header), "a grade id of one lab only keeps its plain name"

    # one lab alone, as an LMS import of that lab takes it: its grade ids, unqualified, and its rows only
    out = tmp_path / "lab4.csv"
    assert main(["--root", str(course.root), "export", LABS[1], "--out", str(out)]) == 0
    header, rows = table(out.read_text())
    assert list(rows) == [LABS[1]]
    assert header[2:-3] == question_ids(course, LABS[1])
    assert rows[LABS[1]][SHARED] == f"{points[LABS[1]][SHARED] - 1:g}"
