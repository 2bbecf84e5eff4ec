"""nbgrader preprocessors the course adds to autograding and feedback (see nbgrader_config.py)."""
from nbgrader import utils
from nbgrader.preprocessors import DeduplicateIds, Execute, NbGraderPreprocessor
from traitlets import Bool

from .sandbox import SandboxedKernelManager


class SandboxedExecute(Execute):
    """nbgrader's Execute, with every kernel started in the course's sandbox (autograder.sandbox).

    nbgrader's Execute fixes its kernel manager class when it is created, so the sandbox cannot be
    chosen by configuration alone; this subclass does it, unless ``sandbox`` is switched off
    (``python -m autograder grade --unsafe-no-sandbox``).
    """

    sandbox = Bool(True, help="Start each kernel in the bubblewrap sandbox.").tag(config=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.sandbox:
            self.kernel_manager_class = SandboxedKernelManager


class DropDuplicateIds(DeduplicateIds):
    """nbgrader's DeduplicateIds, leaving no empty ``nbgrader`` metadata behind.

    nbgrader keeps the last cell of a duplicated grade id and sets the others' metadata to ``{}``,
    which then crashes its own OverwriteCells (``KeyError: 'grade_id'``) and fails the whole
    submission. Removing the key makes the copies ordinary cells, as intended.
    """

    def preprocess_cell(self, cell, resources, index):
        cell, resources = super().preprocess_cell(cell, resources, index)
        if cell.metadata.get("nbgrader") == {}:
            del cell.metadata["nbgrader"]
        return cell, resources


class StderrToStdout(NbGraderPreprocessor):
    """Relabel every stderr stream output as stdout, keeping its text.

    nbgrader gives zero points to a test cell with anything on stderr, so a harmless warning
    or progress bar would cost a correct answer its points. Errors still count: they are
    ``error`` outputs, not streams.
    """

    def preprocess_cell(self, cell, resources, index):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream" and output.get("name") == "stderr":
                output["name"] = "stdout"
        return cell, resources


class CondenseTestErrors(NbGraderPreprocessor):
    """Reduce the traceback of every error in a test cell to its last line.

    A traceback of a failed test quotes the test's code, hidden tests included; the student
    only needs the message (``AssertionError: dW1 has the right shape but wrong values ...``).
    """

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and utils.is_grade(cell) and not utils.is_solution(cell):
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    output["traceback"] = [error_line(output)]
        return cell, resources


def error_line(output) -> str:
    """``"AssertionError: message"`` for an error output (its name alone if it has no message)."""
    evalue = output.get("evalue", "")
    return f"{output.get('ename', 'Error')}: {evalue}" if evalue else output.get("ename", "Error")
