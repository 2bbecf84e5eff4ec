"""Helpers for the tests of the hidden checks (autograder/hidden)."""
import pytest


def failure_message(check, student):
    """The message of the AssertionError ``check(student)`` raises, checked to be fit for a student."""
    with pytest.raises(AssertionError) as failure:
        check(student)
    message = str(failure.value)
    assert "Traceback" not in message and "assert " not in message and "autograder" not in message
    assert message.endswith((".", ".)"))
    return message


SEEDS = [0, 1, 2**62 + 7]  # secret seeds of hidden test inputs to try (the judge draws a new one per submission)
