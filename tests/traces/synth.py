"""Hand-built nsys SQLite exports and Kineto JSON traces for edge cases (test helpers only).

Schemas follow ``nsys export --type sqlite`` (the columns rooflens reads) and PyTorch's Kineto
JSON.  Times are given in nanoseconds (nsys) and converted to microseconds for Kineto.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pytest

from rooflens.cli import main

PID_SHIFT = 24


def gtid(pid: int, tid: int) -> int:
    """nsys serialized globalTid (hardware id bits left 0)."""
    return (pid << PID_SHIFT) | tid


@dataclass
class K:
    """A kernel and the launch call that queued it (all times ns)."""

    name: str
    start: int
    end: int
    corr: int
    launch: int  # launch call start
    pid: int = 100
    tid: int = 100
    stream: int = 7
    grid: tuple[int, int, int] = (1, 1, 1)
    block: tuple[int, int, int] = (128, 1, 1)
    regs: int = 32


@dataclass
class R:
    """An NVTX range (ns)."""

    name: str
    start: int
    end: int
    pid: int = 100
    tid: int = 100
    push_pop: bool = True


@dataclass
class Synth:
    kernels: list[K] = field(default_factory=list)
    ranges: list[R] = field(default_factory=list)
    gpu_name: str = "NVIDIA H100 80GB HBM3"


def write_nsys(
    path: Path, syn: Synth, *, with_nvtx: bool = True, text_inline: bool = False
) -> Path:
    """Write ``syn`` as an nsys-like SQLite export."""
    con = sqlite3.connect(path)
    con.executescript(
        """
        CREATE TABLE StringIds (id INTEGER PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE CUPTI_ACTIVITY_KIND_KERNEL (start INT, end INT, deviceId INT, contextId INT,
          streamId INT, correlationId INT, globalPid INT, demangledName INT, shortName INT,
          mangledName INT, gridX INT, gridY INT, gridZ INT, blockX INT, blockY INT, blockZ INT,
          registersPerThread INT, staticSharedMemory INT, dynamicSharedMemory INT);
        CREATE TABLE CUPTI_ACTIVITY_KIND_RUNTIME (start INT, end INT, eventClass INT,
          globalTid INT, correlationId INT, nameId INT, returnValue INT, callchainId INT);
        CREATE TABLE TARGET_INFO_GPU (id INT, name TEXT, busLocation TEXT, l2CacheSize INT,
          totalMemory INT, memoryBandwidth INT, clockRate INT, smCount INT,
          computeMajor INT, computeMinor INT);
        """
    )
    strings: dict[str, int] = {}

    def sid(text: str) -> int:
        if text not in strings:
            strings[text] = len(strings)
            con.execute("INSERT INTO StringIds VALUES (?, ?)", (strings[text], text))
        return strings[text]

    launch_name = sid("cudaLaunchKernel")
    for k in syn.kernels:
        con.execute(
            "INSERT INTO CUPTI_ACTIVITY_KIND_KERNEL VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (k.start, k.end, 0, 1, k.stream, k.corr, gtid(k.pid, 0), sid(k.name), sid(k.name.split("(")[0][-20:]),
             sid("_Z" + k.name[:5]), *k.grid, *k.block, k.regs, 1024, 0),
        )  # fmt: skip
        con.execute(
            "INSERT INTO CUPTI_ACTIVITY_KIND_RUNTIME VALUES (?,?,?,?,?,?,?,?)",
            (k.launch, k.launch + 2000, 1, gtid(k.pid, k.tid), k.corr, launch_name, 0, 0),
        )
    if with_nvtx:
        con.execute(
            "CREATE TABLE NVTX_EVENTS (start INT, end INT, eventType INT, rangeId INT, category INT, "
            "color INT, text TEXT, globalTid INT, endGlobalTid INT, textId INT, domainId INT)"
        )
        for r in syn.ranges:
            text, tid = (r.name, None) if text_inline else (None, sid(r.name))
            con.execute(
                "INSERT INTO NVTX_EVENTS VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (
                    r.start,
                    r.end,
                    59 if r.push_pop else 60,
                    0,
                    0,
                    0,
                    text,
                    gtid(r.pid, r.tid),
                    None,
                    tid,
                    0,
                ),
            )
        # A mark (type 34) must be ignored.
        con.execute(
            "INSERT INTO NVTX_EVENTS VALUES (5,NULL,34,0,0,0,'mark',?,NULL,NULL,0)",
            (gtid(100, 100),),
        )
    con.execute(
        "INSERT INTO TARGET_INFO_GPU VALUES (0, ?, '0000:00:00.0', 52428800, 85000000000, 3352320000000, 1980000000, 132, 9, 0)",
        (syn.gpu_name,),
    )
    con.commit()
    con.close()
    return path


def write_kineto(path: Path, syn: Synth) -> Path:
    """Write ``syn`` as a Kineto JSON trace (ns → us)."""
    ev: list[dict[str, Any]] = []
    for k in syn.kernels:
        ev.append({"ph": "X", "cat": "kernel", "name": k.name, "pid": 0, "tid": k.stream,
                   "ts": k.start / 1000, "dur": (k.end - k.start) / 1000,
                   "args": {"device": 0, "stream": k.stream, "correlation": k.corr,
                            "registers per thread": k.regs, "shared memory": 1024,
                            "grid": list(k.grid), "block": list(k.block)}})  # fmt: skip
        ev.append({"ph": "X", "cat": "cuda_runtime", "name": "cudaLaunchKernel", "pid": k.pid,
                   "tid": k.tid, "ts": k.launch / 1000, "dur": 2.0, "args": {"correlation": k.corr}})  # fmt: skip
    for r in syn.ranges:
        ev.append({"ph": "X", "cat": "user_annotation", "name": r.name, "pid": r.pid, "tid": r.tid,
                   "ts": r.start / 1000, "dur": (r.end - r.start) / 1000, "args": {}})  # fmt: skip
    ev.append({"ph": "i", "cat": "instant", "name": "x", "pid": 1, "tid": 1, "ts": 0})
    doc = {"schemaVersion": 1,
           "deviceProperties": [{"id": 0, "name": syn.gpu_name, "totalGlobalMem": 85000000000,
                                 "computeMajor": 9, "computeMinor": 0, "numSms": 132}],
           "traceEvents": ev}  # fmt: skip
    path.write_bytes(orjson.dumps(doc))
    return path


def analyze_ok(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    """stdout of a successful ``rooflens analyze ARGS`` (fails the test with stderr otherwise)."""
    try:
        main(["analyze", *args])
    except SystemExit as exc:
        assert exc.code in (0, None), capsys.readouterr().err
    return capsys.readouterr().out
