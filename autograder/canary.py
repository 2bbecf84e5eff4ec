"""The canary: before a lab is graded, its own solution is graded in the same sandbox, configuration and
environment as the students' notebooks; a broken grading environment then stops grading instead of
giving everyone zero.

The canary course is a scratch copy of the lab under ``.autograder/canary/<lab>/`` (a shard's: under
``.autograder/canary/<lab>.<host>-<pid>/``, deleted after it ran) with a gradebook of its
own (SQLite, whatever the course uses), so the canary never writes to the course's gradebook. Besides
its score, the canary gives each cell's time (the reference of the per-cell time limits), the kernel's
peak memory, and what a graded kernel sees of its environment (``probe``).
"""
from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from .course import CONFIG_FILE, Course, CourseError, fingerprint, install_command, shell_word
from .leaks import cell_label

STUDENT = "canary"
CHECKING_CODE = ("hidden", "reference", "judge")  # autograder/ folders whose code decides scores
DATASETS = {"load_cifar10": ("CIFAR-10", "cifar-10-python.tar.gz (or its extracted cifar-10-batches-py/)"),
            "load_mnist": ("MNIST", "the four MNIST files train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, "
                                    "t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz")}
MISSING_DATA = ("FileNotFoundError", "ConnectionError")  # what the loaders raise when the data set is not there
DAMAGED_DATA = ("CIFAR10DataError", "MNISTDataError")  # ... and when its files are damaged
PROBE = """\
import json, os, sys
seen = {"python": sys.version.split()[0]}
for name in ("numpy", "course_utils"):
    try:
        module = __import__(name)
        seen[name] = getattr(module, "__version__", None) or os.path.dirname(module.__file__)
    except Exception as error:
        seen[name + "_error"] = f"{type(error).__name__}: {error}"
folder = os.environ.get("COURSE_DATA_DIR")
seen["COURSE_DATA_DIR"] = folder
if folder:
    try:
        seen["data_files"] = sorted(os.listdir(folder))[:20]
    except OSError as error:
        seen["data_error"] = f"{type(error).__name__}: {error.strerror}"
print(json.dumps(seen))
"""


@dataclass
class CanaryResult:
    """How the lab's own solution fared in the grading environment."""
    lab: str
    status: str
    score: float
    max_score: float                         # the automatic points (written answers are graded by hand)
    lost: list[str]                          # "grade_id: error" of each test cell that lost points
    seconds: float                           # the whole grading of the canary, kernel start included
    cell_seconds: dict[str, float]           # each cell's time, by preprocessors.cell_key
    peak_memory_bytes: int                   # the kernel's peak resident memory
    environment: dict = field(default_factory=dict)
    problem: str | None = None               # what went wrong and what to do; None if it scored full marks

    @property
    def ok(self) -> bool:
        return self.problem is None

    @property
    def full_marks(self) -> bool:
        """It was graded and scored every automatic point (its cells outside the tests may still have failed)."""
        return self.status == "graded" and self.score >= self.max_score


def grader_environment(course: Course, sandbox: bool) -> dict:
    """What the grader itself runs with: Python, NumPy, where course_utils comes from and a hash of it, and a hash of
    the code that decides scores (the hidden checks, the references and the judge): a fixed check regrades."""
    import numpy
    from .sandbox import package_folder
    folder = package_folder("course_utils")
    digest = hashlib.sha256()
    for path in sorted(Path(folder).rglob("*.py")) if folder else []:
        digest.update(path.read_bytes())
    checks = hashlib.sha256()
    for part in CHECKING_CODE:
        for name, content in sorted(_sources(Path(__file__).parent / part).items()):
            checks.update(f"{part}/{name}".encode() + hashlib.sha256(content).digest())
    return {"grader_python": sys.version.split()[0], "grader_numpy": numpy.__version__,
            "grader_course_utils": folder, "course_utils_sha256": digest.hexdigest()[:16],
            "checks_sha256": checks.hexdigest()[:16], "sandbox": sandbox}


def _sources(folder: Path) -> dict[str, bytes]:
    """relative path -> content of each Python file of a package's folder."""
    return {str(path.relative_to(folder)): path.read_bytes() for path in folder.rglob("*.py")
            if "__pycache__" not in path.parts}


def differing_files(one: Path, other: Path) -> list[str]:
    """The Python files (relative paths) that two copies of a package do not have alike, in name order."""
    if one.resolve() == other.resolve():
        return []
    a, b = _sources(one), _sources(other)
    return sorted(name for name in a.keys() | b.keys() if a.get(name) != b.get(name))


