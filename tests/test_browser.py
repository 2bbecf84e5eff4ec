"""The labs as students meet them: JupyterLab in a real browser (Chromium driven by Playwright).

Starts JupyterLab on loopback over a scratch copy of the course, runs a completed Lab 2, moves its
learning-rate slider and checks that the plot changed; does the same with Lab 6's optimizer panel; shows that course_utils progress bars render as
widgets; and opens every release/ notebook to check it renders and runs cleanly up to the student's
first exercise; opens a student's feedback page from file:// with the network off and checks its summary
and typeset formulas. JupyterLab is loaded once, in one page; each notebook is opened in it as from the file
browser, with a kernel of its own, shut down after its test. Screenshots of each step go to
test-artifacts/browser/; when a wait times out, a screenshot and a text file of what the page and the server
showed (which cells ran, the kernel, any dialog, the end of the server's log) go there too, and the failure
message names them.
"""
import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
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
SERVERS: dict[str, Path] = {}  # JupyterLab's URL -> its scratch folder (course/ and server.log)

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
    with jupyterlab(course, work) as url:
        yield url


@contextlib.contextmanager
def jupyterlab(folder: Path, work: Path):
    """JupyterLab started in ``folder`` (its root, as `cd folder && jupyter lab` does) on loopback, its settings and
    log in ``work``; yields its URL, then shuts it down."""
    write_settings(work / "settings")
    port = free_port()
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(work / "runtime"))
    env.pop("NBGRADER_EXECUTION", None)
    as_root = ["--allow-root"] if os.geteuid() == 0 else []
    log = open(work / "server.log", "wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
         f"--IdentityProvider.token={TOKEN}", f"--ServerApp.root_dir={folder}",
         f"--LabApp.user_settings_dir={work / 'settings'}", f"--LabApp.workspaces_dir={work / 'workspaces'}",
         "--LabApp.expose_app_in_browser=True", *as_root],  # window.jupyterapp, whose commands open notebooks
        cwd=folder, env=env, stdout=subprocess.DEVNULL, stderr=log)
    url = f"http://127.0.0.1:{port}"
    SERVERS[url] = work
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
def lab_page(browser, lab_url):
    """One page with JupyterLab loaded (a cold first start is slow, and every load takes seconds), in which the
    tests open their notebooks one at a time (``open_notebook``); and the list of the page's errors."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{lab_url}/lab/workspaces/course-kit-test?token={TOKEN}&reset")
    page.wait_for_selector(".jp-Launcher", timeout=120_000)
    page.wait_for_function("() => window.jupyterapp")
    yield page, errors
    page.close()


@pytest.fixture
def open_notebook(lab_page):
    """``open_notebook(path)``: the page of ``lab_page`` showing the notebook ``path``, opened in the running
    JupyterLab as from its file browser, with its kernel started and idle; and the list of the page's errors
    since it loaded or the previous test's notebooks were closed. After the test, the notebooks are closed
    unsaved and their kernels shut down."""
    page, errors = lab_page
    paths = []

    def open_(path: str):
        paths.append(path)
        page.evaluate("async path => { await window.jupyterapp.commands.execute('docmanager:open', {path}) }", path)
        page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=60_000)
        wait_for_kernel(page, path)
        return page, errors
    yield open_
    page.evaluate("""paths => {
        for (const widget of [...window.jupyterapp.shell.widgets('main')].filter(w => paths.includes(w.context?.path))) {
            const session = widget.sessionContext.session;
            widget.dispose();
            if (session) window.jupyterapp.serviceManager.sessions.shutdown(session.id);  // not waited for
        }}""", paths)
    errors.clear()


def server_of(page) -> str:
    parts = urllib.parse.urlsplit(page.url)
    return f"{parts.scheme}://{parts.netloc}"


def kernel_sessions(url: str) -> list[dict]:
    """The server's sessions: [{"path", "kernel": {"name", "execution_state"}}, ...] ([] if it cannot be asked)."""
    try:
        with urllib.request.urlopen(f"{url}/api/sessions?token={TOKEN}", timeout=5) as response:
            return json.load(response)
    except (OSError, ValueError):
        return []


