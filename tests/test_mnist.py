"""Tests of course_utils.data.mnist on fake datasets in the exact format of the official IDX files."""

import shutil
import socket
import struct
import subprocess
import sys
import textwrap
import traceback
from pathlib import Path

import numpy as np
import pooch
import pytest
import requests

import course_utils.data
from course_utils.data import mnist
from course_utils.data._sources import md5
from course_utils.data.mnist import MNISTDataError, load_mnist
from mnist_files import IMAGES, LABELS, NAMES, idx_bytes, write_fake_mnist

N_TRAIN, N_TEST = 40, 30
MIRRORS = ("https://ossci-datasets.s3.amazonaws.com/mnist/",
           "https://storage.googleapis.com/cvdf-datasets/mnist/")
REAL_RETRIEVE = pooch.retrieve  # the fixture below replaces it; the offline tests put it back


@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path):
    """No real cache, no COURSE_DATA_DIR from the machine, no network."""
    monkeypatch.delenv("COURSE_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))

    def no_network(*args, **kwargs):
        raise AssertionError("a test tried to download")

    monkeypatch.setattr(pooch, "retrieve", no_network)


@pytest.fixture(scope="module")
def fake(tmp_path_factory):
    """(folder of the .gz files, folder of the same files uncompressed, {split: (images, labels)})."""
    root = tmp_path_factory.mktemp("fake")
    written = write_fake_mnist(root / "gz", N_TRAIN, N_TEST, seed=5, form="gz")
    write_fake_mnist(root / "raw", N_TRAIN, N_TEST, seed=5, form="raw")
    return root / "gz", root / "raw", written


@pytest.fixture(autouse=True)
def small_official_files(monkeypatch, fake):
    """Make the fake files the official ones: their counts and the sizes and MD5s of their .gz."""
    gz, _, _ = fake
    table = {name: mnist.MNISTFile(N_TRAIN if name.startswith("train") else N_TEST,
                                   (gz / f"{name}.gz").stat().st_size, md5(gz / f"{name}.gz"))
             for name in NAMES}
    monkeypatch.setattr(mnist, "MNIST_FILES", table)


def cache_folder():
    return Path(pooch.os_cache("course_utils")) / "mnist"


def staged(source, tmp_path):
    """A private copy of a fake folder that a test may damage."""
    return Path(shutil.copytree(source, tmp_path / "staged"))


def message(error_info):
    return str(error_info.value)


@pytest.mark.parametrize("form", ["gz", "raw"])
def test_both_forms_load_to_the_written_images_over_255_and_labels(fake, form):
    gz, raw, written = fake
    X_train, y_train, X_test, y_test = load_mnist(gz if form == "gz" else raw, download=False)
    assert X_train.shape == (N_TRAIN, 784) and X_test.shape == (N_TEST, 784)
    assert y_train.shape == (N_TRAIN,) and y_test.shape == (N_TEST,)
    assert X_train.dtype == X_test.dtype == np.float32
    assert y_train.dtype == y_test.dtype == np.int64
    for X, y, (images, labels) in ((X_train, y_train, written["train"]),
                                   (X_test, y_test, written["t10k"])):
        np.testing.assert_array_equal(X.reshape(-1, 28, 28),
                                      images.astype(np.float32) / np.float32(255))
        assert X.min() == 0.0 and X.max() == 1.0
        assert y.tolist() == labels.tolist()


def test_found_through_course_data_dir_in_an_mnist_subfolder(fake, monkeypatch, tmp_path):
    gz, _, written = fake
    shutil.copytree(gz, tmp_path / "shared" / "mnist")
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "shared"))
    y_test = load_mnist(download=False)[3]
    assert y_test.tolist() == written["t10k"][1].tolist()


def test_lookup_order_is_data_dir_then_environment_then_cache(monkeypatch, tmp_path):
    # Same sizes (the table's counts), different seeds: the labels tell the copies apart.
    labels = {where: write_fake_mnist(folder, N_TRAIN, N_TEST, seed=seed, form="raw")["t10k"][1]
              for where, folder, seed in (("cache", cache_folder(), 1),
                                          ("env", tmp_path / "env", 2),
                                          ("arg", tmp_path / "arg" / "mnist", 3))}
    assert load_mnist(download=False)[3].tolist() == labels["cache"].tolist()
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "env"))
    assert load_mnist(download=False)[3].tolist() == labels["env"].tolist()
    assert load_mnist(tmp_path / "arg", download=False)[3].tolist() == labels["arg"].tolist()


