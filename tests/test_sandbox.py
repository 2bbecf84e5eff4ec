"""The grading sandbox: real kernels run small notebooks with nbclient inside bubblewrap.

Every bomb is bounded: memory is refused by the address-space limit before it is used, the fork
loop stops at its first failure (and at 200 at most) and kills its children, and busy loops are
stopped by limits of a few seconds.
"""
import shutil
import socket
import tempfile
import time
from pathlib import Path

import pytest
from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError
from nbformat.v4 import new_code_cell, new_notebook
from traitlets.config import Config

from autograder import sandbox
from autograder.sandbox import SandboxedKernelManager, SandboxPolicy, sandbox_problem

PROBLEM = sandbox_problem()
needs_sandbox = pytest.mark.skipif(PROBLEM is not None, reason=f"no sandbox possible here: {PROBLEM}")


@pytest.fixture
def course(monkeypatch):
    """A fake course root outside /tmp (the sandbox hides /tmp anyway), with a student's folder."""
    root = Path(tempfile.mkdtemp(prefix="sandbox-course-", dir="/var/tmp"))
    (root / "source" / "lab").mkdir(parents=True)
    (root / "source" / "lab" / "x.ipynb").write_text("SOLUTION")
    (root / "gradebook.db").write_text("GRADES")
    (root / "autograded" / "other" / "lab").mkdir(parents=True)
    (root / "autograded" / "other" / "lab" / "lab.ipynb").write_text("OTHER STUDENT")
    notebook_dir = root / "autograded" / "alice" / "lab"
    notebook_dir.mkdir(parents=True)
    (notebook_dir / "data.txt").write_text("relative data")
    (notebook_dir / "lab.ipynb").write_text("HIDDEN TESTS")
    home = root / "instructor-home"
    home.mkdir()
    (home / "secret.txt").write_text("INSTRUCTOR")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("SECRET_TOKEN", "s3cr3t-t0k3n")
    yield root
    shutil.rmtree(root, ignore_errors=True)


class RecordedManager(SandboxedKernelManager):
    """Remembers its last instance, which nbclient forgets once it has cleaned up."""
    last = None

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        RecordedManager.last = self


def run(course, cells, *, timeout=30, **traits):
    """Execute ``cells`` (sources) as nbgrader does, the manager configured by ``traits``.

    Returns (notebook, kernel manager, DeadKernelError or None)."""
    nb = new_notebook(cells=[new_code_cell(source) for source in cells])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    config = Config({"SandboxedKernelManager": {"course_root": str(course), **traits}})
    client = NotebookClient(nb, kernel_manager_class=RecordedManager, config=config, timeout=timeout,
                            allow_errors=True, interrupt_on_timeout=True, startup_timeout=60,
                            resources={"metadata": {"path": str(course / "autograded" / "alice" / "lab")}})
    error = None
    try:
        client.execute()
    except DeadKernelError as dead:
        error = dead
    return nb, RecordedManager.last, error


def text(cell) -> str:
    return "".join(out.get("text", "") for out in cell.outputs if out.output_type == "stream")


def error_name(cell) -> str | None:
    errors = [out.ename for out in cell.outputs if out.output_type == "error"]
    return errors[0] if errors else None


@pytest.mark.slow
@needs_sandbox
def test_a_normal_notebook_runs_with_numpy_matplotlib_course_utils_and_relative_files(course):
    nb, km, error = run(course, [
        "import numpy as np\nprint(np.arange(10).reshape(2, 5).sum(axis=1))",
        "%matplotlib inline\nimport matplotlib.pyplot as plt\nplt.plot([0, 1], [1, 0])\nplt.show()",
        "from course_utils.gradcheck import rel_error\nprint(rel_error(np.array([1.0]), np.array([1.0])))",
        "print(open('data.txt').read())",
        "import os\nprint(os.getcwd() == os.environ['HOME'], os.environ.get('NBGRADER_EXECUTION'))",
        "try:\n    import autograder\nexcept ImportError as e:\n    print('blocked:', e)",
    ])
    assert error is None and km.exit_reason is None
    assert text(nb.cells[0]).strip() == "[10 35]"
    assert any("image/png" in out.get("data", {}) for out in nb.cells[1].outputs)
    assert text(nb.cells[2]).strip() == "0.0"
    assert text(nb.cells[3]).strip() == "relative data"
    assert text(nb.cells[4]).split()[0] == "True"
    assert text(nb.cells[5]).startswith("blocked:")


