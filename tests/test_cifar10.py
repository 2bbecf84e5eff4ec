"""Tests of course_utils.data.cifar10 on fake datasets in the exact official format."""

import hashlib
import http.server
import os
import pickle
import shutil
import socket
import subprocess
import sys
import tarfile
import textwrap
import threading
import traceback
from pathlib import Path

import numpy as np
import pooch
import pytest
import requests

from cifar_archive import (ARCHIVE_NAME, FOLDER_NAME, LABEL_NAMES, TRAIN_BATCHES, batch_dict,
                           py2_pickle, write_fake_cifar10)
from course_utils.data import cifar10
from course_utils.data.cifar10 import CIFAR10_CLASSES, CIFAR10DataError, load_cifar10

N_PER_BATCH, N_TEST = 20, 30
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
    """Paths of the same fake dataset written as an archive and as an extracted folder."""
    root = tmp_path_factory.mktemp("fake")
    archive = write_fake_cifar10(root / "archive", N_PER_BATCH, N_TEST, seed=3, form="archive")
    folder = write_fake_cifar10(root / "folder", N_PER_BATCH, N_TEST, seed=3, form="folder")
    return archive, folder


def copy_folder(folder, tmp_path):
    """A private copy of the extracted folder that a test may damage; returns its parent."""
    shutil.copytree(folder, tmp_path / "staged" / FOLDER_NAME)
    return tmp_path / "staged"


def read_official_batch(path):
    """Read a batch pickle the way the CIFAR-10 web page says: (uint8 data, labels list)."""
    with open(path, "rb") as file:
        batch = pickle.load(file, encoding="bytes")
    return batch[b"data"], batch[b"labels"]


def test_archive_and_folder_load_to_the_same_arrays_of_the_documented_format(fake):
    archive, folder = fake
    from_archive = load_cifar10(archive.parent, download=False)
    from_folder = load_cifar10(folder.parent, download=False)
    X_train, y_train, X_test, y_test = from_archive
    assert X_train.shape == (5 * N_PER_BATCH, 3072) and X_test.shape == (N_TEST, 3072)
    assert y_train.shape == (5 * N_PER_BATCH,) and y_test.shape == (N_TEST,)
    assert X_train.dtype == X_test.dtype == np.float32
    assert y_train.dtype == y_test.dtype == np.int64
    for X in (X_train, X_test):
        assert 0.0 <= X.min() and X.max() <= 1.0
    for a, b in zip(from_archive, from_folder):
        np.testing.assert_array_equal(a, b)


def test_values_are_the_pickled_pixels_over_255_in_batch_order(fake):
    _, folder = fake
    X_train, y_train, X_test, y_test = load_cifar10(folder.parent, download=False)
    for k, name in enumerate(TRAIN_BATCHES):
        data, labels = read_official_batch(folder / name)
        rows = slice(k * N_PER_BATCH, (k + 1) * N_PER_BATCH)
        np.testing.assert_allclose(X_train[rows], data / 255.0, rtol=1e-6, atol=0)
        assert y_train[rows].tolist() == labels
    data, labels = read_official_batch(folder / "test_batch")
    np.testing.assert_allclose(X_test, data / 255.0, rtol=1e-6, atol=0)
    assert y_test.tolist() == labels
    first_image = read_official_batch(folder / "data_batch_1")[0][0]
    assert X_train[0, 0] == np.float32(first_image[0]) / np.float32(255)


def test_documented_reshape_gives_height_width_channel_images(fake):
    _, folder = fake
    data, _ = read_official_batch(folder / "data_batch_1")
    X_train = load_cifar10(folder.parent, download=False)[0]
    images = X_train.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    row, col = 5, 17  # the official layout: plane c, then 32 rows of 32 pixels
    for channel in range(3):
        assert images[0, row, col, channel] * 255 == pytest.approx(
            data[0, channel * 1024 + row * 32 + col])


def test_class_names_are_the_official_ten_in_order(fake):
    _, folder = fake
    with open(folder / "batches.meta", "rb") as file:
        names = pickle.load(file, encoding="bytes")[b"label_names"]
    assert CIFAR10_CLASSES == tuple(name.decode() for name in names) == LABEL_NAMES


