"""Grading needs Linux: what to tell a user of another system (a first try of the demo on a laptop, say)."""
import sys


def not_linux(command: str) -> str:
    """Why ``command`` does not run on this system, and where to run it."""
    system = {"darwin": "macOS", "win32": "Windows"}.get(sys.platform, sys.platform)
    return (f"{command} runs students' notebooks in Linux's process isolation (bubblewrap, /proc, cgroups), so it needs "
            f"Linux, and this is {system}. Run it on a Linux server, or on this computer in a Linux virtual machine, "
            "WSL 2 (Windows) or a container (docker run -it -v \"$PWD\":/course -w /course python:3.11 bash, then "
            "python -m pip install -e . in it). The students' package, course_utils, runs anywhere.")
