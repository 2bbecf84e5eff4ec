"""What the formgrader shows of a student's Markdown and HTML (``autograder.safe_html``): what notebooks are read for
stays, nothing that runs or calls elsewhere does. The formgrader itself, in a browser: test_browser.py."""
import base64
import re
from pathlib import Path

import nbformat
import pytest

from autograder.course import Course
from autograder.safe_html import clean_html, formgrader_runs_scripts, markdown_html

PNG = "data:image/png;base64," + base64.b64encode(b"\x89PNG\r\n\x1a\n").decode()
KIT = Course(Path(__file__).resolve().parents[1])

def markdown(source: str, attachments: dict | None = None) -> str:
    """``markdown_html`` as the formgrader's template calls it, on a cell with these attachments."""
    return markdown_html({"cell": {"attachments": attachments or {}}}, source)


# (a student's HTML or Markdown, what must not be left of it)
ATTACKS = [
    ("<script>alert(1)</script>", "<script"),
    ('<img src="x" onerror="alert(1)">', "onerror"),
    ('<svg onload="alert(1)"><circle r="4"/></svg>', "onload"),
    ('<a href="javascript:alert(1)">grade</a>', "javascript:"),
    ('<a href=" JaVaScRiPt:alert(1)">grade</a>', "javascript:"),
    ('<a href="data:text/html,<script>alert(1)</script>">grade</a>', "data:text/html"),
    ('<iframe src="/api/contents"></iframe>', "<iframe"),
    ('<object data="x.swf"></object><embed src="x.swf">', "<object"),
    ('<form action="/api/terminals" method="post"><input name="x"><button>ok</button></form>', "<form"),
    ('<meta http-equiv="refresh" content="0; url=https://example.com">', "<meta"),
    ('<base href="https://example.com/">', "<base"),
    ('<link rel="stylesheet" href="https://example.com/x.css">', "<link"),
    ('<style>.score {display: none}</style>', "<style"),
    ('<div style="position: fixed; top: 0; width: 100%">Score: 10 / 10</div>', "style="),
    ('<img src="https://tracker.example/pixel.png">', "tracker.example"),
    ('<p id="scores" class="navbar-fixed-top">x</p>', "id="),
    ('<div class="navbar-fixed-top">Score: 10 / 10</div>', "navbar-fixed-top"),  # a page's class, fixed over it
    ('<span class="k affix">x</span>', "affix"),
    ("<!-- <img src=x onerror=alert(1)> -->", "onerror"),
    ('<details open ontoggle="alert(1)"><summary>x</summary></details>', "ontoggle"),
]
# ... in Markdown's own syntax (in HTML, only text)
MARKDOWN_ATTACKS = [
    ("[grade](javascript:alert(1))", "javascript:"),
    ("![plot](https://tracker.example/pixel.png)", "tracker.example"),
]


@pytest.mark.parametrize(("attack", "left"), ATTACKS, ids=[attack[:40] for attack, _ in ATTACKS])
def test_nothing_that_runs_or_calls_elsewhere_is_left(attack, left):
    for cleaned in (markdown(attack), clean_html(attack)):
        assert left.lower() not in cleaned.lower(), cleaned


@pytest.mark.parametrize(("attack", "left"), MARKDOWN_ATTACKS, ids=[attack for attack, _ in MARKDOWN_ATTACKS])
def test_no_markdown_link_or_image_runs_or_calls_elsewhere(attack, left):
    assert left not in markdown(attack)


