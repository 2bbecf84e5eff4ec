"""A corpus of hostile and broken submissions of Lab 1, graded in one batch in the sandbox.

Each gets exactly the points its honest work earns (the solved notebook earns every automatic point,
the untouched release none), with a status that names what happened, and the honest submission
graded beside them is unaffected. The endless loop and the kernel that exits are in
test_grading_faults.py (they need a short cell timeout). The forgeries from inside the kernel
(patched libraries, IPython hooks, peeking at the tests, remembered answers) start from the
notebook with one planted mistake: they must not win back the question it loses.
"""
import ast
import copy
import csv
import io
import os
import re
import shutil
import socket
import sys
import tempfile
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell

from autograder.cli import outcome_table
from autograder.course import Course
from autograder.export import export
from autograder.grade import grade
from autograder.leaks import secret_lines
from autograder.sandbox import package_folder, sandbox_problem
from autograder.submissions import PlantedMistake, solved, submit, untouched, with_mistake
from released import released_course

KIT = Course(Path(__file__).resolve().parents[1])
LAB = "lab1_initialization"
PROBLEM = sandbox_problem()
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("hostile"),
              pytest.mark.skipif(PROBLEM is not None, reason=f"no sandbox possible here: {PROBLEM}")]


def is_test(cell):
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return meta.get("grade") and not meta.get("solution") and cell.cell_type == "code"


def plus(nb, *sources, at=1):
    """The notebook with the student's own code cells inserted at position ``at``."""
    nb = copy.deepcopy(nb)
    nb.cells[at:at] = [new_code_cell(source) for source in sources]
    return nb


def before(nb, grade_id):
    """The index of the cell with this grade id (to insert the student's code just before it)."""
    return next(i for i, cell in enumerate(nb.cells) if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
                == grade_id)


def edit_tests(nb, change):
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if is_test(cell):
            change(cell)
    return nb


def with_first_test_duplicated(nb):
    nb = copy.deepcopy(nb)
    first = next(i for i, cell in enumerate(nb.cells) if is_test(cell))
    duplicate = copy.deepcopy(nb.cells[first])
    duplicate["id"] = "student-made-copy"  # JupyterLab gives a copied cell a new id
    nb.cells.insert(first, duplicate)
    return nb


def with_forged_findings(nb):
    """Claims the grader would have made: the kernel died, a limit cut the output."""
    nb = plus(nb, FORGED_DEATH, "print('... Output truncated ...')")
    nb.metadata["autograder"] = {"findings": [{"cell": 1, "fact": "wall_time", "what": "it used up its wall time"}]}
    return nb


def without_tests(nb):
    nb = copy.deepcopy(nb)
    nb.cells = [c for c in nb.cells if not is_test(c)]
    return nb


def with_tests_moved_first(nb):
    nb = copy.deepcopy(nb)
    nb.cells = [c for c in nb.cells if is_test(c)] + [c for c in nb.cells if not is_test(c)]
    return nb


def answered_with_reference(nb):
    """Every exercise answered by importing the instructor's reference implementation."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("solution") and cell.cell_type == "code":
            cell.source = f"from autograder.reference.shallow import {meta['grade_id']}"
    return nb


def with_points(points):
    def change(cell):
        cell.metadata.nbgrader["points"] = points
    return change


def with_source(source):
    def change(cell):
        cell.source = source
    return change


FORK_LOOP = """import os, time
children = []
try:
    for _ in range(500):
        pid = os.fork()
        if pid == 0:
            time.sleep(1)
            os._exit(0)
        children.append(pid)
finally:
    for pid in children:
        os.waitpid(pid, 0)
    print(len(children), "children")"""

BIG_OUTPUT = """print("x" * 50_000_000)
from IPython.display import HTML, display
for _ in range(300):
    display(HTML("<b>" + "y" * 100_000 + "</b>"))
raise ValueError("z" * 30_000_000)"""

DISK_FLOOD = """with open("big.bin", "wb") as f:
    for _ in range(4096):
        f.write(bytes(1024 * 1024))"""


FORGED_DEATH = """class KernelDied(Exception):
    pass
