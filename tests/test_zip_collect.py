"""An LMS's download, collected with `nbgrader zip_collect` and the expressions nbgrader_config.py offers.

Each LMS zip holds the notebooks under names it makes up; the commented examples in nbgrader_config.py must put
each one at submitted/<student id>/<lab>/<lab>.ipynb, where `grade` looks for it.
"""
from __future__ import annotations

import io
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import nbformat
import pytest

from autograder.course import CONFIG_FILE, Course
from autograder.demo import scratch_course

KIT = Course(Path(__file__).resolve().parents[1])
LAB = "lab1_initialization"

DOWNLOADS = {  # LMS -> (the names in its zip, the student id each must be collected as)
    "Canvas": {
        f"perezana_12345_6789012_{LAB}.ipynb": "12345",
        f"garciajose_LATE_23456_6789013_{LAB}-1.ipynb": "23456",  # late, and renamed when uploaded again
        f"lopezmaria_late_34567_6789014_{LAB}.ipynb": "34567",  # "late" as other Canvas versions write it
    },
    "Moodle": {
        f"Ana Pérez_101_assignsubmission_file_/{LAB}.ipynb": "Ana Pérez",  # "download submissions in folders"
        f"José García_102_assignsubmission_file_/{LAB}.ipynb": "José García_102",  # two participants share a name
        f"José García_117_assignsubmission_file_/{LAB}.ipynb": "José García_117",
    },
    "Moodle, flat": {  # the files of all participants in one folder
        f"Ana Pérez_101_assignsubmission_file_{LAB}.ipynb": "Ana Pérez",
        f"José García_102_assignsubmission_file_{LAB}.ipynb": "José García_102",
        f"José García_117_assignsubmission_file_{LAB}.ipynb": "José García_117",
    },
}


def offered_expression(lms: str) -> str:
    """The commented ``named_regexp`` line nbgrader_config.py offers for ``lms``, uncommented."""
    lines = (KIT.root / CONFIG_FILE).read_text(encoding="utf-8").splitlines()
    offered = [line[2:] for line in lines if line.startswith(("# c.FileNameCollectorPlugin.", "# c.ZipCollectApp."))]
    moodle = [line for line in offered if "moodle" in line]
    assert len(offered) == 2 and len(moodle) == 1, offered
    return moodle[0] if lms.startswith("Moodle") else next(line for line in offered if line not in moodle)


@pytest.mark.parametrize("lms", DOWNLOADS)
def test_the_offered_expression_puts_each_notebook_where_grade_looks(tmp_path, lms):
    course = scratch_course(KIT, tmp_path / "course", [LAB])
    shutil.copytree(KIT.root / "release" / LAB, course.root / "release" / LAB)
    with open(course.root / CONFIG_FILE, "a", encoding="utf-8") as config:
        config.write(offered_expression(lms) + "\n")
    archive = course.root / "downloaded" / LAB / "archive"
    archive.mkdir(parents=True)
    released = nbformat.read(course.release_notebook(LAB), as_version=4)
    sent = {}
    with zipfile.ZipFile(archive / "submissions.zip", "w") as download:
        for name, student in DOWNLOADS[lms].items():
            released.metadata["sent_by"] = student  # tells the students' notebooks apart
            sent[student] = nbformat.writes(released)
            download.writestr(name, sent[student])

    result = subprocess.run([sys.executable, "-m", "nbgrader", "zip_collect", LAB], cwd=course.root,
                            capture_output=True, text=True, timeout=120)

    assert result.returncode == 0, result.stderr
    assert re.search(rf"\b{len(sent)} files collected\b", result.stderr) and "skipped" not in result.stderr, \
        result.stderr
    assert sorted(course.students(LAB)) == sorted(sent)
    if lms.startswith("Moodle"):  # the instructor is told which folders to rename
        assert "2 participants are named José García (Moodle's numbers 102, 117): collected as José García_102 and " \
            "José García_117, not as José García." in result.stderr, result.stderr
    for student, text in sent.items():
        assert course.submission_dir(student, LAB).joinpath(f"{LAB}.ipynb").read_text(encoding="utf-8") == text


