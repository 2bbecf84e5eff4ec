"""The grading sandbox: real kernels run small notebooks with nbclient inside bubblewrap.

What a kernel can see is checked by one sandboxed Python process walking the whole of ``/``.

Every bomb is bounded: memory is refused by the address-space limit before it is used, the fork
loop stops at its first failure (and at 200 at most) and kills its children, and busy loops are
stopped by limits of a few seconds.
"""
import asyncio
import contextlib
import ctypes
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

import pytest
from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError
from nbformat.v4 import new_code_cell, new_notebook
from traitlets.config import Config

from autograder import sandbox
from autograder.sandbox import (EXIT_CPU_TIME, EXIT_SIGNAL, EXIT_STATUS, EXIT_WALL_TIME,
                                SandboxedKernelManager, SandboxPolicy, UnsandboxedKernelManager, adopting_orphans,
                                exit_cause, sandbox_problem)

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


def text(cell, stream: str | None = None) -> str:
    """What a cell printed: on ``stream`` ("stdout" or "stderr") only, if given."""
    return "".join(out.get("text", "") for out in cell.outputs
                   if out.output_type == "stream" and stream in (None, out.get("name")))


def error_name(cell) -> str | None:
    errors = [out.ename for out in cell.outputs if out.output_type == "error"]
    return errors[0] if errors else None


def world_readable_folder(parent: str, prefix: str) -> Path:
    folder = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    folder.chmod(0o755)
    return folder


@pytest.mark.slow
@needs_sandbox
def test_a_normal_notebook_runs_with_numpy_matplotlib_course_utils_and_relative_files(course, monkeypatch):
    # the data and the instructor's extra folder lie inside the (hidden) course root: they stay readable
    for name in ("data", "extra"):
        (course / name).mkdir()
        (course / name / "file.txt").write_text(f"{name} for the kernel")
    monkeypatch.setenv("COURSE_DATA_DIR", str(course / "data"))
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")  # a grading worker's share of the cores (capacity.shared_cores)
    nb, km, error = run(course, [
        "import numpy as np\nprint(np.arange(10).reshape(2, 5).sum(axis=1))",
        "%matplotlib inline\nimport io\nimport matplotlib.pyplot as plt\nfig, ax = plt.subplots()\n"
        "ax.plot([0, 1], [1, 0], label='loss')\nax.set_title('Loss per epoch')\nax.set_xlabel('epoch')\n"
        "ax.legend()\nbuffer = io.BytesIO()\nfig.savefig(buffer, format='png')\n"
        "print(buffer.getvalue()[:4] == b'\\x89PNG')\nplt.show()",
        "from course_utils.gradcheck import rel_error\nprint(rel_error(np.array([1.0]), np.array([1.0])))",
        "print(open('data.txt').read())",
        "import os\nprint(os.getcwd() == os.environ['HOME'], os.environ.get('NBGRADER_EXECUTION'))",
        "try:\n    import autograder\nexcept ImportError as e:\n    print('blocked:', e)",
        "print(open(os.path.join(os.environ['COURSE_DATA_DIR'], 'file.txt')).read())",
        f"print(open({str(course / 'extra' / 'file.txt')!r}).read())",
        "print(os.environ.get('OPENBLAS_NUM_THREADS'))",
    ], readonly_paths=[str(course / "extra")])
    assert error is None and km.exit_reason is None and km.exit_kind is None
    assert text(nb.cells[0]).strip() == "[10 35]"
    # a figure with text renders, and nothing (e.g. fontconfig missing its settings) writes to stderr
    assert text(nb.cells[1]).strip() == "True"
    assert any("image/png" in out.get("data", {}) for out in nb.cells[1].outputs)
    assert not [out for out in nb.cells[1].outputs if out.get("name") == "stderr"], nb.cells[1].outputs
    assert text(nb.cells[2]).strip() == "0.0"
    assert text(nb.cells[3]).strip() == "relative data"
    assert text(nb.cells[4]).split()[0] == "True"
    assert text(nb.cells[5]).startswith("blocked:") and "not available to notebooks" in text(nb.cells[5])
    assert text(nb.cells[6]).strip() == "data for the kernel"
    assert text(nb.cells[7]).strip() == "extra for the kernel"
    assert text(nb.cells[8]).strip() == "1"



