"""The feedback page a student reads, and the refusals around it, with real nbgrader runs.

One scratch course of Lab 1 is released and graded once: a correct submission, one with a planted
mistake, one with an answer typed into a test cell, a malformed notebook and a notebook under another name.
Then: ``feedback`` refuses while written answers are not graded by hand (and says how many, where, and what to
do), ``--allow-pending`` writes pages where they read "not graded yet", the page starts with a summary of the
questions with the checks' messages (and, at an edited test, that its changes were not graded), loads nothing
from the network and shows formulas as MathML; submissions that could not be graded get a page that says why in
plain words. ``grade`` before ``release`` says to release first. Each question's title on the page is its own, in
every released lab (read from the notebooks, no grading).
"""
import copy
import csv
import io
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from autograder import hand_grades
from autograder.course import Course
from autograder.demo import scratch_course
from autograder.feedback import visible_text
from autograder.feedback_page import FeedbackExporter, inline_html, question_titles
from autograder.grade import grade
from autograder.records import load_record
from autograder.sandbox import sandbox_problem
from autograder.submissions import PLANTED_MISTAKES, solved, submit, untouched, with_mistake
from released import released_course

KIT = Course(Path(__file__).resolve().parents[1])
LAB = "lab1_initialization"
SANDBOX = sandbox_problem() is None  # without bubblewrap, grade these trusted samples unsandboxed
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("student_feedback")]
WRITTEN = ["reflect_symmetry", "reflect_random", "reflect_scale", "reflect_experiment"]  # 2 points each
FORMULA = r"\ln 2 \approx 0.693147"  # in a Markdown cell of Lab 1, as $...$


def cli(course, *args):
    return subprocess.run([sys.executable, "-m", "autograder", "--root", str(course.root), *args],
                          capture_output=True, text=True, timeout=600)


def page_of(course, student):
    return course.feedback_dir(student, LAB) / f"{LAB}.html"


def typed_into_the_test(course):
    """The release with predict's answer typed into its test cell, above the tests; its answer cell as released."""
    nb, answers = untouched(course, LAB), solved(course, LAB)
    test = next(cell for cell in nb.cells if cell.metadata.get("nbgrader", {}).get("grade_id") == "test_predict")
    answer = next(cell for cell in answers.cells if cell.metadata.get("nbgrader", {}).get("grade_id") == "predict")
    test.source = answer.source + "\n\n" + test.source
    return nb


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    course = released_course(KIT, tmp_path_factory.mktemp("student_feedback") / "course", [LAB])  # a copy of the process's one release of the lab
    submit(course, "alice", LAB, solved(course, LAB))
    submit(course, "carol", LAB, with_mistake(course, LAB))
    submit(course, "frank", LAB, typed_into_the_test(course))
    submit(course, "dave", LAB, course.release_notebook(LAB).read_text()[:700])  # cut off mid-JSON
    renamed = course.submission_dir("erin", LAB)
    renamed.mkdir(parents=True)
    nbformat.write(solved(course, LAB), renamed / "lab1 (copy).ipynb")
    # the canary is not what these tests check (test_canary.py and the round trips of test_pipeline.py do)
    outcomes = {o.student: o for o in grade(course, LAB, workers=2, progress=False, sandbox=SANDBOX,
                                            skip_canary=True)}
    assert outcomes["carol"].score < outcomes["alice"].score
    return course, outcomes


@pytest.fixture(scope="module")
def allowed(graded):
    """``feedback --allow-pending`` run once, after the refusal test (tests of this module run in order)."""
    course, _ = graded
    return cli(course, "feedback", LAB, "--allow-pending")


class References(HTMLParser):
    """Every address a page would load: script, stylesheet, image, frame, font (in CSS), @import."""

    def __init__(self):
        super().__init__()
        self.found, self.in_style = [], False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.in_style = tag == "style"
        for name in ("src", "href", "data", "poster", "srcset"):
            if attrs.get(name) and (tag != "a" or name != "href"):
                self.found.append(f"<{tag} {name}={attrs[name]}>")
        if "style" in attrs:
            self.handle_css(attrs["style"])

    def handle_endtag(self, tag):
        self.in_style = False if tag == "style" else self.in_style

    def handle_data(self, data):
        if self.in_style:
            self.handle_css(data)

    def handle_css(self, css):
        self.found += re.findall(r"url\(\s*['\"]?((?!data:)[^'\")]+)", css) + re.findall(r"@import\s+[^;]+", css)