def foreign_code(course: Course, env: dict) -> str | None:
    """Why grading would not run this course's own code, or None: the grader's ``autograder`` (hidden checks,
    references) or ``course_utils``, or the graded kernels' ``course_utils``, is another copy whose files differ
    from the course root's (a kit installed without ``-e``, or from another clone). A course root without the
    kit's code (a scratch course) has nothing to compare."""
    grader_utils, kernel_utils = env.get("grader_course_utils"), env.get("course_utils")
    copies = [("this command runs the kit", Path(__file__).parent, course.root / "autograder"),
              ("the grader imports course_utils", grader_utils and Path(grader_utils), course.root / "course_utils"),
              ("graded kernels import course_utils", kernel_utils and Path(kernel_utils), course.root / "course_utils")]
    for what, used, own in copies:
        if used and used.is_dir() and own.is_dir() and (differ := differing_files(used, own)):
            named = ", ".join(differ[:3]) + (f" and {len(differ) - 3} more" if len(differ) > 3 else "")
            return (f"{what} from {used}, not this course's own {own.name}/ ({own}), and their files differ "
                    f"({named}): the course's own version would not be what grades. {_own_kit_advice(course, used)}")
    return None


def _own_kit_advice(course: Course, used: Path) -> str:
    """How to run the course's own kit instead of the copy ``used`` (a package folder of that copy)."""
    here = Path.cwd().resolve()
    if used.resolve().parent == here and Path(sys.path[0] or ".").resolve() == here:
        return (f"`python -m` imports the kit of the folder it is started in ({here}) before the installed one: run "
                f"the command from the course root (cd {shell_word(course.root)}), with the kit installed from there "
                f"({install_command(course.root)}) if it is not yet.")
    return f"Install the kit from this course root ({install_command(course.root)}), then run the command again."


