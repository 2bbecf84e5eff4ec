"""The grading workers' server: workers fork from a process that has imported the grader once.

Importing the grader (nbgrader) takes seconds; ``start_worker_server`` lets the server do it while the
calling process does other work (imports the grader too, probes the sandbox, prepares the canary).
"""
import functools
import multiprocessing
import multiprocessing.forkserver
import signal
import threading


@functools.cache
def worker_context():
    """The multiprocessing context of grading workers: forked from a server that has imported the grader."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["autograder.grade"])
    return context


def start_worker_server() -> None:
    """Start the workers' server now (it imports the grader in the background); later pools use it.

    The server and multiprocessing's resource tracker ignore SIGHUP and SIGINT: when a terminal closes or Ctrl-C
    is pressed, ``grade`` stops its workers itself and says so (in a log the output went to), instead of the
    tracker dying noisily, or the server with a traceback while it imports the grader (the server ignores Ctrl-C only
    once it has).
    """
    worker_context()
    if threading.current_thread() is not threading.main_thread():
        multiprocessing.forkserver.ensure_running()
        return
    ignored = (signal.SIGHUP, signal.SIGINT)
    previous = [signal.signal(signum, signal.SIG_IGN) for signum in ignored]  # an ignored signal stays ignored in a
    try:                                                                         # started program
        multiprocessing.forkserver.ensure_running()
    finally:
        for signum, handler in zip(ignored, previous):
            signal.signal(signum, handler)
