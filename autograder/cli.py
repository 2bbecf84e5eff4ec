"""Command line: ``python -m autograder release|grade|feedback|export|report|student-kit|doctor|demo``."""
from __future__ import annotations

import argparse
import errno
import signal
import sys
import unicodedata
from pathlib import Path

from .capacity import usable_cores
from .course import Course, CourseError, in_course_root, parse_shard, shell_word, sqlite_file
from .linux_only import not_linux
from .printable import printable


class Stopped(KeyboardInterrupt):
    """SIGTERM or SIGHUP, handled as Ctrl-C is: the command stops what it started, and says what is done."""

    def __init__(self, signum: int):
        super().__init__()
        self.signum = signum


def _stop(signum, frame):
    raise Stopped(signum)


def stop_on_signals() -> None:
    """Make SIGTERM (``kill``, systemd) and SIGHUP (a closed terminal) stop a command as Ctrl-C does, unless
    they were ignored when it started (``nohup``)."""
    for signum in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(signum) is not signal.SIG_IGN:
            signal.signal(signum, _stop)


def display_width(text: str) -> int:
    """Columns ``text`` takes in a terminal: East Asian wide characters (a Chinese name, say) take two, combining
    accents none."""
    return sum(0 if unicodedata.combining(char) else 2 if unicodedata.east_asian_width(char) in "WF" else 1
               for char in text)


def as_shown(text: str) -> str:
    """``text`` as the terminal gets it: what its encoding cannot hold (a Chinese name in ISO-8859-1) escaped."""
    encoding = sys.stdout.encoding or "utf-8"
    return text.encode(encoding, "backslashreplace").decode(encoding)


def format_table(header: list[str], rows: list[list[str]]) -> str:
    """Aligned columns as the terminal shows them (``as_shown``); a cell's control characters are written out
    (``printable``): names and details come from submissions."""
    header, rows = [as_shown(printable(str(x))) for x in header], [[as_shown(printable(str(x))) for x in row]
                                                                    for row in rows]
    widths = [max(display_width(str(x)) for x in column) for column in zip(header, *rows)]
    lines = ["  ".join(str(x) + " " * (w - display_width(str(x))) for x, w in zip(line, widths)).rstrip()
             for line in [header, *rows]]
    rule = widths[:-1] + [display_width(header[-1])]  # under the last column (a long detail, say), as wide as its name
    lines.insert(1, "  ".join("-" * w for w in rule))
    return "\n".join(lines)


def outcome_table(outcomes) -> str:
    def points(o):
        return "" if o.score is None else f"{o.score:g} / {o.max_score:g}" if o.max_score else f"{o.score:g}"
    def detail(o):  # a row unchanged since the last run still says why it timed out, say
        return "; ".join(part for part in ("unchanged since last run" if o.skipped else "", o.detail) if part)
    return format_table(["student", "score", "status", "detail"],
                        [[o.student, points(o), o.status, detail(o)] for o in outcomes])


