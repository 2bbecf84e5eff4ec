"""An LMS's download, collected with `nbgrader zip_collect` and the expressions nbgrader_config.py offers.

Each LMS zip holds the notebooks under names it makes up; the commented examples in nbgrader_config.py must put
each one at submitted/<student id>/<lab>/<lab>.ipynb, where `grade` looks for it.
"""
from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
import zipfile
from pathlib import Path

import nbformat
import pytest

from autograder.course import CONFIG_FILE, Course
from autograder.demo import scratch_course
from locales import encoding, environment

KIT = Course(Path(__file__).resolve().parents[1])
LAB = "lab1_initialization"

DOWNLOADS = {  # LMS -> (the names in its zip, the student id each must be collected as)
    "Canvas": {
        f"perezana_12345_6789012_{LAB}.ipynb": "12345",
        f"garciajose_LATE_23456_6789013_{LAB}-1.ipynb": "23456",  # late, and renamed when uploaded again
        f"lopezmaria_late_34567_6789014_{LAB}.ipynb": "34567",  # "late" as other Canvas versions write it
        "ruizluis_45678_6789015_lab1.zip": "45678",  # a zip the student made, the notebook in it
    },
    "Moodle": {
        f"Ana Pérez_101_assignsubmission_file_/{LAB}.ipynb": "Ana Pérez",  # "download submissions in folders"
        f"José García_102_assignsubmission_file_/{LAB}.ipynb": "José García_102",  # two participants share a name
        f"José García_117_assignsubmission_file_/{LAB}.ipynb": "José García_117",
        "Luis Ruiz_103_assignsubmission_file_/lab1.zip": "Luis Ruiz",
    },
    "Moodle, flat": {  # the files of all participants in one folder
        f"Ana Pérez_101_assignsubmission_file_{LAB}.ipynb": "Ana Pérez",
        f"José García_102_assignsubmission_file_{LAB}.ipynb": "José García_102",
        f"José García_117_assignsubmission_file_{LAB}.ipynb": "José García_117",
        "Luis Ruiz_103_assignsubmission_file_lab1.zip": "Luis Ruiz",
    },
}


def offered_collector(lms: str) -> str:
    """The commented collector line nbgrader_config.py offers for ``lms``, uncommented."""
    lines = (KIT.root / CONFIG_FILE).read_text(encoding="utf-8").splitlines()
    offered = [line[2:] for line in lines if line.startswith("# c.ZipCollectApp.collector_plugin")]
    assert len(offered) == 2, offered
    return next(line for line in offered if lms.split(",")[0].lower() in line)


def upload(name: str, notebook: str) -> bytes:
    """What a student uploaded as ``name``: the notebook, or a zip made on a Mac from the lab's folder, which holds
    it with Jupyter's checkpoint of an older version and macOS's leftovers."""
    if not name.endswith(".zip"):
        return notebook.encode()
    return zipped({f"{LAB}/{LAB}.ipynb": notebook, f"{LAB}/.ipynb_checkpoints/{LAB}-checkpoint.ipynb": "{}",
                   f"__MACOSX/{LAB}/._{LAB}.ipynb": b"\x00\x05\x16\x07"})


