"""The program side of capture-time annotation: global module hooks, function wrappers and the
import hook that installs them once the program imports ``torch`` (see :mod:`_rooflens_annotate`
for the rules).  Loaded by ``sitecustomize.py``; standard library + torch only.
"""

from __future__ import annotations

import fnmatch
import functools
import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _rooflens_annotate import (
    _KEY,
    _MODEL,
    Annotator,
    _load_vocab,
    index_model,
    load_table,
    new_tokens_of,
)

_ANNOTATOR: Annotator | None = None
_PATCHED: set[str] = set()


def _call_arguments(module: Any) -> tuple[Any, Any]:
    """``(args, kwargs)`` of the ``Module._call_impl`` frame that runs the hooks for ``module``
    (global pre-hooks see no kwargs; Hugging Face passes ``input_ids`` as one)."""
    frame: Any = sys._getframe(2)
    for _ in range(6):
        if frame is None:
            break
        loc = frame.f_locals
        if loc.get("self") is module and "kwargs" in loc:
            return loc.get("args", ()), loc.get("kwargs", {})
        frame = frame.f_back
    return (), {}


def _make_hooks(ann: Annotator, torch: Any) -> tuple[Callable[..., Any], Callable[..., Any]]:
    compiling = getattr(getattr(torch, "compiler", None), "is_compiling", lambda: False)

    def pre(module: Any, args: Any) -> None:
        info = module.__dict__.get(_KEY)
        if ann.root is not None:
            if info is not None and ann.stack and not compiling():
                ann.enter(module, info)
            return
        model = module.__dict__.get(_MODEL)
        if model is None:  # first call at top level (indexed once; a child's Info is kept)
            if threading.get_ident() != ann.thread or compiling():
                return
            model = index_model(module, ann.table, ann.layer_rx)
            if model:
                patch_loaded(ann)
        if model and threading.get_ident() == ann.thread and not compiling():
            pos, kw = _call_arguments(module)
            ann.root_enter(module, new_tokens_of(pos or args, kw))

    def post(module: Any, args: Any, output: Any) -> None:
        if ann.root is None or compiling():
            return
        if module is ann.root:
            ann.root_exit()
            return
        info = module.__dict__.get(_KEY)
        if info is not None and ann.stack:
            ann.exit(module, info)

    return pre, post


def _wrap(ann: Annotator, fn: Callable[..., Any], op: str) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return ann.call(op, fn, args, kwargs)

    wrapper.__rooflens_wrapped__ = True  # type: ignore[attr-defined]
    return wrapper


