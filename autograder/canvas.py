"""``nbgrader zip_collect`` of a Canvas download (``nbgrader_config.py`` offers it): each notebook's student id.

Canvas names a submitted file ``<name>_[late_]<user id>_<file id>_<file name>``, with ``-<n>`` before the extension
when the student uploaded a file of that name before. The student id is the user id, the same in every assignment.
"""
from __future__ import annotations

import re
from pathlib import Path

from .uploads import UploadCollector


class CanvasCollector(UploadCollector):
    """Student id: Canvas's user id of the upload (a notebook, or an archive holding it)."""

    upload_name = re.compile(r"[^/_]+_(?i:late_)?(?P<user>\d+)_\d+_(?P<uploaded>.+)")
    upload_form = "<name>_[late_]<user id>_<file id>_<file name>"

    def student_id(self, match: re.Match, upload: Path) -> str:
        return match["user"]

    def uploaded(self, name: str) -> str:
        path = Path(name)
        return re.sub(r"-\d+$", "", path.stem) + path.suffix
