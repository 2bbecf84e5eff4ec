"""``python -m autograder release``: regenerate release/ from source/ with nbgrader, then prove it clean."""
from __future__ import annotations

import contextlib
import filecmp
import hashlib
import shutil
import tempfile
from pathlib import Path

import nbformat
from nbgrader.converters import GenerateAssignment
from nbgrader.preprocessors import ClearHiddenTests
from nbgrader.utils import capture_log

from . import gradebook_schema  # noqa: F401 -- new gradebooks' schema version read in this process
from .canary import canary_course
from .course import CONFIG_FILE, Course, CourseError
from .findings import changed_tests
from .gradebook_access import if_released, recorded_tests
from .judge.cells import format_problems
from .leaks import Leak, find_leaks


def generate(course: Course, lab: str) -> None:
    """Run nbgrader's generate_assignment for ``lab`` (always, never skipping) and record it in the gradebook."""
    config = course.config()
    coursedir = course.coursedir(config)
    coursedir.assignment_id = lab
    app = GenerateAssignment(coursedir=coursedir, config=config)
    app.force = True
    app.create_assignment = True
    result = capture_log(app)
    if not result["success"]:
        raise CourseError(f"nbgrader could not generate the student version of {lab}:\n"
                          f"{result.get('log', '')}{result.get('error', '')}")


def release_lab(course: Course, lab: str) -> list[Leak]:
    """Regenerate ``release/<lab>``; on failure or leak, put the previous release back.

    A previous student version that the new one replaces is kept (``keep_earlier_release``). Returns the leaks
    found (empty when the release is clean and in place).
    """
    course.check_lab(lab)
    problems = format_problems(nbformat.read(course.source_notebook(lab), as_version=4))
    if problems:
        raise CourseError(f"{lab} cannot be graded safely until these are fixed:\n" + "\n".join(problems))
    target = course.root / "release" / lab
    recorded = recorded_release(course, lab)  # before generate records the new tests
    with tempfile.TemporaryDirectory() as tmp:
        backup = Path(tmp) / lab
        if target.exists():
            shutil.copytree(target, backup)
        try:
            generate(course, lab)
            leaks = find_leaks(course.source_notebook(lab), target)
        except BaseException:
            _restore(backup, target)
            raise
        if leaks:
            _restore(backup, target)
            return leaks
        keep_earlier_release(course, lab, _readable(backup / f"{lab}.ipynb"))
        keep_earlier_release(course, lab, recorded)
    with contextlib.suppress(OSError):  # else the lab's first grading makes it, and says what stops it
        canary_course(course, lab)
    return leaks


def keep_earlier_release(course: Course, lab: str, earlier: nbformat.NotebookNode | None) -> None:
    """Keep ``earlier``, a student version of the lab before this release, if a submission started from it would be
    told it changed tests of the new one: it must not be (``earlier_releases``)."""
    if earlier is None or not changed_tests(nbformat.read(course.release_notebook(lab), as_version=4), earlier):
        return
    text = nbformat.writes(earlier)
    folder = course.earlier_releases_dir(lab)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{hashlib.sha256(text.encode()).hexdigest()[:16]}.ipynb").write_text(text, encoding="utf-8")


def recorded_release(course: Course, lab: str) -> nbformat.NotebookNode | None:
    """release/'s student version with each test as the gradebook recorded it at the lab's last release (its hidden
    part cut as nbgrader cuts it, its points as recorded): the version students worked on, even where release/ was
    replaced since (by a ``git pull`` of a newer kit, say). None if there is no such release or notebook."""
    nb = _readable(course.release_notebook(lab))
    recorded = if_released(course.db_url(), lab, lambda gb: recorded_tests(gb, lab)) if nb is not None else None
    if recorded is None:
        return None
    sources, points = recorded
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("grade") and not meta.get("solution") and meta.get("grade_id") in sources:
            cell.source = sources[meta["grade_id"]]
            ClearHiddenTests().preprocess_cell(cell, {}, 0)
            if meta["grade_id"] in points and float(meta.get("points", 0)) != points[meta["grade_id"]]:
                meta["points"] = points[meta["grade_id"]]
    return nb


def _readable(path: Path) -> nbformat.NotebookNode | None:
    """The notebook at ``path``, or None if there is none or it cannot be read (a merge's conflict markers, say)."""
    try:
        return nbformat.read(path, as_version=4)
    except (OSError, ValueError):
        return None


def earlier_releases(course: Course, lab: str) -> list[nbformat.NotebookNode]:
    """The lab's student versions that later releases replaced (``keep_earlier_release``), oldest first."""
    kept = sorted(course.earlier_releases_dir(lab).glob("*.ipynb"), key=lambda path: path.stat().st_mtime)
    return [nbformat.read(path, as_version=4) for path in kept]


def _restore(backup: Path, target: Path) -> None:
    shutil.rmtree(target, ignore_errors=True)
    if backup.exists():
        shutil.copytree(backup, target)


def out_of_sync(course: Course, lab: str) -> list[str]:
    """Files of ``release/<lab>`` that differ from a fresh generation from source/ (empty when in sync)."""
    course.check_lab(lab)
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Course(Path(tmp))
        shutil.copy(course.root / CONFIG_FILE, scratch.root / CONFIG_FILE)
        shutil.copytree(course.root / "source" / lab, scratch.root / "source" / lab)
        generate(scratch, lab)
        return differences(scratch.root / "release" / lab, course.root / "release" / lab)


def differences(fresh: Path, committed: Path) -> list[str]:
    """How the release folder ``committed`` differs from ``fresh``, one generated from source/ (empty: the same)."""
    if not committed.is_dir():
        return [f"{committed} is missing"]
    comparison = filecmp.dircmp(fresh, committed)
    problems = []

    def walk(cmp, prefix=""):
        problems.extend(f"{prefix}{name}: not in release/ (run the release command)" for name in cmp.left_only)
        problems.extend(f"{prefix}{name}: in release/ but not generated from source/" for name in cmp.right_only)
        _, mismatch, errors = filecmp.cmpfiles(cmp.left, cmp.right, cmp.common_files, shallow=False)
        problems.extend(f"{prefix}{name}: differs from what source/ generates" for name in mismatch + errors)
        for name, sub in cmp.subdirs.items():
            walk(sub, f"{prefix}{name}/")

    walk(comparison)
    return problems
