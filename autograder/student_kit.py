"""``python -m autograder student-kit LAB ...``: an archive for students without a hub, holding what they need only.

The archive holds the named labs' student versions (``release/<lab>/``), the student package (``student/``:
``course_utils`` and its requirements) and the lecture notebooks, never ``source/``, the hidden tests, the mark
schemes or the ``autograder`` package; each lab's release is checked as ``release`` checks it, and every file for
markers, ``autograder`` imports, hidden test and mark scheme lines before the archive is written. Only the named
labs: later labs hand out earlier labs' answers as ready-made code (Lab 2 has Lab 1's network), so a lab goes to
students once the labs before it are due.
"""
from __future__ import annotations

import zipfile
from pathlib import Path

import nbformat

from .course import Course, CourseError
from .leaks import file_text, find_leaks, find_leaks_in_text, secret_lines

SKIPPED = {"__pycache__", ".ipynb_checkpoints", "build", "dist"}
README = """Neural networks from scratch: the student kit

1. Install, in a fresh virtual environment:  python -m pip install jupyterlab ./student
2. Open the labs: run  jupyter lab  in this folder, then open release/<lab>/<lab>.ipynb
   (notebooks/ holds the lecture notebooks). Work from top to bottom; the test cell under each exercise
   checks your code. Submit the .ipynb file as your course says.
"""


def _files(folder: Path):
    """The files below ``folder`` (symlinked folders followed), without caches and build output."""
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not SKIPPED & set(path.relative_to(folder).parts) and not path.name.endswith(".pyc"):
            yield path


def contents(course: Course, labs: list[str]) -> dict[str, Path]:
    """Name in the archive -> file, for everything the student kit of ``labs`` holds."""
    root = course.root
    items = {}
    for folder in [*(f"release/{lab}" for lab in labs), "notebooks"]:
        for path in _files(root / folder) if (root / folder).is_dir() else []:
            items[str(path.relative_to(root))] = path
    student = root / "student"
    for name in ("pyproject.toml", "requirements.txt"):
        items[f"student/{name}"] = student / name
    for path in _files(student / "course_utils"):
        items[f"student/course_utils/{path.relative_to(student / 'course_utils')}"] = path
    return items


def secrets_in(course: Course, labs: list[str], items: dict[str, Path]) -> list[tuple[str, str]]:
    """What of the kit's files would give instructor text away, as (name in the kit, what): each of its labs' release
    checked as `release` checks it, and every file for nbgrader markers, autograder imports, hidden test and mark
    scheme lines of any lab."""
    problems = [(leak.path.relative_to(course.root).as_posix(), f"{leak.where}: {leak.what}") for lab in labs
                for leak in find_leaks(course.source_notebook(lab), course.root / "release" / lab)]
    never_public = set().union(*(secret_lines(nbformat.read(course.source_notebook(lab), as_version=4),
                                              kinds=("BEGIN HIDDEN TESTS", "BEGIN MARK SCHEME"))
                                 for lab in course.labs()))
    for name, path in items.items():
        problems += [(name, leak.what) for leak in find_leaks_in_text(_text(path), never_public, path, name)]
    return problems


def _mend_leaks(course: Course, labs: list[str], leaking: list[tuple[str, str]]) -> str:
    """What to do about ``leaking`` (of ``secrets_in``): release again the labs whose student version has it (a
    release writes it anew from source/), take it out of the other files (copied into the kit as they are)."""
    names = {name for name, _ in leaking}
    stale = [lab for lab in labs if any(name.startswith(f"release/{lab}/") for name in names)]
    others = sorted(name for name in names if not name.startswith("release/"))
    steps = []
    if stale:
        steps.append(f"release {', '.join(stale)} again (`{course.command('release', *stale)}`), which writes "
                     f"{'its' if len(stale) == 1 else 'their'} student version anew from source/")
    if others:
        steps.append(f"take those lines out of {', '.join(others)}, which the kit holds as "
                     f"{'it is' if len(others) == 1 else 'they are'}")
    advice = " and ".join(steps)
    return f"{advice[0].upper()}{advice[1:]}, then make the kit again."


