"""nbgrader configuration of the course (the repository root is the nbgrader course root)."""
from nbgrader.preprocessors import (
    AssignLatePenalties, CheckCellMetadata, ClearHiddenTests, ClearOutput, Execute, GetGrades,
    IgnorePattern, LimitOutput, OverwriteCells, OverwriteKernelspec, SaveAutoGrades)
from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor

from autograder.preprocessors import CondenseTestErrors, DropDuplicateIds, StderrToStdout

c = get_config()  # noqa: F821 (provided by nbgrader when it loads this file)

c.CourseDirectory.course_id = "nn-from-scratch"
# Everything in source/<lab>/ but these is copied into release/<lab>/ next to the notebook.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", ".*"]

# Execution of submissions: generous per cell (Lab 5 trains a network), bounded kernel start-up.
c.Execute.timeout = 300
c.Execute.startup_timeout = 60
c.Execute.interrupt_on_timeout = True

# A deleted or damaged test cell is put back from the gradebook and graded (nbgrader #1682).
c.OverwriteCells.add_missing_cells = True

# A duplicated grade cell counts once (the last copy); the copies become ordinary cells.
c.Autograde.sanitize_preprocessors = [
    ClearOutput,
    DropDuplicateIds,
    OverwriteKernelspec,
    OverwriteCells,
    CheckCellMetadata,
]

# Keep submitted outputs small: a runaway print loop must not produce a 1 GB notebook.
c.LimitOutput.max_lines = 1000
c.LimitOutput.max_traceback = 100

# A warning, a progress bar or any other text on stderr must not cost points: nbgrader gives
# zero to a grade cell with any stderr output, so stderr is relabelled as stdout right after
# execution (the text stays visible).
c.Autograde.autograde_preprocessors = [
    Execute,
    StderrToStdout,
    IgnorePattern,
    ClearMetadataPreprocessor,
    LimitOutput,
    SaveAutoGrades,
    AssignLatePenalties,
    CheckCellMetadata,
]

# Feedback shows scores and failure messages, never hidden test code: hidden regions are
# removed from test cells and their tracebacks are reduced to the error's last line.
c.GenerateFeedback.preprocessors = [
    GetGrades,
    ClearHiddenTests,
    CondenseTestErrors,
    CSSHTMLHeaderPreprocessor,
]
