"""The HTML report: one self-contained, offline page (inline CSS, inline SVG charts, tiny inline JS).

Jinja2 autoescaping is on, so every kernel, NVTX and model name is text; the chart SVG is
built by :mod:`rooflens.report.charts`, which escapes names itself, and is the only markup
marked safe.  No external resource (CDN, font, image) is referenced.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from functools import cache
from typing import Any

import jinja2
from markupsafe import Markup

from rooflens.report.charts import operators_svg, roofline_points, roofline_svg, timeline_svg
from rooflens.report.view import build_view
from rooflens.report_model import ReportDocument, as_document


@cache
def _environment() -> jinja2.Environment:
    """The template environment, built once per process (compiling the templates costs ~40 ms)."""
    return jinja2.Environment(
        loader=jinja2.PackageLoader("rooflens.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )


class HtmlRenderer:
    """Renders the report document (typed; a report.json dict is converted) as a self-contained HTML page in ``lang``."""

    output_file_extension = ".html"
    output_is_binary = False

    def render(
        self,
        doc: ReportDocument | Mapping[str, Any],
        lang: str = "zh",
        charts: Collection[str] | None = None,
    ) -> str:
        """``charts`` (PNG files beside it) are not used: the page draws its charts as SVG."""
        doc = as_document(doc)
        view = build_view(doc, lang, detail=True)
        s = view["s"]
        _, unplotted = roofline_points(doc)
        charts = {
            "roofline": Markup(roofline_svg(doc, s)),  # noqa: S704 - names escaped in charts.py
            "timeline": Markup(timeline_svg(doc, s)),  # noqa: S704
            "operators": Markup(operators_svg(doc, s)),  # noqa: S704
            "unplotted": unplotted,
        }
        return (
            _environment().get_template("report.html.j2").render(v=view, s=view["s"], charts=charts)
        )