def page_state(page) -> dict:
    """What the notebook page shows: each code cell's prompt, the kernel's name and status, any dialog."""
    return page.evaluate("""() => ({
        prompts: [...document.querySelectorAll('.jp-Notebook .jp-Cell')].flatMap((cell, i) =>
            cell.classList.contains('jp-CodeCell') ? [[i, (cell.querySelector('.jp-InputPrompt') || {}).textContent || '']] : []),
        cells: document.querySelectorAll('.jp-Notebook .jp-Cell').length,
        kernel: ((document.querySelector('.jp-NotebookPanel .jp-Toolbar-kernelName') || {}).textContent || '').trim(),
        status: (document.querySelector('.jp-NotebookPanel .jp-Notebook-ExecutionIndicator') || {dataset: {}}).dataset.status || null,
        dialogs: [...document.querySelectorAll('.jp-Dialog')].map(d => d.innerText.trim().replace(/\\s+/g, ' ')),
    })""")


def wait_for_kernel(page, path: str, timeout_s: float = 180) -> None:
    """Wait until the notebook has its kernel, started and idle, as both the server and the page see it.

    The page's execution indicator alone says "idle" before any kernel is attached, and a click on Run
    then does nothing. A dialog JupyterLab puts up meanwhile (Select Kernel, when it did not pick a kernel
    for the notebook by itself) is answered with its default, as a student would."""
    from playwright.sync_api import Error as PlaywrightError
    url = server_of(page)
    deadline = time.monotonic() + timeout_s
    while True:
        accept = page.locator(".jp-Dialog .jp-mod-accept")
        if accept.count():
            try:
                accept.first.click(timeout=5_000)
            except PlaywrightError:  # the dialog went away by itself meanwhile
                pass
        states = [s.get("kernel", {}).get("execution_state") for s in kernel_sessions(url) if s.get("path") == path]
        seen = page_state(page)
        if "idle" in states and seen["status"] == "idle" and seen["kernel"] not in ("", "No Kernel") \
                and not seen["dialogs"]:
            return
        if time.monotonic() > deadline:
            pytest.fail(f"the kernel of {path} was not ready after {timeout_s:.0f} s: "
                        + diagnose(page, f"kernel-not-ready-{artifact_name(path)}"))
        time.sleep(0.5)


def artifact_name(path: str) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in Path(path).stem)


def diagnose(page, name: str) -> str:
    """Save a screenshot and a text of the state (page and server) as ARTIFACTS/<name>.png and .txt; return
    a one-paragraph summary of what was seen, naming the two files."""
    from playwright.sync_api import Error as PlaywrightError
    url = server_of(page)
    try:
        seen = page_state(page)
    except PlaywrightError as error:  # the page itself is gone or hung
        seen = {"prompts": [], "cells": None, "kernel": None, "status": None, "dialogs": [], "error": str(error)}
    try:
        shot(page, name)
    except PlaywrightError:
        pass
    ran = [i for i, p in seen["prompts"] if re.search(r"\[\d+\]", p)]
    busy = [i for i, p in seen["prompts"] if "*" in p]
    not_run = [i for i, p in seen["prompts"] if i not in ran and i not in busy]
    sessions = [(s.get("path"), s.get("kernel", {}).get("name"), s.get("kernel", {}).get("execution_state"))
                for s in kernel_sessions(url)]
    summary = (f"code cells run: {ran}; running or queued: {busy}; not run: {not_run}; "
               f"kernel in the page: {seen['kernel']!r}, status {seen['status']!r}; "
               f"server's sessions (path, kernel, state): {sessions}; dialogs: {seen['dialogs']}"
               + (f"; page error: {seen['error']}" if "error" in seen else ""))
    log = SERVERS.get(url, Path("/nonexistent")) / "server.log"
    tail = "\n".join(log.read_text(errors="replace").splitlines()[-40:]) if log.is_file() else "(no server log)"
    text = ARTIFACTS / f"{name}.txt"
    text.write_text(f"{time.strftime('%Y-%m-%d %H:%M:%S')} page {page.url}\n{summary}\n"
                    f"load average: {os.getloadavg()}\nprompts (cell index, prompt): {seen['prompts']}\n"
                    f"--- end of the server's log ---\n{tail}\n")
    return f"{summary} (screenshot {ARTIFACTS / (name + '.png')}, state {text})"


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


