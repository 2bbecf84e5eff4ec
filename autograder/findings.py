"""What happened to a submission besides its score: the grader's findings, changed test cells, lost answer marks.

The autograde preprocessors note what they saw (the kernel died, a cell was stopped, a cell hit a
limit, output was cut) in the autograded notebook's metadata under ``autograder``; a submission's
own copy of that key is dropped first, so the kernel cannot write there. ``changed_tests`` compares a
submission's test cells with the release's; ``lost_answers`` finds the answer cells whose nbgrader metadata
an editor dropped. ``grade`` turns them into a status and a detail.

Cell texts are compared line endings aside (``unix_newlines``): an editor on Windows may save "\\r\\n" inside
a cell's text, which Python and Jupyter read as "\\n".
"""
from __future__ import annotations

import copy
import difflib
import errno
from collections import Counter

from nbgrader import utils

from .records import Fact
from .sandbox import size_text

KEY = "autograder"  # notebook metadata key of the findings; only the grader writes it


def forget(nb) -> None:
    """Drop any findings the notebook arrived with (a submission may carry forged ones)."""
    nb.metadata.pop(KEY, None)


def note(nb, cell: int, fact: Fact, what: str) -> None:
    """Record that ``fact`` happened in cell ``cell``; ``what`` says it in words, for people."""
    nb.metadata.setdefault(KEY, {}).setdefault("findings", []).append(
        {"cell": cell, "fact": Fact(fact).value, "what": what})


def noted(nb) -> list[dict]:
    """The findings the grader recorded in an autograded notebook, in the order they happened."""
    return list(nb.metadata.get(KEY, {}).get("findings", []))


def stopped(nb) -> dict[int, str]:
    """cell index -> what was said of it, for each cell of an autograded notebook stopped at its time limit."""
    return {finding["cell"]: finding["what"] for finding in noted(nb) if finding["fact"] == Fact.CELL_TIMEOUT}


def note_time(nb, key: str, seconds: float) -> None:
    """Record that the cell ``key`` (``preprocessors.cell_key``) took ``seconds`` (the longest, if it ran twice)."""
    times = nb.metadata.setdefault(KEY, {}).setdefault("seconds", {})
    times[key] = round(max(seconds, times.get(key, 0.0)), 4)


def noted_times(nb) -> dict[str, float]:
    """Each cell's time in an autograded notebook, by cell key, as the grader noted it."""
    return dict(nb.metadata.get(KEY, {}).get("seconds", {}))


def limit_hit(output, limits=None) -> tuple[Fact, str] | None:
    """Which sandbox limit an error output of the kernel shows, and in words (``None`` if it shows none).

    ``limits`` is the sandbox's kernel manager (for the figures) or ``None`` without a sandbox. The
    error comes from the kernel, so a submission could raise one itself; that only labels its own
    outcome and changes no points.
    """
    if output.get("output_type") != "error":
        return None
    ename, evalue = output.get("ename", ""), output.get("evalue", "")

    def limit(attribute):
        return f" (the limit is {size_text(getattr(limits, attribute))})" if limits is not None else ""

    if ename == "MemoryError":
        return Fact.MEMORY, "ran out of memory" + limit("memory_bytes")
    if evalue.startswith(f"[Errno {errno.EFBIG}]"):
        return Fact.FILE_SIZE, "wrote a file past the size limit" + limit("max_file_bytes")
    if evalue.startswith(f"[Errno {errno.ENOSPC}]"):
        return Fact.SCRATCH, "filled its scratch space" + limit("scratch_bytes")
    if evalue.startswith(f"[Errno {errno.EAGAIN}]") or "can't start new thread" in evalue:
        count = f" (the limit is {limits.max_processes} processes and threads)" if limits is not None else ""
        return Fact.PROCESSES, "could start no more processes or threads" + count
    return None


def nbgrader_metadata(cell) -> dict:
    """A cell's nbgrader metadata, or {} if it has none with a grade id (an ordinary cell)."""
    meta = cell.get("metadata", {}).get("nbgrader")
    return meta if isinstance(meta, dict) and isinstance(meta.get("grade_id"), str) else {}


def unix_newlines(text):
    """``text`` with its Windows ("\\r\\n") and old Mac ("\\r") line endings written "\\n", as Python and Jupyter read
    them (anything but a string is returned as it is)."""
    return text.replace("\r\n", "\n").replace("\r", "\n") if isinstance(text, str) else text


def with_unix_newlines(nb) -> None:
    """Write every line ending of ``nb``'s cell texts "\\n" (``unix_newlines``), in place."""
    for cell in nb.cells:
        if isinstance(cell.get("source"), str) and "\r" in cell.source:
            cell.source = unix_newlines(cell.source)


def _checksum(cell) -> str | None:
    try:
        if "\r" in cell.get("source", ""):
            cell = copy.copy(cell)
            cell.source = unix_newlines(cell.source)
        return utils.compute_checksum(cell)
    except (KeyError, TypeError, ValueError, AttributeError):  # metadata too damaged to hash
        return None


def unmarked_copy(nb, text: str) -> int | None:
    """The index of the first cell of ``nb`` without nbgrader metadata that holds exactly ``text`` (not empty), line
    endings aside."""
    text = unix_newlines(text)
    copies = (i for i, cell in enumerate(nb.cells)
              if not nbgrader_metadata(cell) and unix_newlines(cell.get("source")) == text)
    return next(copies, None) if text else None


