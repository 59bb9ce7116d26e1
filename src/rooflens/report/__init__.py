"""Renderers of report.json: Markdown (zh/en), HTML, JSON — one registry, one contract.

Every renderer has ``output_file_extension``, ``output_is_binary`` and
``render(doc, lang, charts=None) -> str`` (pyinstrument's renderer contract); ``doc`` is the
typed :class:`rooflens.report_model.ReportDocument` (a plain report.json dict is accepted and
converted), ``charts`` the chart files written beside the output (the Markdown links them).
Every report file is one of :data:`RENDERERS` — :func:`rooflens.commands.report.write_report`
writes ``report`` + each renderer's extension through :mod:`rooflens.commands.outputs`.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any, Protocol

from rooflens.report.html import HtmlRenderer
from rooflens.report.markdown import MarkdownRenderer
from rooflens.report_model import ReportDocument, as_document


class Renderer(Protocol):
    """What the report command needs from a renderer."""

    output_file_extension: str
    output_is_binary: bool

    def render(self, doc: Any, lang: str = "zh", charts: Collection[str] | None = None) -> str: ...


class JsonRenderer:
    """report.json itself (language-independent: numbers in SI units, names as data):
    :meth:`ReportDocument.to_json`, the one writer."""

    output_file_extension = ".json"
    output_is_binary = False

    def render(
        self,
        doc: ReportDocument | Mapping[str, Any],
        lang: str = "zh",
        charts: Collection[str] | None = None,
    ) -> str:
        return as_document(doc).to_json().decode("utf-8")


RENDERERS: dict[str, Renderer] = {
    "md": MarkdownRenderer(),
    "html": HtmlRenderer(),
    "json": JsonRenderer(),
}

__all__ = ["RENDERERS", "HtmlRenderer", "JsonRenderer", "MarkdownRenderer", "Renderer"]