def collect(course: Course, members: dict[str, bytes], utf8_flag: bool = True,
            locale: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """``nbgrader zip_collect LAB`` of an LMS download holding ``members`` (name -> content) (``zipped``), in this
    process's locale or in ``locale`` (one of the ``locales`` fixture's), its output read as the terminal reads it."""
    archive = course.root / "downloaded" / LAB / "archive"
    archive.mkdir(parents=True, exist_ok=True)
    (archive / "submissions.zip").write_bytes(zipped(members, utf8_flag))
    return subprocess.run([sys.executable, "-m", "nbgrader", "zip_collect", LAB], cwd=course.root,
                          capture_output=True, text=True, timeout=120,
                          env=None if locale is None else environment(locale),
                          encoding=None if locale is None else encoding(locale))


def lms_course(folder: Path, lms: str) -> Course:
    """A course of Lab 1, released, with ``lms``'s collector line of nbgrader_config.py uncommented."""
    course = scratch_course(KIT, folder, [LAB])
    shutil.copytree(KIT.root / "release" / LAB, course.root / "release" / LAB)
    with open(course.root / CONFIG_FILE, "a", encoding="utf-8") as config:
        config.write(offered_collector(lms) + "\n")
    return course


@pytest.mark.parametrize("lms", DOWNLOADS)
def test_the_offered_collector_puts_each_notebook_where_grade_looks(tmp_path, lms):
    """Each student is collected, one who uploaded a zip of the notebook too (it was skipped, and the student
    missing from the grades); the zip and the leftovers in it are not reported as skipped files."""
    course = lms_course(tmp_path / "course", lms)
    released = nbformat.read(course.release_notebook(LAB), as_version=4)
    sent, members = {}, {}
    for name, student in DOWNLOADS[lms].items():
        released.metadata["sent_by"] = student  # tells the students' notebooks apart
        sent[student] = nbformat.writes(released)
        members[name] = upload(name, sent[student])

    result = collect(course, members)

    assert result.returncode == 0, result.stderr
    assert re.search(rf"\b{len(sent)} files collected\b", result.stderr) and "skipped" not in result.stderr, \
        result.stderr
    assert sorted(course.students(LAB)) == sorted(sent)
    if lms.startswith("Moodle"):  # the instructor is told which folders to rename
        assert "2 participants are named José García (Moodle's numbers 102, 117): collected as José García_102 and " \
            "José García_117, not as José García." in result.stderr, result.stderr
    for student, text in sent.items():
        assert sorted(path.name for path in course.submission_dir(student, LAB).iterdir()) == [f"{LAB}.ipynb"]
        assert course.submission_dir(student, LAB).joinpath(f"{LAB}.ipynb").read_text(encoding="utf-8") == text


def test_a_download_zipped_again_without_the_utf8_flag_keeps_the_students_accents(tmp_path):
    """A Moodle download unpacked and zipped again with Linux's ``zip`` (or a Mac's Archive Utility): its names are
    UTF-8 without the flag that says so. Before, Ana Pérez was collected as "Ana P├⌐rez"."""
    course = lms_course(tmp_path / "course", "Moodle")
    released = nbformat.read(course.release_notebook(LAB), as_version=4)
    members = {name: upload(name, nbformat.writes(released)) for name in DOWNLOADS["Moodle"]}

    result = collect(course, members, utf8_flag=False)

    assert result.returncode == 0, result.stderr
    assert sorted(course.students(LAB)) == sorted(DOWNLOADS["Moodle"].values())


def test_on_a_latin1_server_nbgrader_collects_names_as_the_kit_reads_them_or_collects_nothing(tmp_path, locales):
    """A server whose locale is ISO-8859-1 (``legacy_locale``), and nbgrader started without Python's UTF-8 mode,
    as the README says not to: it wrote Ana Pérez's folder name in ISO-8859-1, where `grade` (in UTF-8) reads another
    name, and stopped with a traceback, half-way, at a name ISO-8859-1 cannot spell. Now it unpacks and collects
    nothing and says how to start it; started so, it collects every name as the kit reads it."""
    latin1 = locales["ISO-8859-1"]
    course = lms_course(tmp_path / "course", "Moodle")
    notebook = nbformat.writes(nbformat.read(course.release_notebook(LAB), as_version=4))
    download = {name: upload(name, notebook) for name in DOWNLOADS["Moodle"]}
    download[f"Nguyễn Văn An_104_assignsubmission_file_/{LAB}.ipynb"] = notebook.encode()
    collected = {*DOWNLOADS["Moodle"].values(), "Nguyễn Văn An"}

    refused = collect(course, download, locale=latin1)

    assert refused.returncode == 1 and "Traceback" not in refused.stderr, refused.stderr
    assert "Nothing was unpacked or collected: this server's locale is ISO-8859-1" in refused.stderr
    assert f"Run `export PYTHONUTF8=1` (in the grading account's ~/.bashrc too), then `nbgrader zip_collect {LAB}` " \
        "again." in refused.stderr, refused.stderr
    assert not (course.root / "submitted").exists() and not (course.root / "downloaded" / LAB / "extracted").exists()

    done = collect(course, download, locale=latin1 | {"PYTHONUTF8": "1"})

    assert done.returncode == 0, done.stderr
    assert sorted(os.listdir(bytes(course.root / "submitted"))) == sorted(name.encode() for name in collected)
    assert sorted(course.students(LAB)) == sorted(collected)


def test_the_same_notebook_uploaded_and_zipped_is_collected_once(tmp_path):
    course = lms_course(tmp_path / "course", "Canvas")
    notebook = nbformat.writes(nbformat.read(course.release_notebook(LAB), as_version=4))

    result = collect(course, {f"ruizluis_45678_6789015_{LAB}.ipynb": upload(f"{LAB}.ipynb", notebook),
                              "ruizluis_45678_6789016_lab1.zip": upload("lab1.zip", notebook)})

    assert result.returncode == 0, result.stderr
    assert "is the same notebook as" in result.stderr and "it need not be copied by hand" in result.stderr
    assert "1 files collected" in result.stderr, result.stderr
    assert course.submission_dir("45678", LAB).joinpath(f"{LAB}.ipynb").read_text(encoding="utf-8") == notebook


@pytest.mark.parametrize("second", [f"ruizluis_45678_6789015_{LAB}-1.ipynb", "ruizluis_45678_6789016_lab1.zip"],
                         ids=["uploaded again", "zipped"])
def test_two_different_notebooks_of_one_student_stop_the_collection_and_are_named(tmp_path, second):
    """nbgrader stopped with "Duplicate submission file. No timestamps for comparison", naming no one."""
    course = lms_course(tmp_path / "course", "Canvas")
    released = nbformat.read(course.release_notebook(LAB), as_version=4)
    first = nbformat.writes(released)
    released.metadata["version"] = 2
    first_name = f"ruizluis_45678_6789015_{LAB}.ipynb"

    result = collect(course, {f"perezana_12345_6789012_{LAB}.ipynb": first.encode(),
                              first_name: first.encode(), second: upload(second, nbformat.writes(released))})

    assert result.returncode == 1
    message = next(line for line in result.stderr.splitlines() if "Nothing was collected" in line)
    assert f"45678 has two different notebooks named {LAB}.ipynb" in message, message
    assert f"the upload {first_name}" in message and f"downloaded/{LAB}/archive/" in message, message
    assert (f"the upload {second}" if second.endswith(".ipynb") else
            f"{LAB}/{LAB}.ipynb in the archive uploaded as {Path(second).stem} (.zip") in message, message
    assert not (course.root / "submitted").exists()


def test_a_notebook_whose_upload_is_not_named_by_the_lms_is_skipped_with_a_warning(tmp_path):
    """Only the download's own names count: the course's folder is named as Canvas names an upload."""
    course = lms_course(tmp_path / "cs_4100_2026_fall", "Canvas")
    notebook = nbformat.writes(nbformat.read(course.release_notebook(LAB), as_version=4))

    result = collect(course, {f"perezana_12345_6789012_{LAB}.ipynb": notebook.encode(),
                              f"renamed by hand/{LAB}.ipynb": notebook.encode()})

    assert result.returncode == 0, result.stderr
    assert f"renamed by hand/{LAB}.ipynb is not named as the LMS names an upload (<name>_[late_]<user id>_<file id>_" \
           "<file name>), nor is any folder it is in" in result.stderr, result.stderr
    assert "1 files collected, 1 files skipped" in result.stderr
    assert course.students(LAB) == ["12345"]


class WithoutUtf8Flag(zipfile.ZipInfo):
    """A member whose name is written in UTF-8 without the flag that says so, as Info-ZIP's ``zip`` and macOS's Archive
    Utility write names."""

    def _encodeFilenameFlags(self):
        return self.filename.encode("utf-8"), self.flag_bits


def zipped(members: dict[str, bytes], utf8_flag: bool = True) -> bytes:
    """A zip archive of ``members`` (name -> content), compressed; ``utf8_flag``: the flag of names in UTF-8 set, as
    Python sets it, or not."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            info = (zipfile.ZipInfo if utf8_flag else WithoutUtf8Flag)(name, time.localtime()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, content)
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
        config.write(offered_collector("Moodle") + "\nc.BoundedExtractor.max_bytes = 20_000_000\n")
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
