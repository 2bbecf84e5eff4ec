"""The README's first command: `python -m autograder demo` runs the whole pipeline on sample submissions."""
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow


def test_the_demo_grades_its_samples_and_prints_the_grade_table(tmp_path):
    result = subprocess.run([sys.executable, "-m", "autograder", "demo", "--dir", str(tmp_path / "demo")],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    rows = {line.split()[0]: line.split() for line in result.stdout.splitlines() if line.split()[:1] in
            (["alice"], ["bob"], ["carol"], ["dave"])}
    assert set(rows) == {"alice", "bob", "carol", "dave"}
    assert "13" in rows["alice"] and "needs_manual_grading" in rows["alice"]  # written answers are graded by hand
    assert "12" in rows["carol"] and "0" in rows["bob"] and "malformed_notebook" in rows["dave"]
    assert (tmp_path / "demo" / "feedback" / "alice" / "lab1_initialization" / "lab1_initialization.html").is_file()
    # the table and its legend fit 100 columns; the legend says what blank, 0, max_total and each status mean
    out = result.stdout
    table = out[out.index("5. Grade table"):out.index("Where everything is")]
    assert max(map(len, table.splitlines())) <= 100, table
    assert "test_predict" not in table  # per question: in grades.csv, or with --by-question
    for words in ("blank", "0 ", "max_total includes the 8 points of written", "graded ",
                  "needs_manual_grading ", "malformed_notebook "):
        assert words in table.split("How to read it:")[1], words
    # then where everything is, and what to try next
    where = out[out.index("Where everything is"):]
    for path in ("grades.csv", "feedback", "carol"):
        assert path in where
    assert f"rm -rf {tmp_path / 'demo'}" in where
    for command in ("report lab1_initialization", "jupyter lab", "feedback lab1_initialization", "export"):
        assert command in where, command