raise KernelDied("the kernel died here: it used up its wall time")"""

PATCHED_NUMPY = """import numpy as np
np.allclose = lambda *args, **kwargs: True
np.isclose = lambda a, b, *args, **kwargs: np.ones(np.shape(a), dtype=bool)
np.testing.assert_allclose = lambda *args, **kwargs: None"""

PATCHED_LIBRARIES = """import builtins, course_utils.checks, course_utils.gradcheck
course_utils.gradcheck.rel_error = lambda a, b: 0.0
for name in dir(course_utils.checks):
    if name.startswith("check_"):
        setattr(course_utils.checks, name, lambda *args, **kwargs: None)
builtins.AssertionError = Warning"""

PATCHED_TEST_HELPERS = """import autograder.hidden.common as common
common.expect_close = common.expect_array = lambda *args, **kwargs: args[0]"""

HIDDEN_FAILURES = """import sys
ip = get_ipython()
ip.showtraceback = lambda *args, **kwargs: None
ip.set_custom_exc((BaseException,), lambda *args, **kwargs: None)
sys.excepthook = lambda *args: None
sys.displayhook = lambda value: None"""

AST_TRANSFORMER = """import ast
class Nothing(ast.NodeTransformer):
    def visit_Module(self, node):
        return ast.Module([], [])
get_ipython().ast_transformers.append(Nothing())"""

# predict answers with the reference implementation, if any caller's frame holds it (none in the kernel does)
STACK_PEEK = PlantedMistake("predict", "test_predict", """def predict(params, X):
    import sys
    frame = sys._getframe(1)
    while frame is not None:
        for value in list(frame.f_globals.values()):
            if hasattr(value, "predict") and hasattr(value, "forward_propagation"):
                return value.predict(params, X)
        frame = frame.f_back
    return np.zeros((len(X), 1), dtype=np.int64)
""")

# predict knows the visible test's answer by heart, and is wrong on any other input
REMEMBERED = PlantedMistake("predict", "test_predict", """def predict(params, X):
    if X.shape == (4, 2) and np.array_equal(X, [[1.0, 0.0], [0.0, 1.0], [2.0, 1.0], [-1.0, 0.5]]):
        return np.array([[1], [0], [1], [0]])
    return np.zeros((len(X), 1), dtype=np.int64)
""")

# Garbage from the kernel, which stopped the grading of the whole notebook: the agent's first message for predict's
# check nested 100,000 levels deep (too deep for the grader's JSON parser), once; a predict whose error message holds
# a lone surrogate, which a notebook file cannot hold. Each costs predict's question only.
DEEP_MESSAGE = """import json
real_dumps = json.dumps

def deep_dumps(message, *args, **kwargs):
    if isinstance(message, dict) and message.get("op") == "ready":
        json.dumps = real_dumps
        return "[" * 100_000 + "]" * 100_000
    return real_dumps(message, *args, **kwargs)

json.dumps = deep_dumps"""

SURROGATE_ERROR = PlantedMistake("predict", "test_predict", """def predict(params, X):
    raise ValueError(f"\\ud800 is no prediction for {len(X)} samples")
""")


# walks the whole file system, lists every notebook and course configuration it finds, and prints those
# that belong to this course (they import course_utils); nbgrader's own example notebooks are only listed
WALK = """import os
found, files = [], 0
for top in sorted(set(os.listdir('/')) - {'proc', 'sys', 'dev'}):
    for folder, dirs, names in os.walk('/' + top):
        files += len(names)
        found += [os.path.join(folder, n) for n in names if n.endswith('.ipynb') or n == 'nbgrader_config.py']
print('walked', files, 'files; found', len(found), 'notebooks and configurations')
for path in found:
    try:
        text = open(path).read()
    except OSError as error:
        print(path, error)
        continue
    print(path, text if 'course_utils' in text or 'nn-from-scratch' in text else '')
"""


# A cell whose last message (the kernel's "idle") comes 6 s after its reply, once, as on a loaded server: nbclient's
# 4 s wait failed the whole notebook ("Timeout waiting for IOPub output", a grading error).
LATE_OUTPUTS = """
kernel = get_ipython().kernel
publish = kernel._publish_status

