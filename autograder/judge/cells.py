"""Hidden tests of a test cell, run by the judge in the grader's process instead of the student's kernel.

A hidden region (between ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS``) is a contract of
this form, and nothing else:

    from autograder.hidden import lab1 as hidden_lab1
    hidden_lab1.check_forward_propagation(forward_propagation)

imports of modules of ``autograder.hidden`` and calls of their ``check_*`` functions, whose arguments
are names of the notebook's globals or Python literals. The judge never executes the region's text:
it reads it, fetches the named globals from the kernel (``remote.KernelSession``) and calls the check
here, with a secret seed for its random inputs (``student.secret_seed``). The checks are found by name
only: the judge imports nothing of ``autograder.hidden`` but the module a region names. The source notebook still runs the same region as
ordinary code when an instructor runs it in Jupyter.
"""
import ast
import contextlib
import difflib
import importlib
import io
import signal
import threading
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

from ..leaks import REGIONS, split_regions
from .remote import KernelUnavailable
from .student import secret_seed

HIDDEN = "BEGIN HIDDEN TESTS"  # nbgrader's delimiter of a hidden region
PACKAGE = "autograder.hidden"
GRACE_SECONDS = 10  # after the deadline, the judge's own work is stopped too


class HiddenTestFormatError(ValueError):
    """A hidden region that is not in the judge's format (an instructor's error, found at release)."""


class BrokenCheckError(Exception):
    """A check failed on its own, whatever the student's answer (a name it misspells, a check missing from its module):
    the instructor's error, which must not be put down to the student. It stops the grading of the notebook."""


OWN_BUGS = (NameError, ImportError, ModuleNotFoundError)  # not UnboundLocalError: an empty answer may cause it


@dataclass(frozen=True)
class CheckCall:
    module: str  # e.g. "lab1", a module of autograder.hidden
    function: str  # e.g. "check_forward_propagation"
    args: tuple  # ("name", global name) or ("value", literal), in order


def split_hidden(source):
    """(visible code, hidden region or None) of a test cell's source."""
    if HIDDEN not in source:
        return source, None
    visible, hidden = split_regions(source, (HIDDEN,))
    return "\n".join(visible), "\n".join(hidden)


def parse_hidden(code):
    """The checks a hidden region asks for, as a list of CheckCall; HiddenTestFormatError if it is not in the format."""
    try:
        tree = ast.parse(code)
    except SyntaxError as error:
        raise HiddenTestFormatError(f"the hidden region is not valid Python: {error}") from None
    aliases, calls = {}, []
    for statement in tree.body:
        where = f"line {statement.lineno} of the hidden region"
        if isinstance(statement, ast.ImportFrom) and statement.module == PACKAGE and statement.level == 0:
            for alias in statement.names:
                aliases[alias.asname or alias.name] = alias.name
            continue
        call = statement.value if isinstance(statement, ast.Expr) else None
        if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
                and isinstance(call.func.value, ast.Name) and call.func.value.id in aliases
                and call.func.attr.startswith("check_") and not call.keywords):
            raise HiddenTestFormatError(f"{where} should be `from {PACKAGE} import labN as alias` or "
                                        "`alias.check_<name>(<notebook names or literals>)`")
        args = []
        for arg in call.args:
            if isinstance(arg, ast.Name):
                args.append(("name", arg.id))
            else:
                try:
                    args.append(("value", ast.literal_eval(arg)))
                except ValueError:
                    raise HiddenTestFormatError(f"{where}: arguments are notebook names or literals") from None
        calls.append(CheckCall(aliases[call.func.value.id], call.func.attr, tuple(args)))
    if not calls:
        raise HiddenTestFormatError("the hidden region calls no check")
    return calls


def load_check(call):
    """The check function a CheckCall names."""
    module = importlib.import_module(f"{PACKAGE}.{call.module}")
    check = getattr(module, call.function, None)
    if not callable(check):
        checks = [name[6:] for name in dir(module) if name.startswith("check_") and callable(getattr(module, name))]
        guess = difflib.get_close_matches(call.function[6:], checks, n=1)  # without "check_", which all share
        raise HiddenTestFormatError(f"{PACKAGE}.{call.module} has no {call.function}: add it to "
                                    f"autograder/hidden/{call.module}.py, or correct the name in the test cell"
                                    + (f" (did you mean check_{guess[0]}?)" if guess else ""))
    return check


