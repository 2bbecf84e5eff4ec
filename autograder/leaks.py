"""Prove that nothing secret from a source notebook reached a student-facing file.

Secret text is what nbgrader strips from the student version: solution code, hidden tests,
mark schemes and model answers (markdown solution cells). A line counts as secret when it
stands in such a region and nowhere in the public part of the same source notebook, so a
line like ``return params`` that the notebook also shows students is not reported.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS",
           "BEGIN MARK SCHEME", "END MARK SCHEME")
REGIONS = {"BEGIN SOLUTION": "END SOLUTION", "BEGIN HIDDEN TESTS": "END HIDDEN TESTS",
           "BEGIN MARK SCHEME": "END MARK SCHEME"}
INSTRUCTOR_IMPORT = re.compile(r"\b(from\s+autograder\b|import\s+autograder\b|autograder\.reference)")
MIN_SECRET_LENGTH = 12  # shorter lines ("else:", "return A") say nothing about the answer


def cell_label(cell, index: int) -> str:
    """How messages name cell ``index`` of a notebook: counted from 1 at the top, as a reader counts, with its
    nbgrader grade id when it has one (``cell 49 (test_mse_loss)``)."""
    grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
    return f"cell {index + 1}" + (f" ({grade_id})" if grade_id else "")


@dataclass(frozen=True)
class Leak:
    path: Path
    where: str
    what: str

    def __str__(self) -> str:
        return f"{self.path} ({self.where}): {self.what}"


def split_regions(source: str, kinds=tuple(REGIONS)) -> tuple[list[str], list[str]]:
    """Split a cell's lines into (public, secret) by nbgrader's region delimiters."""
    public, secret, end = [], [], None
    for line in source.splitlines():
        if end is None:
            begin = next((b for b in kinds if b in line), None)
            if begin:
                end = REGIONS[begin]
            else:
                public.append(line)
        elif end in line:
            end = None
        else:
            secret.append(line)
    return public, secret


def _nbgrader(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def secret_lines(source_nb, kinds=tuple(REGIONS)) -> set[str]:
    """The significant stripped lines of a source notebook that students must never see.

    ``kinds`` limits the regions considered (e.g. only ``("BEGIN HIDDEN TESTS",)``).
    """
    public, secret = set(), set()
    for cell in source_nb.cells:
        meta = _nbgrader(cell)
        if cell.cell_type == "markdown" and meta.get("solution") and "BEGIN SOLUTION" in kinds:
            secret.update(cell.source.splitlines())  # a model answer or mark scheme, whole
            continue
        pub, sec = split_regions(cell.source, kinds)
        if cell.cell_type == "code" and meta.get("solution") and "BEGIN SOLUTION" in kinds \
                and not any("BEGIN SOLUTION" in line for line in cell.source.splitlines()):
            sec, pub = pub, []  # a solution cell without delimiters is all solution
        public.update(line.strip() for line in pub)
        secret.update(sec)
    return {s for s in (line.strip() for line in secret)
            if len(s) >= MIN_SECRET_LENGTH and s not in public and not s.startswith("#")}


def unmarked_solutions(nb) -> list[str]:
    """The labels of a source notebook's code solution cells without ``### BEGIN SOLUTION``: nbgrader blanks each
    whole, and ``secret_lines`` counts each of its lines (the def line, a short ``return``) as a solution's."""
    return [cell_label(cell, index) for index, cell in enumerate(nb.cells) if cell.cell_type == "code"
            and _nbgrader(cell).get("solution") and "BEGIN SOLUTION" not in cell.source]


def source_marker(nb) -> str | None:
    """Where a notebook holds one of nbgrader's region markers, which only source notebooks have (``release`` proves
    that no student version does): ``cell 12 (init_params) holds 'BEGIN SOLUTION'``; None if it holds none."""
    for index, cell in enumerate(nb.cells):
        marker = next((marker for marker in MARKERS if marker in cell.source), None)
        if marker:
            return f"{cell_label(cell, index)} holds {marker!r}"
    return None


def file_text(path: Path) -> str | None:
    """The text of a file a student gets, in whatever encoding an editor saved it: UTF-8 (with or without a byte-order
    mark), UTF-16 with one (Windows Notepad's "Unicode"), else as Latin-1 (a Windows-1252 file from a Spanish or
    Portuguese Windows, say: every ASCII line of it reads as written). None for binary data (a NUL byte)."""
    data = path.read_bytes()
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace")
    if b"\0" in data:
        return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def find_leaks_in_text(text: str, secrets: set[str], path: Path, where: str) -> list[Leak]:
    leaks = [Leak(path, where, f"nbgrader marker {m!r}") for m in MARKERS if m in text]
    if INSTRUCTOR_IMPORT.search(text):
        leaks.append(Leak(path, where, "a reference to the instructor-only autograder package"))
    leaks += [Leak(path, where, f"secret line {line!r}") for line in sorted(secrets) if line in text]
    return leaks


def find_leaks(source_notebook: Path, release_dir: Path) -> list[Leak]:
    """Every leak of ``source_notebook``'s secrets into the files of ``release_dir``."""
    secrets = secret_lines(nbformat.read(source_notebook, as_version=4))
    leaks: list[Leak] = []
    for path in sorted(p for p in release_dir.rglob("*") if p.is_file()):
        if path.suffix == ".ipynb":
            nb = nbformat.read(path, as_version=4)
            for index, cell in enumerate(nb.cells):
                where = cell_label(cell, index)
                leaks += find_leaks_in_text(cell.source, secrets, path, where)
                if cell.get("outputs"):
                    leaks.append(Leak(path, where, "the cell has outputs (they may show answers)"))
        elif (text := file_text(path)) is not None:  # binary data files carry no code
            leaks += find_leaks_in_text(text, secrets, path, "file")
    return leaks