def test_found_through_course_data_dir(fake, monkeypatch):
    archive, _ = fake
    monkeypatch.setenv("COURSE_DATA_DIR", str(archive.parent))
    X_train, _, X_test, _ = load_cifar10(download=False)
    assert X_train.shape == (5 * N_PER_BATCH, 3072) and X_test.shape == (N_TEST, 3072)


def test_data_dir_may_be_the_batches_folder_itself(fake):
    _, folder = fake
    expected = load_cifar10(folder.parent, download=False)
    for a, b in zip(load_cifar10(folder, download=False), expected):
        np.testing.assert_array_equal(a, b)


def test_lookup_order_is_data_dir_then_environment_then_cache(fake, monkeypatch, tmp_path):
    archive, _ = fake
    other = write_fake_cifar10(tmp_path / "other", n_per_batch=4, n_test=6, form="folder")
    cache = Path(pooch.os_cache("course_utils"))
    write_fake_cifar10(cache, n_per_batch=2, n_test=3, form="archive")
    assert load_cifar10(download=False)[2].shape[0] == 3
    monkeypatch.setenv("COURSE_DATA_DIR", str(other.parent))
    assert load_cifar10(download=False)[2].shape[0] == 6
    assert load_cifar10(archive.parent, download=False)[2].shape[0] == N_TEST


def test_extracted_folder_is_preferred_over_the_archive(tmp_path):
    write_fake_cifar10(tmp_path, n_per_batch=4, n_test=6, form="archive")
    write_fake_cifar10(tmp_path, n_per_batch=2, n_test=3, form="folder")
    assert load_cifar10(tmp_path, download=False)[2].shape[0] == 3


def test_n_train_and_n_test_keep_the_first_samples(fake):
    archive, _ = fake
    full = load_cifar10(archive.parent, download=False)
    n_train = 2 * N_PER_BATCH + 5  # spans three batches
    part = load_cifar10(archive.parent, download=False, n_train=n_train, n_test=7)
    for a, b, n in zip(part, full, (n_train, n_train, 7, 7)):
        np.testing.assert_array_equal(a, b[:n])


@pytest.mark.parametrize("kwargs", [{"n_train": 5 * N_PER_BATCH + 1}, {"n_test": N_TEST + 1},
                                    {"n_train": -1}, {"n_test": 2.5}, {"n_train": True}])
def test_bad_sample_counts_are_rejected(fake, kwargs):
    archive, _ = fake
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        load_cifar10(archive.parent, download=False, **kwargs)


def test_missing_data_without_download_says_where_it_looked_and_what_to_do(tmp_path):
    with pytest.raises(FileNotFoundError) as error:
        load_cifar10(tmp_path / "nowhere", download=False)
    message = str(error.value)
    assert str(tmp_path / "nowhere") in message and "does not exist" in message
    assert str(pooch.os_cache("course_utils")) in message
    assert "COURSE_DATA_DIR" in message and "download=True" in message


@pytest.mark.parametrize("damage", ["truncated", "cut_short", "not_gzip"])
def test_damaged_archive_gives_a_clear_error(fake, tmp_path, damage):
    archive, _ = fake
    content = archive.read_bytes()
    damaged = {"truncated": content[: len(content) // 2], "cut_short": content[:100],
               "not_gzip": b"<html>404 Not Found</html>" * 10}[damage]
    (tmp_path / ARCHIVE_NAME).write_bytes(damaged)
    with pytest.raises(CIFAR10DataError, match="truncated or damaged") as error:
        load_cifar10(tmp_path, download=False)
    assert str(tmp_path / ARCHIVE_NAME) in str(error.value)
    assert "download=True" in str(error.value)


def test_a_damaged_copy_in_course_data_dir_says_it_is_the_staffs_and_one_given_directly_does_not(
        fake, tmp_path, monkeypatch):
    """A student whose COURSE_DATA_DIR holds a damaged copy cannot replace it (the folder is the staff's)."""
    archive, _ = fake
    (tmp_path / ARCHIVE_NAME).write_bytes(archive.read_bytes()[:100])
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path))
    with pytest.raises(CIFAR10DataError, match="truncated or damaged") as error:
        load_cifar10(download=False)
    assert (f"(This copy is in COURSE_DATA_DIR, {tmp_path}, which your course staff set up: if you cannot change "
            "it, send them this message.)") in str(error.value)
    monkeypatch.delenv("COURSE_DATA_DIR")
    with pytest.raises(CIFAR10DataError) as error:
        load_cifar10(tmp_path, download=False)
    assert "course staff" not in str(error.value)


