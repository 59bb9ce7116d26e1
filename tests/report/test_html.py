"""The HTML report: self-contained, escaped, same figures as report.json; loads in headless Chromium."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path
from typing import Any

import pytest

from .chromium import find_chromium, load
from .figures import close, parse
from .synthetic import NVTX_SCRIPT_NAME, SCRIPT_NAME, kernel_specs

needs_chromium = pytest.mark.skipif(
    find_chromium() is None, reason="chromium not installed (apt-get install chromium)"
)


def test_self_contained(html_en: str) -> None:
    assert "<link" not in html_en
    assert not re.search(r"\bsrc\s*=", html_en)
    urls = set(re.findall(r"https?://[^\s\"'<>)]+", html_en))
    assert urls <= {"http://www.w3.org/2000/svg"}


def test_names_are_text(html_en: str) -> None:
    assert SCRIPT_NAME not in html_en and NVTX_SCRIPT_NAME not in html_en
    assert "Layer[0]#Run[0]&lt;script&gt;alert(&#34;nvtx&#34;)&lt;/script&gt;" in html_en
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html_en
    assert html_en.count("<script") == 1  # the page's own hover script


def test_charts_present(html_en: str) -> None:
    with_flops = [s for s in kernel_specs() if s[3] > 0]
    assert html_en.count('class="kernel-point"') == len(with_flops)
    assert html_en.count('class="kernel-bar"') == len(kernel_specs())
    assert 'class="roof"' in html_en and 'class="chart operators"' in html_en


def test_every_kernel_and_duration(html_en: str, doc: dict[str, Any]) -> None:
    rows, groups, names = every_kernel(html_en)
    exact = doc["timeline"]["kernels"]
    assert [int(r[0]) for r in rows] == list(range(1, len(exact) + 1))
    # Each kernel's group (G3 …) names its kernel: the full name is that of the JSON.
    assert [names[groups[r[1]]] for r in rows] == [k["name"] for k in exact]
    assert all(close(parse(r[2]), k["duration_s"]) for r, k in zip(rows, exact, strict=True))


def every_kernel(html: str) -> tuple[list[list[str]], dict[str, str], dict[str, str]]:
    """(rows of the collapsed per-kernel list, group key → name key, name key → full name)."""
    pre = html.split('<pre class="kernels">')[1].split("</pre>")[0]
    rows = [line.split("\t") for line in unescape(pre).splitlines()[1:]]
    table = html.split('<table class="kernel-groups-timeline">')[1].split("</table>")[0]
    groups = dict(re.findall(r"<tr><td>(G\d+)</td><td.*?</td><td.*?</td><td>(N\d+)</td>", table))
    names_table = html.split('<table class="names">')[1].split("</table>")[0]
    names = {
        k: unescape(v)
        for k, v in re.findall(r'<tr><td>(N\d+)</td><td class="name">(.*?)</td>', names_table)
    }
    return rows, groups, names


def test_same_lines_as_markdown(html_en: str, md_en: str) -> None:
    html_lines = [unescape(x) for x in re.findall(r'<p class="line">(.*?)</p>', html_en)]
    plain_md = [re.sub(r"`", "", x[2:]) for x in md_en.splitlines() if x.startswith("- ")]
    for line in html_lines:
        assert line in plain_md, line


def test_no_long_floats_in_visible_text(html_en: str) -> None:
    visible = re.sub(r"<[^>]+>", " ", html_en.split("<body>")[1].split("<script>")[0])
    assert not re.search(r"\d\.\d{6,}", visible)


@needs_chromium
def test_loads_in_chromium_without_console_errors(html_en: str, tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    page.write_text(html_en, encoding="utf-8")
    dom, console = load(page)
    assert console == []
    assert 'data-charts="3"' in dom  # the inline script ran to its end and found 3 charts
    targets = int(re.search(r'data-hover-targets="(\d+)"', dom).group(1))  # type: ignore[union-attr]
    assert targets == html_en.count("data-info=")
    assert dom.count("<circle") == html_en.count("<circle")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in dom and SCRIPT_NAME not in dom
    assert '&lt;script&gt;alert("nvtx")&lt;/script&gt;' in dom and NVTX_SCRIPT_NAME not in dom


@needs_chromium
def test_console_errors_are_caught(tmp_path: Path) -> None:
    """The harness itself can fail: a page with a script error is reported."""
    page = tmp_path / "bad.html"
    page.write_text("<!DOCTYPE html><html><body><script>missing();</script></body></html>")
    _, console = load(page)
    assert any("missing is not defined" in line for line in console)
