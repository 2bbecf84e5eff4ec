"""``python -m autograder demo``: the whole grading pipeline on Lab 1, in a scratch copy of the course."""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import nbformat

from .course import CONFIG_FILE, Course, in_course_root, shell_word
from .export import FIXED_LEFT, FIXED_RIGHT, export, grade_rows
from .feedback import feedback
from .grade import grade
from .records import Status
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


STATUS_MEANING = {  # the statuses the demo can show, in a line each (README: all of them)
    Status.GRADED: "every automatic test ran; the total is final",
    Status.NEEDS_MANUAL_GRADING: "written answers are still to grade by hand (formgrader)",
    Status.MALFORMED: "not a valid notebook: 0, and a page telling the student why",
    Status.MISSING: "no notebook of that name in the folder: 0, and a page saying so",
    Status.TESTS_CHANGED: "test cells were edited or deleted; graded as released",
    Status.TIMEOUT: "a cell ran past its time limit and was stopped",
    Status.KERNEL_DIED: "the kernel crashed; the cells before it were graded",
    Status.HIT_LIMIT: "a cell hit a sandbox limit (memory, output, ...)",
    Status.ERROR: "the grader failed on it (see grade's output)",
}


def written_points(course: Course, lab: str) -> float:
    """The points of a lab's answers graded by hand (its graded solution cells)."""
    cells = nbformat.read(course.source_notebook(lab), as_version=4).cells
    return sum(float(c.metadata.nbgrader.get("points", 0)) for c in cells
               if c.get("metadata", {}).get("nbgrader", {}).get("grade") and c.metadata.nbgrader.get("solution"))


def grade_table(rows: list[dict]) -> str:
    """The grade table with one line per student (fits 100 columns): total, max_total, status."""
    from .cli import format_table
    return format_table(["student", "total", "max_total", "status"],
                        [[r["student_id"], r["total"], r["max_total"], r["status"]] for r in rows])


def question_table(header: list[str], rows: list[dict]) -> str:
    """The per-question scores, one line per question and a column per student (blank: not graded yet)."""
    from .cli import format_table
    questions = [name for name in header if name not in FIXED_LEFT + FIXED_RIGHT]
    return format_table(["question", *(r["student_id"] for r in rows)],
                        [[q, *(r.get(q, "") for r in rows)] for q in questions])


def legend(rows: list[dict], written_points: float) -> str:
    statuses = [status for status in STATUS_MEANING if any(r["status"] == status for r in rows)]
    width = max(map(len, statuses))
    return "\n".join([
        "How to read it:",
        f"  total      points earned so far; max_total includes the {written_points:g} points of written",
        "             answers, which count 0 until you grade them by hand",
        "  per question (grades.csv, --by-question):",
        "    0        graded, no points (a written answer left as released scores 0 at once)",
        "    blank    not graded: a written answer waiting for you in the formgrader, or every",
        "             question of a submission that could not be graded (see its status)",
        "  status:",
        *(f"    {status.ljust(width)}  {STATUS_MEANING[status]}" for status in statuses)])


def run_demo(kit: Course, workdir: Path | None = None, workers: int | None = None,
             by_question: bool = False) -> int:
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
        "dave": ("a malformed notebook (cut-off JSON)", course.release_notebook(LAB).read_text(encoding="utf-8")[:500]),
    }
    for student, (what, nb) in samples.items():
        submit(course, student, LAB, nb)
        print(f"   {student}: {what}")
    problem = sandbox_problem()
    print(f"3. Grading in parallel ({f'{workers} workers' if workers else 'a worker per usable core'}), " +
          (f"WITHOUT the sandbox: {problem} (fine for these trusted samples; real grading refuses)"
           if problem else "each kernel in the sandbox"))
    grade(course, LAB, workers=workers, sandbox=not problem)
    print("4. Writing feedback (with --allow-pending: the written answers read \"not graded yet\")")
    pages = feedback(course, LAB, allow_pending=True)
    print(f"   {len(pages)} pages, one per student")
    export(course)
    header, rows = grade_rows(course)
    print("5. Grade table (grades.csv has a column per question" +
          (")\n" if by_question else "; --by-question prints them here)\n"))
    print(grade_table(rows))
    if by_question:
        print(f"\n{question_table(header, rows)}")
    print(f"\n{legend(rows, written_points(course, LAB))}\n")
    root, shell_root = course.root, shell_word(course.root)  # shown as a path, and in commands to paste
    print(f"""Where everything is (a scratch copy: delete it when done with `rm -rf {shell_root}`):
  course       {root}
               source/, release/, submitted/<student>/, autograded/, gradebook.db
  feedback     {root / 'feedback'}/<student>/{LAB}/{LAB}.html
               (open carol's in a browser: it shows the question she lost, and why)
  grade table  {root / 'grades.csv'}

Next, try:
  {course.command('report', LAB)}
      per-question analytics (HTML and CSV) under reports/
  {in_course_root(root, 'jupyter lab')}
      then Nbgrader > Formgrader: grade the written answers of alice and carol
  {course.command('feedback', LAB)}
      refuses while written answers are not graded yet; then writes final pages
  {course.command('export')}
      the grade table again, after hand grading
In your own course root: python -m autograder release LAB, then grade LAB, feedback LAB, export.""")
    return 0
