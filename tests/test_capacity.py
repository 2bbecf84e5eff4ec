"""How many notebooks grade side by side by default: the cores this process may use and the memory for each
kernel's limit, as a container, a JupyterHub server or a Slurm job sets them (cgroup files written in the
kernel's formats, v1 and v2; the CPU affinity for real)."""
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from autograder.capacity import (WORKER_BYTES, available_memory, cgroup_folders, default_workers, own_cgroups,
                                 usable_cores)

GiB = 1024 ** 3
CORES = usable_cores()


def cgroup(tmp_path: Path, files: dict[str, str]) -> list[Path]:
    """A cgroup's folder holding ``files`` (name: text), as the list of a process's cgroup folders."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (tmp_path / name).write_text(text + "\n")
    return [tmp_path]


@pytest.mark.skipif(shutil.which("taskset") is None, reason="needs util-linux's taskset")
def test_a_process_pinned_to_one_core_grades_one_notebook_at_a_time():
    code = "from autograder.capacity import usable_cores; print(usable_cores())"
    pinned = subprocess.run(["taskset", "-c", "0", sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert pinned.stdout.strip() == "1"


@pytest.mark.parametrize("files, cores", [
    ({"cpu.max": "max 100000"}, CORES),                          # cgroup v2, no quota
    ({"cpu.max": "100000 100000"}, 1),                           # a container with --cpus=1
    ({"cpu.max": "150000 100000"}, min(CORES, 2)),               # 1.5 CPUs: two kernels share them
    ({"cpu.cfs_quota_us": "-1", "cpu.cfs_period_us": "100000"}, CORES),  # cgroup v1, no quota
    ({"cpu.cfs_quota_us": "50000", "cpu.cfs_period_us": "100000"}, 1),
    ({}, CORES),                                                 # no cgroup files at all
])
def test_usable_cores_follow_a_cpu_quota(tmp_path, files, cores):
    assert usable_cores(cgroup(tmp_path, files)) == cores


def test_a_memory_limit_caps_the_workers_by_what_each_kernel_may_take(tmp_path):
    pod = cgroup(tmp_path / "v2", {"cpu.max": "400000 100000", "memory.max": str(4 * GiB),
                                   "memory.current": str(GiB // 2)})
    assert available_memory(pod) == min(available_memory(), 4 * GiB - GiB // 2)
    assert default_workers(2 * GiB, pod) == 1  # 3.5 GiB left: one 2 GiB kernel and its worker
    v1 = cgroup(tmp_path / "v1", {"memory.limit_in_bytes": str(12 * GiB),
                                  "memory.usage_in_bytes": "0"})
    assert default_workers(2 * GiB, v1) == min(CORES, 12 * GiB // (2 * GiB + WORKER_BYTES),
                                               available_memory() // (2 * GiB + WORKER_BYTES))


def test_the_file_cache_the_kernel_reclaims_first_counts_as_available(tmp_path):
    """A container that copied a 3 GiB data set: its usage counts those files, most of them inactive."""
    stat = "anon {anon}\nfile {file}\nactive_file {active}\ninactive_file {inactive}\n"
    v2 = cgroup(tmp_path / "v2", {"memory.max": str(8 * GiB), "memory.current": str(5 * GiB),
                                  "memory.stat": stat.format(anon=2 * GiB, file=3 * GiB, active=GiB // 2,
                                                             inactive=5 * GiB // 2)})
    assert available_memory(v2) == min(available_memory(), 8 * GiB - 5 * GiB + 5 * GiB // 2)
    v1 = cgroup(tmp_path / "v1", {"memory.limit_in_bytes": str(8 * GiB), "memory.usage_in_bytes": str(5 * GiB),
                                  "memory.stat": "cache 3221225472\ninactive_file 0\ntotal_inactive_file "
                                                 f"{5 * GiB // 2}\n"})  # v1's total_ counts the cgroups below
    assert available_memory(v1) == available_memory(v2)
    unreadable = cgroup(tmp_path / "no-stat", {"memory.max": str(8 * GiB), "memory.current": str(5 * GiB)})
    assert available_memory(unreadable) == min(available_memory(), 3 * GiB)


def test_without_limits_there_is_one_worker_per_core_as_memory_allows():
    assert default_workers(2 * GiB) == max(1, min(CORES, available_memory() // (2 * GiB + WORKER_BYTES)))
    assert default_workers(10 ** 15) == 1  # never none


SYSTEMD_V2 = ("0::/user.slice/user-1000.slice/jupyter-ana.service\n",  # a JupyterHub server under systemdspawner
              "35 24 0:30 / {root} rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate\n")
DOCKER_V1 = ("12:memory:/docker/4f1c\n4:cpu,cpuacct:/docker/4f1c\n1:name=systemd:/docker/4f1c\n",  # no cgroup namespace
             "40 31 0:36 /docker/4f1c {root}/memory ro,nosuid - cgroup cgroup rw,memory\n"
             "41 31 0:37 /docker/4f1c {root}/cpu,cpuacct ro,nosuid - cgroup cgroup rw,cpu,cpuacct\n"
             "42 31 0:38 /docker/4f1c {root}/systemd ro,nosuid - cgroup cgroup rw,xattr,name=systemd\n")


def test_a_systemd_units_limits_deep_in_the_hierarchy_count(tmp_path):
    membership, mounts = SYSTEMD_V2
    folders = cgroup_folders(membership, mounts.format(root=tmp_path))
    unit = tmp_path / "user.slice/user-1000.slice/jupyter-ana.service"
    assert folders == [unit, unit.parent, unit.parent.parent, tmp_path]
    cgroup(folders[0], {"cpu.max": "max 100000", "memory.max": "max", "memory.current": str(GiB)})
    cgroup(folders[1], {"cpu.max": "100000 100000", "memory.max": str(3 * GiB), "memory.current": str(GiB)})  # slice
    assert usable_cores(folders) == 1
    assert available_memory(folders) == min(available_memory([]), 2 * GiB)
    assert default_workers(GiB // 2, folders) == 1


def test_a_container_without_a_cgroup_namespace_reads_its_own_cgroup_where_it_is_mounted(tmp_path):
    membership, mounts = DOCKER_V1
    assert cgroup_folders(membership, mounts.format(root=tmp_path)) == [tmp_path / "memory", tmp_path / "cpu,cpuacct"]


def test_a_grader_started_in_a_real_limited_cgroup_counts_its_limits(tmp_path):
    """A real cgroup (made as root, v1 or v2) whose parent allows 1 CPU and 1 GiB, as systemd limits a slice."""
    made = []
    try:
        procs = [_limited_cgroup(folder, made) for folder in _innermost(own_cgroups())]
        procs = [path for path in procs if path]
        limited = {path.parent.parent for path in procs}
        if not ({"cpu", "memory"} <= {kind for folder in limited for kind in _limits_in(folder)}):
            pytest.skip("no cgroup with both a CPU and a memory limit can be made here (needs root and cgroups)")
        code = ("from autograder.capacity import *; from autograder.sandbox import SandboxedKernelManager as K; "
                "print(usable_cores(), available_memory(), default_workers(K().memory_bytes))")
        moved = subprocess.run(["sh", "-c", 'code=$1; shift; for f; do echo $$ > "$f"; done; exec "$0" -c "$code"',
                                sys.executable, code, *map(str, procs)], capture_output=True, text=True, check=True,
                               cwd=tmp_path)
    finally:
        for folder in reversed(made):
            folder.rmdir()
    cores, memory, workers = map(int, moved.stdout.split())
    assert cores == 1 and memory <= GiB and workers == 1


def test_files_written_in_a_real_limited_cgroup_leave_its_memory_available(tmp_path):
    """A real cgroup (made as root) limited to 1 GiB, where a process writes 512 MiB to disk: the kernel charges the
    file's pages to the cgroup, and the grader still counts them as available."""
    folder = Path(tempfile.mkdtemp(dir="/var/tmp"))  # on disk: a tmpfs's pages are memory, not a reclaimable cache
    made = []
    try:
        if subprocess.run(["stat", "-f", "-c", "%T", folder], capture_output=True, text=True).stdout.strip() == "tmpfs":
            pytest.skip("/var/tmp is a tmpfs here: its files are memory, not a cache the kernel may drop")
        procs = [path for path in (_limited_cgroup(own, made) for own in _innermost(own_cgroups())) if path]
        limited = [path.parent.parent for path in procs if "memory" in _limits_in(path.parent.parent)]
        if not limited:
            pytest.skip("no cgroup with a memory limit can be made here (needs root and cgroups)")
        code = ("import os, sys; from autograder.capacity import available_memory; before = available_memory()\n"
                "with open(sys.argv[1], 'wb') as f:\n"
                "    for _ in range(512): f.write(bytes(1024 ** 2))\n"
                "    os.fsync(f.fileno())\n"
                "print(before, available_memory())")
        moved = subprocess.run(["sh", "-c", 'code=$1; file=$2; shift 2; for f; do echo $$ > "$f"; done; '
                                'exec "$0" -c "$code" "$file"', sys.executable, code, str(folder / "data.bin"),
                                *map(str, procs)], capture_output=True, text=True, check=True, cwd=tmp_path)
        charged = max(int((slice_ / name).read_text()) for slice_ in limited
                      for name in ("memory.current", "memory.usage_in_bytes") if (slice_ / name).is_file())
        inactive = max(_inactive_file(slice_) for slice_ in limited)
    finally:
        shutil.rmtree(folder)
        for made_folder in reversed(made):
            made_folder.rmdir()
    before, after = map(int, moved.stdout.split())
    assert charged >= 512 * 1024 ** 2  # the written file's pages count in the cgroup's usage
    if inactive < 384 * 1024 ** 2:  # a kernel that sorts its lists itself (DAMON's LRU sorting) may keep them active
        pytest.skip(f"the kernel listed only {inactive >> 20} MiB of the 512 MiB written as inactive: the case this "
                    "test is about (an inactive file cache, which the grader counts as available) did not occur")
    assert before - after < 128 * 1024 ** 2 and after > 0.85 * GiB


