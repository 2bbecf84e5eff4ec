"""What a student sees in JupyterLab when a data set is not staged: their cell, one short frame of the
loader's and the message that says what to do; a damaged file keeps the frames that show where it was read.
Run in a real kernel, where IPython formats the traceback."""
import re
import socket

import nbformat
import pytest
from nbclient import NotebookClient
from traitlets.config import Config

ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture
def closed_port():
    """A local port bound for the test and never listening: connecting to it is refused at once."""
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        yield closed.getsockname()[1]


def run_cells(sources: list[str], tmp_path) -> list[str]:
    """Each cell's error traceback as IPython shows it (colours removed), run in one real kernel."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in sources])
    config = Config({"KernelManager": {"transport": "ipc", "ip": str(tmp_path / "kernel")}})
    NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True, config=config).execute()
    shown = []
    for cell in nb.cells:
        errors = [output for output in cell.outputs if output.output_type == "error"]
        assert errors, f"no error in: {cell.source}"
        shown.append(ANSI.sub("", "\n".join(errors[0].traceback)))
    return shown


def kit_frames(traceback: str) -> list[str]:
    return [line for line in traceback.splitlines() if line.startswith("File ") and "course_utils" in line]


def test_missing_data_shows_the_students_cell_one_frame_and_the_message(tmp_path, monkeypatch, closed_port):
    empty, damaged = tmp_path / "empty", tmp_path / "damaged"
    empty.mkdir()
    damaged.mkdir()
    (damaged / "cifar-10-python.tar.gz").write_bytes(b"not a tar archive" * 100)
    monkeypatch.setenv("COURSE_DATA_DIR", str(empty))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # the kernel's cache folder: empty too
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    offline, not_found, broken = run_cells([
        "from course_utils import data\nimport course_utils.data.cifar10 as cifar10\n"
        f"cifar10.ARCHIVE_URL = 'http://127.0.0.1:{closed_port}/cifar-10-python.tar.gz'  # no internet\n"
        "X_train, y_train, X_test, y_test = data.load_cifar10(progress=False)",
        "X_train, y_train, X_test, y_test = data.load_mnist(download=False)",
        f"X_train, y_train, X_test, y_test = data.load_cifar10({str(damaged)!r})",
    ], tmp_path)

    assert offline.splitlines()[1].startswith("ConnectionError"), offline
    assert "----> 4 X_train, y_train, X_test, y_test = data.load_cifar10(progress=False)" in offline
    assert len(kit_frames(offline)) == 1, offline  # was 4: load_cifar10, _find_source, _download, fetch
    assert "ConnectionError: Could not download CIFAR-10" in offline
    assert "set the environment variable COURSE_DATA_DIR" in offline

    assert not_found.splitlines()[1].startswith("FileNotFoundError"), not_found
    assert len(kit_frames(not_found)) == 1, not_found  # was 2: load_mnist, _find_folder
    assert "FileNotFoundError: MNIST not found. Looked for it in:" in not_found

    assert broken.rstrip().splitlines()[-1].startswith("CIFAR10DataError: "), broken
    assert any("cifar10.py" in frame for frame in kit_frames(broken)), broken  # where the file was read
    assert len(kit_frames(broken)) > 1, broken