def test_uncompressed_file_is_preferred_over_the_gz(fake, tmp_path):
    gz, _, _ = fake
    folder = staged(gz, tmp_path)
    other = write_fake_mnist(tmp_path / "other", N_TRAIN, N_TEST, seed=9, form="raw")
    shutil.copy(tmp_path / "other" / LABELS["t10k"], folder)
    assert load_mnist(folder, download=False)[3].tolist() == other["t10k"][1].tolist()


def test_missing_data_without_download_says_where_it_looked_and_what_to_do(tmp_path):
    with pytest.raises(FileNotFoundError) as error:
        load_mnist(tmp_path / "nowhere", download=False)
    text = message(error)
    assert str(tmp_path / "nowhere") in text and "does not exist" in text
    assert str(pooch.os_cache("course_utils")) in text
    assert "train-images-idx3-ubyte.gz" in text
    assert "COURSE_DATA_DIR" in text and "download=True" in text


@pytest.mark.parametrize("form", ["gz", "raw"])
def test_missing_file_is_named_with_the_official_file_to_copy(fake, tmp_path, form):
    gz, raw, _ = fake
    folder = staged(gz if form == "gz" else raw, tmp_path)
    for path in folder.glob(f"{LABELS['train']}*"):
        path.unlink()
    with pytest.raises(MNISTDataError) as error:
        load_mnist(folder, download=False)
    text = message(error)
    assert "'train-labels-idx1-ubyte.gz'" in text and "missing" in text
    spec = mnist.MNIST_FILES[LABELS["train"]]
    assert f"copy into {folder} the official" in text and spec.gz_md5 in text
    assert f"{spec.gz_size:,} bytes" in text and f"{8 + N_TRAIN:,} bytes" in text


def test_an_incomplete_copy_in_course_data_dir_says_it_is_the_staffs(fake, tmp_path, monkeypatch):
    """Only the test files staged (a folder of the staff's, which students may only read): the message that says which
    official files to copy there also says to send it to the staff."""
    gz, _, _ = fake
    folder = staged(gz, tmp_path)
    for path in folder.glob("train-*"):
        path.unlink()
    monkeypatch.setenv("COURSE_DATA_DIR", str(folder))
    with pytest.raises(MNISTDataError) as error:
        load_mnist(download=False)
    text = message(error)
    assert f"copy into {folder} the official" in text
    assert text.endswith(f"(This copy is in COURSE_DATA_DIR, {folder}, which your course staff set up: if you cannot "
                         "change it, send them this message.)")


