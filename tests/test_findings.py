"""What grading says happened besides the score: changed test cells, limits, cut output (no kernel needed).

The same findings, from real sandboxed kernels, are checked end to end in test_hostile_submissions.py.
"""
import copy
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_output

from autograder.course import Course
from autograder.findings import (changed_tests, changed_tests_since, forget, limit_hit, lost_answer_marks,
                                 lost_answers, note, noted)
from autograder.preprocessors import NotedLimitOutput
from autograder.records import Fact, Status, status_of
from autograder.sandbox import SandboxPolicy
from autograder.submissions import solved, untouched

KIT = Course(Path(__file__).resolve().parents[1])
LAB = "lab1_initialization"


def release():
    return nbformat.read(KIT.release_notebook(LAB), as_version=4)


def nbgrader(cell):
    return cell.get("metadata", {}).get("nbgrader", {})


def is_test(cell):
    return nbgrader(cell).get("grade") and not nbgrader(cell).get("solution")


def grade_ids_of_tests(nb):
    return [nbgrader(c)["grade_id"] for c in nb.cells if is_test(c)]


def index_of(nb, grade_id):
    return next(i for i, c in enumerate(nb.cells) if nbgrader(c).get("grade_id") == grade_id)


@pytest.mark.parametrize("lab", KIT.labs())
def test_honest_work_changes_no_test(lab):
    released = nbformat.read(KIT.release_notebook(lab), as_version=4)
    assert changed_tests(released, solved(KIT, lab)) == {}
    assert changed_tests(released, untouched(KIT, lab)) == {}


def test_what_jupyterlab_adds_when_it_saves_changes_no_test():
    nb = solved(KIT, LAB)
    for cell in nb.cells:
        cell.metadata.update({"tags": ["mine"], "collapsed": True, "execution": {"iopub.status.busy": "now"}})
        if cell.cell_type == "code":
            cell.outputs = [new_output("stream", name="stdout", text="ran\n")]
    nb.cells.insert(3, new_code_cell("print('my own scratch cell')"))
    assert changed_tests(release(), nb) == {}


def test_edited_source_or_points_or_flags_count_as_edited():
    nb = solved(KIT, LAB)
    first, second, third = grade_ids_of_tests(nb)[:3]
    nb.cells[index_of(nb, first)].source = "pass"
    nb.cells[index_of(nb, second)].metadata.nbgrader["points"] = 1000
    nb.cells[index_of(nb, third)].metadata.nbgrader["grade"] = False  # no longer a test
    assert changed_tests(release(), nb) == {"edited": [first, second, third]}


def test_damaged_metadata_counts_as_edited_without_an_exception():
    nb = solved(KIT, LAB)
    first = grade_ids_of_tests(nb)[0]
    nb.cells[index_of(nb, first)].metadata.nbgrader["points"] = "lots"
    assert changed_tests(release(), nb) == {"edited": [first]}


def test_a_deleted_cell_or_an_edited_one_without_its_nbgrader_metadata_counts_as_deleted():
    nb = solved(KIT, LAB)
    first, second = grade_ids_of_tests(nb)[:2]
    del nb.cells[index_of(nb, first)]
    cell = nb.cells[index_of(nb, second)]
    del cell.metadata["nbgrader"]
    cell.source += "\n# my note"
    assert changed_tests(release(), nb) == {"deleted": [first, second]}


def test_a_test_that_lost_only_its_nbgrader_metadata_counts_as_unmarked():
    nb = solved(KIT, LAB)
    for cell in nb.cells:  # as an editor that drops every cell's metadata saves it
        cell.metadata = {}
    assert changed_tests(release(), nb) == {"unmarked": grade_ids_of_tests(release())}


def test_a_copy_next_to_the_original_is_only_duplicated():
    nb = solved(KIT, LAB)
    test = grade_ids_of_tests(nb)[2]
    nb.cells.insert(index_of(nb, test), copy.deepcopy(nb.cells[index_of(nb, test)]))
    assert changed_tests(release(), nb) == {"duplicated": [test]}


def test_a_copy_at_the_end_is_duplicated_and_moved_as_the_last_copy_is_graded():
    nb = solved(KIT, LAB)
    test = grade_ids_of_tests(nb)[0]
    nb.cells.append(copy.deepcopy(nb.cells[index_of(nb, test)]))
    assert changed_tests(release(), nb) == {"duplicated": [test], "moved": [test]}


