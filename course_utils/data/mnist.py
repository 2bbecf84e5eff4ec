"""Load MNIST as flat float32 rows, from a pre-staged copy or a verified download.

MNIST has 60,000 training and 10,000 test greyscale images of handwritten digits, 28x28 pixels,
labelled 0..9. Each row of ``X`` is one image, row by row; ``X.reshape(-1, 28, 28)`` gives the
images back.

Where the data comes from (first match wins):

1. the ``data_dir`` argument, 2. the folder in the environment variable ``COURSE_DATA_DIR``,
3. the user's cache folder (``pooch.os_cache("course_utils")``, e.g. ``~/.cache/course_utils``).

A folder is used if it, or its ``mnist/`` subfolder (looked at first), holds any of the four
official IDX files (``MNIST_FILES``), each either gzipped as published (``*.gz``) or uncompressed
(the same name without ``.gz``; preferred, faster). If none does and ``download=True``, the four
``.gz`` files are downloaded into the cache's ``mnist/`` folder. A ``.gz`` file must have the size
and MD5 checksum of the official file; an uncompressed one must have its exact size, and every
file is parsed strictly (magic number, image size, count, labels 0..9).

Loading needs about 0.24 GB of memory at its peak (the arrays returned take 0.22 GB).
"""

import gzip
import struct
from typing import NamedTuple

import numpy as np

from ._sources import (Wanted, cache_dir, fetch, md5, not_found_message, search_dirs,
                       short_traceback_if_missing, staff_copy)

__all__ = ["MNIST_FILES", "MNIST_MIRRORS", "MNISTDataError", "MNISTFile", "load_mnist"]


class MNISTFile(NamedTuple):
    """One official MNIST file: its number of items, and the size and MD5 of its ``.gz`` form."""

    count: int
    gz_size: int
    gz_md5: str