def zipped(members: dict[str, bytes]) -> bytes:
    """A zip archive of ``members`` (name -> content), compressed."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def nested(depth: int) -> bytes:
    """A zip holding a zip holding a zip... ``depth`` archives in all, a notebook in the innermost."""
    return zipped({f"{LAB}.ipynb": b"{}"}) if depth == 1 else zipped({"inner.zip": nested(depth - 1)})


def tarred(members: dict[str, bytes | tuple[str, str]]) -> bytes:
    """A gzipped tar of ``members``: name -> content, or name -> ("symlink" or "hardlink", the member it links to)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, content in members.items():
            info = tarfile.TarInfo(name)
            if isinstance(content, tuple):
                info.type = {"symlink": tarfile.SYMTYPE, "hardlink": tarfile.LNKTYPE}[content[0]]
                info.linkname = content[1]
                archive.addfile(info)
            else:
                info.size = len(content)
                archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


@pytest.mark.parametrize("upload, error", [
    (("lab1.zip", zipped({"weights.npy": bytes(30_000_000)})), "brings what the download unpacks to over 20,000,000"),
    (("lab1.tar.gz", tarred({"w.npy": bytes(5_000_000)} | {f"copy{i}.npy": ("hardlink", "w.npy") for i in range(4)})),
     "brings what the download unpacks to over 20,000,000"),  # each link is unpacked as a copy of the file
    (("lab1.zip", nested(3)), "is an archive nested 4 deep, more than 3"),
    (("lab1.tar.gz", tarred({"a": ("symlink", "b"), "b": ("symlink", "a")})), "is a link in a loop"),
    (("lab1.zip", b"{}"), "cannot be read as an archive"),  # a notebook renamed: nbgrader stopped with a traceback
], ids=["zip bomb", "hard links", "nested", "link loop", "not an archive"])
def test_a_zip_bomb_in_a_download_unpacks_nothing_and_names_the_upload(tmp_path, upload, error):
    """nbgrader unpacks archives in archives until none is left, and writes a link in a tar as a copy of its target:
    a student's zip bomb filled the disk, and an archive that holds itself, or links in a loop, never ended. (Here
    bombs of 25-30 MB against a 20 MB limit, and archives nested one level too deep.)"""
    upload_name, upload = upload
    course = scratch_course(KIT, tmp_path / "course", [LAB])
    shutil.copytree(KIT.root / "release" / LAB, course.root / "release" / LAB)
    with open(course.root / CONFIG_FILE, "a", encoding="utf-8") as config:
        config.write(offered_expression("Moodle") + "\nc.BoundedExtractor.max_bytes = 20_000_000\n")
    archive = course.root / "downloaded" / LAB / "archive"
    archive.mkdir(parents=True)
    honest = nbformat.writes(nbformat.read(course.release_notebook(LAB), as_version=4)).encode()
    upload_name = f"José García_102_assignsubmission_file_/{upload_name}"
    (archive / "submissions.zip").write_bytes(zipped({
        f"Ana Pérez_101_assignsubmission_file_/{LAB}.ipynb": honest, upload_name: upload}))

    result = subprocess.run([sys.executable, "-m", "nbgrader", "zip_collect", LAB], cwd=course.root,
                            capture_output=True, text=True, timeout=120)

    assert result.returncode == 1
    assert f"Nothing was unpacked: {archive / 'submissions.zip'} > {upload_name}" in result.stderr, result.stderr
    assert error in result.stderr
    assert f"zip -d {archive / 'submissions.zip'} '{upload_name}'" in result.stderr
    extracted = course.root / "downloaded" / LAB / "extracted"
    assert not any(extracted.rglob("*")) and not (course.root / "submitted").exists()