@pytest.mark.slow
@needs_sandbox
def test_nothing_secret_is_reachable(course, monkeypatch):
    # a data folder that holds the course root must not reveal it
    monkeypatch.setenv("COURSE_DATA_DIR", str(course.parent))
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    listener.settimeout(0.1)
    hidden = [course / "source" / "lab" / "x.ipynb", course / "gradebook.db",
              course / "autograded" / "other" / "lab" / "lab.ipynb",
              course / "instructor-home" / "secret.txt", Path("/root/.bashrc"), Path("/etc/shadow"),
              Path("lab.ipynb")]  # the notebook (with its hidden tests) is not copied to the scratch
    reads = [f"try:\n    print(open({str(p)!r}).read())\nexcept OSError as e:\n    print('refused', type(e).__name__)"
             for p in hidden]
    try:
        nb, km, error = run(course, [
            f"import socket\ntry:\n    socket.create_connection(('127.0.0.1', {port}), timeout=2)\n    print('connected')\n"
            "except OSError as e:\n    print('refused', e)",
            "try:\n    print(socket.getaddrinfo('example.com', 80))\nexcept OSError as e:\n    print('refused', e)",
            "import os\nprint(sorted(os.environ))",
            *reads,
        ])
        with pytest.raises(socket.timeout):
            listener.accept()  # the kernel never reached the grader's loopback
    finally:
        listener.close()
    assert error is None
    assert text(nb.cells[0]).startswith("refused") and text(nb.cells[1]).startswith("refused")
    env = text(nb.cells[2])
    assert "SECRET_TOKEN" not in env and "s3cr3t" not in env and "HOME" in env
    for path, cell in zip(hidden, nb.cells[3:]):
        assert text(cell).startswith("refused"), f"{path} was readable: {text(cell)!r}"


@pytest.mark.slow
@needs_sandbox
def test_writes_stay_in_the_scratch_which_is_discarded(course):
    notebook_dir = course / "autograded" / "alice" / "lab"
    targets = [notebook_dir / "escaped.txt", course / "escaped.txt", Path("/usr/escaped.txt"),
               Path("/var/tmp/escaped-from-sandbox.txt")]
    writes = [f"try:\n    open({str(p)!r}, 'w').write('x')\n    print('written')\nexcept OSError as e:\n"
              f"    print('refused', type(e).__name__)" for p in targets]
    nb, km, error = run(course, [*writes, "open('result.txt', 'w').write('kept in scratch')\n"
                                          "print(open('result.txt').read())"])
    assert error is None
    for path, cell in zip(targets, nb.cells):
        assert text(cell).startswith("refused") and not path.exists(), f"{path} was written"
    assert text(nb.cells[-1]).strip() == "kept in scratch"
    assert not (notebook_dir / "result.txt").exists()
    private = Path(km.connection_file).parent
    assert not private.exists(), "the kernel's private folder outlived the kernel"


