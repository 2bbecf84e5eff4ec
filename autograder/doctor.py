"""``python -m autograder doctor [LAB]``: is this server ready to grade? The canary's checks, alone, as a report."""
from __future__ import annotations

import platform

import nbformat

from . import canary, seccomp
from .capacity import available_memory, default_workers, usable_cores
from .course import CONFIG_FILE, Course, CourseError, install_command, sqlite_file
from .gradebook_access import gradebook_problem, shown_url, tests_changed_since_release
from .leaks import cell_label
from .legacy_locale import legacy_encoding
from .safe_html import formgrader_runs_scripts
from .sandbox import size_text
from .sandbox import GiB, MiB, SandboxedKernelManager, sandbox_problem


def doctor(course: Course, lab: str | None = None, sandbox: bool = True) -> tuple[str, bool]:
    """A readable report on the grading environment (and on grading ``lab``'s own solution); and whether all is well."""
    lines, healthy = [], True

    def check(ok: bool, what: str) -> None:
        nonlocal healthy
        healthy &= ok
        lines.append(f"  [{'ok' if ok else 'PROBLEM'}] {what}")

    lines.append(f"Course root: {course.root}")
    url = course.db_url()
    file = sqlite_file(url)
    gradebook = gradebook_problem(url, write=True) or (file and course.not_writable("grading results", [file]))
    check(not gradebook, gradebook or f"gradebook: {shown_url(url)} "
          + ("is not made yet (the first release makes it)" if file and not file.exists() else "opens"))
    for released_lab in [] if gradebook else course.labs():  # a newer kit pulled with git changes them, say
        changes = tests_changed_since_release(url, released_lab, nbformat.read(course.source_notebook(released_lab),
                                                                               as_version=4))
        if changes:
            check(False, f"source/{released_lab} changed since it was released ({'; '.join(changes[:3])}): grade "
                         f"refuses until it is released again ({course.command('release', released_lab)})")
    try:
        runs = formgrader_runs_scripts(course.config())
    except Exception as error:  # noqa: BLE001 (the formgrader could not show a submission either: say so)
        check(False, f"formgrader: it cannot render a submission here ({type(error).__name__}: "
                     f"{(str(error).splitlines() or [''])[0]})")
    else:
        check(not runs, "formgrader: shows students' Markdown and HTML outputs cleaned of scripts" if not runs else
              f"formgrader: {CONFIG_FILE} does not clean what the formgrader shows of a submission, so a script in a "
              "student's written answer would run in your Jupyter session, with your rights, when you grade it: copy "
              f"the HTMLExporter lines of the kit's {CONFIG_FILE} into yours")
    if codeset := legacy_encoding():
        lines.append(f"  [info] locale: this server's encoding is {codeset}; the kit's commands read and write in "
                     "UTF-8 all the same. Start `jupyter lab` (the formgrader) and nbgrader's own commands in UTF-8 "
                     "too, or they look for students' folders under other names: `export PYTHONUTF8=1` first")
    problem = sandbox_problem() if sandbox else None
    check(not problem, "sandbox: bubblewrap works here" if sandbox and not problem else
          f"sandbox: {problem}" if problem else "sandbox: off (--unsafe-no-sandbox)")
    if problem:
        return "\n".join(lines), False
    if sandbox:
        lines.append("  [info] sandbox: memfd_create and shmget fail in graded kernels (a seccomp filter), so what they "
                     "hold past their memory limit is at most their scratch and /tmp" if seccomp.filter_program() else
                     f"  [info] sandbox: no seccomp filter for this machine type ({platform.machine()}): graded "
                     "kernels can hold memory past their limit in memfd files and System V segments")
    env = canary.environment(course, sandbox)
    ours = course.root / "course_utils"
    where = env["grader_course_utils"]
    lines.append(f"  [info] grader: Python {env['grader_python']}, NumPy {env['grader_numpy']}, course_utils from "
                 f"{where}" + (f" (not this course's own copy, {ours})" if ours.is_dir() and where != str(ours) else ""))
    check("probe_error" not in env and "numpy_error" not in env,
          f"graded kernels run Python {env.get('python')} with NumPy {env.get('numpy')}" if "numpy" in env else
          f"graded kernels cannot run Python with NumPy: {env.get('numpy_error') or env.get('probe_error')}")
    check("course_utils" in env, f"graded kernels import course_utils from {env['course_utils']}" if "course_utils" in env
          else f"graded kernels cannot import course_utils: {env.get('course_utils_error')}; install the kit in "
               f"this Python environment from the course root: {install_command(course.root)}")
    foreign = canary.foreign_code(course, env)
    if foreign:
        check(False, foreign[0].upper() + foreign[1:])
    folder = env.get("COURSE_DATA_DIR")
    if folder and env.get("data_error"):  # a typo, a folder not mounted yet, one other users may not read
        check(False, f"data: COURSE_DATA_DIR={folder}, which graded kernels cannot read ({env['data_error']}): set it "
                     "to the folder that holds the staged data sets, readable by every user, or unset it")
    else:
        lines.append("  [info] data: COURSE_DATA_DIR is not set (labs that need CIFAR-10 or MNIST will fail)"
                     if not folder else f"  [info] data: COURSE_DATA_DIR={folder}; graded kernels see: "
                     + (", ".join(env.get("data_files") or []) or "nothing"))
    kernel_bytes = SandboxedKernelManager(config=course.config()).memory_bytes
    lines.append(f"  [info] capacity: grade runs {default_workers(kernel_bytes)} notebook(s) side by side by default "
                 f"({usable_cores()} usable core(s), {available_memory() / GiB:.1f} GiB of memory available, up to "
                 f"{size_text(kernel_bytes)} per kernel)")
    if lab:
        healthy &= _canary_report(course, lab, sandbox, env, lines, kernel_bytes)
    lines.append("All checks passed: this server is ready to grade." if healthy else
                 "Some checks failed: fix them before grading (grade refuses while the canary fails).")
    return "\n".join(lines), healthy


