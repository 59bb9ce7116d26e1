"""A Hugging Face ``generate()`` program as a user would write it: rooflens did not write it and
it has no NVTX of its own.  Random weights (nothing downloaded), two ``generate()`` calls.

    python3 scripts/foreign/hf_generate.py --model llama      # Llama-3-8B shape, 2 layers
    python3 scripts/foreign/hf_generate.py --model qwen3moe   # Qwen3-30B-A3B shape, 2 layers
    ... --truth        # ground truth: NVTX ranges named by every module's full path (M:<path>),
                       # the functions it calls (F:<name>), each forward (STEP) and generate (GENERATE)
    ... --timing 10    # no profiler: wall time of 10 generate() calls (annotation overhead)

The truth hooks are written here, independently of rooflens's table (src/rooflens/capture/
annotate/modules.toml): they name what the program *is* (its module tree), not what rooflens
calls it.  Used by scripts/gpu_foreign.sh; fixtures in tests/fixtures/h200_hf_*.
"""

from __future__ import annotations

import argparse
import functools
import json
import statistics
import sys
import time

import torch
import transformers
from transformers import AutoModelForCausalLM, LlamaConfig, Qwen3MoeConfig


def config(name: str, layers: int) -> transformers.PretrainedConfig:
    """Llama-3-8B or Qwen3-30B-A3B dimensions with ``layers`` decoder layers."""
    if name == "llama":
        return LlamaConfig(
            hidden_size=4096, intermediate_size=14336, num_attention_heads=32,
            num_key_value_heads=8, head_dim=128, num_hidden_layers=layers, vocab_size=128256,
            max_position_embeddings=8192, rope_theta=500000.0, rms_norm_eps=1e-5,
            tie_word_embeddings=False,
        )  # fmt: skip
    return Qwen3MoeConfig(
        hidden_size=2048, intermediate_size=6144, moe_intermediate_size=768,
        num_attention_heads=32, num_key_value_heads=4, head_dim=128, num_hidden_layers=layers,
        num_experts=128, num_experts_per_tok=8, norm_topk_prob=True, vocab_size=151936,
        decoder_sparse_step=1, mlp_only_layers=[], max_position_embeddings=8192,
        tie_word_embeddings=False,
    )  # fmt: skip


def install_truth(model: torch.nn.Module) -> None:
    """NVTX ranges from the program's own structure: module paths, called functions, steps."""
    nvtx = torch.cuda.nvtx
    names = {id(m): p for p, m in model.named_modules()}

    def pre(module: torch.nn.Module, args: object) -> None:
        path = names.get(id(module))
        if path is not None:
            nvtx.range_push(f"M:{path}" if path else "STEP")

    def post(module: torch.nn.Module, args: object, out: object) -> None:
        if id(module) in names:
            nvtx.range_pop()

    torch.nn.modules.module.register_module_forward_pre_hook(pre)
    torch.nn.modules.module.register_module_forward_hook(post)

    def wrap(owner: object, attr: str, label: str) -> None:
        fn = getattr(owner, attr)

        @functools.wraps(fn)
        def inner(*a: object, **k: object) -> object:
            nvtx.range_push(label)
            try:
                return fn(*a, **k)
            finally:
                nvtx.range_pop()

        setattr(owner, attr, inner)

    from transformers import cache_utils
    from transformers.generation import utils as gen_utils

    modeling = sys.modules[type(model).__module__]
    wrap(modeling, "apply_rotary_pos_emb", "F:apply_rotary_pos_emb")
    wrap(torch.nn.functional, "scaled_dot_product_attention", "F:scaled_dot_product_attention")
    wrap(cache_utils.DynamicLayer, "update", "F:DynamicLayer.update")
    wrap(gen_utils.GenerationMixin, "generate", "GENERATE")


def probe() -> dict[str, object]:
    """What this transformers looks like (the names the annotation table relies on)."""
    from transformers import cache_utils
    from transformers.generation import utils as gen_utils
    from transformers.models.llama import modeling_llama
    from transformers.models.qwen3_moe import modeling_qwen3_moe

    return {
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "llama.apply_rotary_pos_emb": hasattr(modeling_llama, "apply_rotary_pos_emb"),
        "qwen3_moe.apply_rotary_pos_emb": hasattr(modeling_qwen3_moe, "apply_rotary_pos_emb"),
        "DynamicLayer.update": "update" in vars(cache_utils.DynamicLayer),
        "GenerationMixin.generate": "generate" in vars(gen_utils.GenerationMixin),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", choices=["llama", "qwen3moe"], default="llama")
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--input-len", type=int, default=256)
    ap.add_argument("--output-len", type=int, default=8)
    ap.add_argument("--dtype", choices=["fp16", "bf16"], default="fp16")
    ap.add_argument("--calls", type=int, default=2, help="generate() calls")
    ap.add_argument("--truth", action="store_true")
    ap.add_argument("--timing", type=int, default=0, help="time N generate() calls, no capture")
    ap.add_argument("--probe", action="store_true")
    ap.add_argument(
        "--static", action="store_true", help="static KV cache: decode compiled with CUDA graphs"
    )
    a = ap.parse_args()
    if a.probe:
        print(json.dumps(probe()))
        return
    dtype = torch.float16 if a.dtype == "fp16" else torch.bfloat16
    torch.manual_seed(0)
    with torch.device("cuda"):
        model = AutoModelForCausalLM.from_config(
            config(a.model, a.layers), dtype=dtype, attn_implementation="sdpa"
        )
    model.eval()
    if a.truth:
        install_truth(model)
    ids = torch.randint(0, model.config.vocab_size, (a.batch, a.input_len), device="cuda")
    mask = torch.ones_like(ids)
    gen: dict[str, object] = {
        "max_new_tokens": a.output_len, "min_new_tokens": a.output_len, "do_sample": False,
    }  # fmt: skip
    if a.static:
        gen["cache_implementation"] = "static"
    n = a.timing or a.calls
    times = []
    for _ in range(n):
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        out = model.generate(ids, attention_mask=mask, pad_token_id=0, **gen)
        torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    assert out.shape == (a.batch, a.input_len + a.output_len), out.shape
    experts = getattr(model.config, "_experts_implementation", None)
    print(json.dumps({"model": a.model, "generate_s": times, "median_s": statistics.median(times),
                      "attn": model.config._attn_implementation, "experts": experts}))  # fmt: skip


if __name__ == "__main__":
    main()