def test_tests_moved_before_the_code_they_test_are_moved():
    nb = solved(KIT, LAB)
    nb.cells = [c for c in nb.cells if is_test(c)] + [c for c in nb.cells if not is_test(c)]
    assert changed_tests(release(), nb) == {"moved": grade_ids_of_tests(release())}


def test_an_answer_moved_below_its_test_moves_that_test_only():
    nb = solved(KIT, LAB)
    test = grade_ids_of_tests(nb)[3]
    answer = nb.cells.pop(index_of(nb, test) - 1)
    assert nbgrader(answer).get("solution")
    nb.cells.insert(index_of(nb, test) + 1, answer)
    assert changed_tests(release(), nb) == {"moved": [test]}


def answers_of(nb):
    return [nbgrader(c)["grade_id"] for c in nb.cells if nbgrader(c).get("solution")]


def unmarked(nb):
    nb = copy.deepcopy(nb)
    for cell in nb.cells:  # as an editor that drops every cell's metadata saves it
        cell.metadata = {}
    return nb


def test_windows_line_endings_change_no_test_and_hide_no_unmarked_one():
    nb = solved(KIT, LAB)
    for cell in nb.cells:
        cell.source = cell.source.replace("\n", "\r\n")
    assert changed_tests(release(), nb) == {}
    assert changed_tests(release(), unmarked(nb)) == {"unmarked": grade_ids_of_tests(release())}
    nb.cells[index_of(nb, grade_ids_of_tests(nb)[0])].source += "\r\n# mine"
    assert changed_tests(release(), nb) == {"edited": grade_ids_of_tests(nb)[:1]}


def test_answers_that_lost_their_metadata_are_found_in_their_place():
    nb = solved(KIT, LAB)
    bare = unmarked(nb)
    found, unplaced = lost_answers(release(), bare)
    assert unplaced == [] and {i: meta["grade_id"] for i, meta in found.items()} == {
        index_of(nb, name): name for name in answers_of(nb)}
    assert all(meta == nbgrader(release().cells[i]) for i, meta in found.items())
    assert lost_answer_marks(release(), bare) == {"restored": answers_of(nb)}
    assert lost_answer_marks(release(), nb) == {}  # nothing lost, nothing to say


def test_an_answer_is_not_guessed_where_two_cells_could_be_it():
    nb = unmarked(solved(KIT, LAB))
    names = answers_of(solved(KIT, LAB))
    at = index_of(solved(KIT, LAB), "reflect_scale")
    nb.cells.insert(at + 1, new_markdown_cell("my own note"))  # two Markdown cells between the questions
    nb.cells.insert(index_of(solved(KIT, LAB), "predict") + 1, new_code_cell("predict(params, X_xor)"))
    assert lost_answer_marks(release(), nb) == {
        "restored": [n for n in names if n not in ("predict", "reflect_scale")], "unplaced": ["reflect_scale"]}


def test_an_answer_deleted_or_rewritten_with_its_question_is_left_alone():
    nb = unmarked(solved(KIT, LAB))
    del nb.cells[index_of(solved(KIT, LAB), "reflect_experiment")]  # gone: nbgrader puts an empty copy back
    question = index_of(solved(KIT, LAB), "reflect_random") - 1  # between the answers reflect_symmetry and it
    nb.cells[question].source += "\n\nMy answer, in the question's cell."  # three Markdown cells, none unchanged
    marks = lost_answer_marks(release(), nb)
    assert "reflect_experiment" not in str(marks) and marks["unplaced"] == ["reflect_symmetry", "reflect_random"]


LIMITS = SandboxPolicy()


@pytest.mark.parametrize("ename, evalue, fact, said", [
    ("MemoryError", "", Fact.MEMORY, "ran out of memory (the limit is 2 GiB)"),
    ("OSError", "[Errno 27] File too large", Fact.FILE_SIZE, "wrote a file past the size limit (the limit is 256 MiB)"),
    ("OSError", "[Errno 28] No space left on device", Fact.SCRATCH, "filled its scratch space (the limit is 512 MiB)"),
    ("BlockingIOError", "[Errno 11] Resource temporarily unavailable", Fact.PROCESSES,
     "could start no more processes or threads (the limit is 128 processes and threads)"),
    ("RuntimeError", "can't start new thread", Fact.PROCESSES, "could start no more processes or threads"),
])
def test_errors_that_show_a_sandbox_limit_name_it(ename, evalue, fact, said):
    found, what = limit_hit(new_output("error", ename=ename, evalue=evalue, traceback=[]), LIMITS)
    assert found == fact and what.startswith(said)


