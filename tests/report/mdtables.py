"""Reading tables and list items back out of a rendered Markdown report (test helper)."""

from __future__ import annotations

import re


def split_row(row: str) -> list[str]:
    """The cells of one Markdown table row (``\\|`` inside a cell does not split)."""
    return [c.strip() for c in re.split(r"(?<!\\)\|", row)[1:-1]]


def table_after(md: str, heading: str) -> list[list[str]]:
    """Body rows of the first table after the line that starts with ``heading``."""
    lines = md.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(heading))
    rows: list[list[str]] = []
    for line in lines[start + 1 :]:
        if line.startswith("|"):
            rows.append(split_row(line))
        elif rows:
            break
    return rows[2:]  # header and alignment rows


def expand_numbers(text: str) -> list[int]:
    """``4–6, 10`` → [4, 5, 6, 10] (kernel numbers as the report prints them; an elided
    middle, ``…``, is skipped)."""
    out: list[int] = []
    for part in text.split(", "):
        if part == "…":
            continue
        if "–" in part:
            a, b = part.split("–")
            out.extend(range(int(a), int(b) + 1))
        else:
            out.append(int(part))
    return out