BAD_BATCHES = {
    "no data key": (lambda batch: batch.pop(b"data"), "b'data'"),
    "no labels key": (lambda batch: batch.pop(b"labels"), "b'labels'"),
    "wrong width": (lambda batch: batch.update({b"data": batch[b"data"][:, :3000].copy()}),
                    r"shape \(n, 3072\)"),
    "wrong dtype": (lambda batch: batch.update({b"data": batch[b"data"] / np.float32(255)}),
                    "uint8"),
    "too few labels": (lambda batch: batch[b"labels"].pop(), "labels for"),
    "label out of range": (lambda batch: batch[b"labels"].__setitem__(0, 10), r"0\.\.9"),
}


@pytest.mark.parametrize("problem", BAD_BATCHES)
def test_malformed_batch_gives_an_error_naming_the_file_and_the_problem(fake, tmp_path, problem):
    _, folder = fake
    staged = copy_folder(folder, tmp_path)
    data, labels = read_official_batch(folder / "data_batch_3")
    batch = batch_dict("training batch 3 of 5", labels, data)
    change, expected = BAD_BATCHES[problem]
    change(batch)
    (staged / FOLDER_NAME / "data_batch_3").write_bytes(py2_pickle(batch))
    with pytest.raises(CIFAR10DataError, match=expected) as error:
        load_cifar10(staged, download=False)
    assert "data_batch_3" in str(error.value)


def test_missing_batch_file_is_named(fake, tmp_path):
    _, folder = fake
    staged = copy_folder(folder, tmp_path)
    (staged / FOLDER_NAME / "data_batch_2").unlink()
    with pytest.raises(CIFAR10DataError, match="data_batch_2.*missing"):
        load_cifar10(staged, download=False)


def test_archive_without_a_batch_is_rejected_naming_it(fake, tmp_path):
    _, folder = fake
    with tarfile.open(tmp_path / ARCHIVE_NAME, "w:gz") as tar:
        for path in sorted(folder.iterdir()):
            if path.name != "test_batch":
                tar.add(path, arcname=f"{FOLDER_NAME}/{path.name}")
    with pytest.raises(CIFAR10DataError, match="test_batch"):
        load_cifar10(tmp_path, download=False)


class _RunsCode:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.mkdir, (self.marker,)


def test_a_pickle_that_would_run_code_is_refused(fake, tmp_path):
    _, folder = fake
    staged = copy_folder(folder, tmp_path)
    marker = tmp_path / "code-ran"
    (staged / FOLDER_NAME / "test_batch").write_bytes(
        pickle.dumps({b"data": _RunsCode(str(marker))}, protocol=2))
    with pytest.raises(CIFAR10DataError, match="test_batch"):
        load_cifar10(staged, download=False)
    assert not marker.exists()


def test_md5_of_a_small_file_matches_the_known_value(tmp_path):
    path = tmp_path / "abc"
    path.write_bytes(b"abc")
    assert cifar10._md5(path) == "900150983cd24fb0d6963f7d28e17f72"  # RFC 1321 test suite


def test_archive_of_the_official_size_is_checked_against_the_official_md5(fake, monkeypatch):
    archive, _ = fake
    monkeypatch.setattr(cifar10, "ARCHIVE_SIZE", archive.stat().st_size)
    monkeypatch.setattr(cifar10, "ARCHIVE_MD5", hashlib.md5(archive.read_bytes()).hexdigest())
    assert load_cifar10(archive.parent, download=False)[0].shape == (5 * N_PER_BATCH, 3072)
    monkeypatch.setattr(cifar10, "ARCHIVE_MD5", "0" * 32)
    with pytest.raises(CIFAR10DataError, match="MD5") as error:
        load_cifar10(archive.parent, download=False)
    assert str(archive) in str(error.value) and "Delete the damaged copy" in str(error.value)


