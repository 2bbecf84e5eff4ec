"""Commands the kit's messages suggest work when pasted: run with ``--root`` from another folder (a cron job, the
instructor's home), a message names the course with ``--root``, so that its command acts on that course and not on
the folder it is pasted in; run from the course root, it keeps the short form."""
import os
import re
import shlex
import subprocess
import sys
import unicodedata
from pathlib import Path

import nbformat

from autograder.course import Course
from autograder.demo import scratch_course
from released import released_course

KIT = Course(Path(__file__).resolve().parents[1])
LAB = "lab1_initialization"
PYTHON_FIRST = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}


def autograder(cwd: Path, *argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "autograder", *argv], cwd=cwd, capture_output=True, text=True,
                          env=PYTHON_FIRST, timeout=600)


def paste(command: str, cwd: Path) -> subprocess.CompletedProcess:
    """``command`` run by bash in ``cwd``, as an instructor pastes it (``python`` is the one running the tests); the
    shell's own messages in English and ASCII, as the tests read them, whatever the server's language."""
    return subprocess.run(["bash", "-c", command], cwd=cwd, capture_output=True, text=True,
                          env=PYTHON_FIRST | {"LC_ALL": "C"}, timeout=600)


def suggested(message: str, before: str, after: str) -> str:
    """The command in ``message`` between ``before`` and ``after``."""
    match = re.search(re.escape(before) + r"(.+?)" + re.escape(after), message)
    assert match, message
    return match.group(1)


def two_courses(tmp_path: Path, released: list[str]) -> tuple[Course, Course]:
    """The course graded (its folder's name has a space and an apostrophe, to be quoted) and another course, the
    current folder of the commands run with ``--root``."""
    course = released_course(KIT, tmp_path / "Redes neuronales d'Ana", [LAB], released)
    other = scratch_course(KIT, tmp_path / "other course", [LAB])
    return course, other


def test_grading_an_unreleased_lab_from_another_folder_suggests_a_release_of_that_course(tmp_path):
    course, other = two_courses(tmp_path, released=[])
    said = autograder(other.root, "--root", str(course.root), "grade", LAB, "--unsafe-no-sandbox")
    assert said.returncode == 2, said.stdout + said.stderr
    command = suggested(said.stderr, "Release it first: `", "`")
    assert command == f"python -m autograder --root {shlex.quote(str(course.root))} release {LAB}"
    pasted = paste(command, other.root)
    assert pasted.returncode == 0, pasted.stdout + pasted.stderr
    assert course.release_notebook(LAB).is_file() and (course.root / "gradebook.db").is_file()
    assert not other.release_notebook(LAB).exists() and not (other.root / "gradebook.db").exists()

    checked = autograder(other.root, "--root", str(course.root), "release", "--check", LAB)
    assert checked.returncode == 0 and checked.stdout == f"{LAB}: in sync with source/\n", checked.stdout


def test_a_message_from_the_course_root_keeps_the_short_form(tmp_path):
    course, _ = two_courses(tmp_path, released=[])
    said = autograder(course.root, "--root", ".", "grade", LAB, "--unsafe-no-sandbox")
    assert f"Release it first: `python -m autograder release {LAB}` (it writes" in said.stderr, said.stderr
    (tmp_path / "link").symlink_to(course.root)  # the current folder reached by another path: still the course root
    for cwd in (course.root, tmp_path / "link"):  # the same folder, however --root and the current folder name it
        said = autograder(cwd, "--root", str(course.root), "feedback", LAB)
        assert f"Release it (`python -m autograder release {LAB}`), grade it (`python -m autograder grade {LAB}`), " \
               f"then run `python -m autograder feedback {LAB}` again." in said.stderr, said.stderr