@pytest.mark.parametrize("form", ["gz", "raw"])
def test_truncated_file_gives_its_name_size_and_the_official_size(fake, tmp_path, form):
    gz, raw, _ = fake
    folder = staged(gz if form == "gz" else raw, tmp_path)
    path = folder / (f"{IMAGES['train']}.gz" if form == "gz" else IMAGES["train"])
    full = path.stat().st_size
    path.write_bytes(path.read_bytes()[: full // 2])
    with pytest.raises(MNISTDataError, match="is truncated") as error:
        load_mnist(folder, download=False)
    text = message(error)
    assert str(path) in text and f"{full // 2:,} bytes" in text and f"{full:,}" in text
    assert f"delete {path}, then copy into {folder} the official" in text


def test_gz_file_with_the_official_size_but_another_md5_is_rejected(fake, tmp_path):
    gz, _, _ = fake
    folder = staged(gz, tmp_path)
    path = folder / f"{IMAGES['t10k']}.gz"
    content = bytearray(path.read_bytes())
    content[len(content) // 2] ^= 0xFF
    path.write_bytes(content)
    with pytest.raises(MNISTDataError, match="MD5") as error:
        load_mnist(folder, download=False)
    text = message(error)
    assert str(path) in text and mnist.MNIST_FILES[IMAGES["t10k"]].gz_md5 in text
    assert f"copy into {folder} the official" in text


def test_oversized_uncompressed_file_is_not_the_official_file(fake, tmp_path):
    _, raw, _ = fake
    folder = staged(raw, tmp_path)
    path = folder / LABELS["t10k"]
    path.write_bytes(path.read_bytes() + b"\x00")
    with pytest.raises(MNISTDataError, match="not the official file") as error:
        load_mnist(folder, download=False)
    assert str(path) in message(error) and f"{8 + N_TEST:,}" in message(error)


def header_damage(name, offset, *values):
    """Overwrite big-endian uint32 ``values`` from byte ``offset`` of the uncompressed ``name``."""
    def damage(folder):
        path = folder / name
        content = bytearray(path.read_bytes())
        struct.pack_into(f">{len(values)}I", content, offset, *values)
        path.write_bytes(content)
    return damage


BAD_HEADERS = {
    "images file with the labels magic": (IMAGES["train"], header_damage(IMAGES["train"], 0, 0x801),
                                          "magic number 0x00000801, not 0x00000803"),
    "labels file with the images magic": (LABELS["t10k"], header_damage(LABELS["t10k"], 0, 0x803),
                                          "magic number 0x00000803, not 0x00000801"),
    "images of 14x56 pixels": (IMAGES["t10k"], header_damage(IMAGES["t10k"], 8, 14, 56),
                               "14x56 pixels, not 28x28"),
    "one label fewer than images": (LABELS["train"],
                                    header_damage(LABELS["train"], 4, N_TRAIN - 1),
                                    f"holds {N_TRAIN - 1:,} labels, but it holds {N_TRAIN:,}"),
    "one image more than labels": (IMAGES["t10k"], header_damage(IMAGES["t10k"], 4, N_TEST + 1),
                                   f"holds {N_TEST + 1:,} images, but it holds {N_TEST:,}"),
}


@pytest.mark.parametrize("problem", BAD_HEADERS)
def test_damaged_header_is_named_with_the_problem_and_the_fix(fake, tmp_path, problem):
    _, raw, _ = fake
    folder = staged(raw, tmp_path)
    name, damage, expected = BAD_HEADERS[problem]
    damage(folder)
    with pytest.raises(MNISTDataError, match=expected) as error:
        load_mnist(folder, download=False)
    assert f"MNIST file {folder / name} " in message(error)
    assert f"copy into {folder} the official '{name}.gz'" in message(error)


def test_label_outside_0_to_9_is_rejected(fake, tmp_path):
    _, raw, _ = fake
    folder = staged(raw, tmp_path)
    path = folder / LABELS["t10k"]
    content = bytearray(path.read_bytes())
    content[8 + 3] = 10
    path.write_bytes(content)
    with pytest.raises(MNISTDataError, match=r"label 10; labels are digits 0\.\.9") as error:
        load_mnist(folder, download=False)
    assert str(path) in message(error)


def fake_download(gz, calls, fail_urls=()):
    """A stand-in for pooch.retrieve serving the fake .gz files (and failing for ``fail_urls``)."""
    def retrieve(url, known_hash, fname, path, progressbar):
        calls.append((url, known_hash, fname, Path(path)))
        if url in fail_urls:
            raise requests.exceptions.ConnectionError("Name or service not known")
        Path(path).mkdir(parents=True, exist_ok=True)
        return shutil.copy(gz / fname, Path(path) / fname)
    return retrieve


def test_download_fetches_the_four_files_into_the_cache_once(fake, monkeypatch):
    gz, _, written = fake
    calls = []
    monkeypatch.setattr(pooch, "retrieve", fake_download(gz, calls))
    y_train = load_mnist(progress=False)[1]
    assert y_train.tolist() == written["train"][1].tolist()
    assert calls == [(f"{MIRRORS[0]}{name}.gz", f"md5:{mnist.MNIST_FILES[name].gz_md5}",
                      f"{name}.gz", cache_folder()) for name in NAMES]
    load_mnist(download=False)  # now found in the cache
    load_mnist()
    assert len(calls) == 4


def test_download_falls_back_to_the_second_mirror(fake, monkeypatch):
    gz, _, _ = fake
    calls = []
    first = {f"{MIRRORS[0]}{name}.gz" for name in NAMES}
    monkeypatch.setattr(pooch, "retrieve", fake_download(gz, calls, fail_urls=first))
    assert load_mnist(progress=False)[0].shape == (N_TRAIN, 784)
    assert [url for url, *_ in calls[:2]] == [f"{MIRRORS[0]}{NAMES[0]}.gz",
                                              f"{MIRRORS[1]}{NAMES[0]}.gz"]


def test_interrupted_download_is_completed_by_the_next_load(fake, monkeypatch):
    gz, _, _ = fake
    cache_folder().mkdir(parents=True)
    for name in (IMAGES["train"], LABELS["train"]):
        shutil.copy(gz / f"{name}.gz", cache_folder())
    calls = []
    monkeypatch.setattr(pooch, "retrieve", fake_download(gz, calls))
    assert load_mnist(progress=False)[2].shape == (N_TEST, 784)
    assert [fname for _, _, fname, _ in calls] == [f"{IMAGES['t10k']}.gz", f"{LABELS['t10k']}.gz"]


def test_damaged_file_in_the_cache_says_to_delete_it_and_download_again(fake):
    gz, _, _ = fake
    shutil.copytree(gz, cache_folder())
    path = cache_folder() / f"{LABELS['t10k']}.gz"
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(MNISTDataError, match="is truncated") as error:
        load_mnist()
    assert f"delete {path}, then load again with download=True" in message(error)


def test_download_without_connection_explains_how_to_stage_the_data(monkeypatch):
    def offline(*args, **kwargs):
        raise requests.exceptions.ConnectionError("Name or service not known")

    monkeypatch.setattr(pooch, "retrieve", offline)
    with pytest.raises(ConnectionError, match="internet connection") as error:
        load_mnist()
    text = message(error)
    assert "COURSE_DATA_DIR" in text and "train-images-idx3-ubyte.gz" in text
    assert all(mirror in text for mirror in MIRRORS)
    assert error.value.__cause__ is None and "Name or service not known" in text


@pytest.fixture
def unreachable(monkeypatch):
    """Real downloads (pooch, requests), from two mirrors on a local port where nothing listens:
    refused at once, as a course server without internet refuses or fails them, whatever this
    machine's network. Returns the mirrors."""
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))  # bound for the test, never listening: connecting is refused
        mirrors = tuple(f"http://127.0.0.1:{closed.getsockname()[1]}/{name}/" for name in ("one", "two"))
        monkeypatch.setattr(mnist, "MNIST_MIRRORS", mirrors)
        monkeypatch.setattr(pooch, "retrieve", REAL_RETRIEVE)
        for name in ("NO_PROXY", "no_proxy"):
            monkeypatch.setenv(name, "127.0.0.1")
        yield mirrors


FOUR_FILES = ("the four files 'train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz', "
              "'t10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz' (11 MB; or the same uncompressed, "
              "without '.gz'), directly in the folder or in an 'mnist/' subfolder.")
NONE_OF_THEM = "exists, but holds none of the four files, directly or in an 'mnist/' subfolder"


def test_offline_error_is_one_short_message_listing_each_folder_and_what_to_do(unreachable, monkeypatch,
                                                                                tmp_path):
    staged = tmp_path / "staged"
    (staged / "mnist").mkdir(parents=True)
    (staged / "mnist" / "train-images-idx3-ubyte.zip").write_bytes(b"")  # not one of the four
    monkeypatch.setenv("COURSE_DATA_DIR", str(staged))
    with pytest.raises(ConnectionError) as error:
        load_mnist(tmp_path / "nowhere", progress=False)
    assert type(error.value) is ConnectionError  # the canary recognises it by this name
    assert error.value.__cause__ is None and error.value.__suppress_context__
    shown = "".join(traceback.format_exception(error.value))
    assert "During handling" not in shown and "direct cause" not in shown and "urllib3" not in shown
    text = message(error)
    lines = text.splitlines()
    assert len(lines) <= 12, text
    assert lines[0] == ("Could not download MNIST: this computer seems to have no internet connection "
                        "(course servers often have none).")
    cache = Path(pooch.os_cache("course_utils"))  # created by the attempt to download into it
    assert lines[1:5] == ["Looked for a copy in:",
                          f"  - data_dir argument: {tmp_path / 'nowhere'} (does not exist)",
                          f"  - COURSE_DATA_DIR: {staged} ({NONE_OF_THEM})",
                          f"  - cache folder: {cache} ({NONE_OF_THEM})"]
    assert lines[5] == f"It needs {FOUR_FILES}"
    assert "ask the course staff where their pre-staged copy is" in lines[6]
    assert "set the environment variable COURSE_DATA_DIR to the folder holding the copy" in lines[7]
    assert "before starting Jupyter (after setting it, restart Jupyter and the kernel)" in lines[7]
    assert lines[8] == f"  - or copy it into the cache folder {cache}."
    urls = ", ".join(f"{mirror}{IMAGES['train']}.gz" for mirror in unreachable)
    assert lines[-1] == f"(Tried {urls}: Connection refused.)"


def test_offline_error_says_that_the_folder_in_course_data_dir_does_not_exist(unreachable, monkeypatch,
                                                                               tmp_path):
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "no-such-folder"))
    with pytest.raises(ConnectionError) as error:
        load_mnist(progress=False)
    assert f"\n  - COURSE_DATA_DIR: {tmp_path / 'no-such-folder'} (does not exist)\n" in message(error)
    assert error.value.__cause__ is None