@needs_sandbox
def test_a_kernel_gets_matplotlibs_font_list_and_does_not_build_its_own(course):
    fonts = sandbox.font_list()
    assert fonts and Path(fonts).name.startswith("fontlist-v")
    nb, km, error = run(course, [
        f"import os\ncopy = os.path.join(os.environ['MPLCONFIGDIR'], {Path(fonts).name!r})\n"
        "written = os.stat(copy).st_mtime_ns\nprint(sorted(os.listdir(os.environ['MPLCONFIGDIR'])))",
        "import matplotlib.pyplot as plt, matplotlib.font_manager as fm\nfig, ax = plt.subplots()\n"
        "ax.set_title('Loss per epoch')\nfig.canvas.draw()\n"
        "print(os.path.isfile(fm.findfont('DejaVu Sans')), os.access(os.environ['MPLCONFIGDIR'], os.W_OK))",
        f"print(os.stat(copy).st_mtime_ns == written, open(copy).read() == {Path(fonts).read_text()!r})",
    ])
    assert error is None and km.exit_reason is None
    assert text(nb.cells[0]).strip() == str([Path(fonts).name])  # there before matplotlib is imported
    assert text(nb.cells[1]).split() == ["True", "True"]  # its fonts exist in the sandbox; the cache stays writable
    assert text(nb.cells[2]).split() == ["True", "True"]  # matplotlib read it and did not write it again
    assert not [out for cell in nb.cells for out in cell.outputs if out.get("name") == "stderr"]


@pytest.fixture
def own_cache(monkeypatch, tmp_path):
    """A user's cache of this test's own, and font_list() not yet asked in this process."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv(sandbox.FONT_LIST_ENV, raising=False)
    sandbox._font_list.cache_clear()
    yield tmp_path / "cache"
    sandbox._font_list.cache_clear()


@needs_sandbox
def test_the_font_list_is_kept_in_the_users_cache_for_the_next_grading(own_cache):
    first = Path(sandbox.font_list())
    assert first.parent.parent == own_cache / "autograder" and first.name.startswith("fontlist-v")
    built = first.stat().st_mtime_ns
    sandbox._font_list.cache_clear()  # as in the next grading's process
    assert Path(sandbox.font_list()) == first and first.stat().st_mtime_ns == built  # read, not built again
    assert [p.name for p in first.parent.iterdir()] == [first.name]  # nothing half-written left beside it


@needs_sandbox
def test_a_font_list_is_built_per_process_where_the_cache_cannot_be_written(own_cache):
    own_cache.write_text("not a folder")  # $XDG_CACHE_HOME unusable (or a read-only home)
    fonts = Path(sandbox.font_list())
    assert fonts.is_file() and fonts.parent.name.startswith("autograder-fonts-")
    assert fonts.parent.parent == Path(sandbox.PRIVATE_ROOT)  # and deleted when this process exits
    shutil.rmtree(fonts.parent)


@needs_sandbox
def test_a_deleted_font_list_is_built_again(course, own_cache):
    first = sandbox.font_list()
    shutil.rmtree(Path(first).parent)  # the user's cache cleaned while a grading runs
    again = sandbox.font_list()
    assert Path(again).is_file()
    nb, km, error = run(course, ["import matplotlib.pyplot\nprint('drawn')"])
    assert error is None and text(nb.cells[0]).strip() == "drawn"


WALK = r"""
import json, os, sys
paths = json.loads(sys.argv[1])
def attempt(action):
    try:
        return action()
    except Exception as error:
        return type(error).__name__
def allowed(path):
    return any(path == root or path.startswith(root.rstrip("/") + "/") for root in paths["allowed"])
files = []
for folder, dirs, names in os.walk("/"):
    if folder == "/":
        dirs[:] = [d for d in dirs if d not in ("proc", "dev", "sys")]
    files += [os.path.join(folder, name) for name in names]
try:
    import autograder
    blocked = "imported"
except ImportError as error:
    blocked = str(error)