def lost_answers(release, submitted) -> tuple[dict[int, dict], list[str]]:
    """The release's answer cells (code and written, nbgrader's ``solution``) whose nbgrader metadata the submission
    lost (Google Colab and some other editors drop every cell's metadata): ``({index of the submission's cell that
    takes the answer's place: the release's nbgrader metadata of that answer}, [grade ids of graded answers whose
    place cannot be told])``.

    Without its metadata, nbgrader would not know an answer's cell: it would add back an empty copy of a written
    answer ("YOUR ANSWER HERE") for the grader to grade by hand, next to the student's real answer. The
    submission's cells are lined up with the release's (a cell with nbgrader metadata by its grade id, a cell
    without by its type and text, line endings aside). An answer is found in place when, between the cells lined
    up on either side of it (its question, unchanged, and the next cell of the release, say), it is the only cell
    of the release of its type not lined up, and the submission has exactly one cell of that type there, without
    metadata; or when a cell without metadata still holds its released text. Nothing is guessed: when several
    cells could be the answer (the student added one next to it, or edited the question too), a graded answer
    is named as not placed, and one the student deleted (no cell of its type left there) is left alone.
    Only the last copy of a duplicated grade id counts as marked, as the grader keeps it (``DropDuplicateIds``).
    """
    released = [nbgrader_metadata(cell) for cell in release.cells]
    marked = {}  # grade id -> index of the copy that counts (the last)
    for index, cell in enumerate(submitted.cells):
        if nbgrader_metadata(cell):
            marked[nbgrader_metadata(cell)["grade_id"]] = index
    kept = {index: grade_id for grade_id, index in marked.items()}
    release_keys = [(cell.cell_type, unix_newlines(cell.source)) for cell in release.cells]
    by_id = {meta["grade_id"]: i for i, meta in enumerate(released) if meta}
    submitted_keys = [
        (release_keys[by_id[kept[j]]] if kept[j] in by_id else ("grade id", kept[j])) if j in kept
        else (cell.cell_type, unix_newlines(cell.source)) for j, cell in enumerate(submitted.cells)]
    found, unplaced = {}, []
    matcher = difflib.SequenceMatcher(None, release_keys, submitted_keys, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        for i in range(i1, i2):
            meta = released[i]
            if not meta.get("solution") or meta["grade_id"] in marked:
                continue
            if tag == "equal":  # a cell without metadata holds the answer's released text: it is the answer's
                if j1 + i - i1 not in kept:  # (not another answer's marked cell with the same released text)
                    found[j1 + i - i1] = copy.deepcopy(meta)
                continue
            kind = release.cells[i].cell_type
            alike = [k for k in range(i1, i2) if release.cells[k].cell_type == kind]
            candidates = [j for j in range(j1, j2) if j not in kept and submitted.cells[j].cell_type == kind]
            if len(alike) == 1 and len(candidates) == 1:
                found[candidates[0]] = copy.deepcopy(meta)
            elif candidates and meta.get("grade"):
                unplaced.append(meta["grade_id"])
    return found, unplaced


def lost_answer_marks(release, submitted) -> dict[str, list[str]]:
    """``lost_answers`` by kind, for the grader's record: "restored" (answers found in place, graded as the
    student's), "unplaced" (graded answers whose cell could not be told; an empty copy was put back), each with
    its grade ids in release order; only the kinds that happened."""
    found, unplaced = lost_answers(release, submitted)
    order = {meta["grade_id"]: i for i, meta in enumerate(map(nbgrader_metadata, release.cells)) if meta}
    restored = sorted((meta["grade_id"] for meta in found.values()), key=order.get)
    return {kind: ids for kind, ids in (("restored", restored), ("unplaced", unplaced)) if ids}


def changed_tests_since(releases, submitted) -> dict[str, list[str]]:
    """``changed_tests`` against the release the submission started from: of ``releases`` (the current one first,
    then earlier ones), the one it changed least (the current one on a tie)."""
    return min((changed_tests(release, submitted) for release in releases),
               key=lambda changes: sum(map(len, changes.values())))


def changed_tests(release, submitted) -> dict[str, list[str]]:
    """The release's test cells the submission edited, deleted, unmarked, duplicated or moved, by grade id.

    Edited covers the source and the nbgrader metadata (points, flags). Unmarked means the cell is there
    with its released text but without its nbgrader metadata (as another editor may save it). Moved means
    the copy that is graded (nbgrader keeps the last) no longer has the same answer and locked cells before
    it, so it runs after other code than in the release. Returns only the kinds that happened, each with
    its grade ids in release order.
    """
    release_order = {nbgrader_metadata(c)["grade_id"]: i for i, c in enumerate(release.cells) if nbgrader_metadata(c)}
    tests = {nbgrader_metadata(c)["grade_id"]: c for c in release.cells
             if nbgrader_metadata(c).get("grade") and not nbgrader_metadata(c).get("solution")}
    cells = [(nbgrader_metadata(c)["grade_id"], c) for c in submitted.cells if nbgrader_metadata(c)]
    copies = Counter(grade_id for grade_id, _ in cells)
    place = {grade_id: i for i, (grade_id, _) in enumerate(cells)}  # of the copy nbgrader keeps
    others = [g for g in release_order if g not in tests and g in place]  # answer and locked cells
    gone = {t: unmarked_copy(submitted, tests[t].source) for t in tests if t not in copies}  # -> its copy, if any

    def moved(test):
        return ({g for g in others if release_order[g] < release_order[test]}
                != {g for g in others if place[g] < place[test]})

    changes = {
        "edited": [t for t in tests if any(g == t and _checksum(c) != _checksum(tests[t]) for g, c in cells)],
        "deleted": [t for t, copy in gone.items() if copy is None],
        "unmarked": [t for t, copy in gone.items() if copy is not None],
        "duplicated": [t for t in tests if copies[t] > 1],
        "moved": [t for t in tests if t in place and moved(t)],
    }
    return {kind: ids for kind, ids in changes.items() if ids}