@contextlib.contextmanager
def _stopped_at(seconds, session):
    """Stop the judge's own work (a reference function the kernel asked for) ``seconds`` from now.

    Only possible in the main thread; elsewhere the kernel's deadline alone applies.
    """
    if threading.current_thread() is not threading.main_thread() or seconds <= 0:
        yield
        return

    def stop(signum, frame):
        left = session.deadline + GRACE_SECONDS - time.monotonic()
        if left > 0:  # the deadline moved on since (``remote.first_try``)
            signal.setitimer(signal.ITIMER_REAL, left)
            return
        session.broken = "the tests ran out of time"
        raise KernelUnavailable(session.broken)

    previous = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def run_checks(calls, session, seed, seconds):
    """Run the checks against the kernel of ``session``; return None if all pass, else (error name, message).

    seed: the secret seed of the random test inputs; seconds: the time left for the cell.
    """
    with _stopped_at(seconds + GRACE_SECONDS, session), secret_seed(seed), warnings.catch_warnings(), \
            contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")
        try:
            for call in calls:
                try:
                    check = load_check(call)
                except (HiddenTestFormatError, ImportError) as error:
                    raise BrokenCheckError(
                        f"a hidden test calls {PACKAGE}.{call.module}.{call.function}, which cannot be loaded: {error}. "
                        f"Fix autograder/hidden/{call.module}.py (or the test cell, then release again), then grade "
                        "again.") from error
                args = []
                for kind, value in call.args:
                    try:
                        args.append(session.lookup(value) if kind == "name" else value)
                    except NameError:
                        raise AssertionError(f"{value} is not defined: run the cell that defines it, and keep "
                                             "the name the exercise gives.") from None
                check(*args)
        except AssertionError as failure:
            return "AssertionError", str(failure)
        except KernelUnavailable as failure:
            text = str(failure)[0].upper() + str(failure)[1:]
            return "KernelUnavailable", text if text.endswith((".", "?", "!")) else text + "."
        except BrokenCheckError:
            raise
        except Exception as error:  # a value so odd that the check itself failed on it, or a bug of the check's
            where = _own_bug(error)
            if where:
                raise BrokenCheckError(
                    f"{PACKAGE}.{call.module}.{call.function} failed on its own ({where}): {type(error).__name__}: "
                    f"{str(error)[:300]}. That is an error of the check, not of the student's code: fix it, then grade "
                    "again (a fixed check regrades).") from error
            return "AssertionError", (f"the tests could not check your code: it led to {type(error).__name__}: "
                                      f"{str(error)[:300]}. Make sure your functions return what the exercise asks.")
    return None


def _own_bug(error):
    """Where in the grader's code a check made an error that no answer of a student's can cause (``OWN_BUGS``; those
    raised in the kernel come back as stand-ins of other classes), as "autograder/...py, line N"; else None."""
    if type(error) not in OWN_BUGS:
        return None
    traceback = error.__traceback__
    while traceback.tb_next:
        traceback = traceback.tb_next
    path, package = Path(traceback.tb_frame.f_code.co_filename), Path(__file__).parents[1]
    return f"{path.relative_to(package.parent)}, line {traceback.tb_lineno}" if path.is_relative_to(package) else None


def format_problems(nb):
    """Why the judge could not grade the test cells of a source notebook (empty if it can grade them all).

    Every automatically graded test cell needs a hidden region in the format above: a cell without one
    would be decided by the kernel alone, which the student's code controls.
    """
    problems = []
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.cell_type != "code" or not meta.get("grade") or meta.get("solution"):
            continue
        name = meta.get("grade_id", "?")
        try:
            _, hidden = split_hidden(cell.source)
            if hidden is None:
                raise HiddenTestFormatError(f"it has no hidden region (### {HIDDEN} ... ### {REGIONS[HIDDEN]}) "
                                            f"calling a check of {PACKAGE}, so nothing outside the student's "
                                            "kernel would decide it")
            for call in parse_hidden(hidden):
                load_check(call)
        except (HiddenTestFormatError, ImportError) as error:
            problems.append(f"test cell {name}: {error}")
    return problems