def _inactive_file(cgroup: Path) -> int:
    """The bytes of file cache the kernel lists as inactive in ``cgroup`` and below it (v1's total, or v2's)."""
    stat = dict(line.split() for line in (cgroup / "memory.stat").read_text().splitlines())
    return int(stat.get("total_inactive_file", stat.get("inactive_file", 0)))


def _innermost(folders: list[Path]) -> list[Path]:
    return [folder for folder in folders if not any(folder in other.parents for other in folders)]


def _limits_in(folder: Path) -> set[str]:
    return ({"cpu"} if (folder / "cpu.max").is_file() or (folder / "cpu.cfs_quota_us").is_file() else set()) | \
        ({"memory"} if (folder / "memory.max").is_file() or (folder / "memory.limit_in_bytes").is_file() else set())


def _limited_cgroup(folder: Path, made: list[Path]) -> Path | None:
    """The cgroup.procs file of a new cgroup in ``folder``, below a new parent limited to 1 CPU and 1 GiB (the
    limits ``folder``'s hierarchy can set); None if none can be made there."""
    if os.geteuid() != 0 or not folder.is_dir():
        return None
    controllers = (folder / "cgroup.controllers")
    try:
        if controllers.is_file():  # v2: a parent's controllers are enabled for its children
            wanted = {"cpu", "memory"} & set(controllers.read_text().split())
            if not wanted:
                return None
            (folder / "cgroup.subtree_control").write_text(" ".join(f"+{name}" for name in wanted))
        slice_ = folder / f"kit-capacity-test-{os.getpid()}"
        slice_.mkdir()
        made.append(slice_)
        if controllers.is_file():
            (slice_ / "cgroup.subtree_control").write_text(" ".join(f"+{name}" for name in wanted))
        limits = {"cpu.max": "100000 100000", "memory.max": str(GiB),
                  "cpu.cfs_period_us": "100000", "cpu.cfs_quota_us": "100000", "memory.limit_in_bytes": str(GiB)}
        for name, value in limits.items():
            if (slice_ / name).is_file():
                (slice_ / name).write_text(value)
        unit = slice_ / "unit"
        unit.mkdir()
        made.append(unit)
        return unit / "cgroup.procs"
    except OSError:
        return None
