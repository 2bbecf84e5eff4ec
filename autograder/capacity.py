"""How many notebooks this machine can grade side by side: the cores this process may use, and memory for
each kernel to reach its limit.

``os.cpu_count()`` counts the host's cores, also inside a container or a JupyterHub server limited to a few:
a grader started there with one worker per host core would run dozens of kernels on two cores, where every
cell runs past the time limit the canary set, or be killed for its memory. The limits are read from this
process's own cgroup and every cgroup above it: a container sees its own at the root of its hierarchy, a
systemd unit (``CPUQuota=``, ``MemoryMax=``: a JupyterHub with systemdspawner, ``systemd-run``) deeper down.
"""
from __future__ import annotations

import math
import os
from pathlib import Path, PurePosixPath

WORKER_BYTES = 512 * 1024 ** 2  # a grading worker's own memory, besides its kernel's, with the 256 MiB a call
                                # of its kernel on a reference helper may add (judge.remote.CALLBACK_MEMORY)
LIMITED = {"cpu", "memory"}      # the cgroup v1 controllers whose limits count


def usable_cores(cgroups: list[Path] | None = None) -> int:
    """Cores this process may use: its CPU affinity (taskset, a Slurm job), within the smallest CPU quota of its
    cgroups (a container's ``--cpus``, a pod's limit, systemd's ``CPUQuota=``), rounded up."""
    cores = len(os.sched_getaffinity(0))
    quotas = [quota for folder in _folders(cgroups) if (quota := _cpu_quota(folder))]
    return max(1, min(cores, math.ceil(min(quotas)))) if quotas else cores


def shared_cores(workers: int) -> dict[str, str]:
    """The environment under which ``workers`` processes side by side (kernels, and what they start) share the
    cores instead of each taking all of them for its matrix products (and slowing the others down: OpenBLAS's
    threads spin while they wait for work)."""
    threads = str(max(1, usable_cores() // workers))
    return {name: threads for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}


def available_memory(cgroups: list[Path] | None = None, meminfo: Path = Path("/proc/meminfo")) -> int:
    """Bytes new processes may still take: the system's available memory, or less under a memory limit of one
    of this process's cgroups (a container, systemd's ``MemoryMax=``).

    A cgroup's usage counts the files its processes read or wrote (the page cache): copying a data set fills it.
    The kernel reclaims the inactive part of it first, so that part counts as available, as Kubernetes and
    ``docker stats`` count a container's memory.
    """
    available = next(int(line.split()[1]) * 1024 for line in meminfo.read_text(encoding="utf-8").splitlines()
                     if line.startswith("MemAvailable:"))
    for folder in _folders(cgroups):
        for limit, usage, cache in (("memory.max", "memory.current", "inactive_file"),  # cgroup v2
                                    ("memory.limit_in_bytes", "memory.usage_in_bytes", "total_inactive_file")):  # v1
            limited, used = _number(folder / limit), _number(folder / usage)
            if limited is not None and used is not None:
                in_use = max(0, used - _stat(folder / "memory.stat", cache))
                available = min(available, max(0, limited - in_use))
    return available


def default_workers(kernel_bytes: int, cgroups: list[Path] | None = None) -> int:
    """One grading worker per usable core, as long as memory allows each its kernel's limit (``kernel_bytes``)."""
    by_memory = available_memory(cgroups) // (kernel_bytes + WORKER_BYTES)
    return max(1, min(usable_cores(cgroups), by_memory))


def own_cgroups() -> list[Path]:
    """The folders of this process's cgroups and of every cgroup above them (none where they cannot be read)."""
    try:
        return cgroup_folders(Path("/proc/self/cgroup").read_text(encoding="utf-8"),
                              Path("/proc/self/mountinfo").read_text(encoding="utf-8"))
    except OSError:
        return []


def cgroup_folders(membership: str, mountinfo: str) -> list[Path]:
    """The folders, from the innermost up to each hierarchy's mount point, of the cgroups named in
    ``membership`` (``/proc/<pid>/cgroup``'s text) in the cgroup v2 hierarchy and in the v1 hierarchies of
    the cpu and memory controllers, as mounted in ``mountinfo`` (``/proc/<pid>/mountinfo``'s text)."""
    paths = {}  # controllers ("" for v2) -> the cgroup's path
    for line in membership.splitlines():
        _, controllers, path = line.split(":", 2)
        paths[frozenset(controllers.split(",")) & LIMITED if controllers else ""] = path
    folders = []
    for line in mountinfo.splitlines():
        mount, _, filesystem = line.partition(" - ")
        fields, (kind, _, options) = mount.split(), filesystem.split(" ", 2)
        key = "" if kind == "cgroup2" else frozenset(options.split(",")) & LIMITED if kind == "cgroup" else None
        if key is None or key not in paths or key == frozenset():
            continue
        root, point = PurePosixPath(fields[3]), Path(fields[4])
        path = PurePosixPath(paths[key])
        inside = path.relative_to(root) if path.is_relative_to(root) else path.relative_to("/")
        folder = point / inside
        folders += [folder, *(parent for parent in folder.parents if parent.is_relative_to(point))]
    return folders


def _folders(cgroups: list[Path] | None) -> list[Path]:
    return own_cgroups() if cgroups is None else cgroups


def _cpu_quota(folder: Path) -> float | None:
    """The CPUs a cgroup's quota allows (v2's cpu.max, v1's CFS quota), or None without one."""
    v2 = folder / "cpu.max"
    if v2.is_file():
        quota, _, period = v2.read_text(encoding="utf-8").partition(" ")
        return None if quota == "max" else int(quota) / int(period)
    quota, period = _number(folder / "cpu.cfs_quota_us"), _number(folder / "cpu.cfs_period_us")
    return quota / period if quota and quota > 0 and period else None


def _stat(path: Path, name: str) -> int:
    """The value of ``name`` in a cgroup's ``memory.stat`` (lines of ``name value``); 0 if it is not there."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return 0
    return next((int(value) for key, _, value in (line.partition(" ") for line in lines)
                 if key == name and value.strip().isdigit()), 0)


def _number(path: Path) -> int | None:
    """The integer a cgroup file holds; None if it is missing or says ``max`` (no limit)."""
    try:
        text = path.read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None
