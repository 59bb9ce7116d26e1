"""The built-in decoder workload: a Llama/Qwen-style model on random weights, marked with NVTX.

Run as a program (``python -m rooflens.capture.workload --shape shape.json ...``) under nsys, ncu or
the PyTorch profiler.  It does what SGLang's ``bench_one_batch`` does — prefill of ``input_len``
tokens, then ``output_len − 1`` decode steps on a growing KV cache — ``runs`` times (run 0 is
warm-up), with the fastest kernels torch has (SDPA flash attention with GQA, fused RMSNorm),
so that its kernels resemble a serving engine's.

Every operator sits in a nested NVTX range named after the predictor's operator
(docs/architecture.md), so measured kernels join predicted operators exactly::

    Run[j] > prefill | decode[k] > Layer[i]#Run[j] > qkv_proj

Only torch is needed (no downloads, no extra packages): it must run on the GPU machine as is.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any

import torch
import torch.distributed as dist
import torch.nn.functional as F

from rooflens.capture.sample import sample_layers, sample_steps
from rooflens.capture.shape import DecoderShape, shard_shape
from rooflens.vocab import expert_range, layer_range, ncu_sample_range, phase_range, run_range

#: Routed experts ncu profiles per sampled layer and step (the first ones the loop visits).
SAMPLED_EXPERTS = 2

#: A context around kernels ncu profiles (the ``ncu#Run[j]`` marker, or nothing).
Sampled = Callable[[], AbstractContextManager[None]]

_DTYPES = {"fp16": torch.float16, "bf16": torch.bfloat16}


class Marker:
    """NVTX ranges (always) and ``record_function`` ranges (when the PyTorch profiler is on).

    ``host_s``: when a dict, every range's host seconds (push to pop, the marker included) are
    appended under its name — ``rooflens calibrate`` times the host side of each operator so
    (rooflens.capture.calibrate_host.bench_host_ops)."""

    def __init__(self, torch_ranges: bool, nvtx: bool = True) -> None:
        self.torch_ranges = torch_ranges
        self.nvtx = nvtx
        self.enabled = True
        self.sampling = True  # push the ncu#Run[j] marker (False on tensor-parallel ranks > 0)
        self.host_s: dict[str, list[float]] | None = None

    @contextlib.contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        if not self.enabled:
            yield
            return
        t0 = time.perf_counter() if self.host_s is not None else 0.0
        if self.nvtx:
            torch.cuda.nvtx.range_push(name)
        rf = torch.profiler.record_function(name) if self.torch_ranges else contextlib.nullcontext()
        try:
            with rf:
                yield
        finally:
            if self.nvtx:
                torch.cuda.nvtx.range_pop()
            if self.host_s is not None:
                self.host_s.setdefault(name, []).append(time.perf_counter() - t0)

    @contextlib.contextmanager
    def off(self) -> Iterator[None]:
        """No ranges inside (graph capture, the warm-up of ncu's sample pass)."""
        self.enabled = False
        try:
            yield
        finally:
            self.enabled = True

    @contextlib.contextmanager
    def sample(self, run: int) -> Iterator[None]:
        """The ``ncu#Run[j]`` marker around kernels ncu profiles (NVTX only: no profiler range)."""
        if not (self.enabled and self.nvtx and self.sampling):
            yield
            return
        torch.cuda.nvtx.range_push(ncu_sample_range(run))
        try:
            yield
        finally:
            torch.cuda.nvtx.range_pop()


def _rms_norm(x: torch.Tensor, w: torch.Tensor, eps: float, rms: bool) -> torch.Tensor:
    if rms:
        return F.rms_norm(x, (x.shape[-1],), w, eps)
    return F.layer_norm(x, (x.shape[-1],), w, None, eps)


def _rotate_half(x: torch.Tensor) -> torch.Tensor:
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


class Decoder:
    """Weights, KV cache and the forward pass of the workload (random weights, no downloads)."""

    def __init__(
        self,
        shape: DecoderShape,
        layers: int,
        batch: int,
        max_len: int,
        dtype: torch.dtype,
        device: str = "cuda",
        only: frozenset[int] | None = None,
    ) -> None:
        """``only``: build the weights and KV cache of these layers only (ncu's pass of a sample:
        under ncu every launch costs milliseconds, and a 48-layer MoE's weights take ~25,000)."""
        dev = torch.device(device)
        self.s, self.layers, self.batch = shape, layers, batch
        # Tensor parallel: ``shape`` is already this rank's shard (capture.shape.shard_shape).
        self.tp = dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1
        g = torch.Generator(device=dev).manual_seed(0)

        def w(*dims: int) -> torch.Tensor:
            std = 1.0 / math.sqrt(dims[-1])
            return (torch.randn(*dims, device=dev, dtype=dtype, generator=g) * std).contiguous()

        h, d = shape.hidden_size, shape.head_dim
        qkv_out = (shape.num_heads + 2 * shape.num_kv_heads) * d
        self.embed = w(shape.vocab_size, h)
        self.lm_head = self.embed if shape.tie_word_embeddings else w(shape.vocab_size, h)
        self.final_norm = torch.ones(h, device=dev, dtype=dtype)
        self.pos_embed = None if shape.rope else w(max_len, h)
        self.L: list[dict[str, Any]] = []
        for i in range(layers):
            if only is not None and i not in only:
                self.L.append({})
                continue
            p: dict[str, Any] = {
                "attn_norm": torch.ones(h, device=dev, dtype=dtype),
                "mlp_norm": torch.ones(h, device=dev, dtype=dtype),
                "qkv": w(qkv_out, h),
                "o": w(h, shape.num_heads * d),
                "k_cache": torch.zeros(
                    batch, shape.num_kv_heads, max_len, d, device=dev, dtype=dtype
                ),
                "v_cache": torch.zeros(
                    batch, shape.num_kv_heads, max_len, d, device=dev, dtype=dtype
                ),
            }
            if shape.num_experts:
                inter = shape.moe_intermediate_size or shape.intermediate_size
                p["router"] = w(shape.num_experts, h)
                p["experts"] = [(w(2 * inter, h), w(h, inter)) for _ in range(shape.num_experts)]
                if shape.num_shared_experts:
                    si = inter * shape.num_shared_experts
                    p["shared"] = (w(2 * si, h), w(h, si))
            else:
                i = shape.intermediate_size
                p["gate_up"] = w(2 * i if shape.gated_mlp else i, h)
                p["down"] = w(h, i)
            self.L.append(p)
        inv = 1.0 / (
            shape.rope_theta ** (torch.arange(0, d, 2, device=dev, dtype=torch.float32) / d)
        )
        t = torch.arange(max_len, device=dev, dtype=torch.float32)
        freqs = torch.outer(t, inv)
        emb = torch.cat((freqs, freqs), dim=-1)
        self.cos, self.sin = emb.cos().to(dtype), emb.sin().to(dtype)

    # -- operators -----------------------------------------------------------------------------
    def _mlp(self, p: dict[str, Any], x: torch.Tensor, mark: Marker, smp: Sampled) -> torch.Tensor:
        s = self.s
        if not s.num_experts:
            with smp():
                with mark("gate_up_proj"):
                    gu = x @ p["gate_up"].t()
                with mark("act"):
                    if s.gated_mlp:
                        gate, up = gu.chunk(2, dim=-1)
                        a = F.silu(gate) * up
                    else:
                        a = F.gelu(gu, approximate="tanh")
                with mark("down_proj"):
                    return a @ p["down"].t()
        return self._moe(p, x, mark, smp)

    def _moe(self, p: dict[str, Any], x: torch.Tensor, mark: Marker, smp: Sampled) -> torch.Tensor:
        s = self.s
        flat = x.reshape(-1, x.shape[-1])
        with smp(), mark("router"):
            logits = flat @ p["router"].t()
            weights, idx = torch.topk(torch.softmax(logits.float(), dim=-1), s.top_k, dim=-1)
            weights = (weights / weights.sum(-1, keepdim=True)).to(x.dtype)
        with mark("experts"):
            with smp():
                out = torch.zeros_like(flat)
            # A loop over the experts that got tokens (one host sync for the set, not one per
            # expert: in decode 8 of 128 run): each gathers its tokens, runs its gated MLP,
            # scatters back.  Every expert runs the same kernels, so ncu profiles only the first
            # SAMPLED_EXPERTS of a sampled layer (a prefill visits ~all 128: ~1,100 kernels, ten
            # minutes of ncu); the analysis carries their counters to the others by role.
            for n, e in enumerate(torch.unique(idx).tolist()):
                gu_w, down_w = p["experts"][e]
                inside = smp() if n < SAMPLED_EXPERTS else contextlib.nullcontext()
                with inside, mark(expert_range(e)):
                    tok, slot = torch.where(idx == e)
                    gate, up = (flat[tok] @ gu_w.t()).chunk(2, dim=-1)
                    y = (F.silu(gate) * up) @ down_w.t()
                    out.index_add_(0, tok, y * weights[tok, slot].unsqueeze(-1))
        if "shared" in p:
            with smp(), mark("shared_experts"):
                gate, up = (flat @ p["shared"][0].t()).chunk(2, dim=-1)
                out += (F.silu(gate) * up) @ p["shared"][1].t()
        return out.view_as(x)

    def layer(
        self,
        i: int,
        x: torch.Tensor,
        start: int,
        causal: bool,
        run: int,
        mark: Marker,
        sampled: bool = False,
    ) -> torch.Tensor:
        """One decoder layer on ``x`` [b, T, h], tokens at positions start … start+T−1.

        ``sampled``: ncu profiles this layer.  The ``ncu#Run[j]`` marker goes *inside* the layer
        range, around every kernel but the routed experts after the first SAMPLED_EXPERTS.
        """
        p = self.L[i]
        smp: Sampled = (lambda: mark.sample(run)) if sampled else contextlib.nullcontext
        with mark(layer_range(i, run)):
            with smp():
                x, h = self._attention_half(p, x, start, causal, mark)
            m = self._mlp(p, h, mark, smp)
            with smp():
                if self.tp > 1:  # row-parallel down_proj
                    with mark("all_reduce"):
                        dist.all_reduce(m)
                with mark("mlp_residual"):
                    x = x + m
        return x

    def _attention_half(
        self, p: dict[str, Any], x: torch.Tensor, start: int, causal: bool, mark: Marker
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """attn_norm … attn_residual, mlp_norm: (the residual stream, the MLP's normed input)."""
        s = self.s
        b, T, _ = x.shape
        H, Hkv, d = s.num_heads, s.num_kv_heads, s.head_dim
        with mark("attn_norm"):
            h = _rms_norm(x, p["attn_norm"], s.norm_eps, s.rms_norm)
        with mark("qkv_proj"):
            qkv = h @ p["qkv"].t()
        q, k, v = qkv.split([H * d, Hkv * d, Hkv * d], dim=-1)
        q = q.view(b, T, H, d).transpose(1, 2)
        k = k.view(b, T, Hkv, d).transpose(1, 2)
        v = v.view(b, T, Hkv, d).transpose(1, 2)
        if s.rope:
            with mark("rope"):
                cos = self.cos[start : start + T]
                sin = self.sin[start : start + T]
                q = q * cos + _rotate_half(q) * sin
                k = k * cos + _rotate_half(k) * sin
        end = start + T
        with mark("kv_cache_write"):
            p["k_cache"][:, :, start:end] = k
            p["v_cache"][:, :, start:end] = v
        with mark("attention"):
            o = F.scaled_dot_product_attention(
                q,
                p["k_cache"][:, :, :end],
                p["v_cache"][:, :, :end],
                is_causal=causal,
                enable_gqa=H != Hkv,
            )
        o = o.transpose(1, 2).reshape(b, T, H * d)
        with mark("o_proj"):
            a = o @ p["o"].t()
        if self.tp > 1:  # row-parallel o_proj: sum the ranks' partial outputs
            with mark("all_reduce"):
                dist.all_reduce(a)
        with mark("attn_residual"):
            x = x + a
        with mark("mlp_norm"):
            h = _rms_norm(x, p["mlp_norm"], s.norm_eps, s.rms_norm)
        return x, h

    def step(
        self,
        ids: torch.Tensor,
        start: int,
        run: int,
        mark: Marker,
        out_ids: torch.Tensor,
        sample_layers: frozenset[int] = frozenset(),
        only_sampled: bool = False,
    ) -> None:
        """Embedding → layers → final norm → LM head (last token) → greedy next token into ``out_ids``.

        ``sample_layers``: layers (and, when not empty, the per-model operators) wrapped in the
        ``ncu#Run[j]`` marker whose kernels ncu profiles (rooflens.capture.sample).
        ``only_sampled``: run those layers only (the ncu pass of a sample: see run_workload).
        """
        sampled = mark.sample(run) if sample_layers else contextlib.nullcontext()
        with sampled, mark("embedding"):
            x = F.embedding(ids, self.embed)
            if self.pos_embed is not None:
                x = x + self.pos_embed[start : start + ids.shape[1]]
        causal = ids.shape[1] > 1
        for i in range(self.layers):
            if only_sampled and i not in sample_layers:
                continue
            x = self.layer(i, x, start, causal, run, mark, sampled=i in sample_layers)
        with mark.sample(run) if sample_layers else contextlib.nullcontext():
            with mark("final_norm"):
                x = _rms_norm(x, self.final_norm, self.s.norm_eps, self.s.rms_norm)
            with mark("lm_head"):
                logits = x[:, -1, :] @ self.lm_head.t()
            with mark("sample"):
                out_ids.copy_(torch.argmax(logits, dim=-1, keepdim=True))


def _capture_decode_graphs(
    model: Decoder, input_len: int, output_len: int, ids_buf: torch.Tensor, mark: Marker
) -> list[torch.cuda.CUDAGraph]:
    """One CUDA graph per decode step (each attends a different context length)."""
    graphs: list[torch.cuda.CUDAGraph] = []
    # NVTX pushed during capture is not replayed; replays get their own ranges
    with mark.off():
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            model.step(ids_buf, input_len, 0, mark, ids_buf)  # warm-up outside capture
        torch.cuda.current_stream().wait_stream(side)
        for k in range(1, output_len):
            g = torch.cuda.CUDAGraph()
            with torch.cuda.graph(g):
                model.step(ids_buf, input_len + k - 1, 0, mark, ids_buf)
            graphs.append(g)
    return graphs


def _init_tensor_parallel() -> tuple[int, int]:
    """(rank, world size): under ``torchrun`` (WORLD_SIZE > 1) join the NCCL group, one GPU per rank."""
    import os

    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world == 1:
        return 0, 1
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if local >= torch.cuda.device_count():
        raise SystemExit(
            f"rooflens workload: rank {local} has no GPU ({torch.cuda.device_count()} visible)"
        )
    torch.cuda.set_device(local)
    dist.init_process_group("nccl", device_id=torch.device("cuda", local))
    return dist.get_rank(), dist.get_world_size()


def run_workload(
    shape: DecoderShape,
    *,
    batch: int,
    input_len: int,
    output_len: int,
    layers: int,
    runs: int,
    dtype: str,
    cuda_graph: bool = False,
    torch_profile: str | None = None,
    ncu_check: bool = False,
    sample_only: bool = False,
) -> dict[str, Any]:
    """Run the workload ``runs`` times; returns a summary (wall time per run, attention backend).

    ``sample_only``: the ncu pass of a representative sample (eager only).  ncu makes every
    launch it does not profile cost milliseconds (H200, ncu 2025.3: a 32-layer, 64-token
    Llama-3-8B run, ~100k launches over 3 runs, had profiled 62 of its ~90 sampled kernels after
    225 s), so this pass launches only what the sample holds: one unmarked warm-up step (lazy
    initialisation, first-call kernels), then in the last run the sampled steps and, in them,
    the sampled layers and the per-model operators.  Each launch keeps its NVTX path
    (``Run[j] > decode[k] > Layer[i]#Run[j] > op``) and shape, so it joins the timeline launch
    of the full run (rooflens.analysis.counters); only data-dependent choices may differ (which
    experts a decode token is routed to: the join ignores the expert's index).
    """
    if not torch.cuda.is_available():
        raise SystemExit("rooflens workload: no CUDA GPU is visible to torch")
    rank, tp = _init_tensor_parallel()
    shape = shard_shape(shape, tp)
    torch.manual_seed(0)
    mark = Marker(torch_ranges=torch_profile is not None)
    mark.sampling = rank == 0  # ncu profiles rank 0's sample only
    sample_only = sample_only and not cuda_graph
    # ncu profiles the last run's sampled steps and layers (rooflens.capture.sample).
    chosen = frozenset(sample_layers(layers, check=ncu_check))
    sampled_steps = set(sample_steps(output_len, check=ncu_check))
    model = Decoder(shape, layers, batch, input_len + output_len, _DTYPES[dtype],
                    only=chosen if sample_only else None)  # fmt: skip
    prompt = torch.randint(0, shape.vocab_size, (batch, input_len), device="cuda")
    ids_buf = torch.zeros(batch, 1, dtype=torch.long, device="cuda")
    graphs = (
        _capture_decode_graphs(model, input_len, output_len, ids_buf, mark) if cuda_graph else []
    )
    torch.cuda.synchronize()

    prof: Any = None
    if torch_profile:
        from torch.profiler import ProfilerActivity, profile

        prof = profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA])
        prof.__enter__()
    wall: list[float] = []
    probes: list[float] = []  # this process's host speed just before each run
    with torch.inference_mode():
        if sample_only:
            _unmarked_warm_up(model, prompt, input_len, output_len, ids_buf, mark, chosen)
        for j in range(runs - 1 if sample_only else 0, runs):
            if not sample_only:  # not under ncu, where every launch costs milliseconds
                probes.append(_host_probe())
            t0 = time.perf_counter()
            steps = sampled_steps if j == runs - 1 else set()
            with mark(run_range(j)):
                with mark("prefill"):  # step 0: in every sample
                    rep = chosen if 0 in steps else frozenset()
                    model.step(prompt, 0, j, mark, ids_buf, rep, sample_only)
                for k in range(1, output_len):
                    if sample_only and k not in steps:
                        continue
                    with mark(phase_range(k)):
                        if cuda_graph and j > 0:
                            # NVTX is host-side: a replay has no operator ranges. Run 0 runs the
                            # same steps eagerly, so the analysis can label replayed kernels by
                            # their position in the identical eager kernel sequence.
                            with mark.sample(j) if k in steps else contextlib.nullcontext():
                                with mark("graph"):
                                    graphs[k - 1].replay()
                        else:
                            rep = chosen if k in steps else frozenset()
                            model.step(
                                ids_buf, input_len + k - 1, j, mark, ids_buf, rep, sample_only
                            )
            torch.cuda.synchronize()
            wall.append(time.perf_counter() - t0)
    if prof is not None:
        prof.__exit__(None, None, None)
        prof.export_chrome_trace(torch_profile)
    return {
        "gpu_name": torch.cuda.get_device_name(),
        "torch_version": torch.__version__,
        "cuda_version": torch.version.cuda,
        "run_wall_s": wall,
        "shape": shape.to_dict(),
        "layers": layers,
        "batch": batch,
        "input_len": input_len,
        "output_len": output_len,
        "dtype": dtype,
        "cuda_graph": cuda_graph,
        "ncu_sample_steps": sorted(sampled_steps),
        "ncu_sample_layers": sorted(chosen),
        "tp": tp,
        "rank": rank,
        "sample_only": sample_only,
        "host_probe_before_run_s": probes,
    }