def probe(course: Course, sandbox: bool) -> dict:
    """What a graded kernel sees: its Python and NumPy, course_utils (or why it cannot import it), the data."""
    from .sandbox import SandboxedKernelManager, kernel_environment, run_in_sandbox
    if sandbox:
        policy = SandboxedKernelManager(config=course.config()).policy
        result = run_in_sandbox(policy, [sys.executable, "-c", PROBE], timeout=120)
    else:
        with tempfile.TemporaryDirectory() as scratch:
            result = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, encoding="utf-8",
                                    errors="replace", timeout=120, env=kernel_environment(), cwd=scratch)
    try:
        return json.loads(result.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {"probe_error": (result.stderr.strip() or "no output").splitlines()[-1]}


def environment(course: Course, sandbox: bool) -> dict:
    """The grading environment as it decides grades: part of every submission's fingerprint."""
    return {**grader_environment(course, sandbox), **probe(course, sandbox)}


def canary_course(course: Course, lab: str, root: Path | None = None) -> Course:
    """The lab's canary course: a copy of the lab with the course's configuration and its own gradebook, in
    ``root`` (by default ``.autograder/canary/<lab>/``, kept while the lab's source folder and the configuration
    stay the same; ``release`` makes it, so that the lab's first grading need not)."""
    from .release import generate
    root = root or course.root / ".autograder" / "canary" / lab
    canary = Course(root, gradebook_url=f"sqlite:///{root / 'gradebook.db'}")
    made_from = root / "made-from.sha256"
    key = fingerprint(course.source_notebook(lab).parent, course.root / CONFIG_FILE)
    if not (made_from.is_file() and made_from.read_text(encoding="utf-8") == key):
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir(parents=True)
        shutil.copy(course.root / CONFIG_FILE, root / CONFIG_FILE)
        shutil.copytree(course.root / "source" / lab, root / "source" / lab)
        generate(canary, lab)
        made_from.write_text(key, encoding="utf-8")
    return canary


def scratch_course(course: Course, lab: str, root: Path | None = None) -> Course:
    """The canary course (``canary_course``) with the solved notebook submitted, and nothing graded yet."""
    from .release import differences
    from .submissions import solved, submit
    canary = canary_course(course, lab, root)
    for folder in ("submitted", "autograded"):
        shutil.rmtree(canary.root / folder, ignore_errors=True)
    stale = differences(canary.root / "release" / lab, course.root / "release" / lab)
    if stale:  # nbgrader would grade by the tests of that release, the canary by source/'s
        raise CourseError(
            f"release/{lab} is not what source/{lab} generates ({'; '.join(stale[:3])}): source/ changed since the "
            f"lab was last released, or release/ did. Students would be graded by the tests of that earlier release. "
            f"Release it again ({course.command('release', lab)}), then grade: everyone is then graded by the tests "
            "of source/ (the versions students worked on are kept).")
    submit(canary, STUDENT, lab, solved(course, lab))
    return canary


def automatic_points(nb) -> float:
    """The points of a notebook's automatically graded cells (code cells marked for grading)."""
    return sum(float(cell.metadata["nbgrader"].get("points", 0)) for cell in nb.cells
               if cell.cell_type == "code" and cell.get("metadata", {}).get("nbgrader", {}).get("grade"))


def lost_points(graded) -> list[str]:
    """``"grade_id: ename: evalue"`` for each graded code cell of an autograded notebook that has an error."""
    lost = []
    for cell in graded.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        if cell.cell_type == "code" and meta.get("grade") and errors:
            lost.append(f"{meta.get('grade_id')}: {errors[0].get('ename')}: {errors[0].get('evalue', '')[:300]}")
    return lost


def failures_outside_tests(graded) -> list[str]:
    """``"cell N (ename)"`` of each cell of an autograded notebook, other than a graded test, that has an error."""
    return [f"{cell_label(cell, index)} ({errors[0].get('ename')})" for index, cell in enumerate(graded.cells)
            if not (cell.cell_type == "code" and cell.get("metadata", {}).get("nbgrader", {}).get("grade"))
            and (errors := [o for o in cell.get("outputs", []) if o.get("output_type") == "error"])]


def data_set_of(source: str) -> tuple[str, str] | None:
    """(name, files) of the data set a notebook's source text loads (``DATASETS``), or None."""
    return next((needed for loader, needed in DATASETS.items() if loader in source), None)


def diagnose(course: Course, lab: str, result: CanaryResult, graded) -> str | None:
    """Why the canary lost points or failed outside its tests, and what to do; None if it scored full marks and
    every cell ran (a cell that fails for the solution, e.g. on missing data, fails for every student too)."""
    outside = failures_outside_tests(graded) if graded is not None else []
    full = result.full_marks
    if full and not outside:
        return None
    env = result.environment
    scored = (f"The lab's own solution scored {result.score:g} of {result.max_score:g} automatic points in the "
              f"grading sandbox (status {result.status})" if not full else
              f"The lab's own solution scored full marks in the grading sandbox, but some of its cells failed: "
              f"{', '.join(outside[:5])}{' and more' if len(outside) > 5 else ''}")
    scored += "."
    if "course_utils_error" in env:
        return (f"{scored} course_utils cannot be imported by graded kernels ({env['course_utils_error']}). "
                f"The grader imports it from {env.get('grader_course_utils')}; graded kernels get only the packages "
                f"installed in {sys.prefix} (not PYTHONPATH, not the current folder), and see nothing of the disk "
                f"but those. Install the kit there from this course root: {install_command(course.root)}")
    if "numpy_error" in env or "probe_error" in env:
        return (f"{scored} Graded kernels cannot run Python with NumPy: "
                f"{env.get('numpy_error') or env.get('probe_error')}. Run `{course.command('doctor')}` for details.")
    source = course.source_notebook(lab).read_text(encoding="utf-8")
    errors = {o.get("ename"): o.get("evalue", "") for cell in graded.cells for o in cell.get("outputs", [])
              if o.get("output_type") == "error"} if graded is not None else {}
    damaged = [errors[name] for name in DAMAGED_DATA if name in errors]
    if damaged:
        return (f"{scored} The lab's data set is there, but damaged: {damaged[0]} (Graded kernels read it from "
                f"COURSE_DATA_DIR, {env.get('COURSE_DATA_DIR')}.) Put an intact copy there, then grade again.")
    needed = data_set_of(source)
    if needed and errors.keys() & set(MISSING_DATA):
        name, files = needed
        folder = env.get("COURSE_DATA_DIR")
        seen = ("COURSE_DATA_DIR is not set" if not folder else
                f"COURSE_DATA_DIR is {folder}, where graded kernels see "
                + (env.get("data_error") or (", ".join(env.get("data_files") or []) or "nothing")))
        return (f"{scored} {lab} needs {name}, and graded kernels have no internet: {seen}. Put {files} in a "
                "folder readable by every user (graded kernels run as an unprivileged user), and run grade "
                f"with COURSE_DATA_DIR set to it, e.g. COURSE_DATA_DIR=/srv/data {course.command('grade', lab)}.")
    lost = ("; ".join(item.rstrip(".") for item in result.lost)
            or "no test failed, but the notebook did not run to the end")
    return (f"{scored} {'' if full else f'What it lost: {lost}. '}Check the grading environment with "
            f"`{course.command('doctor', lab)}`; if the solution itself is wrong, fix source/ and release again.")
