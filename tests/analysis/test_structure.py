"""Structure inference on synthetic kernel streams: a Hugging Face ``generate()`` shape (decomposed
RMSNorm, separate q/k/v and gate/up GEMMs, rotary tables per step, a Python expert loop) and the
edge cases (no attention kernels, one run, a capture cut mid-run).

Every stream is written out by hand below, kernel by kernel, with the operator each kernel is;
the expectations are those hand labels.
"""

from __future__ import annotations

import numpy as np
import pytest

from rooflens.analysis.structure import infer_structure

# PyTorch eager / cuBLAS / PyTorch-flash kernel names (the demangled forms, shortened).
EMB = "void at::native::<unnamed>::indexSelectSmallIndex<c10::Half, long, unsigned int, 2, 2, -2>"
ARANGE_F = "void at::native::vectorized_elementwise_kernel<4, at::native::float_copy_kernel_cuda>"
GEMM32 = "sm90_xmma_gemm_f32f32_tf32f32_f32_nn_n_tilesize64x32x32_cublas"
CAT = "void at::native::<unnamed>::CatArrayBatchedCopy<at::native::<unnamed>::OpaqueType<2u>, unsigned int, 4, 64, 64>"
COS = "void at::native::vectorized_elementwise_kernel<4, at::native::cos_kernel_cuda>"
SIN = "void at::native::vectorized_elementwise_kernel<4, at::native::sin_kernel_cuda>"
MUL = "void at::native::vectorized_elementwise_kernel<4, at::native::AUnaryFunctor<float, float, float, at::native::binary_internal::MulFunctor<float>>>"
MULH = "void at::native::vectorized_elementwise_kernel<8, at::native::BinaryFunctor<c10::Half, c10::Half, c10::Half, at::native::binary_internal::MulFunctor<float>>>"
TOHALF = "void at::native::vectorized_elementwise_kernel<4, at::native::float16_copy_kernel_cuda>"
TOFLOAT = "void at::native::vectorized_elementwise_kernel<4, at::native::direct_copy_kernel_cuda>"
POW = "void at::native::vectorized_elementwise_kernel<4, at::native::<unnamed>::pow_tensor_scalar_kernel_impl<float, float>>"
MEAN = "void at::native::reduce_kernel<512, 1, at::native::ReduceOp<float, at::native::MeanOps<float, float, float, float>, unsigned int, float, 4, 4>>"
ADDF = "void at::native::vectorized_elementwise_kernel<4, at::native::AUnaryFunctor<float, float, float, at::native::CUDAFunctor_add<float>>>"
RSQRT = "void at::native::vectorized_elementwise_kernel<4, at::native::rsqrt_kernel_cuda>"
ADDH = "void at::native::vectorized_elementwise_kernel<8, at::native::CUDAFunctor_add<c10::Half>>"
NEG = "void at::native::vectorized_elementwise_kernel<8, at::native::neg_kernel_cuda>"
ATT = "void pytorch_flash::flash_fwd_splitkv_kernel<pytorch_flash::Flash_fwd_kernel_traits<128, 64, 128, 4, false, false, cutlass::half_t>>"
COMBINE = "void pytorch_flash::flash_fwd_splitkv_combine_kernel<pytorch_flash::Flash_fwd_kernel_traits<128, 64, 128, 4>>"
CONTIG = "void at::native::elementwise_kernel<128, 4, at::native::gpu_kernel_impl_nocast<at::native::direct_copy_kernel_cuda>>"
SILU = "void at::native::vectorized_elementwise_kernel<8, at::native::<unnamed>::silu_kernel>"
ARGMAX = "void at::native::reduce_kernel<512, 1, at::native::ReduceOp<float, at::native::ArgMaxOps<float>, unsigned int, long, 4, 4>>"
FILL = "void at::native::vectorized_elementwise_kernel<4, at::native::FillFunctor<long>>"
RNG = "void at::native::<unnamed>::distribution_elementwise_grid_stride_kernel<float, 4, at::native::templates::cuda::normal_and_transform<c10::Half, float>>"
SOFTMAX = "void at::native::<unnamed>::cunn_SoftMaxForward<4, float, float, float, at::native::<unnamed>::SoftMaxForwardEpilogue>"
TOPK = "void at::native::sbtopk::gatherTopK<float, unsigned int, 2, false>"
INDEX = "void at::native::index_elementwise_kernel<128, 4, at::native::gpu_index_kernel<at::native::index_kernel_impl<at::native::OpaqueType<2>>>>"
INDEX_ADD = "void at::native::<unnamed>::indexFuncLargeIndex<c10::Half, long, unsigned int, 2, 2, -2, true, at::native::ReduceAdd>"