STARTED = """() => [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')]
    .some(e => /\\[(\\d+|\\*)\\]/.test(e.textContent))"""


def give_run_command(page, item: str, name: str, before=None) -> None:
    """Run > ``item`` (after ``before()``, e.g. selecting a cell), until a cell is seen queued or run.

    A click that lands while JupyterLab is still settling can be lost: after a minute with no cell
    queued or run at all, the command is given again (running cells twice changes nothing we check).
    A dialog JupyterLab puts up meanwhile is answered with its default, as a student would."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    for attempt in range(3):
        if before is not None:
            before()
        click_past_dialogs(page, ".lm-MenuBar-itemLabel:text-is('Run')")
        click_past_dialogs(page, f".lm-Menu-itemLabel:text-is('{item}')")
        try:
            page.wait_for_function(STARTED, timeout=60_000)
            return
        except PlaywrightTimeout:
            shot(page, f"{name}-not-started-{attempt}")
    pytest.fail(f"Run > {item} queued no cell, three times: " + diagnose(page, f"{name}-not-started"))


def wait_until_run(page, what: str, name: str, timeout_ms: int) -> None:
    """Wait until something ran and nothing is queued or running (the run ended, or an error stopped it)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    try:
        page.wait_for_function("""() => { const p = [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')];
            return p.some(e => /\\[\\d+\\]/.test(e.textContent)) && p.every(e => !e.textContent.includes('*')) }""",
                               timeout=timeout_ms)
    except PlaywrightTimeout:
        pytest.fail(f"{what} did not finish in {timeout_ms / 1000:.0f} s: " + diagnose(page, f"{name}-did-not-finish"))


def run_all(page, timeout_ms=240_000, name="run-all") -> None:
    """Run > Run All Cells, then wait until something ran and nothing is queued or running."""
    give_run_command(page, "Run All Cells", name)
    wait_until_run(page, "Run All Cells", name, timeout_ms)


def run_through(page, last: int, name: str, timeout_ms=300_000) -> None:
    """Run cells 0 to ``last`` (indices in the notebook) and none after (Run > Run All Above Selected Cell,
    with cell ``last + 1`` selected), then wait until nothing is queued or running."""
    cells = page.locator(".jp-Notebook .jp-Cell")
    if last + 1 >= cells.count():
        return run_all(page, timeout_ms, name)

    def select_next():
        following = cells.nth(last + 1)
        following.locator(".jp-InputPrompt").click()
        page.wait_for_function("c => c.classList.contains('jp-mod-active')", arg=following.element_handle(),
                               timeout=10_000)
    give_run_command(page, "Run All Above Selected Cell", name, before=select_next)
    wait_until_run(page, f"Running cells 0 to {last}", name, timeout_ms)


def ran(page) -> list[int]:
    """Indices (in the notebook) of the code cells whose prompt shows an execution count."""
    return page.evaluate("""() => [...document.querySelectorAll('.jp-Notebook .jp-Cell')].flatMap((c, i) =>
        c.classList.contains('jp-CodeCell') && /\\[\\d+\\]/.test(c.querySelector('.jp-InputPrompt').textContent) ? [i] : [])""")


def cell_errors(page) -> list[tuple[int, str]]:
    """(cell index, error text) for every cell that shows an error traceback."""
    return page.evaluate("""() => [...document.querySelectorAll('.jp-Notebook .jp-Cell')].flatMap((cell, i) =>
        [...cell.querySelectorAll('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')]
          .map(o => [i, o.textContent]).filter(([, t]) => /Error|Traceback/.test(t)))""")


def shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=False)