def external_references(html: str) -> list[str]:
    parser = References()
    parser.feed(html)
    return [ref for ref in parser.found if not ref.split("=", 1)[-1].startswith(("data:", "#"))]


def test_feedback_refuses_while_written_answers_are_pending_and_says_how_many_and_what_to_do(graded):
    course, _ = graded
    result = cli(course, "feedback", LAB)
    assert result.returncode != 0, result.stdout + result.stderr
    message = result.stderr
    # alice and carol wrote 4 answers each; dave and erin could not be graded, so they have none pending
    assert f"{LAB}: 8 answers in 2 submissions wait to be graded by hand (alice, carol; written answers" in message
    assert "formgrader" in message and course.command("feedback", LAB, "--allow-pending") in message
    assert "Traceback" not in message
    assert not (course.root / "feedback").exists()  # nothing was written


def test_allow_pending_writes_pages_where_pending_answers_read_not_graded_yet(graded, allowed):
    course, outcomes = graded
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr
    html = page_of(course, "carol").read_text()
    text = visible_text(html[html.index("<body"):])
    summary = text[text.index("Summary"):text.index("Your notebook")]
    # the total first, then a line per question: its heading, its points, what the checks found
    assert f"Score: {outcomes['carol'].score:g} / {outcomes['carol'].max_score:g}" in text
    assert "(so far: answers worth 8 points are not graded yet)" in text
    mistake = PLANTED_MISTAKES[LAB]
    graded_nb = nbformat.read(course.autograded_notebook("carol", LAB), as_version=4)
    cell = next(c for c in graded_nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == mistake.question_id)
    check = next(o.evalue for o in cell.outputs if o.get("ename") == "AssertionError")
    assert "Exercise 7 — Predictions" in summary and "0 / 1" in summary
    assert check in summary  # the check's own message, whole, where the points were lost
    assert "Exercise 1 — Initialize the parameters" in summary and "3 / 3" in summary
    assert summary.count("not graded yet") == len(WRITTEN)
    assert "Reflection: Question 2 (breaking the symmetry)" in summary
    assert "0 / 2" not in text  # a pending answer never shows as a zero, in the summary or the notebook
    assert text.index("Summary") < text.index("def initialize_parameters")  # the summary comes first


def test_a_student_who_typed_an_answer_into_a_test_cell_reads_there_that_it_was_not_graded(graded, allowed):
    course, outcomes = graded
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr
    assert outcomes["frank"].status == "tests_changed"
    text = " ".join(visible_text(page_of(course, "frank").read_text()).split())
    summary = text[text.index("Summary"):text.index("Your notebook")]
    row = summary[summary.index("Exercise 7 — Predictions"):]
    assert row.startswith("Exercise 7 — Predictions 0 / 1 You changed this test cell. Test cells are put back as they "
                          "were handed out before grading, so what you wrote in it was not graded. Write your code in "
                          "the answer cell above the test (where it said # YOUR CODE HERE), never in a test cell."), row
    assert "predict is not implemented yet" in row  # what the checks found, after it
    assert summary.count("You changed this test cell") == 1  # only the test frank changed


def test_the_page_loads_nothing_from_the_network_and_shows_formulas_as_mathml(graded, allowed):
    course, _ = graded
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr
    for student in ("alice", "carol", "dave", "erin"):
        html = page_of(course, student).read_text()
        assert external_references(html) == [], student
        assert "<script" not in html and "mathjax" not in html.lower(), student
    html = page_of(course, "carol").read_text()
    assert "<math" in html
    text = visible_text(html[html.index("<body"):])
    assert FORMULA not in text and "$\\ln" not in text  # typeset, not left as LaTeX source
    assert "0.693147" in text  # the formula's number, as MathML text


def test_pages_of_ungradable_submissions_say_why_in_plain_words(graded, allowed):
    course, outcomes = graded
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr
    assert outcomes["dave"].status == "malformed_notebook" and outcomes["erin"].status == "missing_notebook"
    def body_text(student):
        html = page_of(course, student).read_text()
        return visible_text(html[html.index("<body"):])
    malformed = body_text("dave")
    assert "Your notebook could not be opened, so it could not be graded" in malformed
    assert "Open your own copy of lab1_initialization.ipynb in JupyterLab" in malformed
    assert "Score: 0 / 21" in malformed
    release_start = course.release_notebook(LAB).read_text()[:700]
    fragments = [line.strip() for line in release_start.splitlines() if len(line.strip()) > 6]
    assert not [f for f in fragments if f in malformed]  # no piece of the broken JSON
    assert "{" not in malformed and "line 1" not in malformed and "char" not in malformed
    missing = body_text("erin")
    assert "Your submission has no file named lab1_initialization.ipynb" in missing
    assert "lab1 (copy).ipynb" in missing and "original name" in missing