def late_idle(status, channel, parent=None):
    if status == "idle" and channel == "shell":
        kernel._publish_status = publish
        __import__("time").sleep(6)
    publish(status, channel, parent)

kernel._publish_status = late_idle
print("this cell's last message will come late")
"""

# An error whose name, printed in the grade table's detail, would erase its row, write a forged one and hide the rest;
# a notebook beside it named to move the cursor up
FORGED_ROW = """class Forged(Exception):
    pass

Forged.__name__ = "\\x1b[2K\\rhonest  21 / 21  graded\\x1b[8m"
raise Forged()
"""
FORGED_ROW_FILE = "\x1b[1Anotes.ipynb"


def corpus(course, port):
    """name -> (notebook, honest score, cell index of the hostile cell or None).

    The honest score is "full" (the solved notebook's), "mistake" (the solved notebook with one wrong
    function, which fails exactly one question) or 0 (the untouched release's).
    """
    good, blank, wrong = solved(course, LAB), untouched(course, LAB), with_mistake(course, LAB)
    root = course.root
    return {
        "honest": (good, "full", None),
        "one_mistake": (wrong, "mistake", None),
        "memory_bomb": (plus(good, "hog = bytearray(8 * 1024**3)"), "full", 1),
        "fork_loop": (plus(good, FORK_LOOP), "full", 1),
        "output_flood": (plus(good, "print(('spam ' * 20 + '\\n') * 200_000)"), "full", 1),
        "big_output": (plus(good, BIG_OUTPUT), "full", 1),
        "disk_flood": (plus(good, DISK_FLOOD), "full", 1),
        "network": (plus(good, f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=5)"),
                    "full", 1),
        "read_solutions": (plus(good, f"print(open({str(root / 'source' / LAB / (LAB + '.ipynb'))!r}).read())"),
                           "full", 1),
        "read_gradebook": (plus(good, f"print(open({str(root / 'gradebook.db')!r}, 'rb').read(100))"), "full", 1),
        "read_home": (plus(good, f"import os\nprint(os.listdir({os.path.expanduser('~')!r}))"), "full", 1),
        "walk_filesystem": (plus(good, WALK), "full", 1),
        "write_results": (plus(blank, f"open({str(root / 'gradebook.db')!r}, 'wb').write(b'')"), 0, 1),
        "fake_success": (plus(blank, "print('All tests passed! Score: 19 / 19')",
                              "import sys\nprint('OK', file=sys.stderr)"), 0, None),
        "forged_row": (plus(blank, FORGED_ROW), 0, 1),
        "edited_tests": (edit_tests(blank, with_source("pass")), 0, None),
        "raised_points": (edit_tests(good, with_points(1000)), "full", None),
        "duplicated_tests": (with_first_test_duplicated(good), "full", None),
        "forged_findings": (with_forged_findings(good), "full", 1),
        "late_outputs": (plus(good, LATE_OUTPUTS), "full", 1),
        "deleted_tests": (without_tests(blank), 0, None),
        "tests_moved_first": (with_tests_moved_first(good), 0, None),
        "exception_hook": (plus(blank, "get_ipython().set_custom_exc((BaseException,), lambda *args, **kw: None)"),
                           0, None),
        "input_transformer": (plus(blank, "get_ipython().input_transformers_cleanup.append(lambda lines: [])"),
                              0, None),
        "ast_transformer": (plus(blank, AST_TRANSFORMER), 0, None),
        "hidden_failures": (plus(wrong, HIDDEN_FAILURES), "mistake", None),
        # after the seed checks of initialize_parameters' visible test, which need a working allclose
        "patched_numpy": (plus(wrong, PATCHED_NUMPY, at=before(wrong, "test_predict")), "mistake", None),
        "patched_libraries": (plus(wrong, PATCHED_LIBRARIES), "mistake", None),
        "patched_test_helpers": (plus(wrong, PATCHED_TEST_HELPERS), "mistake", 1),
        "reference_import": (answered_with_reference(blank), 0, None),
        "stack_peek": (with_mistake(course, LAB, STACK_PEEK), "mistake", None),
        "remembered_answers": (with_mistake(course, LAB, REMEMBERED), "mistake", None),
        "deep_message": (plus(good, DEEP_MESSAGE, at=before(good, "test_predict")), "mistake", None),
        "surrogate_error": (with_mistake(course, LAB, SURROGATE_ERROR), "mistake", None),
    }


# Submissions holding symbolic links (an archive unpacked with `unzip` keeps them), each with the link the grading
# names. Before, nbgrader copied what they point to, with the instructor's rights, next to the graded notebook, where
# the kernel read it: the source notebook's solutions and hidden tests; the source folder itself, graded as the
# student's; /dev/zero, copied for ever by a worker that no time limit watched.
LINKS = {
    "linked_solutions": ("notes.txt", f"../../../source/{LAB}/{LAB}.ipynb"),
    "linked_folder": ("", f"../../source/{LAB}"),
    "linked_device": ("data.bin", "/dev/zero"),
}


def link_submissions(course):
    for student, (name, target) in LINKS.items():
        if name:
            submit(course, student, LAB, untouched(course, LAB))
            (course.submission_dir(student, LAB) / name).symlink_to(target)
        else:
            course.submission_dir(student, LAB).parent.mkdir(parents=True)
            course.submission_dir(student, LAB).symlink_to(target)


@pytest.fixture(scope="module")
def second_copy():
    """Another world-readable copy of the whole course elsewhere on disk, as an instructor's clone would be."""
    folder = Path(tempfile.mkdtemp(prefix="course-copy-", dir="/var/tmp"))
    folder.chmod(0o755)
    shutil.copytree(KIT.root / "source", folder / "source")
    shutil.copy(KIT.root / "nbgrader_config.py", folder / "nbgrader_config.py")
    for path in folder.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    yield folder
    shutil.rmtree(folder)


@pytest.fixture(scope="module")
def graded(tmp_path_factory, second_copy):
    course = released_course(KIT, tmp_path_factory.mktemp("hostile"), [LAB])  # a copy of the process's one release of the lab
    # walk_filesystem's walk of every visible folder takes seconds where the system has many files (and 30
    # kernels share the machine): its cell must not reach the time limit, which the corpus does not test
    config = course.root / "nbgrader_config.py"
    config.write_text(config.read_text() + "\nc.SandboxedExecute.time_floor = 60\n")
    with socket.socket() as listener:  # a service on the grader's loopback that no kernel may reach
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.settimeout(0)
        cases = corpus(course, listener.getsockname()[1])
        for student, (nb, _, _) in cases.items():
            submit(course, student, LAB, nb)
        link_submissions(course)
        (course.submission_dir("forged_row", LAB) / FORGED_ROW_FILE).write_text("{}")
        submit(course, "copied_source", LAB, nbformat.read(course.source_notebook(LAB), as_version=4))  # leaked
        outcomes = {o.student: o for o in grade(course, LAB, workers=2, progress=False)}
        with pytest.raises(BlockingIOError):
            listener.accept()
    return course, cases, outcomes


STUDENTS = ["honest", "one_mistake", "memory_bomb", "fork_loop", "output_flood", "big_output", "disk_flood", "network",
            "read_solutions", "read_gradebook", "read_home", "walk_filesystem", "write_results", "fake_success",
            "forged_row", "edited_tests", "raised_points", "duplicated_tests", "forged_findings", "late_outputs",
            "deleted_tests", "tests_moved_first",
            "exception_hook", "input_transformer", "ast_transformer", "hidden_failures", "patched_numpy",
            "patched_libraries", "patched_test_helpers", "reference_import", "stack_peek", "remembered_answers",
            "deep_message", "surrogate_error"]


# What the status and the detail name, where the submission was not simply graded. A hostile cell
# that raised is named in the detail of a graded submission ("errors outside the tests in cell 2 (...)": the second).
NAMED = {
    "memory_bomb": ("hit_limit", "cell 2 ran out of memory (the limit is 2 GiB)"),
    "fork_loop": ("hit_limit", "cell 2 could start no more processes or threads (the limit is 128"),
    "output_flood": ("hit_limit", "cell 2 printed more than the limit of 1000 lines"),
    "big_output": ("hit_limit", "cell 2 passed the notebook's output limit of 20 MiB (later output was dropped)"),
    "disk_flood": ("hit_limit", "cell 2 wrote a file past the size limit (the limit is 256 MiB)"),
    "network": ("graded", "errors outside the tests in cell 2 ("),
    "read_solutions": ("graded", "errors outside the tests in cell 2 ("),
    "read_gradebook": ("graded", "errors outside the tests in cell 2 ("),
    "write_results": ("graded", "errors outside the tests in cell 2 ("),
    "patched_test_helpers": ("graded", "errors outside the tests in cell 2 (ImportError)"),
    "edited_tests": ("tests_changed", "edited test cell(s) test_initialize_parameters, "),
    "raised_points": ("tests_changed", "edited test cell(s) test_initialize_parameters, "),
    "duplicated_tests": ("tests_changed", "duplicated test cell(s) test_initialize_parameters: the last copy counted"),
    "deleted_tests": ("tests_changed", "deleted test cell(s) test_initialize_parameters, "),
    "tests_moved_first": ("tests_changed", "moved test cell(s) test_initialize_parameters, "),
    "forged_findings": ("graded", "errors outside the tests in cell 2 (KernelDied)"),
    "forged_row": ("graded", r"errors outside the tests in cell 2 (\x1b[2K\rhonest  21 / 21  graded\x1b[8m)"),
}


@pytest.mark.parametrize("student", STUDENTS)
def test_each_submission_gets_exactly_its_honest_points_and_a_status_naming_what_happened(graded, student):
    course, cases, outcomes = graded
    _, honest, hostile_cell = cases[student]
    full = outcomes["honest"].score
    assert full > 0 and (outcomes["honest"].status, outcomes["honest"].detail) == ("graded", "")
    outcome = outcomes[student]
    status, named = NAMED.get(student, ("graded", ""))
    assert outcome.status == status and named in outcome.detail, outcome.detail
    assert outcome.score == {"full": full, "mistake": outcomes["one_mistake"].score, 0: 0}[honest]
    assert outcome.max_score == outcomes["honest"].max_score  # edited points change nothing
    if hostile_cell is not None:  # the attack itself failed, visibly, in its own cell
        nb = nbformat.read(course.autograded_notebook(student, LAB), as_version=4)
        shown = " ".join(o.get("ename", "") + o.get("text", "") for o in nb.cells[hostile_cell].outputs)
        assert shown, f"the hostile cell of {student} shows nothing"


def test_text_of_a_students_prints_in_the_grade_table_as_written_not_as_terminal_commands(graded):
    _, _, outcomes = graded
    table = outcome_table(outcomes[student] for student in sorted(outcomes))
    assert not re.search("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]", table)  # one line a row
    forged = next(line for line in table.splitlines() if line.startswith("forged_row "))
    assert re.match(r"forged_row +0 / \d+ +graded +errors outside the tests in cell 2 \(\\x1b\[2K\\rhonest", forged)
    assert r"the folder also holds \x1b[1Anotes.ipynb, not graded" in forged


def test_garbage_from_the_kernel_fails_the_check_that_met_it_with_a_message_saying_so(graded):
    course, _, _ = graded

    def failure(student):
        nb = nbformat.read(course.autograded_notebook(student, LAB), as_version=4)
        return [o for o in nb.cells[before(nb, "test_predict")].outputs if o.output_type == "error"][-1]

    deep = failure("deep_message")
    assert deep.ename == "KernelUnavailable"
    assert deep.evalue.startswith("The notebook's kernel answered the tests in a way they cannot read")
    assert "predict raised ValueError: \\ud800 is no prediction for " in failure("surrogate_error").evalue


def test_resource_attacks_were_stopped_by_the_limits(graded):
    course, _, _ = graded

    def shown(student):
        nb = nbformat.read(course.autograded_notebook(student, LAB), as_version=4)
        return " ".join(o.get("ename", "") + o.get("text", "") for o in nb.cells[1].outputs)

    assert "MemoryError" in shown("memory_bomb")
    assert "BlockingIOError" in shown("fork_loop") and "500 children" not in shown("fork_loop")
    assert shown("disk_flood").startswith("OSError")
    assert course.autograded_notebook("output_flood", LAB).stat().st_size < 1_000_000
    assert course.autograded_notebook("big_output", LAB).stat().st_size < 21 * 1024**2
    assert "[output dropped" in shown("big_output") and "ValueError" in shown("big_output")  # the error is kept
    for student in ("read_solutions", "read_gradebook"):
        assert "FileNotFoundError" in shown(student) or "PermissionError" in shown(student), student
    # the instructor's home looks empty, but for the Python installation and the kit if they live there
    home = Path(os.path.expanduser("~"))
    shown_dirs = {Path(p).relative_to(home).parts[0]
                  for p in (sys.prefix, sys.base_prefix, package_folder("course_utils"), package_folder("autograder"))
                  if Path(p).is_relative_to(home)}
    assert set(ast.literal_eval(shown("read_home").strip())) <= shown_dirs
    assert "ConnectionRefusedError" in shown("network") or "OSError" in shown("network")
    assert "PermissionError" in shown("write_results") or "OSError" in shown("write_results") \
        or "FileNotFoundError" in shown("write_results")


def test_a_walk_of_the_whole_disk_finds_no_copy_of_the_course_and_no_solution(graded, second_copy):
    course, _, _ = graded
    nb = nbformat.read(course.autograded_notebook("walk_filesystem", LAB), as_version=4)
    shown = "".join(o.get("text", "") for o in nb.cells[1].outputs)
    assert shown.startswith("walked ") and int(shown.split()[1]) > 1000  # it did walk the system's folders
    assert "[output dropped" not in shown and "course_utils" not in shown
    assert str(second_copy) not in shown and str(course.root) not in shown  # (nbgrader's own examples are listed)
    secret = set().union(*(secret_lines(nbformat.read(KIT.source_notebook(lab), as_version=4)) for lab in KIT.labs()))
    assert not [line for line in secret if line in shown]


def test_the_export_gives_the_same_statuses(graded):
    course, _, outcomes = graded
    rows = {row["student_id"]: row for row in csv.DictReader(io.StringIO(export(course)))}
    named = {student: outcome.status for student, outcome in outcomes.items() if outcome.status != "graded"}
    assert set(named.values()) == {"hit_limit", "tests_changed", "grading_error"}
    assert {student: rows[student]["status"] for student in named} == named


def test_a_copy_of_the_source_notebook_is_not_graded_and_the_detail_names_its_first_marker(graded):
    course, _, outcomes = graded
    outcome = outcomes["copied_source"]
    source = nbformat.read(course.source_notebook(LAB), as_version=4)
    first = next(i for i, cell in enumerate(source.cells) if "BEGIN SOLUTION" in cell.source)
    grade_id = source.cells[first].metadata.nbgrader.grade_id
    assert (outcome.status, outcome.score) == ("grading_error", None)
    assert outcome.detail == (
        f"{LAB}.ipynb is a copy of the instructor's source notebook, not of the student version: cell {first + 1} "
        f"({grade_id}) holds 'BEGIN SOLUTION', one of nbgrader's solution, hidden-test or mark-scheme markers, which "
        "no released notebook has; nothing was graded. The lab's solutions may have leaked to students")
    assert not (course.root / "autograded" / "copied_source").exists()


@pytest.mark.parametrize("student", LINKS)
def test_a_submission_holding_symbolic_links_is_not_graded_and_its_links_are_named(graded, student):
    course, _, outcomes = graded
    name, target = LINKS[student]
    link = Path("submitted", student, LAB, name) if name else Path("submitted", student, LAB)
    outcome = outcomes[student]
    assert (outcome.status, outcome.score) == ("grading_error", None), outcome.detail
    assert outcome.detail.startswith("the submission holds symbolic links, which grading would follow with your "
                                     f"rights (to the course's solutions, say): {link} -> {target}; nothing was graded")
    assert not (course.root / "autograded" / student).exists()  # nothing was copied through them
