"""Multi-rank analysis on hand-built rank timelines (edge cases; real TP captures need 2 GPUs).

Every expected figure is worked out by hand below from the kernel intervals.
"""

from __future__ import annotations

import pytest

from rooflens.analysis.ranks import analyze_ranks, exposed_time, message_bytes_by_phase
from rooflens.analysis.timeline import RunSummary, TimelineAnalysis, TimelineKernel
from rooflens.pipeline import predict

US = 1e-6
NCCL = "ncclDevKernel_AllReduce_Sum_f16_RING_LL(ncclDevKernelArgsStorage<4096ul>)"
GEMM = "nvjet_sm90_hsh_64x8_64x16_1x2_h_bz_TNT"


def _k(
    i: int, name: str, start_us: float, end_us: float, phase: str = "decode[1]", stream: int = 7
) -> TimelineKernel:
    return TimelineKernel(i, name, name[:20], start_us * US, (end_us - start_us) * US, 0.0, (1, 1, 1),
                          (1, 1, 1), 32, stream, None, phase, 0)  # fmt: skip


def _rank(kernels: list[TimelineKernel], window_us: float) -> TimelineAnalysis:
    busy = sum(k.duration_s for k in kernels)
    run = RunSummary("Run[1]", 1, window_us * US, len(kernels), busy, busy, window_us * US,
                     window_us * US, 0.0, 0.0, 0, 0)  # fmt: skip
    return TimelineAnalysis("nsys", "x", "Run[1]", [run], run, kernels, run, ["NVIDIA H200"])


RANK0 = [_k(0, GEMM, 0, 10), _k(1, NCCL, 10, 20), _k(2, GEMM, 20, 30), _k(3, NCCL, 30, 35)]
RANK1 = [_k(0, GEMM, 0, 14), _k(1, NCCL, 14, 20), _k(2, GEMM, 20, 30), _k(3, NCCL, 32, 35)]


def test_straggler_and_waits() -> None:
    d = analyze_ranks([_rank(RANK0, 40), _rank(RANK1, 40)], {"decode": 16384.0})
    r0, r1 = d["ranks"]
    assert d["collectives_matched"] == 2 and d["collectives_unmatched"] == 0
    # Collective 0: rank 1 starts at 14 us, rank 0 at 10 us -> rank 0 waits 4 us.
    # Collective 1: rank 1 at 32 us, rank 0 at 30 us -> rank 0 waits 2 us.  Rank 1 is last both times.
    assert r0["wait_s"] == pytest.approx(6 * US) and r1["wait_s"] == pytest.approx(0.0)
    assert (r0["arrived_last"], r1["arrived_last"]) == (0, 2)
    assert r1["wait_caused_s"] == pytest.approx(6 * US)
    # Bus bandwidth from the last rank's kernels (6 us and 3 us): 16 KiB × 2(2−1)/2 / t.
    bw = d["bus_bandwidth"][0]
    assert bw["phase"] == "decode" and bw["collectives"] == 2
    assert bw["median_bus_bandwidth_bps"] == pytest.approx(
        (16384 / (6 * US) + 16384 / (3 * US)) / 2
    )
    rules = {f["rule"]: f for f in d["findings"]}
    assert rules["straggler"]["subject"] == "rank 1"  # 6 us of a 40 us run: 15% >= 5%


def test_exposed_and_overlapped_communication() -> None:
    # One stream: all 15 us of rank 0's NCCL kernels are exposed.
    assert exposed_time(RANK0) == pytest.approx((15 * US, 15 * US))
    # A collective on a second stream under a GEMM [0, 10]: [5, 12] overlaps 5 us, 2 us exposed.
    kernels = [_k(0, GEMM, 0, 10), _k(1, NCCL, 5, 12, stream=9)]
    comm, exposed = exposed_time(kernels)
    assert comm == pytest.approx(7 * US) and exposed == pytest.approx(2 * US)


def test_clock_offsets_align_collective_ends() -> None:
    shifted = [
        _k(k.index, k.name, k.start_s / US + 100, k.start_s / US + k.duration_s / US + 100)
        for k in RANK1
    ]
    d = analyze_ranks([_rank(RANK0, 40), _rank(shifted, 40)], None, same_clock=False)
    assert d["ranks"][1]["clock_offset_s"] == pytest.approx(-100 * US)
    assert d["ranks"][0]["wait_s"] == pytest.approx(6 * US)  # the same answer as on one clock


def test_message_bytes_from_the_prediction() -> None:
    pred = predict(
        "llama-3-8b", "H200", batch=2, input_len=64, output_len=4, layers=2, tp=2
    ).to_dict()
    got = message_bytes_by_phase(pred, 2)
    assert got["prefill"] == pytest.approx(2 * 64 * 4096 * 2)  # T·h·a, fp16
    assert got["decode"] == pytest.approx(2 * 4096 * 2)
    assert message_bytes_by_phase(pred, 1) == {}
