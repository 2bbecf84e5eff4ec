"""``python -m autograder report LAB``: item analytics of a lab, as one self-contained HTML page and a CSV.

For each question: its points, how many submissions were scored on it, the mean score, the share of
full marks, and the most frequent failure messages with their counts; for the lab: the distribution of
totals (of the submissions with a graded notebook: the page says how many others were left out, and why) and the
statuses. The numbers are the export's (the gradebook's); the messages come from the
autograded notebooks. Plots are matplotlib PNGs embedded in the page, which needs no network to view.
"""
from __future__ import annotations

import base64
import csv
import html
import io
import statistics
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from .course import Course, write_whole
from .export import grade_rows
from .gradebook_access import require_released
from .findings import stopped
from .printable import printable
from .records import Status

TOP_MESSAGES = 3
# statuses without a graded notebook: their rows' 0 says nothing of the questions, and would drag the totals down
WITHOUT_GRADE = (Status.MISSING, Status.MALFORMED, Status.ERROR, Status.NOT_GRADED)
BAR_INCHES = 0.25  # the height of each question's bar and label in the chart of means: 23 questions do not overlap


@dataclass
class Question:
    grade_id: str
    points: float
    scores: list[float] = field(default_factory=list)  # of the submissions scored on it (blank: still to grade)
    pending: int = 0                                    # written answers still to grade by hand (any status)
    failures: Counter = field(default_factory=Counter)  # failure message -> submissions that got it

    @property
    def mean(self) -> float | None:
        return statistics.fmean(self.scores) if self.scores else None

    @property
    def share_full(self) -> float | None:
        return sum(score >= self.points for score in self.scores) / len(self.scores) if self.scores else None


def _points(course: Course, lab: str) -> dict[str, float]:
    nb = nbformat.read(course.source_notebook(lab), as_version=4)
    return {cell.metadata.nbgrader.grade_id: float(cell.metadata.nbgrader.get("points", 0)) for cell in nb.cells
            if cell.get("metadata", {}).get("nbgrader", {}).get("grade")}


def failure_messages(course: Course, lab: str, student: str) -> dict[str, str]:
    """grade_id -> the first line of the first error of each graded cell that failed, in the autograded notebook
    (the error's name alone if it has no message, as an unimplemented function's NotImplementedError; of a cell
    stopped at its time limit: that, not the KeyboardInterrupt that stopped it)."""
    path = course.autograded_notebook(student, lab)
    if not path.is_file():
        return {}
    nb = nbformat.read(path, as_version=4)
    cut_short, found = stopped(nb), {}
    for index, cell in enumerate(nb.cells):
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        if grade_id and index in cut_short:
            found[grade_id] = "stopped at its time limit"
        elif grade_id and errors:
            ename, evalue = errors[0].get("ename", "Error"), (errors[0].get("evalue") or "").strip().splitlines()
            found[grade_id] = printable(f"{ename}: {evalue[0]}"[:300] if evalue else ename)
    return found


def analyse(course: Course, lab: str) -> tuple[list[Question], list[dict]]:
    """The lab's questions with their numbers, and the export rows they come from."""
    course.check_lab(lab)
    _, rows = grade_rows(course, [lab])  # one lab: its questions' columns are their grade ids
    require_released(course, lab, "report")
    rows = [row for row in rows if row["lab"] == lab]
    questions = [Question(grade_id, points) for grade_id, points in _points(course, lab).items()]
    for row in rows:
        messages = failure_messages(course, lab, row["student_id"])
        for question in questions:
            value = row.get(question.grade_id, "")
            if value == "":
                # blank in the row of a graded notebook, whatever its status (timeout, tests_changed, ...): nbgrader
                # flags the answer as still to grade by hand, as feedback counts it (feedback.pending_answers);
                # absent: no graded notebook (missing, malformed, grading error, not graded), nothing to grade
                question.pending += question.grade_id in row
                continue
            question.scores.append(float(value))
            if float(value) < question.points and question.grade_id in messages:
                question.failures[messages[question.grade_id]] += 1
    return questions, rows


def _percent(value: float | None) -> str:
    return "" if value is None else f"{100 * value:.0f}%"


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"


