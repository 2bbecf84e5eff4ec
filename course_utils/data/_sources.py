"""Where the data set loaders look for their files, and how they download them.

Shared by ``load_cifar10`` and ``load_mnist``. Lookup order (first match wins): the ``data_dir``
argument, the folder in the environment variable ``COURSE_DATA_DIR``, the user's cache folder
(``pooch.os_cache("course_utils")``, e.g. ``~/.cache/course_utils``), where downloads go.
"""

import contextlib
import functools
import hashlib
import os
from pathlib import Path
from typing import Callable, NamedTuple

ENV_VAR = "COURSE_DATA_DIR"


class Wanted(NamedTuple):
    """What a loader looks for, as its messages name it."""

    dataset: str  # the data set's name, e.g. "CIFAR-10"
    files: str  # the files it needs, e.g. "'cifar-10-python.tar.gz' (170 MB) or ..."
    lacks: Callable[[Path], str]  # what an existing folder lacks: "holds neither 'a' nor 'b'"
    download_call: str  # the call that downloads it, e.g. "load_cifar10(download=True)"
    url: str  # where that call downloads it from


def short_traceback_if_missing(load):
    """Decorate a loader so that its "data not found" errors (FileNotFoundError, ConnectionError) show one
    frame of the loader's instead of all the ones it passed through: in a notebook, the student's cell, one
    short frame and the message that says what to do. Other errors (a damaged file, say) keep their whole
    traceback, which shows where the file was read."""

    @functools.wraps(load)
    def loader(*args, **kwargs):
        try:
            return load(*args, **kwargs)
        except (FileNotFoundError, ConnectionError) as not_found:  # the data set is not where it was looked for
            raise not_found.with_traceback(None)  # the message below says what to do

    return loader


@contextlib.contextmanager
def staff_copy(path, data_error):
    """Within it, a ``data_error`` (a damaged or incomplete data set) about the files at ``path`` also says, when they
    lie in COURSE_DATA_DIR, that this is the course staff's copy: a student there can only send them the message."""
    try:
        yield
    except data_error as error:
        staged = os.environ.get(ENV_VAR)
        if staged and Path(path).resolve().is_relative_to(Path(staged).expanduser().resolve()):
            error.args = (f"{error} (This copy is in {ENV_VAR}, {staged}, which your course staff set up: if you "
                          "cannot change it, send them this message.)", *error.args[1:])
        raise


def cache_dir():
    """The user's cache folder for data sets, as a pathlib.Path (it may not exist yet)."""
    import pooch

    return Path(pooch.os_cache("course_utils"))


def search_dirs(data_dir):
    """[(description str, folder Path)] in lookup order; the cache folder is always last."""
    dirs = []
    if data_dir is not None:
        dirs.append(("data_dir argument", Path(data_dir).expanduser()))
    if os.environ.get(ENV_VAR):
        dirs.append((ENV_VAR, Path(os.environ[ENV_VAR]).expanduser()))
    dirs.append(("cache folder", cache_dir()))
    return dirs


def places_text(searched, lacks):
    """The folders of ``search_dirs`` as an indented list (str), one line each with its status:
    does not exist, not a folder, or exists but ``lacks(folder)`` (what it lacks, a str)."""
    return "\n".join(f"  - {description}: {folder} ({_status(folder, lacks)})"
                     for description, folder in searched)


def _status(folder, lacks):
    if folder.is_dir():
        return f"exists, but {lacks(folder)}"
    return "not a folder" if folder.exists() else "does not exist"


def not_found_message(wanted, searched):
    """The message of the FileNotFoundError of a loader called with download=False: the folders
    searched (``search_dirs``) and their status, the files needed (a ``Wanted``), what to do."""
    return (f"{wanted.dataset} not found. Looked for it in:\n{places_text(searched, wanted.lacks)}\n"
            f"It needs {wanted.files}.\n"
            f"To fix it, call {wanted.download_call} to download it from {wanted.url}, or, without "
            f"internet, {_how_to_stage(searched)}")


def download_failed_message(wanted, searched, urls, error):
    """The message of the ConnectionError raised when the data is in none of the folders
    ``searched`` and downloading it from ``urls`` failed with the requests exception ``error``."""
    return (f"Could not download {wanted.dataset}: {_likely_reason(error)}.\n"
            f"Looked for a copy in:\n{places_text(searched, wanted.lacks)}\n"
            f"It needs {wanted.files}.\n"
            f"To fix it, {_how_to_stage(searched)}\n"
            f"(Tried {', '.join(urls)}: {_detail(error)}.)")


