import gc
import sys

if sys.platform == "win32":  # the commands' own modules need a POSIX system (pwd, fcntl): say so before them
    from .linux_only import not_linux
    raise SystemExit(f"error: {not_linux('python -m autograder')}")

from .cli import main, stop_on_signals  # noqa: E402

if __name__ == "__main__":
    stop_on_signals()
    code = main()
    gc.freeze()  # the exit need not look through every object nbgrader left for cycles: 0.3 s saved
    raise SystemExit(code)
