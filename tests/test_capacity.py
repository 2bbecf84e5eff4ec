"""How many notebooks grade side by side by default: the cores this process may use and the memory for each
kernel's limit, as a container, a JupyterHub server or a Slurm job sets them (cgroup files written in the
kernel's formats, v1 and v2; the CPU affinity for real)."""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.capacity import WORKER_BYTES, available_memory, default_workers, usable_cores

GiB = 1024 ** 3
CORES = usable_cores()


def cgroup(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text + "\n")
    return tmp_path


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
    ({"cpu/cpu.cfs_quota_us": "-1", "cpu/cpu.cfs_period_us": "100000"}, CORES),  # cgroup v1, no quota
    ({"cpu/cpu.cfs_quota_us": "50000", "cpu/cpu.cfs_period_us": "100000"}, 1),
    ({}, CORES),                                                 # no cgroup files at all
])
def test_usable_cores_follow_a_cpu_quota(tmp_path, files, cores):
    assert usable_cores(cgroup(tmp_path, files)) == cores


def test_a_memory_limit_caps_the_workers_by_what_each_kernel_may_take(tmp_path):
    pod = cgroup(tmp_path / "v2", {"cpu.max": "400000 100000", "memory.max": str(4 * GiB),
                                   "memory.current": str(GiB // 2)})
    assert available_memory(pod) == min(available_memory(), 4 * GiB - GiB // 2)
    assert default_workers(2 * GiB, pod) == 1  # 3.5 GiB left: one 2 GiB kernel and its worker
    v1 = cgroup(tmp_path / "v1", {"memory/memory.limit_in_bytes": str(12 * GiB),
                                  "memory/memory.usage_in_bytes": "0"})
    assert default_workers(2 * GiB, v1) == min(CORES, 12 * GiB // (2 * GiB + WORKER_BYTES),
                                               available_memory() // (2 * GiB + WORKER_BYTES))


def test_without_limits_there_is_one_worker_per_core_as_memory_allows():
    assert default_workers(2 * GiB) == max(1, min(CORES, available_memory() // (2 * GiB + WORKER_BYTES)))
    assert default_workers(10 ** 15) == 1  # never none