def _text(path: Path) -> str:
    """What a reader of ``path`` may see: a text file's text, a notebook's also with its cells' code as a student
    reads it (the file's JSON escapes quotes); nothing for images and other binary data."""
    try:
        text = file_text(path) or ""
    except OSError:
        return ""
    if path.suffix == ".ipynb":
        try:
            return "\n".join(cell.source for cell in nbformat.reads(text, as_version=4).cells) + "\n" + text
        except Exception:  # not a notebook nbformat can read (its errors vary with the damage): its text only
            pass
    return text


def _solutions(course: Course, lab: str) -> set[str]:
    return secret_lines(nbformat.read(course.source_notebook(lab), as_version=4), kinds=("BEGIN SOLUTION",))


def answers_shown(course: Course, labs: list[str]) -> list[str]:
    """For each lab of the kit whose student version shows solution lines of an earlier lab of the kit (in its
    ready-made code), a sentence naming them."""
    order = course.labs()
    notes = []
    for earlier in labs:
        solutions = _solutions(course, earlier)
        for lab in (lab for lab in labs if order.index(lab) > order.index(earlier)):
            text = _text(course.root / "release" / lab / f"{lab}.ipynb")
            shown = sorted(line for line in solutions if line in text)
            if shown:
                notes.append(f"release/{lab} shows {len(shown)} line(s) of the solutions of {earlier}, "
                             f"e.g. {shown[0]!r}")
    return notes


def lecture_answers(course: Course, items: dict[str, Path]) -> list[str]:
    """For each lecture file of the kit (``notebooks/``: it goes out with every kit) that shows solution lines of a
    lab of the course, a sentence naming them. Short and common lines (``for epoch in range(epochs):``) may be
    named too, so this is a note for the instructor to read, not a refusal."""
    lectures = {name: _text(path) for name, path in items.items() if name.startswith("notebooks/")}
    notes = []
    for lab in course.labs():
        solutions = _solutions(course, lab)
        for name, text in lectures.items():
            shown = sorted(line for line in solutions if line in text)
            if shown:
                notes.append(f"{name} shows {len(shown)} line(s) of the solutions of {lab}, e.g. {shown[0]!r}")
    return notes


def student_kit(course: Course, labs: list[str], out: Path | None = None) -> Path:
    """Write the student kit of ``labs`` (default ``student-kit.zip`` in the course root) and return its path.

    Everything in it is in one folder named as the zip (``student-kit/``), so that unzipping it where other files
    are (a student's home folder) adds one folder.
    """
    if not labs:
        first = (course.labs() or ["lab1_initialization"])[0]
        raise CourseError(f"Name the labs the kit hands out, e.g. `{course.command('student-kit', first)}`. Later "
                          "labs give earlier labs' code as ready-made helpers, answers included (Lab 2 has Lab 1's "
                          "network), so hand out each lab once the labs before it are due. Name them all to hand out "
                          "every lab at once (after the course, say). Labs in this course: "
                          f"{', '.join(course.labs()) or 'none'}.")
    package = course.root / "student"
    absent = [path for path in (package / "pyproject.toml", package / "requirements.txt",
                                package / "course_utils" / "__init__.py") if not path.is_file()]
    if absent:
        names = ", ".join(str(path.relative_to(course.root)) for path in absent)
        raise CourseError(f"The student package is missing from {course.root} (no {names}): "
                          "students install course_utils from the kit's student/ folder. Copy student/ and "
                          "course_utils/ from the course kit into the course root, then try again.")
    items = contents(course, labs)
    missing = [lab for lab in labs if f"release/{lab}/{lab}.ipynb" not in items]
    if missing:
        them = "it" if len(missing) == 1 else "them"
        raise CourseError(f"These labs have no student version yet: {', '.join(missing)}. Release {them} first "
                          f"(`{course.command('release', *missing)}`), then make the kit again.")
    leaking = secrets_in(course, labs, items)
    if leaking:
        raise CourseError("The kit would give instructor text away:\n  " +
                          "\n  ".join(f"{name}: {what}" for name, what in leaking) +
                          f"\n{_mend_leaks(course, labs, leaking)}")
    target = out or course.root / "student-kit.zip"
    tmp = target.with_name(f".{target.name}.tmp")
    try:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(f"{target.stem}/README.txt", README)
            for name, path in items.items():
                archive.write(path, f"{target.stem}/{name}")
    except BaseException:
        tmp.unlink(missing_ok=True)  # no half-written archive left behind
        raise
    tmp.replace(target)
    return target