def cmd_release(course: Course, args) -> int:
    import nbformat
    from .gradebook_access import gradebook_problem, tests_changed_since_release
    from .lab_lock import lab_lock
    from .canary import foreign_code
    from .leaks import unmarked_solutions
    from .release import out_of_sync, release_lab
    foreign = foreign_code(course, {})  # another copy of the kit would write (or judge) release/ with its own code
    if foreign:
        raise CourseError(f"Nothing was released: {foreign}")
    labs = args.labs or course.labs()
    failed = False
    url = course.db_url()
    file = sqlite_file(url)
    unopened = args.check and not (file and not file.is_file()) and gradebook_problem(url)
    if unopened:  # release/ is still compared with source/ (CI has no gradebook)
        print(f"note: the gradebook's tests are not compared with source/: {unopened}", file=sys.stderr)
    for lab in labs:
        if args.check:
            problems = out_of_sync(course, lab) + ([] if unopened else [
                f"the gradebook's tests: {change}" for change in tests_changed_since_release(
                    url, lab, nbformat.read(course.source_notebook(lab), as_version=4))])
            print(f"{lab}: " + ("in sync with source/" if not problems else
                                f"OUT OF SYNC: release it again ({course.command('release', lab)})"))
        else:
            with lab_lock(course, lab, "release"):
                problems = release_lab(course, lab)
            print(f"{lab}: " + ("released to release/, checked: no solution, hidden test, mark scheme "
                                "or reference code in it" if not problems else
                                "NOT released: the student version would leak (previous release kept)"))
        for problem in problems:
            print(f"  {problem}")
        for cell in [] if args.check else unmarked_solutions(nbformat.read(course.source_notebook(lab), as_version=4)):
            print(f"  note: {cell} is a solution cell without ### BEGIN SOLUTION / ### END SOLUTION: nbgrader blanks "
                  "all of it, its def line and docstring too, and each of its lines counts as a solution line (a "
                  "short one, such as a return, may then be found in a test's code). Put the markers around the "
                  "answer's lines, unless students are to write the whole cell.")
        failed |= bool(problems)
    return 1 if failed else 0


def cmd_grade(course: Course, args) -> int:
    from .grade import CanaryFailed, grade
    cores = usable_cores()
    if args.workers and args.workers > cores:
        print(f"warning: --workers {args.workers} on {cores} usable core(s): each notebook runs about "
              f"{args.workers / cores:.1f}x slower than the canary, whose times set each cell's time limit; correct "
              "but slow code may be stopped. Leave --workers out to run one per usable core.", file=sys.stderr)
    if args.skip_canary:
        print("warning: --skip-canary grades without first checking that the lab's own solution scores full marks "
              "here: a broken environment (course_utils, data, sandbox) would give every student wrong grades.",
              file=sys.stderr)
    try:
        outcomes = grade(course, args.lab, workers=args.workers, force=args.force, sandbox=not args.unsafe_no_sandbox,
                         skip_canary=args.skip_canary, say=print, shard=args.shard, students=args.students)
    except CanaryFailed as failure:
        print(f"error: the canary failed. {failure}", file=sys.stderr)
        return 1
    if outcomes:
        print(outcome_table(outcomes))
        note = hand_grading_note(course, args.lab, [outcome.student for outcome in outcomes])
        if note:
            print(note)
    for problem in course.misplaced(args.lab):
        print(f"Not graded: {problem}")
    if not outcomes:
        share = f" in share {args.shard[0]}/{args.shard[1]}" if args.shard else ""
        print(f"No submissions of {args.lab} found{share}: expected submitted/<student>/{args.lab}/{args.lab}.ipynb, "
              "one folder per student (nbgrader collect or zip_collect put them there).",
              file=sys.stderr if not args.shard else sys.stdout)
        return 0 if args.shard else 1  # an empty share is fine; a lab with nothing to grade is a mistake
    return 0


def hand_grading_note(course: Course, lab: str, students: list[str]) -> str | None:
    """What is left to grade by hand in ``students``' submissions of ``lab`` (the table's scores leave it out), or
    None if nothing is."""
    from .feedback import pending_answers
    from .hand_grades import WAITING_KINDS, waiting
    pending = pending_answers(course, lab, students)
    if not pending:
        return None
    return (f"Scores above are the automatic ones and the hand grades given: "
            f"{waiting(sum(pending.values()), len(pending))} ({WAITING_KINDS}): grade them in nbgrader's formgrader "
            f"(`{in_course_root(course.root, 'jupyter lab')}`, then Nbgrader > Formgrader); "
            f"`{course.command('feedback', lab)}` waits for them.")


