"""The course directory: where labs, submissions, grades and feedback live.

The repository root is nbgrader's course root (DESIGN.md): ``source/<lab>/<lab>.ipynb``,
``release/<lab>/``, ``submitted/<student>/<lab>/``, ``autograded/...``, ``feedback/...`` and
``gradebook.db``. The grader keeps its own records (status of each submission) in
``.autograder/``.
"""
from __future__ import annotations

import codecs
import glob
import hashlib
import os
import pwd
import re
import shlex
import sys
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

from .legacy_locale import legacy_encoding

CONFIG_FILE = "nbgrader_config.py"
EXCHANGE_FILES = ("timestamp.txt", "submission_secret.txt")  # what nbgrader's submit writes beside the notebook
EXPORTS = {  # a notebook saved in another format, which cannot be graded: suffix -> what it is
    ".py": "a Python script exported from a notebook",
    ".html": "an HTML export of a notebook",
    ".pdf": "a PDF of a notebook",
}
ARCHIVES = (".zip", ".tar", ".tar.gz", ".tgz", ".gz", ".rar", ".7z")  # a notebook packed, which grading does not open
# A line among the first of a Python script (``export_kind``): a script as JupyterLab's Save and Export As and
# ``jupyter nbconvert --to script`` write it (``#!/usr/bin/env python``, ``# coding: utf-8``, ``# In[ ]:``), Colab's
# Download .py (``# -*- coding: utf-8 -*-``), VS Code's export and jupytext (``# %%`` cells, a ``# jupyter:`` header),
# or Python as a student types it.
PYTHON_LINE = re.compile(r"#!.*python|#.*-\*-.*coding|# *coding[:=]|# *%%|# *In\[[\d ]*\]:|# *jupyter:|"
                         r"(import|from +[\w.]+ +import|def|class) +\w")


class CourseError(Exception):
    """A problem with the course directory that the instructor must fix; the message says how."""


