"""The course folder's helpers that grading trusts: fingerprints decide what is graded again."""
import os

from autograder.course import fingerprint


def test_a_fingerprint_follows_the_folder_it_is_given_but_no_link_below_it(tmp_path):
    """An instructor's ``source/<lab>`` may be a link to a shared folder: its contents count. A submission's link
    below it counts by its target, unread: ``/dev/zero`` would never end, and the solutions must not be read for it."""
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "lab.ipynb").write_text("1")
    linked = tmp_path / "lab"
    linked.symlink_to(shared)
    before = fingerprint(linked)
    (shared / "lab.ipynb").write_text("2")
    assert fingerprint(linked) != before

    (shared / "data.bin").symlink_to("/dev/zero")
    with_link = fingerprint(linked)
    (shared / "data.bin").unlink()
    (shared / "data.bin").symlink_to("/dev/null")
    without_pipe = fingerprint(linked)
    assert without_pipe != with_link  # where it points counts
    os.mkfifo(shared / "pipe")  # a named pipe is not opened (it would wait for a writer for good), nor counted
    assert fingerprint(linked) == without_pipe
