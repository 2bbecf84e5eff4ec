import gc
import sys

if sys.platform == "win32":  # the commands' own modules need a POSIX system (pwd, fcntl): say so before them
    from .linux_only import not_linux
    raise SystemExit(f"error: {not_linux('python -m autograder')}")

from .legacy_locale import run_again_in_utf8_mode  # noqa: E402

run_again_in_utf8_mode()  # a server whose locale is not UTF-8 (es_CO.ISO-8859-1, zh_CN.GBK)

try:
    from .cli import main, stop_on_signals
except ModuleNotFoundError as missing:  # found in the course folder by a Python the kit was not installed in
    if missing.name.partition(".")[0] in ("autograder", "course_utils"):
        raise
    raise SystemExit(f"error: this Python ({sys.executable}) does not have what the kit needs (no module named "
                     f"{missing.name!r}): activate the virtual environment you installed the kit in (`. .venv/bin/"
                     f"activate`, say; a new terminal starts without it), or install it in this one: "
                     f"`{sys.executable} -m pip install -e .` in the course folder.") from None

if __name__ == "__main__":
    stop_on_signals()
    code = main()
    gc.freeze()  # the exit need not look through every object nbgrader left for cycles: 0.3 s saved
    raise SystemExit(code)
