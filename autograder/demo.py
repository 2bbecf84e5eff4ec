"""``python -m autograder demo``: the whole grading pipeline on Lab 1, in a scratch copy of the course."""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from .course import CONFIG_FILE, Course
from .export import export
from .feedback import feedback
from .grade import grade
from .release import release_lab
from .sandbox import sandbox_problem
from .submissions import PLANTED_MISTAKES, solved, submit, untouched, with_mistake

LAB = "lab1_initialization"


def scratch_course(kit: Course, workdir: Path, labs: list[str]) -> Course:
    """A fresh course directory with the kit's configuration and the given labs' sources."""
    workdir.mkdir(parents=True, exist_ok=True)
    shutil.copy(kit.root / CONFIG_FILE, workdir / CONFIG_FILE)
    for lab in labs:
        shutil.copytree(kit.root / "source" / lab, workdir / "source" / lab, dirs_exist_ok=True)
    return Course(workdir.resolve())


def run_demo(kit: Course, workdir: Path | None = None, workers: int | None = None) -> int:
    kit.check_lab(LAB)
    workdir = workdir or Path(tempfile.mkdtemp(prefix="course-demo-"))
    course = scratch_course(kit, workdir, [LAB])
    print(f"Scratch course: {course.root}\n\n1. Releasing {LAB} (nbgrader generate_assignment + leak check)")
    leaks = release_lab(course, LAB)
    if leaks:
        print("\n".join(map(str, leaks)))
        return 1
    print("2. Creating sample submissions")
    samples = {
        "alice": ("a correct solution", solved(course, LAB)),
        "bob": ("the release, untouched", untouched(course, LAB)),
        "carol": (f"correct except {PLANTED_MISTAKES[LAB].solution_id}", with_mistake(course, LAB)),
        "dave": ("a malformed notebook (cut-off JSON)", course.release_notebook(LAB).read_text()[:500]),
    }
    for student, (what, nb) in samples.items():
        submit(course, student, LAB, nb)
        print(f"   {student}: {what}")
    problem = sandbox_problem()
    print(f"3. Grading in parallel ({workers or 'one per core'} workers), " +
          (f"WITHOUT the sandbox: {problem} (fine for these trusted samples; real grading refuses)"
           if problem else "each kernel in the sandbox"))
    grade(course, LAB, workers=workers, sandbox=not problem)
    print("4. Writing feedback")
    pages = feedback(course, LAB)
    print(f"   {len(pages)} pages under {course.root / 'feedback'}")
    print("5. Grade table (grades.csv)\n")
    from .cli import format_table
    import csv
    rows = list(csv.reader(export(course).splitlines()))
    print(format_table(rows[0], rows[1:]))
    return 0