def test_feedback_of_an_unreleased_lab_suggests_commands_on_that_course(tmp_path):
    course, other = two_courses(tmp_path, released=[])
    said = autograder(other.root, "--root", str(course.root), "feedback", LAB)
    assert said.returncode == 2, said.stdout + said.stderr
    release = suggested(said.stderr, "Release it (`", "`)")
    assert suggested(said.stderr, "grade it (`", "`)") == release.replace(" release ", " grade ")
    again = suggested(said.stderr, "then run `", "` again")
    assert again == release.replace(" release ", " feedback ")
    assert paste(release, other.root).returncode == 0
    assert course.release_notebook(LAB).is_file() and not other.release_notebook(LAB).exists()
    pasted = paste(again, other.root)  # released, nothing submitted: no page to write, and no refusal
    assert pasted.returncode == 0 and "Wrote 0 feedback page(s)" in pasted.stdout, pasted.stdout + pasted.stderr


def test_release_check_out_of_sync_suggests_a_release_of_that_course(tmp_path):
    course, other = two_courses(tmp_path, released=[LAB])
    source = nbformat.read(course.source_notebook(LAB), as_version=4)
    source.cells[0].source += "\n\nA sentence added after the release."
    nbformat.write(source, course.source_notebook(LAB))
    said = autograder(other.root, "--root", str(course.root), "release", "--check", LAB)
    assert said.returncode == 1, said.stdout + said.stderr
    command = suggested(said.stdout, "OUT OF SYNC: release it again (", ")\n")
    pasted = paste(command, other.root)
    assert pasted.returncode == 0, pasted.stdout + pasted.stderr
    checked = autograder(other.root, "--root", str(course.root), "release", "--check", LAB)
    assert checked.returncode == 0 and checked.stdout == f"{LAB}: in sync with source/\n", checked.stdout
    assert not other.release_notebook(LAB).exists()


def test_export_and_student_kit_suggest_commands_on_that_course(tmp_path):
    course, other = two_courses(tmp_path, released=[])
    root = shlex.quote(str(course.root))
    said = autograder(other.root, "--root", str(course.root), "export")
    assert said.returncode == 2 and "This course has no gradebook yet" in said.stderr, said.stderr
    release = suggested(said.stderr, "Release a lab (`", "`)")
    assert release == f"python -m autograder --root {root} release LAB"
    assert paste(release.replace("LAB", LAB), other.root).returncode == 0
    assert course.release_notebook(LAB).is_file() and not other.release_notebook(LAB).exists()
    said = autograder(other.root, "--root", str(course.root), "student-kit")
    assert f"e.g. `python -m autograder --root {root} student-kit {LAB}`" in said.stderr, said.stderr
    said = autograder(other.root, "--root", str(course.root), "doctor", "--full")
    assert f"e.g. `python -m autograder --root {root} doctor lab5_cifar10_mlp --full`" in said.stderr, said.stderr


def test_a_command_line_quotes_the_root_and_names_it_only_away_from_it(tmp_path, monkeypatch):
    """The rule alone, and the one of commands that must start in the course root (the formgrader's jupyter lab)."""
    from autograder.course import command_line, in_course_root
    from autograder.legacy_locale import legacy_encoding
    root = tmp_path / "it's a course"
    root.mkdir()
    monkeypatch.chdir(tmp_path)
    assert command_line(root, "grade", LAB) == f"python -m autograder --root {shlex.quote(str(root))} grade {LAB}"
    assert command_line(root / ".." / root.name, "export") == \
        f"python -m autograder --root {shlex.quote(str(root))} export"  # named by its resolved path
    utf8 = "PYTHONUTF8=1 " if legacy_encoding() else ""  # a server whose locale is not UTF-8 (README)
    assert in_course_root(root, "jupyter lab") == f"cd {shlex.quote(str(root))} && {utf8}jupyter lab"
    monkeypatch.chdir(root)
    assert command_line(root, "grade", LAB) == Course(root).command("grade", LAB) == f"python -m autograder grade {LAB}"
    assert command_line(Path("."), "export") == "python -m autograder export"
    assert in_course_root(root, "jupyter lab") == f"{utf8}jupyter lab"


