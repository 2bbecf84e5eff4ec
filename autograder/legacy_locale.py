"""Servers whose locale is not UTF-8 (es_CO.ISO-8859-1, zh_CN.GBK): nbgrader and JupyterHub write UTF-8 there too."""
import codecs
import locale
import os
import sys


def legacy_encoding() -> str | None:
    """The encoding of this server's locale (``LANG``, ``LC_ALL``) if it is not UTF-8 (``ISO-8859-1``, ``GBK``); None
    if it is. Unchanged by Python's UTF-8 mode, which the kit's commands switch to there (``__main__``)."""
    codeset = locale.nl_langinfo(locale.CODESET)
    try:
        return None if not codeset or codecs.lookup(codeset).name == "utf-8" else codeset
    except LookupError:  # a name Python does not know: not UTF-8's
        return codeset


def names_in_legacy_encoding() -> str | None:
    """The locale's encoding if this process writes file names in it: the locale is not UTF-8 and Python's UTF-8 mode
    is off (nbgrader's own commands, started without ``PYTHONUTF8=1``); None if it writes them in UTF-8."""
    return None if sys.flags.utf8_mode else legacy_encoding()


def run_again_in_utf8_mode(terminal_in_locale: bool = True) -> None:
    """Where this process writes file names in a locale's encoding that is not UTF-8 (``names_in_legacy_encoding``),
    run its command line again in Python's UTF-8 mode, so that students' folder names and every file it reads and
    writes are UTF-8, as nbgrader and JupyterHub write them. ``terminal_in_locale``: its output (and that of the
    Python processes it starts) stays in the locale's encoding, what it cannot show escaped; else it is UTF-8 too.
    Returns only where there is nothing to do."""
    if encoding := names_in_legacy_encoding():
        os.environ["PYTHONUTF8"] = "1"
        if terminal_in_locale:
            os.environ.setdefault("PYTHONIOENCODING", f"{encoding}:backslashreplace")
        os.execv(sys.executable, [sys.executable, *sys.orig_argv[1:]])


def stop_collecting_in_legacy_encoding(log, lab: str) -> None:
    """Stop ``nbgrader zip_collect`` before it unpacks or collects anything, if it would write students' folder names
    in the locale's encoding: the kit's commands read them in UTF-8, as the hub writes them, so "Ana Pérez" would be
    another student to them, and a name the encoding cannot spell stopped the unpacking half-way."""
    if encoding := names_in_legacy_encoding():
        log.error("Nothing was unpacked or collected: this server's locale is %s, and nbgrader was started without "
                  "Python's UTF-8 mode, so it would name students' folders in %s, not in UTF-8 as the hub and "
                  "`python -m autograder` do (Ana Pérez would become another student, and a name %s cannot spell "
                  "would stop it half-way). Run `export PYTHONUTF8=1` (in the grading account's ~/.bashrc too), then "
                  "`nbgrader zip_collect %s` again.", encoding, encoding, encoding, lab)
        sys.exit(1)
