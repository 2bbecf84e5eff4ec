"""What nbgrader's formgrader shows of a submission runs nothing the student wrote.

The formgrader renders autograded notebooks as HTML in the grader's own Jupyter session: a written answer holding
``<img src=x onerror=...>``, or a cell that displays HTML with a script, would run there with the grader's rights
(write files, open a terminal, change grades through the formgrader's API). ``nbgrader_config.py`` turns on
nbconvert's option for untrusted notebooks (``sanitize_html``) and replaces its two filters with these: Markdown
is rendered, then cleaned (the formgrader's template renders written answers without cleaning them), and both keep
what notebooks are read for (headings, lists, tables, code, formulas, embedded images) and drop scripts, event
handlers, styles and addresses other than links.
"""
import bleach
import nbformat
from jinja2 import pass_context
from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath

TAGS = {"a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "div", "dl", "dt", "em", "h1", "h2", "h3", "h4",
        "h5", "h6", "hr", "i", "img", "kbd", "li", "ol", "p", "pre", "s", "span", "strong", "sub", "sup", "table",
        "tbody", "td", "tfoot", "th", "thead", "tr", "ul"}
LINKS = ("http:", "https:", "mailto:", "#")


def _allowed(tag: str, name: str, value: str) -> bool:
    """Whether an attribute stays: classes (code highlighting), links, images embedded in the notebook (an image
    from elsewhere would tell its server when the answer was read), table spans and titles."""
    if name == "class":
        return tag in {"code", "div", "pre", "span"}
    if tag == "a" and name == "href":
        return value.lower().startswith(LINKS)
    if tag == "img" and name == "src":
        return value.lower().startswith("data:image/")
    return name in {"alt", "title"} or (tag in {"td", "th"} and name in {"colspan", "rowspan"})


def clean_html(html) -> str:
    """``html`` with only the tags of ``TAGS`` and the attributes ``_allowed`` keeps; other tags are dropped (their
    text stays, shown as text)."""
    html = html.decode() if isinstance(html, bytes) else str(html)
    return bleach.clean(html, tags=TAGS, attributes=_allowed, protocols={"http", "https", "mailto", "data"},
                        strip=True, strip_comments=True)


@pass_context
def markdown_html(context, source: str) -> str:
    """A Markdown cell as nbconvert renders it (formulas left for MathJax, images pasted into the cell embedded),
    cleaned by ``clean_html``."""
    renderer = IPythonRenderer(escape=False, attachments=context.get("cell", {}).get("attachments", {}))
    return clean_html(MarkdownWithMath(renderer=renderer).render(source))


PROBE = '<img src="data:," onerror="alert(1)">'  # HTML that runs a script where it is shown as HTML


def formgrader_runs_scripts(config) -> bool:
    """Whether nbgrader's formgrader, configured by ``config`` (the course's nbgrader configuration), would show
    ``PROBE`` in a written answer or in an output as HTML that runs it: it renders both as the formgrader does."""
    from nbconvert.exporters import HTMLExporter
    from nbgrader.server_extensions.formgrader import handlers

    exporter = HTMLExporter(config=config, template_name="formgrade", extra_template_basedirs=[handlers.template_path])
    answer = nbformat.v4.new_markdown_cell(PROBE, metadata={"nbgrader": {"solution": True, "grade": True,
                                                                         "grade_id": "answer", "points": 1}})
    output = nbformat.v4.new_code_cell("show()", outputs=[nbformat.v4.new_output("display_data", {"text/html": PROBE})])
    resources = {"assignment_id": "lab", "notebook_id": "lab", "submission_id": "0", "index": 0, "total": 1,
                 "base_url": "", "student": "student", "last_name": None, "first_name": None, "notebook_path": ""}
    html, _ = exporter.from_notebook_node(nbformat.v4.new_notebook(cells=[answer, output]), resources=resources)
    return "onerror" in html
