"""``released.released_course`` gives tests a copy of one real release per process instead of releasing again: that
copy must be what ``release_lab`` gives in the course's own folder."""
import filecmp
from pathlib import Path

from autograder.course import Course
from autograder.demo import scratch_course
from autograder.release import release_lab
import released
from released import released_course

KIT = Course(Path(__file__).resolve().parents[1])
LAB = "lab1_initialization"


def test_a_copy_of_a_release_is_what_a_release_in_the_courses_own_folder_gives(tmp_path):
    in_place = scratch_course(KIT, tmp_path / "released here", [LAB])
    assert release_lab(in_place, LAB) == []
    copied = released_course(KIT, tmp_path / "a copy" / "of the release", [LAB])
    files = sorted(path.relative_to(in_place.root) for path in in_place.root.rglob("*"))
    assert files == sorted(path.relative_to(copied.root) for path in copied.root.rglob("*"))
    # the same bytes but the gradebooks (nbgrader gives each row a random id, in place or not)
    assert [path for path in files if (in_place.root / path).is_file() and path.name != "gradebook.db"
            and not filecmp.cmp(in_place.root / path, copied.root / path, shallow=False)] == []
    # and no file, gradebooks included, names the folder its release was made in
    template = released._TEMPLATES[(KIT.root, (LAB,), (LAB,))]
    for course, made_in in ((in_place, in_place.root), (copied, template)):
        for path in course.root.rglob("*"):
            assert not path.is_file() or str(made_in).encode() not in path.read_bytes(), path
