"""Capture-time annotation of a foreign PyTorch program: NVTX ranges in rooflens's vocabulary.

Loaded by ``sitecustomize.py`` (``rooflens profile -- CMD`` puts this folder on ``PYTHONPATH``)
into a program rooflens did not write.  This module holds the table, the module index and the
state machine (:class:`Annotator`); :mod:`_rooflens_annotate_install` is the program side: it
imports nothing at start-up, an import hook waits for ``torch`` (and the modules the table
names) and then installs

* global module forward pre/post hooks that push/pop NVTX ranges
  ``Run[j] > prefill|decode[k] > Layer[i]#Run[j] > <operator>`` (src/rooflens/vocab.py), so the
  timeline analysis reads the program like the built-in workload;
* wrappers around the functions the table names (SDPA → attention, ``apply_rotary_pos_emb`` →
  rope, the KV-cache ``update`` → kv_cache_write) and around ``generate`` (one call = one run).

Rules, all driven by ``modules.toml`` (data, not code): a top-level module call whose subtree
holds decoder layers is one *step*: ``prefill`` when it takes more than one new token per
sequence (input ``[B, T]``, T > 1), else ``decode[k]``.  Inside a run, kernels launched between
two steps get ``between_steps`` (``sampling``).  The module path gives the layer (``layers.3`` →
3) and the operator (longest dotted suffix in ``[modules]``, class-name rules in ``[classes]``).

Cost: one ``module.__dict__`` lookup per module call outside a model; inside, one NVTX push/pop
per named module.  Self-contained on purpose (standard library + torch): the profiled program may
run in an interpreter where rooflens itself is not installed; only ``vocab.py`` is read, by path.
"""

from __future__ import annotations

import importlib.util
import os
import re
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent
_KEY = "_rooflens_annotation"  # per-module info, stored in the module's __dict__
_MODEL = "_rooflens_model"  # True on a module whose subtree holds decoder layers