@dataclass(frozen=True)
class Course:
    root: Path
    gradebook_url: str | None = None  # overrides the configuration's gradebook (the canary has its own)

    @classmethod
    def at(cls, root: str | os.PathLike = ".") -> "Course":
        root = Path(root).resolve()
        if not (root / CONFIG_FILE).is_file():
            raise CourseError(
                f"{root} is not a course directory: it has no {CONFIG_FILE}. Run the command from "
                "the course root (the folder with source/ and nbgrader_config.py) or pass --root.")
        if glob.has_magic(str(root)):
            raise CourseError(
                f"The course folder's path {root} contains {_pattern_characters(str(root))}, which nbgrader reads "
                "as a pattern when it looks for notebooks (so it would find none). Rename that folder, or move the "
                "course to a path without [, * or ?, then run the command again.")
        return cls(root)

    # -- folders -------------------------------------------------------------------------
    def source_notebook(self, lab: str) -> Path:
        return self.root / "source" / lab / f"{lab}.ipynb"

    def release_notebook(self, lab: str) -> Path:
        return self.root / "release" / lab / f"{lab}.ipynb"

    def submission_dir(self, student: str, lab: str) -> Path:
        return self.root / "submitted" / student / lab

    def other_notebooks(self, student: str, lab: str) -> list[str]:
        """The notebooks in a submission's folder other than ``<lab>.ipynb`` (a copy the student worked in, say).

        Hidden files are left out, as nbgrader_config.py has nbgrader ignore them: a Mac adds ``._<lab>.ipynb`` to
        an archive.
        """
        return sorted(p.name for p in self.submission_dir(student, lab).glob("*.ipynb")
                      if p.name != f"{lab}.ipynb" and not p.name.startswith("."))

    def submitted_files(self, student: str, lab: str) -> list[str]:
        """The files of a submission's folder (paths from it, folders below it too, in name order), hidden ones (as
        in ``other_notebooks``) and nbgrader's own exchange files (``EXCHANGE_FILES``) left out."""
        folder = self.submission_dir(student, lab)
        found = [path.relative_to(folder) for path in files_and_links(folder) if path != folder]
        return [str(path) for path in found if not any(part.startswith(".") for part in path.parts)
                and str(path) not in EXCHANGE_FILES]

    def exports(self, student: str, lab: str) -> list[tuple[str, str]]:
        """(path, what it is) of each file of a submission's folder that is a notebook saved in another format
        (``EXPORTS``: a .py script, an HTML page, a PDF), which cannot be graded; found by its name's suffix."""
        return [(name, EXPORTS[Path(name).suffix.lower()]) for name in self.submitted_files(student, lab)
                if Path(name).suffix.lower() in EXPORTS]

    def archives(self, student: str, lab: str) -> list[str]:
        """The files of a submission's folder that are archives (``ARCHIVES``, by name): a zipped notebook, say, copied
        in by hand (``nbgrader zip_collect`` unpacks the students' own archives)."""
        return [name for name in self.submitted_files(student, lab) if name.lower().endswith(ARCHIVES)]

    def notebook_saved_as(self, student: str, lab: str) -> str | None:
        """What a submission's ``<lab>.ipynb`` is (an ``EXPORTS`` text) when it is evidently no notebook but one saved
        in another format under the notebook's name (a .py script, say), read from its first bytes (``export_kind``);
        None for a notebook, a damaged one, anything else, or no such file (a symbolic link is not read)."""
        path = self.submission_dir(student, lab) / f"{lab}.ipynb"
        if self.symbolic_links(student, lab) or not path.is_file():
            return None
        with path.open("rb") as file:
            kind = export_kind(file.read(1 << 16))
        return EXPORTS[kind] if kind else None

    def symbolic_links(self, student: str, lab: str) -> list[str]:
        """The symbolic links of a submission, as ``path -> target`` (paths from the course root): its folders, if
        they are links, or the links under them. An archive unpacked with ``unzip`` keeps a student's links."""
        folders = [self.root / "submitted" / student, self.submission_dir(student, lab)]
        links = [folder for folder in folders if folder.is_symlink()] or \
            [entry for entry in files_and_links(folders[1]) if entry.is_symlink()]
        return [f"{link.relative_to(self.root)} -> {os.readlink(link)}" for link in links]

    def autograded_notebook(self, student: str, lab: str) -> Path:
        return self.root / "autograded" / student / lab / f"{lab}.ipynb"

    def feedback_dir(self, student: str, lab: str) -> Path:
        return self.root / "feedback" / student / lab

    @property
    def records_dir(self) -> Path:
        return self.root / ".autograder" / "status"

    def earlier_releases_dir(self, lab: str) -> Path:
        """Where the lab's student versions replaced by a later release are kept (students may have worked on them)."""
        return self.root / ".autograder" / "releases" / lab

    # -- contents ------------------------------------------------------------------------
    def labs(self) -> list[str]:
        """Every lab that has a source notebook, in name order."""
        source = self.root / "source"
        return sorted(p.name for p in source.iterdir() if (p / f"{p.name}.ipynb").is_file()) \
            if source.is_dir() else []

    def check_lab(self, lab: str) -> str:
        if not self.source_notebook(lab).is_file():
            known = ", ".join(self.labs()) or "none"
            raise CourseError(f"There is no lab called {lab!r} (no {self.source_notebook(lab)}). "
                              f"Labs in this course: {known}.")
        return lab

    def students(self, lab: str) -> list[str]:
        """Students who have a folder ``submitted/<student>/<lab>/``, in name order."""
        submitted = self.root / "submitted"
        if not submitted.is_dir():
            return []
        return sorted(p.name for p in submitted.iterdir()
                      if p.is_dir() and not p.name.startswith(".") and (p / lab).is_dir())

    def misplaced(self, lab: str) -> list[str]:
        """What in ``submitted/`` looks like a submission of ``lab`` in the wrong place, and where it belongs."""
        submitted, found = self.root / "submitted", []
        if not submitted.is_dir():
            return found
        expected = f"submitted/<student>/{lab}/{lab}.ipynb"
        for path in sorted(submitted.glob(f"*/{lab}.ipynb")):
            if path.parent.name == lab:
                found.append(f"submitted/{lab}/ has no student folder around it: expected {expected}")
            else:
                found.append(f"submitted/{path.parent.name}/{lab}.ipynb is one level too shallow: move it to "
                             f"submitted/{path.parent.name}/{lab}/{lab}.ipynb")
        if (submitted / f"{lab}.ipynb").is_file():
            found.append(f"submitted/{lab}.ipynb has no student folder: expected {expected}")
        return found

    # -- nbgrader ------------------------------------------------------------------------
    def config(self) -> Config:
        """The course's nbgrader configuration, with the course root filled in."""
        config = PyFileConfigLoader(CONFIG_FILE, path=str(self.root)).load_config()
        config.CourseDirectory.root = str(self.root)
        if self.gradebook_url:
            config.CourseDirectory.db_url = self.gradebook_url
        return config

    def coursedir(self, config: Config | None = None):
        """nbgrader's ``CourseDirectory`` of the course (nbgrader is imported here: it takes seconds)."""
        from nbgrader.coursedir import CourseDirectory
        return CourseDirectory(config=config or self.config())

    def not_writable(self, what: str, paths) -> str | None:
        """Why this user may not change one of ``paths`` (a folder: its entries; a file), and what to do; None if it
        may. Results left by a command run as another user (root, another teaching assistant) keep its permissions."""
        for path in paths:
            if path.exists() and not os.access(path, os.W_OK | (os.X_OK if path.is_dir() else 0)):
                return self._not_writable(what, path)
        return None

    @staticmethod
    def lab_folders(top: Path, lab: str) -> list[Path]:
        """``top`` (``autograded/``, ``feedback/``), its student folders, and every folder in their ``lab`` folders."""
        return [top, *(p for p in top.glob("*") if p.is_dir()),
                *(Path(folder) for found in top.glob(f"*/{lab}") for folder, _, _ in os.walk(found))]

    def _not_writable(self, what: str, path: Path) -> str:
        if os.statvfs(path).f_flag & os.ST_RDONLY:
            return (f"Cannot write {what} to {path}: its file system is mounted read-only. Work in a copy of the "
                    "course on a disk you may write to, or have it mounted read-write, then run the command again.")
        owner, me = _user(path.stat().st_uid), _user(os.geteuid())
        if owner != me:
            return (f"Cannot write {what} to {path}: it belongs to {owner} and this command runs as {me} (did an "
                    f"earlier command run as {owner}?). Run it as {owner}, or make the course yours again (sudo chown "
                    f"-R {shell_word(me)} {shell_word(self.root)}), then run the command again.")
        return (f"Cannot write {what} to {path}: its permissions do not let you write it. Fix them (chmod -R u+w "
                f"{shell_word(path)}), then run the command again.")

    def command(self, *words: str) -> str:
        """``python -m autograder WORDS`` on this course, to paste into a shell (``command_line``)."""
        return command_line(self.root, *words)

    def db_url(self) -> str:
        """The gradebook's database URL: ``sqlite:///<root>/gradebook.db`` unless nbgrader_config.py sets
        ``c.CourseDirectory.db_url`` (e.g. PostgreSQL for a large course)."""
        return self.coursedir().db_url


