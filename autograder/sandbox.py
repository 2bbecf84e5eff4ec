"""A sandbox for the kernels that run students' notebooks during grading (bubblewrap + rlimits).

Every kernel runs inside ``bwrap`` with:

* no network (``--unshare-net``; the grader talks to the kernel over unix sockets, see below);
* a default-deny, read-only view of the host: the system's program and library folders (``/usr``;
  ``/bin``, ``/lib``... as on the host, symlinks where ``/usr`` is merged), a few files of ``/etc``
  (``ETC_FILES``, each with its reason), the kernel's Python (prefixes, site-packages),
  ``course_utils``, ``COURSE_DATA_DIR`` and the instructor's ``readonly_paths``; nothing else (no
  ``/srv``, ``/opt``, ``/var``, ``/mnt``, other homes, nor another copy of the course anywhere).
  The parents of these folders are empty; ``hidden_paths`` (the course root, the instructor's home,
  ``/root``) are emptied even inside a shown folder, and ``import autograder`` fails;
* a private scratch folder ``/home/student`` (its ``HOME`` and working directory) holding a copy
  of the notebook's folder (without its notebooks), on a size-limited tmpfs that vanishes with
  the sandbox; ``/tmp`` is another size-limited tmpfs;
* a clean environment (no instructor secrets);
* a copy of matplotlib's font list, built in a sandbox like the kernels' own and kept in the user's cache
  (``font_list``), in the kernel's matplotlib cache: each kernel would otherwise spend about 0.4 s
  building it at its first ``import matplotlib``, as a fresh cache folder makes it do;
* limits: address space (memory), CPU time, processes (threads count too), size of each file
  written (rlimits, set with ``prlimit``), and wall time per notebook (the manager kills the
  kernel at the deadline). The per-cell limit is nbgrader's ``Execute.timeout``;
* a seccomp filter (``seccomp.py``): the calls that make memory outside the address space fail.

When the grader runs as root, the kernel runs as an unprivileged uid of its own (claimed with a
lock file, so parallel kernels never share one), which makes the process limit count only this
kernel's processes and keeps root-only files unreadable. Otherwise bubblewrap puts the kernel in a
user namespace of its own.

Sockets: the kernel binds ZeroMQ ``ipc`` sockets in ``<private>/ipc/`` inside the sandbox (its
``/tmp`` tmpfs); on the host ``<private>/ipc`` is a symlink into the sandbox's root
(``/proc/<pid>/root/...``), so the same absolute paths work on both sides and the kernel cannot
write anywhere on the host's disks.

Use it from nbgrader (``nbgrader_config.py``)::

    c.Execute.kernel_manager_class = "autograder.sandbox.SandboxedKernelManager"
    c.SandboxedKernelManager.wall_seconds = 1800

and refuse to grade when ``sandbox_problem()`` returns a reason.
"""
from __future__ import annotations

import asyncio
import atexit
import contextlib
import ctypes
import fcntl
import functools
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import re
import shlex
import shutil
import signal
import site
import stat
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from traitlets import Float, Int, List, Unicode, default

from . import seccomp

