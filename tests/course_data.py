"""Stand-ins for the data sets instructors stage (CIFAR-10 and MNIST cannot be downloaded here), in the
official formats, so that Labs 5 and 6 load them through the code that loads the real ones."""
from pathlib import Path

from cifar_archive import write_fake_cifar10
from mnist_files import write_fake_mnist


def stage_course_data(folder: Path) -> Path:
    """Write, in ``folder`` (to be passed as COURSE_DATA_DIR), a CIFAR-10 archive with as many images as a graded
    Lab 5 loads from the real one (5,000 training, 1,000 test) and, in ``mnist/``, MNIST's four files with the
    official counts (60,000 and 10,000 random images; uncompressed, as only the real ``.gz`` files have the
    official checksums). Readable by everyone, as a shared data folder is (sandboxed kernels run as another
    user). Returns ``folder``.
    """
    write_fake_cifar10(folder, n_per_batch=1000, n_test=1000, seed=0, form="archive")
    write_fake_mnist(folder / "mnist", n_train=60_000, n_test=10_000, seed=0, form="raw")
    for path in [folder, *folder.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    return folder
