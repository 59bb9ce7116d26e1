"""Shared fixtures: the hand-built synthetic report (tests/report/synthetic.py) and its renderings."""

from __future__ import annotations

from typing import Any

import pytest

from rooflens.analysis.assemble import build_report
from rooflens.report import RENDERERS

from .synthetic import synthetic_parts


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    return build_report(**synthetic_parts(), generated_at="2026-11-26T02:30:00+00:00").to_dict()


@pytest.fixture(scope="module")
def md_zh(doc: dict[str, Any]) -> str:
    return RENDERERS["md"].render(doc, "zh")


@pytest.fixture(scope="module")
def md_en(doc: dict[str, Any]) -> str:
    return RENDERERS["md"].render(doc, "en")


@pytest.fixture(scope="module")
def html_en(doc: dict[str, Any]) -> str:
    return RENDERERS["html"].render(doc, "en")
