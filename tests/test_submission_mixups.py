"""Submissions of Lab 1 that hold the work in another form than the notebook to grade, graded once through the
command line (grade, feedback, export, report), with what the instructor and the student read of each.

A notebook exported as a .py script (JupyterLab's Save and Export As, ``jupyter nbconvert --to script``, Colab's
Download .py), as a web page or a PDF cannot be graded: the instructor's detail names the file and what it is, and
the student's page says how to download the notebook itself (and not to rename the export, which would still not
be a notebook); a zip of the notebook copied in by hand is named, with what to do; an export saved under the
notebook's name (``<lab>.ipynb`` holding a script) is ``malformed_notebook``,
and the detail and the page say what it is, not that the file is damaged. A notebook that begins with a UTF-8
byte-order mark (some Windows editors write one) is intact: it is graded as any other, and the student's file stays
as it was. The released notebook submitted untouched beside a
copy that holds the work (Colab's "Copy of <lab>.ipynb") is ``missing_notebook``: the score 0 would not be the
student's work; the detail and the page say which notebook seems to hold it and how to rename it. Only the
submissions with a graded notebook count in the report's totals.
"""
import csv
import io
import shlex
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

from autograder.course import Course
from autograder.feedback import visible_text
from autograder.sandbox import sandbox_problem
from autograder.submissions import solved, submit, untouched
from released import released_course

KIT = Course(Path(__file__).resolve().parents[1])
LAB = "lab1_initialization"
PROBLEM = sandbox_problem()
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("mixups"),
              pytest.mark.skipif(PROBLEM is not None, reason=f"no sandbox possible here: {PROBLEM}")]
COPY = f"Copy of {LAB}.ipynb"  # what Google Colab names the copy of a notebook a student opened from Drive
HOW_TO_DOWNLOAD = ("Download the notebook file itself, which ends in .ipynb: in JupyterLab, open your notebook and "
                   "use File > Download; in Google Colab, File > Download > Download .ipynb.")


def cli(course, *args):
    return subprocess.run([sys.executable, "-m", "autograder", "--root", str(course.root), *args],
                          capture_output=True, text=True, timeout=900)


def as_script(nb) -> str:
    """The notebook as ``jupyter nbconvert --to script`` writes it."""
    cells = [f"# In[ ]:\n\n\n{cell.source}\n" if cell.cell_type == "code" else
             "".join(f"# {line}\n" for line in cell.source.splitlines()) for cell in nb.cells]
    return "#!/usr/bin/env python\n# coding: utf-8\n\n" + "\n\n".join(cells)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    course = released_course(KIT, tmp_path_factory.mktemp("mixups"), [LAB])
    good = solved(course, LAB)
    folder = course.submission_dir("script", LAB)
    folder.mkdir(parents=True)
    (folder / f"{LAB}.py").write_text(as_script(good))
    (folder / "timestamp.txt").write_text("2026-11-30 10:00:00.000000 UTC")  # as nbgrader's submit writes it
    submit(course, "script_as_notebook", LAB, as_script(good))  # the script saved under the notebook's name
    folder = course.submission_dir("printed", LAB)
    folder.mkdir(parents=True)
    (folder / f"{LAB}.html").write_text("<!DOCTYPE html>\n<html><head><title>lab1_initialization</title></head></html>")
    (folder / f"{LAB}.pdf").write_bytes(b"%PDF-1.5\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n")
    with_mark = b"\xef\xbb\xbf" + nbformat.writes(good).encode()  # a Windows editor's byte-order mark
    submit(course, "byte_order_mark", LAB, good).write_bytes(with_mark)
    submit(course, "worked_in_colab_copy", LAB, untouched(course, LAB))
    nbformat.write(good, course.submission_dir("worked_in_colab_copy", LAB) / COPY)
    folder = course.submission_dir("zipped", LAB)  # a student's zip of the notebook, copied in by hand
    folder.mkdir(parents=True)
    with zipfile.ZipFile(folder / "lab1.zip", "w") as archive:
        archive.writestr(f"lab1/{LAB}.ipynb", nbformat.writes(good))
    submit(course, "answered_and_a_copy", LAB, good)  # the work is in the notebook to grade: graded as usual
    nbformat.write(untouched(course, LAB), course.submission_dir("answered_and_a_copy", LAB) / COPY)
    result = cli(course, "grade", LAB, "--workers", "2", "--skip-canary")  # the canary: test_canary.py
    assert result.returncode == 0, result.stdout + result.stderr
    feedback = cli(course, "feedback", LAB, "--allow-pending")
    assert feedback.returncode == 0, feedback.stdout + feedback.stderr
    assert cli(course, "export", LAB).returncode == 0
    report = cli(course, "report", LAB)
    assert report.returncode == 0, report.stdout + report.stderr
    rows = {row["student_id"]: row for row in csv.DictReader(io.StringIO((course.root / "grades.csv").read_text()))}
    table = {line.split()[0]: " ".join(line.split()) for line in result.stdout.splitlines() if line.strip()}
    return course, table, rows, with_mark