def gemm(tag: str) -> str:
    """A distinct cuBLAS kernel per weight shape (the tile differs), as in real captures."""
    return f"nvjet_sm90_hsh_{tag}_v_bz_TNT"


NORM = [
    (TOFLOAT, "n"),
    (POW, "n"),
    (MEAN, "n"),
    (ADDF, "n"),
    (RSQRT, "n"),
    (MUL, "n"),
    (TOHALF, "n"),
    (MULH, "n"),
]


def _norm(op: str) -> list[tuple[str, str]]:
    return [(k, op) for k, _ in NORM]


def _rope() -> list[tuple[str, str]]:
    one = [(MULH, "rope"), (NEG, "rope"), (CAT, "rope"), (MULH, "rope"), (ADDH, "rope")]
    return one + one


def _dense_mlp() -> list[tuple[str, str]]:
    return [
        (gemm("gate"), "gate_proj"),
        (SILU, "act"),
        (gemm("gate"), "up_proj"),
        (MULH, "act"),
        (gemm("down"), "down_proj"),
    ]


def _moe_mlp(experts: int) -> list[tuple[str, str]]:
    out = [(gemm("router"), "router"), (SOFTMAX, "router"), (TOPK, "router"), (FILL, "experts")]
    for _ in range(experts):
        out += [(INDEX, "experts"), (gemm("eg"), "experts"), (SILU, "experts"), (gemm("eu"), "experts"),
                (MULH, "experts"), (gemm("ed"), "experts"), (MULH, "experts"), (INDEX_ADD, "experts")]  # fmt: skip
    return out


def _layer(decode: bool, mlp: list[tuple[str, str]]) -> list[tuple[str, str]]:
    kv = [(CAT, "kv_cache_write"), (CAT, "kv_cache_write")] if decode else []
    att = (
        [(ATT, "attention"), (COMBINE, "attention")]
        if decode
        else [(ATT.replace("splitkv_", ""), "attention")]
    )
    return (
        _norm("attn_norm") + [(gemm("q"), "q_proj"), (gemm("kv"), "k_proj"), (gemm("kv"), "v_proj")]
        + _rope() + kv + att + [(CONTIG, "attention"), (gemm("q"), "o_proj"), (ADDH, "attn_residual")]
        + _norm("mlp_norm") + mlp + [(ADDH, "mlp_residual")]
    )  # fmt: skip


def _step(layers: int, decode: bool, moe: bool, k: int) -> list[tuple[str, str, int | None]]:
    prefix = [(EMB, "embedding"), (ARANGE_F, "rope"), (GEMM32, "rope"), (CAT, "rope"), (COS, "rope"),
              (MUL, "rope"), (SIN, "rope"), (MUL, "rope"), (TOHALF, "rope"), (TOHALF, "rope")]  # fmt: skip
    out: list[tuple[str, str, int | None]] = [(n, o, None) for n, o in prefix]
    for i in range(layers):
        mlp = _moe_mlp(2 + (i + k) % 3) if moe else _dense_mlp()
        out += [(n, o, i) for n, o in _layer(decode, mlp)]
    tail = _norm("final_norm") + [(gemm("lm"), "lm_head"), (TOFLOAT, "sampling"), (ARGMAX, "sampling"),
                                  (MULH, "sampling"), (CAT, "sampling"), (FILL, "sampling")]  # fmt: skip
    return out + [(n, o, None) for n, o in tail]


