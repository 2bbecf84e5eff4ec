"""Grading throughput: ``python -m autograder grade`` against stock ``nbgrader autograde``, side by side.

    python benchmarks/bench_grading.py [LAB ...] [--submissions 10] [--workers 2] [--repeats 2] [--plain-runs 3]

For each lab (default: Lab 1), N copies of the lab's solved notebook are graded twice per repeat, in
fresh scratch copies of the course, alternating which side goes first:

- **stock**: a course as an instructor would set it up without the kit: the lab's source notebook, an
  ``nbgrader_config.py`` with only the course id and ``Execute.timeout = 300`` (the kit's; nbgrader's own
  30 s is too short for training cells on a loaded machine), ``nbgrader generate_assignment`` and then
  ``nbgrader autograde`` with nbgrader's default preprocessors: one kernel after the other, no sandbox,
  and the hidden tests run in the student's kernel (nbgrader restores them from its gradebook; they
  import ``autograder.hidden``, which the kernel finds in the installed kit).
- **kit**: ``python -m autograder release`` and ``python -m autograder grade LAB --workers W``: sandbox
  and judge on, the canary first (counted in the kit's time; its own time is printed too).

- **floor**: stock nbgrader's kernels' own work, run as a parallel grader with a canary would run it: the solved
  notebook alone in a plain kernel (as the canary is run before the others), then the N notebooks, W at a time,
  in plain kernels (nbclient only: no nbgrader, no gradebook, no sandbox, hidden tests in the kernel). No grader
  that runs the hidden tests in the kernel beats it; the kit's judge runs its checks outside the kernel, with work
  of its own, and can (Labs 2, 5 and 6 on 5 December).

Besides each side's wall time, the CPU it kept busy (all cores together, from ``/proc/stat``, so run it on an
otherwise idle machine): what the sandbox, the judge and the canary cost beyond the notebooks' own work.

Then the kit's cost per notebook over the notebook's own execution: one solved submission graded by
``grade_submission`` in this process (as a worker does: sandbox, judge, nbgrader), alternating with the
same notebook run by nbclient in a plain kernel with its hidden tests in the kernel (what stock nbgrader
executes), kernel start included; the medians and their difference.

Labs 5 and 6 need CIFAR-10 and MNIST: without COURSE_DATA_DIR, files in the official formats are written to a
temporary folder (``stage_data``) and passed as COURSE_DATA_DIR to both sides.
"""
import argparse
import copy
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

KIT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(KIT))
sys.path.insert(1, str(KIT / "tests"))

import nbformat  # noqa: E402

from autograder.course import Course  # noqa: E402
from autograder.demo import scratch_course  # noqa: E402
from autograder.submissions import solved, submit  # noqa: E402

STOCK_CONFIG = '''c = get_config()  # noqa: F821
c.CourseDirectory.course_id = "nn-from-scratch"
c.Execute.timeout = 300
'''
CANARY_LINE = re.compile(r"Canary: .* in ([\d.]+) s;")


def stage_data(labs: list[str], folder: Path) -> None:
    """Without COURSE_DATA_DIR, the data sets Labs 5 and 6 need, in the official formats, in ``folder``/data
    (``course_data.stage_course_data``); both sides load them through the code that loads the real ones."""
    if os.environ.get("COURSE_DATA_DIR") or not any(lab.startswith(("lab5", "lab6")) for lab in labs):
        return
    from course_data import stage_course_data
    os.environ["COURSE_DATA_DIR"] = str(stage_course_data(folder / "data"))


def run(command, cwd) -> tuple[float, str]:
    """Run ``command`` as in this Python's activated environment (stock nbgrader runs ``alembic`` from PATH)."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed in {cwd}:\n{done.stdout[-3000:]}")
    return seconds, done.stdout


def busy_seconds() -> float:
    """Seconds the machine's cores have been busy since it started, all cores together (``/proc/stat``): around a
    side, the CPU it used, its kernels and workers included, when nothing else runs."""
    with open("/proc/stat") as stat:
        user, nice, system, _, _, irq, softirq = map(int, stat.readline().split()[1:8])
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def stock_notebook(lab_source: nbformat.NotebookNode, submitted: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The submission with its test cells as in the source (hidden tests included): what stock nbgrader runs."""
    tests = {cell.metadata["nbgrader"]["grade_id"]: cell.source for cell in lab_source.cells
             if cell.get("metadata", {}).get("nbgrader", {}).get("grade")
             and not cell.metadata["nbgrader"].get("solution")}
    nb = copy.deepcopy(submitted)
    for cell in nb.cells:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id in tests:
            cell.source = tests[grade_id]
    return nb