MNIST_FILES = {
    "train-images-idx3-ubyte": MNISTFile(60_000, 9_912_422, "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
    "train-labels-idx1-ubyte": MNISTFile(60_000, 28_881, "d53e105ee54ea40749a09fcbcd1e9432"),
    "t10k-images-idx3-ubyte": MNISTFile(10_000, 1_648_877, "9fb629c4189551a2d022fa330f9573f3"),
    "t10k-labels-idx1-ubyte": MNISTFile(10_000, 4_542, "ec29112dd5afa0611ce80d1b7f02629c"),
}
# Mirrors serving the original files of http://yann.lecun.com/exdb/mnist/, tried in order.
MNIST_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
FOLDER_NAME = "mnist"
IMAGE_SIDE = 28
N_FEATURES = IMAGE_SIDE * IMAGE_SIDE
IMAGES_MAGIC = 0x00000803  # unsigned bytes, 3 dimensions (count, rows, columns)
LABELS_MAGIC = 0x00000801  # unsigned bytes, 1 dimension (count)
N_CLASSES = 10


class MNISTDataError(ValueError):
    """The MNIST files were found but are incomplete, damaged or not the official files."""


@short_traceback_if_missing
def load_mnist(data_dir=None, download=True, *, progress=True):
    """Load MNIST as flat rows of pixel values in [0, 1].

    Args:
        data_dir: str or path-like, optional. A folder holding the four MNIST files (``.gz`` or
            uncompressed), directly or in an ``mnist/`` subfolder. Looked at first, then
            ``$COURSE_DATA_DIR``, then the cache folder.
        download: bool. If the data is found nowhere, download the official files (11 MB) into
            the cache folder. With False, a missing dataset is an error.
        progress: bool. Show a progress bar while downloading.

    Returns:
        X_train: float32 (60000, 784), values in [0, 1] (pixel / 255).
        y_train: int64 (60000,), the digits 0..9.
        X_test: float32 (10000, 784).
        y_test: int64 (10000,).

    Raises:
        FileNotFoundError: no data found and ``download=False``.
        ConnectionError: no data found and the download failed (for example, no internet
            connection); the message lists the folders searched and says how to stage the data.
        MNISTDataError (a ValueError): a file is missing, truncated, damaged or not official.
    """
    folder = _find_folder(data_dir, download, progress)
    with staff_copy(folder, MNISTDataError):
        paths = _locate_files(folder)
        X_train = _to_float(_read_file(paths["train-images-idx3-ubyte"], folder))
        y_train = _read_file(paths["train-labels-idx1-ubyte"], folder).astype(np.int64)
        X_test = _to_float(_read_file(paths["t10k-images-idx3-ubyte"], folder))
        y_test = _read_file(paths["t10k-labels-idx1-ubyte"], folder).astype(np.int64)
    return X_train, y_train, X_test, y_test


def _find_folder(data_dir, download, progress):
    """The folder holding the MNIST files; in the cache, missing files are downloaded first."""
    searched = search_dirs(data_dir)
    for _, place in searched:
        folder = _folder_in(place)
        if folder is not None:
            break
    else:
        if not download:
            raise FileNotFoundError(not_found_message(_wanted(), searched))
        folder = _download_folder()
    if download and folder == _download_folder():  # also completes an interrupted download
        _download_missing(folder, progress, searched)
    return folder


def _download_folder():
    """Where downloads go: the ``mnist/`` folder in the cache folder (pathlib.Path)."""
    return cache_dir() / FOLDER_NAME


def _folder_in(place):
    """``place/mnist`` or ``place`` if it holds any MNIST file (gzipped or not), else None."""
    for folder in (place / FOLDER_NAME, place):
        if any(_has(folder, name) for name in MNIST_FILES):
            return folder
    return None


def _has(folder, name):
    """Whether ``folder`` holds the MNIST file ``name``, gzipped or not."""
    return (folder / name).is_file() or (folder / f"{name}.gz").is_file()


def _gz_names(names):
    return ", ".join(f"'{name}.gz'" for name in names)


def _lacks(place):
    """What an existing folder in which ``_folder_in`` found nothing, or the cache folder with an
    incomplete download, lacks (str)."""
    for folder, where in ((place / FOLDER_NAME, f" in its '{FOLDER_NAME}/' subfolder"), (place, "")):
        missing = [name for name in MNIST_FILES if not _has(folder, name)]
        if len(missing) < len(MNIST_FILES):
            return f"lacks {_gz_names(missing)}{where}"
    return f"holds none of the four files, directly or in an '{FOLDER_NAME}/' subfolder"


def _wanted():
    """What the messages say is needed, and where the download comes from."""
    return Wanted("MNIST", f"the four files {_gz_names(MNIST_FILES)} (11 MB; or the same uncompressed, "
                           f"without '.gz'), directly in the folder or in an '{FOLDER_NAME}/' subfolder",
                  _lacks, "load_mnist(download=True)", MNIST_MIRRORS[0])


def _download_missing(folder, progress, searched):
    """Download into ``folder`` each official ``.gz`` file that is there in neither form; ``searched``:
    the folders searched (``search_dirs``), for the message if the download fails."""
    for name, spec in MNIST_FILES.items():
        if _has(folder, name):
            continue
        urls = [f"{mirror}{name}.gz" for mirror in MNIST_MIRRORS]
        fetch(urls, spec.gz_md5, f"{name}.gz", folder, progress, what=f"MNIST's '{name}.gz'",
              stage="the four MNIST files", data_error=MNISTDataError, wanted=_wanted(), searched=searched)


def _locate_files(folder):
    """{name: path} of the four files in ``folder``, uncompressed form preferred."""
    paths, missing = {}, []
    for name in MNIST_FILES:
        for path in (folder / name, folder / f"{name}.gz"):
            if path.is_file():
                paths[name] = path
                break
        else:
            missing.append(name)
    if missing:
        listed = _gz_names(missing)
        raise MNISTDataError(
            f"MNIST in {folder} is incomplete: {listed} (or the same uncompressed, without '.gz') "
            f"{'is' if len(missing) == 1 else 'are'} missing. {_how_to_fix(folder, missing)}")
    return paths


def _how_to_fix(folder, names, damaged=None):
    """What to do about the missing or ``damaged`` (a path) official files ``names``."""
    delete = f"delete {damaged}, then " if damaged is not None else ""
    if folder == _download_folder():
        return f"To fix it, {delete}load again with download=True, which downloads what is missing."
    official = "; ".join(
        f"'{name}.gz' ({MNIST_FILES[name].gz_size:,} bytes, MD5 {MNIST_FILES[name].gz_md5}, "
        f"from {MNIST_MIRRORS[0]}{name}.gz) or '{name}' uncompressed ({_raw_size(name):,} bytes)"
        for name in names)
    return f"To fix it, {delete}copy into {folder} the official {official}."


def _is_images(name):
    return "-images-" in name


def _raw_size(name):
    """Size in bytes of the uncompressed official file ``name``."""
    count = MNIST_FILES[name].count
    return 16 + count * N_FEATURES if _is_images(name) else 8 + count


def _read_file(path, folder):
    """The items of one MNIST file, verified: uint8 (count, 784) images or uint8 (count,) labels."""
    name = path.name.removesuffix(".gz")
    spec = MNIST_FILES[name]
    gzipped = path.suffix == ".gz"
    expected = spec.gz_size if gzipped else _raw_size(name)
    size = path.stat().st_size

    def fail(problem):
        return MNISTDataError(f"MNIST file {path} {problem}. {_how_to_fix(folder, [name], path)}")

    if size < expected:
        raise fail(f"is truncated: it has {size:,} bytes, the official file has {expected:,} "
                   f"(an interrupted download or copy?)")
    if size > expected:
        raise fail(f"has {size:,} bytes, the official file has {expected:,}: it is not the "
                   f"official file")
    if gzipped and md5(path) != spec.gz_md5:
        raise fail(f"has the size of the official file but not its MD5 checksum "
                   f"({spec.gz_md5}): the copy is damaged")
    with (gzip.open(path) if gzipped else open(path, "rb")) as file:
        return _parse_idx(file, name, fail)


def _parse_idx(file, name, fail):
    """Parse an IDX file of ``MNIST_FILES[name].count`` items whose size is already verified;
    ``fail(problem)`` makes the error. Returns uint8 (count, 784) images or uint8 (count,) labels."""
    count = MNIST_FILES[name].count
    if _is_images(name):
        kind, magic, dims = "images", IMAGES_MAGIC, (IMAGE_SIDE, IMAGE_SIDE)
    else:
        kind, magic, dims = "labels", LABELS_MAGIC, ()
    found_magic, found_count, *found_dims = struct.unpack(f">{2 + len(dims)}I",
                                                          file.read(8 + 4 * len(dims)))
    if found_magic != magic:
        raise fail(f"starts with the magic number 0x{found_magic:08X}, not 0x{magic:08X} "
                   f"(IDX {kind}): it is not an MNIST {kind} file")
    if tuple(found_dims) != dims:
        raise fail(f"has images of {found_dims[0]}x{found_dims[1]} pixels, not "
                   f"{IMAGE_SIDE}x{IMAGE_SIDE}")
    if found_count != count:
        raise fail(f"says in its header that it holds {found_count:,} {kind}, but it holds "
                   f"{count:,} like the official file: its header is damaged")
    items = np.frombuffer(file.read(count * (N_FEATURES if dims else 1)), dtype=np.uint8)
    if not dims:
        if items.max() >= N_CLASSES:
            raise fail(f"has a label {items.max()}; labels are digits 0..{N_CLASSES - 1}")
        return items
    return items.reshape(count, N_FEATURES)


def _to_float(images):
    """uint8 (n, 784) -> float32 (n, 784) in [0, 1], without a float64 intermediate."""
    return np.divide(images, np.float32(255), dtype=np.float32)
