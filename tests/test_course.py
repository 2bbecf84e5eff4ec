"""The course folder's helpers that grading trusts: fingerprints decide what is graded again."""
import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path
from urllib.parse import unquote

from autograder.course import export_kind, fingerprint, install_command
from autograder.gradebook_access import gradebook_problem

KIT_ROOT = Path(__file__).resolve().parents[1]


def test_a_fingerprint_follows_the_folder_it_is_given_but_no_link_below_it(tmp_path):
    """An instructor's ``source/<lab>`` may be a link to a shared folder: its contents count. A submission's link
    below it counts by its target, unread: ``/dev/zero`` would never end, and the solutions must not be read for it."""
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "lab.ipynb").write_text("1")
    linked = tmp_path / "lab"
    linked.symlink_to(shared)
    before = fingerprint(linked)
    (shared / "lab.ipynb").write_text("2")
    assert fingerprint(linked) != before

    (shared / "data.bin").symlink_to("/dev/zero")
    with_link = fingerprint(linked)
    (shared / "data.bin").unlink()
    (shared / "data.bin").symlink_to("/dev/null")
    without_pipe = fingerprint(linked)
    assert without_pipe != with_link  # where it points counts
    os.mkfifo(shared / "pipe")  # a named pipe is not opened (it would wait for a writer for good), nor counted
    assert fingerprint(linked) == without_pipe


def pasted_dry_run(command, cwd):
    """What pip would install if ``command`` (an advice's ``... -m pip install -e ...``) were pasted into bash in
    ``cwd``: the folder of each package."""
    run = subprocess.run(["bash", "-c", f"{command} --dry-run --no-deps --no-build-isolation --quiet --report -"],
                         capture_output=True, text=True, cwd=cwd)
    assert run.returncode == 0, run.stderr
    return [unquote(item["download_info"]["url"]).removeprefix("file://") for item in json.loads(run.stdout)["install"]]


def test_the_install_advice_pasted_into_a_shell_installs_the_course_at_a_path_with_a_space_into_the_python_of_the_kit(
        tmp_path):
    """The advice of the canary, the doctor and the differing-kit check: unquoted, its `cd` went nowhere; with a bare
    `python`, a virtual environment moved with its course installed into another Python (its `activate` still puts
    the old folder on the PATH)."""
    root = tmp_path / "new place" / "instr's course"
    shutil.copytree(KIT_ROOT, root, ignore=shutil.ignore_patterns(".git", ".venv", "submitted", "autograded", "feedback",
                                                                  ".autograder", "gradebook.db", "__pycache__",
                                                                  "*.egg-info"))
    command = install_command(root)  # the Python running this test: outside the course, named by its whole path
    assert command.endswith(f" && {sys.executable} -m pip install -e ."), command
    assert pasted_dry_run(command, tmp_path) == [str(root)]

    subprocess.run([sys.executable, "-m", "venv", root / ".venv"], check=True)  # the course's own, as the README has it
    shown = subprocess.run([root / ".venv" / "bin" / "python", "-c", "from pathlib import Path; from autograder.course "
                            f"import install_command; print(install_command(Path({str(root)!r})))"],
                           capture_output=True, text=True, check=True,
                           env={**os.environ, "PYTHONPATH": f"{KIT_ROOT}:{sysconfig.get_paths()['purelib']}"})
    command = shown.stdout.strip()
    assert command.endswith(" && .venv/bin/python -m pip install -e ."), command  # short: relative to the course
    # the Python it names, from wherever it is pasted (that venv's setuptools is too old to install the kit with pip)
    which = command.replace(" -m pip install -e .", " -c 'import sys; print(sys.prefix)'")
    prefix = subprocess.run(["bash", "-c", which], capture_output=True, text=True, cwd=tmp_path)
    assert prefix.stdout.strip() == str(root / ".venv"), prefix.stderr


def test_a_missing_postgresql_driver_is_installed_with_the_kit_into_the_python_that_runs_it():
    problem = gradebook_problem("postgresql+pg8000://grader:secret@localhost/course")  # a driver the kit lacks
    assert problem.endswith(f"install it with the kit, from the course root: {sys.executable} -m pip install -e "
                            "'.[postgres]').") and "secret" not in problem, problem
    assert "the kit's PostgreSQL driver is psycopg 3: name it in c.CourseDirectory.db_url in nbgrader_config.py, " \
        "postgresql://... or postgresql+psycopg://..., not postgresql+pg8000://..., and install it" in problem, problem


def test_a_file_named_as_a_notebook_is_told_a_script_or_another_export_by_its_first_lines():
    """What a student saves under ``<lab>.ipynb`` instead of the notebook, as each tool writes it; a notebook damaged
    or cut short (it begins as JSON does), an empty file or other text is none of them."""
    scripts = {
        "nbconvert, JupyterLab": "#!/usr/bin/env python\n# coding: utf-8\n\n# In[1]:\n\n\nimport numpy as np\n",
        "Colab": '# -*- coding: utf-8 -*-\n"""lab1_initialization.ipynb\n\nAutomatically generated by Colab.\n"""\n',
        "VS Code": "# %%\nimport numpy as np\n\n# %% [markdown]\n# # Lab 1\n",
        "jupytext": "# ---\n# jupyter:\n#   jupytext:\n#     formats: ipynb,py:percent\n# ---\n\n# %%\nx = 1\n",
        "typed": "# Lab 1, Ana\n\n\nfrom course_utils.data import make_xor\ndef predict(X, params):\n    pass\n",
    }
    for tool, text in scripts.items():
        assert export_kind(text.encode()) == ".py", tool
    assert export_kind(b"\xef\xbb\xbf\n<!DOCTYPE html>\n<html lang='en'>") == ".html"
    assert export_kind(b"%PDF-1.5\n%\xe2\xe3\xcf\xd3\n") == ".pdf"
    notebook = json.dumps({"cells": [{"cell_type": "code", "source": ["import numpy as np\n", "def f(x):\n"]}]},
                          indent=1)
    for text in (notebook[:60], notebook.replace('"cells"', "cells"), "", "my answers are in the other file\n"):
        assert export_kind(text.encode()) is None, text
