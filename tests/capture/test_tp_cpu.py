"""Tensor-parallel workload on the CPU: two gloo ranks with Megatron shards compute the full layer.

Each rank builds the Decoder of :func:`shard_shape` (H/tp query heads, Hkv/tp KV heads, I/tp MLP
width) and gets its slice of an unsharded model's weights (column-parallel QKV and gate/up,
row-parallel o and down); the workload's two all-reduces per layer must then reproduce the
unsharded layer's output for a prefill and a decode step on the KV cache.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
dist = pytest.importorskip("torch.distributed")
mp = pytest.importorskip("torch.multiprocessing")

from rooflens.capture.shape import DecoderShape, shard_shape  # noqa: E402
from rooflens.capture.workload import Decoder, Marker  # noqa: E402
from rooflens.errors import RooflensError  # noqa: E402

TINY = DecoderShape(hidden_size=64, intermediate_size=96, num_layers=1, num_heads=4,
                    num_kv_heads=2, head_dim=16, vocab_size=100)  # fmt: skip
TP = 2


def _rows(t: torch.Tensor, start: int, n: int) -> torch.Tensor:
    return t[start : start + n]


def _shard_params(full: dict, rank: int) -> dict:
    """Megatron slices of one layer's weights for ``rank`` (written independently of the workload)."""
    H, Hkv, d, inter = TINY.num_heads, TINY.num_kv_heads, TINY.head_dim, TINY.intermediate_size
    hq, hk, i = H // TP * d, Hkv // TP * d, inter // TP
    qkv = full["qkv"]
    q, k, v = qkv[: H * d], qkv[H * d : (H + Hkv) * d], qkv[(H + Hkv) * d :]
    gate, up = full["gate_up"][:inter], full["gate_up"][inter:]
    return {
        "qkv": torch.cat(
            [_rows(q, rank * hq, hq), _rows(k, rank * hk, hk), _rows(v, rank * hk, hk)]
        ),
        "o": full["o"][:, rank * hq : (rank + 1) * hq].contiguous(),
        "gate_up": torch.cat([_rows(gate, rank * i, i), _rows(up, rank * i, i)]),
        "down": full["down"][:, rank * i : (rank + 1) * i].contiguous(),
    }


def _worker(rank: int, port: int, out_dir: str) -> None:
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=TP)
    torch.manual_seed(0)
    full = Decoder(TINY, layers=1, batch=2, max_len=8, dtype=torch.float32, device="cpu")
    mine = Decoder(
        shard_shape(TINY, TP), layers=1, batch=2, max_len=8, dtype=torch.float32, device="cpu"
    )
    assert mine.tp == TP
    mine.L[0].update(_shard_params(full.L[0], rank))
    mark = Marker(torch_ranges=False, nvtx=False)
    x = torch.randn(2, 5, 64, generator=torch.Generator().manual_seed(1))
    y = mine.layer(0, x, 0, True, 0, mark)  # prefill of 5 tokens
    z = mine.layer(0, y[:, -1:], 5, False, 0, mark)  # one decode step on the sharded KV cache
    torch.save({"y": y, "z": z}, Path(out_dir) / f"rank{rank}.pt")
    dist.destroy_process_group()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_two_ranks_compute_the_unsharded_layer(tmp_path: Path) -> None:
    mp.spawn(_worker, args=(_free_port(), str(tmp_path)), nprocs=TP, join=True)
    torch.manual_seed(0)
    full = Decoder(TINY, layers=1, batch=2, max_len=8, dtype=torch.float32, device="cpu")
    assert full.tp == 1
    mark = Marker(torch_ranges=False, nvtx=False)
    x = torch.randn(2, 5, 64, generator=torch.Generator().manual_seed(1))
    y = full.layer(0, x, 0, True, 0, mark)
    z = full.layer(0, y[:, -1:], 5, False, 0, mark)
    for rank in range(TP):
        got = torch.load(tmp_path / f"rank{rank}.pt")
        torch.testing.assert_close(got["y"], y, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(got["z"], z, atol=1e-5, rtol=1e-5)


def test_shard_shape_divides_heads_and_width() -> None:
    s = shard_shape(TINY, 2)
    assert (s.num_heads, s.num_kv_heads, s.intermediate_size, s.hidden_size) == (2, 1, 48, 64)
    assert shard_shape(TINY, 1) is TINY
    with pytest.raises(RooflensError, match="does not divide"):
        shard_shape(TINY, 4)  # 2 KV heads over 4 GPUs