def cmd_feedback(course: Course, args) -> int:
    from .feedback import feedback, without_page
    pages = feedback(course, args.lab, allow_pending=args.allow_pending)
    print(f"Wrote {len(pages)} feedback page(s) under {course.root / 'feedback'} (no hidden test code in any).")
    if not course.students(args.lab):
        print(f"There is no submission of {args.lab} in {course.root / 'submitted'} (one folder per student, "
              f"submitted/<student>/{args.lab}/): collect them, grade them, then give feedback.", file=sys.stderr)
    missing, stopped, lost = without_page(course, args.lab)
    if missing:
        gone = (f"The gradebook has no grades of {len(lost)} of them, graded before ({', '.join(lost[:10])}"
                f"{' and more' if len(lost) > 10 else ''}): it was replaced, or restored from an older copy? Their "
                "pages from before, if any, were left as they were. ") if lost else ""
        redone = (f"The pages of the {len(stopped)} stopped ones from before, if any, were removed: they showed a "
                  "grading being redone. ") if stopped else ""
        print(f"No page for {len(missing)} submission(s) not graded yet, or whose grading was stopped before it "
              f"ended or reached them: {', '.join(missing[:10])}{' and more' if len(missing) > 10 else ''}. {redone}"
              f"{gone}Run `{course.command('grade', args.lab)}`, then feedback again.", file=sys.stderr)
        return 1
    return 0


def cmd_export(course: Course, args) -> int:
    from .export import (check_exportable, error_warning, formula_warning, grade_rows, pending_warning, queued_warning,
                         ungraded_warning, write_table)
    out = Path(args.out).resolve() if args.out else course.root / "grades.csv"
    header, rows = grade_rows(course, args.labs or None)
    check_exportable(course, rows, args.labs or None, out)
    write_table(header, rows, out)
    print(f"Wrote {out}")
    for warning in filter(None, [formula_warning(rows, out.name),
                                 ungraded_warning(rows, out.name, course.root),
                                 error_warning(rows, out.name, course.root),
                                 queued_warning(course, rows, out.name),
                                 pending_warning(rows, out.name, course.root)]):
        print(warning, file=sys.stderr)
    warn_if_being_graded(course, args.labs or course.labs())
    return 0


def cmd_report(course: Course, args) -> int:
    from .export import queued_warning
    from .report import report
    page, table, rows = report(course, args.lab, Path(args.out).resolve() if args.out else None)
    print(f"Wrote {page} (per-question analytics, viewable offline) and {table}")
    queued = queued_warning(course, rows, page.name, again="run report again")
    if queued:
        print(queued, file=sys.stderr)
    warn_if_being_graded(course, [args.lab])
    return 0


def warn_if_being_graded(course: Course, labs: list[str]) -> None:
    """Warn that a table just written shows a lab half-graded, when a ``grade`` of it is running."""
    from .lab_lock import working_on
    for lab in labs:
        for holder in working_on(course, lab):
            if holder.startswith("`grade"):
                print(f"warning: {lab} is being graded right now ({holder}): this shows its grades as they are so "
                      "far, and they will change. Run this again when it ends.", file=sys.stderr)


def cmd_student_kit(course: Course, args) -> int:
    from .student_kit import answers_shown, contents, lecture_answers, student_kit
    labs = list(dict.fromkeys(args.labs))
    target = student_kit(course, labs, Path(args.out).resolve() if args.out else None)
    print(f"Wrote {target}: {', '.join(labs)}, the student package and the lecture notebooks (notebooks/), nothing "
          "else (checked: no solution of these labs, no hidden test, mark scheme or autograder code)")
    notes = answers_shown(course, labs)
    if notes:
        print("Ready-made code in later labs shows answers of earlier labs in the kit; hand it out once those are "
              "due:\n  " + "\n  ".join(notes))
    notes = lecture_answers(course, contents(course, labs))
    if notes:
        print("The lecture notebooks, which go out with every kit, show lines of lab solutions: check that they give "
              "no answer away (edit them, or leave them out of notebooks/), then make the kit again:\n  " +
              "\n  ".join(notes))
    return 0


