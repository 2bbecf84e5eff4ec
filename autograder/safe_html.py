"""What nbgrader's formgrader shows of a submission runs nothing the student wrote.

The formgrader renders autograded notebooks as HTML in the grader's own Jupyter session: a written answer holding
``<img src=x onerror=...>``, or a cell that displays HTML with a script, would run there with the grader's rights
(write files, open a terminal, change grades through the formgrader's API). ``nbgrader_config.py`` turns on
nbconvert's option for untrusted notebooks (``sanitize_html``) and replaces its two filters with these: Markdown
is rendered, then cleaned (the formgrader's template renders written answers without cleaning them), and both keep
what notebooks are read for (headings, lists, tables, code, formulas, embedded images) and drop scripts, event
handlers, styles and addresses other than links. Feedback pages clean the student's Markdown and HTML with
``clean_html`` too, keeping their MathML formulas.
"""
import re

import bleach
import nbformat
from jinja2 import pass_context
from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath
from nbconvert.preprocessors import Preprocessor
from pygments.token import STANDARD_TYPES

TAGS = {"a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "div", "dl", "dt", "em", "h1", "h2", "h3", "h4",
        "h5", "h6", "hr", "i", "img", "kbd", "li", "ol", "p", "pre", "s", "span", "strong", "sub", "sup", "table",
        "tbody", "td", "tfoot", "th", "thead", "tr", "ul"}
LINKS = ("http:", "https:", "mailto:", "#")
# classes that code highlighting and formulas left as source are written with; any other could be one of the page's
# own (Bootstrap's navbar-fixed-top, a box fixed over the page)
CLASSES = {"highlight", "tex"} | set(STANDARD_TYPES.values()) - {""}
CLASS_PREFIXES = re.compile(r"(hl|language)-[\w+#.-]+")
# MathML, which feedback pages show formulas with (autograder/feedback_page.py); not annotation-xml, which holds HTML
MATHML = {"math", "menclose", "merror", "mfrac", "mi", "mmultiscripts", "mn", "mo", "mover", "mpadded", "mphantom",
          "mprescripts", "mroot", "mrow", "ms", "mspace", "msqrt", "mstyle", "msub", "msubsup", "msup", "mtable", "mtd",
          "mtext", "mtr", "munder", "munderover", "none"}
# its layout attributes; not href, style, class or voffset (which moves a formula anywhere on the page)
MATHML_ATTRIBUTES = {"accent", "accentunder", "columnalign", "columnlines", "columnspacing", "columnspan", "depth",
                     "display", "displaystyle", "fence", "form", "height", "largeop", "linethickness", "lspace",
                     "mathbackground", "mathcolor", "mathsize", "mathvariant", "maxsize", "minsize", "movablelimits",
                     "notation", "rowalign", "rowlines", "rowspacing", "rowspan", "rspace", "scriptlevel", "separator",
                     "stretchy", "symmetric", "width"}


def _allowed(tag: str, name: str, value: str) -> bool:
    """Whether an attribute stays: classes of code highlighting, links, images embedded in the notebook (an image
    from elsewhere would tell its server when the answer was read), table spans and titles; and the layout of
    MathML formulas."""
    if tag in MATHML:
        return name in MATHML_ATTRIBUTES
    if name == "class":
        return tag in {"code", "div", "pre", "span"} and all(
            token in CLASSES or CLASS_PREFIXES.fullmatch(token) for token in value.split())
    if tag == "a" and name == "href":
        return value.lower().startswith(LINKS)
    if tag == "img" and name == "src":
        return value.lower().startswith("data:image/")
    return name in {"alt", "title"} or (tag in {"td", "th"} and name in {"colspan", "rowspan"})


def clean_html(html, mathml: bool = False) -> str:
    """``html`` with only the tags of ``TAGS`` (and of ``MATHML`` if ``mathml``) and the attributes ``_allowed``
    keeps; other tags are dropped (their text stays, shown as text): scripts, styles, forms, ``<meta>`` (a refresh
    that opens another page) and ``<base>`` among them."""
    html = html.decode() if isinstance(html, bytes) else str(html)
    return bleach.clean(html, tags=TAGS | MATHML if mathml else TAGS, attributes=_allowed,
                        protocols={"http", "https", "mailto", "data"}, strip=True, strip_comments=True)


@pass_context
def markdown_html(context, source: str) -> str:
    """A Markdown cell as nbconvert renders it (formulas left for MathJax, images pasted into the cell embedded),
    cleaned by ``clean_html``."""
    renderer = IPythonRenderer(escape=False, attachments=context.get("cell", {}).get("attachments", {}))
    return clean_html(MarkdownWithMath(renderer=renderer).render(source))


class SafeOutputMetadata(Preprocessor):
    """Drops what nbconvert's templates write of an output's metadata into an image's tag as it stands: the image's
    address (``filenames``, meant for images saved next to a page: an address of the student's would have their
    server learn when the grader opened the submission) and a width or height that is not a number (written
    unquoted: ``1 onload=...`` adds an event handler). The student's kernel chooses every output's metadata; the
    image then shows from the notebook itself."""

    def preprocess_cell(self, cell, resources, index):
        for output in cell.get("outputs", []):
            metadata = output.get("metadata", {})
            metadata.pop("filenames", None)
            for where in [metadata, *(value for value in metadata.values() if isinstance(value, dict))]:
                for name in ("width", "height"):
                    if not isinstance(where.get(name, 0), (int, float)):
                        del where[name]
        return cell, resources


PROBE = '<img src="data:," onerror="alert(1)">'  # HTML that runs a script where it is shown as HTML
ELSEWHERE = "http://127.0.0.1:1/probe.png"  # an address an output's metadata gives its image
PNG = "iVBORw0KGgo="


def formgrader_runs_scripts(config) -> bool:
    """Whether nbgrader's formgrader, configured by ``config`` (the course's nbgrader configuration), would show
    ``PROBE`` in a written answer or in an output as HTML that runs it, or an output's image from ``ELSEWHERE`` or
    with a script in its width (from the output's metadata): it renders them as the formgrader does."""
    from nbconvert.exporters import HTMLExporter
    from nbgrader.server_extensions.formgrader import handlers

    exporter = HTMLExporter(config=config, template_name="formgrade", extra_template_basedirs=[handlers.template_path])
    answer = nbformat.v4.new_markdown_cell(PROBE, metadata={"nbgrader": {"solution": True, "grade": True,
                                                                         "grade_id": "answer", "points": 1}})
    image = nbformat.v4.new_output("display_data", {"image/png": PNG}, metadata={
        "filenames": {"image/png": ELSEWHERE}, "image/png": {"width": "1 onload=alert(1)"}})
    output = nbformat.v4.new_code_cell("show()", outputs=[nbformat.v4.new_output("display_data", {"text/html": PROBE}),
                                                          image])
    resources = {"assignment_id": "lab", "notebook_id": "lab", "submission_id": "0", "index": 0, "total": 1,
                 "base_url": "", "student": "student", "last_name": None, "first_name": None, "notebook_path": ""}
    html, _ = exporter.from_notebook_node(nbformat.v4.new_notebook(cells=[answer, output]), resources=resources)
    return "onerror" in html or "onload" in html or ELSEWHERE in html