def _load_vocab() -> Any:
    """rooflens's vocab.py, loaded by path (it imports nothing from rooflens)."""
    path = _HERE.parent.parent / "vocab.py"
    spec = importlib.util.spec_from_file_location("_rooflens_vocab", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("_rooflens_vocab", mod)
    spec.loader.exec_module(mod)
    return mod


def load_table(path: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """The annotation table (``modules.toml`` beside this file, or ``ROOFLENS_ANNOTATE_TABLE``).

    Python 3.11+ reads it with ``tomllib``; an older interpreter (engines' environments often
    run 3.10) needs ``tomli``, else the program runs unannotated with one line on stderr."""
    try:
        import tomllib
    except ImportError:  # Python < 3.11
        import tomli as tomllib  # type: ignore[no-redef]

    where = Path(path or os.environ.get("ROOFLENS_ANNOTATE_TABLE") or _HERE / "modules.toml")
    with open(where, "rb") as fh:
        return tomllib.load(fh)


class Info:
    """What one module of a model is: layer, and the ranges it opens (``__slots__``: cheap)."""

    __slots__ = ("layer", "layer_range", "op", "inside", "after")

    def __init__(self, layer: int | None, is_layer: bool, fields: dict[str, str]) -> None:
        self.layer = layer
        self.layer_range = is_layer
        self.op = fields.get("op")
        self.inside = fields.get("inside")
        self.after = fields.get("after")


def module_fields(path: str, cls_name: str, table: dict[str, Any]) -> dict[str, str]:
    """Table fields for a module at ``path`` of class ``cls_name`` (longest suffix, then classes)."""
    parts = path.split(".")
    fields: dict[str, str] = {}
    modules = table.get("modules", {})
    for n in range(len(parts), 0, -1):
        hit = modules.get(".".join(parts[-n:]))
        if hit is not None:
            fields = dict(hit)
            break
    for rx, extra in table.get("classes", {}).items():
        if re.search(rx, cls_name):
            fields.update(extra)
    return fields


def layer_of(path: str, layer_rx: re.Pattern[str]) -> tuple[int | None, bool]:
    """Layer index of the module at ``path`` (its outermost ``layers.N`` ancestor or itself), and
    whether it is the decoder layer itself."""
    parts = path.split(".")
    for n in range(1, len(parts) + 1):
        m = layer_rx.search(".".join(parts[:n]))
        if m:
            return int(m.group(1)), n == len(parts)
    return None, False


def index_model(root: Any, table: dict[str, Any], layer_rx: re.Pattern[str]) -> bool:
    """Attach an :class:`Info` to every submodule of ``root``; True when it holds decoder layers."""
    found = False
    for path, mod in root.named_modules():
        if not path:
            continue
        layer, is_layer = layer_of(path, layer_rx)
        found = found or is_layer
        fields = {} if is_layer else module_fields(path, type(mod).__name__, table)
        mod.__dict__[_KEY] = Info(layer, is_layer, fields)
    root.__dict__[_MODEL] = found
    return found


class _Frame:
    __slots__ = ("module", "pushed", "absorb", "gap")

    def __init__(self, module: Any, pushed: int, absorb: bool) -> None:
        self.module = module
        self.pushed = pushed
        self.absorb = absorb
        self.gap = False


class Annotator:
    """The state machine behind the hooks; ``push``/``pop`` emit ranges (NVTX, or a recorder)."""

    def __init__(
        self, table: dict[str, Any], vocab: Any, push: Callable[[str], Any], pop: Callable[[], Any]
    ) -> None:
        self.table = table
        self.vocab = vocab
        self.push_range, self.pop_range = push, pop
        self.layer_rx = re.compile(table.get("layer", {}).get("pattern", r"(?:^|\.)layers\.(\d+)$"))
        self.between = table.get("run", {}).get("between_steps")
        self.thread = threading.get_ident()
        self.run = -1
        self.step = 0
        self.in_generate = 0
        self.run_open = self.phase_open = self.between_open = False
        self.root: Any = None
        self.stack: list[_Frame] = []

    # ---- runs and steps ------------------------------------------------------------------
    def _close_step(self) -> None:
        if self.between_open:
            self.pop_range()
            self.between_open = False
        if self.phase_open:
            self.pop_range()
            self.phase_open = False

    def close_run(self) -> None:
        """End the open run (generate returned, the next prefill started, or the program ends)."""
        self._unwind()
        self._close_step()
        if self.run_open:
            self.pop_range()
            self.run_open = False

    def open_run(self) -> None:
        self.close_run()
        self.run += 1
        self.step = 0
        self.push_range(self.vocab.run_range(self.run))
        self.run_open = True

    def generate_enter(self) -> None:
        if threading.get_ident() != self.thread:
            return
        self.in_generate += 1
        if self.in_generate == 1:
            self.open_run()

    def generate_exit(self) -> None:
        if threading.get_ident() != self.thread:
            return
        self.in_generate -= 1
        if self.in_generate == 0:
            self.close_run()

    def _unwind(self) -> None:
        """Pop whatever a forward left open (an exception skipped its post-hooks)."""
        while self.stack:
            self._pop_frame(self.stack.pop())
        self.root = None

    def _pop_frame(self, frame: _Frame) -> None:
        for _ in range(frame.pushed + frame.gap):
            self.pop_range()

    def root_enter(self, module: Any, new_tokens: int | None, opaque: bool = False) -> None:
        """A top-level model forward: one step (prefill or decode[k]).  ``opaque``: a compiled
        call, inside which no module gets a range (a hook run eagerly at a graph break would
        open one that the compiled code never closes)."""
        self._unwind()
        prefill = new_tokens > 1 if new_tokens is not None else not self.run_open or self.step == 0
        if not self.in_generate and (prefill or not self.run_open):
            self.open_run()
        elif self.phase_open:
            self._close_step()
            self.step += 1
        step = 0 if prefill else max(self.step, 1)
        self.step = step
        self.push_range(self.vocab.phase_range(step))
        self.phase_open = True
        self.root = module
        self.stack.append(_Frame(module, 0, opaque))

    def root_exit(self) -> None:
        if self.root is None:
            return
        self._unwind()
        if self.run_open and self.between:
            self.push_range(self.between)
            self.between_open = True

    # ---- modules and functions ------------------------------------------------------------
    def enter(self, module: Any, info: Info) -> None:
        parent = self.stack[-1]
        if parent.absorb:
            return
        if parent.gap:
            self.pop_range()
            parent.gap = False
        if info.layer_range:
            self.push_range(self.vocab.layer_range(info.layer, self.run))
            self.stack.append(_Frame(module, 1, False))
        elif info.op is not None:
            self.push_range(info.op)
            self.stack.append(_Frame(module, 1, True))
        elif info.inside is not None:
            self.push_range(info.inside)
            self.stack.append(_Frame(module, 1, False))
        elif info.after is not None:
            self.stack.append(_Frame(module, 0, False))

    def exit(self, module: Any, info: Info) -> None:
        frame = self.stack[-1]
        if frame.module is not module or len(self.stack) < 2:
            return
        self.stack.pop()
        self._pop_frame(frame)
        if info.after is not None:
            self.push_range(info.after)
            self.stack[-1].gap = True

    def call(self, op: str, fn: Callable[..., Any], args: Any, kwargs: Any) -> Any:
        """A wrapped function: its own range when a model forward runs and nothing absorbs it."""
        # absorb first: inside a compiled step this returns before anything dynamo cannot trace
        if self.root is None or not self.stack or self.stack[-1].absorb:
            return fn(*args, **kwargs)
        if threading.get_ident() != self.thread:
            return fn(*args, **kwargs)
        parent = self.stack[-1]
        if parent.gap:
            self.pop_range()
            parent.gap = False
        self.push_range(op)
        frame = _Frame(fn, 1, True)
        self.stack.append(frame)
        try:
            return fn(*args, **kwargs)
        finally:
            if self.stack and self.stack[-1] is frame:
                self.stack.pop()
                self._pop_frame(frame)


def new_tokens_of(args: Any, kwargs: Any) -> int | None:
    """New tokens per sequence of a model call: dim 1 of ``input_ids`` ``[B, T]`` or
    ``inputs_embeds`` ``[B, T, H]`` (first positional argument otherwise); None when flat (vLLM)."""
    for x in (kwargs.get("input_ids"), kwargs.get("inputs_embeds"), args[0] if args else None):
        shape = getattr(x, "shape", None)
        if shape is not None:
            return int(shape[1]) if len(shape) >= 2 else None
    return None