def test_offline_error_after_an_interrupted_download_names_the_files_still_missing(fake, unreachable):
    gz, _, _ = fake
    cache_folder().mkdir(parents=True)
    for name in (IMAGES["train"], LABELS["train"]):
        shutil.copy(gz / f"{name}.gz", cache_folder())
    with pytest.raises(ConnectionError) as error:
        load_mnist(progress=False)
    assert (f"  - cache folder: {cache_folder().parent} (exists, but lacks 't10k-images-idx3-ubyte.gz', "
            f"'t10k-labels-idx1-ubyte.gz' in its 'mnist/' subfolder)") in message(error).splitlines()
    assert f"{unreachable[1]}{IMAGES['t10k']}.gz: Connection refused" in message(error)


def test_offline_error_describes_the_folders_as_the_download_false_error_does(unreachable, monkeypatch,
                                                                              tmp_path):
    cache_folder().mkdir(parents=True)  # as the download attempt leaves it
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "no-such-folder"))
    with pytest.raises(FileNotFoundError) as not_found:
        load_mnist(tmp_path, download=False)
    with pytest.raises(ConnectionError) as offline:
        load_mnist(tmp_path, progress=False)

    def shared(error):
        return [line for line in message(error).splitlines() if line.startswith(("  - ", "It needs"))]

    assert f"  - data_dir argument: {tmp_path} ({NONE_OF_THEM})" in shared(not_found)
    assert len(shared(not_found)) == 6 and shared(not_found) == shared(offline)


