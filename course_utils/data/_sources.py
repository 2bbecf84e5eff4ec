"""Where the data set loaders look for their files, and how they download them.

Shared by ``load_cifar10`` and ``load_mnist``. Lookup order (first match wins): the ``data_dir``
argument, the folder in the environment variable ``COURSE_DATA_DIR``, the user's cache folder
(``pooch.os_cache("course_utils")``, e.g. ``~/.cache/course_utils``), where downloads go.
"""

import hashlib
import os
from pathlib import Path

ENV_VAR = "COURSE_DATA_DIR"


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
        dirs.append((f"${ENV_VAR}", Path(os.environ[ENV_VAR]).expanduser()))
    dirs.append(("cache folder", cache_dir()))
    return dirs


def places_text(searched):
    """The folders of ``search_dirs`` as an indented list (str), each line saying if the folder
    does not exist or is not a folder."""
    return "\n".join(f"  - {description}: {folder}" + _folder_problem(folder)
                     for description, folder in searched)


def _folder_problem(folder):
    if folder.is_dir():
        return ""
    return " (not a folder)" if folder.exists() else " (does not exist)"


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
            last_error = error
    raise last_error


def fetch(urls, md5_hex, fname, folder, progress, *, what, stage, data_error):
    """``retrieve``, with errors that say what to do: ConnectionError when no URL answers, ``data_error``
    (a ValueError subclass) when the file downloaded fails its MD5 check.

    what: the file, as the messages name it; stage: what to copy into a folder instead of downloading.
    """
    import requests

    try:
        return retrieve(urls, md5_hex, fname, folder, progress)
    except requests.exceptions.RequestException as error:
        raise ConnectionError(
            f"Could not download {what} from {' or '.join(urls)} ({type(error).__name__}: {error}). "
            f"Is there an internet connection? Without one, copy {stage} into a folder and set the "
            f"environment variable {ENV_VAR} to that folder, or pass data_dir=... .") from error
    except ValueError as error:  # pooch: the downloaded file does not have the expected hash
        raise data_error(f"The downloaded {what} failed its MD5 check ({error}). Try again later, "
                         f"or copy {stage} yourself and set {ENV_VAR}.") from error