def test_once_every_answer_is_graded_by_hand_feedback_writes_final_pages(graded, tmp_path):
    course, _ = graded
    with Gradebook(course.db_url()) as gb:
        for student in ("alice", "carol"):
            for question in WRITTEN:
                grade_ = gb.find_grade(question, LAB, LAB, student)
                grade_.manual_score = 1.5 if question == "reflect_scale" else 2
                grade_.needs_manual_grade = False  # as the formgrader does when it saves a score
            gb.db.commit()
        gb.find_comment("reflect_scale", LAB, LAB, "carol").manual_comment = "Say which gradients vanish."
        gb.db.commit()
    result = cli(course, "feedback", LAB)
    assert result.returncode == 0, result.stdout + result.stderr
    text = visible_text(page_of(course, "carol").read_text())
    assert "not graded yet" not in text
    assert "1.5 / 2" in text and "Say which gradients vanish." in text


def test_a_regrade_keeps_the_hand_grades_of_unchanged_answers_and_leaves_a_changed_one_out_of_the_totals(
        graded, tmp_path):
    course, _ = graded
    hand = {question: 1.5 if question == "reflect_scale" else 2 for question in WRITTEN}
    with Gradebook(course.db_url()) as gb:
        carols = gb.find_submission_notebook(LAB, LAB, "carol").grades
        failed = next(g.name for g in carols if g.auto_score is not None and g.auto_score < g.max_score)  # her mistake's
        for student in ("alice", "carol"):
            overrides = {failed: 1.0}  # partial credit for a failed test; for alice, a point off a passed one
            for question, score in (hand | overrides).items():
                grade_ = gb.find_grade(question, LAB, LAB, student)
                grade_.manual_score, grade_.needs_manual_grade = score, False  # as the formgrader saves a score
        gb.db.commit()
    hand_graded = [*WRITTEN, failed]
    # carol resubmits with another answer to one question; alice's submission is regraded as it is (--force)
    submitted = course.submission_dir("carol", LAB) / f"{LAB}.ipynb"
    nb = nbformat.read(submitted, as_version=4)
    answer = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "reflect_scale")
    answer.source += "\n\nOn second thought: the gradients of the early layers vanish."
    nbformat.write(nb, submitted)
    outcomes = {o.student: o for o in grade(course, LAB, workers=2, progress=False, sandbox=SANDBOX, force=True,
                                            skip_canary=True, students=["alice", "carol"])}
    assert {o.status for o in outcomes.values()} == {"graded"}
    with Gradebook(course.db_url()) as gb:
        review = {(s, q): gb.find_grade(q, LAB, LAB, s).needs_manual_grade for s in ("alice", "carol")
                  for q in hand_graded}
        kept = {(s, q): gb.find_grade(q, LAB, LAB, s).manual_score for s in ("alice", "carol") for q in hand_graded}
    # carol's override stands: she changed a written answer, not her code (on old code all 10 waited for review)
    assert [key for key, waiting in review.items() if waiting] == [("carol", "reflect_scale")]
    assert kept == {(s, q): score for s in ("alice", "carol") for q, score in (hand | {failed: 1.0}).items()}

    out = tmp_path / "grades.csv"
    assert cli(course, "export", "--out", str(out)).returncode == 0
    rows = {row["student_id"]: row for row in csv.DictReader(io.StringIO(out.read_text()))}
    assert [rows["alice"][q] for q in hand_graded] == ["2", "2", "1.5", "2", "1"]
    assert [rows["carol"][q] for q in hand_graded] == ["2", "2", "", "2", "1"]  # the changed answer waits for review
    questions = [key for key in rows["alice"] if key not in ("student_id", "lab", "total", "max_total", "status")]
    for student in ("alice", "carol"):  # the total is what its cells add up to: not the old 1.5 of a blank cell
        assert float(rows[student]["total"]) == sum(float(rows[student][q] or 0) for q in questions), rows[student]
    assert outcomes["carol"].score == float(rows["carol"]["total"])
    assert (rows["alice"]["status"], rows["carol"]["status"]) == ("graded", "needs_manual_grading")

    pages = cli(course, "feedback", LAB, "--allow-pending")
    assert pages.returncode == 0, pages.stdout + pages.stderr
    text = visible_text(page_of(course, "carol").read_text())
    assert f"Score: {float(rows['carol']['total']):g} / 21" in text
    assert "(so far: answers worth 2 points are not graded yet)" in text  # reflect_scale's

    # a question released again for other points waits for review too, though its answer reads the same
    graded_nb = nbformat.read(course.autograded_notebook("alice", LAB), as_version=4)
    with Gradebook(course.db_url()) as gb:
        before = hand_grades.reviewed(gb, LAB, "alice", graded_nb)
        assert sorted(question for question, (*_, stands) in before.items() if stands) == sorted(hand_graded)
        for question in hand_graded:  # as nbgrader's autograde leaves them
            gb.find_grade(question, LAB, LAB, "alice").needs_manual_grade = True
        rescored = copy.deepcopy(graded_nb)
        cell = next(c for c in rescored.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "reflect_random")
        cell.metadata.nbgrader["points"] = 3
        kept = hand_grades.keep_reviewed(gb, LAB, "alice", rescored, before)
        assert sorted(kept) == sorted(set(hand_graded) - {"reflect_random"})
        assert gb.find_grade("reflect_random", LAB, LAB, "alice").needs_manual_grade
        # an overridden test whose automatic score changed, whose student's code changed, or that was fixed since,
        # waits for review too
        gb.find_grade(failed, LAB, LAB, "alice").auto_score = 0.0
        assert failed not in hand_grades.keep_reviewed(gb, LAB, "alice", graded_nb, before)
        gb.find_grade(failed, LAB, LAB, "alice").auto_score = before[failed][1]
        recoded = copy.deepcopy(graded_nb)
        code = next(c for c in recoded.cells if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution"))
        code.source += "\n# changed"
        assert failed not in hand_grades.keep_reviewed(gb, LAB, "alice", recoded, before)
        test = next(c for c in rescored.cells if c.metadata.get("nbgrader", {}).get("grade_id") == failed)
        test.source += "\nassert True"
        assert failed not in hand_grades.keep_reviewed(gb, LAB, "alice", rescored, before)
        gb.find_grade(failed, LAB, LAB, "alice").needs_manual_grade = True  # as such a regrade leaves it
        gb.db.commit()
    # alice's page says what waits: her overridden test's score, to review (not a written answer)
    assert cli(course, "feedback", LAB, "--allow-pending").returncode == 0
    page = visible_text(page_of(course, "alice").read_text())
    assert page.count("Its score will be reviewed by hand.") == 1 and "will be graded by hand" not in page


def test_a_rerun_of_grade_shows_the_hand_grades_given_since_in_the_rows_it_skips(graded, tmp_path):
    """The table of a second `grade` lists unchanged submissions with the gradebook's score, as export counts it, not
    with the automatic score recorded by their grading (hand grades given in the formgrader since were left out)."""
    course, _ = graded
    with Gradebook(course.db_url()) as gb:
        for question in WRITTEN:  # a score no other test gives, so that the total differs from any recorded one
            grade_ = gb.find_grade(question, LAB, LAB, "alice")
            grade_.manual_score, grade_.needs_manual_grade = 0.5, False  # as the formgrader saves a score
        gb.db.commit()
    out = tmp_path / "grades.csv"
    assert cli(course, "export", "--out", str(out)).returncode == 0
    total = {row["student_id"]: row["total"] for row in csv.DictReader(io.StringIO(out.read_text()))}
    assert float(total["alice"]) != load_record(course, LAB, "alice").score

    result = cli(course, "grade", LAB, "--skip-canary", *([] if SANDBOX else ["--unsafe-no-sandbox"]))
    assert result.returncode == 0, result.stdout + result.stderr
    rows = {line.split()[0]: line for line in result.stdout.splitlines() if line.split()[:1] in (["alice"], ["dave"])}
    assert re.match(rf"alice +{total['alice']} / 21 +graded +unchanged since last run", rows["alice"]), result.stdout
    assert re.match(r"dave +0 / 21 +malformed_notebook +unchanged since last run", rows["dave"]), result.stdout

def test_grading_before_release_says_to_release_first(tmp_path):
    course = scratch_course(KIT, tmp_path / "course", [LAB])
    submit(course, "alice", LAB, solved(KIT, LAB))
    result = cli(course, "grade", LAB, *([] if SANDBOX else ["--unsafe-no-sandbox"]))
    assert result.returncode != 0, result.stdout + result.stderr
    assert f"{LAB} has not been released" in result.stderr
    assert course.command("release", LAB) in result.stderr and "Traceback" not in result.stderr
    assert not course.release_notebook(LAB).exists()  # grade did not release on its own
    assert load_record(course, LAB, "alice") is None  # nothing was graded
    released = cli(course, "release", LAB)
    assert released.returncode == 0, released.stdout + released.stderr
    assert course.release_notebook(LAB).exists()


def released_titles(lab):
    """grade_id -> (its title as the page shows it, whether it is a test cell), from the released notebook."""
    cells = nbformat.read(KIT.release_notebook(lab), as_version=4).cells
    return {cells[i].metadata.nbgrader.grade_id: (visible_text(inline_html(title)), cells[i].cell_type == "code")
            for i, title in question_titles(cells).items()}


@pytest.mark.parametrize("lab", KIT.labs())
def test_every_question_of_every_released_lab_has_a_title_of_its_own(lab):
    titles = released_titles(lab)
    tests = {grade_id: title for grade_id, (title, is_test) in titles.items() if is_test}
    written = {grade_id: title for grade_id, (title, is_test) in titles.items() if not is_test}
    assert tests and written
    # every test cell checks a function of its own, and every written answer answers a question of its own
    assert len(set(tests.values())) == len(tests), tests
    assert len(set(written.values())) == len(written), written
    functions = {grade_id.removeprefix("test_") for grade_id in tests}
    for grade_id, title in {**tests, **written}.items():
        # words from the notebook: not a grade id, not a "(2 points)", not the name of another question's function
        assert title.strip() and grade_id not in title and not re.search(r"\(\s*\d+ points?\s*\)", title), title
        assert title.rsplit(": ", 1)[-1] not in functions - {grade_id.removeprefix("test_")}, (grade_id, title)
    for grade_id, title in written.items():
        if "Reflection" in title:  # each question of the reflection by its own bold lead
            assert re.search(r"Reflection: Question \d+ \(", title), (grade_id, title)


def test_a_point_count_at_the_end_of_a_heading_or_lead_is_left_out_of_the_title_in_any_language():
    """A lab adapted for other students says "(2 puntos)" or "(3 pontos)": the page's own column gives the points."""
    def graded(grade_id, solution=False):
        return nbformat.v4.new_code_cell("", metadata={"nbgrader": {
            "grade": not solution, "solution": solution, "points": 1, "grade_id": grade_id}})

    def written(grade_id):
        return nbformat.v4.new_markdown_cell("", metadata={"nbgrader": {
            "grade": True, "solution": True, "points": 1, "grade_id": grade_id}})
    cells = [nbformat.v4.new_markdown_cell("## Ejercicio 3 — Exactitud (2 puntos)"), graded("exactitud", True),
             graded("test_exactitud"),
             nbformat.v4.new_markdown_cell("## Ejercicio 4 — Capa oculta (1,5 puntos)"), graded("capa", True),
             graded("test_capa"),
             nbformat.v4.new_markdown_cell("### Exercício 5 — Perda (3 pontos)"), graded("perda", True),
             graded("test_perda"),
             nbformat.v4.new_markdown_cell("## Exercise 6 — Accuracy (1 point)"), graded("accuracy", True),
             graded("test_accuracy"),
             nbformat.v4.new_markdown_cell("## Exercise 7 — The hidden layer (tanh)"), graded("hidden", True),
             graded("test_hidden"),
             nbformat.v4.new_markdown_cell("## Exercise 8 — A deeper network (2 layers)"), graded("deeper", True),
             graded("test_deeper"),
             nbformat.v4.new_markdown_cell("## Reflexión\n\n**Pregunta 1 (1 punto).** ¿Por qué?"), written("r1"),
             nbformat.v4.new_markdown_cell("**Pregunta 2 (2 puntos).** ¿Y ahora?"), written("r2")]
    assert sorted(question_titles(cells).values()) == [
        "Ejercicio 3 — Exactitud", "Ejercicio 4 — Capa oculta", "Exercise 6 — Accuracy",
        "Exercise 7 — The hidden layer (tanh)", "Exercise 8 — A deeper network (2 layers)", "Exercício 5 — Perda", "Reflexión: Pregunta 1",
        "Reflexión: Pregunta 2"]


def test_lab4_activation_and_loss_exercises_are_each_titled_by_their_own_function():
    """Exercises C2 to C5 share a heading (and a table of the four layers), exercises C6 and C7 a Markdown cell
    with a bold lead for each loss: each test's title names its own layer or loss, never the one described last."""
    titles = {grade_id: title for grade_id, (title, _) in released_titles("lab4_backprop").items()}
    for layer in ("Sigmoid", "ReLU", "Tanh", "Softmax"):
        assert titles[f"test_{layer}"] == f"Exercises C2 to C5 — Activation layers: {layer}"
    assert titles["test_mse_loss"] == "Exercises C6 and C7 — The losses: MSE"
    assert "softmax" not in titles["test_mse_loss"].lower()
    assert titles["test_softmax_cross_entropy"] == "Exercises C6 and C7 — The losses: Softmax cross-entropy"
    assert titles["test_Dense"] == "Exercise C1 — The dense layer"  # alone under its heading: the heading alone
    assert titles["reflect_gates"] == "Reflection: Question 1 (gates)"  # its lead is in the heading's own cell
    assert titles["reflect_old_weights"] == "Reflection: Question 2 (one step, old weights)"


# A student's HTML that would take the reader elsewhere (a refresh, a base for the page's links, a form that sends
# what is typed) or cover the page's scores with a score of its own (a fixed box: by a style, by one of Bootstrap's
# classes, by a formula's style)
LEAVES_OR_COVERS = (
    '<meta http-equiv="refresh" content="1; url=http://127.0.0.1:8765/x">'
    '<base href="http://127.0.0.1:8765/">'
    '<form action="http://127.0.0.1:8765/steal" method="post"><input name="password"><textarea></textarea>'
    '<select><option>a</option></select><button>Send</button></form>'
    '<div style="position: fixed; top: 0; left: 0; width: 100%; height: 100%; background: white">Score: 21 / 21</div>'
    '<div style="position:absolute;top:0">Score: 21 / 21</div><span style="position: sticky">21</span>'
    '<div class="navbar-fixed-top">Score: 21 / 21</div>')
FORMULAS = r"The cost is $\style{position: fixed; top: 0}{21}$, or $$\frac{1}{N}\sum_i x_i$$"


def feedback_html(nb) -> str:
    """``nb``'s feedback page as nbgrader's feedback step renders it with the course's configuration (its summary
    empty: the page's own parts are tested above)."""
    from nbgrader.converters import GenerateFeedback
    config = KIT.config()
    converter = GenerateFeedback(coursedir=KIT.coursedir(config), config=config)
    exporter = FeedbackExporter(parent=converter, config=converter.config)  # as autograder.feedback gives it
    html, _ = exporter.from_notebook_node(nb, resources={"summary": [], "nbgrader": {
        "notebook": LAB, "assignment": LAB, "student": "mallory", "score": 0, "max_score": 21}})
    return html


class Elements(HTMLParser):
    """The tags of a page's body, with their attributes."""

    def __init__(self):
        super().__init__()
        self.found = []

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, dict(attrs)))


