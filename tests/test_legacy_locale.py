"""A grading server whose locale is not UTF-8 (es_CO.ISO-8859-1 in Latin America, zh_CN.GBK in China): the
commands read and write the course's files as nbgrader and JupyterHub write them, in UTF-8, students' names stay
theirs, and the terminal gets what it can show.

The locales come from the ``locales`` fixture (``conftest.py``, ``locales.py``).
"""
import csv
import io
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograder.course import Course
from autograder.sandbox import kernel_environment, sandbox_problem
from autograder.submissions import solved, submit, with_mistake
from locales import encoding, environment
from released import released_course

KIT = Course(Path(__file__).resolve().parents[1])
LAB = "lab1_initialization"
GREETING = "¡Hola, señora Núñez! 你好"  # printed by a cell a student added
UNSAFE = ["--unsafe-no-sandbox"] if sandbox_problem() else []  # without bubblewrap, these trusted samples unsandboxed


def command(locale: dict, root: Path, *args: str) -> subprocess.CompletedProcess:
    """``python -m autograder`` in ``locale``, its output read as the terminal reads it (in the locale's encoding)."""
    result = subprocess.run([sys.executable, "-m", "autograder", "--root", str(root), *args], env=environment(locale),
                            cwd=root, capture_output=True)
    return subprocess.CompletedProcess(result.args, result.returncode, result.stdout.decode(encoding(locale)),
                                       result.stderr.decode(encoding(locale)))


@pytest.mark.slow
def test_a_latin1_server_grades_students_whose_names_it_cannot_spell_and_writes_utf8(locales, tmp_path):
    """Folders named by the hub in UTF-8, one name outside ISO-8859-1: the gradebook, the table and the pages keep
    the names as they are, the pages show what the student wrote, and the terminal shows what it can."""
    latin1 = locales["ISO-8859-1"]
    course = released_course(KIT, tmp_path / "course", [LAB])
    mine = solved(course, LAB)
    mine.cells.append(nbformat.v4.new_code_cell(f"# años, niño: 完成\nprint({GREETING!r})"))
    submit(course, "josé.garcía", LAB, mine)
    submit(course, "王伟", LAB, with_mistake(course, LAB))

    graded = command(latin1, course.root, "grade", LAB, "--workers", "2", *UNSAFE)
    assert graded.returncode == 0 and "Traceback" not in graded.stderr, graded.stderr
    table = {line.split()[0]: line for line in graded.stdout.splitlines() if line.endswith("graded")}
    assert set(table) == {"josé.garcía", "\\u738b\\u4f1f"}  # 王伟 as the terminal can show it
    assert table["josé.garcía"].index(" / ") == table["\\u738b\\u4f1f"].index(" / ")  # the columns stay aligned
    assert "(`PYTHONUTF8=1 jupyter lab`, then Nbgrader > Formgrader)" in graded.stdout  # to grade the written answers
    doctor = command(latin1, course.root, "doctor", *UNSAFE)
    assert "[info] locale: this server's encoding is ISO-8859-1" in doctor.stdout and \
        "`export PYTHONUTF8=1` first" in doctor.stdout, doctor.stdout  # for the formgrader, which the kit cannot switch
    for step in (["feedback", LAB, "--allow-pending"], ["export"]):
        done = command(latin1, course.root, *step)
        assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr

    rows = {row["student_id"]: row for row in
            csv.DictReader(io.StringIO((course.root / "grades.csv").read_text(encoding="utf-8")))}
    assert set(rows) == {"josé.garcía", "王伟"}
    assert float(rows["王伟"]["total"]) < float(rows["josé.garcía"]["total"])
    page = course.feedback_dir("josé.garcía", LAB) / f"{LAB}.html"
    assert GREETING in page.read_text(encoding="utf-8")
    assert (course.feedback_dir("王伟", LAB) / f"{LAB}.html").is_file()


def test_a_student_kit_made_on_a_gbk_server_still_finds_answers_it_would_hand_out(locales, tmp_path):
    """Lab 2's ready-made network is Lab 1's answer (``test_student_kit.py``): the check reads the released
    notebooks, whose text is not ASCII, as they are, and says so whatever the locale."""
    made = command(locales["GBK"], KIT.root, "student-kit", "lab1_initialization", "lab2_learning_rates",
                   "--out", str(tmp_path / "both.zip"))
    assert made.returncode == 0, made.stderr
    assert "release/lab2_learning_rates shows" in made.stdout and "the solutions of lab1_initialization" in made.stdout


def test_a_notebook_saving_a_note_in_chinese_runs_in_grading_on_a_latin1_server_as_on_the_students_machine(
        locales, tmp_path):
    """Graded kernels get the grader's locale (here made visible as a system-wide one is) and still read and write
    files in UTF-8, as Python does on students' machines."""
    latin1 = locales["ISO-8859-1"]
    note = ascii("损失下降")  # in the code as escapes: a command line is decoded in the locale's encoding
    code = (f"import locale; open('note.txt', 'w').write({note}); "
            f"print(locale.setlocale(locale.LC_CTYPE), open('note.txt').read() == {note})")
    result = subprocess.run([sys.executable, "-c", code], env=kernel_environment(latin1) | {"LOCPATH": latin1["LOCPATH"]},
                            cwd=tmp_path, capture_output=True, text=True)
    assert result.stdout.split() == ["es_CO.ISO-8859-1", "True"], result.stderr