def cmd_doctor(course: Course, args) -> int:
    from .doctor import doctor, full_run
    if args.full and not args.lab:
        print(f"doctor --full needs a lab, e.g. `{course.command('doctor', 'lab5_cifar10_mlp', '--full')}`",
              file=sys.stderr)
        return 2
    report, healthy = doctor(course, args.lab, sandbox=not args.unsafe_no_sandbox)
    print(report, flush=True)
    if args.full:
        print(f"Running {args.lab}'s own solution on all its data; this can take a while (Lab 5 on the full "
              "CIFAR-10: minutes to an hour, depending on the machine) ...", flush=True)
        report, ran = full_run(course, args.lab)
        print(report)
        healthy &= ran
    return 0 if healthy else 1


def cmd_demo(course: Course, args) -> int:
    from .demo import run_demo
    return run_demo(course, workdir=Path(args.dir) if args.dir else None, workers=args.workers,
                    by_question=args.by_question)


def shard_argument(text: str) -> tuple[int, int]:
    try:
        return parse_shard(text)
    except CourseError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m autograder", description="Release, grade and give feedback on "
                                "the course's nbgrader labs.")
    p.add_argument("--root", default=".", help="the course root (default: the current folder)")
    # the same option after the command too (`grade LAB --root X`); SUPPRESS keeps the one given first otherwise
    root = argparse.ArgumentParser(add_help=False)
    root.add_argument("--root", default=argparse.SUPPRESS, help="the course root (default: the current folder)")
    sub = p.add_subparsers(dest="command", required=True)

    def command(name: str, **options) -> argparse.ArgumentParser:
        return sub.add_parser(name, parents=[root], **options)
    r = command("release", help="regenerate release/ from source/ and prove nothing secret leaked")
    r.add_argument("labs", nargs="*", metavar="LAB", help="labs to release (default: all)")
    r.add_argument("--check", action="store_true", help="only check that release/ matches source/")
    g = command("grade", help="grade every submission of a lab, in parallel")
    g.add_argument("lab", metavar="LAB")
    g.add_argument("--workers", type=int, help="parallel workers (default: one per core this process may use, as "
                   "long as memory allows each kernel its limit)")
    g.add_argument("--force", action="store_true", help="regrade submissions that did not change too")
    g.add_argument("--student", metavar="ID", action="append", dest="students",
                   help="grade only this student's submission (repeat for more); with --force, even if it did not "
                        "change")
    g.add_argument("--unsafe-no-sandbox", action="store_true",
                   help="run students' code without the sandbox, with your rights (only for trusted code)")
    g.add_argument("--skip-canary", action="store_true",
                   help="DANGEROUS: do not first grade the lab's own solution to prove the grading environment works")
    g.add_argument("--shard", metavar="K/N", type=shard_argument,
                   help="grade only share K of N (K = 0..N-1, by a hash of the student id), so that N processes on "
                   "N machines grade the lab together into one PostgreSQL gradebook (run release first)")
    f = command("feedback", help="write per-student HTML feedback")
    f.add_argument("lab", metavar="LAB")
    f.add_argument("--allow-pending", action="store_true",
                   help="write the pages even though written answers are still to grade by hand (they read "
                   "\"not graded yet\"); without it, feedback refuses and says how many")
    e = command("export", help="write the grade table as CSV")
    e.add_argument("labs", nargs="*", metavar="LAB", help="only these labs (default: every lab)")
    e.add_argument("--out", help="the CSV file (default: grades.csv in the course root)")
    rp = command("report", help="write per-question analytics of a lab (HTML and CSV)")
    rp.add_argument("lab", metavar="LAB")
    rp.add_argument("--out", help="the folder to write into (default: reports/ in the course root)")
    k = command("student-kit", help="write a zip of released labs and the student package, for students "
                       "without a hub")
    k.add_argument("labs", nargs="*", metavar="LAB", help="the labs to hand out (later labs show earlier labs' "
                   "answers as ready-made code: hand out each once the labs before it are due)")
    k.add_argument("--out", help="the archive (default: student-kit.zip in the course root)")
    o = command("doctor", help="check this grading server: sandbox, course_utils, data, and (with LAB) "
                       "grade the lab's own solution and report its time and memory")
    o.add_argument("lab", metavar="LAB", nargs="?")
    o.add_argument("--unsafe-no-sandbox", action="store_true", help="check grading without the sandbox")
    o.add_argument("--full", action="store_true", help="then run LAB's own solution as a student does, on all its "
                   "data (e.g. Lab 5's recipe on your CIFAR-10), and report its time and test accuracy")
    d = command("demo", help="release Lab 1, grade sample submissions, print the grade table")
    d.add_argument("--dir", help="where to build the scratch course (default: a new temporary folder)")
    d.add_argument("--workers", type=int, help="parallel workers (default: as for grade)")
    d.add_argument("--by-question", action="store_true",
                   help="also print each question's scores (a line per question, a column per student)")
    return p


