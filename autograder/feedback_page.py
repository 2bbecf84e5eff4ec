"""The feedback page a student reads: nbgrader's feedback step with a summary on top, viewable offline.

``nbgrader_config.py`` plugs these into nbgrader's ``generate_feedback`` (which ``python -m autograder
feedback`` runs): ``FeedbackSummary`` is one more of its preprocessors, after nbgrader's ``GetGrades`` and
the grader's removal of hidden tests; ``FeedbackExporter`` is its HTML exporter, with the template
``templates/student_feedback``. The page starts with a table of the graded questions (the title from the
notebook's nearest heading, the points earned of those possible, and, where points were lost, the
message the checks stored in the test cell's output), then shows the notebook. Written answers still
to grade by hand read "not graded yet". Formulas are turned into MathML when the page is written, which
every current browser typesets by itself: the page loads no script, font or style from anywhere. The student's own
Markdown and HTML are cleaned as the formgrader's are (``safe_html.clean_html``), MathML kept: no refresh to another
page, no form, no style that lays a box of theirs over the page's scores.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import markupsafe
from latex2mathml.converter import convert as latex_to_mathml
from nbconvert.exporters import HTMLExporter
from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath
from nbgrader import utils
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Bool

from .course import Course
from .export import final_score, late_plugin
from .findings import noted, stopped
from .leaks import cell_label
from .records import DEATHS, Fact, load_record
from .safe_html import clean_html

try:
    from jinja2 import pass_context
except ImportError:  # pragma: no cover (jinja2 < 3)
    from jinja2 import contextfilter as pass_context

TEMPLATES = Path(__file__).resolve().parent / "templates"
TEMPLATE = "student_feedback"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
HEADING = re.compile(r"^ {0,3}#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)
FENCED = re.compile(r"^ {0,3}(```|~~~).*?^ {0,3}\1", re.MULTILINE | re.DOTALL)  # a comment in it is no heading
LEAD = re.compile(r"^\*\*(.+?)\*\*", re.MULTILINE)  # a paragraph's bold lead: **Question 2 (scale).**
BLANK_LINE = re.compile(r"\n[ \t]*\n")  # the end of a paragraph
# a point count at the end, in the course's languages: (2 points), (1 punto), (1,5 pontos), (3 Punkte), (2 puan);
# the page shows the points itself, and "(2 layers)" stays
POINTS_SUFFIX = re.compile(r"\s*\(\s*\d+([.,]\d+)?\s+(points?|pts?|puntos?|punti|pontos?|punkte?|poin|puan|điểm)"
                           r"\.?\s*\)\s*$", re.IGNORECASE)
# latex2mathml lays out align* as a table; amsmath's aligned (inside $$ ... $$) is the same layout.
ENVIRONMENT_ALIASES = {"aligned": "align*", "gathered": "gather*"}


# -- formulas -------------------------------------------------------------------------------------

def math_html(latex: str, display: bool) -> str:
    """A formula as MathML; if it cannot be converted, its LaTeX source in a code element (still readable)."""
    body = latex.strip()
    for name, alias in ENVIRONMENT_ALIASES.items():
        body = body.replace(f"\\begin{{{name}}}", f"\\begin{{{alias}}}").replace(f"\\end{{{name}}}",
                                                                                  f"\\end{{{alias}}}")
    try:
        mathml = latex_to_mathml(body, display="block" if display else "inline")
    except Exception:  # noqa: BLE001 (any LaTeX the converter does not know: show the source)
        tag = "pre" if display else "code"
        return f'<{tag} class="tex">{markupsafe.escape(latex.strip())}</{tag}>'
    # HTML needs no namespace on <math> (and a page without URLs is easier to check for references)
    mathml = mathml.replace(' xmlns="http://www.w3.org/1998/Math/MathML"', "", 1)
    return mathml.replace("<mi>&</mi>", "<mi>&amp;</mi>")  # an alignment mark it does not lay out


class MathMLRenderer(IPythonRenderer):
    """nbconvert's Markdown renderer, with formulas written as MathML instead of left for MathJax."""

    def block_math(self, body: str) -> str:
        return math_html(body, display=True)

    def inline_math(self, body: str) -> str:
        return math_html(body, display=False)

    def latex_environment(self, name: str, body: str) -> str:
        return math_html(f"\\begin{{{name}}}{body}\\end{{{name}}}", display=True)


def markdown_html(source: str, **options) -> str:
    """Markdown as HTML with MathML formulas, cleaned (``clean_html``): the student writes it."""
    return clean_mathml(MarkdownWithMath(renderer=MathMLRenderer(escape=False, **options)).render(source))