print(json.dumps({
    "files": len(files), "root": sorted(os.listdir("/")), "etc": sorted(os.listdir("/etc")),
    "unexpected": [f for f in files if not allowed(f)], "of_the_copy": [f for f in files if paths["copy"] in f],
    "solution": attempt(lambda: open(paths["solution"]).read()),
    "data": attempt(lambda: open(os.path.join(os.environ["COURSE_DATA_DIR"], "file.txt")).read()),
    "extra": attempt(lambda: open(os.path.join(paths["extra"], "file.txt")).read()),
    "autograder": blocked, "autograder_folder": attempt(lambda: os.listdir(paths["autograder"])),
}))
"""


# How a kernel runs: as a uid of its own when the grader is root; else as the grader's own uid, in a user
# namespace (a root grader can run it that way too, so both are tested wherever the suite runs as root).
OWN_UID, GRADERS_UID = "a uid of its own", "the grader's uid"
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="a kernel gets a uid of its own only from a root grader")
KERNEL_UIDS = [pytest.param(OWN_UID, marks=needs_root), GRADERS_UID]


def run_sandboxed(policy: SandboxPolicy, argv: list[str], kernel_uid: str = OWN_UID,
                  notebook_dir: str | None = None) -> subprocess.CompletedProcess:
    """Run ``argv`` in the sandbox as the grader runs a kernel (its uid, or ``kernel_uid``; its environment),
    with ``notebook_dir`` (default: an empty folder) as the notebook's folder."""
    with tempfile.TemporaryDirectory(prefix="autograder-sandbox-", dir=sandbox.PRIVATE_ROOT) as private, \
            tempfile.TemporaryDirectory() as empty:
        notebook_dir = notebook_dir or empty
        connection = Path(private, "kernel.json")
        connection.write_text("{}")
        claim = sandbox._UidClaim() if os.geteuid() == 0 and kernel_uid == OWN_UID else None
        try:
            command = sandbox.sandbox_command(policy, argv, notebook_dir=notebook_dir, private_dir=private,
                                              connection_file=str(connection), uid=claim and claim.uid,
                                              env=sandbox.kernel_environment())
            return subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=private,
                                  env=sandbox.kernel_environment())
        finally:
            if claim:
                claim.release()


@pytest.fixture
def another_copy():
    """A world-readable clone of a course outside the course root (an instructor's, under /srv or /opt)."""
    parent = next(d for d in ("/srv", "/opt", "/var/tmp") if os.access(d, os.W_OK))
    copy = world_readable_folder(parent, "another-course-copy-")
    solution = copy / "source" / "lab1_initialization" / "lab1_initialization.ipynb"
    solution.parent.mkdir(parents=True)
    solution.write_text('{"cells": [{"source": "### BEGIN SOLUTION\\nW = rng.normal() * np.sqrt(2 / n)"}]}')
    solution.chmod(0o644)
    yield solution
    shutil.rmtree(copy)