def test_a_students_html_on_the_page_neither_leaves_it_nor_covers_its_scores():
    """Before, a refresh in a student's Markdown had the browser that opened the page from disk open another one, a
    form sent what was typed in it elsewhere, and a box fixed over the page showed a score of the student's choice."""
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output
    shown = new_output("display_data", {"text/html": LEAVES_OR_COVERS, "text/plain": "<HTML>"})
    written = new_markdown_cell(f"My answer. {LEAVES_OR_COVERS}", metadata={"nbgrader": {
        "grade": True, "solution": True, "grade_id": "reflect", "points": 2, "score": 0}})
    html = feedback_html(new_notebook(cells=[new_markdown_cell(f"My notes {LEAVES_OR_COVERS}\n\n{FORMULAS}"), written,
                                             new_code_cell("show()", outputs=[shown])]))
    policy = re.search(r'<meta content="([^"]*)" http-equiv="Content-Security-Policy"', html).group(1)
    assert "form-action 'none'" in policy and "base-uri 'none'" in policy  # a form or <base> left would do nothing
    body = html[html.index("<body"):]
    parser = Elements()
    parser.feed(body)
    tags = {tag for tag, _ in parser.found}
    assert not tags & {"meta", "base", "form", "input", "textarea", "select", "button"}, tags
    styles = [attrs["style"] for _, attrs in parser.found if "style" in attrs]
    assert not [style for style in styles if re.search(r"position\s*:\s*(fixed|absolute|sticky)", style)], styles
    assert "navbar-fixed-top" not in body and "127.0.0.1" not in body
    assert body.count("My notes") == 1 and body.count("My answer.") == 1 and body.count("Score: 21 / 21") == 9
    assert {"math", "mfrac", "munder", "msub"} <= tags  # formulas still shown, as MathML