def clean_mathml(html) -> str:
    """``html`` cleaned as the formgrader's is, its MathML formulas kept."""
    return clean_html(html, mathml=True)


def inline_html(text: str) -> str:
    """One line of Markdown (a title) as inline HTML, formulas included, without the paragraph around it."""
    text = re.sub(r"^(\d+)\.", r"\1\\.", text.strip())  # "3. Exercise" is a title, not a numbered list
    html = markdown_html(text, exclude_anchor_links=True).strip()
    return html.removeprefix("<p>").removesuffix("</p>")


FONT_FACE = re.compile(r"@font-face\s*\{[^}]*\}")


def without_font_files(css: str) -> str:
    """A style sheet without its ``@font-face`` rules (Bootstrap's icon font, which the page does not use, is
    a file the page would look for next to itself)."""
    return markupsafe.Markup(FONT_FACE.sub("", str(css)))


class FeedbackExporter(HTMLExporter):
    """nbconvert's HTML exporter with formulas rendered as MathML (the page needs no network), and the student's HTML
    outputs cleaned as their Markdown is."""

    sanitize_html = Bool(True, help="Clean the HTML of outputs (with clean_mathml)").tag(config=True)

    def default_filters(self):
        yield from super().default_filters()
        yield ("without_font_files", without_font_files)
        yield ("clean_html", clean_mathml)

    @pass_context
    def markdown2html(self, context, source):
        cell = context.get("cell", {})
        return markdown_html(source, attachments=cell.get("attachments", {}), embed_images=self.embed_images,
                             path=context.get("resources", {}).get("metadata", {}).get("path", ""),
                             exclude_anchor_links=True,  # cleaning would show them (it drops their class)
                             **self.lexer_options)



