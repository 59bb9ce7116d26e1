"""HF config.json → Architecture: presets, naming variants, MoE/MLA fields, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rooflens.errors import InputError, RooflensError
from rooflens.model import list_presets, load_architecture

REQUIRED_PRESETS = {
    "llama-2-7b", "llama-2-70b", "llama-3-8b", "llama-3-70b", "mistral-7b", "qwen2.5-7b",
    "qwen2.5-72b", "qwen3-8b", "qwen3-0.6b", "mixtral-8x7b", "qwen3-30b-a3b", "deepseek-v3",
    "gpt2", "opt-6.7b",
}  # fmt: skip


def test_all_required_presets_are_bundled_and_load() -> None:
    assert REQUIRED_PRESETS <= set(list_presets())
    for name in REQUIRED_PRESETS:
        assert load_architecture(name).num_layers > 0


def test_llama2_7b_is_mha_with_gated_mlp() -> None:
    a = load_architecture("llama-2-7b")
    assert (a.hidden_size, a.num_heads, a.num_kv_heads, a.head_dim) == (4096, 32, 32, 4096 // 32)
    assert (a.intermediate_size, a.vocab_size, a.num_layers) == (11008, 32000, 32)
    assert a.mlp == "gated" and a.norm == "rms" and not a.tie_word_embeddings


def test_gqa_and_explicit_head_dim() -> None:
    llama3 = load_architecture("llama-3-8b")
    assert (llama3.num_heads, llama3.num_kv_heads) == (32, 8)
    qwen = load_architecture("qwen3-0.6b")
    # config head_dim 128 although hidden/heads = 1024/16 = 64
    assert qwen.head_dim == 128 and qwen.hidden_size // qwen.num_heads == 64
    assert qwen.tie_word_embeddings and qwen.qk_norm


def test_gpt2_and_opt_naming_variants() -> None:
    gpt2 = load_architecture("gpt2")
    # n_embd, n_head, n_layer; n_inner absent → 4·768
    assert (gpt2.hidden_size, gpt2.num_heads, gpt2.num_layers, gpt2.intermediate_size) == (
        768,
        12,
        12,
        3072,
    )
    assert gpt2.num_kv_heads == 12 and gpt2.mlp == "plain" and gpt2.position == "learned"
    assert gpt2.tie_word_embeddings  # GPT-2's default
    opt = load_architecture("opt-6.7b")
    assert opt.intermediate_size == 16384 and opt.hidden_act == "relu" and opt.norm == "layer"


def test_moe_fields() -> None:
    mixtral = load_architecture("mixtral-8x7b")
    assert (mixtral.num_experts, mixtral.top_k, mixtral.moe_intermediate_size) == (8, 2, 14336)
    assert mixtral.dense_layers == () and mixtral.shared_expert_intermediate_size == 0
    qwen = load_architecture("qwen3-30b-a3b")
    assert (qwen.num_experts, qwen.top_k, qwen.moe_intermediate_size) == (128, 8, 768)


def test_deepseek_mla_and_dense_first_layers() -> None:
    a = load_architecture("deepseek-v3")
    assert a.is_mla and (a.kv_lora_rank, a.q_lora_rank) == (512, 1536)
    assert (a.qk_rope_head_dim, a.qk_nope_head_dim, a.v_head_dim) == (64, 128, 128)
    assert a.head_dim == 128 + 64 and a.attention_v_head_dim == 128
    assert a.dense_layers == (0, 1, 2)  # first_k_dense_replace = 3
    assert not a.is_moe_layer(2) and a.is_moe_layer(3)
    assert a.shared_expert_intermediate_size == 1 * 2048  # n_shared_experts × moe_intermediate_size


def test_sliding_window_only_when_enabled() -> None:
    assert load_architecture("mistral-7b").sliding_window == 4096
    assert load_architecture("qwen2.5-7b").sliding_window is None  # use_sliding_window: false


def test_folder_and_file(tmp_path: Path) -> None:
    cfg = {"model_type": "llama", "hidden_size": 64, "intermediate_size": 128, "num_attention_heads": 4,
           "num_hidden_layers": 2, "vocab_size": 100}  # fmt: skip
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    by_folder = load_architecture(tmp_path)
    by_file = load_architecture(tmp_path / "config.json")
    assert by_folder.num_kv_heads == 4  # num_key_value_heads absent → MHA
    assert by_file.hidden_size == 64


def test_missing_field_names_field_and_file(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"model_type": "llama", "num_attention_heads": 4}))
    with pytest.raises(InputError) as exc:
        load_architecture(path)
    assert "hidden_size" in str(exc.value) and str(path) in str(exc.value)


def test_malformed_json(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text("{not json")
    with pytest.raises(InputError, match="malformed JSON"):
        load_architecture(path)


def test_not_a_decoder(tmp_path: Path) -> None:
    path = tmp_path / "bert.json"
    path.write_text(
        json.dumps({"model_type": "bert", "architectures": ["BertModel"], "hidden_size": 768})
    )
    with pytest.raises(InputError, match="not a decoder"):
        load_architecture(path)


def test_unknown_preset_suggests_close_names() -> None:
    with pytest.raises(RooflensError, match="llama-3-8b"):
        load_architecture("llama3-8b")


@pytest.mark.parametrize(
    ("patch", "needle"),
    [
        ({"num_key_value_heads": 0}, "num_kv_heads"),
        ({"num_key_value_heads": 3}, "not divisible by 3 KV heads"),
        ({"num_attention_heads": 5}, "not divisible by 5 heads"),
        ({"hidden_size": "64"}, "hidden_size"),
        ({"num_local_experts": "eight", "num_experts_per_tok": 2}, "field 'num_experts' must be"),
        ({"rms_norm_eps": "tiny"}, "invalid value"),
    ],
)
def test_inconsistent_or_mistyped_fields(
    tmp_path: Path, patch: dict[str, object], needle: str
) -> None:
    cfg = {"model_type": "llama", "hidden_size": 64, "intermediate_size": 128, "num_attention_heads": 4,
           "num_hidden_layers": 2, "vocab_size": 100} | patch  # fmt: skip
    path = tmp_path / "config.json"
    path.write_text(json.dumps(cfg))
    with pytest.raises(InputError, match=needle):
        load_architecture(path)
