"""``python -m autograder student-kit``: an archive for students without a hub, holding what they need only.

The archive holds the released labs (``release/``), the student package (``student/``: ``course_utils``
and its requirements) and the lecture notebooks, never ``source/``, the hidden tests, the mark schemes
or the ``autograder`` package; each lab's release is checked as ``release`` checks it, and every file for
markers, ``autograder`` imports, hidden test and mark scheme lines before the archive is written.
"""
from __future__ import annotations

import zipfile
from pathlib import Path

import nbformat

from .course import Course, CourseError
from .leaks import find_leaks, find_leaks_in_text, secret_lines

SKIPPED = {"__pycache__", ".ipynb_checkpoints", "build", "dist"}
README = """Neural networks from scratch: the student kit

1. Install, in a fresh virtual environment:  python -m pip install jupyterlab ./student
2. Open the labs:  jupyter lab release
Each lab is release/<lab>/<lab>.ipynb. Work from top to bottom; the test cell under each exercise
checks your code. Submit the .ipynb file as your course says.
"""


def _files(folder: Path):
    """The files below ``folder`` (symlinked folders followed), without caches and build output."""
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not SKIPPED & set(path.relative_to(folder).parts) and not path.name.endswith(".pyc"):
            yield path


def contents(course: Course) -> dict[str, Path]:
    """Name in the archive -> file, for everything the student kit holds."""
    root = course.root
    items = {}
    for folder in ("release", "notebooks"):
        for path in _files(root / folder) if (root / folder).is_dir() else []:
            items[str(path.relative_to(root))] = path
    student = root / "student"
    for name in ("pyproject.toml", "requirements.txt"):
        items[f"student/{name}"] = student / name
    for path in _files(student / "course_utils"):
        items[f"student/course_utils/{path.relative_to(student / 'course_utils')}"] = path
    return items


def secrets_in(course: Course, items: dict[str, Path]) -> list[str]:
    """What of the kit's files would give instructor text away: each lab's release checked as `release` checks
    it, and every file for nbgrader markers, autograder imports, hidden test and mark scheme lines of any lab."""
    problems = [str(leak) for lab in course.labs() for leak in
                find_leaks(course.source_notebook(lab), course.root / "release" / lab)]
    never_public = set().union(*(secret_lines(nbformat.read(course.source_notebook(lab), as_version=4),
                                              kinds=("BEGIN HIDDEN TESTS", "BEGIN MARK SCHEME"))
                                 for lab in course.labs()))
    for name, path in items.items():
        try:
            text = path.read_text()
        except (UnicodeDecodeError, OSError):
            continue  # images and other binary data
        problems += [f"{name}: {leak.what}" for leak in find_leaks_in_text(text, never_public, path, name)]
    return problems


def student_kit(course: Course, out: Path | None = None) -> Path:
    """Write the student kit (default ``student-kit.zip`` in the course root) and return its path."""
    package = course.root / "student"
    absent = [path for path in (package / "pyproject.toml", package / "requirements.txt",
                                package / "course_utils" / "__init__.py") if not path.is_file()]
    if absent:
        names = ", ".join(str(path.relative_to(course.root)) for path in absent)
        raise CourseError(f"The student package is missing from {course.root} (no {names}): "
                          "students install course_utils from the kit's student/ folder. Copy student/ and "
                          "course_utils/ from the course kit into the course root, then try again.")
    items = contents(course)
    missing = [lab for lab in course.labs() if f"release/{lab}/{lab}.ipynb" not in items]
    if missing:
        raise CourseError(f"These labs have no student version yet: {', '.join(missing)}. "
                          "Run `python -m autograder release` first.")
    leaking = secrets_in(course, items)
    if leaking:
        raise CourseError("The kit would give instructor text away:\n  " + "\n  ".join(leaking) +
                          "\nRun `python -m autograder release` to regenerate release/, then try again.")
    target = out or course.root / "student-kit.zip"
    tmp = target.with_name(f".{target.name}.tmp")
    try:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("README.txt", README)
            for name, path in items.items():
                archive.write(path, name)
    except BaseException:
        tmp.unlink(missing_ok=True)  # no half-written archive left behind
        raise
    tmp.replace(target)
    return target