def test_root_may_follow_the_command_as_well(tmp_path):
    """``release LAB --root DIR``, as many type it, releases that course, not the current folder's."""
    course, other = two_courses(tmp_path, released=[])
    said = autograder(other.root, "release", LAB, "--root", str(course.root))
    assert said.returncode == 0, said.stdout + said.stderr
    assert course.release_notebook(LAB).is_file() and (course.root / "gradebook.db").is_file()
    assert not (other.root / "gradebook.db").exists()


def test_a_student_folder_to_rename_is_renamed_by_the_mv_its_detail_suggests_pasted_anywhere(tmp_path, monkeypatch):
    """The detail of a submission whose folder nbgrader cannot use is kept in its record and read later (grade,
    export, report, from the course root or elsewhere): its ``mv`` names the course's folders by absolute paths,
    quoted (the pattern characters too, which the shell would expand)."""
    from autograder.course import unusable_student_id
    course, other = tmp_path / "Redes neuronales d'Ana", tmp_path / "other course"
    mac, pattern, spaced = unicodedata.normalize("NFD", "María López"), "li[1]", " kim lee "
    for student in (mac, pattern, spaced, "li1"):  # li1/: what nbgrader would read for li[1]
        (course / "submitted" / student / LAB).mkdir(parents=True)
    other.mkdir()
    for cwd, student, renamed in ((other, mac, "María López"), (course, pattern, "li_1"), (other, spaced, "kim lee")):
        monkeypatch.chdir(cwd)  # where the detail is made does not matter either
        detail = unusable_student_id(course, student)
        command = detail.partition("grade again: ")[2]
        assert command.startswith(f"mv -T {shlex.quote(str(course / 'submitted' / student))} "), detail
        pasted = paste(command, other)
        assert pasted.returncode == 0, pasted.stdout + pasted.stderr
        assert (course / "submitted" / renamed / LAB).is_dir() and not (course / "submitted" / student).exists()
    assert {p.name for p in (course / "submitted").iterdir()} == {"li1", "li_1", "María López", "kim lee"}
    assert not list(other.iterdir())
    assert unusable_student_id(course, "[*]") == (  # no name to suggest: no command
        "nbgrader cannot grade a student id that contains '[' and '*' (it reads the id as a pattern when it looks for "
        "the notebook): rename the folder submitted/[*]/ (to the student's id without those characters) and grade "
        "again")


def test_a_student_folder_whose_new_name_is_taken_gets_no_mv_and_a_pasted_mv_never_moves_into_a_folder(tmp_path):
    """A student who submitted twice, from a Mac and from another computer, has both spellings of their folder: a
    suggested ``mv`` would have moved one into the other (``María López/María López/lab``), graded as one empty
    submission. The detail says which folder exists instead; an ``mv`` kept in an older record, pasted once the name is
    taken, is refused and moves nothing."""
    from autograder.course import rename_command, unusable_student_id
    course = tmp_path / "course"
    mac, typed = unicodedata.normalize("NFD", "María López"), "María López"
    for student in (mac, typed, "li[1]", "li_1"):
        (course / "submitted" / student / LAB).mkdir(parents=True)
        (course / "submitted" / student / LAB / f"{LAB}.ipynb").write_text(student)
    detail = unusable_student_id(course, mac)
    assert "mv" not in detail and detail.endswith(
        f"The folder submitted/{typed}/, the same name written with single characters, exists too (the student "
        "submitted twice, from a Mac and from another computer, say): keep the submission to grade under that name, "
        "remove the other and grade again")
    assert unusable_student_id(course, "li[1]").endswith(
        "rename the folder submitted/li[1]/ (to the student's id without those characters; submitted/li_1/ exists "
        "already) and grade again")
    pasted = paste(rename_command(course, f"submitted/{mac}", f"submitted/{typed}"), tmp_path)
    assert pasted.returncode != 0 and "Directory not empty" in pasted.stderr
    assert {p.name for p in (course / "submitted" / typed).iterdir()} == {LAB}
    assert (course / "submitted" / mac / LAB / f"{LAB}.ipynb").read_text() == mac