def page(course, student):
    html = (course.feedback_dir(student, LAB) / f"{LAB}.html").read_text()
    return " ".join(visible_text(html[html.index("<body"):]).split())


def test_an_exported_script_is_named_in_the_detail_and_the_student_reads_how_to_download_the_notebook(graded):
    course, table, rows, _ = graded
    assert table["script"] == (
        f"script 0 / 21 missing_notebook expected {LAB}.ipynb in submitted/script/{LAB}/: the folder holds no "
        f"notebook, only {LAB}.py (a Python script exported from a notebook); an export cannot be graded: ask the "
        "student for the notebook itself (JupyterLab: File > Download; Colab: File > Download > Download .ipynb)")
    assert rows["script"]["status"] == "missing_notebook" and rows["script"]["total"] == "0"
    text = page(course, "script")
    assert f"It holds this file instead: {LAB}.py (a Python script exported from a notebook)" in text
    assert "An exported .py, .html or .pdf file cannot be graded" in text
    assert HOW_TO_DOWNLOAD in text and "Do not rename your .py, .html or .pdf file" in text
    assert "It holds no notebook at all" not in text and "rename your file if you renamed it" not in text


def test_a_script_saved_under_the_notebooks_name_is_named_as_a_script_and_the_student_reads_how_to_download(graded):
    """Not "broken JSON at line 1", which would send the instructor looking for a damaged upload, nor the page that
    tells the student to open their notebook again: it opens, as a script. The status is still malformed_notebook."""
    course, table, rows, _ = graded
    assert table["script_as_notebook"] == (
        f"script_as_notebook 0 / 21 malformed_notebook {LAB}.ipynb is not a notebook but a Python script exported "
        "from a notebook, saved under the notebook's name; an export cannot be graded: ask the student for the "
        "notebook itself (JupyterLab: File > Download; Colab: File > Download > Download .ipynb)")
    assert rows["script_as_notebook"]["status"] == "malformed_notebook" and rows["script_as_notebook"]["total"] == "0"
    text = page(course, "script_as_notebook")
    assert (f"The file {LAB}.ipynb you submitted is not a Jupyter notebook but a Python script exported from a "
            "notebook, saved under the notebook's name. An exported .py, .html or .pdf file cannot be graded") in text
    assert HOW_TO_DOWNLOAD in text and "Do not save your .py, .html or .pdf file under that name" in text
    assert "damaged or incomplete" not in text and "Open your own copy" not in text


def test_an_html_or_pdf_export_is_named_too(graded):
    course, table, _, _ = graded
    assert (f"the folder holds no notebook, only {LAB}.html (an HTML export of a notebook), {LAB}.pdf (a PDF of a "
            "notebook); an export cannot be graded") in table["printed"]
    text = page(course, "printed")
    assert f"It holds these files instead: {LAB}.html (an HTML export of a notebook)" in text
    assert f"{LAB}.pdf (a PDF of a notebook)" in text
    assert HOW_TO_DOWNLOAD in text


