"""Write a fake MNIST dataset (of any size) in the exact format of the official IDX files.

The official files are ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
``t10k-images-idx3-ubyte`` and ``t10k-labels-idx1-ubyte``, published gzipped (``.gz``). An IDX file
is a big-endian header, then the items as unsigned bytes: images ``0x00000803``, count, 28, 28
(16 bytes), then 28x28 pixels per image, row by row; labels ``0x00000801``, count (8 bytes), then
one byte (0..9) per image.
"""

import gzip
import struct
from pathlib import Path

import numpy as np

IMAGES = {"train": "train-images-idx3-ubyte", "t10k": "t10k-images-idx3-ubyte"}
LABELS = {"train": "train-labels-idx1-ubyte", "t10k": "t10k-labels-idx1-ubyte"}
NAMES = (IMAGES["train"], LABELS["train"], IMAGES["t10k"], LABELS["t10k"])


def idx_bytes(array):
    """The IDX encoding (bytes) of a uint8 array of any shape: magic 0x0800 + ndim, the
    dimensions as big-endian int32, then the values in C order."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = struct.pack(f">{1 + array.ndim}I", 0x0800 + array.ndim, *array.shape)
    return header + array.tobytes()


def fake_digits(n, seed):
    """uint8 (n, 28, 28) images of random pixels 0..255 and uint8 (n,) labels 0..9."""
    rng = np.random.default_rng(seed)
    return (rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8),
            rng.integers(0, 10, size=n, dtype=np.uint8))


def write_fake_mnist(directory, n_train=40, n_test=30, seed=0, form="gz"):
    """Write the four MNIST files with ``n_train`` and ``n_test`` fake images into ``directory``.

    ``form="gz"`` writes them gzipped as published (reproducibly: the same arguments give the
    same bytes), ``form="raw"`` uncompressed. Returns {"train": (images, labels), "t10k": (images,
    labels)}: the uint8 (n, 28, 28) images and uint8 (n,) labels written.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    written = {"train": fake_digits(n_train, [seed, 0]), "t10k": fake_digits(n_test, [seed, 1])}
    for split, (images, labels) in written.items():
        for name, array in ((IMAGES[split], images), (LABELS[split], labels)):
            content = idx_bytes(array)
            if form == "gz":
                (directory / f"{name}.gz").write_bytes(gzip.compress(content, mtime=0))
            elif form == "raw":
                (directory / name).write_bytes(content)
            else:
                raise ValueError(f"form must be 'gz' or 'raw', got {form!r}")
    return written