def _wrap_run(ann: Annotator, fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        ann.generate_enter()
        try:
            return fn(*args, **kwargs)
        finally:
            ann.generate_exit()

    wrapper.__rooflens_wrapped__ = True  # type: ignore[attr-defined]
    return wrapper


def _wrap_factory(ann: Annotator, fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn(model, ...)`` returns a compiled model call (``torch.compile``, CUDA graphs): module
    hooks do not run inside it, so each call of what it returns is made one step here."""

    @functools.wraps(fn)
    def wrapper(model: Any, *args: Any, **kwargs: Any) -> Any:
        compiled = fn(model, *args, **kwargs)

        def step(*a: Any, **k: Any) -> Any:
            if ann.root is not None or threading.get_ident() != ann.thread:
                return compiled(*a, **k)
            if model.__dict__.get(_MODEL) is None:
                index_model(model, ann.table, ann.layer_rx)
            ann.root_enter(model, new_tokens_of(a, k), opaque=True)
            try:
                return compiled(*a, **k)
            finally:
                if ann.root is model:
                    ann.root_exit()

        return step

    wrapper.__rooflens_wrapped__ = True  # type: ignore[attr-defined]
    return wrapper


def _targets(table: dict[str, Any]) -> list[tuple[str, str, str]]:
    """``(module glob, qualname, what)`` of every table target: ``what`` is an operator, or
    ``"<run>"`` for a run function, ``"<steps>"`` for a factory of compiled steps."""
    out: list[tuple[str, str, str]] = []
    for target, op in table.get("functions", {}).items():
        mod, _, qual = target.partition(":")
        out.append((mod, qual, op))
    for key, what in (("functions", "<run>"), ("step_factories", "<steps>")):
        for target in table.get("run", {}).get(key, []):
            mod, _, qual = target.partition(":")
            out.append((mod, qual, what))
    return out


def patch_module(ann: Annotator, name: str, module: Any) -> None:
    """Wrap the table's functions that live in the module ``name``."""
    for glob, qual, op in _targets(ann.table):
        key = f"{name}:{qual}"
        if key in _PATCHED or not fnmatch.fnmatchcase(name, glob):
            continue
        *owner_path, attr = qual.split(".")
        # vars(), not getattr(): a lazy module (transformers) would import on attribute access,
        # and a class attribute must be defined there, not inherited.
        owner = module
        for part in owner_path:
            owner = vars(owner).get(part) if hasattr(owner, "__dict__") else None
        fn = vars(owner).get(attr) if hasattr(owner, "__dict__") else None
        if fn is None or not callable(fn) or getattr(fn, "__rooflens_wrapped__", False):
            continue
        if op == "<run>":
            wrapped = _wrap_run(ann, fn)
        elif op == "<steps>":
            wrapped = _wrap_factory(ann, fn)
        else:
            wrapped = _wrap(ann, fn, op)
        setattr(owner, attr, wrapped)
        _PATCHED.add(key)


def patch_loaded(ann: Annotator) -> None:
    """Patch every already-imported module the table names (a scan of ``sys.modules``: at
    ``torch`` import and when a model is first seen, never per call)."""
    globs = {g for g, _, _ in _targets(ann.table)}
    for name, module in list(sys.modules.items()):
        if module is not None and any(fnmatch.fnmatchcase(name, g) for g in globs):
            patch_module(ann, name, module)


class _ImportHook:
    """Meta-path finder: after ``torch`` (or a module the table names) is executed, run ``done``."""

    def __init__(self, globs: set[str], done: Callable[[str, Any], None]) -> None:
        self.globs = globs | {"torch"}
        self.done = done
        self.busy: set[str] = set()

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        if name in self.busy or not any(fnmatch.fnmatchcase(name, g) for g in self.globs):
            return None
        self.busy.add(name)
        try:
            for finder in sys.meta_path:
                if finder is self or not hasattr(finder, "find_spec"):
                    continue
                spec = finder.find_spec(name, path, target)
                if spec is not None:
                    break
            else:
                return None
        finally:
            self.busy.discard(name)
        loader = spec.loader
        if loader is None or not hasattr(loader, "exec_module"):
            return spec
        run = loader.exec_module
        done = self.done

        def exec_module(module: Any) -> None:
            run(module)
            done(name, module)

        loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


def _emitter(torch: Any, atexit: Any) -> tuple[Callable[[str], Any], Callable[[], Any]]:
    """NVTX push/pop; with ``ROOFLENS_ANNOTATE_TRACE=FILE`` a recorder that writes one line per
    push (the name) and pop (``<pop>``) into FILE at exit instead (tests, machines without CUDA)."""
    trace = os.environ.get("ROOFLENS_ANNOTATE_TRACE")
    if not trace:
        return torch.cuda.nvtx.range_push, torch.cuda.nvtx.range_pop
    lines: list[str] = []

    def write() -> None:
        Path(trace).write_text("\n".join(lines) + "\n", encoding="utf-8")

    atexit.register(write)  # registered first: runs after the run is closed
    return lines.append, functools.partial(lines.append, "<pop>")


def _on_torch(torch: Any) -> None:
    global _ANNOTATOR
    if _ANNOTATOR is not None:
        return
    import atexit

    push, pop = _emitter(torch, atexit)
    ann = Annotator(load_table(), _load_vocab(), push, pop)
    _ANNOTATOR = ann
    pre, post = _make_hooks(ann, torch)
    mm = torch.nn.modules.module
    mm.register_module_forward_pre_hook(pre)
    try:
        mm.register_module_forward_hook(post, always_call=True)
    except TypeError:
        mm.register_module_forward_hook(post)
    atexit.register(ann.close_run)
    patch_loaded(ann)


def install() -> None:
    """Arm the import hook (nothing is imported now); ROOFLENS_ANNOTATE=0 turns it off."""
    if os.environ.get("ROOFLENS_ANNOTATE", "1") == "0":
        return
    table = load_table()
    globs = {g for g, _, _ in _targets(table)}

    def done(name: str, module: Any) -> None:
        try:
            if name == "torch":
                _on_torch(module)
            elif _ANNOTATOR is not None:
                patch_module(_ANNOTATOR, name, module)
        except Exception as exc:  # never break the profiled program
            print(f"rooflens annotate: {name}: {exc}", file=sys.stderr)

    if "torch" in sys.modules:
        done("torch", sys.modules["torch"])
    else:
        sys.meta_path.insert(0, _ImportHook(globs, done))
