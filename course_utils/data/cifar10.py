"""Load CIFAR-10 as flat float32 rows, from a pre-staged copy or a verified download.

CIFAR-10 has 50,000 training and 10,000 test colour images of 32x32 pixels in 10 classes.
Each row of ``X`` keeps the official layout: 3072 = 3 colour planes (red, green, blue) of
32x32 pixels, each plane row by row. To look at the images as (N, 32, 32, 3) arrays::

    images = X.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)

Where the data comes from (first match wins):

1. the ``data_dir`` argument, 2. the folder in the environment variable ``COURSE_DATA_DIR``,
3. the user's cache folder (``pooch.os_cache("course_utils")``, e.g. ``~/.cache/course_utils``).

Each folder may hold the extracted ``cifar-10-batches-py/`` folder (preferred, fastest), the
official archive ``cifar-10-python.tar.gz`` (read directly, nothing is extracted to disk), or it
may be the ``cifar-10-batches-py`` folder itself. If none has the data and ``download=True``,
the official archive is downloaded into the cache folder and its MD5 checksum is verified.
An archive with exactly the official size is checked against the official MD5 checksum on every
load; any other copy is checked by parsing it strictly (files, keys, shapes, dtypes, labels).

Loading all 60,000 images needs about 0.85 GB of memory at its peak (the arrays returned take
0.74 GB); ``n_train`` and ``n_test`` keep fewer images.
"""

import pickle
import tarfile
import zlib

import numpy as np

from ._sources import Wanted, fetch, not_found_message, search_dirs, short_traceback_if_missing, staff_copy
from ._sources import md5 as _md5

__all__ = ["CIFAR10_CLASSES", "CIFAR10DataError", "load_cifar10"]

CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer",
                   "dog", "frog", "horse", "ship", "truck")

ARCHIVE_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
ARCHIVE_NAME = "cifar-10-python.tar.gz"
ARCHIVE_SIZE = 170_498_071
ARCHIVE_MD5 = "c58f30108f718f92721af3b95e74349a"
FOLDER_NAME = "cifar-10-batches-py"
TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCH = "test_batch"
N_FEATURES = 3 * 32 * 32
_HOW_TO_REPLACE = (f"Delete the damaged copy and load again with download=True, or stage a fresh "
                   f"copy of '{ARCHIVE_NAME}' (or of its extracted '{FOLDER_NAME}/' folder).")

# The only globals an official batch pickle refers to (NumPy 1.x and 2.x spellings).
_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
}
# What a damaged pickle or a damaged gzip stream can raise while being read.
_CORRUPTION_ERRORS = (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError,
                      KeyError, IndexError, OverflowError, MemoryError, zlib.error,
                      tarfile.TarError)


class CIFAR10DataError(ValueError):
    """The CIFAR-10 files were found but are damaged or not in the official format."""


@short_traceback_if_missing
def load_cifar10(data_dir=None, download=True, *, n_train=None, n_test=None, progress=True):
    """Load CIFAR-10 as flat rows of pixel values in [0, 1].

    Args:
        data_dir: str or path-like, optional. A folder holding ``cifar-10-batches-py/`` or
            ``cifar-10-python.tar.gz``, or the ``cifar-10-batches-py`` folder itself. Looked at
            first, then ``$COURSE_DATA_DIR``, then the cache folder.
        download: bool. If the data is found nowhere, download the official archive
            (about 170 MB) into the cache folder. With False, a missing dataset is an error.
        n_train, n_test: int or None. Keep only the first n training / test images
            (None keeps all: 50,000 and 10,000).
        progress: bool. Show a progress bar while downloading.

    Returns:
        X_train: float32 (n_train, 3072), values in [0, 1] (pixel / 255).
        y_train: int64 (n_train,), class indices 0..9 (names in ``CIFAR10_CLASSES``).
        X_test: float32 (n_test, 3072).
        y_test: int64 (n_test,).

    Raises:
        FileNotFoundError: no data found and ``download=False``.
        ConnectionError: no data found and the download failed (for example, no internet
            connection); the message lists the folders searched and says how to stage the data.
        CIFAR10DataError (a ValueError): the files are damaged or not the official format.
    """
    _check_count("n_train", n_train)
    _check_count("n_test", n_test)
    source = _find_source(data_dir, download, progress)
    with staff_copy(source, CIFAR10DataError):
        _check_archive(source)
        raw = _read_batches(source)
    X_train, y_train = _stack(raw, TRAIN_BATCHES, n_train, "n_train")
    X_test, y_test = _stack(raw, (TEST_BATCH,), n_test, "n_test")
    return X_train, y_train, X_test, y_test