def test_without_a_sandbox_the_limit_is_named_without_figures():
    assert limit_hit(new_output("error", ename="MemoryError", evalue="", traceback=[]), None) == \
        (Fact.MEMORY, "ran out of memory")


@pytest.mark.parametrize("output", [
    new_output("error", ename="ValueError", evalue="shapes (3,2) and (3,2) not aligned", traceback=[]),
    new_output("error", ename="FileNotFoundError", evalue="[Errno 2] No such file or directory: 'x'", traceback=[]),
    new_output("stream", name="stdout", text="MemoryError [Errno 27]\n"),
])
def test_other_errors_and_printed_text_show_no_limit(output):
    assert limit_hit(output, LIMITS) is None


def test_findings_a_submission_brings_are_forgotten():
    nb = nbformat.v4.new_notebook()
    nb.metadata["autograder"] = {"findings": [{"cell": 0, "fact": "exit", "what": "forged"}]}
    forget(nb)
    note(nb, 2, Fact.MEMORY, "ran out of memory")
    assert noted(nb) == [{"cell": 2, "fact": "memory", "what": "ran out of memory"}]


def test_cut_output_is_noted_in_the_findings():
    nb = nbformat.v4.new_notebook(cells=[
        new_code_cell("flood()", outputs=[new_output("stream", name="stdout", text="spam\n" * 50)]),
        new_code_cell("quiet()", outputs=[new_output("stream", name="stdout", text="fine\n" * 5)]),
    ])
    nb, _ = NotedLimitOutput(max_lines=20).preprocess(nb, {})
    assert nb.cells[0].outputs[0].text.count("spam") < 20 and nb.cells[1].outputs[0].text == "fine\n" * 5
    assert noted(nb) == [{"cell": 0, "fact": "output_lines",
                          "what": "printed more than the limit of 20 lines (the rest was cut)"}]


@pytest.mark.parametrize("facts, changed, status", [
    ([], False, Status.GRADED),
    ([Fact.MEMORY], False, Status.HIT_LIMIT),
    ([Fact.OUTPUT_BUDGET], True, Status.TESTS_CHANGED),
    ([Fact.CELL_TIMEOUT, Fact.MEMORY], True, Status.TIMEOUT),
    ([Fact.WALL_TIME], False, Status.TIMEOUT),
    ([Fact.CELL_TIMEOUT, Fact.SIGNAL], False, Status.KERNEL_DIED),
    ([Fact.EXIT], True, Status.KERNEL_DIED),
])
def test_a_status_comes_from_the_recorded_facts_in_order_of_precedence(facts, changed, status):
    assert status_of([fact.value for fact in facts], changed) == status


def test_rewording_what_the_grader_says_changes_no_status():
    """The words are for people: the status depends on the fact alone."""
    nb = nbformat.v4.new_notebook()
    note(nb, 1, Fact.CELL_TIMEOUT, "ran out of memory, or maybe not")
    note(nb, 2, Fact.MEMORY, "wall time")
    assert status_of([finding["fact"] for finding in noted(nb)], False) == Status.TIMEOUT


def test_a_submission_started_from_an_earlier_release_is_judged_against_it():
    earlier, current = release(), release()
    test = grade_ids_of_tests(current)[1]
    current.cells[index_of(current, test)].source += "\nassert True  # fixed after the first release"
    started_earlier = solved(KIT, LAB)  # the student's copy has the test as first released
    assert changed_tests(current, started_earlier) == {"edited": [test]}
    assert changed_tests_since([current, earlier], started_earlier) == {}
    tampered = copy.deepcopy(started_earlier)
    first = grade_ids_of_tests(tampered)[0]
    tampered.cells[index_of(tampered, first)].source = "pass"
    assert changed_tests_since([current, earlier], tampered) == {"edited": [first]}
