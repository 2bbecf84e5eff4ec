"""The check-authoring boundary: imports run one way (hidden -> judge facade, reference, course_utils), the
judge finds checks by name, and no lab's check module imports another lab's or repeats its code."""
import ast
import itertools
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "autograder"
HIDDEN = sorted((ROOT / "hidden").glob("*.py"))
LABS = [path for path in HIDDEN if path.stem.startswith("lab")]


def imported(path):
    """The absolute names of the modules ``path`` imports (relative imports resolved)."""
    package = ["autograder", path.parent.name]
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = ".".join(package[: len(package) - node.level + 1] + ([node.module] if node.module else [])) \
                if node.level else node.module
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


@pytest.mark.parametrize("path", sorted((ROOT / "judge").glob("*.py")), ids=lambda p: p.stem)
def test_the_judge_imports_nothing_of_the_hidden_checks(path):
    assert not [name for name in imported(path) if name.startswith("autograder.hidden")]


@pytest.mark.parametrize("path", LABS, ids=lambda p: p.stem)
def test_no_lab_imports_another_labs_checks(path):
    others = {f"autograder.hidden.{other.stem}" for other in LABS if other != path}
    assert not imported(path) & others


@pytest.mark.parametrize("path", HIDDEN, ids=lambda p: p.stem)
def test_checks_reach_the_judge_through_its_facade_only(path):
    judge = {name for name in imported(path) if name.startswith("autograder.judge")}
    assert judge <= {"autograder.judge", "autograder.judge.student"} | {
        f"autograder.judge.student.{name}" for name in ("KernelUnavailable", "beside", "own_first", "own_helpers_first",
                                                         "same_object", "secret_rng", "secret_seed", "type_name",
                                                         "with_helpers")}


def definitions(path):
    """{source text: name} of the top-level functions and long string constants of a module."""
    text = path.read_text()
    found = {}
    for node in ast.parse(text).body:
        if isinstance(node, ast.FunctionDef):
            found[ast.dump(ast.Module([ast.FunctionDef(**{**node.__dict__, "name": "f"})], []))] = node.name
        for constant in ast.walk(node):
            if isinstance(constant, ast.Constant) and isinstance(constant.value, str) and len(constant.value) > 60:
                found[constant.value] = constant.value[:40]
    return found


@pytest.mark.parametrize("first, second", list(itertools.combinations(LABS, 2)), ids=lambda p: p.stem)
def test_no_near_copies_between_lab_check_modules(first, second):
    shared = definitions(first).keys() & definitions(second).keys()
    assert not [definitions(first)[key] for key in shared]


@pytest.mark.parametrize("path", LABS, ids=lambda p: p.stem)
def test_a_labs_checks_import_without_nbgrader(path):
    """A source notebook's hidden tests import the lab's checks in the kernel: nbgrader (seconds to import, and
    its server extensions) must not come with them."""
    code = f"import sys, autograder.hidden.{path.stem}; print(sorted(m for m in sys.modules if m.startswith('nbgrader')))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_the_grader_reads_notebooks_without_building_rfc3987s_grammar(tmp_path):
    """Every grading process (the command, the workers' server) imports nbformat; jsonschema would bring
    rfc3987_syntax with it, 2-3 s of import for a check of "iri" strings that no notebook schema has."""
    code = ("import sys, autograder.grade, nbformat\n"
            "nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell('x = 1')])\n"
            "nbformat.validate(nb)\n"
            "print(sys.modules.get('rfc3987_syntax', 'absent'))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() in ("None", "absent")
