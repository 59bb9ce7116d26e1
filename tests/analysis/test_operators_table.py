"""The kernel-name table (analysis/kernel_names.toml) against real kernel names.

Names are copied from the committed captures (PyTorch eager, cuBLAS nvjet, cuDNN SDPA) and, as
literals, from the libraries' sources (the ``__global__`` / Triton kernel names and the demangled
form nsys shows for them).  Every table entry must be hit by at least one of them, and every name
must land in the class written next to it by hand.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from rooflens.analysis.operators import classify_kernel, lookup, table

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"

# (kernel name, expected class, expected named operator or None)
LIBRARY_NAMES: list[tuple[str, str, str | None]] = [
    # FlashAttention 2 (flash-attention csrc/flash_attn/src/flash_fwd_launch_template.h) and the
    # copy bundled in PyTorch (namespace pytorch_flash)
    (
        "void flash::flash_fwd_kernel<Flash_fwd_kernel_traits<128, 128, 64, 4, false, false, cutlass::half_t, Flash_kernel_traits<128, 128, 64, 4, cutlass::half_t>>, false, true, false, false, false, true, false, false>(flash::Flash_fwd_params)",
        "attention",
        "attention",
    ),
    (
        "void pytorch_flash::flash_fwd_splitkv_kernel<pytorch_flash::Flash_fwd_kernel_traits<128, 64, 128, 4, false, false, cutlass::half_t>, false, false, false, false, true, false, false, false>(pytorch_flash::Flash_fwd_params)",
        "attention",
        "attention",
    ),
    (
        "void pytorch_flash::flash_fwd_splitkv_combine_kernel<pytorch_flash::Flash_fwd_kernel_traits<128, 64, 128, 4, false, false, cutlass::half_t>, 4, 3, true>(pytorch_flash::Flash_fwd_params)",
        "attention",
        "attention",
    ),
    # FlashAttention 3 (hopper/flash_fwd_launch_template.h)
    (
        "void cutlass::device_kernel<flash::enable_sm90_or_later<flash::FlashAttnFwdSm90<flash::CollectiveMainloopFwdSm90<2, cute::tuple<cute::C<1>, cute::C<1>, cute::C<1>>, cute::tuple<cute::C<128>, cute::C<176>, cute::C<128>>, 128, cutlass::half_t, float, cutlass::arch::Sm90, true>>>>(T1::Params)",
        "attention",
        "attention",
    ),
    (
        "void cutlass::device_kernel<flash::enable_sm90_or_later<flash::FlashAttnFwdCombine<cute::tuple<cute::C<8>, cute::C<128>>, 7, 256, 1, false, true, cutlass::half_t, float, cutlass::arch::Sm90>>>(T1::Params)",
        "attention",
        "attention",
    ),
    (
        "flash::prepare_varlen_num_blocks_kernel(int, int, int, const int *, cutlass::FastDivmod, int *, int *, bool)",
        "attention",
        "attention",
    ),
    # PyTorch SDPA memory-efficient (xformers cutlass kernel)
    (
        "fmha_cutlassF_f16_aligned_64x64_rf_sm80(PyTorchMemEffAttention::AttentionKernel<cutlass::half_t, cutlass::arch::Sm80, true, 64, 64, 64, true, true>::Params)",
        "attention",
        "attention",
    ),
    # FlashInfer (include/flashinfer/*.cuh)
    (
        "void flashinfer::BatchPrefillWithPagedKVCacheKernel<flashinfer::KernelTraits<(flashinfer::MaskMode)1, 128, 1, 4, 8, 8, 4, 1, flashinfer::PosEncodingMode::kNone, __half, __half, __half, float, int, flashinfer::DefaultAttention<false, false, false, false>>, flashinfer::BatchPrefillPagedParams<__half, __half, __half, int>>(T2)",
        "attention",
        "attention",
    ),
    (
        "void flashinfer::BatchPrefillWithRaggedKVCacheKernel<flashinfer::KernelTraits<(flashinfer::MaskMode)1, 128, 1, 4, 8, 8, 4, 1>>(T2)",
        "attention",
        "attention",
    ),
    (
        "void flashinfer::BatchDecodeWithPagedKVCacheKernel<(flashinfer::PosEncodingMode)0, 2, 4, 8, 16, 1, 8, flashinfer::DefaultAttention<false, false, false, false>, flashinfer::BatchDecodeParams<__half, __half, __half, int>>(T8)",
        "attention",
        "attention",
    ),
    (
        "void flashinfer::SinglePrefillWithKVCacheKernel<flashinfer::KernelTraits<(flashinfer::MaskMode)1, 128, 4, 1, 8, 8, 1, 1>>(T2)",
        "attention",
        "attention",
    ),
    (
        "void flashinfer::SingleDecodeWithKVCacheKernel<(flashinfer::PosEncodingMode)0, 2, 8, 16, 1, 8, flashinfer::DefaultAttention<false, false, false, false>>(T7)",
        "attention",
        "attention",
    ),
    (
        "void flashinfer::MergeStatesKernel<8, 16, 8, 4, __half, __half>(T5 *, float *, unsigned int, unsigned int, T6 *, float *)",
        "attention",
        "attention",
    ),
    (
        "void flashinfer::VariableLengthMergeStatesKernel<8, 16, 8, 4, 4, __half, __half, int>(T6 *, float *, T8 *, T7 *, float *, unsigned int, unsigned int *, unsigned int)",
        "attention",
        "attention",
    ),
    (
        "void flashinfer::norm::RMSNormKernel<(unsigned int)8, __half>(T2 *, T2 *, T2 *, unsigned int, unsigned int, unsigned int, float, float)",
        "norm",
        None,
    ),
    (
        "void flashinfer::norm::FusedAddRMSNormKernel<(unsigned int)8, __half>(T2 *, T2 *, T2 *, unsigned int, unsigned int, unsigned int, float, float)",
        "norm",
        None,
    ),
    (
        "void flashinfer::norm::GemmaRMSNormKernel<8, __nv_bfloat16>(T2 *, T2 *, T2 *, unsigned int, unsigned int, unsigned int, float, float)",
        "norm",
        None,
    ),
    (
        "void flashinfer::BatchQKApplyRotaryPosIdsCosSinCacheHeadParallelismKernel<(bool)0, (unsigned int)128, (unsigned int)8, (unsigned int)16, __half, long>(T5 *, T5 *)",
        "rope",
        "rope",
    ),
    (
        "void flashinfer::BatchQKApplyLlama31RotaryPosIdsKernel<false, 128, 8, 16, __half, int>(T5 *, T5 *, T5 *, T5 *, T6 *, unsigned int, unsigned int, unsigned int)",
        "rope",
        "rope",
    ),
    (
        "void flashinfer::activation::act_and_mul_kernel<__half, &silu<float>>(T1 *, const T1 *, int)",
        "act",
        "act",
    ),
    (
        "void flashinfer::sampling::TopKTopPSamplingFromProbKernel<1024, (cub::BlockScanAlgorithm)2, (cub::BlockReduceAlgorithm)2, 4, false, float, int>(T6 *, T7 *, T7 *, T6 *, T7 *, T6 *, float, unsigned long, unsigned long)",
        "sampling",
        "sampling",
    ),
    (
        "void flashinfer::sampling::SamplingFromProbKernel<1024, (cub::BlockScanAlgorithm)2, (cub::BlockReduceAlgorithm)2, 4, false, float, int>(T6 *, T7 *, T7 *, unsigned int, bool, unsigned long, unsigned long)",
        "sampling",
        "sampling",
    ),
    (
        "void flashinfer::AppendPagedKVCacheKernel<128, 8, __half, int>(flashinfer::paged_kv_t<T3, T4>, T3 *, T3 *, T4 *, T4 *, unsigned int, unsigned long, unsigned long, unsigned long, unsigned long)",
        "kv_cache_write",
        "kv_cache_write",
    ),
    # vLLM custom ops (csrc/layernorm_kernels.cu, pos_encoding_kernels.cu, activation_kernels.cu,
    # cache_kernels.cu, attention/paged_attention_v*.cu, moe/*.cu, custom_all_reduce.cuh, quantization)
    (
        "void vllm::rms_norm_kernel<c10::BFloat16>(c10::BFloat16 *, const c10::BFloat16 *, const c10::BFloat16 *, float, int, int)",
        "norm",
        None,
    ),
    (
        "void vllm::fused_add_rms_norm_kernel<c10::BFloat16, 8>(c10::BFloat16 *, c10::BFloat16 *, const c10::BFloat16 *, float, int, int)",
        "norm",
        None,
    ),
    (
        "void vllm::rotary_embedding_kernel<c10::BFloat16, true>(const long *, c10::BFloat16 *, c10::BFloat16 *, const c10::BFloat16 *, int, long, long, int, int, int)",
        "rope",
        "rope",
    ),
    (
        "void vllm::act_and_mul_kernel<c10::BFloat16, &vllm::silu_kernel<c10::BFloat16>, true>(c10::BFloat16 *, const c10::BFloat16 *, int)",
        "act",
        "act",
    ),
    (
        "void vllm::reshape_and_cache_kernel<__half, __half, (vllm::Fp8KVCacheDataType)0>(const T1 *, const T1 *, T2 *, T2 *, const long *, int, int, int, int, int, int, const float *, const float *)",
        "kv_cache_write",
        "kv_cache_write",
    ),
    (
        "void vllm::reshape_and_cache_flash_kernel<__half, __half, (vllm::Fp8KVCacheDataType)0>",
        "kv_cache_write",
        "kv_cache_write",
    ),
    (
        "void vllm::paged_attention_v1_kernel<unsigned short, unsigned short, 128, 16, 128, (vllm::Fp8KVCacheDataType)0, false>(T1 *, const T1 *, const T2 *, const T2 *, int, float, const int *, const int *, int, const float *, int, int, int, const float *, const float *)",
        "attention",
        "attention",
    ),
    (
        "void vllm::paged_attention_v2_kernel<unsigned short, unsigned short, 128, 16, 128, (vllm::Fp8KVCacheDataType)0, false, 512>",
        "attention",
        "attention",
    ),
    (
        "void vllm::paged_attention_v2_reduce_kernel<unsigned short, 128, 128, 512>(T1 *, const float *, const float *, const T1 *, const int *, int)",
        "attention",
        "attention",
    ),
    (
        "void vllm::moe::topkGatingSoftmax<8, 128, 4, 16, int>(const float *, const bool *, float *, int, T5 *, int *, int, int, int)",
        "router",
        "router",
    ),
    (
        "void vllm::moe::moe_align_block_size_kernel<int>(const T1 *, int *, int *, int *, int, int, int, int, unsigned long, int *, int)",
        "experts",
        "experts",
    ),
    (
        "void vllm::moe::moe_sum_kernel<c10::BFloat16, 8>(T1 *, const T1 *, int)",
        "experts",
        "experts",
    ),
    (
        "void vllm::cross_device_reduce_1stage<__nv_bfloat16, 8>(vllm::RankData *, vllm::RankSignals, vllm::Signal *, T1 *, int, int)",
        "all_reduce",
        "all_reduce",
    ),
    (
        "void vllm::dynamic_per_token_scaled_fp8_quant_kernel<c10::BFloat16, c10::Float8_e4m3fn>(T2 *, float *, const T1 *, const float *, int)",
        "quant",
        None,
    ),
    # Triton fused MoE (vLLM/SGLang fused_moe.py) and SGLang sgl-kernel / Triton attention
    ("fused_moe_kernel", "experts", "experts"),
    (
        "void moe_align_block_size_kernel<int>(int *, int *, int *, int *, int, int, int, unsigned long)",
        "experts",
        "experts",
    ),
    (
        "void moe_fused_gate_kernel<float, 8, 256, 32>(void *, void *, float *, int *, long, long, long, long, long, double)",
        "router",
        "router",
    ),
    (
        "void per_token_group_quant_8bit_kernel<__nv_bfloat16, c10::Float8_e4m3fn, false>(const T1 *, void *, float *, int, int, int, float, float, float)",
        "quant",
        None,
    ),
    ("_fwd_grouped_kernel_stage1", "attention", "attention"),
    ("_fwd_kernel_stage2", "attention", "attention"),
    # TensorRT-LLM (cpp/tensorrt_llm/kernels)
    (
        "void tensorrt_llm::kernels::mmha::masked_multihead_attention_kernel<unsigned short, unsigned short, tensorrt_llm::kernels::KVLinearBuffer, tensorrt_llm::kernels::Multihead_attention_params<unsigned short, false>, 128, 128, 256, false, false, false, false, true, false, false, false, 0>",
        "attention",
        "attention",
    ),
    ("kernel_mha", "attention", "attention"),
    ("fmha_v2_flash_attention_fp16_64_128_S_qkv_128_causal_sm90_kernel", "attention", "attention"),
    (
        "void tensorrt_llm::kernels::generalRmsNorm<__half, float, __half, false>(const T1 *, const T1 *, const T1 *, T3 *, float, int, int, const float *, float *, float *, T1 *, bool)",
        "norm",
        None,
    ),
    (
        "void tensorrt_llm::kernels::applyBiasRopeUpdateKVCache<__half, __half, 128, true, tensorrt_llm::kernels::KVBlockArray, (tensorrt_llm::kernels::PositionEmbeddingType)4>(tensorrt_llm::kernels::QKVPreprocessingParams<T1, T6>)",
        "rope",
        "rope",
    ),
    (
        "void tensorrt_llm::kernels::doGatedActivationKernel<__half, __half, tensorrt_llm::kernels::SiluFunctor>(T1 *, const T2 *, const long *, long, tensorrt_llm::ActivationType)",
        "act",
        "act",
    ),
    (
        "void tensorrt_llm::kernels::finalizeMoeRoutingKernel<__half, __half, __half>(const T2 *, T1 *, const T1 *, const float *, const int *, const int *, long, long, const long *)",
        "experts",
        "experts",
    ),
    (
        "void tensorrt_llm::kernels::ar_fusion::allreduce_fusion_kernel_oneshot_lamport<(tensorrt_llm::kernels::ar_fusion::AllReduceFusionPattern)1, __nv_bfloat16, 8, true>",
        "all_reduce",
        "all_reduce",
    ),
    (
        "void tensorrt_llm::kernels::fusedQKNormRopeKernel<__nv_bfloat16, 128, true>(T1 *, int, int, int, float, const T1 *, const T1 *, float, const int *, int)",
        "norm",
        "qk_norm",
    ),
    # cuBLAS / cuBLASLt / CUTLASS (FP16, BF16, FP8)
    ("ampere_fp16_s16816gemm_fp16_128x128_ldg8_f2f_stages_32x5_tn", "gemm", None),
    (
        "sm90_xmma_gemm_f16f16_f16f32_f32_tn_n_tilesize128x128x64_warpgroupsize1x1x1_execute_segment_k_off_kernel__5x_cublas",
        "gemm",
        None,
    ),
    (
        "sm90_xmma_gemm_e4m3e4m3_e4m3f32_f32_tn_n_tilesize128x128x128_warpgroupsize1x1x1_execute_segment_k_off_kernel__5x_cublas",
        "gemm",
        None,
    ),
    ("nvjet_tst_128x256_64x4_1x2_h_bz_coopB_NNT", "gemm", None),
    (
        "void gemv2T_kernel_val<int, int, __half, __half, float, float, 128, 16, 4, 4, false, false, cublasGemvParamsEx<int, cublasGemvTensorStridedBatched<const __half>, cublasGemvTensorStridedBatched<const __half>, cublasGemvTensorStridedBatched<__half>, float>>(T13, T6, T6)",
        "gemm",
        None,
    ),
    (
        "void cutlass::Kernel2<cutlass_80_tensorop_f16_s16816gemm_relu_f16_256x128_32x3_nn_align8>(T1::Params)",
        "gemm",
        None,
    ),
    (
        "void cutlass::device_kernel<vllm::enable_sm90_or_later<cutlass::gemm::kernel::GemmUniversal<cute::tuple<int, int, int, int>, cutlass::gemm::collective::CollectiveMma<cutlass::gemm::MainloopSm90TmaGmmaWarpSpecializedFP8<5, cute::tuple<cute::C<2>, cute::C<1>, cute::C<1>>>>>>>(T1::Params)",
        "gemm",
        None,
    ),
    (
        "void cublasLt::splitKreduce_kernel<(int)32, (int)16, int, float, __half, float, __half, (bool)0, float, __half, __half, (bool)1, (bool)0, (bool)0, (bool)0>(cublasLt::cublasSplitKParams<T6>, const T4 *, const T5 *, T5 *, const T1 *, const T1 *, const T7 *, const T4 *, T7 *, void *, long, T1 *, int *, T1 *, T1 *, const T1 *, const T1 *, const T1 *, const T1 *, const T1 *)",
        "gemm_aux",
        None,
    ),
    # NCCL
    (
        "ncclDevKernel_AllReduce_Sum_bf16_RING_LL(ncclDevKernelArgsStorage<4096UL>)",
        "all_reduce",
        "all_reduce",
    ),
    (
        "ncclKernel_AllReduce_RING_LL_Sum_half(ncclDevComm *, unsigned long, ncclWork *)",
        "all_reduce",
        "all_reduce",
    ),
    # PyTorch eager (aten/src/ATen/native/cuda)
    (
        "void at::native::vectorized_elementwise_kernel<(int)4, at::native::CUDAFunctor_add<float>, std::array<char *, (unsigned long)3>>(int, T2, T3)",
        "residual",
        None,
    ),
    (
        "void at::native::elementwise_kernel<(int)128, (int)4, void at::native::gpu_kernel_impl_nocast<at::native::<unnamed>::pow_tensor_scalar_kernel_impl<float, float>(at::TensorIteratorBase &, T2)::[lambda(float) (instance 2)]>(at::TensorIteratorBase &, const T1 &)::[lambda(int) (instance 1)]>(int, T3)",
        "elementwise",
        None,
    ),
    (
        "void at::native::vectorized_elementwise_kernel<(int)4, at::native::rsqrt_kernel_cuda(at::TensorIteratorBase &)::[lambda() (instance 2)]::operator ()() const::[lambda() (instance 2)]::operator ()() const::[lambda(float) (instance 1)], std::array<char *, (unsigned long)2>>(int, T2, T3)",
        "elementwise",
        None,
    ),
    (
        "void at::native::reduce_kernel<(int)512, (int)1, at::native::ReduceOp<float, at::native::MeanOps<float, float, float, float>, unsigned int, float, (int)4, (int)4>>(T3)",
        "reduce",
        None,
    ),
    (
        "void at::native::<unnamed>::cunn_SoftMaxForward<(int)4, float, float, float, at::native::<unnamed>::SoftMaxForwardEpilogue>(T4 *, const T2 *, int)",
        "reduce",
        None,
    ),
    (
        "void at::native::sbtopk::gatherTopK<float, unsigned int, (int)2, (bool)0>(at::cuda::detail::TensorInfo<const T1, T2>, T2, T2, bool, T2, T2, at::cuda::detail::TensorInfo<T1, T2>, T2, at::cuda::detail::TensorInfo<long, T2>, T2, T1 *)",
        "reduce",
        None,
    ),
    (
        "void at::native::<unnamed>::indexSelectLargeIndex<c10::Half, long, unsigned int, (int)2, (int)2, (int)-2, (bool)1>(at::cuda::detail::TensorInfo<T1, T3>, at::cuda::detail::TensorInfo<const T1, T3>, at::cuda::detail::TensorInfo<const T2, T3>, int, int, T3, T3, long)",
        "embedding",
        None,
    ),
    (
        "void at::native::<unnamed>::indexFuncLargeIndex<c10::Half, long, unsigned int, (int)2, (int)2, (int)-2, (bool)1, at::native::ReduceAdd>",
        "elementwise",
        None,
    ),
    (
        "void at_cuda_detail::cub::DeviceScanKernel<at_cuda_detail::cub::DeviceScanPolicy<long, std::plus<long>>::Policy900, const long *, long *>",
        "reduce",
        None,
    ),
    (
        "void at::native::vectorized_elementwise_kernel<(int)4, at::native::<unnamed>::where_kernel_impl(at::TensorIterator &)::[lambda() (instance 1)]::operator ()() const::[lambda() (instance 12)]::operator ()() const::[lambda(bool, long, long) (instance 1)], std::array<char *, (unsigned long)4>>(int, T2, T3)",
        "elementwise",
        None,
    ),
    ("triton_poi_fused_mul_silu_0", "act", "act"),
    ("triton_red_fused__to_copy_add_mean_mul_pow_rsqrt_0", "norm", None),
    ("triton_poi_fused_mul_add_0", "elementwise", None),
    # Inductor kernels of Hugging Face generate() with a static cache (tests/fixtures/h200_hf_llama_static)
    ("triton_poi_fused_add_cat_mul_neg_slice_unsqueeze_0", "rope", "rope"),
    ("triton_poi_fused__to_copy_cat_cos_mul_sin_transpose_1", "rope", "rope"),
    ("triton_poi_fused__unsafe_view_add_2", "residual", None),
    ("triton_poi_fused_add_0", "residual", None),
    (
        "void at::native::reduce_kernel<(int)512, (int)1, at::native::ReduceOp<float, at::native::func_wrapper_t<float, at::native::sum_functor<float, float, float>::operator ()(at::TensorIterator &)::[lambda(float, float) (instance 1)]>, unsigned int, float, (int)4, (int)4>>(T3)",
        "reduce",
        None,
    ),
    (
        "void at::native::elementwise_kernel<(int)128, (int)2, void at::native::gpu_kernel_impl_nocast<at::native::floor_kernel_cuda(at::TensorIteratorBase &)::[lambda() (instance 1)]>(at::TensorIteratorBase &, const T1 &)::[lambda(int) (instance 1)]>(int, T3)",
        "elementwise",
        None,
    ),
]


def _fixture_names() -> list[str]:
    out: set[str] = set()
    for db in sorted(FIXTURES.glob("h200_*/timeline.sqlite")):
        con = sqlite3.connect(db)
        rows = con.execute(
            "SELECT DISTINCT s.value FROM CUPTI_ACTIVITY_KIND_KERNEL k JOIN StringIds s ON s.id = k.demangledName"
        )
        out.update(r[0] for r in rows)
        con.close()
    return sorted(out)


# Fixture kernels (PyTorch eager + cuBLAS + cuDNN on the H200) with the class a reader gives by hand.
FIXTURE_CLASSES = {
    "cudnn_generated_fort_native_sdpa": "attention",
    "nvjet_sm90": "gemm",
    "splitKreduce_kernel": "gemm_aux",
    "arange_cuda_out": "elementwise",
    "CatArrayBatchedCopy": "copy",
    "normal_and_transform": "init",
    "random_from_to_kernel": "init",
    "indexSelectSmallIndex": "embedding",
    "vectorized_layer_norm_kernel": "norm",
    "MulFunctor": "elementwise",
    "pow_tensor_tensor_kernel": "elementwise",
    "silu_kernel": "act",
    "CUDAFunctor_add": "residual",
    "direct_copy_kernel_cuda": "copy",
    "neg_kernel_cuda": "elementwise",
    "ArgMaxOps": "sampling",
    "FillFunctor": "init",
    "cos_kernel_cuda": "elementwise",
    "sin_kernel_cuda": "elementwise",
    "reciprocal_kernel_cuda": "elementwise",
    "float16_copy_kernel_cuda": "copy",
    "vectorized_gather_kernel": "elementwise",
}


@pytest.mark.parametrize(("name", "cls", "operator"), LIBRARY_NAMES)
def test_library_names(name: str, cls: str, operator: str | None) -> None:
    e = lookup(name)
    assert (e.cls, e.operator) == (cls, operator)


def test_every_fixture_kernel_has_its_hand_class() -> None:
    names = _fixture_names()
    assert len(names) >= 40
    for name in names:
        keys = [k for k in FIXTURE_CLASSES if k in name]
        assert keys, f"no hand class for {name[:90]}"
        assert lookup(name).cls == FIXTURE_CLASSES[keys[0]], name[:120]


def test_every_table_entry_is_hit_by_a_real_name() -> None:
    names = [n for n, _, _ in LIBRARY_NAMES] + _fixture_names()
    hit = {id(lookup(n)) for n in names}
    missing = [e.pattern.pattern for e in table() if id(e) not in hit]
    assert not missing


def test_coarse_classes_for_older_callers() -> None:
    # index_put_ writes SGLang's KV pool; silu is the activation; a split-K reduce is GEMM work.
    assert (
        classify_kernel(
            "void at::native::index_elementwise_kernel<128, 4, at::native::gpu_index_kernel<at::native::index_put_kernel_impl<at::native::OpaqueType<2>>>>"
        )
        == "kv_cache_write"
    )
    assert (
        classify_kernel(
            "void at::native::vectorized_elementwise_kernel<8, at::native::<unnamed>::silu_kernel>"
        )
        == "act"
    )
    assert (
        classify_kernel("void cublasLt::splitKreduce_kernel<32, 16, int, float, __half>") == "gemm"
    )
    assert classify_kernel("something_unknown") == "other"


def test_operator_names_come_from_the_vocabulary() -> None:
    from rooflens.vocab import OPERATOR_CLASSES

    named = {e.operator for e in table() if e.operator}
    assert named <= set(OPERATOR_CLASSES), named - set(OPERATOR_CLASSES)


def test_patterns_survive_lower_casing() -> None:
    # lookup() lower-cases patterns and names: an upper-case escape (\W, \D, \S, \B) would change meaning.
    import re

    assert not [e.pattern.pattern for e in table() if re.search(r"\\[WDSBAZ]", e.pattern.pattern)]
    raw = (
        Path(__file__).resolve().parents[2] / "src/rooflens/analysis/kernel_names.toml"
    ).read_text()
    assert not re.search(r"\\\\[WDSBAZ]", raw)
