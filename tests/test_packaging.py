"""What students install holds course_utils only: no grading code, solutions or instructor tools."""
import ast
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def requirement_lines(path: Path) -> set[str]:
    return {line.strip() for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")}


def test_student_requirements_are_the_kits_own():
    assert requirement_lines(ROOT / "student" / "requirements.txt") <= requirement_lines(ROOT / "requirements.txt")


def test_course_utils_never_imports_the_instructor_package():
    for path in (ROOT / "course_utils").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            assert not [n for n in names if n.split(".")[0] == "autograder"], path


@pytest.mark.slow
def test_student_wheel_holds_course_utils_only(tmp_path):
    project = tmp_path / "student"  # built from a copy: setuptools writes build/ next to the sources
    shutil.copytree(ROOT / "student", project, ignore=shutil.ignore_patterns("build", "*.egg-info"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                    str(tmp_path / "dist"), str(project)], check=True)
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    packages = {name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")}
    assert packages == {"course_utils"}
    assert "course_utils/training.py" in names and "course_utils/data/cifar10.py" in names