GiB = 1024 ** 3
MiB = 1024 ** 2
PAGE = 4096                        # a tmpfs stores a file in whole pages
SCRATCH = "/home/student"          # the kernel's HOME and working directory inside the sandbox
SEED = "/run/notebook-folder"      # the notebook's folder but its notebooks, read-only, copied into the scratch
PRIVATE_ROOT = "/tmp"              # host folder for each kernel's private folder (short socket paths)
KERNEL_UID_FIRST = 200_000         # unprivileged uids claimed by kernels when the grader is root
KERNEL_UID_COUNT = 10_000
UID_LOCKS = Path(PRIVATE_ROOT) / "autograder-sandbox-uids"
UNLINKED_SECONDS = 3600            # a private folder without its socket link this old belongs to no live sandbox
KERNEL_SOCKETS = "autograder-kernel-"  # + the grader's pid + "-": an unsandboxed kernel's socket folder
_RUNNING: set = set()              # this process's sandboxed kernel managers that have a private folder
MPLCONFIGDIR = "/tmp/.matplotlib"  # the kernel's matplotlib settings and cache (its font list) inside the sandbox
FONT_LIST_ENV = "AUTOGRADER_FONT_LIST"  # the grader's (never the kernel's): the file font_list() built
FONT_FOLDERS = ("/usr/share/fonts", "/usr/local/share/fonts", "/etc/fonts")  # the system's fonts kernels see
PASSED_ENV = ("LANG", "LC_ALL", "MPLBACKEND", "NBGRADER_EXECUTION", "COURSE_DATA_DIR",
              "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
BLOCKED_STUB = ('raise ImportError("{name} is not available to notebooks while they are graded '
                '(the grading sandbox hides it).")\n')
# A kernel starts as ``python -m ipykernel_launcher`` does, but imports the course's course_utils first, before the
# notebook's folder is on its path (``-P``): the notebook and the judge's agent then use the course's course_utils, not
# a copy beside the student's notebook (an older release of it, or a file of the student's named course_utils.py). One
# that does not import is left to the notebook's own import, which then says why.
KERNEL_START = ("try:\n    import course_utils\nexcept Exception:\n    pass\n"
                "from ipykernel import kernelapp\nkernelapp.launch_new_instance()")
SYSTEM_FOLDERS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")  # shown where they exist
ETC_FILES = {  # the only parts of /etc a kernel sees, and why (shown where they exist)
    "/etc/ld.so.cache": "the dynamic loader finds libraries outside its default folders through it",
    "/etc/localtime": "local time as on the host (time.localtime, datetime.now); UTC without it",
    "/etc/alternatives": "Debian's links for programs and libraries (a packaged NumPy's libblas.so.3)",
    "/etc/fonts": "fontconfig's settings: matplotlib runs fc-list, which else prints errors into cells",
}
# How a sandboxed kernel died (SandboxedKernelManager.exit_kind):
EXIT_WALL_TIME = "wall_time"   # the notebook's wall time ran out: the manager killed the sandbox
EXIT_CPU_TIME = "cpu_time"     # the CPU time limit (SIGXCPU)
EXIT_SIGNAL = "signal"         # any other signal: a crash, the out-of-memory killer
EXIT_STATUS = "exit"           # a non-zero exit status
SIGNAL_REASONS = {
    signal.SIGXCPU: "it used up its CPU time limit ({cpu_seconds} s)",
    signal.SIGKILL: "it was killed (SIGKILL), e.g. by the system's out-of-memory killer",
    signal.SIGSEGV: "it crashed (segmentation fault)",
    signal.SIGABRT: "it aborted (SIGABRT), e.g. after failing to allocate memory",
}


def size_text(n: int) -> str:
    """``n`` bytes in GiB or MiB, as limits are written ("2 GiB", "256 MiB")."""
    return f"{n / GiB:g} GiB" if n >= GiB else f"{n / MiB:g} MiB"


def package_folder(name: str) -> str | None:
    """The folder of an installed package (found without importing it), or None."""
    spec = importlib.util.find_spec(name)
    locations = list(spec.submodule_search_locations or []) if spec else []
    return locations[0] if locations else None


def _default_hidden_paths() -> tuple[str, ...]:
    return tuple(dict.fromkeys([str(Path.home()), "/root"]))


def _default_readonly_paths() -> tuple[str, ...]:
    paths = [package_folder("course_utils"), os.environ.get("COURSE_DATA_DIR")]
    return tuple(p for p in paths if p)


@dataclass(frozen=True)
class SandboxPolicy:
    """What a sandboxed kernel may use. Sizes in bytes, times in seconds (all > 0).

    The kernel sees only the system's folders, ``ETC_FILES``, Python's own folders and
    ``readonly_paths``; ``hidden_paths`` are replaced by empty folders wherever they lie inside one of
    these, and ``readonly_paths`` stay readable even inside a hidden path; ``blocked_packages`` cannot
    be imported, even when they lie inside a shown folder (e.g. next to ``course_utils``).
    """
    memory_bytes: int = 2 * GiB        # address space of each process (RLIMIT_AS)
    cpu_seconds: int = 3600            # CPU time of each process (RLIMIT_CPU); threads add up
    max_processes: int = 128           # processes and threads of the kernel's uid (RLIMIT_NPROC)
    max_file_bytes: int = 256 * MiB    # size of any one file written (RLIMIT_FSIZE)
    scratch_bytes: int = 512 * MiB     # size of the scratch tmpfs, and of /tmp (each)
    wall_seconds: float = 1800.0       # wall time of the whole notebook
    hidden_paths: tuple[str, ...] = field(default_factory=_default_hidden_paths)
    readonly_paths: tuple[str, ...] = field(default_factory=_default_readonly_paths)
    blocked_packages: tuple[str, ...] = ("autograder",)

    def __post_init__(self):
        for name in ("memory_bytes", "cpu_seconds", "max_processes", "max_file_bytes",
                     "scratch_bytes", "wall_seconds"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise ValueError(f"SandboxPolicy.{name} must be a positive number, got {value!r}.")
        for name in ("hidden_paths", "readonly_paths"):
            relative = [p for p in getattr(self, name) if not os.path.isabs(p)]
            if relative:
                raise ValueError(f"SandboxPolicy.{name} must hold absolute paths, got {relative}.")


# -- the bwrap command ----------------------------------------------------------------------------

def _python_paths() -> list[str]:
    """Folders the kernel's Python needs: its prefixes and site-packages."""
    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix,
             str(Path(os.path.realpath(sys.executable)).parent.parent), *site.getsitepackages()}
    if site.ENABLE_USER_SITE:
        paths.add(site.getusersitepackages())
    return sorted(p for p in paths if os.path.isdir(p))


def _is_within(path: str, folder: str) -> bool:
    return os.path.commonpath([path, folder]) == folder


def _visible(path: str, shown: set[str], hidden: set[str]) -> bool:
    """Whether ``path`` is shown: the deepest shown or hidden folder holding it is a shown one."""
    holders = [(len(Path(p).parts), True) for p in shown if _is_within(path, p)]
    holders += [(len(Path(p).parts), False) for p in hidden if _is_within(path, p)]
    return max(holders, default=(0, False))[1]


def _make_parents(path: str, made: set[str]) -> list[str]:
    """bwrap options creating the folders above ``path`` (0755: bwrap would make some 0700)."""
    options = []
    for parent in map(str, reversed(Path(path).parents[:-1])):
        if parent not in made:
            made.add(parent)
            options += ["--perms", "0755", "--dir", parent]
    return options


def _system_links() -> list[str]:
    """bwrap options recreating the system folders that are symlinks (merged /usr: /bin -> usr/bin)."""
    return [option for folder in SYSTEM_FOLDERS if os.path.islink(folder)
            for option in ("--symlink", os.readlink(folder), folder)]


def _shown_paths(policy: SandboxPolicy) -> set[str]:
    """Everything of the host the kernel may read: system, /etc files, Python and readonly_paths."""
    system = [folder for folder in SYSTEM_FOLDERS if not os.path.islink(folder)]
    paths = [*system, *ETC_FILES, *_python_paths(), *policy.readonly_paths]
    return {os.path.abspath(p) for p in paths if os.path.exists(p)}


def _hidden_paths(policy: SandboxPolicy) -> set[str]:
    """``hidden_paths`` by their own and their real names (a symlinked course root stays hidden)."""
    existing = [p for p in policy.hidden_paths if os.path.exists(p)]
    return {os.path.abspath(p) for p in existing} | {os.path.realpath(p) for p in existing}


def _view(shown: set[str], hidden: set[str], made: set[str]) -> list[str]:
    """bwrap options binding the ``shown`` paths read-only, with ``hidden`` paths inside them emptied.

    Parents before children, whichever set they come from: a folder shown inside a hidden one
    stays visible, a folder hidden inside a shown one stays hidden.
    """
    masked = {p for p in hidden if any(_is_within(p, s) for s in shown)}
    shown = {p for p in shown if not _visible(p, shown - {p}, masked)}  # not already seen through another
    options = []
    for _, is_shown, path in sorted([(len(Path(p).parts), False, p) for p in masked] +
                                    [(len(Path(p).parts), True, p) for p in shown]):
        options += _make_parents(path, made)
        if is_shown:
            options += ["--ro-bind", path, path]
        elif os.path.isdir(path):
            options += ["--perms", "0755", "--tmpfs", path]
        else:
            options += ["--ro-bind", "/dev/null", path]
    return options


def _blocked(packages: tuple[str, ...], private_dir: str, made: set[str]) -> list[str]:
    """bwrap options replacing the folder of each package of ``packages``, wherever it is installed,
    by one holding only a stub ``__init__.py`` whose import fails and says why.

    Writes the stubs into ``private_dir``.
    """
    options = []
    for name in packages:
        folder = package_folder(name)
        if folder:
            stub = Path(private_dir, f"blocked-{name}.py")
            stub.write_text(BLOCKED_STUB.format(name=name), encoding="utf-8")
            options += _make_parents(folder, made) + [
                "--perms", "0755", "--tmpfs", folder, "--ro-bind", str(stub), f"{folder}/__init__.py"]
    return options


def _setup_script(policy: SandboxPolicy, ipc_dir: str, uid: int | None, fonts: str | None = None) -> str:
    """Shell run first inside the sandbox: fill the scratch (and matplotlib's cache with ``fonts``, a file
    inside the sandbox), then start the kernel with the limits."""
    limits = (f"prlimit --as={policy.memory_bytes} --cpu={policy.cpu_seconds}:{policy.cpu_seconds + 5} "
              f"--nproc={policy.max_processes} --fsize={policy.max_file_bytes} --core=0 --")
    steps = [f"cp -R {SEED}/. {SCRATCH}/", f"mkdir {shlex.quote(ipc_dir)}", f"mkdir {MPLCONFIGDIR}"]
    if fonts:
        steps.append(f"cp {shlex.quote(fonts)} {MPLCONFIGDIR}/")
    if uid is None:  # user namespace: the kernel keeps the grader's (unprivileged) uid
        steps.append(f'exec {limits} "$@"')
    else:            # root inside the sandbox: drop to the kernel's uid
        steps += [f"chown -R {uid}:{uid} {SCRATCH} {shlex.quote(ipc_dir)} {MPLCONFIGDIR}",
                  f"exec {limits} setpriv --reuid={uid} --regid={uid} --clear-groups "
                  f'--inh-caps=-all --bounding-set=-all --no-new-privs -- "$@"']
    return "set -e; " + "; ".join(steps)


def _seed(notebook_dir: str) -> list[str]:
    """bwrap options showing at SEED what the notebook's folder holds but its notebooks (the one graded holds
    the hidden tests): files and folders read-only, symbolic links as links, followed inside the sandbox only."""
    options = ["--perms", "0755", "--dir", SEED]
    for entry in sorted(os.scandir(notebook_dir), key=lambda entry: entry.name):
        inside = f"{SEED}/{entry.name}"
        if entry.name.endswith(".ipynb"):
            continue
        if entry.is_symlink():
            options += ["--symlink", os.readlink(entry.path), inside]
        elif entry.is_dir() or entry.is_file():
            options += ["--ro-bind", entry.path, inside]
    return options


def scratch_files(notebook_dir: str) -> list[tuple[int, str]]:
    """(bytes it takes in the scratch's tmpfs, its path in ``notebook_dir``) of each file that ``_seed`` shows and the
    sandbox's set-up copies into the scratch, the largest first: all but the notebooks at the top (links not followed)."""
    files = []
    for folder, _, names in os.walk(notebook_dir):
        for name in names:
            path = os.path.join(folder, name)
            if folder == notebook_dir and name.endswith(".ipynb"):
                continue
            info = os.lstat(path)
            if stat.S_ISREG(info.st_mode):
                files.append((-(-info.st_size // PAGE) * PAGE, os.path.relpath(path, notebook_dir)))
    return sorted(files, reverse=True)


def _read_only(args: list[str]) -> list[str]:
    """bwrap options making read-only the sandbox's root, its /dev and every tmpfs in ``args`` but /tmp and the
    scratch, once filled. With a user namespace the kernel's uid owns them: it could fill them (each may take
    half the host's memory, out of the kernel's own limits) and write into the hidden and blocked folders."""
    writable = ("/tmp", SCRATCH)
    tmpfs = [folder for option, folder in zip(args, args[1:]) if option == "--tmpfs" and folder not in writable]
    return [option for path in ["/", "/dev", *tmpfs] for option in ("--remount-ro", path)]


def sandbox_command(policy: SandboxPolicy, kernel_cmd: list[str], *, notebook_dir: str,
                    private_dir: str, connection_file: str, uid: int | None,
                    env: dict[str, str], fonts: str | None = None, seccomp_fd: int | None = None) -> list[str]:
    """The command line running ``kernel_cmd`` in the sandbox.

    ``notebook_dir``, but its notebooks, is copied into the scratch; ``private_dir`` (under /tmp) holds
    ``connection_file`` (bound read-only) and, inside the sandbox only, the ``ipc`` socket folder;
    ``uid`` is the kernel's uid when the grader is root, None otherwise (user namespace);
    ``env`` is the kernel's whole environment; ``fonts``, a matplotlib font list (``font_list``), is
    copied into the kernel's matplotlib cache; ``seccomp_fd``, an inherited file descriptor holding a seccomp filter
    (``seccomp.filter_fd``), the system calls the kernel may not make. Writes the stubs of ``blocked_packages`` into
    ``private_dir``.
    """
    args = ["bwrap", "--die-with-parent", "--unshare-net", "--unshare-pid", "--unshare-ipc",
            "--unshare-uts", "--unshare-cgroup-try", "--hostname", "sandbox",
            "--dev", "/dev", "--proc", "/proc", "--perms", "0755", "--tmpfs", "/run",
            "--perms", "1777", "--size", str(policy.scratch_bytes), "--tmpfs", "/tmp", *_system_links()]
    if uid is None:
        args.append("--unshare-user")
    if seccomp_fd is not None:
        args += ["--seccomp", str(seccomp_fd)]
    made = {"/dev", "/proc", "/run", "/tmp"}  # mounted above: never made again
    args += _view(_shown_paths(policy), _hidden_paths(policy), made)
    args += _blocked(policy.blocked_packages, private_dir, made)
    args += _make_parents(private_dir, made) + _make_parents(SCRATCH, made)
    inside_fonts = fonts and os.path.join(private_dir, os.path.basename(fonts))
    args += ["--perms", "0755", "--dir", private_dir, "--ro-bind", connection_file, connection_file,
             *(["--ro-bind", fonts, inside_fonts] if fonts else []), *_seed(notebook_dir),
             "--perms", "0755", "--size", str(policy.scratch_bytes), "--tmpfs", SCRATCH]
    args += _read_only(args) + ["--chdir", SCRATCH, "--clearenv"]
    for name, value in env.items():
        args += ["--setenv", name, value]
    ipc_dir = os.path.join(private_dir, "ipc")
    return args + ["--", "sh", "-c", _setup_script(policy, ipc_dir, uid, inside_fonts), "sandbox", *kernel_cmd]


def kernel_environment(environ=None) -> dict[str, str]:
    """The kernel's whole environment: a few harmless variables of the grader's, and fixed ones."""
    environ = os.environ if environ is None else environ
    env = {name: environ[name] for name in PASSED_ENV if name in environ}
    env.setdefault("LANG", "C.UTF-8")
    env.update(PATH=f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin", HOME=SCRATCH,
               TMPDIR="/tmp", IPYTHONDIR="/tmp/.ipython", MPLCONFIGDIR=MPLCONFIGDIR,
               MALLOC_ARENA_MAX="2",  # few malloc arenas: threads must not eat the address space
               PYTHONUTF8="1",        # files and pipes in UTF-8, as on students' machines, whatever the host's locale
               JPY_PARENT_PID="1")    # the kernel's parent is the sandbox's init: no parent polling
    return env


# -- is a sandbox possible here? ---------------------------------------------------------------

class _UidClaim:
    """An unprivileged uid no other kernel on this machine uses while the claim is held."""

    def __init__(self):
        UID_LOCKS.mkdir(mode=0o700, exist_ok=True)
        for uid in range(KERNEL_UID_FIRST, KERNEL_UID_FIRST + KERNEL_UID_COUNT):
            lock = open(UID_LOCKS / str(uid), "a", encoding="utf-8")
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                lock.close()
                continue
            self.uid, self._lock = uid, lock
            return
        raise RuntimeError(f"All {KERNEL_UID_COUNT} sandbox uids are in use; wait for kernels to finish.")

    def release(self) -> None:
        self._lock.close()


def _explain_failure(stderr: str) -> str:
    text = stderr.strip().splitlines()[-1] if stderr.strip() else "no message"
    lowered = stderr.lower()
    if "namespace" in lowered or "uid map" in lowered or "setting up uid" in lowered:
        return (f"user namespaces are disabled on this machine (bwrap: {text}): enable them with "
                "`sysctl kernel.unprivileged_userns_clone=1` and `sysctl user.max_user_namespaces=10000` "
                "(Ubuntu 24.04: also `sysctl kernel.apparmor_restrict_unprivileged_userns=0`), or run "
                "the grader as root.")
    if "operation not permitted" in lowered:
        return (f"this machine (or container) forbids the namespaces and mounts bubblewrap needs "
                f"(bwrap: {text}): in Docker, run the container with `--security-opt seccomp=unconfined "
                "--security-opt apparmor=unconfined` or `--privileged`.")
    return f"bubblewrap could not start a sandbox here (bwrap: {text})."


def run_in_sandbox(policy: SandboxPolicy, argv: list[str], files: dict[str, str] | None = None,
                   timeout: float = 60) -> subprocess.CompletedProcess:
    """Run ``argv`` as a graded kernel runs, in the sandbox ``policy`` describes, with ``files`` (name ->
    text) in its notebook folder; its output is captured. Raises OSError or TimeoutExpired if it cannot."""
    with tempfile.TemporaryDirectory(prefix="autograder-sandbox-", dir=PRIVATE_ROOT) as private, \
            tempfile.TemporaryDirectory() as notebook_dir:
        for name, text in (files or {}).items():
            Path(notebook_dir, name).write_text(text, encoding="utf-8")
        connection = Path(private, "kernel.json")
        connection.write_text("{}", encoding="utf-8")
        claim = _UidClaim() if os.geteuid() == 0 else None
        try:
            with seccomp.filter_fd() as seccomp_fd:
                command = sandbox_command(policy, argv, notebook_dir=notebook_dir, private_dir=private,
                                          connection_file=str(connection), uid=claim and claim.uid,
                                          env=kernel_environment(), seccomp_fd=seccomp_fd)
                return subprocess.run(command, capture_output=True, encoding="utf-8", errors="replace",
                                      timeout=timeout, env=kernel_environment(), cwd=private,
                                      pass_fds=() if seccomp_fd is None else (seccomp_fd,))
        finally:
            if claim:
                claim.release()


@functools.cache
def sandbox_problem() -> str | None:
    """None if a sandboxed kernel can run here (a real self-test passes), else why not and how to fix it."""
    if not sys.platform.startswith("linux"):
        return f"the grading sandbox needs Linux (bubblewrap); this is {sys.platform}."
    for tool, package in (("bwrap", "bubblewrap"), ("prlimit", "util-linux"), ("setpriv", "util-linux")):
        if shutil.which(tool) is None:
            return f"{tool} is not installed: apt-get install {package}"
    probe = ("import socket, os, sys\n"
             "assert os.getcwd() == %r and os.path.exists('data.txt')\n"
             "try:\n    socket.create_connection(('1.1.1.1', 53), timeout=1)\nexcept OSError:\n"
             "    print('sandbox ok', sys.prefix)\n") % SCRATCH
    try:
        result = run_in_sandbox(SandboxPolicy(), [sys.executable, "-c", probe], {"data.txt": "x"})
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"bubblewrap could not start a sandbox here: {error}."
    if result.returncode != 0 or "sandbox ok" not in result.stdout:
        return _explain_failure(result.stderr)
    if result.stdout.split("sandbox ok", 1)[1].strip() != sys.prefix:
        return _unreadable_environment()
    return None


FONT_LIST_SCRIPT = ("import sys, matplotlib, matplotlib.font_manager as fm\n"
                    "name = f'fontlist-v{fm.FontManager.__version__}.json'\n"
                    "sys.stdout.write(name + '\\n' + open(f'{matplotlib.get_cachedir()}/{name}').read())\n")
_font_list_lock = threading.Lock()


def font_list() -> str | None:
    """A file holding matplotlib's font list as a sandboxed kernel builds it, for every kernel to copy into
    its cache; None when the kernels' Python has no matplotlib or no sandbox is possible.

    Built in a sandbox by the first grading that needs it, and kept in the user's cache (``font_cache``) until
    the Python environment, matplotlib or the system's fonts change; where that cache cannot be written, built
    once per process and deleted when it exits. The grader passes it on to its workers in ``FONT_LIST_ENV``.
    """
    with _font_list_lock:  # one build, even when asked from a thread while another builds it
        path = _font_list()
        if path and not os.path.isfile(path):  # deleted under us (a cleaned cache or /tmp): build it again
            _font_list.cache_clear()
            path = _font_list()
        return path


def font_cache() -> Path | None:
    """The folder of the user's cache (``$XDG_CACHE_HOME``, by default ``~/.cache``) for the kernels' font list
    of this Python environment, its matplotlib and the system's font folders as they are now; None without
    matplotlib or when that folder cannot be written."""
    try:
        version = importlib.metadata.version("matplotlib")
    except importlib.metadata.PackageNotFoundError:
        return None
    try:  # a font folder removed while it is read, or no home: the list is then built for this process only
        fonts = [(folder, os.stat(folder).st_mtime_ns) for top in FONT_FOLDERS for folder, _, _ in os.walk(top)]
        key = hashlib.sha256(json.dumps([sys.prefix, version, fonts]).encode()).hexdigest()[:16]
        folder = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "autograder" / f"fonts-{key}"
        folder.mkdir(parents=True, exist_ok=True)
    except (OSError, RuntimeError):  # RuntimeError: Path.home() without HOME or a passwd entry
        return None
    return folder if os.access(folder, os.W_OK) else None


@functools.cache
def _font_list() -> str | None:
    given = os.environ.get(FONT_LIST_ENV)
    if given and os.path.isfile(given):
        return given
    if sandbox_problem():
        return None
    folder = font_cache()
    kept = sorted(folder.glob("fontlist-v*.json")) if folder else []
    if kept:
        return str(kept[-1])
    try:
        result = run_in_sandbox(SandboxPolicy(), [sys.executable, "-c", FONT_LIST_SCRIPT])
    except (OSError, subprocess.TimeoutExpired):
        return None
    name, _, content = result.stdout.partition("\n")
    if result.returncode != 0 or not content or not re.fullmatch(r"fontlist-v[\w.]+\.json", name):
        return None
    if folder is None:
        folder = Path(tempfile.mkdtemp(prefix="autograder-fonts-", dir=PRIVATE_ROOT))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
    written = folder / f".{name}.{os.getpid()}"  # whole or not at all, for a grader beside this one
    written.write_text(content, encoding="utf-8")
    os.replace(written, folder / name)
    return str(folder / name)


def _unreadable_environment() -> str:
    """Why graded kernels do not get the grader's Python environment: its folders are closed to other users."""
    closed = [p for p in _python_paths() if os.stat(p).st_mode & 0o005 != 0o005]
    where = ", ".join(f"{p} (mode {os.stat(p).st_mode & 0o777:o})" for p in closed) or sys.prefix
    return (f"graded kernels run as an unprivileged user, who cannot read this Python environment: {where}. "
            f"Make it readable by other users (chmod o+rx on those folders) or create it in a folder that is, "
            "then run the command again.")


# -- the kernel manager -----------------------------------------------------------------------------

def exit_cause(code: int, cpu_seconds: int) -> tuple[str, str] | None:
    """The kind (``EXIT_*``) and the reason of the sandbox's exit status ``code``; None for 0.

    bwrap exits with 128 + the signal's number when a signal killed the kernel; a negative code
    is a signal that killed bwrap itself.
    """
    signum = -code if code < 0 else code - 128
    if signum in signal.valid_signals():
        kind = EXIT_CPU_TIME if signum == signal.SIGXCPU else EXIT_SIGNAL
        reason = SIGNAL_REASONS.get(signum, f"it was stopped by signal {signum} ({signal.strsignal(signum)})")
        return kind, reason.format(cpu_seconds=cpu_seconds)
    return (EXIT_STATUS, f"it exited with status {code}") if code else None


def _children(pid: int) -> list[int]:
    """Host pids of the children of process ``pid`` (of any of its threads), oldest first per thread (empty once it
    has gone)."""
    children = []
    try:
        listings = sorted(Path(f"/proc/{pid}/task").glob("*/children"))
    except OSError:  # it exited while its threads were listed
        return children
    for listing in listings:
        with contextlib.suppress(OSError):
            children += [int(child) for child in listing.read_text(encoding="utf-8").split()]
    return children


def _kill_tree(pid: int) -> None:
    """Kill process ``pid`` and every process under it, each stopped first so that it starts no more. A sandbox's
    init takes the whole sandbox with it; bwrap's --die-with-parent alone misses a sandbox killed as it starts."""
    try:
        os.kill(pid, signal.SIGSTOP)
    except (ProcessLookupError, PermissionError):
        return
    for child in _children(pid):
        _kill_tree(child)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signal.SIGKILL)


PR_SET_CHILD_SUBREAPER, PR_GET_CHILD_SUBREAPER = 36, 37  # prctl(2)


@contextlib.contextmanager
def adopting_orphans():
    """Within it, this process adopts the processes orphaned below it (a child subreaper) instead of the system's
    init; leaving it kills every sandbox among them (``kill_orphaned_sandboxes``). Entering and leaving it delete what
    gradings killed outright (earlier ones, or this one's workers) left in ``PRIVATE_ROOT``
    (``remove_abandoned_private_folders``).

    A grading worker killed outright (SIGKILL, the out-of-memory killer) as it starts a sandbox can orphan that
    sandbox before bwrap's --die-with-parent holds: its init and an idle kernel would live on for good.
    """
    remove_abandoned_private_folders()
    libc = ctypes.CDLL(None, use_errno=True)
    before = ctypes.c_int(0)
    libc.prctl(PR_GET_CHILD_SUBREAPER, ctypes.byref(before), 0, 0, 0)
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    try:
        yield
    finally:
        kill_orphaned_sandboxes()
        remove_abandoned_private_folders()
        libc.prctl(PR_SET_CHILD_SUBREAPER, before.value, 0, 0, 0)


def remove_abandoned_private_folders() -> None:
    """Delete this user's sandbox private folders whose sandbox is gone, and the socket folders of unsandboxed kernels
    whose grading process is gone: a grading killed outright together with its workers (a service manager's SIGKILL
    to the whole group, the out-of-memory killer) had no time to.

    Other users' folders, and anything that is not a folder, are never touched.
    """
    root = Path(PRIVATE_ROOT)
    for folders, gone in ((root.glob("autograder-sandbox-*"), _sandbox_gone),
                          (root.glob(f"{KERNEL_SOCKETS}*"), _grader_gone)):
        for folder in folders:
            try:
                info = folder.lstat()
            except OSError:
                continue
            if folder != UID_LOCKS and stat.S_ISDIR(info.st_mode) and info.st_uid == os.geteuid() \
                    and gone(folder, changed=info.st_mtime):
                shutil.rmtree(folder, ignore_errors=True)


def _grader_gone(sockets: Path, changed: float) -> bool:
    """True if the process that made the unsandboxed kernel's socket folder ``sockets`` (its pid is in the name) is
    gone: no grader can talk to that kernel any more, whenever the folder last ``changed``."""
    pid = re.match(rf"{KERNEL_SOCKETS}(\d+)-", sockets.name)
    return pid is not None and not Path("/proc", pid.group(1)).exists()


def _sandbox_gone(private: Path, changed: float) -> bool:
    """True if no sandbox uses the private folder ``private`` (last changed at ``changed``, a time.time() value) any
    more.

    Its ``ipc`` link names the sandbox's process (``/proc/<pid>/root/...``): gone once no process has that pid (one
    that took the pid over keeps the folder a while longer, never the other way round). Without the link (a sandbox
    killed as it started, a sandboxed probe), gone after ``UNLINKED_SECONDS``, far longer than either takes.
    """
    try:
        target = os.readlink(private / "ipc")
    except FileNotFoundError:
        return time.time() - changed > UNLINKED_SECONDS
    except OSError:
        return False
    pid = re.match(r"/proc/(\d+)/", target)
    return pid is not None and not Path("/proc", pid.group(1)).exists()


def kill_orphaned_sandboxes() -> None:
    """Kill and reap the sandboxes this process adopted: children it never started itself, which are the init of a
    pid namespace (a sandbox whose bwrap died). Its own children (bwrap, workers) live in its namespace."""
    for child in _children(os.getpid()):
        try:
            with open(f"/proc/{child}/status", encoding="utf-8") as status:
                depth = next((len(line.split()) - 1 for line in status if line.startswith("NSpid:")), 1)
        except OSError:
            continue
        if depth > 1:
            _kill_tree(child)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(child, 0)


def kill_kernels() -> None:
    """Kill every kernel this process started, with its sandbox, and delete the sandboxes' private folders (a
    grading worker told to stop)."""
    for child in _children(os.getpid()):
        _kill_tree(child)
    for manager in list(_RUNNING):
        manager._discard()


def course_utils_first(kernel_cmd: list[str]) -> list[str]:
    """A kernelspec's ``[python, "-m", "ipykernel_launcher", *args]`` as ``[python, "-P", "-c", KERNEL_START, *args]``;
    any other command unchanged."""
    if kernel_cmd[1:3] != ["-m", "ipykernel_launcher"]:
        return kernel_cmd
    return [kernel_cmd[0], "-P", "-c", KERNEL_START, *kernel_cmd[3:]]


class CourseUtilsFirst:
    """Kernel managers' part: the kernel imports the course's course_utils first (``course_utils_first``)."""

    def format_kernel_cmd(self, extra_arguments=None):
        return course_utils_first(super().format_kernel_cmd(extra_arguments))


class SandboxedKernelManager(CourseUtilsFirst, AsyncKernelManager):
    """Starts each kernel inside the sandbox described by its traits (one kernel per manager).

    After the kernel has died, ``exit_reason`` says why when a limit or a crash stopped it
    (None after a normal shutdown), and ``exit_kind`` names the cause with one of the ``EXIT_*``
    constants; the reason is also logged as an error.
    """
    memory_bytes = Int(SandboxPolicy.memory_bytes, config=True, help="Address space per process (bytes).")
    cpu_seconds = Int(SandboxPolicy.cpu_seconds, config=True, help="CPU time per process (s).")
    max_processes = Int(SandboxPolicy.max_processes, config=True, help="Processes and threads.")
    max_file_bytes = Int(SandboxPolicy.max_file_bytes, config=True, help="Size of any file written.")
    scratch_bytes = Int(SandboxPolicy.scratch_bytes, config=True, help="Size of the scratch and of /tmp.")
    wall_seconds = Float(SandboxPolicy.wall_seconds, config=True, help="Wall time of the whole notebook (s).")
    course_root = Unicode(config=True, help="Hidden from the kernel; default: nbgrader's course root.")
    hidden_paths = List(Unicode(), config=True, help="More folders hidden from the kernel.")
    readonly_paths = List(Unicode(), config=True, help="More folders the kernel may read.")
    blocked_packages = List(Unicode(), list(SandboxPolicy.blocked_packages), config=True,
                            help="Packages the kernel cannot import.")

    exit_reason: str | None = None
    exit_kind: str | None = None

    @default("course_root")
    def _course_root_default(self) -> str:
        root = self.config.get("CourseDirectory", {}).get("root")
        return str(root) if root else os.getcwd()

    @property
    def policy(self) -> SandboxPolicy:
        base = SandboxPolicy()
        return replace(base, memory_bytes=self.memory_bytes, cpu_seconds=self.cpu_seconds,
                       max_processes=self.max_processes, max_file_bytes=self.max_file_bytes,
                       scratch_bytes=self.scratch_bytes, wall_seconds=self.wall_seconds,
                       hidden_paths=(*base.hidden_paths, os.path.abspath(self.course_root), *self.hidden_paths),
                       readonly_paths=(*base.readonly_paths, *self.readonly_paths),
                       blocked_packages=tuple(self.blocked_packages))

    async def _async_pre_start_kernel(self, **kw):
        problem = sandbox_problem()
        if problem:
            raise RuntimeError(f"Cannot start a sandboxed kernel: {problem}")
        self._private = tempfile.mkdtemp(prefix="autograder-sandbox-", dir=PRIVATE_ROOT)
        self._uid_claim, self._timer, self._sandbox_pid = None, None, None
        _RUNNING.add(self)
        self.transport = "ipc"  # unix sockets: the sandbox has no network, not even loopback
        self.ip = os.path.join(self._private, "ipc", "kernel")
        self.connection_file = os.path.join(self._private, "kernel.json")
        try:
            return await super()._async_pre_start_kernel(**kw)
        except BaseException:
            self._discard()
            raise

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        try:
            notebook_dir = os.path.abspath(kw.pop("cwd", None) or os.getcwd())
            if os.geteuid() == 0:
                self._uid_claim = _UidClaim()
                os.chown(self.connection_file, self._uid_claim.uid, self._uid_claim.uid)
            with seccomp.filter_fd() as seccomp_fd:
                command = sandbox_command(self.policy, kernel_cmd, notebook_dir=notebook_dir,
                                          private_dir=self._private, connection_file=self.connection_file,
                                          uid=self._uid_claim and self._uid_claim.uid, env=kernel_environment(),
                                          fonts=font_list(), seccomp_fd=seccomp_fd)
                self.log.debug("Sandboxed kernel: %s", shlex.join(command))
                kw.update(cwd=self._private, env=kernel_environment(),
                          pass_fds=() if seccomp_fd is None else (seccomp_fd,))  # bwrap reads the filter from it
                await super()._async_launch_kernel(command, **kw)
            await self._link_sockets()
        except BaseException:
            self._discard()
            raise
        self._timer = threading.Timer(self.policy.wall_seconds, self._stop_at_deadline)
        self._timer.daemon = True
        self._timer.start()

    async def _link_sockets(self, timeout: float = 10.0) -> None:
        """Make ``<private>/ipc`` on the host lead to the socket folder inside the sandbox."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            child = _children(self.provisioner.process.pid)
            if child:
                self._sandbox_pid = child[0]
                os.symlink(f"/proc/{child[0]}/root{self._private}/ipc", os.path.join(self._private, "ipc"))
                return
            if self.provisioner.process.poll() is not None:
                return  # bwrap failed at once: its message is on stderr, the kernel counts as dead
            await asyncio.sleep(0.01)
        raise RuntimeError(f"bwrap did not start the sandbox within {timeout} s.")

    async def _async_signal_kernel(self, signum: int) -> None:
        """Signal the kernel process only: bwrap would die of SIGINT and take the kernel with it."""
        kernel = _children(self._sandbox_pid)[:1] if getattr(self, "_sandbox_pid", None) else []
        if kernel:  # the sandbox's init process runs only the kernel; adopted orphans come later
            os.kill(kernel[0], signum)

    signal_kernel = _async_signal_kernel

    def _stop_at_deadline(self) -> None:
        process = getattr(self.provisioner, "process", None)
        if process is not None and process.poll() is None:
            self.exit_kind = EXIT_WALL_TIME
            self.exit_reason = f"it ran out of wall time for the notebook ({self.policy.wall_seconds:g} s)"
            process.kill()  # bwrap's --die-with-parent takes everything in the sandbox with it

    def _note_exit(self) -> None:
        process = getattr(self.provisioner, "process", None)
        code = process.returncode if process is not None else None
        if code is None or self.shutting_down or self.exit_reason:
            return
        cause = exit_cause(code, self.policy.cpu_seconds)
        if cause:
            self.exit_kind, self.exit_reason = cause

    def _discard(self) -> None:
        """Stop the deadline, release the uid and delete the private folder (idempotent)."""
        if getattr(self, "_timer", None):
            self._timer.cancel()
        if getattr(self, "_uid_claim", None):
            self._uid_claim.release()
            self._uid_claim = None
        if getattr(self, "_private", None):
            shutil.rmtree(self._private, ignore_errors=True)
            self._private = None
        _RUNNING.discard(self)

    async def _async_is_alive(self) -> bool:
        alive = await super()._async_is_alive()
        if not alive and getattr(self, "_private", None) and self.has_kernel:
            self._note_exit()
            if self.exit_reason:
                self.log.error("The sandboxed kernel died: %s.", self.exit_reason)
            self._discard()
        return alive

    is_alive = _async_is_alive

    async def _async_wait(self, pollinterval: float = 0.01) -> None:
        """Wait for the kernel to end, looking every 10 ms: with jupyter_client's 100 ms, most gradings waited
        0.1 s for a killed sandbox that was not gone at the first look."""
        await super()._async_wait(pollinterval)

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        try:
            await super()._async_cleanup_resources(restart=restart)
        finally:
            self._discard()

    cleanup_resources = _async_cleanup_resources


class UnsandboxedKernelManager(CourseUtilsFirst, AsyncKernelManager):
    """A kernel without the sandbox (``--unsafe-no-sandbox``), over unix sockets in a folder of its own.

    Over TCP, two kernels started side by side can pick the same free port: one then dies ("Address already in
    use"), or the grader's messages to one reach the other.
    """
    _sockets: str | None = None  # the folder of its sockets, once it starts

    async def _async_pre_start_kernel(self, **kw):
        self._sockets = tempfile.mkdtemp(prefix=f"{KERNEL_SOCKETS}{os.getpid()}-", dir=PRIVATE_ROOT)
        self.transport = "ipc"
        self.ip = os.path.join(self._sockets, "kernel")
        return await super()._async_pre_start_kernel(**kw)

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        try:
            await super()._async_cleanup_resources(restart=restart)
        finally:
            if self._sockets and not restart:
                shutil.rmtree(self._sockets, ignore_errors=True)

    cleanup_resources = _async_cleanup_resources