def _check_count(name, value):
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, np.integer))
                              or value < 0):
        raise ValueError(f"{name} must be None (all images) or an int >= 0, got {value!r}")


def _find_source(data_dir, download, progress):
    """Path of a ``cifar-10-batches-py`` folder or of an archive."""
    searched = search_dirs(data_dir)
    for _, folder in searched:
        source = _source_in(folder)
        if source is not None:
            break
    else:
        if not download:
            raise FileNotFoundError(not_found_message(_wanted(), searched))
        source = _download(searched, progress)
    return source


def _check_archive(source):
    """Refuse an archive of the official size whose MD5 checksum is not the official one (a damaged copy)."""
    if source.is_file() and source.stat().st_size == ARCHIVE_SIZE and _md5(source) != ARCHIVE_MD5:
        raise CIFAR10DataError(
            f"{source} has the size of the official CIFAR-10 archive but not its MD5 checksum "
            f"({ARCHIVE_MD5}): the copy is damaged. {_HOW_TO_REPLACE}")


def _source_in(folder):
    """The batches folder or archive inside ``folder`` (or ``folder`` itself), else None."""
    if (folder / FOLDER_NAME).is_dir():
        return folder / FOLDER_NAME
    if folder.name == FOLDER_NAME or any((folder / name).is_file()
                                         for name in TRAIN_BATCHES + (TEST_BATCH,)):
        return folder if folder.is_dir() else None
    if (folder / ARCHIVE_NAME).is_file():
        return folder / ARCHIVE_NAME
    return None


def _lacks(folder):
    """What an existing folder in which ``_source_in`` found nothing lacks (str)."""
    return f"holds neither '{FOLDER_NAME}/' nor '{ARCHIVE_NAME}'"


def _wanted():
    """What the messages say is needed, and where the download comes from."""
    return Wanted("CIFAR-10", f"'{ARCHIVE_NAME}' (170 MB) or the folder '{FOLDER_NAME}/' extracted from it",
                  _lacks, "load_cifar10(download=True)", ARCHIVE_URL)


def _download(searched, progress):
    """Download the official archive into the cache folder (the last of the folders ``searched``);
    return its path (MD5-verified)."""
    return fetch((ARCHIVE_URL,), ARCHIVE_MD5, ARCHIVE_NAME, searched[-1][1], progress,
                 what="the CIFAR-10 archive",
                 stage=f"'{ARCHIVE_NAME}' (or its extracted '{FOLDER_NAME}/' folder)",
                 data_error=CIFAR10DataError, wanted=_wanted(), searched=searched)


def _read_batches(source):
    """{batch name: (uint8 (n, 3072), int64 (n,))} for the five training batches and the test
    batch, read from a ``cifar-10-batches-py`` folder or straight from the archive."""
    wanted = TRAIN_BATCHES + (TEST_BATCH,)
    if source.is_dir():
        return {name: _read_batch_file(source / name) for name in wanted}
    batches = {}
    try:
        with tarfile.open(source, mode="r|gz") as tar:
            for member in tar:  # one pass in archive order: gzip cannot seek backwards cheaply
                name = member.name.rsplit("/", 1)[-1]
                if member.isfile() and name in wanted:
                    where = f"{source} (member {member.name})"
                    batches[name] = _parse_batch(tar.extractfile(member), where)
    except CIFAR10DataError:
        raise
    except _CORRUPTION_ERRORS as error:
        raise CIFAR10DataError(
            f"{source} is truncated or damaged ({type(error).__name__}: {error}). "
            f"{_HOW_TO_REPLACE}") from error
    missing = [name for name in wanted if name not in batches]
    if missing:
        raise CIFAR10DataError(
            f"{source} has no {FOLDER_NAME}/{missing[0]} (missing: {', '.join(missing)}); it is "
            f"not the official CIFAR-10 python archive. {_HOW_TO_REPLACE}")
    return batches


