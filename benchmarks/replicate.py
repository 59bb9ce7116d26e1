"""Build large traces by replicating a real capture N times (benchmark inputs, not tests).

What is replicated is the capture's steady state: every event from the start of ``Run[1]``
to the end of the capture (``Run[0]`` is warm-up, and before it the process start-up makes
~1,800 ``cuGetProcAddress`` calls that a long serving session makes once, not once per step).
Each copy shifts timestamps by the window's length and correlation ids by the largest one,
so ranges, launches and kernels stay consistent, and run numbers continue (copy i holds
``Run[1 + 2i]`` and ``Run[2 + 2i]``, with their ``Layer[0]#Run[…]``): a long session of many
generations.  A Kineto replica keeps every event category of the window.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path
from typing import Any

import orjson

_RUN = re.compile(r"Run\[(\d+)\]")


def renumber(text: str | None, copy: int) -> str | None:
    """``Run[j]`` → ``Run[j + 2·copy]`` inside a range name (the window holds two runs)."""
    if text is None or "Run[" not in text:
        return text
    return _RUN.sub(lambda m: f"Run[{int(m.group(1)) + 2 * copy}]", text)


_COPY_TABLES = ("StringIds", "TARGET_INFO_GPU")
_TIMED = {
    "CUPTI_ACTIVITY_KIND_KERNEL": True,
    "CUPTI_ACTIVITY_KIND_RUNTIME": True,
    "CUPTI_ACTIVITY_KIND_MEMCPY": True,
    "CUPTI_ACTIVITY_KIND_MEMSET": True,
    "NVTX_EVENTS": False,  # no correlation id
}


def build_sqlite(src: Path, out: Path, copies: int) -> int:
    """Write ``copies`` replicas of ``src``'s kernel/launch/NVTX tables into ``out``; returns kernel count."""
    out.unlink(missing_ok=True)
    con = sqlite3.connect(out)
    con.execute("PRAGMA journal_mode=OFF")
    con.execute("PRAGMA synchronous=OFF")
    con.execute("ATTACH DATABASE ? AS src", (f"file:{src}?mode=ro",))
    con.create_function("renumber", 2, renumber, deterministic=True)
    (w0,) = con.execute("SELECT start FROM src.NVTX_EVENTS WHERE text = 'Run[1]'").fetchone()
    (w1,) = con.execute("SELECT MAX(end) FROM src.CUPTI_ACTIVITY_KIND_KERNEL").fetchone()
    span = w1 - w0 + 1000
    (top,) = con.execute(
        "SELECT MAX(correlationId) + 1 FROM src.CUPTI_ACTIVITY_KIND_RUNTIME"
    ).fetchone()
    con.execute("CREATE TABLE rep (i INTEGER PRIMARY KEY)")
    con.executemany("INSERT INTO rep VALUES (?)", ((i,) for i in range(copies)))
    for table in _COPY_TABLES:
        (ddl,) = con.execute(
            "SELECT sql FROM src.sqlite_master WHERE name = ?", (table,)
        ).fetchone()
        con.execute(ddl)
        con.execute(f"INSERT INTO main.{table} SELECT * FROM src.{table}")
    for table, correlated in _TIMED.items():
        row = con.execute("SELECT sql FROM src.sqlite_master WHERE name = ?", (table,)).fetchone()
        if row is None:
            continue
        con.execute(row[0])
        cols = [r[1] for r in con.execute(f"PRAGMA src.table_info({table})")]
        exprs = []
        for c in cols:
            if c in ("start", "end"):
                exprs.append(f"t.{c} + rep.i * {span}")
            elif c == "correlationId" and correlated:
                exprs.append(f"t.{c} + rep.i * {top}")
            elif c == "text" and table == "NVTX_EVENTS":
                exprs.append("renumber(t.text, rep.i)")
            elif c == "id" and table == "CUPTI_ACTIVITY_KIND_KERNEL":
                exprs.append("NULL")
            else:
                exprs.append(f"t.{c}")
        con.execute(
            f"INSERT INTO main.{table} ({', '.join(cols)}) SELECT {', '.join(exprs)} "
            f"FROM rep CROSS JOIN src.{table} t WHERE t.start >= {w0} ORDER BY rep.i, t.start"
        )
    con.execute("DROP TABLE rep")
    con.commit()
    (n,) = con.execute("SELECT COUNT(*) FROM CUPTI_ACTIVITY_KIND_KERNEL").fetchone()
    con.close()
    return int(n)


def build_kineto(src: Path, out: Path, copies: int) -> int:
    """Write ``copies`` replicas of ``src``'s trace events (all categories) into ``out``; returns kernel count."""
    doc: dict[str, Any] = orjson.loads(src.read_bytes())
    events = [e for e in doc.pop("traceEvents") if e.get("ph") == "X"]
    t0 = next(
        e["ts"] for e in events if e.get("cat") == "user_annotation" and e["name"] == "Run[1]"
    )
    events = [e for e in events if e["ts"] >= t0]
    span = max(e["ts"] + e.get("dur", 0) for e in events) - t0 + 1.0
    top = 1 + max(int((e.get("args") or {}).get("correlation", 0)) for e in events)
    kernels = sum(1 for e in events if e.get("cat") == "kernel")
    with out.open("wb") as fh:
        head = orjson.dumps(doc)[:-1]
        fh.write(head + b', "traceEvents": [\n')
        first = True
        for i in range(copies):
            chunk = []
            for e in events:
                e2 = dict(e)
                e2["ts"] = round(e["ts"] + i * span, 3)
                if e.get("cat") in ("user_annotation", "gpu_user_annotation"):
                    e2["name"] = renumber(e["name"], i)
                args = e.get("args")
                if args and "correlation" in args:
                    e2["args"] = {**args, "correlation": int(args["correlation"]) + i * top}
                chunk.append(orjson.dumps(e2))
            fh.write((b"" if first else b",\n") + b",\n".join(chunk))
            first = False
        fh.write(b"\n]}\n")
    return kernels * copies