class NbgraderAloneFeedback(HTMLExporter):
    """The exporter ``nbgrader_config.py`` gives nbgrader's generate_feedback, which the kit's ``feedback`` replaces
    by ``FeedbackExporter``: run without the kit (the formgrader's Generate Feedback button, ``nbgrader
    generate_feedback``), generate_feedback refuses as it starts, before it writes or deletes a page: it logs why
    (which the formgrader shows), then exits, without a traceback."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.log.error(
            "This course writes feedback with `python -m autograder feedback LAB`, run in the course root: it writes "
            "pages only of gradings that finished, says whose written answers are still to grade by hand, tells each "
            "student whose work could not be graded why, and deletes any page that shows hidden test code. nbgrader's "
            "generate_feedback run alone (the formgrader's Generate Feedback button, or `nbgrader generate_feedback`) "
            "would skip all of that, so it writes nothing here. The formgrader's Release Feedback button releases the "
            "pages that `feedback` wrote.")
        raise SystemExit(1)

# -- the summary ---------------------------------------------------------------------------------

@dataclass
class Question:
    """One graded cell, as the summary shows it."""
    grade_id: str
    title: str                # inline HTML
    written: bool             # an answer graded by hand (otherwise a test cell)
    score: float
    points: float
    pending: bool             # graded by hand, not yet
    messages: list[str] = field(default_factory=list)  # why points were lost, or that the test was edited
    comment: str = ""         # the grader's comment (written answers)
    unanswered: bool = False  # a written answer left as released (nbgrader scored it 0 by itself)

    @property
    def lost(self) -> bool:
        return not self.pending and self.score < self.points


def check_message(output) -> str:
    """What a failed check says: an AssertionError's message alone; any other error (raised by the student's
    code, as a rule) by its name and message."""
    ename, evalue = output.get("ename", "Error"), ANSI.sub("", output.get("evalue", "")).strip()
    if ename == "AssertionError" and evalue:
        return evalue
    return f"The test stopped with an error: {ename}: {evalue}" if evalue else \
        f"The test stopped with an error: {ename}"


EDITED_TEST = ("You changed this test cell. Test cells are put back as they were handed out before grading, so what "
               "you wrote in it was not graded. Write your code in the answer cell above the test (where it said "
               "# YOUR CODE HERE), never in a test cell.")
UNPLACED_ANSWER = ("{title}: the cell of your answer had lost the marks that tell the grader which cell holds it "
                   "(the notebook was saved by an editor that drops them, such as Google Colab), and several cells "
                   "there could be your answer, so an empty answer cell was put back near them. Your "
                   "instructor was told to look for your answer; if it is not graded, tell them which cell it is in.")
STOP_ERRORS = {"KeyboardInterrupt", "CellTimeoutError"}  # what stopping a cell at its time limit raises in it


def stopped_message(what: str) -> str:
    """What a student reads about a cell the grader stopped (``what``: its finding, "was stopped at its time limit
    (5 s)")."""
    return (f"Your code ran out of time: this cell {what}, several times what the model solution needs. Look for a "
            "loop that never ends (a condition that never turns false) or code far slower than it needs to be (a "
            "Python loop over every entry of an array, say).")


def finding_message(cell, index: int, finding: dict) -> str:
    """What a student reads about something the grader saw in a cell of theirs that is not a test (a test cell's
    own messages say it there): a loop stopped at its time limit, output cut, a limit hit, the kernel dying."""
    label = cell_label(cell, index).capitalize()
    if finding["fact"] == Fact.CELL_TIMEOUT:
        return f"{label}: {stopped_message(finding['what'])}"
    if finding["fact"] in DEATHS:
        return (f"{label}: your notebook's kernel died here ({finding['what']}). The cells after it were not run, so "
                "their tests scored nothing.")
    if finding["fact"] in (Fact.OUTPUT_LINES, Fact.OUTPUT_BUDGET):
        return f"{label} {finding['what']}. That costs no points: your code ran on, only its printed output was cut."
    return f"{label} {finding['what']}."


def heading_above(cells, index: int) -> tuple[int, str]:
    """(cell index, text) of the last Markdown heading before cell ``index``; (-1, "") if there is none."""
    for at in range(index - 1, -1, -1):
        if cells[at].cell_type == "markdown":
            headings = HEADING.findall(FENCED.sub("", cells[at].source))
            if headings:
                return at, headings[-1]
    return -1, ""


def leads_in(source: str) -> list[tuple[str, str]]:
    """(lead, text) of each paragraph of Markdown ``source`` that opens with a bold lead (``**MSE (1 point).**``),
    in order: the lead without its final full stop or "(1 point)", and the text from it to the next blank line
    or the next lead."""
    source = FENCED.sub("", source)
    matches = list(LEAD.finditer(source))
    found = []
    for k, match in enumerate(matches):
        end = matches[k + 1].start() if k + 1 < len(matches) else len(source)
        blank = BLANK_LINE.search(source, match.end(), end)
        text = source[match.start():blank.start() if blank else end]
        found.append((POINTS_SUFFIX.sub("", match.group(1).strip().rstrip(".:").strip()), text))
    return found


def names_any(text: str, names) -> bool:
    """Whether ``text`` names any of ``names`` (as a whole identifier, case and all: ``Softmax``, ``mse_loss``)."""
    return any(re.search(rf"(?<![\w.]){re.escape(name)}(?!\w)", text) for name in names)


def own_start(cells, index: int, stop: int) -> int:
    """The first cell that belongs to the question of cell ``index`` alone: after its heading's cell ``stop``
    and after the graded cell before it, if one lies between."""
    for at in range(index - 1, stop, -1):
        if utils.is_grade(cells[at]):
            return at + 1
    return max(stop, 0)


def tested_names(cells, index: int, stop: int) -> list[str]:
    """What test cell ``index`` checks: the grade ids of the solution code cells between the graded cell before it
    (or its heading) and it, which are the names of the functions and classes they define (``mse_loss``,
    ``Sigmoid``). None for a written answer."""
    if cells[index].cell_type != "code" or utils.is_solution(cells[index]):
        return []
    return [cells[at].metadata.nbgrader.get("grade_id", "") for at in range(own_start(cells, index, stop), index)
            if cells[at].cell_type == "code" and utils.is_solution(cells[at]) and not utils.is_grade(cells[at])
            and cells[at].metadata.nbgrader.get("grade_id")]


def lead_above(cells, index: int, stop: int, names=(), others=()) -> str:
    """The bold lead of the exercise that cell ``index`` grades, in the Markdown cells from its heading's cell
    ``stop`` to it; "" if none is its own.

    A test cell that checks ``names`` gets the first lead whose paragraph names one of them and none of
    ``others`` (what the other questions under that heading check): a cell that introduces several exercises
    (``**MSE.** ... **Softmax cross-entropy.** ...``) gives each test its own. Any other graded cell gets the
    nearest lead above it after the graded cell before it (a written answer's question), never one of an
    earlier question."""
    found = [(at, lead, text) for at in range(max(stop, 0), index)
             if cells[at].cell_type == "markdown" and not utils.is_solution(cells[at])
             for lead, text in leads_in(cells[at].source)]
    if names:
        return next((lead for _, lead, text in found if names_any(text, names) and not names_any(text, others)), "")
    start = own_start(cells, index, stop)
    mine = [lead for at, lead, _ in found if at >= start]
    return mine[-1] if mine else ""


def question_titles(cells) -> dict[int, str]:
    """A title (Markdown) for each graded cell: its nearest heading, without a "(3 points)" at its end; when
    several graded cells of one kind share a heading, each also gets its own part: the bold lead of its
    exercise or question, else the names of what it tests (``Sigmoid``), else its grade id. Two cells under
    one heading never get the same part."""
    graded = [i for i, cell in enumerate(cells) if utils.is_grade(cell)]
    headings = {i: heading_above(cells, i) for i in graded}
    names = {i: tested_names(cells, i, headings[i][0]) for i in graded}
    titles, parts = {}, {}
    for i in graded:
        at, heading = headings[i]
        titles[i] = POINTS_SUFFIX.sub("", heading) or cells[i].metadata.nbgrader.get("grade_id", "")
        shared = [j for j in graded if headings[j][0] == at and cells[j].cell_type == cells[i].cell_type]
        if len(shared) > 1:
            others = {name for j in shared if j != i for name in names[j]}
            parts[i] = (lead_above(cells, i, at, names[i], others), shared)
    for i, (lead, shared) in parts.items():
        if not lead or any(parts[j][0] == lead for j in shared if j != i):
            lead = ", ".join(f"`{name}`" for name in names[i])
        elif lead in names[i]:  # **Softmax**: the class's name, shown as its neighbours' (`Sigmoid`) are
            lead = f"`{lead}`"
        titles[i] = f"{titles[i]}: {lead}" if lead else f"{titles[i]} ({cells[i].metadata.nbgrader.get('grade_id')})"
    return titles


class FeedbackSummary(NbGraderPreprocessor):
    """Collects the summary of a feedback page into ``resources["summary"]`` (a list of ``Question``).

    Runs after nbgrader's ``GetGrades`` (the scores) and the removal of hidden tests (the messages left are
    the ones the student may see). Marks each written answer still to grade by hand as pending, in the
    cell too (``metadata.nbgrader.pending``), so that the notebook below the summary says the same. A test cell
    the student edited (graded as released: the grader's record, ``Outcome.changed_tests``) says so first; a written
    answer whose cell the grader could not tell (``Outcome.lost_answers``) is named above the summary. Also
    names, in ``resources["other_notebooks"]``, the submission's notebooks that were not graded (a copy the
    student may have worked in).
    """

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        titles = question_titles(nb.cells)
        cut_short = stopped(nb)
        course = Course(Path(CourseDirectory(config=self.config).root))
        record = load_record(course, info["assignment"], info["student"])
        edited = record.changed_tests.get("edited", []) if record else []  # graded as released, as the grader said
        unplaced = record.lost_answers.get("unplaced", []) if record else []  # answers not found, as the grader said
        questions = []
        with Gradebook(info["db_url"]) as gb:
            for index, cell in enumerate(nb.cells):
                if not utils.is_grade(cell):
                    continue
                meta = cell.metadata.nbgrader
                try:
                    grade = gb.find_grade(meta["grade_id"], info["notebook"], info["assignment"], info["student"])
                    pending = bool(grade.needs_manual_grade)
                    unanswered = grade.auto_score is not None and grade.manual_score is None
                except MissingEntry:
                    pending = unanswered = False
                meta["pending"] = pending
                written = bool(utils.is_solution(cell))
                score, points = float(meta.get("score") or 0), float(meta.get("points") or 0)
                errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
                if index in cut_short:
                    errors = [o for o in errors if o.get("ename") not in STOP_ERRORS]
                failures = [] if written or score >= points else (
                    ([stopped_message(cut_short[index])] if index in cut_short else []) +
                    [check_message(o) for o in errors] or ["This test did not pass."])
                messages = ([EDITED_TEST] if meta["grade_id"] in edited else []) + failures
                questions.append(Question(meta["grade_id"], inline_html(titles[index]), written, score, points,
                                          pending, messages, (meta.get("comment") or "").strip(),
                                          written and unanswered))
            # the total and the late penalty as export counts them: without the grades still to review, the
            # penalty for the score as it is now (nbgrader's page keeps the one from before the hand grades)
            total, penalty = final_score(gb.find_submission(info["assignment"], info["student"]),
                                         late_plugin(self.config))
        resources["nbgrader"]["score"], resources["nbgrader"]["late_penalty"] = total, penalty
        resources["summary"] = questions
        resources["cell_notes"] = [finding_message(nb.cells[f["cell"]], f["cell"], f) for f in noted(nb)
                                   if not (f["cell"] in cut_short and utils.is_grade(nb.cells[f["cell"]]))]
        resources["cell_notes"] += [UNPLACED_ANSWER.format(title=titles[index]) for index, cell in enumerate(nb.cells)
                                    if utils.is_grade(cell) and cell.metadata.nbgrader.get("grade_id") in unplaced]
        resources["pending_points"] = sum(q.points for q in questions if q.pending)
        resources["other_notebooks"] = course.other_notebooks(info["student"], info["assignment"])
        return nb, resources