def _read_batch_file(path):
    if not path.is_file():
        raise CIFAR10DataError(
            f"CIFAR-10 batch file {path} is missing. Copy the complete '{FOLDER_NAME}/' folder "
            f"again (it needs {', '.join(TRAIN_BATCHES)} and {TEST_BATCH}).")
    with open(path, "rb") as file:
        return _parse_batch(file, str(path))


class _BatchUnpickler(pickle.Unpickler):
    """Unpickles official batches only: refuses any global but the NumPy array rebuilders,
    so a tampered file cannot run code."""

    def find_class(self, module, name):
        if (module, name) not in _ALLOWED_GLOBALS:
            raise pickle.UnpicklingError(f"unexpected object {module}.{name} in the pickle")
        return super().find_class(module, name)


def _parse_batch(file, where):
    """Read one batch pickle from an open binary file; return (uint8 (n, 3072), int64 (n,))."""
    try:
        batch = _BatchUnpickler(file, encoding="bytes").load()
    except _CORRUPTION_ERRORS as error:
        raise CIFAR10DataError(
            f"{where} is truncated or damaged ({type(error).__name__}: {error}). "
            f"{_HOW_TO_REPLACE}") from error
    return _validate_batch(batch, where)


def _validate_batch(batch, where):
    def fail(problem):
        return CIFAR10DataError(
            f"{where} is not an official CIFAR-10 batch: {problem}. {_HOW_TO_REPLACE}")

    if not isinstance(batch, dict) or b"data" not in batch or b"labels" not in batch:
        keys = sorted(batch) if isinstance(batch, dict) else type(batch).__name__
        raise fail(f"expected a dict with keys b'data' and b'labels', found {keys}")
    data, labels = batch[b"data"], batch[b"labels"]
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 \
            or data.shape[1] != N_FEATURES:
        found = (f"{data.dtype} array of shape {data.shape}" if isinstance(data, np.ndarray)
                 else type(data).__name__)
        raise fail(f"b'data' must be a uint8 array of shape (n, {N_FEATURES}), found {found}")
    if not isinstance(labels, list) or not all(type(label) is int for label in labels):
        raise fail("b'labels' must be a list of ints")
    labels = np.array(labels, dtype=np.int64)
    if len(labels) != len(data):
        raise fail(f"{len(labels)} labels for {len(data)} images")
    if labels.size and (labels.min() < 0 or labels.max() >= len(CIFAR10_CLASSES)):
        raise fail(f"labels must be in 0..{len(CIFAR10_CLASSES) - 1}, "
                   f"found {labels.min()}..{labels.max()}")
    return data, labels


def _stack(raw, names, n, arg_name):
    """Stack the named batches (removed from ``raw`` as they are used, to free memory) into
    float32 (n, 3072) in [0, 1] and int64 (n,), converting one batch at a time."""
    available = sum(len(raw[name][0]) for name in names)
    if n is None:
        n = available
    elif n > available:
        raise ValueError(f"{arg_name}={n} but this CIFAR-10 copy has only {available} images")
    X = np.empty((n, N_FEATURES), dtype=np.float32)
    y = np.empty(n, dtype=np.int64)
    start = 0
    for name in names:
        data, labels = raw.pop(name)
        take = min(len(data), n - start)
        np.divide(data[:take], np.float32(255), out=X[start:start + take], dtype=np.float32)
        y[start:start + take] = labels[:take]
        start += take
    return X, y
