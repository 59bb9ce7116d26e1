"""The Markdown report (zh or en): the seed's sections 一–三 in its order and wording, plus 四.

Names that users or libraries control (kernels, NVTX ranges, models) are shown as inline code
spans, so ``<script>`` or ``*`` in a name stays literal text in any Markdown viewer; in tables
``|`` is escaped too.  Free text (findings, notes) has ``&``, ``<`` and ``>`` as entities.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Collection, Mapping
from functools import cache
from typing import Any

import jinja2

from rooflens.report.charts import chart_captions
from rooflens.report.view import build_view
from rooflens.report_model import ReportDocument, as_document

# Chart images written next to report.md by rooflens.report.pngcharts (label = strings.toml key).
CHART_FILES: tuple[tuple[str, str], ...] = (
    ("chart_roofline", "roofline.png"),
    ("chart_timeline", "timeline.png"),
    ("chart_operators", "operators.png"),
)


def md_code(text: object) -> str:
    """Inline code span that shows ``text`` literally (longer backtick fence when it holds backticks)."""
    t = " ".join(str(text).split())
    if not t:
        return "``"
    fence = "`" * (max((len(run) for run in _backtick_runs(t)), default=0) + 1)
    pad = " " if t.startswith("`") or t.endswith("`") else ""
    return f"{fence}{pad}{t}{pad}{fence}"


def _backtick_runs(t: str) -> list[str]:
    runs, current = [], ""
    for ch in t:
        if ch == "`":
            current += ch
        elif current:
            runs.append(current)
            current = ""
    if current:
        runs.append(current)
    return runs


def md_text(text: object) -> str:
    """Free text with HTML-significant characters as entities, on one line."""
    t = " ".join(str(text).split())
    return t.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def md_cell(text: object) -> str:
    """A name in a table cell: a code span with ``|`` escaped (GFM splits cells on it even in code)."""
    return md_code(text).replace("|", "\\|")


def md_celltext(text: object) -> str:
    """Free text in a table cell."""
    return md_text(text).replace("|", "\\|")


def charts_available() -> bool:
    """Whether matplotlib (the ``charts`` extra) is importable, so PNG charts can be written."""
    return importlib.util.find_spec("matplotlib") is not None


@cache
def _environment() -> jinja2.Environment:
    """The template environment, built once per process (compiling the templates costs ~40 ms)."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("rooflens.report", "templates"),
        autoescape=False,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    env.filters.update(code=md_code, text=md_text, cell=md_cell, celltext=md_celltext)
    return env


class MarkdownRenderer:
    """Renders the report document (typed; a report.json dict is converted) as Markdown,
    linking the PNG charts written beside it (:func:`rooflens.report.pngcharts.write_charts`)."""

    output_file_extension = ".md"
    output_is_binary = False

    def __init__(
        self, with_charts: bool | None = None, chart_files: Collection[str] | None = None
    ) -> None:
        """``chart_files``: the chart files actually written (default: every one in CHART_FILES);
        the Markdown links only those, never a chart that is not there."""
        self.with_charts = charts_available() if with_charts is None else with_charts
        self.chart_files = chart_files

    def render(
        self,
        doc: ReportDocument | Mapping[str, Any],
        lang: str = "zh",
        charts: Collection[str] | None = None,
    ) -> str:
        """``charts``: the chart files written beside the Markdown for this rendering (they
        replace the constructor's choice; ``None`` keeps it)."""
        doc = as_document(doc)
        view = build_view(doc, lang)
        captions = chart_captions(doc, view["s"])
        with_charts, files = (
            (self.with_charts, self.chart_files) if charts is None else (True, charts)
        )
        linked = [
            {"label": label, "file": f, "caption": captions[label]}
            for label, f in CHART_FILES
            if with_charts and (files is None or f in files)
        ]
        text = (
            _environment().get_template("report.md.j2").render(v=view, s=view["s"], charts=linked)
        )
        return text.rstrip() + "\n"
