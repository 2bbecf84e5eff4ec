"""Helpers for the tests of the hidden checks (autograder/hidden)."""
import contextlib
import io

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


def failing_checks(checks, names, namespace):
    """The names (in ``names``' order) whose hidden check ``checks.check_<name>`` fails on ``namespace[name]``.

    checks: a lab's check module (autograder.hidden.labN); namespace: a notebook's definitions.
    """
    failed = []
    for name in names:
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                getattr(checks, f"check_{name}")(namespace[name])
        except AssertionError:
            failed.append(name)
    return failed
