"""Kernel names: a short, readable name from a full demangled C++ signature.

nsys exports a short name itself; Kineto and NCU CSV give only the full one, so rooflens derives
the same kind of short name: drop ``void``, the parameter list and template arguments, keep the
last ``::`` component (``void at::native::foo<float>(int)`` → ``foo``).
"""

from __future__ import annotations

from functools import lru_cache


def _strip_brackets(text: str, open_ch: str, close_ch: str) -> str:
    """``text`` without any ``open_ch … close_ch`` groups (nested groups handled)."""
    out: list[str] = []
    depth = 0
    for ch in text:
        if ch == open_ch:
            depth += 1
        elif ch == close_ch and depth:
            depth -= 1
        elif depth == 0:
            out.append(ch)
    return "".join(out)


@lru_cache(maxsize=65536)
def short_kernel_name(name: str) -> str:
    """The short form of a demangled kernel name (the name itself when it has no C++ decoration)."""
    text = name.strip().replace("(anonymous namespace)", "anonymous_namespace")
    if text.startswith("void "):
        text = text[5:]
    text = _strip_brackets(text, "<", ">")
    paren = text.find("(")
    if paren > 0:
        text = text[:paren]
    text = text.strip().rsplit(" ", 1)[-1]
    short = text.rsplit("::", 1)[-1]
    return short or name
