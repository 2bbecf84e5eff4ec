"""nbgrader preprocessors the course adds to autograding and feedback (see nbgrader_config.py)."""
import contextlib
import hashlib
import json
import secrets
import time
from pathlib import Path

import nbformat
from jupyter_core.utils import ensure_async, run_sync
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.v4 import new_output
from nbgrader import utils
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import DeduplicateIds, Execute, LimitOutput, NbGraderPreprocessor, OverwriteCells
from traitlets import Bool, Dict, Float, Integer

from .findings import (forget, limit_hit, lost_answers, nbgrader_metadata, note, note_time, unmarked_copy,
                       with_unix_newlines)
from .judge.cells import parse_hidden, run_checks, split_hidden
from .judge.remote import MAX_ANSWER, KernelSession, judge_client, stop_judge_client
from .judge.student import both_ways
from .records import Fact
from .sandbox import MiB, SandboxedKernelManager, UnsandboxedKernelManager, size_text


KERNEL_DIED_ERROR = "KernelDied"  # ename of the error put in the cell where the kernel died, and after it
last_failure: Fact | None = None  # why this process's last notebook could not run at all (set by SandboxedExecute)


def cell_key(cell) -> str:
    """What ties a cell to the reference run's timing: its nbgrader grade id, else a hash of its source."""
    grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
    return grade_id if isinstance(grade_id, str) else "source:" + hashlib.sha256(cell.source.encode()).hexdigest()[:16]