@needs_sandbox
@pytest.mark.parametrize("kernel_uid", KERNEL_UIDS)
def test_a_kernel_sees_nothing_of_the_host_but_what_it_needs(another_copy, monkeypatch, kernel_uid):
    course_root = Path(sandbox.__file__).resolve().parents[1]  # the kit itself, where course_utils may live
    data = world_readable_folder(another_copy.parents[3], "course-data-")  # a sibling of the copy
    extra = world_readable_folder(another_copy.parents[3], "instructor-extra-")
    autograder_folder = sandbox.package_folder("autograder")
    try:
        for folder in (data, extra):
            (folder / "file.txt").write_text("readable")
            (folder / "file.txt").chmod(0o644)
        monkeypatch.setenv("COURSE_DATA_DIR", str(data))
        # autograder shown on purpose, as if it sat next to course_utils: its import must still fail
        policy = SandboxedKernelManager(course_root=str(course_root),
                                        readonly_paths=[str(extra), autograder_folder]).policy
        allowed = ["/usr", "/tmp", "/run", sandbox.SCRATCH, *sandbox._python_paths(), str(data), str(extra),
                   sandbox.package_folder("course_utils"), autograder_folder,
                   *[f for f in sandbox.ETC_FILES if os.path.exists(f)]]
        paths = {"allowed": allowed, "copy": another_copy.parents[2].name, "solution": str(another_copy),
                 "extra": str(extra), "autograder": autograder_folder}
        result = run_sandboxed(policy, [sys.executable, "-c", WALK, json.dumps(paths)], kernel_uid)
    finally:
        shutil.rmtree(data)
        shutil.rmtree(extra)
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)
    assert seen["files"] > 1000  # the walk did see the system and Python
    assert seen["solution"] == "FileNotFoundError" and seen["of_the_copy"] == []
    # /work, /srv, /root... hold only the shown folders (course_utils, the data, Python), nothing else
    assert seen["unexpected"] == [], "the kernel sees more of the host than it needs"
    system = {folder.lstrip("/") for folder in sandbox.SYSTEM_FOLDERS if os.path.lexists(folder)}
    assert set(seen["root"]) == system | {Path(path).parts[1] for path in allowed} | {"dev", "proc", "etc"}
    assert seen["etc"] == sorted(Path(f).name for f in sandbox.ETC_FILES if os.path.exists(f))
    assert seen["data"] == seen["extra"] == "readable"
    assert "not available to notebooks" in seen["autograder"] and seen["autograder_folder"] == ["__init__.py"]


@pytest.mark.slow
@needs_sandbox
def test_nothing_secret_is_reachable(course, monkeypatch):
    # a data folder that holds the course root must not reveal it, but a package shown inside it stays readable
    monkeypatch.setenv("COURSE_DATA_DIR", str(course.parent))
    (course / "course_utils").mkdir()
    (course / "course_utils" / "__init__.py").write_text("HELPERS = 1")
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
            f"print(open({str(course / 'course_utils' / '__init__.py')!r}).read())",
            *reads,
        ], readonly_paths=[str(course / "course_utils")])
        with pytest.raises(socket.timeout):
            listener.accept()  # the kernel never reached the grader's loopback
    finally:
        listener.close()
    assert error is None
    assert text(nb.cells[0]).startswith("refused") and text(nb.cells[1]).startswith("refused")
    env = text(nb.cells[2])
    assert "SECRET_TOKEN" not in env and "s3cr3t" not in env and "HOME" in env
    assert text(nb.cells[3]).strip() == "HELPERS = 1"
    for path, cell in zip(hidden, nb.cells[4:]):
        assert text(cell).startswith("refused"), f"{path} was readable: {text(cell)!r}"


WRITES = """import json, os, sys
places = ["/", "/run", "/dev", "/dev/shm", "/home", "/usr", sys.prefix, *sys.argv[1:], "/tmp", os.getcwd()]
written = []
for place in places:
    try:
        with open(os.path.join(place, "probe"), "w") as probe:
            probe.write("x")
        written.append(place)
    except OSError:
        pass
print(json.dumps({"written": written, "seed": sorted(os.listdir(%r)), "scratch": sorted(os.listdir())}))
""" % sandbox.SEED


@needs_sandbox
@pytest.mark.parametrize("kernel_uid", KERNEL_UIDS)
def test_a_kernel_writes_only_in_its_scratch_and_tmp_and_never_sees_the_notebook(tmp_path, kernel_uid):
    """Where the kernel's uid owns the sandbox's own folders (a user namespace), it could otherwise fill them,
    each up to half the host's memory, and read the graded notebook, with its hidden tests, from the seed."""
    notebook_dir = tmp_path / "autograded" / "alice" / "lab1"
    (notebook_dir / "images").mkdir(parents=True)
    (notebook_dir / "lab1.ipynb").write_text('{"cells": ["### BEGIN HIDDEN TESTS"]}')
    (notebook_dir / "my_data.csv").write_text("1,2\n")
    secret = tmp_path / "instructor-secret.txt"  # a link the student planted must not lead out of the sandbox
    secret.write_text("solution")
    (notebook_dir / "link").symlink_to(secret)
    for path in [tmp_path, *tmp_path.rglob("*")]:
        if not path.is_symlink():
            path.chmod(0o755 if path.is_dir() else 0o644)
    blocked = sandbox.package_folder("autograder")  # and the grader's home: hidden folders
    result = run_sandboxed(SandboxPolicy(), [sys.executable, "-c", WRITES, blocked, str(Path.home())], kernel_uid,
                           str(notebook_dir))
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)
    assert seen["written"] == ["/tmp", sandbox.SCRATCH]
    assert seen["seed"] == ["images", "link", "my_data.csv"] and seen["scratch"] == ["images", "link", "my_data.csv",
                                                                                    "probe"]
    assert "solution" not in result.stdout


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
    forks, failure = text(nb.cells[1], "stdout").split()  # Python 3.12+ warns on stderr of fork() with threads
    assert int(forks) < 40 and failure == "BlockingIOError"
    assert error_name(nb.cells[2]) == "OSError" and "File too large" in str(nb.cells[2].outputs[-1].evalue)
    assert error_name(nb.cells[3]) == "OSError" and "No space left" in str(nb.cells[3].outputs[-1].evalue)
    assert text(nb.cells[4]).strip() == "still alive"


