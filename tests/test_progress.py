"""Tests of course_utils.progress.progress_bar: where its output goes in each environment."""

import sys

from tqdm.std import tqdm as text_tqdm

from course_utils.progress import GRADING_REFRESH_SECONDS, progress_bar


def test_under_nbgrader_the_bar_is_plain_text_on_stdout(monkeypatch, capfd):
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    bar = progress_bar(range(5), desc="work")
    assert type(bar) is text_tqdm and bar.mininterval >= GRADING_REFRESH_SECONDS
    assert list(bar) == [0, 1, 2, 3, 4]
    out, err = capfd.readouterr()
    assert err == ""
    assert "work" in out and "5/5" in out


def test_disabled_bar_prints_nothing(monkeypatch, capfd):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    bar = progress_bar(total=3, enabled=False)
    bar.update(3)
    bar.close()
    assert capfd.readouterr() == ("", "")


def test_in_a_terminal_the_bar_is_plain_text(monkeypatch, capfd):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    monkeypatch.delitem(sys.modules, "ipykernel.zmqshell", raising=False)
    assert list(progress_bar([1, 2], desc="terminal")) == [1, 2]
    assert "terminal" in capfd.readouterr().err


def test_inside_a_jupyter_kernel_the_widget_bar_is_chosen(monkeypatch):
    from tqdm.notebook import tqdm as widget_tqdm

    from course_utils.progress import _notebook_tqdm

    monkeypatch.setitem(sys.modules, "ipykernel.zmqshell", object())
    assert _notebook_tqdm() is widget_tqdm