class SandboxedExecute(Execute):
    """nbgrader's Execute, with every kernel started in the course's sandbox (autograder.sandbox).

    nbgrader's Execute fixes its kernel manager class when it is created, so the sandbox cannot be
    chosen by configuration alone; this subclass does it. With ``sandbox`` switched off (``python -m autograder
    grade --unsafe-no-sandbox``) each kernel still talks over unix sockets of its own (``UnsandboxedKernelManager``).

    When the kernel dies (a crash, ``os._exit``, a limit), nbgrader would discard the whole
    notebook; here the cell where it died and every later code cell get a ``KernelDied`` error
    instead, so the tests that ran before still count and the ones after score nothing.

    Output is kept up to ``max_output_bytes`` per notebook, as it arrives, so that a flood neither
    fills the grader's memory nor the autograded notebook; errors are always kept (shortened
    past the limit).

    What it sees is noted in the notebook's findings (``autograder.findings``): where the kernel
    died and why, each cell stopped at the timeout, where output was dropped, each error that shows
    a sandbox limit.

    The hidden tests of a test cell are not sent to the kernel: the judge (``autograder.judge``)
    runs them here and asks the kernel only for the student's answers on secret inputs. The cell's
    visible tests run in the kernel as the student saw them; the cell passes only if both pass.

    Time limits per cell: with ``reference_seconds`` (each cell's time in the reference run, the
    canary, by ``cell_key``), a cell may take ``time_multiple`` times its reference time, at least
    ``time_floor`` seconds, at most ``timeout``; a cell the reference did not run gets the limit of
    the slowest reference cell. Once a cell of the notebook has been stopped, later cells get
    ``time_multiple_after_stop`` times their reference time, at least ``time_floor_after_stop``: code that
    runs away again (the same endless loop, called by every later test) then costs little, while a
    correct cell still has a margin over its reference time. Each cell's time (its visible part and hidden checks) is noted in the
    autograded notebook, where the next canary reads it.
    """

    sandbox = Bool(True, help="Start each kernel in the bubblewrap sandbox.").tag(config=True)
    judge = Bool(True, help="Run hidden tests in the grader (autograder.judge) rather than in the kernel.").tag(
        config=True)
    max_output_bytes = Integer(20 * MiB, help="Output kept of a whole notebook (bytes); later output is "
                               "dropped, but for errors, which decide grades.").tag(config=True)
    max_answer_bytes = Integer(MAX_ANSWER, help="Largest answer (bytes) the judge takes from the kernel; a larger "
                               "one fails its check without entering the grader's memory.").tag(config=True)
    seed = Integer(None, allow_none=True, help="Seed of the hidden tests' random inputs (default: a new secret "
                   "one per submission; set it only to reproduce a grading).").tag(config=True)
    time_multiple = Float(10.0, help="A cell may take this many times its time in the reference run.").tag(config=True)
    time_floor = Float(5.0, help="Time limit (s) of a cell that took (almost) no time in the reference run."
                       ).tag(config=True)
    time_multiple_after_stop = Float(3.0, help="Once a cell of the notebook was stopped, later cells may take this "
                                     "many times their reference time (at least time_floor_after_stop).").tag(config=True)
    time_floor_after_stop = Float(1.0, help="Once a cell of the notebook was stopped, the shortest time limit (s) of "
                                  "later cells.").tag(config=True)
    both_ways = Bool(False, help="Run the checks that try the student's own helpers first both ways, both to pass "
                     "(the canary: its cell times then cover the longer way).").tag(config=True)
    reference_seconds = Dict(help="Each cell's time in the reference run (s), by cell_key; empty: every cell "
                             "gets `timeout`. Filled in by `grade` from the canary.").tag(config=True)
    iopub_timeout = Integer(30, help="How long (s) to wait, after a cell's reply, for its last outputs; nbclient's "
                            "4 s failed whole notebooks on a loaded server.").tag(config=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.kernel_manager_class = SandboxedKernelManager if self.sandbox else UnsandboxedKernelManager

    def preprocess(self, nb, resources=None, km=None):
        self.death = None  # why the kernel died, once it has (or stopped answering)
        self.ended = "the kernel had died"  # why the cells after that were not run
        self.judge_client = None  # the judge's own client of the kernel, once it has started
        self.secret = secrets.randbits(63) if self.seed is None else self.seed  # of the hidden tests' inputs
        self.output_bytes, self.output_dropped = 0, False  # output so far, and whether some was dropped
        self.stopped_once = False  # a cell of this notebook was stopped at its time limit
        self.start_timed_out = False  # the kernel did not start within ``startup_timeout``
        self.starting_km = None  # the kernel's manager while it starts (nbclient forgets it if the start fails)
        global last_failure
        last_failure = None
        forget(nb)
        try:
            return super().preprocess(nb, resources, km)
        except BaseException:
            kind = getattr(self.km or self.starting_km, "exit_kind", None)
            last_failure = Fact(kind) if kind else Fact.STARTUP_TIMEOUT if self.start_timed_out else None
            raise
        finally:
            if self.judge_client is not None:
                stop_judge_client(self.judge_client)

    def cell_limit(self, cell, after_stop: bool | None = None) -> float:
        """The time limit (s) of a cell, its hidden checks included; ``after_stop``: as once a cell was stopped (by
        default: if one was)."""
        after_stop = self.stopped_once if after_stop is None else after_stop
        if not self.reference_seconds:
            return min(self.time_floor, self.timeout) if after_stop else self.timeout
        reference = self.reference_seconds.get(cell_key(cell), max(self.reference_seconds.values()))
        if after_stop:
            return min(self.timeout, max(self.time_floor_after_stop, self.time_multiple_after_stop * reference))
        return min(self.timeout, max(self.time_floor, self.time_multiple * reference))

    def _get_timeout(self, cell):
        return self.limit if cell is not None else super()._get_timeout(cell)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code" or self.death is not None:
            return self._run_cell(cell, resources, index)
        start, self.limit, self.timed_out = time.monotonic(), self.cell_limit(cell), False
        self.cell_deadline = start + self.limit
        visible, hidden = split_hidden(cell.source)
        if self.judge and hidden is not None and utils.is_grade(cell) and not utils.is_solution(cell):
            result = self._judged_cell(cell, resources, index, visible, hidden)
        else:
            result = self._run_cell(cell, resources, index)
        note_time(self.nb, cell_key(cell), time.monotonic() - start)
        return result

    def _judged_cell(self, cell, resources, index, visible, hidden):
        """Run the visible part in the kernel, then the hidden checks in the judge; keep one verdict."""
        calls = parse_hidden(hidden)
        source = cell.source
        cell.source = visible
        try:
            if visible.strip():
                self._run_cell(cell, resources, index)
            else:
                cell.outputs = []
        finally:
            cell.source = source
        for output in cell.outputs:  # only the judge decides the points: no partial credit from the kernel
            if output.get("output_type") == "execute_result":
                output["output_type"] = "display_data"
                output.pop("execution_count", None)
        if self.death is None and not self.timed_out:
            failure = self._judge(calls, cell)
            if failure and time.monotonic() >= self.cell_deadline:
                self._stopped(index)
            if failure:
                cell.outputs.append(error_output(*failure))
        return cell, self.resources

    async def async_start_new_kernel_client(self):
        self.starting_km, started = self.km, time.monotonic()
        try:
            kc = await super().async_start_new_kernel_client()
        except RuntimeError:  # it did not become ready, and nbclient shut it down: too slow to start, or it died
            self.start_timed_out = time.monotonic() - started >= self.startup_timeout
            raise
        if self.judge:  # the judge's own client connects now, long before the first test: the kernel's first
            # question would be lost if its stdin channel were still connecting (ZMQ routes only to known peers)
            self.judge_client = judge_client(self.km.get_connection_info(), self.max_answer_bytes)
        return kc

    start_new_kernel_client = run_sync(async_start_new_kernel_client)  # nbclient's sync twin wraps its own

    def _judge(self, calls, cell):
        """Run hidden checks against this notebook's kernel until the cell's deadline; None if they pass,
        else (error name, message). A second try, with reference helpers, after a first try on the student's own
        ran out of its time (an endless loop in a helper) gets the cell's whole limit, as if no cell had been
        stopped: what it runs of the student's is the checked function alone."""
        seconds = max(0.0, self.cell_deadline - time.monotonic())
        with KernelSession(self.judge_client, self.cell_deadline, lambda: run_sync(ensure_async)(
                self.km.is_alive()), lambda: run_sync(ensure_async)(self.km.interrupt_kernel()),
                self.max_answer_bytes, second_try=self.cell_limit(cell, after_stop=False)) as session, \
                both_ways() if self.both_ways else contextlib.nullcontext():
            failure = run_checks(calls, session, self.secret, seconds)
            self.cell_deadline = session.deadline  # later if a second try was given its time
            return failure

    def _stopped(self, index):
        """Note that cell ``index`` was stopped at its time limit; later cells get shorter limits."""
        note(self.nb, index, Fact.CELL_TIMEOUT,
             f"was stopped at its time limit ({self.limit:.3g} s)")
        self.stopped_once = True

    def output(self, outs, msg, display_id, cell_index):
        kept = self._within_budget(msg, cell_index, outs)
        if msg["msg_type"] == "error":  # errors decide grades: always kept, shortened past the budget
            if not kept:
                content = msg["content"]
                content["evalue"] = content.get("evalue", "")[:1000]
                content["traceback"] = [error_line(content)]
            return super().output(outs, msg, display_id, cell_index)
        return super().output(outs, msg, display_id, cell_index) if kept else None

    def _update_display_id(self, display_id, msg):
        if self._within_budget(msg, None, None):
            super()._update_display_id(display_id, msg)

    def _within_budget(self, msg, cell_index, outs) -> bool:
        """Count an output against the notebook's budget; where the first is dropped, say so in its cell."""
        self.output_bytes += output_bytes(msg["content"])
        if self.output_bytes <= self.max_output_bytes:
            return True
        if outs is not None and not self.output_dropped:
            self.output_dropped = True
            limit = size_text(self.max_output_bytes)
            note(self.nb, cell_index, Fact.OUTPUT_BUDGET,
                 f"passed the notebook's output limit of {limit} (later output was dropped)")
            outs.append(new_output("stream", name="stdout", text=f"\n[output dropped: the notebook passed its output "
                                   f"limit of {limit}; errors are still shown]\n"))
        return False

    async def _async_handle_timeout(self, timeout, cell=None):
        self.timed_out = True
        return await super()._async_handle_timeout(timeout, cell)

    def _run_cell(self, cell, resources, index):
        if self.death is None:
            self.timed_out = False
            try:
                super().preprocess_cell(cell, resources, index)
            except DeadKernelError:
                self.death = getattr(self.km, "exit_reason", None) or "it crashed or exited"
                self.log.error("The notebook's kernel died in cell %d: %s.", index, self.death)
                note(self.nb, index, getattr(self.km, "exit_kind", None) or Fact.EXIT, self.death)
                cell.outputs.append(error_output(KERNEL_DIED_ERROR, f"the kernel died here: {self.death}"))
            except CellTimeoutError:  # it did not end after its interrupt (caught or ignored): no later cell can run
                self._did_not_stop(cell, index)
            else:
                self._note_findings(cell, index)
        elif cell.cell_type == "code":
            cell.outputs = [error_output(KERNEL_DIED_ERROR, f"not run: {self.ended}")]
        return cell, self.resources

    def _did_not_stop(self, cell, index):
        """Cell ``index`` was interrupted at its time limit (or had replied) and its kernel still had not said it was
        done ``iopub_timeout`` s later: it keeps the kernel, so later cells are not run; what ran before still
        counts, as when a kernel dies."""
        self.death = "a cell that did not stop"
        self.ended = "the kernel was stopped after an earlier cell that did not stop at its time limit"
        if self.timed_out:
            self._stopped(index)
            what = f"was stopped at its time limit ({self.limit:.3g} s) and did not stop (the interrupt was ignored)"
        else:
            note(self.nb, index, Fact.CELL_TIMEOUT, f"went on sending output for over {self.iopub_timeout} s")
            what = f"went on sending output for over {self.iopub_timeout} s after it ended"
        self.log.error("Cell %d of the notebook %s: the later cells are not run.", index, what)
        cell.outputs.append(error_output("CellTimeoutError", f"this cell {what}, so the later cells were not run"))

    def _note_findings(self, cell, index):
        if self.timed_out:
            self._stopped(index)
        limits = self.km if self.sandbox else None
        for output in cell.get("outputs", []):
            hit = limit_hit(output, limits)
            if hit:
                note(self.nb, index, *hit)


def output_bytes(content: dict) -> int:
    """The size of an output message's text, data or error (roughly its size in the notebook)."""
    data = content.get("data", {})
    return (len(content.get("text", "")) + len(content.get("evalue", "")) + sum(map(len, content.get("traceback", [])))
            + sum(len(value) if isinstance(value, str) else len(json.dumps(value)) for value in data.values()))


class NotedLimitOutput(LimitOutput):
    """nbgrader's LimitOutput, noting in the findings each cell whose printed output it cut."""

    def preprocess(self, nb, resources):
        self.cut = []
        nb, resources = super().preprocess(nb, resources)
        for index in self.cut:
            note(nb, index, Fact.OUTPUT_LINES, f"printed more than the limit of {self.max_lines} lines (the rest was cut)")
        return nb, resources

    def preprocess_cell(self, cell, resources, index):
        before = [output.get("text") for output in cell.get("outputs", [])]
        cell, resources = super().preprocess_cell(cell, resources, index)
        if before != [output.get("text") for output in cell.get("outputs", [])]:
            self.cut.append(index)
        return cell, resources


class DropBrokenMetadata(NbGraderPreprocessor):
    """Remove the ``nbgrader`` metadata of every cell whose metadata is not a dict with a grade id (``null``, say, as an
    editor may save it): nbgrader's own preprocessors fail the whole notebook on it. The cell is then an ordinary
    cell, or one whose metadata were lost, which ``PutBackTests`` recognises."""

    def preprocess_cell(self, cell, resources, index):
        if "nbgrader" in cell.get("metadata", {}) and not nbgrader_metadata(cell):
            del cell.metadata["nbgrader"]
        return cell, resources


class DropDuplicateIds(DeduplicateIds):
    """nbgrader's DeduplicateIds, leaving no empty ``nbgrader`` metadata behind.

    nbgrader keeps the last cell of a duplicated grade id and sets the others' metadata to ``{}``,
    which then crashes its own OverwriteCells (``KeyError: 'grade_id'``) and fails the whole
    submission. Removing the key makes the copies ordinary cells, as intended.
    """

    def preprocess_cell(self, cell, resources, index):
        cell, resources = super().preprocess_cell(cell, resources, index)
        if cell.metadata.get("nbgrader") == {}:
            del cell.metadata["nbgrader"]
        return cell, resources


class PutBackTests(OverwriteCells):
    """nbgrader's OverwriteCells, putting every deleted test cell back in its place, whatever else is gone.

    nbgrader puts a deleted test cell after the nbgrader cell before it in the gradebook (which keeps no
    order), and fails the whole submission (``KeyError``) when that cell is gone too: an exercise deleted
    with its test, or a notebook whose nbgrader metadata an editor dropped. Here the order is the released
    notebook's, and its cells are found by grade id, or else by their unchanged text. A deleted test takes
    the place of its own text, if a cell without metadata still holds it; else, between the cells of the
    release around it that are still there, it goes after the last code cell (the student's answer,
    rewritten in a new cell), or after the earlier one if there is no code cell between them.

    Before nbgrader compares anything, every cell's line endings are written "\\n" (an editor on Windows may save
    "\\r\\n" inside cell texts, which Python and Jupyter read the same), and each answer cell whose nbgrader
    metadata the notebook lost (Google Colab drops them) and whose place is clear gets the release's metadata
    back (``findings.lost_answers``): it is then graded as the student's answer, instead of an empty copy being
    added next to it. The empty copy of a written answer whose place is not clear tells the grader to look for
    the answer nearby.
    """

    UNPLACED_NOTE = ("The student's answer may be in a cell near this one: the notebook lost the nbgrader metadata of "
                     "its cells (saved by another editor?), and several cells here could be the answer. Look for it "
                     "and grade it here.\n\n")

    FLAGS = ("grade", "solution", "locked", "task")  # what nbgrader's checksum of a cell covers, with its text

    def preprocess(self, nb, resources):
        with_unix_newlines(nb)
        self.release = self._release(resources["nbgrader"]["assignment"], resources["nbgrader"]["notebook"])
        found, self.unplaced = lost_answers(self.release, nb) if self.release is not None else ({}, [])
        for index, meta in found.items():
            nb.cells[index].metadata["nbgrader"] = meta
        self.flags = {meta["grade_id"]: {key: meta[key] for key in self.FLAGS if key in meta}
                      for meta in map(nbgrader_metadata, getattr(self.release, "cells", [])) if meta}
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, index):
        """nbgrader's, with the release's flags put back first (a test the student's editor made ungraded fails
        nbgrader's checksum, and the whole notebook), and a cell of a grade id nbgrader does not know (pasted from
        another lab) left an ordinary cell (nbgrader drops its id only, then fails on the grade cell without one)."""
        released = self.flags.get(nbgrader_metadata(cell).get("grade_id"))
        if released:
            cell.metadata["nbgrader"].update(released)
        cell, resources = super().preprocess_cell(cell, resources, index)
        if "nbgrader" in cell.metadata and "grade_id" not in cell.metadata["nbgrader"]:
            del cell.metadata["nbgrader"]
        return cell, resources

    def add_missing_grade_cells(self, nb, resources):
        stored = self.gradebook.find_notebook(self.notebook_id, self.assignment_id)
        present = {nbgrader_metadata(cell).get("grade_id") for cell in nb.cells}
        missing = [cell for cell in stored.grade_cells if cell.name not in present]
        if not missing:
            return nb, resources
        cells = {cell.name: cell for cell in stored.source_cells}
        answers = {cell.name for cell in stored.solution_cells}
        released = self._released()
        known = {name for name, _ in released}
        released += [(name, cell.source) for name, cell in cells.items() if name not in known]
        names = [name for name, _ in released]
        for test in sorted(missing, key=lambda cell: names.index(cell.name)):
            self.log.warning("Missing grade cell %s encountered, adding to notebook", test.name)
            restored = self.missing_cell_transform(cells[test.name], test.max_score, is_solution=test.name in answers)
            if test.name in self.unplaced:  # after nbgrader's own notification, before the released text
                notification = self.missing_cell_notification.format(cell_id=test.name)
                restored.source = notification + self.UNPLACED_NOTE + restored.source.removeprefix(notification)
            place = names.index(test.name)
            own_text = unmarked_copy(nb, released[place][1])
            if own_text is not None:
                nb.cells[own_text] = restored
                continue
            found_before = (_find(nb, *cell) for cell in reversed(released[:place]))
            found_after = (_find(nb, *cell) for cell in released[place + 1:])
            start = next((i for i in found_before if i is not None), -1)
            end = next((i for i in found_after if i is not None), len(nb.cells))
            code = [i for i in range(start + 1, end) if nb.cells[i].cell_type == "code"]
            nb.cells.insert((code[-1] if code else start) + 1, restored)
        return nb, resources

    def _released(self) -> list[tuple[str | None, str]]:
        """(grade id or None, text) of each cell of the released notebook, in order ([] if it cannot be read)."""
        return [(nbgrader_metadata(cell).get("grade_id"), cell.source) for cell in getattr(self.release, "cells", [])]

    def _release(self, assignment: str, notebook: str):
        """The released notebook (None if it cannot be read)."""
        coursedir = CourseDirectory(config=self.config)
        folder = coursedir.format_path(coursedir.release_directory, ".", assignment)
        try:
            return nbformat.read(Path(folder) / f"{notebook}.ipynb", as_version=4)
        except (OSError, ValueError):
            return None