def _stream(runs: int, steps: int, layers: int = 2, moe: bool = False, cut: int = 0):  # type: ignore[no-untyped-def]
    rows: list[tuple[str, str | None, int | None, int, str | None, int]] = []
    for _ in range(40):  # weight initialisation
        rows.append((RNG, None, None, -1, None, 1024))
    for r in range(runs):
        for s in range(steps):
            phase = "prefill" if s == 0 else f"decode[{s}]"
            for n, o, layer in _step(layers, s > 0, moe, s):
                rows.append((n, o, layer, r, phase, 1024 if s == 0 else 4))
    if cut:
        rows = rows[:-cut]
    names = sorted({r[0] for r in rows})
    ids = np.array([names.index(r[0]) for r in rows])
    grid = np.array([[r[5], 1, 1] for r in rows])
    t = np.arange(len(rows)) * 1e-5
    return names, ids, grid, t, rows


def _check(s, rows, run: int) -> None:  # type: ignore[no-untyped-def]
    for i, (name, op, layer, r, phase, _) in enumerate(rows):
        if r != run:
            continue
        assert s.run[i] == run, (i, name)
        assert s.phase[i] == phase, (i, name)
        want = {"n": None}.get(op, op)
        assert s.operator[i] == want, (i, name[:60], s.operator[i], want)
        assert (s.layer[i] if s.layer[i] >= 0 else None) == layer, (i, name[:60])


def test_hf_dense_two_layers_two_runs() -> None:
    names, ids, grid, t, rows = _stream(runs=2, steps=5)
    s = infer_structure(ids, names, t, t + 5e-6, grid)
    assert s.layer_count == 2 and len(s.runs) == 2 and s.chosen == 1
    assert [st.phase for st in s.runs[1].steps] == [
        "prefill",
        "decode[1]",
        "decode[2]",
        "decode[3]",
        "decode[4]",
    ]
    assert s.setup_kernels == 40 and (s.run[:40] == -1).all()
    _check(s, rows, 1)
    _check(s, rows, 0)
    ev = {s.evidence[i] for i, r in enumerate(rows) if r[0].startswith("nvjet")}
    assert ev == {"name+position"}
    assert s.evidence[rows.index(next(r for r in rows if r[0] == NEG))] == "position"


def test_hf_moe_expert_loop() -> None:
    names, ids, grid, t, rows = _stream(runs=2, steps=4, moe=True)
    s = infer_structure(ids, names, t, t + 5e-6, grid)
    assert s.layer_count == 2 and s.chosen == 1 and len(s.runs[1].steps) == 4
    _check(s, rows, 1)


def test_cut_capture_chooses_the_last_complete_run() -> None:
    # 200 kernels cut: the last run keeps its prefill and part of its decode steps.
    names, ids, grid, t, rows = _stream(runs=3, steps=4, cut=200)
    s = infer_structure(ids, names, t, t + 5e-6, grid)
    assert len(s.runs) == 3 and [len(r.steps) for r in s.runs][:2] == [4, 4]
    assert len(s.runs[2].steps) < 4
    assert s.chosen == 1
    _check(s, rows, 1)


def test_one_layer_one_step_runs() -> None:
    names, ids, grid, t, rows = _stream(runs=3, steps=1, layers=1)
    s = infer_structure(ids, names, t, t + 5e-6, grid)
    assert [len(r.steps) for r in s.runs] == [1, 1, 1] and s.chosen == 2
    _check(s, rows, 2)


def test_no_attention_and_empty() -> None:
    names = [RNG, FILL]
    ids = np.array([0, 1, 0, 1])
    s = infer_structure(ids, names, np.zeros(4), np.ones(4), np.ones((4, 3), dtype=np.int64))
    assert s.chosen is None and s.runs == [] and (s.run == -1).all() and s.notes
    e = infer_structure(
        np.zeros(0, np.int64), [], np.zeros(0), np.zeros(0), np.zeros((0, 3), np.int64)
    )
    assert e.chosen is None and e.run.size == 0


