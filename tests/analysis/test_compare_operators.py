"""Kernel name → operator: the seed report's 13 SGLang kernels, by hand, and edge cases."""

from __future__ import annotations

from rooflens.analysis.operators import assign_operators, classify_kernel

# The 13 kernels of docs/spec/seed_report_h800.md (one Llama layer's prefill in SGLang), in launch order.
SEED = [
    (
        "void flashinfer::norm::RMSNormKernel<(unsigned int)8, __half>(T2 *, T2 *, T2 *, unsigned int, unsigned int, unsigned int, float, float)",
        "attn_norm",
    ),
    ("nvjet_hsh_128x256_64x4_2x1_v_bz_coopA_TNN", "qkv_proj"),
    (
        "void flashinfer::BatchQKApplyRotaryPosIdsCosSinCacheHeadParallelismKernel<(bool)0, (unsigned int)128, (unsigned int)8, (unsigned int)16, __half, long>(T5 *, T5 *)",
        "rope",
    ),
    (
        "void at::native::index_elementwise_kernel<(int)128, (int)4, void at::native::gpu_index_kernel<void at::native::index_put_kernel_impl<at::native::OpaqueType<(int)2>>(at::TensorIterator &)>(long, T3)",
        "kv_cache_write",
    ),
    (
        "void at::native::index_elementwise_kernel<(int)128, (int)4, void at::native::gpu_index_kernel<void at::native::index_put_kernel_impl<at::native::OpaqueType<(int)2>>(at::TensorIterator &)>(long, T3)",
        "kv_cache_write",
    ),
    (
        "void at::native::elementwise_kernel<(int)128, (int)4, void at::native::gpu_kernel_impl_nocast<at::native::direct_copy_kernel_cuda(at::TensorIteratorBase &)>(int, T3)",
        "copy",
    ),
    (
        "flash::prepare_varlen_num_blocks_kernel(int, int, int, const int *, cutlass::FastDivmod, int *, int *, bool)",
        "attention",
    ),
    (
        "void cutlass::device_kernel<flash::enable_sm90_or_later<flash::FlashAttnFwdSm90<flash::CollectiveMainloopFwdSm90<(int)2, cutlass::half_t>>>>(T1::Params)",
        "attention",
    ),
    ("nvjet_hsh_128x256_64x4_2x1_v_bz_coopA_TNN", "o_proj"),
    (
        "void flashinfer::norm::FusedAddRMSNormKernel<(unsigned int)8, __half>(T2 *, T2 *, T2 *, unsigned int, unsigned int, unsigned int, float, float)",
        "mlp_norm",
    ),
    ("nvjet_hsh_192x128_64x5_1x2_h_bz_coopB_TNT", "gate_up_proj"),
    (
        "void flashinfer::activation::act_and_mul_kernel<__half, &silu<float>>(T1 *, const T1 *, int)",
        "act",
    ),
    ("nvjet_hsh_128x256_64x4_2x1_v_bz_coopA_TNN", "down_proj"),
]


def test_seed_kernels_map_to_the_predictor_operators() -> None:
    assert assign_operators([n for n, _ in SEED]) == [op for _, op in SEED]


def test_two_layers_without_layer_indices() -> None:
    names = [n for n, _ in SEED] * 2
    assert assign_operators(names) == [op for _, op in SEED] * 2


def test_layer_indices_reset_the_walk() -> None:
    # Layer 1 starts with a GEMM (no norm kernel captured): still qkv_proj, because its layer changed.
    names = [n for n, _ in SEED] + [SEED[1][0]]
    layers: list[int | None] = [0] * len(SEED) + [1]
    assert assign_operators(names, layers)[-1] == "qkv_proj"


def test_trailing_gemm_without_attention_is_lm_head() -> None:
    names = [n for n, _ in SEED] + [SEED[0][0], "sm90_xmma_gemm_f16f16_f16f32"]
    ops = assign_operators(names)
    assert ops[-2:] == ["final_norm", "lm_head"]


def test_classes() -> None:
    assert classify_kernel("ncclDevKernel_AllReduce_Sum_f16_RING_LL") == "all_reduce"
    assert classify_kernel("fmha_cutlassF_f16_aligned_64x64_rf_sm80") == "attention"
    assert classify_kernel("ampere_fp16_s16816gemm_fp16_128x128_ldg8_f2f_stages_32x5_tn") == "gemm"
    assert classify_kernel("void vllm::reshape_and_cache_flash_kernel<__half>") == "kv_cache_write"
    assert classify_kernel("triton_poi_fused_mul_silu_0") == "act"
    assert (
        classify_kernel(
            "void at::native::vectorized_elementwise_kernel<4, at::native::CUDAFunctor_add<c10::Half>>"
        )
        == "residual"
    )
    assert classify_kernel("something_unknown") == "other"