def _host_probe() -> float:
    """calibrate_host.host_probe on a fresh decoder, its memory given back before the run.

    Just before each run, not once per process: on the H200 machine (a KVM guest) the host's
    speed switched between about 0.6× and 1× of the calibration's within processes — two of
    nine captures probed once at the start ran their analysed run at the other speed
    (tests/fixtures/accuracy/h200_heldout4, docs/calibration.md)."""
    from rooflens.capture.calibrate_host import host_probe

    probe = host_probe(torch)
    torch.cuda.synchronize()
    torch.cuda.empty_cache()
    return probe


def _unmarked_warm_up(
    model: Decoder,
    prompt: torch.Tensor,
    input_len: int,
    output_len: int,
    ids_buf: torch.Tensor,
    mark: Marker,
    layers: frozenset[int],
) -> None:
    """A prefill and one decode step of the sampled ``layers``, without NVTX: first-call work
    (cuBLAS/cuDNN plans, lazy module loading) happens here, outside every range ncu profiles."""
    with mark.off():
        model.step(prompt, 0, 0, mark, ids_buf, layers, only_sampled=True)
        if output_len > 1:
            model.step(ids_buf, input_len, 0, mark, ids_buf, layers, only_sampled=True)
        torch.cuda.synchronize()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m rooflens.capture.workload", description=__doc__)
    ap.add_argument("--shape", required=True, help="JSON file with a DecoderShape")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--input-len", type=int, default=128)
    ap.add_argument("--output-len", type=int, default=1)
    ap.add_argument("--layers", type=int, default=1)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--dtype", choices=sorted(_DTYPES), default="fp16")
    ap.add_argument("--cuda-graph", action="store_true")
    ap.add_argument("--torch-profile", default=None, help="write a Kineto JSON trace here")
    ap.add_argument("--summary", default=None, help="write a JSON summary here")
    ap.add_argument(
        "--ncu-check",
        action="store_true",
        help="also mark layer 1 and decode step 2 for ncu (to check counter propagation)",
    )
    ap.add_argument(
        "--sample-only",
        action="store_true",
        help="the ncu pass: launch only the sampled steps and layers of the last run",
    )
    a = ap.parse_args(argv)
    with open(a.shape, encoding="utf-8") as f:
        shape = DecoderShape.from_dict(json.load(f))
    summary = run_workload(
        shape,
        batch=a.batch,
        input_len=a.input_len,
        output_len=a.output_len,
        layers=a.layers,
        runs=a.runs,
        dtype=a.dtype,
        cuda_graph=a.cuda_graph,
        torch_profile=a.torch_profile,
        ncu_check=a.ncu_check,
        sample_only=a.sample_only,
    )
    if summary["tp"] > 1:
        dist.destroy_process_group()
    text = json.dumps(summary, indent=2)
    if summary["rank"] != 0:
        return  # rank 0 speaks for all
    if a.summary:
        with open(a.summary, "w", encoding="utf-8") as f:
            f.write(text)
    else:
        print(text, file=sys.stderr)


if __name__ == "__main__":
    main()