def csv_table(questions: list[Question]) -> str:
    """The per-question table, as CSV text."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["question", "points", "scored", "pending", "mean", "share_full_marks", "top_failures"])
    for q in questions:
        top = " | ".join(f"{count}x {message}" for message, count in q.failures.most_common(TOP_MESSAGES))
        writer.writerow([q.grade_id, f"{q.points:g}", len(q.scores), q.pending, _number(q.mean),
                         _number(q.share_full), top])
    return buffer.getvalue()


def _figure_png(draw, height: float = 3) -> str:
    """A matplotlib figure (7 in wide, ``height`` in high) drawn by ``draw(ax)``, as an embeddable data URL."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7, height), dpi=100)
    draw(ax)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def html_page(lab: str, questions: list[Question], rows: list[dict]) -> str:
    """The self-contained page: the totals' distribution, the per-question table, the statuses."""
    totals = [float(row["total"]) for row in rows if row["status"] not in WITHOUT_GRADE and row["total"] != ""]
    left_out = len(rows) - len(totals)
    statuses = Counter(str(row["status"]) for row in rows)
    scored = [q for q in questions if q.scores]

    def histogram(ax):
        ax.hist(totals, bins=min(20, max(1, len(set(totals)))), color="#4c72b0")
        ax.set_xlabel("total score")
        ax.set_ylabel("submissions")

    def means(ax):
        ax.barh([q.grade_id for q in scored][::-1], [q.mean / q.points if q.points else 0 for q in scored][::-1],
                color="#55a868")
        ax.set_xlim(0, 1)
        ax.set_xlabel("mean score as a share of the question's points")

    cells = []
    for q in questions:
        top = "".join(f"<li>{count} &times; {html.escape(message)}</li>"
                      for message, count in q.failures.most_common(TOP_MESSAGES))
        cells.append(f"<tr><td>{html.escape(q.grade_id)}</td><td>{q.points:g}</td><td>{len(q.scores)}</td>"
                     f"<td>{q.pending}</td><td>{_number(q.mean)}</td><td>{_percent(q.share_full)}</td>"
                     f"<td><ul>{top}</ul></td></tr>")
    status_rows = "".join(f"<tr><td>{html.escape(s)}</td><td>{n}</td></tr>" for s, n in statuses.most_common())
    summary = (f"{len(rows)} submissions; mean total {statistics.fmean(totals):.2f}, median "
               f"{statistics.median(totals):g}" if totals else f"{len(rows)} submissions")
    if left_out:  # a 0 that is no grade would drag the mean down
        why = Counter(str(row["status"]) for row in rows if row["status"] in WITHOUT_GRADE)
        summary += (f"; {left_out} without a graded notebook are left out of the totals' figures ("
                    f"{', '.join(f'{count} {status}' for status, count in sorted(why.items()))})")
    height = BAR_INCHES * len(scored) + 1
    plots = (f"<img alt='distribution of totals' src='{_figure_png(histogram)}'>"
             f"<img alt='mean score per question' src='{_figure_png(means, height)}'>") if totals else ""
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Item analysis: {html.escape(lab)}</title>
<style>body{{font-family:sans-serif;max-width:70em;margin:1em auto;line-height:1.4}}
table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:.3em .5em;vertical-align:top;text-align:left}}
ul{{margin:0;padding-left:1.2em}}img{{max-width:100%}}</style></head><body>
<h1>Item analysis: {html.escape(lab)}</h1>
<p>{summary}. Written answers still to be graded by hand count as pending, not as 0.</p>
{plots}
<h2>Questions</h2>
<table><tr><th>question</th><th>points</th><th>scored</th><th>pending</th><th>mean</th><th>full marks</th>
<th>most frequent failure messages</th></tr>
{''.join(cells)}</table>
<h2>Statuses</h2>
<table><tr><th>status</th><th>submissions</th></tr>{status_rows}</table>
</body></html>
"""


def report(course: Course, lab: str, out_dir: Path | None = None) -> tuple[Path, Path, list[dict]]:
    """Write ``reports/<lab>.html`` and ``reports/<lab>.csv`` (or into ``out_dir``); return their paths and the export
    rows they count."""
    questions, rows = analyse(course, lab)
    folder = out_dir or course.root / "reports"
    page, table = folder / f"{lab}.html", folder / f"{lab}.csv"
    write_whole(table, csv_table(questions))
    write_whole(page, html_page(lab, questions, rows))
    return page, table, rows
