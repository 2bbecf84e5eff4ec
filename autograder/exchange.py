"""``nbgrader collect`` without following a student's links (``nbgrader_config.py`` sets it as the exchange's collect).

nbgrader's collect copies each submission out of the exchange's inbound folder with the instructor's rights,
following links. A student can still write to their inbound folder after ``nbgrader submit``: a link there to
the course's source notebook would be collected as the student's own notebook, solutions and all. Here a
submission is first copied into a private folder by a walk that never follows a link, even one made while it
runs; nbgrader's own copy (its ignore patterns and file size limit) then copies that. Links come back as links, so
``grade`` refuses the submission and names them; pipes and other special files are left out. A submission larger
than nbgrader's folder size limit is not collected, and the others are (nbgrader's own collect stops there).
"""
from __future__ import annotations

import errno
import os
import stat
import tempfile
from pathlib import Path

from nbgrader.exchange.default.collect import ExchangeCollect

OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK  # a link fails (ELOOP); a pipe opens without blocking


class TooLarge(Exception):
    """A submission holds more bytes than may be collected."""


class CollectWithoutFollowingLinks(ExchangeCollect):
    """nbgrader's exchange collect, with every link of a submission kept as a link (never followed)."""

    def do_copy(self, src, dest, log=None):
        with tempfile.TemporaryDirectory(prefix="collect-") as private:
            snapshot = Path(private) / "submission"
            try:
                links, left_out = copy_without_following(Path(src), snapshot, 1000 * self.coursedir.max_dir_size)
            except TooLarge as error:
                self.log.error("%s was not collected: %s. Look at it, or raise CourseDirectory.max_dir_size (in "
                               "kilobytes) in nbgrader_config.py and collect again.", src, error)
                return
            if links and links[0][0] == Path():  # the submission's folder is itself a link: kept in a folder
                links = [(Path(Path(src).name), links[0][1])]  # (a link in its place would stop `collect --update`)
                os.mkdir(dest)
                os.symlink(links[0][1], Path(dest) / links[0][0])
            else:
                super().do_copy(str(snapshot), dest, log)
                for path, target in links:
                    if (Path(dest) / path).parent.is_dir():  # not in a folder nbgrader's ignore patterns left out
                        os.symlink(target, Path(dest) / path)
        if links:
            self.log.warning("%s holds symbolic links, collected as links (not followed), so grading will refuse it "
                             "and name them: %s", src, ", ".join(f"{path} -> {target}" for path, target in links))
        if left_out:
            self.log.warning("%s: left out %s (not regular files or folders)", src, ", ".join(map(str, left_out)))


def copy_without_following(src: Path, dest: Path, max_bytes: int) -> tuple[list[tuple[Path, str]], list[Path]]:
    """Copy folder ``src`` to the new folder ``dest``: its regular files (content, mode, times) and folders (yours to
    write), each opened without following links, relative to its already opened folder, so that one swapped for a
    link while copying is not followed either. Raises TooLarge before its files' sizes add up to over ``max_bytes``.

    Returns (the links met, as (path relative to ``src``, target), not copied; the other entries left out).
    """
    links, left_out, total = [], [], 0

    def copy(dir_fd: int | None, name: str, relative: Path) -> None:
        nonlocal total
        try:
            fd = os.open(name, OPEN_FLAGS, dir_fd=dir_fd)
        except OSError as error:
            if error.errno != errno.ELOOP:
                left_out.append(relative)  # a socket, say, or gone
                return
            try:
                links.append((relative, os.readlink(name, dir_fd=dir_fd)))
            except OSError:  # swapped back since
                left_out.append(relative)
            return
        try:
            info = os.fstat(fd)
            target = dest / relative
            if stat.S_ISDIR(info.st_mode):
                target.mkdir()
                for entry in sorted(os.listdir(fd)):
                    copy(fd, entry, relative / entry)
            elif stat.S_ISREG(info.st_mode):
                total += info.st_size
                if total > max_bytes:
                    raise TooLarge(f"it holds more than {max_bytes:,} bytes")
                with open(target, "xb") as copied:
                    copy_bytes(fd, copied.fileno(), info.st_size)  # no more: the file may grow meanwhile
            else:
                left_out.append(relative)
                return
            # a folder stays writable by you, for the links put back into nbgrader's copy of it
            os.chmod(target, stat.S_IMODE(info.st_mode) | (stat.S_IRWXU if stat.S_ISDIR(info.st_mode) else 0))
            os.utime(target, ns=(info.st_atime_ns, info.st_mtime_ns))
        finally:
            os.close(fd)

    copy(None, str(src), Path())
    return links, left_out


def copy_bytes(source: int, destination: int, count: int) -> None:
    """Copy at most ``count`` bytes from the start of file descriptor ``source`` to ``destination``."""
    offset = 0
    while offset < count:
        sent = os.sendfile(destination, source, offset, count - offset)
        if not sent:  # the file shrank meanwhile
            break
        offset += sent