def _find(nb, grade_id: str | None, text: str) -> int | None:
    """Where a cell of the release is in ``nb``: by its grade id, else by its unchanged text (None: gone)."""
    by_id = [i for i, cell in enumerate(nb.cells) if grade_id and nbgrader_metadata(cell).get("grade_id") == grade_id]
    return by_id[0] if by_id else unmarked_copy(nb, text)


class StderrToStdout(NbGraderPreprocessor):
    """Relabel every stderr stream output as stdout, keeping its text.

    nbgrader gives zero points to a test cell with anything on stderr, so a harmless warning
    or progress bar would cost a correct answer its points. Errors still count: they are
    ``error`` outputs, not streams.
    """

    def preprocess_cell(self, cell, resources, index):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream" and output.get("name") == "stderr":
                output["name"] = "stdout"
        return cell, resources


class CondenseTestErrors(NbGraderPreprocessor):
    """Reduce the traceback of every error in a test cell to its last line.

    A traceback of a failed test quotes the test's code, hidden tests included; the student
    only needs the message (``AssertionError: dW1 has the right shape but wrong values ...``).
    """

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and utils.is_grade(cell) and not utils.is_solution(cell):
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    output["traceback"] = [error_line(output)]
        return cell, resources


def error_output(ename: str, evalue: str):
    """An error output written by the grader, its traceback one line: ``"ename: evalue"``."""
    return new_output("error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])


def error_line(output) -> str:
    """``"AssertionError: message"`` for an error output (its name alone if it has no message)."""
    evalue = output.get("evalue", "")
    return f"{output.get('ename', 'Error')}: {evalue}" if evalue else output.get("ename", "Error")
