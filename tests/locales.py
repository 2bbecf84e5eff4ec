"""Servers' locales that are not UTF-8 (es_CO.ISO-8859-1 in Latin America, zh_CN.GBK in China), built with glibc's
``localedef`` into a folder of the tests' own (``LOCPATH``: no root needed)."""
import os
import subprocess
import sys
from pathlib import Path

MADE = (("es_CO", "ISO-8859-1"), ("zh_CN", "GBK"))


def build(folder: Path) -> dict[str, dict[str, str]]:
    """encoding -> the variables that give a process a locale of that encoding (``MADE``)."""
    made = {}
    for locale, charmap in MADE:
        name = f"{locale}.{charmap}"
        subprocess.run(["localedef", "-i", locale, "-f", charmap, str(folder / name)], check=True, capture_output=True)
        env = {"LOCPATH": str(folder), "LC_ALL": name}
        said = subprocess.run([sys.executable, "-c", "import locale; print(locale.getpreferredencoding(False))"],
                              env=env, capture_output=True, text=True, check=True).stdout.strip()
        assert said == charmap, f"{name} was not taken up: Python's encoding is {said}"
        made[charmap] = env
    return made


def environment(locale: dict[str, str]) -> dict[str, str]:
    """This process's environment in ``locale`` (one of ``build``'s), without its own locale and UTF-8 settings."""
    return {name: value for name, value in os.environ.items()
            if not name.startswith(("LC_", "LANG", "PYTHONUTF8", "PYTHONIOENCODING"))} | locale


def encoding(locale: dict[str, str]) -> str:
    """The encoding of ``locale`` (one of ``build``'s), in which its processes write to the terminal."""
    return locale["LC_ALL"].partition(".")[2]