def test_a_zipped_notebook_copied_in_by_hand_is_named_with_what_to_do(graded):
    """Before, the detail named the zip alone, and the student's page said the folder held no notebook at all."""
    course, table, rows, _ = graded
    assert table["zipped"] == (
        f"zipped 0 / 21 missing_notebook expected {LAB}.ipynb in submitted/zipped/{LAB}/: the folder holds no notebook, "
        f"only lab1.zip; an archive is not opened: unpack it so that the folder holds {LAB}.ipynb (`nbgrader "
        "zip_collect` unpacks the archives of an LMS download), then grade again")
    assert rows["zipped"]["status"] == "missing_notebook"
    text = page(course, "zipped")
    assert "It holds this archive instead, which the grader does not open: lab1.zip" in text
    assert f"Submit the notebook file itself, {LAB}.ipynb, not packed in an archive." in text
    assert "It holds no notebook at all" not in text


def test_a_notebook_with_a_byte_order_mark_is_graded_and_left_as_submitted(graded):
    course, table, rows, with_mark = graded
    score = rows["answered_and_a_copy"]["total"]  # the same answers
    assert table["byte_order_mark"] == f"byte_order_mark {score} / 21 graded"  # and nothing to say
    assert rows["byte_order_mark"]["total"] == rows["answered_and_a_copy"]["total"] != "0"
    assert rows["byte_order_mark"]["status"] == "needs_manual_grading"  # its written answers, as any graded notebook
    assert course.submission_dir("byte_order_mark", LAB).joinpath(f"{LAB}.ipynb").read_bytes() == with_mark
    nbformat.read(course.autograded_notebook("byte_order_mark", LAB), as_version=4)  # what formgrader reads
    text = page(course, "byte_order_mark")
    assert f"Score: {rows['byte_order_mark']['total']} / 21" in text and "could not be graded" not in text


def test_the_untouched_release_beside_a_copy_with_the_work_says_which_to_rename(graded):
    course, table, rows, _ = graded
    folder = f"submitted/worked_in_colab_copy/{LAB}"
    assert table["worked_in_colab_copy"] == (
        f"worked_in_colab_copy 0 / 21 missing_notebook {LAB}.ipynb in {folder}/ is the released notebook untouched "
        f"(none of its cells differs from release/{LAB}/{LAB}.ipynb), so it would score 0; the student's work seems "
        f"to be in {COPY}, not graded: if it is, rename it over the untouched one and grade again: "
        f"mv -T {shlex.quote(str(course.root / folder / COPY))} {shlex.quote(str(course.root / folder / f'{LAB}.ipynb'))}")
    assert rows["worked_in_colab_copy"]["status"] == "missing_notebook"
    text = page(course, "worked_in_colab_copy")
    assert (f"The file {LAB}.ipynb you submitted is the lab's notebook as it was handed out: none of its cells was "
            f"changed, so it was not graded (it would score 0). Your work seems to be in this notebook, which you "
            f"submitted beside it and which the grader does not grade: {COPY}") in text
    assert f"If your work is in that notebook, rename it to {LAB}.ipynb (in place of the untouched one) and submit " \
           "it again." in text
    assert "has no file named" not in text


def test_work_in_the_notebook_to_grade_is_graded_whatever_copy_lies_beside_it(graded):
    course, table, rows, _ = graded
    assert " graded " in table["answered_and_a_copy"] and rows["answered_and_a_copy"]["total"] != "0"
    assert table["answered_and_a_copy"].endswith(f"the folder also holds {COPY}, not graded (only {LAB}.ipynb is)")
    assert f"Only {LAB}.ipynb was graded. Your submission also holds this notebook, which was not graded: {COPY}." \
        in page(course, "answered_and_a_copy")


def test_the_reports_totals_are_of_the_graded_notebooks_and_say_what_was_left_out(graded):
    course, _, rows, _ = graded
    text = " ".join(visible_text((course.root / "reports" / f"{LAB}.html").read_text()).split())
    total = float(rows["answered_and_a_copy"]["total"])
    assert (f"7 submissions; mean total {total:.2f}, median {total:g}; 5 without a graded notebook are left out of the "
            "totals' figures (1 malformed_notebook, 4 missing_notebook).") in text