def test_download_fetches_the_official_archive_into_the_cache_once(fake, monkeypatch):
    archive, _ = fake
    calls = []

    def fake_retrieve(url, known_hash, fname, path, progressbar):
        calls.append((url, known_hash, fname, Path(path)))
        Path(path).mkdir(parents=True, exist_ok=True)
        return shutil.copy(archive, Path(path) / fname)

    monkeypatch.setattr(pooch, "retrieve", fake_retrieve)
    X_train = load_cifar10(progress=False)[0]
    assert X_train.shape == (5 * N_PER_BATCH, 3072)
    assert calls == [("https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
                      "md5:c58f30108f718f92721af3b95e74349a", "cifar-10-python.tar.gz",
                      Path(pooch.os_cache("course_utils")))]
    load_cifar10(download=False)  # now found in the cache
    load_cifar10()
    assert len(calls) == 1


def test_download_without_connection_explains_how_to_stage_the_data(monkeypatch):
    def offline(*args, **kwargs):
        raise requests.exceptions.ConnectionError("Name or service not known")

    monkeypatch.setattr(pooch, "retrieve", offline)
    with pytest.raises(ConnectionError, match="internet connection") as error:
        load_cifar10()
    assert "COURSE_DATA_DIR" in str(error.value) and ARCHIVE_NAME in str(error.value)
    assert error.value.__cause__ is None and "Name or service not known" in str(error.value)


@pytest.fixture
def unreachable(monkeypatch):
    """Real downloads (pooch, requests), from a local port where nothing listens: refused at once,
    as a course server without internet refuses or fails them, whatever this machine's network.
    Returns the URL."""
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))  # bound for the test, never listening: connecting is refused
        url = f"http://127.0.0.1:{closed.getsockname()[1]}/{ARCHIVE_NAME}"
        monkeypatch.setattr(cifar10, "ARCHIVE_URL", url)
        monkeypatch.setattr(pooch, "retrieve", REAL_RETRIEVE)
        for name in ("NO_PROXY", "no_proxy"):
            monkeypatch.setenv(name, "127.0.0.1")
        yield url


def lacking(folder):
    return f"{folder} (exists, but holds neither '{FOLDER_NAME}/' nor '{ARCHIVE_NAME}')"


def test_offline_error_is_one_short_message_listing_each_folder_and_what_to_do(unreachable, monkeypatch,
                                                                                tmp_path):
    empty, staged = tmp_path / "empty", tmp_path / "staged"
    empty.mkdir()
    (staged / "cifar-10-python").mkdir(parents=True)  # a look-alike, not what is looked for
    monkeypatch.setenv("COURSE_DATA_DIR", str(staged))
    with pytest.raises(ConnectionError) as error:
        load_cifar10(empty, progress=False)
    assert type(error.value) is ConnectionError  # the canary recognises it by this name
    assert error.value.__cause__ is None and error.value.__suppress_context__
    shown = "".join(traceback.format_exception(error.value))
    assert "During handling" not in shown and "direct cause" not in shown and "urllib3" not in shown
    text = str(error.value)
    lines = text.splitlines()
    assert len(lines) <= 12, text
    assert lines[0] == ("Could not download CIFAR-10: this computer seems to have no internet connection "
                        "(course servers often have none).")
    cache = Path(pooch.os_cache("course_utils"))  # created by the attempt to download into it
    assert lines[1:5] == ["Looked for a copy in:", f"  - data_dir argument: {lacking(empty)}",
                          f"  - COURSE_DATA_DIR: {lacking(staged)}", f"  - cache folder: {lacking(cache)}"]
    assert lines[5] == f"It needs '{ARCHIVE_NAME}' (170 MB) or the folder '{FOLDER_NAME}/' extracted from it."
    assert "ask the course staff where their pre-staged copy is" in lines[6]
    assert "set the environment variable COURSE_DATA_DIR to the folder holding the copy" in lines[7]
    assert "before starting Jupyter (after setting it, restart Jupyter and the kernel)" in lines[7]
    assert lines[8] == f"  - or copy it into the cache folder {cache}."
    assert lines[-1] == f"(Tried {unreachable}: Connection refused.)"


