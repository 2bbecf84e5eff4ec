"""The labs as students meet them: JupyterLab in a real browser (Chromium driven by Playwright).

Starts JupyterLab on loopback over a scratch copy of the course, runs a completed Lab 2, moves its
learning-rate slider and checks that the plot changed; shows that course_utils progress bars render as
widgets; and opens every release/ notebook to check it renders and runs cleanly up to the student's
first exercise; opens a student's feedback page from file:// with the network off and checks its summary
and typeset formulas. Screenshots of each step go to test-artifacts/browser/.
"""
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

from autograder.course import Course
from autograder.submissions import solved

ROOT = Path(__file__).resolve().parents[1]
KIT = Course(ROOT)
ARTIFACTS = ROOT / "test-artifacts" / "browser"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
                  "--disable-background-networking", "--disable-component-update"]
TOKEN = "course-kit-browser-test"
SLIDER_LAB = "lab2_learning_rates"
OPTIMIZER_LAB = "lab6_optimizers"

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("browser")]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_settings(folder: Path) -> None:
    """Render every cell (no virtual scrolling) and fetch no news: the test sees the whole notebook."""
    settings = {"@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
                "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false"}}
    for name, value in settings.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value))


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        pytest.skip("Chromium is not installed (Debian: apt-get install chromium), so JupyterLab cannot be "
                    "tested in a real browser here")
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed "
                                   "(pip install -e '.[test]')")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def lab_url(tmp_path_factory):
    """JupyterLab on loopback over a scratch course holding release/ and a completed Lab 2."""
    work = tmp_path_factory.mktemp("jupyterlab")
    course = work / "course"
    course.mkdir()
    shutil.copytree(ROOT / "release", course / "release")
    if (ROOT / "source" / SLIDER_LAB).is_dir():
        nbformat.write(solved(KIT, SLIDER_LAB), course / f"{SLIDER_LAB}_completed.ipynb")
    if (ROOT / "source" / OPTIMIZER_LAB).is_dir():
        nbformat.write(solved(KIT, OPTIMIZER_LAB), course / f"{OPTIMIZER_LAB}_completed.ipynb")
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "from course_utils.progress import progress_bar\nfor _ in progress_bar(range(50), desc='epochs'):\n"
        "    pass")], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}),
        course / "progress.ipynb")
    write_settings(work / "settings")
    port = free_port()
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(work / "runtime"))
    env.pop("NBGRADER_EXECUTION", None)
    as_root = ["--allow-root"] if os.geteuid() == 0 else []
    log = open(work / "server.log", "wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
         f"--IdentityProvider.token={TOKEN}", f"--ServerApp.root_dir={course}",
         f"--LabApp.user_settings_dir={work / 'settings'}", f"--LabApp.workspaces_dir={work / 'workspaces'}", *as_root],
        env=env, stdout=subprocess.DEVNULL, stderr=log)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"{url}/api/status?token={TOKEN}", timeout=2)
                break
            except OSError:
                if server.poll() is not None:
                    pytest.fail(f"JupyterLab exited: {(work / 'server.log').read_text()[-2000:]}")
                time.sleep(0.5)
        yield url
    finally:
        try:  # a clean shutdown also ends the kernels the server started
            urllib.request.urlopen(urllib.request.Request(f"{url}/api/shutdown?token={TOKEN}", method="POST"),
                                   timeout=5)
        except OSError:
            pass
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


@pytest.fixture(scope="module")
def jupyterlab(browser, lab_url):
    """The JupyterLab URL, after one visit has loaded the application (a cold first start is slow)."""
    page = browser.new_page()
    page.goto(f"{lab_url}/lab/workspaces/warm-up?token={TOKEN}&reset")
    page.wait_for_selector(".jp-Launcher", timeout=120_000)
    page.close()
    return lab_url


def open_notebook(browser, url: str, path: str):
    """A new page with JupyterLab showing only ``path`` (a workspace of its own, reset)."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    workspace = "".join(ch if ch.isalnum() else "-" for ch in path)
    page.goto(f"{url}/lab/workspaces/{workspace}/tree/{path}?token={TOKEN}&reset")
    page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=60_000)
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=60_000)
    return page, errors


def click_past_dialogs(page, selector, tries=12) -> None:
    """Click ``selector``, first answering with its default any dialog JupyterLab puts up (Select Kernel can
    come up at any moment while a notebook opens, and then takes every click)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    for _ in range(tries - 1):
        accept = page.locator(".jp-Dialog .jp-mod-accept")
        if accept.count():
            accept.first.click()
        try:
            page.click(selector, timeout=5_000)
            return
        except PlaywrightTimeout:
            continue
    page.click(selector)