def test_progress_bar_renders_as_a_widget(open_notebook):
    page, errors = open_notebook("progress.ipynb")
    run_all(page)
    shot(page, "progress-ran")
    page.wait_for_selector(".jp-OutputArea .widget-hprogress", timeout=30_000)
    shot(page, "progress-bar-widget")
    assert page.locator(".jp-OutputArea .widget-hprogress").count() == 1
    assert "50/50" in page.locator(".jp-OutputArea").first.inner_text()
    assert cell_errors(page) == [] and errors == []


def test_lab2_slider_redraws_the_plot(open_notebook):
    if not (ROOT / "source" / SLIDER_LAB).is_dir():
        pytest.fail(f"{SLIDER_LAB} is missing from source/")
    page, errors = open_notebook(f"{SLIDER_LAB}_completed.ipynb")
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


def test_lab6_optimizer_panel_redraws_the_paths(open_notebook, lab_url):
    """Lab 6 completed, run up to its optimizer panel (the MNIST sections after it are not needed here; the
    whole notebook runs in test_notebooks_run); the learning-rate slider of the panel is dragged and the
    drawing of the path changes."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    if not (ROOT / "source" / OPTIMIZER_LAB).is_dir():
        pytest.fail(f"{OPTIMIZER_LAB} is missing from source/")
    name = f"{OPTIMIZER_LAB}_completed.ipynb"
    notebook = nbformat.read(SERVERS[lab_url] / "course" / name, as_version=4)
    [panel_cell] = [i for i, c in enumerate(notebook.cells) if c.cell_type == "code" and "TrajectoryPanel(" in c.source]
    page, errors = open_notebook(name)
    page.wait_for_function("n => document.querySelectorAll('.jp-Notebook .jp-Cell').length >= n",
                           arg=len(notebook.cells), timeout=30_000)
    assert page.locator(".jp-Notebook .jp-Cell").count() == len(notebook.cells)
    run_through(page, panel_cell, "lab6", timeout_ms=300_000)
    shot(page, "lab6-ran-up-to-the-panel")
    assert cell_errors(page) == [] and errors == []
    code_cells = [i for i, c in enumerate(notebook.cells) if c.cell_type == "code"]
    assert ran(page) == [i for i in code_cells if i <= panel_cell], diagnose(page, "lab6-cells-not-run")
    learning_rate = page.locator(".widget-slider", has=page.locator(".widget-label", has_text="learning rate"))
    panel = page.locator(".jp-Notebook .jp-Cell").nth(panel_cell).locator(".jp-OutputArea-output",
                                                                          has=learning_rate).first
    try:
        panel.wait_for(timeout=60_000)
    except PlaywrightTimeout:
        pytest.fail("the optimizer panel's cell showed no learning-rate slider: " + diagnose(page, "lab6-no-panel"))
    slider = panel.locator(".widget-slider", has=page.locator(".widget-label", has_text="learning rate")).first
    slider.scroll_into_view_if_needed()
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
    try:
        page.wait_for_function("([img, before]) => img.src !== before", arg=[image.element_handle(), before],
                               timeout=120_000)
    except PlaywrightTimeout:
        pytest.fail("the optimizer panel did not redraw within 120 s of the slider's move: "
                    + diagnose(page, "lab6-panel-not-redrawn"))
    shot(page, "lab6-panel-after")
    assert image.get_attribute("src") != before
    assert panel.locator(".widget-html").last.inner_text() != status_before  # a new final height
    assert cell_errors(page) == [] and errors == []


@pytest.mark.parametrize("lab", KIT.labs())
def test_release_notebook_renders_and_runs_up_to_the_first_exercise(open_notebook, lab):
    release = nbformat.read(ROOT / "release" / lab / f"{lab}.ipynb", as_version=4)
    first_exercise = next(i for i, c in enumerate(release.cells)
                          if c.get("metadata", {}).get("nbgrader", {}).get("solution"))
    page, errors = open_notebook(f"release/{lab}/{lab}.ipynb")
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


FEEDBACK_LAB = "lab1_initialization"
TRACKER = "https://tracker.example/pixel.png"
INJECTED = ('<script>window.injected = (window.injected || 0) + 1</script>'
            f'<img src="data:," onerror="window.injected = (window.injected || 0) + 1"><img src="{TRACKER}">')
# A student's output whose image the formgrader would load from the student's server, telling them when it was looked at
LOOKED = "http://127.0.0.1:8765/looked.png"
TELLS = ("from IPython.display import display\n"
         f"display({{'image/png': 'iVBORw0KGgo='}}, raw=True, metadata={{'filenames': {{'image/png': {LOOKED!r}}}}})")
# A student's Markdown that would open another page (a refresh, which no security policy stops) and cover the feedback
# page's total with a total of its own
ELSEWHERE = "http://127.0.0.1:8765/x"
LEAVES_AND_COVERS = (f'<meta http-equiv="refresh" content="1; url={ELSEWHERE}">'
                     '<div style="position: fixed; top: 0; left: 0; width: 100%; height: 100%; background: white; '
                     'z-index: 9"><p>Score: <b>21 / 21</b></p></div>')


# A written answer whose image, failing to load, has the reader's browser write a file with the reader's rights,
# through Jupyter's API (in a Jupyter session: the formgrader)
WRITES_A_FILE = ("My answer. <img src=\"data:,\" onerror=\"fetch('/api/contents/written-by-a-student.txt', "
                 "{method: 'PUT', headers: {'X-XSRFToken': document.cookie.match(/_xsrf=([^;]+)/)[1], "
                 "'Content-Type': 'application/json'}, body: JSON.stringify({type: 'file', format: 'text', "
                 "content: 'a student wrote this'})})\">")


@pytest.fixture(scope="module")
def graded_carol(tmp_path_factory):
    """A course where carol's Lab 1 (one planted mistake, written answers not yet graded by hand, her own HTML in
    Markdown cells, an output and her first written answer, an image with an address of hers) went through real
    grading."""
    from autograder.grade import grade
    from autograder.sandbox import sandbox_problem
    from autograder.submissions import submit, with_mistake
    from released import released_course
    # a copy of the process's one release of the lab
    course = released_course(KIT, tmp_path_factory.mktemp("feedback") / "course", [FEEDBACK_LAB])
    nb = with_mistake(course, FEEDBACK_LAB)
    nb.cells += [nbformat.v4.new_markdown_cell(f"My notes {INJECTED}"),  # a student's own HTML, in both places
                 nbformat.v4.new_code_cell(f"from IPython.display import HTML\nHTML({INJECTED!r})"),
                 nbformat.v4.new_markdown_cell(f"My score {LEAVES_AND_COVERS}"), nbformat.v4.new_code_cell(TELLS)]
    answer = next(cell for cell in nb.cells if cell.cell_type == "markdown" and cell.metadata.get("nbgrader", {}).get(
        "solution"))
    answer.source = WRITES_A_FILE
    submit(course, "carol", FEEDBACK_LAB, nb)
    [outcome] = grade(course, FEEDBACK_LAB, workers=1, progress=False, sandbox=sandbox_problem() is None,
                      skip_canary=True)  # the canary is tested elsewhere; here, what people read
    assert outcome.status == "graded", outcome
    return course


@pytest.fixture(scope="module")
def feedback_page(graded_carol):
    """carol's feedback page, from nbgrader's feedback step."""
    from autograder.feedback import feedback
    feedback(graded_carol, FEEDBACK_LAB, allow_pending=True)
    return graded_carol.feedback_dir("carol", FEEDBACK_LAB) / f"{FEEDBACK_LAB}.html"


def test_feedback_page_shows_its_summary_and_typeset_formulas_offline(browser, feedback_page):
    context = browser.new_context(offline=True, viewport={"width": 1280, "height": 1000})
    requested, failed = [], {}
    context.on("request", lambda request: requested.append(request.url))
    context.on("requestfailed", lambda request: failed.setdefault(request.url, request.failure))
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
    # the page asks for nothing outside itself; the student's own HTML (in a Markdown cell and an output) would,
    # and would run a script and an onerror handler: all three are cleaned away (and the page's security policy
    # would stop them)
    assert {url for url in requested if not url.startswith(("file:", "data:"))} == set()
    assert not failed
    assert page.evaluate("window.injected") is None
    context.close()


def test_a_students_html_on_the_feedback_page_neither_opens_another_page_nor_covers_the_score(browser, feedback_page):
    """Before, the page opened from disk followed the refresh in carol's Markdown, and her box fixed over the page
    hid the real total under hers."""
    context = browser.new_context(offline=True, viewport={"width": 1280, "height": 1000})
    requested = []
    context.on("request", lambda request: requested.append(request.url))
    context.route(re.compile(r"^(?!file:|data:)"), lambda route: route.abort())
    page = context.new_page()
    page.goto(feedback_page.as_uri(), wait_until="load")
    page.wait_for_timeout(2000)  # past the refresh's second
    assert page.url == feedback_page.as_uri() and ELSEWHERE not in requested
    total = page.locator("p.total")
    box = total.bounding_box()
    assert total.evaluate("(p, [x, y]) => p.contains(document.elementFromPoint(x, y))",
                          [box["x"] + 5, box["y"] + box["height"] / 2])  # the real total is what shows there
    assert page.locator("p", has_text="Score: 21 / 21").is_visible()  # her text stays, where she wrote it
    shot(page, "feedback-leaves-and-covers")
    context.close()


def test_the_formgrader_shows_a_students_html_and_runs_none_of_it(browser, graded_carol, tmp_path):
    """The instructor opens carol's submission in nbgrader's formgrader to grade her written answers, logged in to
    JupyterLab started in the course (README, "Written answers"). Before, her answer's image wrote a file in the
    course with the instructor's rights, and her output's and her Markdown cell's scripts ran; and an image her code
    displayed, with an address of hers in its metadata, came from her server."""
    from nbgrader.api import Gradebook
    with Gradebook(graded_carol.db_url()) as gradebook:
        submission = gradebook.find_submission_notebook(FEEDBACK_LAB, FEEDBACK_LAB, "carol").id
    with jupyterlab(graded_carol.root, tmp_path) as url:
        context = browser.new_context(viewport={"width": 1280, "height": 1000})
        requested = []
        context.on("request", lambda request: requested.append(request.url))
        context.route(re.compile(r"^https?://(?!127\.0\.0\.1)"), lambda route: route.abort())  # MathJax's CDN, say
        page = context.new_page()
        page.goto(f"{url}/lab?token={TOKEN}", wait_until="domcontentloaded")  # logged in, as the instructor is
        page.goto(f"{url}/formgrader/submissions/{submission}/", wait_until="load")
        answer = page.locator(".nbgrader_cell", has_text="My answer.")
        assert answer.locator("input.score").count() == 1  # the answer, with its grading controls
        assert page.locator("h1", has_text="Lab 1").count() == 1  # the notebook's Markdown, rendered
        assert page.locator("code", has_text="YOUR CODE HERE").count() > 0
        assert page.locator(".output_png img[src^='data:image/png']").count() > 0  # the plots the answers discuss
        page.wait_for_timeout(1000)  # for a request an onerror handler would make
        shot(page, "formgrader-answer")
        assert page.evaluate("window.injected") is None
        assert not (graded_carol.root / "written-by-a-student.txt").exists()
        assert TRACKER not in requested and LOOKED not in requested
        answer.locator(".full-credit").click()  # and the answer can be graded
        grade_id = next(cell.metadata.nbgrader.grade_id for cell in solved(graded_carol, FEEDBACK_LAB).cells
                        if cell.cell_type == "markdown" and cell.metadata.get("nbgrader", {}).get("solution"))
        for _ in range(40):
            with Gradebook(graded_carol.db_url()) as gradebook:
                given = gradebook.find_grade(grade_id, FEEDBACK_LAB, FEEDBACK_LAB, "carol")
                scores = given.manual_score, given.max_score
            if scores[0] is not None:
                break
            time.sleep(0.25)
        assert scores[0] == scores[1] > 0, scores
        context.close()
    with Gradebook(graded_carol.db_url()) as gradebook:  # pending again, as feedback_page's test has it
        given = gradebook.find_grade(grade_id, FEEDBACK_LAB, FEEDBACK_LAB, "carol")
        given.manual_score, given.needs_manual_grade = None, True
        gradebook.db.commit()