def test_offline_error_says_that_the_folder_in_course_data_dir_does_not_exist(unreachable, monkeypatch,
                                                                               tmp_path):
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "no-such-folder"))
    with pytest.raises(ConnectionError) as error:
        load_cifar10(progress=False)
    assert f"\n  - COURSE_DATA_DIR: {tmp_path / 'no-such-folder'} (does not exist)\n" in str(error.value)
    assert error.value.__cause__ is None


def test_offline_error_describes_the_folders_as_the_download_false_error_does(unreachable, tmp_path):
    Path(pooch.os_cache("course_utils")).mkdir(parents=True)  # as the download attempt leaves it
    (tmp_path / "a-file").write_text("not a folder")
    with pytest.raises(FileNotFoundError) as not_found:
        load_cifar10(tmp_path / "a-file", download=False)
    with pytest.raises(ConnectionError) as offline:
        load_cifar10(tmp_path / "a-file", progress=False)
    shared = [line for line in str(not_found.value).splitlines() if line.startswith(("  - ", "It needs"))]
    assert f"  - data_dir argument: {tmp_path / 'a-file'} (not a folder)" in shared and len(shared) == 5
    assert shared == [line for line in str(offline.value).splitlines() if line.startswith(("  - ", "It needs"))]


class _NotFoundHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_error(404)

    def log_message(self, *args):
        pass


def test_an_http_error_gives_the_same_message_with_the_server_answer(unreachable, monkeypatch):
    server = http.server.HTTPServer(("127.0.0.1", 0), _NotFoundHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        monkeypatch.setattr(cifar10, "ARCHIVE_URL", f"http://127.0.0.1:{server.server_port}/{ARCHIVE_NAME}")
        with pytest.raises(ConnectionError) as error:
            load_cifar10(progress=False)
    finally:
        server.shutdown()
        server.server_close()
    assert str(error.value).startswith("Could not download CIFAR-10: the server answered '404 Not Found'.\n")
    assert error.value.__cause__ is None and "COURSE_DATA_DIR" in str(error.value)


def test_a_malformed_request_or_a_bug_is_not_dressed_up_as_a_network_failure(unreachable, monkeypatch):
    monkeypatch.setattr(cifar10, "ARCHIVE_URL", "http://")  # no host: a mistake, not the network's
    with pytest.raises(ConnectionError) as error:
        load_cifar10(progress=False)
    assert isinstance(error.value.__cause__, requests.exceptions.InvalidURL)

    def bug(*args, **kwargs):
        raise TypeError("a bug in the download code")

    monkeypatch.setattr(pooch, "retrieve", bug)
    with pytest.raises(TypeError, match="a bug in the download code"):
        load_cifar10(progress=False)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")
def test_loading_the_full_size_dataset_peaks_under_1_gib(tmp_path):
    # The child reads its own peak (VmHWM) and current (VmRSS) resident memory; ru_maxrss
    # would not do, as Linux carries the parent's peak across fork and exec.
    write_fake_cifar10(tmp_path, n_per_batch=10_000, n_test=10_000, form="archive",
                       compresslevel=0)
    child = textwrap.dedent(f"""
        def kib(field):
            with open("/proc/self/status") as status:
                return next(int(line.split()[1]) for line in status if line.startswith(field))
        from course_utils.data.cifar10 import load_cifar10
        before = kib("VmRSS:")
        X_train, y_train, X_test, y_test = load_cifar10({str(tmp_path)!r}, download=False)
        assert X_train.shape == (50000, 3072) and X_test.shape == (10000, 3072)
        print((kib("VmHWM:") - before) * 1024)
    """)
    result = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True,
                            check=True, timeout=120)
    extra_bytes = int(result.stdout.strip())
    print(f"peak memory growth while loading: {extra_bytes / 2**20:.0f} MiB")
    result_bytes = 60_000 * 3072 * 4 + 60_000 * 8
    assert result_bytes <= extra_bytes < 2**30, f"peak grew by {extra_bytes / 2**20:.0f} MiB"
