"""Whose each notebook of an LMS download is, for ``nbgrader zip_collect`` (base of ``canvas.py`` and ``moodle.py``).

An LMS names each upload after the student who made it. A student who uploaded the notebook itself has it under the
LMS's name; one who uploaded an archive has it under the archive's folder (nbgrader's extractor unpacks an archive
into a folder of its name), with a name of their own. So a notebook's student comes from the nearest part of its path
that the LMS named, and its name is what the student uploaded: the LMS's name less what the LMS added, or, in an
archive, the notebook's own file name. Jupyter's and macOS's leftovers in an archive (``.ipynb_checkpoints/``,
``__MACOSX/``) are not collected. The same notebook twice (uploaded, and in a zip beside it) is collected once; two
different notebooks of one student under one name stop the collection with a message that names both (nbgrader
would stop without saying whose they are).
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

from nbgrader.plugins import FileNameCollectorPlugin

from .legacy_locale import stop_collecting_in_legacy_encoding

LEFTOVERS = (".ipynb_checkpoints", "__MACOSX")  # folders in students' archives that are not their work


class UploadCollector(FileNameCollectorPlugin):
    """A notebook's student id and name from the LMS's name of its upload (``upload_name``, ``student_id``)."""

    upload_name: re.Pattern  # one file or folder name the LMS gave an upload; its group ``uploaded``: what follows
    upload_form = ""  # how the LMS names an upload, for messages

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        stop_collecting_in_legacy_encoding(self.log, self.parent.coursedir.assignment_id)
        self._collected: dict[tuple[str, str], tuple[Path, Path]] = {}  # (student id, name) -> (file, its upload)

    def student_id(self, match: re.Match, upload: Path) -> str:
        """The student id of the upload ``upload`` (a file or folder), whose name is ``match``."""
        raise NotImplementedError

    def collect(self, submitted_file: str) -> dict | None:
        path = Path(submitted_file)
        if path.suffix not in self.valid_ext or any(part in LEFTOVERS for part in path.parts):
            return None
        upload, match = self._upload(path)
        if match is None:
            self.log.warning("%s is not named as the LMS names an upload (%s), nor is any folder it is in: whose "
                             "it is is unknown. Copy it into submitted/<student id>/<lab>/ by hand.", path,
                             self.upload_form)
            return None
        name = self.uploaded(match["uploaded"]) if upload == path else path.name
        info = {"student_id": self.student_id(match, upload), "file_id": Path(name).stem}
        key = (info["student_id"], name)
        if key in self._collected:
            first, first_upload = self._collected[key]
            if first.read_bytes() == path.read_bytes():
                self.log.warning("%s is the same notebook as %s: collected once (zip_collect counts the copy as "
                                 "skipped below; it need not be copied by hand).", path, first)
                return None
            lab = self.parent.coursedir.assignment_id
            self.log.error("Nothing was collected: %s has two different notebooks named %s, %s and %s. Take the "
                           "upload not to grade out of the download in downloaded/%s/archive/ (`zip -d`), and run "
                           "zip_collect again with --force.", info["student_id"], name, uploaded_as(first, first_upload),
                           uploaded_as(path, upload), lab)
            sys.exit(1)
        self._collected[key] = (path, upload)
        return info

    def _upload(self, path: Path) -> tuple[Path | None, re.Match | None]:
        """The upload ``path`` is (or is in: the nearest folder the LMS named, below the extracted folder: the
        course's own path may hold a name such as ``cs_4100_2026_fall``), and its name's match."""
        app = self.parent  # nbgrader's ZipCollectApp
        extracted = Path(app._format_collect_path(app.extracted_directory))
        for part in (path, *path.parents):
            if part == extracted or not part.is_relative_to(extracted):
                break
            match = self.upload_name.fullmatch(part.name)
            if match:
                return part, match
        return None, None

    def uploaded(self, name: str) -> str:
        """The name the student gave an uploaded file, from ``name``, what follows the LMS's part of its name."""
        return name


def uploaded_as(path: Path, upload: Path) -> str:
    """How the download holds ``path``: as the upload itself, or in the archive the student uploaded (which nbgrader
    unpacked into the folder ``upload``)."""
    if path == upload:
        return f"the upload {upload.name}"
    return f"{path.relative_to(upload)} in the archive uploaded as {upload.name} (.zip, .tar.gz...)"