def _canary_report(course: Course, lab: str, sandbox: bool, env: dict, lines: list[str], kernel_bytes: int) -> bool:
    from .grade import run_canary
    from .preprocessors import cell_key
    course.check_lab(lab)
    if not course.release_notebook(lab).is_file():
        raise CourseError(f"{lab} has not been released yet: run `{course.command('release', lab)}` first.")
    result = run_canary(course, lab, sandbox, environment=env, own_folder=True)  # beside a running grade, too
    lines.append(f"Canary ({lab}'s own solution, graded as a submission would be):")
    mark = "ok" if result.full_marks else "PROBLEM"
    lines.append(f"  [{mark}] score {result.score:g} / {result.max_score:g} automatic points, status {result.status}")
    cells = nbformat.read(course.source_notebook(lab), as_version=4).cells
    labels = {cell_key(cell): cell_label(cell, index) for index, cell in enumerate(cells)}
    slowest = sorted(result.cell_seconds.items(), key=lambda item: -item[1])[:3]
    lines.append(f"  [info] time: {result.seconds:.1f} s in all (kernel start included); slowest cells: "
                 + ", ".join(f"{labels.get(key, key)} {seconds:.2f} s" for key, seconds in slowest))
    lines.append(f"  [info] memory: the kernel's peak was {result.peak_memory_bytes / MiB:.0f} MiB "
                 f"(the limit is {size_text(kernel_bytes)})")
    if result.problem:  # labelled here when the score's line was not
        lines.append(f"  {'[PROBLEM] ' if result.full_marks else ''}{result.problem}")
    return result.ok


def full_run(course: Course, lab: str) -> tuple[str, bool]:
    """Run ``lab``'s own solution as a student runs it (all the data, no grading shortcuts) and report.

    Meant for what the kit cannot measure without the real data, e.g. Lab 5's recipe on your CIFAR-10:
    the report gives the time, the slowest cells, any error, and the last lines that name a test accuracy.
    """
    import os
    import tempfile
    import time

    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    from .submissions import solved

    course.check_lab(lab)
    if not course.release_notebook(lab).is_file():
        raise CourseError(f"{lab} has not been released yet: run `{course.command('release', lab)}` first.")
    nb = solved(course, lab)
    cell_seconds, error = {}, None
    environment = {key: value for key, value in os.environ.items() if key != "NBGRADER_EXECUTION"}

    class TimedClient(NotebookClient):
        async def async_execute_cell(self, cell, cell_index, *args, **kwargs):
            started = time.monotonic()
            try:
                return await super().async_execute_cell(cell, cell_index, *args, **kwargs)
            finally:
                cell_seconds[cell_index] = time.monotonic() - started

    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix=f"{lab}-full-run-") as folder:
        kernel = KernelManager(kernel_name="python3", transport="ipc", ip=os.path.join(folder, "kernel"))  # no TCP
        client = TimedClient(nb, km=kernel, timeout=None, resources={"metadata": {"path": folder}})
        try:
            client.execute(env=environment, cleanup_kc=True)  # stops the kernel it was given, too
        except CellExecutionError as raised:
            error = raised
    seconds = time.monotonic() - started
    lines = [f"Full run ({lab}'s own solution in student mode: all its data, as a student runs it):"]
    if error is None:
        lines.append(f"  [ok] all {len(cell_seconds)} code cells ran without an error in {seconds:.0f} s "
                     "(kernel start included)")
    else:
        failed, needed = max(cell_seconds), canary.data_set_of(course.source_notebook(lab).read_text(encoding="utf-8"))
        missing = needed and error.ename in canary.MISSING_DATA  # the loader's message is for students: its 1st line
        lines.append(f"  [PROBLEM] {cell_label(nb.cells[failed], failed)} stopped with {error.ename}: "
                     f"{error.evalue.splitlines()[0] if missing else error.evalue} (after {seconds:.0f} s)")
        if missing:
            lines.append(f"  {lab} needs {needed[0]}, and this run did not find it. Put {needed[1]} in a folder "
                         "readable by every user and set COURSE_DATA_DIR to it, e.g. COURSE_DATA_DIR=/srv/data "
                         f"{course.command('doctor', lab, '--full')} (grade needs it there too).")
    slowest = sorted(cell_seconds.items(), key=lambda item: -item[1])[:3]
    lines.append("  [info] slowest cells: " + ", ".join(f"{cell_label(nb.cells[index], index)} {s:.1f} s"
                                                         for index, s in slowest))
    accuracies = _accuracy_lines(nb)
    lines.append("  [info] test accuracy, as each part of the notebook printed it last:" if accuracies else
                 "  [info] the notebook printed no test accuracy")
    lines += [f"    {heading}: {line}" for heading, line in accuracies]
    return "\n".join(lines), error is None


def _accuracy_lines(nb) -> list[tuple[str, str]]:
    """(heading above the cell, the cell's last printed line naming a test accuracy), for each such cell."""
    found, heading = [], "(before the first heading)"
    for cell in nb.cells:
        if cell.cell_type == "markdown" and cell.source.lstrip().startswith("#"):
            heading = cell.source.lstrip().splitlines()[0].lstrip("#").strip()
        printed = [line.strip() for output in cell.get("outputs", []) if output.get("name") == "stdout"
                   for line in output.get("text", "").splitlines() if "test accuracy" in line.lower()]
        if printed:
            found.append((heading, printed[-1]))
    return found
