"""Renderers of report.json: Markdown (zh/en), HTML, JSON — one registry, one contract.

Every renderer has ``output_file_extension``, ``output_is_binary`` and
``render(doc, lang) -> str`` (pyinstrument's renderer contract); ``doc`` is the typed
:class:`rooflens.report_model.ReportDocument` (a plain report.json dict is accepted and
converted).  The ``report`` command picks renderers from :data:`RENDERERS` by name.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from rooflens.report.html import HtmlRenderer
from rooflens.report.markdown import MarkdownRenderer
from rooflens.report_model import ReportDocument, as_document


class Renderer(Protocol):
    """What the report command needs from a renderer."""

    output_file_extension: str
    output_is_binary: bool

    def render(self, doc: Any, lang: str = "zh") -> str: ...


class JsonRenderer:
    """report.json itself (language-independent: numbers in SI units, names as data):
    :meth:`ReportDocument.to_json`, the one writer."""

    output_file_extension = ".json"
    output_is_binary = False

    def render(self, doc: ReportDocument | Mapping[str, Any], lang: str = "zh") -> str:
        return as_document(doc).to_json().decode("utf-8")


RENDERERS: dict[str, Renderer] = {
    "md": MarkdownRenderer(),
    "html": HtmlRenderer(),
    "json": JsonRenderer(),
}

__all__ = ["RENDERERS", "HtmlRenderer", "JsonRenderer", "MarkdownRenderer", "Renderer"]
