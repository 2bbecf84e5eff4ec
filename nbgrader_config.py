"""nbgrader configuration of the course (the repository root is the nbgrader course root)."""
from nbgrader.preprocessors import (
    AssignLatePenalties, CheckCellMetadata, ClearHiddenTests, ClearOutput, GetGrades, IgnorePattern,
    OverwriteKernelspec, SaveAutoGrades)
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor

from autograder.preprocessors import (
    CondenseTestErrors, DropBrokenMetadata, DropDuplicateIds, NotedLimitOutput, PutBackTests, SandboxedExecute,
    StderrToStdout)
from autograder.feedback_page import (
    TEMPLATE as FEEDBACK_TEMPLATE, TEMPLATES as FEEDBACK_TEMPLATES, FeedbackSummary, NbgraderAloneFeedback)

c = get_config()  # noqa: F821 (provided by nbgrader when it loads this file)

c.CourseDirectory.course_id = "nn-from-scratch"
# Everything in source/<lab>/ but these is copied into release/<lab>/ next to the notebook.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", ".*"]

# `nbgrader collect` keeps a link a student put in their submission as a link, never following it with your
# rights (to the course's solutions, say); `grade` then refuses that submission and names the link.
c.ExchangeFactory.collect = "autograder.exchange.CollectWithoutFollowingLinks"

# From an LMS download (README, "Collect"): `nbgrader zip_collect LAB` unpacks downloaded/LAB/archive/, unless it
# would unpack to over 10 GiB or to archives nested more than 3 deep (a zip bomb, say; autograder/archives.py),
c.ZipCollectApp.extractor_plugin = "autograder.archives.BoundedExtractor"
# then takes each notebook's student id from the name the LMS gave its upload (a notebook, or a student's archive
# that holds it: autograder/uploads.py). Uncomment your LMS's line.
# Canvas names a file <name>_[late_]<user id>_<file id>_<file name>[-<n>].ipynb; the student id is the user id
# (autograder/canvas.py):
# c.ZipCollectApp.collector_plugin = "autograder.canvas.CanvasCollector"
# Moodle names it <full name>_<number>_assignsubmission_file_[/]<file name>; the number changes from one
# assignment to the next, so the student id is the full name (participants who share one are collected as
# <full name>_<number>, with a warning to rename them; autograder/moodle.py):
# c.ZipCollectApp.collector_plugin = "autograder.moodle.MoodleCollector"

# Every kernel runs in a bubblewrap sandbox (autograder/sandbox.py, autograder/SECURITY.md): it sees
# only the system, its Python, course_utils and COURSE_DATA_DIR (nothing else of this machine), has no
# network, and has limits on memory, CPU time, processes, file size and wall time per notebook.
# Folders the notebooks may also read, e.g. a shared dataset:
# c.SandboxedKernelManager.readonly_paths = ["/srv/datasets"]
c.SandboxedKernelManager.memory_bytes = 2 * 1024**3
c.SandboxedKernelManager.wall_seconds = 1800
# Hidden tests run in the grader (autograder.judge), so the kernel needs no autograder: the sandbox
# keeps it from being imported or read.
# Each cell's time limit comes from the canary (grade's first run of the lab's own solution): 10x its
# time there, at least 5 s, at most Execute.timeout; see the README ("Time limits from the canary").
c.Execute.timeout = 300
c.Execute.startup_timeout = 60
c.Execute.interrupt_on_timeout = True
# A graded kernel is thrown away after its notebook: kill it at once instead of waiting for it to exit.
c.Execute.shutdown_kernel = "immediate"

# A deleted or damaged test cell is put back from the gradebook and graded (nbgrader #1682), in its place
# even where the exercise before it was deleted too (PutBackTests).
c.OverwriteCells.add_missing_cells = True

# `python -m autograder grade` runs nbgrader's autograde; run alone (the formgrader's Autograde button, or
# `nbgrader autograde`), without the canary, its time limits and the kit's records, it refuses and says so.
c.Autograde.exporter_class = "autograder.grade.NbgraderAloneExporter"

# A duplicated grade cell counts once (the last copy); the copies become ordinary cells, as do cells whose nbgrader
# metadata are broken (null, say) and cells pasted from another lab (a grade id this lab does not have).
c.Autograde.sanitize_preprocessors = [
    ClearOutput,
    DropBrokenMetadata,
    DropDuplicateIds,
    OverwriteKernelspec,
    PutBackTests,
    CheckCellMetadata,
]

# Keep submitted outputs small: a runaway print loop must not produce a 1 GB notebook
# (NotedLimitOutput is nbgrader's LimitOutput; it also notes each cut in the findings).
c.LimitOutput.max_lines = 1000
c.LimitOutput.max_traceback = 100

# A warning, a progress bar or any other text on stderr must not cost points: nbgrader gives
# zero to a grade cell with any stderr output, so stderr is relabelled as stdout right after
# execution (the text stays visible). nbgrader's list also names nbconvert's
# ClearMetadataPreprocessor, which is off unless enabled; it is left out, as enabling it would
# erase the grader's findings (autograder/findings.py) from the autograded notebook.
c.Autograde.autograde_preprocessors = [
    SandboxedExecute,
    StderrToStdout,
    IgnorePattern,
    NotedLimitOutput,
    SaveAutoGrades,
    AssignLatePenalties,
    CheckCellMetadata,
]

# Feedback shows scores and failure messages, never hidden test code: hidden regions are
# removed from test cells and their tracebacks are reduced to the error's last line. The page
# (autograder/feedback_page.py) starts with a summary of the questions (title, points, the checks'
# messages; written answers still to grade read "not graded yet") and needs no network: formulas are
# MathML, written when the page is, and every style is inline.
c.GenerateFeedback.preprocessors = [
    GetGrades,
    ClearHiddenTests,
    CondenseTestErrors,
    FeedbackSummary,
    CSSHTMLHeaderPreprocessor,
]
# `python -m autograder feedback` writes the pages with autograder.feedback_page.FeedbackExporter; run alone (the
# formgrader's Generate Feedback button, or `nbgrader generate_feedback`), without the kit's checks (below), nbgrader's
# generate_feedback refuses and says so. The formgrader's Release Feedback button releases the pages `feedback` wrote.
c.GenerateFeedback.exporter_class = NbgraderAloneFeedback
c.FeedbackExporter.template_name = FEEDBACK_TEMPLATE
c.FeedbackExporter.extra_template_basedirs = [str(FEEDBACK_TEMPLATES)]
# Their pages run no script (their security policy forbids any), and the student's Markdown and HTML outputs are
# cleaned as in the formgrader (below), but with their formulas kept as MathML (FeedbackExporter's own filters).
c.FeedbackExporter.sanitize_html = True
c.FeedbackExporter.filters = {}

# What you grade by hand in the formgrader runs nothing a student wrote: a written answer or an output that holds
# HTML with a script would run it in your Jupyter session, with your rights. Markdown and HTML outputs are shown
# cleaned (autograder/safe_html.py, autograder/SECURITY.md).
c.HTMLExporter.sanitize_html = True
c.HTMLExporter.filters = {"markdown2html": "autograder.safe_html.markdown_html",
                          "clean_html": "autograder.safe_html.clean_html"}
# An output's image shows from the notebook, never from an address the student's kernel wrote in its metadata (whose
# server would learn when you looked), and a width or height there that is no number is dropped.
c.HTMLExporter.preprocessors = ["autograder.safe_html.SafeOutputMetadata"]