def test_download_with_the_wrong_checksum_is_a_data_error(monkeypatch):
    def wrong_file(*args, **kwargs):
        raise ValueError("MD5 hash of downloaded file does not match the known hash")

    monkeypatch.setattr(pooch, "retrieve", wrong_file)
    with pytest.raises(MNISTDataError, match="failed its MD5 check"):
        load_mnist()


def test_the_official_files_are_exported_with_their_published_sizes_and_md5s():
    official = course_utils.data.MNIST_FILES  # the module's table is replaced by the fixture
    assert {name: (spec.count, spec.gz_size, spec.gz_md5) for name, spec in official.items()} == {
        "train-images-idx3-ubyte": (60_000, 9_912_422, "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
        "train-labels-idx1-ubyte": (60_000, 28_881, "d53e105ee54ea40749a09fcbcd1e9432"),
        "t10k-images-idx3-ubyte": (10_000, 1_648_877, "9fb629c4189551a2d022fa330f9573f3"),
        "t10k-labels-idx1-ubyte": (10_000, 4_542, "ec29112dd5afa0611ce80d1b7f02629c"),
    }
    assert course_utils.data.MNIST_MIRRORS == MIRRORS


def test_idx_writer_gives_the_documented_header():
    images = np.zeros((3, 28, 28), dtype=np.uint8)
    assert idx_bytes(images)[:16] == bytes.fromhex("00000803 00000003 0000001c 0000001c")
    assert idx_bytes(np.array([7, 2], dtype=np.uint8)) == bytes.fromhex("00000801 00000002 0702")


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")
def test_full_size_uncompressed_files_load_with_the_official_table_in_little_memory(tmp_path):
    # A child process with the real table: full-size files of the official uncompressed sizes.
    write_fake_mnist(tmp_path, 60_000, 10_000, form="raw")
    sizes = {name: (tmp_path / name).stat().st_size for name in NAMES}
    assert sizes == {"train-images-idx3-ubyte": 47_040_016, "train-labels-idx1-ubyte": 60_008,
                     "t10k-images-idx3-ubyte": 7_840_016, "t10k-labels-idx1-ubyte": 10_008}
    child = textwrap.dedent(f"""
        def kib(field):
            with open("/proc/self/status") as status:
                return next(int(line.split()[1]) for line in status if line.startswith(field))
        from course_utils.data import load_mnist
        before = kib("VmRSS:")
        X_train, y_train, X_test, y_test = load_mnist({str(tmp_path)!r}, download=False)
        assert X_train.shape == (60000, 784) and X_test.shape == (10000, 784)
        assert y_train.shape == (60000,) and y_test.shape == (10000,)
        print((kib("VmHWM:") - before) * 1024)
    """)
    result = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True,
                            check=True, timeout=120)
    extra_bytes = int(result.stdout.strip())
    print(f"peak memory growth while loading: {extra_bytes / 2**20:.0f} MiB")
    result_bytes = 70_000 * 784 * 4 + 70_000 * 8
    largest_file = 47_040_016  # one uint8 copy of the training images beside the result
    assert result_bytes <= extra_bytes < result_bytes + largest_file + 2**23
