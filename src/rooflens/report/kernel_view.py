"""Kernels as the reports show them: numbered from 1, grouped, and bounded at any run size.

One convention for kernel numbers everywhere a person reads one (Markdown, HTML tables and
tooltips, findings, ``rooflens analyze``): **#1 is the first kernel of the chosen run in launch
order** (report.json keeps the 0-based ``index``; :func:`number` converts).  Reads the typed
document's :class:`TimelineKernel` and :class:`NcuKernel` rows.

A whole model (32 layers × 64 steps) launches ~30,000 kernels in one run, so the Markdown never
lists them one by one: section 二 shows one row per *group* — the same kernel (full name), operator
and phase (``prefill``, or ``decode`` across all steps) — with count, total and mean time and share;
section 三 one block per NCU kernel *signature* (name, grid, block, operator, phase).  Every kernel
on its own stays in report.json and, collapsed, in report.html.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from rooflens.report.formats import NA, f_bw, f_frac, f_indices, f_intensity, f_pct, f_rate, f_time
from rooflens.report_model import NcuKernel, ReportDocument, TimelineKernel
from rooflens.vocab import canonical_phase

# Rows the Markdown shows at most (the rest: the largest by time are kept, a line says how many
# more are in report.html / report.json).  Chosen so that a whole-model run stays < 800 lines:
# with 24 NCU signature blocks (~21 lines each) a 32-layer, 64-token Llama-3-8B run on the H200
# gave 833 lines and a 48-layer Qwen3-30B-A3B run 884; 16 blocks leave ~165 lines fewer.
# A run with at most NCU_GROUPS_ALL signatures (one layer: the original SGLang report's scope)
# shows every one.
MD_GROUPS_SHOWN = 60
NCU_GROUPS_SHOWN = 16
NCU_GROUPS_ALL = 24


def number(index: Any) -> int | None:
    """The 1-based kernel number of a 0-based report.json ``index``."""
    return None if index is None else int(index) + 1


def _phase(k: TimelineKernel | None) -> str:
    return canonical_phase(k.phase) if k is not None and k.phase else NA


def _index(k: TimelineKernel, position: int) -> Any:
    """A timeline kernel's ``index``; its list position when the file has none."""
    return k.index if k.has("index") else position


@dataclass(slots=True)
class KernelGroup:
    """Timeline kernels of one (full name, operator, phase class): ``indices`` 0-based,
    ``duration_s`` Σ seconds, ``share`` Σ of their shares of the run's kernel time; ``key``
    (``G3``) names the group in the grouped table."""

    name: str
    short_name: str
    operator: str
    phase: str
    indices: list[Any] = field(default_factory=list)
    duration_s: float = 0.0
    share: float = 0.0
    key: str = ""


@dataclass(slots=True)
class Signature:
    """NCU kernels of one signature (full name, grid, block, operator, phase class), launch
    order: ``numbers`` 1-based, ``duration_s`` Σ seconds."""

    members: list[NcuKernel] = field(default_factory=list)
    numbers: list[int] = field(default_factory=list)
    duration_s: float = 0.0


class _Timed(Protocol):
    duration_s: float


G = TypeVar("G", bound=_Timed)


def group_kernels(kernels: Sequence[TimelineKernel]) -> list[KernelGroup]:
    """Kernels grouped by (full name, operator, phase class), in order of first launch."""
    groups: dict[tuple[str, str, str], KernelGroup] = {}
    for i, k in enumerate(kernels):
        name = str(k.name or "")
        key = (name, str(k.operator or NA), _phase(k))
        g = groups.get(key)
        if g is None:
            g = groups[key] = KernelGroup(name, k.short_name or name, key[1], key[2])
        g.indices.append(_index(k, i))
        g.duration_s += float(k.duration_s or 0.0)
        g.share += float(k.share or 0.0)
    return list(groups.values())


def keep_largest(groups: list[G], most: int) -> tuple[list[G], list[G]]:
    """(shown, left out): the ``most`` groups with the largest Σ time, shown in their own order."""
    if len(groups) <= most:
        return groups, []
    ranked = sorted(range(len(groups)), key=lambda i: -groups[i].duration_s)
    keep = set(ranked[:most])
    return (
        [g for i, g in enumerate(groups) if i in keep],
        [g for i, g in enumerate(groups) if i not in keep],
    )


def timeline_groups_view(kernels: Sequence[TimelineKernel], s: dict[str, Any]) -> dict[str, Any]:
    """Section 二's grouped kernel table (Markdown and HTML) and its full-name key."""
    groups = group_kernels(kernels)
    for i, g in enumerate(groups):
        g.key = f"G{i + 1}"
    shown, rest = keep_largest(groups, MD_GROUPS_SHOWN)
    names: dict[str, str] = {}
    for g in groups:
        names.setdefault(g.name, f"N{len(names) + 1}")
    shown_names = {g.name for g in shown}

    def row(g: KernelGroup) -> dict[str, str]:
        n = len(g.indices)
        return {
                "key": g.key,
                "numbers": f_indices(g.indices, most=4) or NA,
                "short_name": g.short_name,
                "name_key": names[g.name],
                "operator": g.operator,
                "phase": g.phase,
                "count": str(n),
                "total": f_time(g.duration_s),
                "mean": f_time(g.duration_s / n if n else None),
                "share": f_frac(g.share),
            }  # fmt: skip

    note = str(s["grouped_note"]).format(kernels=len(kernels), groups=len(groups))
    more = ""
    if rest:
        more = str(s["grouped_more"]).format(
            more=len(rest), total=len(groups), share=f_frac(sum(g.share for g in rest)),
            kernels=sum(len(g.indices) for g in rest),
        )  # fmt: skip
    return {
        "rows": [row(g) for g in shown],
        "all_rows": [row(g) for g in groups],
        "names": [{"key": k, "name": n} for n, k in names.items() if n in shown_names],
        "all_names": [{"key": k, "name": n} for n, k in names.items()],
        "keys": {i: g.key for g in groups for i in g.indices},
        "note": note,
        "more": more,
    }


