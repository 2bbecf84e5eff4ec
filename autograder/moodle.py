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

from .uploads import UploadCollector

PARTICIPANT = re.compile(r"(?P<name>[^/_]+)_(?P<number>\d+)_assignsubmission_file_(?P<uploaded>.*)")


class MoodleCollector(UploadCollector):
    """Student id: the participant's full name, or ``<full name>_<number>`` for a name two participants share."""

    upload_name = PARTICIPANT
    upload_form = "<full name>_<number>_assignsubmission_file_[/]<file name>"

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._warned = set()

    def student_id(self, match: re.Match, upload: Path) -> str:
        name, number = match["name"], match["number"]
        numbers = participants(upload.parent)[name]
        if len(numbers) == 1:
            return name
        if name not in self._warned:
            self._warned.add(name)
            self.log.warning(
                "%d participants are named %s (Moodle's numbers %s): collected as %s, not as %s. Moodle's numbers "
                "change from one assignment to the next, so rename each of these folders of submitted/ to an id "
                "you keep for that student in every lab (add a student number, say), then grade.",
                len(numbers), name, ", ".join(sorted(numbers, key=int)),
                " and ".join(f"{name}_{n}" for n in sorted(numbers, key=int)), name)
        return f"{name}_{number}"


@functools.cache
def participants(folder: Path) -> dict[str, set[str]]:
    """Each full name in the download ``folder`` (which holds every participant's upload), with the participant
    numbers that carry it."""
    numbers = defaultdict(set)
    for entry in folder.iterdir():
        match = PARTICIPANT.match(entry.name)
        if match:
            numbers[match["name"]].add(match["number"])
    return numbers