def prepare(folder: Path, lab: str, n: int, stock: bool) -> Course:
    course = scratch_course(Course(KIT), folder, [lab])
    if stock:
        (course.root / "nbgrader_config.py").write_text(STOCK_CONFIG)
        run(["nbgrader", "generate_assignment", lab], course.root)
    else:
        run([sys.executable, "-m", "autograder", "release", lab], course.root)
    nb = solved(Course(folder), lab)
    for i in range(n):
        submit(course, f"student{i:03d}", lab, nb)
    return course


def scores(course: Course, lab: str) -> list[float]:
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{course.root / 'gradebook.db'}") as gb:
        return sorted(float(s.score) for s in gb.assignment_submissions(lab))


def throughput(lab: str, n: int, workers: int, repeats: int, tmp: Path) -> dict:
    times = {"stock": [], "kit": [], "canary": [], "floor": [], "floor first": [], "stock cpu": [], "kit cpu": [],
             "floor cpu": []}
    loads = []
    for repeat in range(repeats):
        stock = prepare(tmp / f"{lab}-stock{repeat}", lab, n, stock=True)
        kit = prepare(tmp / f"{lab}-kit{repeat}", lab, n, stock=False)
        order = ("stock", "kit", "floor") if repeat % 2 == 0 else ("floor", "kit", "stock")
        for side in order:
            loads.append(os.getloadavg()[0])
            busy = busy_seconds()
            if side == "stock":
                seconds, _ = run(["nbgrader", "autograde", lab], stock.root)
            elif side == "kit":
                seconds, out = run([sys.executable, "-m", "autograder", "grade", lab, "--workers", str(workers)],
                                   kit.root)
                canary = CANARY_LINE.search(out)
                times["canary"].append(float(canary.group(1)) if canary else float("nan"))
            else:
                seconds, first = floor(kit, lab, n, workers)
                times["floor first"].append(first)
            times[side].append(seconds)
            times[f"{side} cpu"].append(busy_seconds() - busy)
            loads.append(os.getloadavg()[0])
        stock_scores, kit_scores = scores(stock, lab), scores(kit, lab)
        print(f"  {lab} repeat {repeat + 1} ({' then '.join(order)}): stock {times['stock'][-1]:.1f} s "
              f"(scores {min(stock_scores):g}-{max(stock_scores):g}), kit {times['kit'][-1]:.1f} s "
              f"(canary {times['canary'][-1]:.1f} s; scores {min(kit_scores):g}-{max(kit_scores):g}), "
              f"floor {times['floor'][-1]:.1f} s (first {times['floor first'][-1]:.1f} s), "
              f"load {min(loads):.1f}-{max(loads):.1f}; CPU busy: stock {times['stock cpu'][-1]:.1f} s, "
              f"kit {times['kit cpu'][-1]:.1f} s, floor {times['floor cpu'][-1]:.1f} s", flush=True)
        assert len(stock_scores) == len(kit_scores) == n
    return {key: statistics.median(values) for key, values in times.items()} | {"load": (min(loads), max(loads))}


def floor(course: Course, lab: str, n: int, workers: int) -> tuple[float, float]:
    """Seconds for stock nbgrader's kernels' own work run in parallel after a canary, and of its first notebook: the
    solved notebook run alone in a plain kernel (as a canary is), then N times, ``workers`` at a time: nbclient only,
    no nbgrader, no sandbox, no gradebook, hidden tests in the kernel. Side by side, the kernels share the cores as
    the kit's do (``shared_cores``): each taking all of them for its matrix products slows both down."""
    from concurrent.futures import ProcessPoolExecutor
    from autograder.capacity import shared_cores
    nb = stock_notebook(nbformat.read(course.source_notebook(lab), as_version=4), solved(course, lab))
    folder = course.release_notebook(lab).parent
    start = time.perf_counter()
    run_plain(copy.deepcopy(nb), folder)
    first = time.perf_counter() - start
    with ProcessPoolExecutor(workers, initializer=os.environ.update, initargs=(shared_cores(workers),)) as pool:
        list(pool.map(run_plain, [nb] * n, [folder] * n))
    return time.perf_counter() - start, first