# vLLM-style stream: fused kernels (names from vLLM's csrc and vllm_flash_attn), residual fused
# into the next norm, one fused QKV and one gate_up GEMM per layer.
V_RMS = "void vllm::rms_norm_kernel<c10::BFloat16>(c10::BFloat16 *, const c10::BFloat16 *, const c10::BFloat16 *, float, int, int)"
V_ADD_RMS = "void vllm::fused_add_rms_norm_kernel<c10::BFloat16, 8>(c10::BFloat16 *, c10::BFloat16 *, const c10::BFloat16 *, float, int, int)"
V_ROPE = "void vllm::rotary_embedding_kernel<c10::BFloat16, true>(const long *, c10::BFloat16 *, c10::BFloat16 *, const c10::BFloat16 *, int, long, long, int, int, int)"
V_CACHE = "void vllm::reshape_and_cache_flash_kernel<__nv_bfloat16, __nv_bfloat16, (vllm::Fp8KVCacheDataType)0>"
V_ATT = "void flash::flash_fwd_splitkv_kernel<Flash_fwd_kernel_traits<128, 64, 128, 4, false, false, cutlass::bfloat16_t>, true>"
V_ACT = "void vllm::act_and_mul_kernel<c10::BFloat16, &vllm::silu_kernel<c10::BFloat16>, true>(c10::BFloat16 *, const c10::BFloat16 *, int)"
V_IDX = "void at::native::<unnamed>::indexSelectLargeIndex<c10::BFloat16, long, unsigned int, 2, 2, -2, true>"


V_AR = "void vllm::cross_device_reduce_1stage<__nv_bfloat16, 2>(vllm::RankData *, vllm::RankSignals, vllm::Signal *, __nv_bfloat16 *, int, int)"


def _vllm_step(layers: int, tp: bool) -> list[tuple[str, str, int | None]]:
    """One forward; with ``tp`` the row-parallel o_proj and down_proj end with an all-reduce."""
    ar = [(V_AR, "all_reduce")] if tp else []
    out: list[tuple[str, str, int | None]] = [(V_IDX, "embedding", None)]
    for i in range(layers):
        out += [(n, o, i) for n, o in [
            (V_RMS if i == 0 else V_ADD_RMS, "attn_norm"), (gemm("qkv"), "qkv_proj"), (V_ROPE, "rope"),
            (V_CACHE, "kv_cache_write"), (V_ATT, "attention"), (gemm("o"), "o_proj"), *ar,
            (V_ADD_RMS, "mlp_norm"), (gemm("gu"), "gate_up_proj"), (V_ACT, "act"), (gemm("d"), "down_proj"), *ar,
        ]]  # fmt: skip
    return out + [
        (V_ADD_RMS, "final_norm", None),
        (gemm("lm"), "lm_head", None),
        (ARGMAX, "sampling", None),
    ]


@pytest.mark.parametrize("tp", [False, True])
def test_vllm_fused_kernels(tp: bool) -> None:
    rows: list[tuple[str, str | None, int | None, int, str | None, int]] = []
    for r in range(2):
        for s in range(4):
            phase = "prefill" if s == 0 else f"decode[{s}]"
            rows += [
                (n, o, layer, r, phase, 512 if s == 0 else 8) for n, o, layer in _vllm_step(3, tp)
            ]
    names = sorted({r[0] for r in rows})
    ids = np.array([names.index(r[0]) for r in rows])
    grid = np.array([[r[5], 1, 1] for r in rows])
    t = np.arange(len(rows)) * 1e-5
    s = infer_structure(ids, names, t, t + 5e-6, grid)
    assert s.layer_count == 3 and len(s.runs) == 2 and s.chosen == 1
    _check(s, rows, 1)
    named = {s.evidence[i] for i, r in enumerate(rows) if r[0] in (V_ROPE, V_CACHE, V_ACT)}
    assert named == {"name+position"}


def test_one_device_of_a_tensor_parallel_capture() -> None:
    from rooflens.analysis.inferred_runs import one_device

    device = np.array([0, 1, 0, 1, 0, 1, 1])
    pid = np.array([5, 6, 5, 6, 5, 6, 6])
    order = np.array([10, 11, 12, 13, 14, 15, 16])
    kept, notes = one_device(device, pid, order)
    assert kept.tolist() == [11, 13, 15, 16]  # GPU 1 ran 4 of the 7 kernels
    assert notes == [
        "structure inferred on GPU 1 (process 6): 4 of 7 kernels; the other 1 GPU/process stream(s) are left out"
    ]
    same, none = one_device(np.zeros(3), np.zeros(3), np.arange(3))
    assert same.tolist() == [0, 1, 2] and none == []
