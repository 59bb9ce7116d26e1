"""Renderings of a diff document (:func:`rooflens.analysis.diff.diff_reports`): Markdown, HTML, JSON.

Same contract as the report renderers (``output_file_extension``, ``output_is_binary``,
``render(doc, lang)``); labels come from ``templates/diff_strings.toml``, figures from
:mod:`rooflens.report.formats`, so the Markdown and the HTML show the same strings.
"""

from __future__ import annotations

import html
import tomllib
from collections.abc import Collection, Mapping
from functools import cache
from importlib import resources
from typing import Any

from rooflens.report import Renderer
from rooflens.report.formats import f_count, f_gap, f_time
from rooflens.report.markdown import md_cell, md_celltext
from rooflens.report_model import DiffDocument


@cache
def strings(lang: str) -> dict[str, str]:
    """The labels of ``lang`` (zh or en)."""
    text = (
        resources.files("rooflens.report")
        .joinpath("templates/diff_strings.toml")
        .read_text("utf-8")
    )
    return dict(tomllib.loads(text)[lang])


def _points(x: float | None) -> str:
    return "n/a" if x is None else f"{x:+.1f}"


def tables(diff: DiffDocument, lang: str) -> list[tuple[str, list[str], list[list[str]]]]:
    """(title, header, rows) of every table, figures formatted; shared by Markdown and HTML."""
    s = strings(lang)
    a, b = (side.label for side in diff.sides)
    sides = [[side.label, str(side.source or ""), str(side.model), f"{side.batch_size} / {side.input_len} / {side.output_len}",
              str(side.gpu), str(side.capture_command or s["none"])] for side in diff.sides]  # fmt: skip
    phases = [[s.get(p.phase, p.phase), f_time(p.predicted_time_s), f_time(p.a_time_s),
               f_time(p.b_time_s), f_gap(p.change), f"{p.a_kernels} / {p.b_kernels}"]
              for p in diff.phases]  # fmt: skip
    r = diff.run
    run = [
        [s["range"], f_time(r.a_range_duration_s), f_time(r.b_range_duration_s), f_gap(r.range_change)],
        [s["kernel_time"], f_time(r.a_kernel_time_s), f_time(r.b_kernel_time_s), ""],
        [s["busy"], f_time(r.a_gpu_busy_s), f_time(r.b_gpu_busy_s), ""],
        [s["bubble"], _frac(r.a_bubble_ratio), _frac(r.b_bubble_ratio), _points(r.bubble_change_points)],
        [s["kernels"], f_count(r.a_kernel_count), f_count(r.b_kernel_count), ""],
    ]  # fmt: skip
    ops = [[o.name, s.get(o.phase, o.phase), f_time(o.predicted_time_s), f_time(o.a_time_s),
            f_time(o.b_time_s), f_gap(o.change), f"{o.a_kernels} / {o.b_kernels}"]
           for o in diff.operators]  # fmt: skip
    found = [
        [s["appeared"], str(f.rule), str(f.subject), str(f.message or "")]
        for f in diff.findings.appeared
    ]
    found += [
        [s["vanished"], str(f.rule), str(f.subject), str(f.message or "")]
        for f in diff.findings.vanished
    ]
    return [
        (
            s["sides"],
            [s["side"], s["source"], s["model"], s["workload"], s["gpu"], s["command"]],
            sides,
        ),
        (s["phases"], [s["phase"], s["predicted"], a, b, s["change"], s["kernels"]], phases),
        (f"{s['run']} ({r.a_name} / {r.b_name})", ["", a, b, s["change"]], run),
        (
            s["operators"],
            [s["operator"], s["phase"], s["predicted"], a, b, s["change"], s["kernels"]],
            ops,
        ),
        (s["findings"], ["", s["rule"], s["subject"], s["message"]], found),
    ]


def _frac(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.1%}"


class DiffMarkdownRenderer:
    """diff.md: one heading and one table per section."""

    output_file_extension = ".md"
    output_is_binary = False

    def render(
        self,
        doc: DiffDocument | Mapping[str, Any],
        lang: str = "zh",
        charts: Collection[str] | None = None,
    ) -> str:
        doc = _typed(doc)
        s = strings(lang)
        lines = [f"# {s['title']}", ""]
        if not doc.same_workload:
            lines += [f"> {s['different_workload']}", ""]
        for title, header, rows in tables(doc, lang):
            lines += [f"## {title}", ""]
            if not rows:
                lines += [s["none"], ""]
                continue
            lines.append("| " + " | ".join(md_celltext(h) for h in header) + " |")
            lines.append("|" + "---|" * len(header))
            for row in rows:
                cells = [md_cell(row[0]) if title == s["operators"] else md_celltext(row[0])]
                lines.append("| " + " | ".join(cells + [md_celltext(c) for c in row[1:]]) + " |")
            lines.append("")
        return "\n".join(lines)


class DiffHtmlRenderer:
    """diff.html: a self-contained page with the same tables (every name escaped)."""

    output_file_extension = ".html"
    output_is_binary = False

    def render(
        self,
        doc: DiffDocument | Mapping[str, Any],
        lang: str = "zh",
        charts: Collection[str] | None = None,
    ) -> str:
        doc = _typed(doc)
        s = strings(lang)
        e = html.escape
        parts = [
            f'<!doctype html><html lang="{e(lang)}"><head><meta charset="utf-8"><title>{e(s["title"])}</title>',
            "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin-bottom:1.5em}"
            "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}td:first-child,th:first-child"
            "{text-align:left}.up{color:#b00}.down{color:#070}</style></head><body>",
            f"<h1>{e(s['title'])}</h1>",
        ]
        if not doc.same_workload:
            parts.append(f"<p><em>{e(s['different_workload'])}</em></p>")
        for title, header, rows in tables(doc, lang):
            parts.append(f"<h2>{e(title)}</h2>")
            if not rows:
                parts.append(f"<p>{e(s['none'])}</p>")
                continue
            parts.append("<table><tr>" + "".join(f"<th>{e(h)}</th>" for h in header) + "</tr>")
            for row in rows:
                parts.append("<tr>" + "".join(_td(c) for c in row) + "</tr>")
            parts.append("</table>")
        parts.append("</body></html>\n")
        return "\n".join(parts)


def _td(cell: str) -> str:
    cls = ' class="up"' if cell.startswith("+") and cell.endswith("%") else ""
    cls = ' class="down"' if cell.startswith("-") and cell.endswith("%") else cls
    return f"<td{cls}>{html.escape(cell)}</td>"


def _typed(doc: DiffDocument | Mapping[str, Any]) -> DiffDocument:
    return doc if isinstance(doc, DiffDocument) else DiffDocument.from_dict(doc)


class DiffJsonRenderer:
    """diff.json: :meth:`DiffDocument.to_json`."""

    output_file_extension = ".json"
    output_is_binary = False

    def render(
        self,
        doc: DiffDocument | Mapping[str, Any],
        lang: str = "zh",
        charts: Collection[str] | None = None,
    ) -> str:
        return _typed(doc).to_json().decode("utf-8")


DIFF_RENDERERS: dict[str, Renderer] = {
    "md": DiffMarkdownRenderer(),
    "html": DiffHtmlRenderer(),
    "json": DiffJsonRenderer(),
}