def permission_problem(error: OSError, root: Path, command: str) -> str:
    """What to do about a file ``command`` was not allowed to use (``error``), in or out of the course ``root``."""
    where = Path(error.filename or root)
    if where.is_relative_to(root):
        return (f"{command} may not use {where} ({error.strerror}). It writes into the course folder {root}: run it "
                f"as the account that owns the folder, or give yours the right to write there (e.g. `sudo chown -R "
                f"$USER {shell_word(root)}`), then run it again.")
    return f"{command} may not use {where} ({error.strerror}): choose a place you may write to, then run it again."


USE_GRADEBOOK = {"release", "grade", "feedback", "export", "report"}  # and the doctor, which reports it
WRITE_GRADEBOOK = {"release": "the lab's cells", "grade": "grading results"}  # what each writes to it
RUN_NOTEBOOKS = {"grade", "doctor", "demo"}  # with Linux's process isolation and limits


COMMANDS = {"release": cmd_release, "grade": cmd_grade, "feedback": cmd_feedback,
            "export": cmd_export, "report": cmd_report,
            "student-kit": cmd_student_kit, "doctor": cmd_doctor, "demo": cmd_demo}


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if getattr(args, "workers", 1) is not None and getattr(args, "workers", 1) < 1:
        print("error: --workers must be at least 1", file=sys.stderr)
        return 2
    try:
        course = Course.at(args.root)
        for lab in [getattr(args, "lab", None), *(getattr(args, "labs", None) or [])]:
            if lab:  # a wrong name is told at once, before the grading machinery is imported
                course.check_lab(lab)
        if args.command in RUN_NOTEBOOKS and sys.platform != "linux":
            raise CourseError(not_linux(args.command))
        if args.command == "grade":  # its workers' server imports the grader while this process does the same
            from .workers import start_worker_server
            start_worker_server()
        if args.command in USE_GRADEBOOK and not getattr(args, "check", False):
            from .gradebook_access import gradebook_problem
            url, writes = course.db_url(), WRITE_GRADEBOOK.get(args.command)
            file = sqlite_file(url)
            problem = gradebook_problem(url, write=bool(writes)) or \
                (writes and file and course.not_writable(writes, [file]))
            if problem:
                raise CourseError(problem)
        return COMMANDS[args.command](course, args)
    except CourseError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except OSError as error:  # e.g. a course folder owned by another account, mounted read-only, or full
        if error.errno in (errno.ENOSPC, errno.EDQUOT):
            print(f"error: {args.command} could not write {error.filename or 'its files'}: {error.strerror} (the disk "
                  "is full, or your quota is used up). Free some space, then run it again.", file=sys.stderr)
            return 2
        if error.errno not in (errno.EACCES, errno.EPERM, errno.EROFS):
            raise
        print(f"error: {permission_problem(error, Path(args.root).resolve(), args.command)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as stop:  # Ctrl-C, or SIGTERM or SIGHUP (stop_on_signals); a grading says what it kept
        signum = getattr(stop, "signum", signal.SIGINT)
        said = str(stop) or f"{args.command} stopped ({signal.Signals(signum).name}) before it finished: run it again."
        print(f"\n{said}", file=sys.stderr)
        return 128 + signum