def shell_word(text: str | os.PathLike) -> str:
    """``text`` (a path, say) as one word of a command to paste into a shell: quoted when it holds a space, an
    apostrophe or another character the shell would read."""
    return shlex.quote(str(text))


def command_line(root: str | os.PathLike, *words: str) -> str:
    """``python -m autograder WORDS`` (``words``: a command and its arguments, e.g. "release", lab) on the course at
    ``root``, as a message suggests it, to paste into a shell: with ``--root <root>`` unless the course root is the
    current folder (a command run with ``--root`` from elsewhere, by cron say, suggests ones that work there too)."""
    where = [] if _is_current_folder(root) else ["--root", Path(root).resolve()]
    return " ".join(shell_word(word) for word in ["python", "-m", "autograder", *where, *words])


def in_course_root(root: str | os.PathLike, command: str) -> str:
    """``command`` (e.g. ``jupyter lab``, whose formgrader shows the course of the folder it starts in) to paste into a
    shell, run in the course at ``root``: after ``cd <root> &&`` unless the course root is the current folder. Where
    the server's locale is not UTF-8, in Python's UTF-8 mode, as the kit's commands run there (``__main__``): nbgrader
    would else look for students' folders under other names."""
    if legacy_encoding():
        command = f"PYTHONUTF8=1 {command}"
    return command if _is_current_folder(root) else f"cd {shell_word(Path(root).resolve())} && {command}"