def _dims(d: list[int] | None) -> str:
    return "-" if not d else ",".join(str(int(v)) for v in d)


#: Per-kernel lines the HTML lists in each collapsible ``<pre>`` (timeline, NCU).  A whole
#: model's run has ~50,000 kernels (Llama-3-8B, 32 layers, 64 tokens: ~45 + ~70 bytes a kernel,
#: 5.8 MB of a 6.2 MB page on the H200 capture); the grouped tables above them cover every
#: kernel, and report.json holds each one.
HTML_KERNEL_LINES = 10_000


K = TypeVar("K")


def _more_line(
    kernels: Sequence[K], number_of: Callable[[K, int], int | None], s: dict[str, Any]
) -> list[str]:
    """The closing line of a listing cut at :data:`HTML_KERNEL_LINES` (none when not cut):
    how many kernels are left out, and their numbers (``number_of(kernel, position)``)."""
    if len(kernels) <= HTML_KERNEL_LINES:
        return []
    first = number_of(kernels[HTML_KERNEL_LINES], HTML_KERNEL_LINES)
    last = number_of(kernels[-1], len(kernels) - 1)
    more = len(kernels) - HTML_KERNEL_LINES
    return [str(s["lines_more"]).format(more=more, first=first or NA, last=last or NA)]


def kernel_lines(kernels: Sequence[TimelineKernel], keys: dict[Any, str], s: dict[str, Any]) -> str:
    """The chosen run's kernels as tab-separated lines (HTML's collapsible ``<pre>``), numbered
    from 1, its name and operator given by its group's key (``G3``, the grouped table): ~45
    bytes a kernel; the first :data:`HTML_KERNEL_LINES`, then one line saying how many more."""
    head = ["#", s["group"], s["exec_time"], s["phase"], "grid/block"]
    lines = ["\t".join(str(h) for h in head)]
    for i, k in enumerate(kernels[:HTML_KERNEL_LINES]):
        index = _index(k, i)
        lines.append(
            f"{number(index)}\t{keys.get(index, NA)}\t{f_time(k.duration_s)}\t"
            f"{k.phase or NA}\t{_dims(k.grid)}/{_dims(k.block)}"
        )
    lines += _more_line(kernels, lambda k, i: number(_index(k, i)), s)
    return "\n".join(lines)


def ncu_lines(doc: ReportDocument, s: dict[str, Any]) -> str:
    """NCU kernels' main figures as tab-separated lines (HTML's collapsible ``<pre>``): the first
    :data:`HTML_KERNEL_LINES`, then one line saying how many more."""
    head = [
        "#", s["sm_eff"], s["bandwidth"], s["compute"], s["intensity"], s["l2_hit"], s["bound"],
        s["roof_fraction"],
    ]  # fmt: skip
    lines = ["\t".join(str(h) for h in head)]
    bounds = s["bounds"]
    kernels = doc.kernels or ()
    for pos, k in enumerate(kernels[:HTML_KERNEL_LINES]):
        lines.append(
            "\t".join(
                [
                    str(ncu_number(k, pos)), f_pct(k.sm_throughput_pct),
                    f_bw(k.dram_bandwidth_bps), f_rate(k.achieved_flops_per_s),
                    f_intensity(k.intensity), f_pct(k.l2_hit_pct),
                    str(bounds.get(k.bound or "", k.bound or NA)),
                    f_frac(k.roof_fraction),
                ]
            )
        )  # fmt: skip
    lines += _more_line(kernels, ncu_number, s)
    return "\n".join(lines)


def ncu_number(k: NcuKernel, position: int) -> int:
    """An NCU kernel's number: that of its timeline kernel (section 二), else its NCU position."""
    if k.timeline_index is not None:
        return int(k.timeline_index) + 1
    return int(k.index) + 1 if k.index is not None else position + 1


def ncu_signature_groups(doc: ReportDocument) -> list[Signature]:
    """NCU kernels grouped by signature (full name, grid, block, operator, phase class), in
    order of first launch.  Grid, block and phase come from the kernel's timeline entry."""
    kernels = doc.timeline.kernels if doc.timeline else ()
    timeline = {_index(k, i): k for i, k in enumerate(kernels)}
    groups: dict[tuple[Any, ...], Signature] = {}
    for pos, k in enumerate(doc.kernels or ()):
        tk = timeline.get(k.timeline_index)
        key = (
            k.name or "",
            tuple((tk.grid if tk else None) or ()),
            tuple((tk.block if tk else None) or ()),
            k.operator or (tk.operator if tk else None) or NA,
            _phase(tk),
        )
        g = groups.get(key)
        if g is None:
            g = groups[key] = Signature()
        g.members.append(k)
        g.numbers.append(ncu_number(k, pos))
        g.duration_s += float(k.duration_s or 0.0)
    return list(groups.values())
