"""How many notebooks this machine can grade side by side: the cores this process may use, and memory for
each kernel to reach its limit.

``os.cpu_count()`` counts the host's cores, also inside a container or a JupyterHub server limited to a few:
a grader started there with one worker per host core would run dozens of kernels on two cores, where every
cell runs past the time limit the canary set, or be killed for its memory.
"""
from __future__ import annotations

import math
import os
from pathlib import Path

CGROUP = Path("/sys/fs/cgroup")
WORKER_BYTES = 256 * 1024 ** 2  # a grading worker's own memory, besides its kernel's


def usable_cores(cgroup: Path = CGROUP) -> int:
    """Cores this process may use: its CPU affinity (taskset, a Slurm job), within a CPU quota of its
    cgroup (a container's ``--cpus``, a pod's limit), rounded up."""
    cores = len(os.sched_getaffinity(0))
    quota = _cpu_quota(cgroup)
    return max(1, min(cores, math.ceil(quota))) if quota else cores


def available_memory(cgroup: Path = CGROUP, meminfo: Path = Path("/proc/meminfo")) -> int:
    """Bytes new processes may still take: the system's available memory, or less under a memory limit of
    this process's cgroup (a container)."""
    available = next(int(line.split()[1]) * 1024 for line in meminfo.read_text().splitlines()
                     if line.startswith("MemAvailable:"))
    for limit, usage in (("memory.max", "memory.current"),  # cgroup v2
                         ("memory/memory.limit_in_bytes", "memory/memory.usage_in_bytes")):  # v1
        limited, used = _number(cgroup / limit), _number(cgroup / usage)
        if limited is not None and used is not None:
            available = min(available, max(0, limited - used))
    return available


def default_workers(kernel_bytes: int, cgroup: Path = CGROUP) -> int:
    """One grading worker per usable core, as long as memory allows each its kernel's limit (``kernel_bytes``)."""
    by_memory = available_memory(cgroup) // (kernel_bytes + WORKER_BYTES)
    return max(1, min(usable_cores(cgroup), by_memory))


def _cpu_quota(cgroup: Path) -> float | None:
    """The CPUs a cgroup quota allows (cgroup v2's cpu.max, v1's CFS quota), or None without one."""
    v2 = cgroup / "cpu.max"
    if v2.is_file():
        quota, _, period = v2.read_text().partition(" ")
        return None if quota == "max" else int(quota) / int(period)
    quota, period = _number(cgroup / "cpu" / "cpu.cfs_quota_us"), _number(cgroup / "cpu" / "cpu.cfs_period_us")
    return quota / period if quota and quota > 0 and period else None


def _number(path: Path) -> int | None:
    """The integer a cgroup file holds; None if it is missing or says ``max`` (no limit)."""
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None
