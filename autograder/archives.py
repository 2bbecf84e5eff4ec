"""``nbgrader zip_collect`` unpacks an LMS download within bounds (``nbgrader_config.py`` sets it as the extractor).

nbgrader's extractor unpacks every archive in the download, then every archive found in what it unpacked, until none
is left, and writes a link in a tar as a copy of its target: a student's upload that is a zip bomb would fill the
grading machine's disk, and a zip that contains itself, or a tar whose links go round in a loop, would never end.
Before anything is unpacked, the archives' contents are read (the sizes their headers declare, which also bound what
unpacking writes), nested ones too: past ``max_bytes`` in all, archives nested deeper than ``max_depth`` or links in
a loop, nothing is unpacked and the error names the upload to take out. Once unpacked, what is not a student's work
is taken out of the extracted folder (``tidy``), so that zip_collect's skipped files are students' own.
"""
from __future__ import annotations

import os
import posixpath
import shlex
import shutil
import sys
import tarfile
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

from nbgrader.plugins import ExtractorPlugin
from traitlets import Integer

from .legacy_locale import stop_collecting_in_legacy_encoding
from .uploads import LEFTOVERS

MAX_LINKS = 40  # links followed one after the other before a loop is assumed, as Linux does


class ArchiveProblem(Exception):
    """A download that must not be unpacked."""


class BoundedExtractor(ExtractorPlugin):
    """nbgrader's extractor, refusing a download that would unpack to too much, to archives nested too deep, or
    forever."""

    max_bytes = Integer(10 * 1024**3, help="Most bytes the download may unpack to, its archives' archives included.") \
        .tag(config=True)
    max_depth = Integer(3, help="Most levels of archives in archives (the LMS's zip, a student's zip, one inside it).") \
        .tag(config=True)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        stop_collecting_in_legacy_encoding(self.log, self.parent.coursedir.assignment_id)

    def extract(self, archive_path: str, extracted_path: str) -> None:
        budget = self.max_bytes
        for folder, _, names in os.walk(archive_path):
            for name in sorted(names):
                if Path(name).suffix in self.zip_ext:
                    path = Path(folder, name)
                    try:
                        with open(path, "rb") as archive:
                            budget = self._check(archive, [str(path)], budget)
                    except ArchiveProblem as problem:
                        self.log.error("Nothing was unpacked: %s", problem)
                        sys.exit(1)
        super().extract(archive_path, extracted_path)
        tidy(Path(extracted_path), self.zip_ext)

    def _check(self, archive, where: list[str], budget: int) -> int:
        """The bytes left of ``budget`` once ``archive`` (an open file; ``where``: the archives it is in, outermost
        first, then its own name) and the archives it holds are unpacked; raises ArchiveProblem."""
        for name, size, open_member in members(archive, where):
            budget -= size
            inside = [*where, name]
            if budget < 0:
                raise ArchiveProblem(f"{' > '.join(inside)} brings what the download unpacks to over "
                                     f"{self.max_bytes:,} bytes (a broken or hostile upload?). {remedy(inside)}, or "
                                     "raise c.BoundedExtractor.max_bytes in nbgrader_config.py")
            if Path(name).suffix in self.zip_ext:
                if len(inside) > self.max_depth:
                    raise ArchiveProblem(f"{' > '.join(inside)} is an archive nested {len(inside)} deep, more than "
                                         f"{self.max_depth} (an archive that holds itself never ends). {remedy(inside)}")
                with open_member() as member:
                    budget = self._check(member, inside, budget)
        return budget


def tidy(extracted: Path, zip_ext: list[str]) -> None:
    """Take out of ``extracted`` each archive that nbgrader unpacked (into a folder of its name, beside it) and Jupyter's
    and macOS's leftovers (``uploads.LEFTOVERS``): the download in the archive folder keeps them. Give back their
    accents to the names that a zip holds as UTF-8 without saying so (``utf8_read_as_cp437``)."""
    for path in sorted(extracted.rglob("*"), reverse=True):  # a folder's files before the folder
        if path.name in LEFTOVERS and path.is_dir():
            shutil.rmtree(path)
        elif path.suffix in zip_ext and path.is_file() and unpacked_folder(path).is_dir():
            path.unlink()
        elif (name := utf8_read_as_cp437(path.name)) != path.name and not path.with_name(name).exists():
            path.rename(path.with_name(name))


def utf8_read_as_cp437(name: str) -> str:
    """``name`` as its writer meant it. A zip marks a name in UTF-8 with a flag, and Python reads a name without it as
    cp437, the zip format's first encoding; but Info-ZIP's ``zip`` (a download zipped again on Linux) and macOS's
    Archive Utility write UTF-8 without the flag: "Ana María" is then read as "Ana Mar├¡a". Such a name, written back
    in cp437, is valid UTF-8; a name really in cp437 (or any other) with accents almost never is."""
    try:
        return name.encode("cp437").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return name


def unpacked_folder(archive: Path) -> Path:
    """The folder nbgrader unpacks ``archive`` into: its name without the extension (and ``.tar``)."""
    stem = Path(archive.stem)
    return archive.with_name(stem.stem if stem.suffix == ".tar" else stem.name)


def members(archive, where: list[str]) -> Iterator[tuple[str, int, Callable[[], IO[bytes]]]]:
    """(name, size in bytes, a function that opens it) of each file in ``archive``, a zip or a tar (compressed or not)."""
    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as opened:
                for info in opened.infolist():
                    if not info.is_dir():
                        yield info.filename, info.file_size, lambda info=info: opened.open(info)
            return
        archive.seek(0)
        with tarfile.open(fileobj=archive) as opened:
            for member in opened:
                target = linked(opened, member, [*where, member.name])
                if target is not None and target.isfile():
                    yield member.name, target.size, lambda target=target: opened.extractfile(target)
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError) as error:
        raise ArchiveProblem(f"{' > '.join(where)} cannot be read as an archive ({error}). {remedy(where)}") from None


def linked(archive: tarfile.TarFile, member: tarfile.TarInfo, where: list[str]) -> tarfile.TarInfo | None:
    """The member that ``member`` of ``archive`` is unpacked as: nbgrader's unpacking (setuptools') writes a link's
    target in its place, so a thousand links to one large file write it a thousand times."""
    for _ in range(MAX_LINKS):
        if not (member.islnk() or member.issym()):
            return member
        name = member.linkname if member.islnk() else \
            posixpath.normpath(posixpath.join(posixpath.dirname(member.name), member.linkname))
        try:
            member = archive.getmember(name)
        except KeyError:  # a link to nothing in the archive: not unpacked
            return None
    raise ArchiveProblem(f"{' > '.join(where)} is a link in a loop, on which unpacking would never end. {remedy(where)}")


def remedy(inside: list[str]) -> str:
    """What to do about the upload that ``inside`` (archives, outermost first) is in."""
    if len(inside) == 1:
        return f"Take {inside[0]} out of the download's folder, and run zip_collect again"
    how = f" (zip -d {shlex.quote(inside[0])} {shlex.quote(inside[1])})" if inside[0].endswith(".zip") else ""
    return f"Take {inside[1]} out of {inside[0]}{how} and collect that student's work by hand, then run zip_collect again"