HOARD_MEMORY = """
import ctypes, os
try:
    os.memfd_create("hoard")  # a file in memory: up to max_file_bytes each, as many as it may open
    print("memfd_create made a file")
except PermissionError:
    print("memfd_create refused")
libc = ctypes.CDLL(None, use_errno=True)
segment = libc.shmget(0, 64 * 1024**2, 0o1600)  # a System V segment: IPC_PRIVATE, IPC_CREAT | 0600
print("shmget", "refused" if segment == -1 and ctypes.get_errno() == 1 else f"made {segment}")
"""


@pytest.mark.slow
@needs_sandbox
def test_memory_outside_the_address_space_cannot_be_made(course):
    """Memory in a memfd file or a System V segment is not the kernel's address space once unmapped, so its memory
    limit did not count it (3 GiB held past the 2 GiB limit in twelve memfd files, measured)."""
    nb, km, error = run(course, [HOARD_MEMORY, "import numpy as np\nprint(np.ones(3).sum())"])
    assert error is None
    assert text(nb.cells[0], "stdout").split("\n")[:2] == ["memfd_create refused", "shmget refused"], text(nb.cells[0])
    assert text(nb.cells[1]).strip() == "3.0"


UNDER_THE_FILTER = """
import ctypes, os
from autograder.seccomp import filter_program
program = filter_program()
libc = ctypes.CDLL(None, use_errno=True)
class Program(ctypes.Structure):  # struct sock_fprog
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_char_p)]
assert libc.prctl(38, 1, 0, 0, 0) == 0  # PR_SET_NO_NEW_PRIVS, as bwrap sets it
assert libc.prctl(22, 2, ctypes.byref(Program(len(program) // 8, program)), 0, 0) == 0  # PR_SET_SECCOMP, a filter
getpid_x32 = libc.syscall(0x40000000 | 39)
print(getpid_x32 == -1 and ctypes.get_errno() == 1, os.getpid() == libc.syscall(39) > 0)
"""


@pytest.mark.skipif(platform.machine() != "x86_64", reason="x32 calls are x86_64's")
def test_the_filter_refuses_the_x32_form_of_a_call_and_lets_the_usual_one_through():
    """An x32 call is a way around a filter of x86_64 numbers: memfd_create's x32 number is another."""
    ran = subprocess.run([sys.executable, "-c", UNDER_THE_FILTER], capture_output=True, text=True, timeout=60)
    assert ran.stdout.split() == ["True", "True"], ran.stdout + ran.stderr


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
    assert "wall time" in km.exit_reason and km.exit_kind == EXIT_WALL_TIME
    assert time.monotonic() - start < 30
    assert not Path(km.connection_file).parent.exists()


@pytest.mark.slow
@needs_sandbox
def test_the_cpu_time_limit_kills_the_kernel_and_says_so(course):
    nb, km, error = run(course, ["while True:\n    pass"], cpu_seconds=4)
    assert isinstance(error, DeadKernelError)
    assert "CPU time" in km.exit_reason and km.exit_kind == EXIT_CPU_TIME