@pytest.mark.slow
@needs_sandbox
def test_memory_processes_and_file_sizes_are_limited(course):
    nb, km, error = run(course, [
        "import numpy as np\nbomb = np.ones(4 * 1024**3 // 8)",      # 4 GB, over the 2 GiB default
        "import os, signal, time\nchildren, failure = [], None\n"
        "for _ in range(200):\n"
        "    try:\n        pid = os.fork()\n    except OSError as e:\n        failure = e\n        break\n"
        "    if pid == 0:\n        time.sleep(30)\n        os._exit(0)\n"
        "    children.append(pid)\n"
        "for pid in children:\n    os.kill(pid, signal.SIGKILL)\n    os.waitpid(pid, 0)\n"
        "print(len(children), type(failure).__name__)",
        "open('flood.bin', 'wb').write(b'x' * (2 * 1024**2))",       # over max_file_bytes
        "for i in range(20):\n    open(f'part{i}.bin', 'wb').write(b'x' * (1024**2 - 1))",  # over scratch
        "print('still alive')",
    ], max_processes=40, max_file_bytes=1024**2, scratch_bytes=8 * 1024**2)
    assert error is None and km.exit_reason is None
    assert error_name(nb.cells[0]) == "MemoryError"
    forks, failure = text(nb.cells[1]).split()
    assert int(forks) < 40 and failure == "BlockingIOError"
    assert error_name(nb.cells[2]) == "OSError" and "File too large" in str(nb.cells[2].outputs[-1].evalue)
    assert error_name(nb.cells[3]) == "OSError" and "No space left" in str(nb.cells[3].outputs[-1].evalue)
    assert text(nb.cells[4]).strip() == "still alive"


@pytest.mark.slow
@needs_sandbox
def test_a_cell_over_its_timeout_is_interrupted_and_the_notebook_goes_on(course):
    start = time.monotonic()
    nb, km, error = run(course, ["while True:\n    pass", "print('next cell')"], timeout=2)
    assert error is None
    assert error_name(nb.cells[0]) == "KeyboardInterrupt"
    assert text(nb.cells[1]).strip() == "next cell"
    assert time.monotonic() - start < 30


@pytest.mark.slow
@needs_sandbox
def test_the_notebook_wall_time_limit_kills_the_kernel_and_says_so(course):
    start = time.monotonic()
    nb, km, error = run(course, ["import time\ntime.sleep(60)", "print('never')"], wall_seconds=6)
    assert isinstance(error, DeadKernelError)
    assert "wall time" in km.exit_reason
    assert time.monotonic() - start < 30
    assert not Path(km.connection_file).parent.exists()


@pytest.mark.slow
@needs_sandbox
def test_the_cpu_time_limit_kills_the_kernel_and_says_so(course):
    nb, km, error = run(course, ["while True:\n    pass"], cpu_seconds=4)
    assert isinstance(error, DeadKernelError)
    assert "CPU time" in km.exit_reason


def test_sandbox_problem_names_a_missing_tool(monkeypatch):
    monkeypatch.setattr(sandbox.shutil, "which", lambda tool: None if tool == "bwrap" else "/usr/bin/" + tool)
    assert sandbox_problem.__wrapped__() == "bwrap is not installed: apt-get install bubblewrap"


@pytest.mark.parametrize("field, value", [("memory_bytes", 0), ("wall_seconds", -1.0),
                                          ("cpu_seconds", True), ("hidden_paths", ("relative",))])
def test_a_bad_policy_is_refused(field, value):
    with pytest.raises(ValueError, match=field):
        SandboxPolicy(**{field: value})


@needs_sandbox
def test_a_readable_folder_deep_under_tmp_stays_readable(course, tmp_path_factory):
    # e.g. a course kit cloned under /tmp: course_utils and the data must stay importable and readable
    top = Path(tempfile.mkdtemp(prefix="kit-", dir="/tmp"))
    try:
        package = top / "deep" / "pkg"
        package.mkdir(parents=True)
        (package / "module.py").write_text("VALUE = 42\n")
        for folder in (top, top / "deep", package):
            folder.chmod(0o755)
        nb, _, error = run(course, [f"print(open({str(package / 'module.py')!r}).read())"],
                           readonly_paths=[str(package)])
        assert error is None and text(nb.cells[0]).strip() == "VALUE = 42"
    finally:
        shutil.rmtree(top)
