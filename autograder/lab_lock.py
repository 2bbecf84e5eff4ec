"""One command at a time on a lab of a course: ``grade`` (or its shards), ``release`` and ``feedback``.

A second ``grade`` of a lab that is being graded would remake the canary's course under the first one's
canary and grade the same submissions at the same moment; a ``release`` would change the lab's tests under
the grading; ``feedback`` would send students pages of grades that are about to change. Locks are ``flock``
locks on files in ``.autograder/locks/``: the system drops them with the process however it ends, and they
hold between machines that share the course folder.
"""
from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import socket
import sys
import time
from pathlib import Path

from .course import Course, CourseError

TRIES = 10  # a held lock is tried this many times, 20 ms apart, before the command is refused
NO_LOCKS = {errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS}  # a filesystem without flock (NFS without its lock service)


@contextlib.contextmanager
def lab_lock(course: Course, lab: str, command: str, shard: tuple[int, int] | None = None):
    """Hold ``lab`` for ``command`` ("grade", "release" or "feedback"); raises CourseError, changing nothing, if
    it is held.

    Shards (``grade --shard K/N``) share the lab's lock and each holds its share's; anything else holds the
    lab's lock alone.
    """
    folder = course.root / ".autograder" / "locks"
    folder.mkdir(parents=True, exist_ok=True)
    share = folder / f"{lab}.shard-{shard[0]}-of-{shard[1]}.lock" if shard else None
    held = []
    try:
        lab_file = _take(folder / f"{lab}.lock", fcntl.LOCK_SH if shard else fcntl.LOCK_EX)
        if lab_file is None:
            raise CourseError(_busy(lab, folder / f"{lab}.lock", command))
        held.append(lab_file)
        own = _take(share, fcntl.LOCK_EX) if share else lab_file
        if own is None:
            raise CourseError(_busy(lab, share, command, shard))
        if own is not lab_file:
            held.append(own)
        lab_file.truncate(0)  # who holds the lab: named by a holder alone, left blank by shards (they share it)
        own.truncate(0)
        own.write(f"`{command}{' --shard %d/%d' % shard if shard else ''}`, process {os.getpid()} on "
                  f"{socket.gethostname()}, since {time.strftime('%Y-%m-%d %H:%M:%S %Z')}")
        own.flush()
        yield
        own.truncate(0)
    finally:
        for lock in reversed(held):
            lock.close()  # closing the file releases its lock


def working_on(course: Course, lab: str) -> list[str]:
    """Who works on ``lab`` now ("`grade`, process N on HOST, since ..."), one entry per holder; empty if no one.

    Only a lock file naming a holder is tried, for an instant (a killed holder's name stays, its lock does not);
    a command starting at that instant waits for it (``_take``).
    """
    folder = course.root / ".autograder" / "locks"
    holders = []
    for path in [folder / f"{lab}.lock", *sorted(folder.glob(f"{lab}.shard-*.lock"))]:
        if not path.is_file():
            continue
        with open(path, encoding="utf-8") as lock:
            holder = lock.read().strip()
            if not holder:
                continue
            try:
                fcntl.flock(lock, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                holders.append(holder)
            except OSError as error:  # no locks here: whether the holder still runs cannot be known
                if error.errno not in NO_LOCKS:
                    raise
    return holders


def _take(path: Path, mode: int):
    """``path`` opened and locked (``mode``); None if another process holds it (tried for a moment, so that a
    ``working_on`` look at the same instant does not count)."""
    lock = open(path, "a+", encoding="utf-8")
    for attempt in range(TRIES):
        try:
            fcntl.flock(lock, mode | fcntl.LOCK_NB)
            return lock
        except BlockingIOError:
            if attempt < TRIES - 1:
                time.sleep(0.02)
        except OSError as error:
            if error.errno not in NO_LOCKS:
                lock.close()
                raise
            print(f"warning: the course folder's filesystem has no file locks ({os.strerror(error.errno)}: {path}), "
                  "so nothing keeps another command from working on this lab at the same time: run one command at "
                  "a time on it, or move the course to a local disk.", file=sys.stderr, flush=True)
            return lock
    lock.close()
    return None


def _busy(lab: str, path: Path, command: str, shard: tuple[int, int] | None = None) -> str:
    holder = (path.read_text(encoding="utf-8").strip() if path.is_file() else "") or "`grade --shard`"
    if shard:
        busy = f"Share {shard[0]}/{shard[1]} of {lab} is already being graded ({holder})."
    else:
        busy = f"Another command is working on {lab} in this course ({holder})."
    if command == "release":
        return f"{busy} Releasing it now could change its tests while that command uses them: wait until it ends, " \
               "then release again."
    if command == "feedback":
        return f"{busy} Feedback written now could show grades that are about to change: wait until it ends, " \
               "then run feedback again."
    return (f"{busy} Grading it at the same time would get in that command's way (the same submissions graded "
            "twice, tests or pages changed under it): wait until it ends (or stop it), then run grade again. To "
            "grade a lab on several machines at once, start one shard on each: grade LAB --shard K/N.")
