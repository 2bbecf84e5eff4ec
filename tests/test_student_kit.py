"""The student kit holds the released labs and course_utils only: nothing a student must not see."""
import shlex
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

from autograder.course import Course, CourseError
from autograder.leaks import MARKERS, secret_lines
from autograder.student_kit import student_kit as student_kit_of

KIT = Course(Path(__file__).resolve().parents[1])


def student_kit(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "autograder", "--root", str(KIT.root), "student-kit", *args],
                          capture_output=True, text=True)


def test_the_student_kit_holds_every_released_lab_and_course_utils_and_no_instructor_text(tmp_path):
    out = tmp_path / "kit.zip"
    result = student_kit(*KIT.labs(), "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "lecture notebooks, which go out with every kit, show" not in result.stdout, result.stdout  # no answers
    archive = zipfile.ZipFile(out)
    assert {name.split("/")[0] for name in archive.namelist()} == {"kit"}  # unzipped, one folder named as the zip
    names = {name.removeprefix("kit/") for name in archive.namelist()}
    assert {f"release/{lab}/{lab}.ipynb" for lab in KIT.labs()} <= names
    assert {"student/pyproject.toml", "student/requirements.txt", "student/course_utils/__init__.py"} <= names
    assert not [n for n in names if n.split("/")[0] in ("source", "autograder", "tests") or "autograder/" in n]
    never_public = set().union(*(secret_lines(nbformat.read(KIT.source_notebook(lab), as_version=4),
                                              kinds=("BEGIN HIDDEN TESTS", "BEGIN MARK SCHEME")) for lab in KIT.labs()))
    assert never_public, "the labs have hidden tests and mark schemes to keep out"
    for name in names:
        try:
            text = archive.read(f"kit/{name}").decode()
        except UnicodeDecodeError:
            continue
        assert not [m for m in MARKERS if m in text], name
        assert "import autograder" not in text and "from autograder" not in text, name
        assert not [line for line in never_public if line in text], name
    for lab in KIT.labs():  # each lab's own solutions and model answers stay out of its student version
        own = secret_lines(nbformat.read(KIT.source_notebook(lab), as_version=4))
        nb = nbformat.reads(archive.read(f"kit/release/{lab}/{lab}.ipynb").decode(), as_version=4)
        text = "\n".join(cell.source for cell in nb.cells)  # as students read it (the file's JSON escapes quotes)
        assert own and not [line for line in own if line in text], lab


def test_a_course_root_without_the_student_package_gets_a_clear_error_and_no_archive(tmp_path):
    """An instructor's course root holding the labs but not student/ (course_utils and its requirements)."""
    root = tmp_path / "course"
    for folder in ("source", "release"):
        shutil.copytree(KIT.root / folder, root / folder)
    shutil.copy(KIT.root / "nbgrader_config.py", root)
    result = subprocess.run([sys.executable, "-m", "autograder", "--root", str(root), "student-kit",
                             "lab1_initialization"], capture_output=True, text=True)
    assert result.returncode != 0 and "Traceback" not in result.stderr, result.stderr
    assert "student package is missing" in result.stderr and "Copy student/" in result.stderr
    assert sorted(path.name for path in root.iterdir()) == ["nbgrader_config.py", "release", "source"]


def test_a_kit_holds_only_the_labs_named_and_says_which_show_answers_of_another(tmp_path):
    """Lab 2's ready-made network is Lab 1's answer: a kit of Lab 2 alone is fine once Lab 1 is due, a kit of both
    hands out Lab 1's answers with Lab 1, and the command says so."""
    result = student_kit()
    assert result.returncode != 0 and "Traceback" not in result.stderr, result.stderr
    assert "Name the labs" in result.stderr and "lab1_initialization" in result.stderr
    assert not (KIT.root / "student-kit.zip").exists()

    out = tmp_path / "lab2.zip"
    result = student_kit("lab2_learning_rates", "--out", str(out))
    assert result.returncode == 0, result.stderr
    labs = {name.split("/")[2] for name in zipfile.ZipFile(out).namelist() if name.startswith("lab2/release/")}
    assert labs == {"lab2_learning_rates"}
    assert "shows" not in result.stdout

    result = student_kit("lab1_initialization", "lab2_learning_rates", "--out", str(tmp_path / "both.zip"))
    assert result.returncode == 0, result.stderr
    assert "release/lab2_learning_rates shows" in result.stdout and "the solutions of lab1_initialization" in result.stdout


def test_a_lecture_notebook_that_shows_a_labs_solution_is_named(tmp_path):
    """Lecture notebooks go out with every kit, before any lab is due: an instructor's own one that shows a line of
    a lab's solution is named, with the line (notebooks are read as a student reads them: their JSON escapes
    quotes)."""
    root = tmp_path / "course"
    for folder in ("source", "release/lab1_initialization", "student", "notebooks"):
        shutil.copytree(KIT.root / folder, root / folder, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(KIT.root / "nbgrader_config.py", root)
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        'def layer(X, params):\n    Z1 = X @ params["W1"] + params["b1"]\n    return Z1')]), root / "notebooks" / "warmup.ipynb")
    result = subprocess.run([sys.executable, "-m", "autograder", "--root", str(root), "student-kit",
                             "lab1_initialization"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    named = [line.strip() for line in result.stdout.splitlines() if line.strip().startswith("notebooks/")]
    shown = repr('Z1 = X @ params["W1"] + params["b1"]')
    assert named == [f"notebooks/warmup.ipynb shows 1 line(s) of the solutions of {lab}, e.g. {shown}"
                     for lab in ("lab1_initialization", "lab5_cifar10_mlp")], result.stdout  # Lab 5 has it too


def test_labs_without_a_release_are_named_with_the_release_of_exactly_those(tmp_path, monkeypatch):
    """The command to paste releases the named labs that have no student version, not every lab of the course (a
    release of a lab not yet due is work for nothing, and a new release of one students have replaces theirs), on
    this course from wherever it is pasted (``--root``)."""
    root = tmp_path / "Redes neuronales d'Ana"
    shutil.copytree(KIT.root / "student", root / "student", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(KIT.root / "release" / "lab2_learning_rates", root / "release" / "lab2_learning_rates")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(CourseError) as refused:
        student_kit_of(Course(root), ["lab1_initialization", "lab2_learning_rates", "lab3_loss_functions"])
    message = str(refused.value)
    assert message.startswith("These labs have no student version yet: lab1_initialization, lab3_loss_functions. "
                              "Release them first (`"), message
    assert shlex.split(message.split("`")[1]) == ["python", "-m", "autograder", "--root", str(root), "release",
                                                   "lab1_initialization", "lab3_loss_functions"]
    assert not (root / "student-kit.zip").exists()


def test_a_kit_that_would_leak_is_refused_with_the_release_of_exactly_the_labs_that_leak(tmp_path, monkeypatch):
    """A student version edited by hand after its release (a hidden test pasted into it) and a file of notes with a
    hidden test's line in it: nothing is written, each is named, and the advice, followed as given (the release of
    that lab, on this course from wherever it is pasted; the line taken out of the notes), gives a kit with neither."""
    from autograder.release import release_lab
    from released import released_course
    lab = "lab1_initialization"
    root = tmp_path / "Redes neuronales d'Ana"
    course = released_course(KIT, root, [lab])
    shutil.copytree(KIT.root / "student", root / "student", ignore=shutil.ignore_patterns("__pycache__"))
    source = nbformat.read(course.source_notebook(lab), as_version=4)
    hidden = sorted(secret_lines(source, kinds=("BEGIN HIDDEN TESTS",)))[0]
    released = nbformat.read(course.release_notebook(lab), as_version=4)
    released.cells[-1].source += "\n" + hidden
    nbformat.write(released, course.release_notebook(lab))
    (root / "notebooks").mkdir()
    (root / "notebooks" / "notes.md").write_text(f"Remember:\n{hidden}\n")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(CourseError) as refused:
        student_kit_of(course, [lab])
    message = str(refused.value)
    assert f"release/{lab}/{lab}.ipynb" in message and "notebooks/notes.md" in message
    advice = message.splitlines()[-1]
    assert advice.startswith(f"Release {lab} again (`") and advice.endswith(
        "`), which writes its student version anew from source/ and take those lines out of notebooks/notes.md, "
        "which the kit holds as it is, then make the kit again."), advice
    assert not (root / "student-kit.zip").exists()
    assert shlex.split(advice.split("`")[1]) == ["python", "-m", "autograder", "--root", str(root), "release", lab]
    assert release_lab(course, lab) == []  # what that command runs
    (root / "notebooks" / "notes.md").write_text("Remember: test your shapes.\n")
    kit = zipfile.ZipFile(student_kit_of(course, [lab]))
    assert not any(hidden in kit.read(name).decode(errors="replace") for name in kit.namelist())