@pytest.mark.slow
@needs_sandbox
@pytest.mark.parametrize("source, kind, reason", [
    ("import os\nos._exit(3)", EXIT_STATUS, "it exited with status 3"),
    ("import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)", EXIT_SIGNAL, "it crashed (segmentation fault)"),
], ids=["exit", "crash"])
def test_a_dead_kernel_says_how_it_died(course, source, kind, reason):
    nb, km, error = run(course, [source, "print('never')"])
    assert isinstance(error, DeadKernelError)
    assert (km.exit_kind, km.exit_reason) == (kind, reason)


@needs_sandbox
def test_a_sandbox_orphaned_as_it_starts_is_killed_when_the_grading_ends():
    """A worker killed outright as its bwrap starts a sandbox, before --die-with-parent holds, orphans the sandbox's
    init (its kernel under it); the grading process adopts it and kills it. Here bwrap starts without
    --die-with-parent and is killed, which leaves the same orphan every time."""
    libc = ctypes.CDLL(None)
    with adopting_orphans():
        bwrap = subprocess.Popen(["bwrap", "--unshare-pid", "--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev",
                                  "sleep", "600"])
        deadline = time.monotonic() + 10
        while not sandbox._children(bwrap.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        [init] = sandbox._children(bwrap.pid)
        bwrap.kill()
        bwrap.wait()
        time.sleep(0.2)
        assert Path(f"/proc/{init}").exists() and init in sandbox._children(os.getpid()), "adopted, alive"
    assert not Path(f"/proc/{init}").exists(), "the orphaned sandbox outlived the grading"
    flag = ctypes.c_int(1)
    libc.prctl(sandbox.PR_GET_CHILD_SUBREAPER, ctypes.byref(flag), 0, 0, 0)
    assert flag.value == 0, "the process stayed a child subreaper after the grading"


KERNEL_HOLDER = """
import asyncio, sys
from autograder.sandbox import SandboxedKernelManager

async def hold():
    manager = SandboxedKernelManager(course_root=sys.argv[1])
    await manager.start_kernel()
    print(manager._private, flush=True)
    await asyncio.sleep(600)

asyncio.run(hold())
"""


@pytest.fixture
def hold_kernel(course):
    """``hold_kernel()`` starts a process, in a session of its own, holding a sandboxed kernel, and returns it and the
    kernel's private folder; both go at the test's end."""
    holders, folders = [], []

    def hold() -> tuple[subprocess.Popen, Path]:
        holder = subprocess.Popen([sys.executable, "-c", KERNEL_HOLDER, str(course)], stdout=subprocess.PIPE,
                                  text=True, start_new_session=True, cwd=course / "autograded" / "alice" / "lab")
        holders.append(holder)
        folders.append(Path(holder.stdout.readline().strip()))
        assert folders[-1].name.startswith("autograder-sandbox-") and (folders[-1] / "ipc").is_symlink()
        return holder, folders[-1]
    yield hold
    for holder in holders:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(holder.pid, signal.SIGKILL)
        holder.wait()
        holder.stdout.close()
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def private_folder():
    """``private_folder()`` makes a folder named as a sandbox's private folder, without its socket link; they go at
    the test's end."""
    made = []

    def make() -> Path:
        made.append(Path(tempfile.mkdtemp(prefix="autograder-sandbox-", dir=sandbox.PRIVATE_ROOT)))
        return made[-1]
    yield make
    for folder in made:
        shutil.rmtree(folder, ignore_errors=True)


@needs_sandbox
def test_private_folders_of_sandboxes_killed_outright_go_at_the_next_grading_and_live_ones_stay(
        course, hold_kernel, private_folder, request):
    """A grading killed outright with its workers (a service manager's SIGKILL to the whole group, the out-of-memory
    killer) leaves its kernels' private folders (connection file with its key, socket link) in /tmp; the next grading
    deletes them, and only them: not a live kernel's, not one just made, not another user's nor a link."""
    killed, killed_private = hold_kernel()
    live, live_private = hold_kernel()
    starting, old, others = private_folder(), private_folder(), private_folder()  # no link: starting, or killed so
    for folder in (old, others):
        os.utime(folder, (time.time() - sandbox.UNLINKED_SECONDS - 60,) * 2)
    if os.geteuid() == 0:  # (as another user, the test can make no folder of someone else's)
        os.chown(others, 65534, 65534)
    link = Path(sandbox.PRIVATE_ROOT, f"{starting.name}-link")
    link.symlink_to(course)
    request.addfinalizer(link.unlink)
    sandbox_pid = os.readlink(killed_private / "ipc").split("/")[2]
    os.killpg(killed.pid, signal.SIGKILL)
    killed.wait()
    deadline = time.monotonic() + 10
    while Path("/proc", sandbox_pid).exists() and time.monotonic() < deadline:  # until the system reaps it
        time.sleep(0.05)
    assert killed_private.is_dir(), "nothing left behind to delete: the situation was not reproduced"
    with adopting_orphans():
        assert not killed_private.exists() and not old.exists()
        assert live_private.is_dir() and starting.is_dir()
        assert others.is_dir() == (os.geteuid() == 0)
        assert link.is_symlink() and (course / "gradebook.db").read_text() == "GRADES"
    assert live.poll() is None, "the live kernel's holder was disturbed"


@pytest.mark.parametrize("code, kind", [(0, None), (1, EXIT_STATUS), (200, EXIT_STATUS),
                                        (128 + signal.SIGXCPU, EXIT_CPU_TIME),
                                        (128 + signal.SIGKILL, EXIT_SIGNAL), (-signal.SIGTERM, EXIT_SIGNAL)])
def test_an_exit_status_has_one_kind(code, kind):
    # bwrap reports a kernel killed by a signal as 128 + its number; a negative code killed bwrap itself
    cause = exit_cause(code, cpu_seconds=60)
    assert (cause and cause[0]) == kind


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


@needs_sandbox
def test_a_python_environment_closed_to_other_users_is_refused_with_the_fix(tmp_path):
    """A virtual environment in a folder only its owner may enter (mktemp's 0700): a graded kernel, another
    user (the grader is root), would silently run the base interpreter without the environment's packages;
    grading refuses. A grader that is not root runs kernels as itself: the environment is fine."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", "--system-site-packages", str(venv)], check=True)
    venv.chmod(0o700)
    code = "from autograder.sandbox import sandbox_problem; print(sandbox_problem())"
    # the kit and its dependencies from this environment: the new one's base interpreter may have none of them
    kit_and_packages = [str(Path(__file__).resolve().parents[1]), sysconfig.get_paths()["purelib"]]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(kit_and_packages)}
    said = subprocess.run([str(venv / "bin" / "python"), "-c", code], capture_output=True, text=True, env=env,
                          check=True).stdout
    if os.geteuid() != 0:  # the kernel runs as the grader's own uid, which reads its own environment
        assert said.strip() == "None"
        return
    assert "cannot read this Python environment" in said and f"{venv} (mode 700)" in said and "chmod o+rx" in said
    venv.chmod(0o755)
    assert subprocess.run([str(venv / "bin" / "python"), "-c", code], capture_output=True, text=True, env=env,
                          check=True).stdout.strip() == "None"


def test_kernels_without_the_sandbox_start_side_by_side_each_on_unix_sockets_of_its_own():
    """``--unsafe-no-sandbox``: over TCP, two kernels started at once could pick the same free port (one died with
    "Address already in use", or one's messages reached the other, which refused their signature)."""
    async def two_kernels():
        managers = [UnsandboxedKernelManager(kernel_name="python3") for _ in range(2)]
        await asyncio.gather(*(km.start_kernel() for km in managers))
        try:
            for km in managers:
                client = km.client()
                client.start_channels()
                await client.wait_for_ready(timeout=60)  # it answers its own grader
                client.stop_channels()
            return [km.get_connection_info() for km in managers]
        finally:
            await asyncio.gather(*(km.shutdown_kernel(now=True) for km in managers))

    infos = asyncio.run(two_kernels())
    assert [info["transport"] for info in infos] == ["ipc", "ipc"]
    folders = {Path(info["ip"]).parent for info in infos}
    assert len(folders) == 2 and not any(folder.exists() for folder in folders)  # removed with the kernel