def per_notebook(lab: str, runs: int, tmp: Path) -> tuple[float, float]:
    """Median seconds of (one grading in a worker, the same notebook in a plain kernel)."""
    from autograder import grade as grading
    from autograder.sandbox import font_list
    course = prepare(tmp / f"{lab}-single", lab, runs, stock=False)
    grading.ensure_in_gradebook(course, lab)
    font_list()  # built once per grading run, before its first kernel, as grade() does
    plain_nb = stock_notebook(nbformat.read(course.source_notebook(lab), as_version=4), solved(course, lab))
    graded, plain = [], []
    for i in range(runs):
        start = time.perf_counter()
        outcome = grading.grade_submission(course, lab, f"student{i:03d}", True)
        graded.append(time.perf_counter() - start)
        assert outcome.status == "graded", outcome
        start = time.perf_counter()
        run_plain(copy.deepcopy(plain_nb), course.release_notebook(lab).parent)
        plain.append(time.perf_counter() - start)
    return statistics.median(graded), statistics.median(plain)


def run_plain(nb, folder: Path) -> None:
    """Run ``nb`` in a plain kernel in ``folder``, as nbgrader autograde runs it (NBGRADER_EXECUTION=autograde,
    so the labs take their short graded path, as they do on both sides of the comparison)."""
    from nbclient import NotebookClient
    from traitlets.config import Config
    env = {**os.environ, "NBGRADER_EXECUTION": "autograde"}
    with tempfile.TemporaryDirectory() as sockets:  # unix sockets: a TCP port picked free can be taken by the other
        config = Config({"KernelManager": {"transport": "ipc", "ip": os.path.join(sockets, "kernel")}})
        client = NotebookClient(nb, timeout=600, kernel_name="python3", config=config,
                                resources={"metadata": {"path": str(folder)}})
        client.execute(env=env)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("labs", nargs="*", default=["lab1_initialization"])
    parser.add_argument("--submissions", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--plain-runs", type=int, default=3, help="pairs for the per-notebook cost (0: skip)")
    args = parser.parse_args()
    from sqlalchemy.exc import SAWarning
    # nbgrader's gradebook code, run here by the per-notebook gradings, trips SQLAlchemy 2 warnings that say nothing
    # about the benchmark (the kit's workers ignore them too)
    warnings.filterwarnings("ignore", category=SAWarning)
    print(f"{args.submissions} solved submissions per lab, {args.repeats} repeat(s), {os.cpu_count()} cores; "
          f"stock: nbgrader autograde, sequential; kit: grade --workers {args.workers}, canary counted", flush=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        stage_data(args.labs, tmp)
        for lab in args.labs:
            t = throughput(lab, args.submissions, args.workers, args.repeats, tmp)
            single = per_notebook(lab, args.plain_runs, tmp) if args.plain_runs else None
            rows.append((lab, t, single))
    n = args.submissions
    print("\n| lab | stock autograde | kit grade (canary) | stock / kit | stock / kit without canary | "
          "floor (first) | stock / floor | load | one grading | plain kernel | kit's cost per notebook |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for lab, t, single in rows:
        per_notebook_cells = (f"{single[0]:.2f} s | {single[1]:.2f} s | {single[0] - single[1]:+.2f} s" if single
                              else "not measured | not measured | not measured")
        print(f"| {lab} | {t['stock']:.1f} s | {t['kit']:.1f} s ({t['canary']:.1f} s) | {t['stock'] / t['kit']:.2f}x | "
              f"{t['stock'] / (t['kit'] - t['canary']):.2f}x | {t['floor']:.1f} s ({t['floor first']:.1f} s) | "
              f"{t['stock'] / t['floor']:.2f}x | {t['load'][0]:.1f}-{t['load'][1]:.1f} | {per_notebook_cells} |")
    print("\n| lab | CPU busy, all cores: stock | kit | floor |\n|---|---|---|---|")
    for lab, t, _ in rows:
        print(f"| {lab} | {t['stock cpu']:.1f} s | {t['kit cpu']:.1f} s | {t['floor cpu']:.1f} s |")
    print(f"\n(medians; {n} submissions per lab" + (f"; 'one grading' and 'plain kernel': medians of {args.plain_runs} "
          "alternating pairs, one notebook at a time)" if args.plain_runs else "; --plain-runs 0: the cost per notebook "
          "was not measured)"))


if __name__ == "__main__":
    main()
