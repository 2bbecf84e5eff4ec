"""`grade --shard K/N`: which share grades which student, and the errors for a bad share (no grading here)."""
from pathlib import Path

import pytest

from autograder.cli import main
from autograder.course import Course, CourseError, parse_shard, shard_of

KIT = Course(Path(__file__).resolve().parents[1])
LAB = "lab1_initialization"


def test_every_student_is_in_exactly_one_share_and_the_shares_are_even():
    students = [f"student{i:04d}" for i in range(4000)]
    counts = [0] * 4
    for student in students:
        share = shard_of(student, 4)
        assert 0 <= share < 4
        counts[share] += 1
    assert all(900 < count < 1100 for count in counts), counts


def test_a_students_share_depends_on_the_id_alone():
    # the same in every process and on every machine (not Python's randomized hash), whoever else submitted
    assert [shard_of(s, 3) for s in ("alice", "bob", "carol", "dave")] == [2, 2, 2, 1]
    assert shard_of("alice", 1) == 0


@pytest.mark.parametrize("text, expected", [("0/1", (0, 1)), ("3/4", (3, 4)), (" 1 / 2 ", (1, 2))])
def test_good_shares_parse(text, expected):
    assert parse_shard(text) == expected


@pytest.mark.parametrize("text", ["3/2", "2/2", "0/0", "x", "1", "-1/2", "1/2/3", ""])
def test_bad_shares_are_refused_saying_what_is_expected(text):
    with pytest.raises(CourseError, match="0 to N-1|K/N"):
        parse_shard(text)


@pytest.mark.parametrize("text", ["3/2", "x"])
def test_the_command_line_refuses_a_bad_share(text, capsys):
    with pytest.raises(SystemExit) as exit:
        main(["--root", str(KIT.root), "grade", LAB, "--shard", text])
    assert exit.value.code == 2
    error = capsys.readouterr().err
    assert "--shard" in error and ("numbered 0 to N-1" in error or "takes K/N" in error)
