"""A lab's real release, made once per test process, copied into each scratch course that needs it only as set-up.

``release_lab`` writes nothing that names the course's folder (``test_released_copy.py`` checks it): a copy of a
released scratch course is what a release in that folder gives. Tests of release itself call ``release_lab``.
"""
import atexit
import shutil
import tempfile
from pathlib import Path

from autograder.course import Course
from autograder.demo import scratch_course
from autograder.release import release_lab

_TEMPLATES: dict[tuple, Path] = {}


def released_course(kit: Course, folder: Path, labs: list[str], released: list[str] | None = None) -> Course:
    """``scratch_course(kit, folder, labs)`` with ``released`` (default: every lab of ``labs``) released by
    ``release_lab``, which found no leak."""
    released = list(labs) if released is None else released
    key = (kit.root, tuple(labs), tuple(released))
    if key not in _TEMPLATES:
        top = Path(tempfile.mkdtemp(prefix="released-course-"))
        atexit.register(shutil.rmtree, top, True)
        template = scratch_course(kit, top / "course", labs)
        for lab in released:
            assert release_lab(template, lab) == []
        _TEMPLATES[key] = template.root
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copytree(_TEMPLATES[key], folder, symlinks=True, dirs_exist_ok=True)
    return Course(folder.resolve())