def run_all(page, timeout_ms=240_000) -> None:
    """Run > Run All Cells, then wait until something ran and nothing is queued or running.

    A click that lands while JupyterLab is still settling can be lost: after a minute with no cell
    run at all, the command is given again (running all cells twice changes nothing we check).
    A dialog JupyterLab puts up meanwhile (Select Kernel, when it had no kernel for the notebook) is
    answered with its default, as a student would."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    started = """() => [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')]
        .some(e => /\\[(\\d+|\\*)\\]/.test(e.textContent))"""
    for attempt in range(3):
        click_past_dialogs(page, ".lm-MenuBar-itemLabel:text-is('Run')")
        click_past_dialogs(page, ".lm-Menu-itemLabel:text-is('Run All Cells')")
        try:
            page.wait_for_function(started, timeout=60_000)
            break
        except PlaywrightTimeout:
            shot(page, f"run-all-not-started-{attempt}")
    try:
        page.wait_for_function("""() => { const p = [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')];
            return p.some(e => /\\[\\d+\\]/.test(e.textContent)) && p.every(e => !e.textContent.includes('*')) }""",
                               timeout=timeout_ms)
    except PlaywrightTimeout:
        shot(page, "run-all-did-not-finish")  # what the page showed, for the test artefacts
        raise


def cell_errors(page) -> list[tuple[int, str]]:
    """(cell index, error text) for every cell that shows an error traceback."""
    return page.evaluate("""() => [...document.querySelectorAll('.jp-Notebook .jp-Cell')].flatMap((cell, i) =>
        [...cell.querySelectorAll('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')]
          .map(o => [i, o.textContent]).filter(([, t]) => /Error|Traceback/.test(t)))""")


def shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=False)


def test_progress_bar_renders_as_a_widget(browser, jupyterlab):
    page, errors = open_notebook(browser, jupyterlab, "progress.ipynb")
    run_all(page)
    shot(page, "progress-ran")
    page.wait_for_selector(".jp-OutputArea .widget-hprogress", timeout=30_000)
    shot(page, "progress-bar-widget")
    assert page.locator(".jp-OutputArea .widget-hprogress").count() == 1
    assert "50/50" in page.locator(".jp-OutputArea").first.inner_text()
    assert cell_errors(page) == [] and errors == []
    page.close()


def test_lab2_slider_redraws_the_plot(browser, jupyterlab):
    if not (ROOT / "source" / SLIDER_LAB).is_dir():
        pytest.fail(f"{SLIDER_LAB} is missing from source/")
    page, errors = open_notebook(browser, jupyterlab, f"{SLIDER_LAB}_completed.ipynb")
    shot(page, "lab2-opened")
    run_all(page)
    shot(page, "lab2-ran-all")
    assert cell_errors(page) == [] and errors == []
    slider = page.locator(".widget-slider", has=page.locator(".widget-label", has_text="learning rate")).first
    slider.scroll_into_view_if_needed()
    panel = page.locator(".jp-OutputArea-output", has=slider).first
    image = panel.locator("img").first
    image.wait_for(timeout=60_000)
    before = image.get_attribute("src")
    shot(page, "lab2-panel-before")
    handle = slider.locator(".noUi-handle").first
    box = handle.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 2 + 40, box["y"] + box["height"] / 2, steps=8)
    page.mouse.up()
    page.wait_for_function("([img, before]) => img.src !== before", arg=[image.element_handle(), before],
                           timeout=120_000)
    shot(page, "lab2-panel-after")
    assert image.get_attribute("src") != before
    assert cell_errors(page) == [] and errors == []
    page.close()


def test_lab6_optimizer_panel_redraws_the_paths(browser, jupyterlab):
    """Lab 6 completed (MNIST from the pre-staged fake in COURSE_DATA_DIR), run in full; the learning-rate
    slider of the optimizer panel is dragged and the drawing of the path changes."""
    if not (ROOT / "source" / OPTIMIZER_LAB).is_dir():
        pytest.fail(f"{OPTIMIZER_LAB} is missing from source/")
    page, errors = open_notebook(browser, jupyterlab, f"{OPTIMIZER_LAB}_completed.ipynb")
    run_all(page, timeout_ms=600_000)  # it trains networks on 8,000 images: a minute on an idle laptop
    shot(page, "lab6-ran-all")
    assert cell_errors(page) == [] and errors == []
    slider = page.locator(".widget-slider", has=page.locator(".widget-label", has_text="learning rate")).first
    slider.scroll_into_view_if_needed()
    panel = page.locator(".jp-OutputArea-output", has=slider).first
    assert panel.locator(".widget-toggle-buttons").count() == 2  # the optimizer and the surface
    image = panel.locator("img").first
    image.wait_for(timeout=60_000)
    before = image.get_attribute("src")
    status_before = panel.locator(".widget-html").last.inner_text()
    shot(page, "lab6-panel-before")
    handle = slider.locator(".noUi-handle").first
    box = handle.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 2 + 40, box["y"] + box["height"] / 2, steps=8)
    page.mouse.up()
    page.wait_for_function("([img, before]) => img.src !== before", arg=[image.element_handle(), before],
                           timeout=120_000)
    shot(page, "lab6-panel-after")
    assert image.get_attribute("src") != before
    assert panel.locator(".widget-html").last.inner_text() != status_before  # a new final height
    assert cell_errors(page) == [] and errors == []
    page.close()


@pytest.mark.parametrize("lab", KIT.labs())
def test_release_notebook_renders_and_runs_up_to_the_first_exercise(browser, jupyterlab, lab):
    release = nbformat.read(ROOT / "release" / lab / f"{lab}.ipynb", as_version=4)
    first_exercise = next(i for i, c in enumerate(release.cells)
                          if c.get("metadata", {}).get("nbgrader", {}).get("solution"))
    page, errors = open_notebook(browser, jupyterlab, f"release/{lab}/{lab}.ipynb")
    page.wait_for_function("n => document.querySelectorAll('.jp-Notebook .jp-Cell').length >= n",
                           arg=len(release.cells), timeout=30_000)
    assert page.locator(".jp-Notebook .jp-Cell").count() == len(release.cells)
    assert page.locator(".jp-Notebook .jp-MarkdownCell .jp-RenderedMarkdown").count() == \
        sum(c.cell_type == "markdown" for c in release.cells)  # every markdown cell rendered
    run_all(page)
    shot(page, f"release-{lab}")
    problems = cell_errors(page)
    assert [i for i, _ in problems if i < first_exercise] == [], problems
    if problems:  # an untouched release stops where the student's work starts
        assert "NotImplementedError" in problems[0][1], problems[0]
    assert errors == []
    page.close()


FEEDBACK_LAB = "lab1_initialization"


@pytest.fixture(scope="module")
def feedback_page(tmp_path_factory):
    """carol's feedback page for Lab 1 (one planted mistake, written answers not yet graded by hand), from real
    grading and nbgrader's feedback step."""
    from autograder.demo import scratch_course
    from autograder.feedback import feedback
    from autograder.grade import grade
    from autograder.release import release_lab
    from autograder.sandbox import sandbox_problem
    from autograder.submissions import submit, with_mistake
    course = scratch_course(KIT, tmp_path_factory.mktemp("feedback") / "course", [FEEDBACK_LAB])
    assert release_lab(course, FEEDBACK_LAB) == []
    submit(course, "carol", FEEDBACK_LAB, with_mistake(course, FEEDBACK_LAB))
    [outcome] = grade(course, FEEDBACK_LAB, workers=1, progress=False, sandbox=sandbox_problem() is None)
    assert outcome.status == "graded", outcome
    feedback(course, FEEDBACK_LAB, allow_pending=True)
    return course.feedback_dir("carol", FEEDBACK_LAB) / f"{FEEDBACK_LAB}.html"


def test_feedback_page_shows_its_summary_and_typeset_formulas_offline(browser, feedback_page):
    context = browser.new_context(offline=True, viewport={"width": 1280, "height": 1000})
    requested = []
    context.on("request", lambda request: requested.append(request.url))
    context.route(re.compile(r"^(?!file:|data:)"), lambda route: route.abort())  # nothing may leave the machine
    page = context.new_page()
    page.goto(feedback_page.as_uri(), wait_until="load")
    summary = page.locator("#summary table.summary")
    assert summary.is_visible()
    lost = summary.locator("tr", has_text="Exercise 7")
    assert "0 / 1" in lost.inner_text()
    message = lost.locator(".message", has_text="predict: some predictions are wrong")
    assert message.is_visible()
    box, table = message.bounding_box(), summary.bounding_box()
    assert box["x"] + box["width"] <= table["x"] + table["width"] + 1  # wrapped inside the table, not cut off
    assert summary.locator("tr", has_text="not graded yet").count() == 4  # the written answers, pending
    shot(page, "feedback-summary")
    # formulas are MathML, laid out by the browser: Lab 1 writes "$J = \ln 2 \approx 0.693147$" twice
    formula = page.locator("math", has_text="0.693147").first
    formula.scroll_into_view_if_needed()
    assert formula.evaluate("m => getComputedStyle(m).display") in ("math", "inline math", "block math")
    assert formula.bounding_box()["height"] > 0
    fractions = page.locator("math mfrac")
    assert fractions.count() > 0 and fractions.first.bounding_box()["height"] > 0
    text = page.locator("body").inner_text()
    assert "$\\ln" not in text and "\\approx" not in text and "\\frac" not in text  # no LaTeX left as text
    shot(page, "feedback-formula")
    assert [url for url in requested if not url.startswith(("file:", "data:"))] == []
    context.close()
