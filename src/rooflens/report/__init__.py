"""Renderers of report.json: Markdown (zh/en), HTML, JSON — one registry, one contract.

Every renderer has ``output_file_extension``, ``output_is_binary`` and
``render(doc, lang) -> str`` (pyinstrument's renderer contract).  The ``report`` command
picks renderers from :data:`RENDERERS` by name.
"""

from __future__ import annotations

from typing import Any, Protocol

import orjson

from rooflens.report.html import HtmlRenderer
from rooflens.report.markdown import MarkdownRenderer


class Renderer(Protocol):
    """What the report command needs from a renderer."""

    output_file_extension: str
    output_is_binary: bool

    def render(self, doc: dict[str, Any], lang: str = "zh") -> str: ...


class JsonRenderer:
    """report.json itself (language-independent: numbers in SI units, names as data)."""

    output_file_extension = ".json"
    output_is_binary = False

    def render(self, doc: dict[str, Any], lang: str = "zh") -> str:
        return orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode("utf-8") + "\n"


RENDERERS: dict[str, Renderer] = {
    "md": MarkdownRenderer(),
    "html": HtmlRenderer(),
    "json": JsonRenderer(),
}

__all__ = ["RENDERERS", "HtmlRenderer", "JsonRenderer", "MarkdownRenderer", "Renderer"]
