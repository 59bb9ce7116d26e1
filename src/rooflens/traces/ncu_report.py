"""Nsight Compute report (``.ncu-rep``) → :class:`~rooflens.traces.model.NcuKernels`.

Read through NVIDIA's ``ncu_report`` module (PyPI ``ncu-report``; no GPU needed), imported
lazily so rooflens runs without it.  Each metric carries its own unit (``nsecond``, ``byte``,
``byte/second``, ``%``…) and is converted once, here.  The NVTX state of each kernel and NCU's
rule results (message, type, estimated speedup) come along.
"""

from __future__ import annotations

import faulthandler
import math
import multiprocessing as mp
import os
import re
import tempfile
from pathlib import Path
from typing import Any

from rooflens.errors import InputError, ToolMissingError
from rooflens.traces.files import check_input_file
from rooflens.traces.metrics import impossible
from rooflens.traces.model import NcuKernel, NcuKernels, RuleResult
from rooflens.traces.ncu_frames import check_frames
from rooflens.units import UnitError, scale_to_si

INSTALL_HINT = "pip install 'rooflens[ncu]'"


def _module() -> Any:
    try:
        import ncu_report
    except ImportError as exc:
        raise ToolMissingError(
            f"reading .ncu-rep files needs NVIDIA's ncu_report module: {INSTALL_HINT} "
            "(or export a CSV: `ncu --csv --page raw -i X.ncu-rep > X.csv`)"
        ) from exc
    return ncu_report


def _metric_value(metric: Any) -> float | str | None:
    """A metric's value in SI base units, its text for string metrics, ``None`` when absent."""
    if not metric.has_value():
        return None
    kind = metric.kind()
    if kind == metric.ValueKind_STRING:
        return str(metric.as_string())
    if kind in (metric.ValueKind_UINT32, metric.ValueKind_UINT64):
        value = float(metric.as_uint64())
    else:
        value = float(metric.as_double())
    try:
        return value * scale_to_si(metric.unit() or "")
    except UnitError:
        return None


def _nvtx(action: Any) -> list[str]:
    state = action.nvtx_state()
    if state is None:
        return []
    out: list[str] = []
    for dom in state.domains():
        info = state.domain_by_id(dom)
        out.extend(str(r) for r in info.push_pop_ranges())
        out.extend(str(r) for r in info.start_end_ranges())
    return out


def _field(obj: Any, key: str) -> Any:
    """``obj[key]`` or ``obj.key``: ncu_report 2026.3 returns dicts where older builds had objects."""
    if isinstance(obj, dict):
        return obj.get(key)
    return getattr(obj, key, None)


# NCU's markup inside rule messages: `@section:Id:Title@` and `@url:Title:https://…@` → Title.
_MARKUP = re.compile(r"@(?:section|url|table):([^:@]*):([^@]*)@")


def _plain(text: str) -> str:
    def title(m: re.Match[str]) -> str:
        return m.group(2) if m.group(0).startswith("@section") else m.group(1)

    return " ".join(_MARKUP.sub(title, text).split())


def _rules(action: Any) -> list[RuleResult]:
    out: list[RuleResult] = []
    for rr in action.rule_results():
        if not rr.has_rule_message():
            continue
        msg = rr.rule_message()
        speedup, speedup_type = None, None
        if rr.has_speedup_estimation():
            est = rr.speedup_estimation()
            s = float(_field(est, "speedup") or math.nan)
            speedup = s if math.isfinite(s) else None
            speedup_type = _SPEEDUP_TYPES.get(int(_field(est, "type") or 0))
        focus = _first_focus(rr)
        head = str(_field(msg, "title") or "").strip()
        text = _plain(str(_field(msg, "message") or ""))
        out.append(
            RuleResult(
                rule=str(rr.rule_identifier()),
                name=str(rr.name()),
                kind=_MSG_TYPES.get(int(_field(msg, "type") or 0), "none"),
                message=f"{head}: {text}" if head else text,
                estimated_speedup_pct=speedup,
                speedup_type=speedup_type,
                focus_metric=focus.get("name"),
                focus_value=focus.get("value"),
                focus_info=focus.get("info"),
            )
        )
    return out


# ncu_report's SpeedupType enum (UNKNOWN=0, LOCAL=1, GLOBAL=2).
_SPEEDUP_TYPES = {1: "local", 2: "global"}


def _first_focus(rr: Any) -> dict[str, Any]:
    """The first focus metric of a rule result: {name, value, info} (empty when it has none)."""
    try:
        metrics = rr.focus_metrics()
    except (AttributeError, RuntimeError):
        return {}
    if not metrics:
        return {}
    m = metrics[0]
    value = _field(m, "value")
    return {
        "name": _field(m, "name"),
        "value": float(value) if isinstance(value, (int, float)) else None,
        "info": _field(m, "info"),
    }


# ncu_report's MsgType enum (MsgType_NONE=0, OK=1, OPTIMIZATION=2, WARNING=3, ERR=4).
_MSG_TYPES = {0: "none", 1: "ok", 2: "optimization", 3: "warning", 4: "error"}


