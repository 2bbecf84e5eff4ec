"""The grading workers' server: workers fork from a process that has imported the grader once.

Importing the grader (nbgrader) takes seconds; ``start_worker_server`` lets the server do it while the
calling process does other work (imports the grader too, probes the sandbox, prepares the canary).
"""
import contextlib
import functools
import multiprocessing
import multiprocessing.forkserver
import multiprocessing.resource_tracker
import signal

STOP_SIGNALS = (signal.SIGHUP, signal.SIGINT)


@functools.cache
def worker_context():
    """The multiprocessing context of grading workers: forked from a server that has imported the grader."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["autograder.grade"])
    return context


def start_worker_server() -> None:
    """Start the workers' server now (it imports the grader in the background); later pools use it.

    The server and multiprocessing's resource tracker never act on SIGHUP or SIGINT: when a terminal closes or
    Ctrl-C is pressed, ``grade`` stops its workers itself and says so (in a log the output went to), instead of the
    tracker dying noisily, or the server with a traceback while it imports the grader. Both signals are blocked,
    not ignored, while the server starts: the server inherits the block (it ignores Ctrl-C itself once it runs;
    ``unblock_stop_signals`` lets its workers take signals again), and one that reaches this process meanwhile
    waits, and is acted on as soon as the server has started, instead of being lost.
    """
    worker_context()
    with _stop_signals_held():
        multiprocessing.resource_tracker.ensure_running()  # it lets SIGINT through once started: a Ctrl-C
    with _stop_signals_held():                             # meanwhile is acted on here
        multiprocessing.forkserver.ensure_running()


@contextlib.contextmanager
def _stop_signals_held():
    """Block SIGHUP and SIGINT (processes started meanwhile inherit the block); then let them through again."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def unblock_stop_signals() -> None:
    """In a worker, once it has chosen what SIGHUP and SIGINT do: take them again, as its kernels must."""
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