def _is_current_folder(root: str | os.PathLike) -> bool:
    """Whether ``root`` is the current folder, however either is named (a relative path, a symbolic link)."""
    try:
        return Path(root).resolve() == Path.cwd().resolve()
    except OSError:  # the current folder was deleted
        return False


def install_command(root: Path | None, kit: str = ".") -> str:
    """The command that installs the kit (``kit``: ".", or ".[postgres]" with an extra) into the Python that runs this
    one, to paste into a shell: from the course ``root`` (None: the message says to run it there). That Python is named
    by its path, relative to ``root`` when it is in it (the course's ``.venv``): ``python`` may be another one (a
    virtual environment moved with its course still puts its old folder on the PATH)."""
    python = Path(sys.executable)
    if root and python.is_relative_to(root) and python.parent != root:
        python = python.relative_to(root)
    return (f"cd {shell_word(root)} && " if root else "") + f"{shell_word(python)} -m pip install -e {shell_word(kit)}"


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite gradebook's URL (``sqlite:///path``); None for another database."""
    return Path(url.removeprefix("sqlite:///")) if url.startswith("sqlite:///") else None


def _user(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def export_kind(data: bytes) -> str | None:
    """The suffix in ``EXPORTS`` of the format that ``data`` (the first bytes of a file named as a notebook) is
    evidently in: ".pdf", ".html" (a web page), ".py" (a line among its first is one that starts Python code or a
    script export, ``PYTHON_LINE``); None otherwise, and always for what begins as JSON does (a damaged notebook)."""
    start = data.removeprefix(codecs.BOM_UTF8).lstrip()
    if start.startswith(b"%PDF-"):
        return ".pdf"
    if re.match(rb"<!doctype html|<html", start, re.IGNORECASE):
        return ".html"
    lines = start.decode("utf-8", "replace").splitlines()[:40]
    if not start.startswith((b"{", b"[")) and any(PYTHON_LINE.match(line.strip()) for line in lines):
        return ".py"
    return None


def unusable_student_id(root: str | os.PathLike, student: str) -> str | None:
    """Why a submission of student ``student`` (a folder name) of the course at ``root`` is not graded, or None if it
    is. A rename it suggests is a command to paste into a shell from any folder (``rename_command``): the text is
    kept in the submission's record and read later, by export or report run elsewhere too."""
    if (trimmed := student.strip()) != student:
        taken = trimmed and (Path(root) / "submitted" / trimmed).exists()
        exists = f"; submitted/{trimmed}/ exists already" if taken else ""
        rename = (f"rename the folder and grade again: "
                  f"{rename_command(root, f'submitted/{student}', f'submitted/{trimmed}')}" if trimmed and not taken
                  else f"rename the folder (to the student's id{exists}) and grade again")
        return (f"the folder name 'submitted/{student}/' starts or ends with a space, which nbgrader drops from a "
                f"student id before it looks for the notebook, in a folder of another name: {rename}")
    if glob.has_magic(student):
        plain = re.sub(r"[][*?]+", "_", student).strip("_")
        taken = plain and (Path(root) / "submitted" / plain).exists()
        rename = (f"rename the folder submitted/{student}/ (to {plain}, say) and grade again: "
                  f"{rename_command(root, f'submitted/{student}', f'submitted/{plain}')}" if plain and not taken else
                  f"rename the folder submitted/{student}/ (to the student's id without those characters"
                  f"{f'; submitted/{plain}/ exists already' if taken else ''}) and grade again")
        return (f"nbgrader cannot grade a student id that contains {_pattern_characters(student)} (it reads the "
                f"id as a pattern when it looks for the notebook): {rename}")
    composed = unicodedata.normalize("NFC", student)
    if composed != student:
        taken = (Path(root) / "submitted" / composed).exists()
        rename = (f"The folder submitted/{composed}/, the same name written with single characters, exists too (the "
                  f"student submitted twice, from a Mac and from another computer, say): keep the submission to grade "
                  f"under that name, remove the other and grade again" if taken else
                  f"Rename the folder and grade again: "
                  f"{rename_command(root, f'submitted/{student}', f'submitted/{composed}')}")
        return (f"the folder name submitted/{student}/ writes its accents as separate marks, as a Mac does, not as the "
                f"single characters that Linux, learning platforms and keyboards use: nbgrader would record an id that "
                f"looks like {composed} but is not the same text, and the student could appear twice in the grades. "
                f"{rename}")
    return None


def rename_command(root: str | os.PathLike, old: str, new: str) -> str:
    """``mv -T OLD NEW`` for two paths in the course at ``root`` (``old`` and ``new``: from the root), to paste into a
    shell from any folder: the paths are absolute and quoted (a pattern character, a space or an accent stays as
    it is). A message kept and read later (a record's detail) cannot know the folder it will be pasted in, nor
    whether NEW is a folder by then: ``-T`` never moves OLD into it (a folder with files in it is refused)."""
    where = Path(root).resolve()
    return f"mv -T {shell_word(where / old)} {shell_word(where / new)}"


def _pattern_characters(text: str) -> str:
    return " and ".join(f"'{c}'" for c in "[*?" if c in text)


def parse_shard(text: str) -> tuple[int, int]:
    """``"K/N"`` as ``(K, N)``: share K of N (K from 0 to N-1), as given to ``grade --shard``."""
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if not match:
        raise CourseError(f"--shard takes K/N, this process's share K of N shares (K from 0 to N-1), "
                          f"e.g. --shard 0/4; got {text!r}.")
    k, n = map(int, match.groups())
    if n < 1 or k >= n:
        raise CourseError(f"--shard {k}/{n}: the shares of N are numbered 0 to N-1 (N at least 1), "
                          f"e.g. --shard 0/{max(n, 2)} to --shard {max(n, 2) - 1}/{max(n, 2)}.")
    return k, n


def shard_of(student: str, count: int) -> int:
    """The share (0 to count-1) that grades ``student``: a hash of the student id alone, the same on every
    machine and run, and unchanged when other students submit."""
    return int.from_bytes(hashlib.sha256(student.encode()).digest()[:8], "big") % count


def fingerprint(*paths: Path) -> str:
    """A SHA-256 over the names and bytes of the given files and of every file below the given folders. A symbolic
    link below them counts by where it points, unfollowed: a submission's may point at /dev/zero or at the course's
    solutions."""
    digest = hashlib.sha256()
    for path in paths:
        for file in files_and_links(path):
            digest.update(str(file.relative_to(path.parent)).encode())
            digest.update(os.readlink(file).encode() if file.is_symlink() else _file_digest(file))
    return digest.hexdigest()


def _file_digest(file: Path) -> bytes:
    """SHA-256 of a file's bytes, read in chunks (a student may submit a data set of gigabytes)."""
    with open(file, "rb") as f:
        return hashlib.file_digest(f, "sha256").digest()


def files_and_links(path: Path) -> list[Path]:
    """``path`` if it is a file, else the regular files and symbolic links below the folder ``path`` (``path`` itself
    is followed, none below it), in name order; empty if there is nothing there."""
    if path.is_file():
        return [path]
    found = []
    for top, folders, files in os.walk(path):
        found += [entry for name in files + folders if (entry := Path(top, name)).is_symlink() or entry.is_file()]
    return sorted(found)


def write_whole(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` so that readers see the old file or the new one, never half of one: a write
    cut short (a full disk, a used-up quota) leaves the old file as it was."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8", newline="") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as error:
        error.filename = error.filename or str(path)  # a write cut short names no file
        raise
    finally:
        tmp.unlink(missing_ok=True)