def _kernel(action: Any, index: int, demangled_base: int) -> NcuKernel:
    metrics: dict[str, float] = {}
    device_name = None
    for name in action.metric_names():
        v = _metric_value(action.metric_by_name(name))
        if isinstance(v, float):
            metrics[str(name)] = v
        elif name == "device__attribute_display_name" and v:
            device_name = v
    return NcuKernel(
        id=index,
        name=str(action.name()),
        demangled_name=str(action.name(demangled_base)),
        nvtx=_nvtx(action),
        metrics=metrics,
        rules=_rules(action),
        device_name=device_name,
    )


def read_ncu_report(path: str | Path) -> NcuKernels:
    """Read a ``.ncu-rep`` file: every profiled kernel, its metrics (SI), NVTX state and rule results.

    The file's framing is checked first (:func:`~rooflens.traces.ncu_frames.check_frames`): a
    file that is not a report is an error, a truncated one a warning on the result (NVIDIA's
    reader returns the kernels before the cut without a word).  NVIDIA's reader then runs in a
    forked child (:func:`_isolated`): on some corrupt files it aborts the whole process.
    """
    p = check_input_file(path)
    warnings = check_frames(p)
    mod = _module()
    kernels = _isolated(p, mod)
    bad = 0
    for k in kernels:
        drop = [name for name, v in k.metrics.items() if impossible(name, v)]
        for name in drop:
            del k.metrics[name]
        bad += len(drop)
    if bad:
        warnings.append(
            f"{bad} metric value(s) dropped as impossible (infinite, or a negative time, size or count)"
        )
    if not kernels:
        cut = f" ({warnings[0]})" if warnings else ""
        raise InputError(p, f"the Nsight Compute report holds no kernels{cut}")
    names = sorted({k.device_name for k in kernels if k.device_name})
    return NcuKernels(
        source="ncu-rep", path=str(p), kernels=kernels, warnings=warnings,
        device_name=names[0] if names else None,
    )  # fmt: skip


def _one_line(exc: BaseException) -> str:
    return " ".join(f"{type(exc).__name__}: {exc}".split())[:300]


def _load_kernels(p: Path, mod: Any) -> list[NcuKernel]:
    """Every kernel of the report, read through NVIDIA's module (in this process)."""
    try:
        ctx = mod.load_report(str(p))
    except Exception as exc:  # the module raises plain Exceptions for unreadable files
        raise InputError(p, f"not a readable Nsight Compute report ({_one_line(exc)})") from exc
    kernels: list[NcuKernel] = []
    try:
        for r in range(ctx.num_ranges()):
            rng = ctx.range_by_idx(r)
            for a in range(rng.num_actions()):
                kernels.append(
                    _kernel(rng.action_by_idx(a), len(kernels), mod.IAction.NameBase_DEMANGLED)
                )
    except (TypeError, AttributeError, ValueError, RuntimeError, SystemError, OverflowError) as exc:
        # A corrupt record reaches Python as a missing object or a wrong type in the module.
        raise InputError(
            p, f"corrupt Nsight Compute report (ncu_report: {_one_line(exc)})"
        ) from exc
    return kernels


def _child(conn: Any, p: Path, mod: Any, log: Any) -> None:  # pragma: no cover (in the child)
    os.dup2(log.fileno(), 2)  # NVIDIA's library logs to stderr: keep that off the user's terminal
    faulthandler.disable()  # its dump of a crash would go to the terminal too (pytest enables it)
    try:
        conn.send(("ok", _load_kernels(p, mod)))
    except InputError as exc:
        conn.send(("input", exc.problem))
    except BaseException as exc:  # noqa: BLE001 - everything goes back to the parent as text
        conn.send(("other", _one_line(exc)))
    finally:
        conn.close()


def _isolated(p: Path, mod: Any) -> list[NcuKernel]:
    """:func:`_load_kernels` in a forked child, so that NVIDIA's reader aborting on a corrupt
    file (a failed protobuf check calls ``abort()``) is a one-line error, not a dead process.

    Where ``fork`` is missing (or ``ROOFLENS_NCU_INPROCESS=1``) it runs in this process.
    """
    if "fork" not in mp.get_all_start_methods() or os.environ.get("ROOFLENS_NCU_INPROCESS") == "1":
        return _load_kernels(p, mod)
    ctx = mp.get_context("fork")
    receiver, sender = ctx.Pipe(duplex=False)
    with tempfile.TemporaryFile() as log:
        proc = ctx.Process(target=_child, args=(sender, p, mod, log), daemon=True)
        proc.start()
        sender.close()
        try:
            kind, value = receiver.recv()
        except EOFError:
            kind, value = "crash", None
        finally:
            receiver.close()
            proc.join()
        log.seek(0)
        said = [ln.strip() for ln in log.read()[-4096:].decode("utf-8", "replace").splitlines()]
    last = next((ln for ln in reversed(said) if ln and not ln.startswith("***")), "")
    if kind == "ok":
        return list(value)
    if kind == "input":
        raise InputError(p, str(value))
    if kind == "other":
        raise InputError(p, f"corrupt Nsight Compute report (ncu_report: {value})")
    why = f": {last[-200:]}" if last else ""
    raise InputError(
        p,
        f"corrupt Nsight Compute report: NVIDIA's ncu_report died reading it "
        f"(exit {proc.exitcode}){why}",
    )