def _how_to_stage(searched):
    return (f"ask the course staff where their pre-staged copy is, then either\n"
            f"  - set the environment variable {ENV_VAR} to the folder holding the copy before starting "
            f"Jupyter (after setting it, restart Jupyter and the kernel), or pass data_dir=<that folder>;\n"
            f"  - or copy it into the cache folder {searched[-1][1]}.")


def _network_errors():
    """The requests exceptions that mean the download failed on the way (no connection, timeout,
    HTTP error, connection broken off); any other one is a mistake in the request itself."""
    import requests

    errors = requests.exceptions
    return (errors.ConnectionError, errors.Timeout, errors.HTTPError, errors.ChunkedEncodingError)


def _likely_reason(error):
    import requests

    errors = requests.exceptions
    if isinstance(error, errors.HTTPError) and error.response is not None:
        return f"the server answered '{error.response.status_code} {error.response.reason}'"
    if isinstance(error, (errors.SSLError, errors.ProxyError)):
        return "a proxy or firewall between this computer and the server stopped it"
    if isinstance(error, errors.ChunkedEncodingError):
        return "the connection broke off during the download"
    return "this computer seems to have no internet connection (course servers often have none)"


def _detail(error):
    """The innermost error that ``error`` (requests, wrapping urllib3, wrapping a socket error)
    was made from, as a short str, e.g. "Name or service not known"."""
    seen = []
    while isinstance(error, BaseException) and not any(error is other for other in seen):
        seen.append(error)
        inner = [getattr(error, "reason", None), error.__cause__, error.__context__, *error.args]
        error = next((item for item in inner if isinstance(item, BaseException)), None)
    innermost = seen[-1]
    return getattr(innermost, "strerror", None) or f"{type(innermost).__name__}: {innermost}"


def md5(path):
    """MD5 checksum of the file at ``path``, as a lowercase hex str."""
    digest = hashlib.md5()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def retrieve(urls, md5_hex, fname, folder, progress):
    """Download ``folder/fname`` from the first of ``urls`` (a sequence of str) that serves a file
    with the MD5 checksum ``md5_hex``; a file already there with that checksum is kept.

    Returns the path (pathlib.Path). If every URL fails, raises the last error:
    ``requests.exceptions.RequestException`` (no connection, HTTP error) or ``ValueError``
    (pooch: the file downloaded does not have the expected checksum; it is not kept).
    """
    import pooch
    import requests

    for url in urls:
        try:
            return Path(pooch.retrieve(url, known_hash=f"md5:{md5_hex}", fname=fname,
                                       path=folder, progressbar=progress))
        except (requests.exceptions.RequestException, ValueError) as error:
            if getattr(error, "response", None) is not None:  # an HTTP error: free its connection
                error.response.close()
            last_error = error
    raise last_error


def fetch(urls, md5_hex, fname, folder, progress, *, what, stage, data_error, wanted, searched):
    """``retrieve``, with errors that say what to do: ConnectionError when the download fails on the
    way (no connection, timeout, HTTP error; its message by ``download_failed_message``, raised from
    None: a notebook shows no chain of library tracebacks, the original error stays in its
    ``__context__``), ``data_error`` (a ValueError subclass) when the file downloaded fails its MD5
    check. Any other error (a malformed request, a bug) keeps its traceback.

    what: the file, as the messages name it; stage: what to copy into a folder instead of downloading;
    wanted: the ``Wanted`` of the loader; searched: the folders it searched (``search_dirs``).
    """
    import requests

    try:
        return retrieve(urls, md5_hex, fname, folder, progress)
    except _network_errors() as error:
        message = download_failed_message(wanted, searched, urls, error)
        raise ConnectionError(message) from None
    except requests.exceptions.RequestException as error:  # a malformed request: show the cause
        raise ConnectionError(
            f"Could not download {what} from {' or '.join(urls)} ({type(error).__name__}: {error}). "
            f"Is there an internet connection? Without one, copy {stage} into a folder and set the "
            f"environment variable {ENV_VAR} to that folder, or pass data_dir=... .") from error
    except ValueError as error:  # pooch: the downloaded file does not have the expected hash
        raise data_error(f"The downloaded {what} failed its MD5 check ({error}). Try again later, "
                         f"or copy {stage} yourself and set {ENV_VAR}.") from error
