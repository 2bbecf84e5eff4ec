"""``nbgrader zip_collect`` of a Moodle download (``nbgrader_config.py`` offers it): each notebook's student id.

Moodle names a submitted file ``<full name>_<participant number>_assignsubmission_file_[/]<file name>``. The number
changes from one assignment to the next, so the student id is the full name. Two participants who share a full name
would both claim it, and nbgrader's zip_collect would then stop and collect nobody ("Duplicate submission file");
they are collected as ``<full name>_<number>`` instead, with a warning that says to rename them.
"""
from __future__ import annotations

import functools
import re
from collections import defaultdict
from pathlib import Path

from nbgrader.plugins import FileNameCollectorPlugin
from traitlets import Unicode

PARTICIPANT = re.compile(r"(?P<name>[^/_]+)_(?P<number>\d+)_assignsubmission_file_")


class MoodleCollector(FileNameCollectorPlugin):
    """Student id: the participant's full name, or ``<full name>_<number>`` for a name two participants share."""

    named_regexp = Unicode(
        r".*/(?P<student_id>[^/_]+)_(?P<number>\d+)_assignsubmission_file_/?(?P<file_id>[^/]+)\.ipynb$",
        help="Moodle's file names; the groups student_id (the full name), number and file_id are required.",
    ).tag(config=True)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._warned = set()

    def collect(self, submitted_file: str) -> dict | None:
        info = super().collect(submitted_file)
        if not info:
            return info
        name, number = info["student_id"], info.pop("number")
        numbers = participants(download_folder(Path(submitted_file)))[name]
        if len(numbers) > 1:
            info["student_id"] = f"{name}_{number}"
            if name not in self._warned:
                self._warned.add(name)
                self.log.warning(
                    "%d participants are named %s (Moodle's numbers %s): collected as %s, not as %s. Moodle's numbers "
                    "change from one assignment to the next, so rename each of these folders of submitted/ to an id "
                    "you keep for that student in every lab (add a student number, say), then grade.",
                    len(numbers), name, ", ".join(sorted(numbers, key=int)),
                    " and ".join(f"{name}_{n}" for n in sorted(numbers, key=int)), name)
        return info


def download_folder(submitted_file: Path) -> Path:
    """The folder of the download that holds every participant's entry, ``submitted_file``'s among them: its own
    folder when Moodle put each participant's files in a folder of their own, else the file's folder."""
    return submitted_file.parent.parent if PARTICIPANT.fullmatch(submitted_file.parent.name) else submitted_file.parent


@functools.cache
def participants(folder: Path) -> dict[str, set[str]]:
    """Each full name in the download ``folder``, with the participant numbers that carry it."""
    numbers = defaultdict(set)
    for entry in folder.iterdir():
        match = PARTICIPANT.match(entry.name)
        if match:
            numbers[match["name"]].add(match["number"])
    return numbers
