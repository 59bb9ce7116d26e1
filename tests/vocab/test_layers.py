"""Layering (docs/architecture.md): no import cycle at import time, and the renderers never import
analysis (they read the report document).  Read from the source with ``ast``, nothing imported."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "rooflens"


def _module(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, top_level_only: bool) -> set[str]:
    """rooflens modules imported by ``path`` (``from a import b`` counts a.b when that is a module)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    out: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("rooflens")}
        elif (
            isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("rooflens")
        ):
            for a in node.names:
                sub = f"{node.module}.{a.name}"
                as_file = SRC.parent / Path(*sub.split("."))
                out.add(
                    sub if as_file.with_suffix(".py").exists() or as_file.is_dir() else node.module
                )
    return out


def _graph(top_level_only: bool) -> dict[str, set[str]]:
    return {_module(p): _imports(p, top_level_only) for p in SRC.rglob("*.py")}


def test_no_import_cycle_at_import_time() -> None:
    graph = _graph(top_level_only=True)
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(m: str, stack: list[str]) -> None:
        state[m] = 1
        for n in sorted(graph.get(m, ())):
            if n == "rooflens" or n not in graph:
                continue  # the package root re-exports the API; it is imported by nobody inside
            if state.get(n) == 1:
                cycles.append([*stack[stack.index(n) :], n] if n in stack else [m, n])
            elif n not in state:
                visit(n, [*stack, n])
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m, [m])
    assert not cycles, cycles


def test_renderers_do_not_import_analysis() -> None:
    bad = {
        m: sorted(n for n in deps if n.startswith("rooflens.analysis"))
        for m, deps in _graph(top_level_only=False).items()
        if m.startswith("rooflens.report")
    }
    assert not {m: d for m, d in bad.items() if d}


def test_readers_know_nothing_of_capture_analysis_or_reports() -> None:
    upper = ("rooflens.capture", "rooflens.analysis", "rooflens.report", "rooflens.commands",
             "rooflens.pipeline")  # fmt: skip
    bad = {
        m: sorted(n for n in deps if n.startswith(upper))
        for m, deps in _graph(top_level_only=False).items()
        if m.startswith("rooflens.traces")
    }
    assert not {m: d for m, d in bad.items() if d}