def test_what_a_notebook_is_read_for_stays():
    source = ("## Question 1\n\nThe cost is **lower**, *not* higher: $J < \\ln 2$ and\n\n"
              "$$\\frac{1}{N}\\sum_i x_i$$\n\n"
              "- first\n- second\n\n| lr | cost |\n|---|---|\n| 0.1 | 0.69 |\n\n"
              "```python\nif a < b:\n    print(a)\n```\n\nSee [the notes](https://example.com/notes) and "
              f"![my plot]({PNG}).<br>x<sup>2</sup>")
    html = markdown(source)
    assert re.search(r"<h2[^>]*>Question 1", html)
    assert "<strong>lower</strong>" in html and "<em>not</em>" in html
    assert "$J &lt; \\ln 2$" in html and "\\frac{1}{N}\\sum_i x_i" in html  # left for MathJax, as text
    assert html.count("<li>") == 2 and "<td>0.69</td>" in html
    assert re.search(r'<div class="highlight"><pre><span></span><span class="k">if</span>', html)
    assert '<a href="https://example.com/notes">the notes</a>' in html
    assert f'<img src="{PNG}" alt="my plot">' in html
    assert "<br>" in html and "<sup>2</sup>" in html


def test_a_table_of_an_output_stays_a_table():
    frame = ('<table class="dataframe" border="1"><thead><tr><th></th><th>loss</th></tr></thead>'
             '<tbody><tr><th>0</th><td>0.5</td></tr></tbody></table>')
    assert clean_html(frame) == ("<table><thead><tr><th></th><th>loss</th></tr></thead>"
                                 "<tbody><tr><th>0</th><td>0.5</td></tr></tbody></table>")


def test_an_image_pasted_into_an_answer_is_shown():
    """JupyterLab keeps a pasted image in the cell's attachments; the answer refers to it as attachment:NAME."""
    html = markdown("My sketch: ![sketch.png](attachment:sketch.png)",
                    {"sketch.png": {"image/png": PNG.removeprefix("data:image/png;base64,")}})
    assert f'<img src="{PNG}" alt="sketch.png">' in html


def formgrader_page(config, cells) -> str:
    """The page nbgrader's formgrader, configured by ``config``, shows of a submission with these cells."""
    from nbconvert.exporters import HTMLExporter
    from nbgrader.server_extensions.formgrader import handlers
    exporter = HTMLExporter(config=config, template_name="formgrade", extra_template_basedirs=[handlers.template_path])
    resources = {"assignment_id": "lab", "notebook_id": "lab", "submission_id": "0", "index": 0, "total": 1,
                 "base_url": "", "student": "student", "last_name": None, "first_name": None, "notebook_path": ""}
    html, _ = exporter.from_notebook_node(nbformat.v4.new_notebook(cells=cells), resources=resources)
    return html


def test_an_outputs_image_shows_from_the_notebook_whatever_its_metadata_says():
    """A student's cell ran ``display({"image/png": PNG}, raw=True, metadata={"filenames": {"image/png": URL}})``: the
    formgrader showed the image from the student's server, which learnt when the grader looked; a width of
    "1 onload=..." there added an event handler to the image."""
    data = PNG.removeprefix("data:image/png;base64,")
    elsewhere = nbformat.v4.new_output("display_data", {"image/png": data, "image/jpeg": data}, metadata={
        "filenames": {"image/png": "http://127.0.0.1:8765/x.png", "image/jpeg": "/logout"}})
    handler = nbformat.v4.new_output("display_data", {"image/png": data}, metadata={
        "image/png": {"width": "1 onload=alert(1)"}, "height": "1 onerror=alert(1)"})
    plot = nbformat.v4.new_output("display_data", {"image/png": data}, metadata={"image/png": {"width": 320}})
    html = formgrader_page(KIT.config(), [nbformat.v4.new_code_cell("show()", outputs=[elsewhere, handler, plot])])
    images = re.findall(r"<img [^>]*>", html)
    assert len(images) == 3 and all(f'src="{PNG}"' in image for image in images), images
    assert "127.0.0.1:8765" not in html and "/logout" not in html
    assert "onload" not in html and "onerror" not in html
    assert 'width="320"' in images[2]  # a plot's own size stays
    # the doctor's probe of the formgrader finds a configuration that would show such an image
    assert not formgrader_runs_scripts(KIT.config())
    without = KIT.config()
    without.HTMLExporter.preprocessors = []
    assert formgrader_runs_scripts(without)
