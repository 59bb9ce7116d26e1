"""Hugging Face ``config.json`` → :class:`Architecture`; bundled presets by short name.

HF configs name the same thing differently across families (``n_embd`` in GPT-2, ``ffn_dim``
in OPT, ``num_local_experts`` in Mixtral, ``n_routed_experts`` in DeepSeek…), so every field
is read through a list of aliases.  A missing required field is an :class:`InputError` that
names the field and the file; a config of an encoder or encoder-decoder model is refused.
"""

from __future__ import annotations

import difflib
import json
from importlib import resources
from pathlib import Path
from typing import Any

from rooflens.errors import InputError, RooflensError
from rooflens.model.architecture import Architecture, PositionKind

PRESET_PACKAGE = "rooflens.model.presets"
MAX_CONFIG_BYTES = 16 << 20  # the largest HF config.json files are a few hundred KiB

# Families whose MLP is up → act → down (no gate), with LayerNorm and learned positions.
_PLAIN_MLP = {
    "gpt2",
    "opt",
    "gpt_neox",
    "gptj",
    "bloom",
    "falcon",
    "gpt_bigcode",
    "phi",
    "starcoder2",
}
_LAYER_NORM = _PLAIN_MLP | {"cohere", "stablelm"}
_LEARNED_POSITIONS = {"gpt2", "opt", "gpt_bigcode", "bloom"}
# HF's per-family default of tie_word_embeddings when the config leaves it out.
_TIED_BY_DEFAULT = {"gpt2", "opt", "gpt_bigcode", "bloom", "gemma", "gemma2", "gemma3_text", "phi"}
_NOT_DECODER = {
    "bert", "roberta", "xlm-roberta", "deberta", "deberta-v2", "distilbert", "electra", "albert",
    "t5", "mt5", "umt5", "bart", "mbart", "pegasus", "marian", "whisper", "vit", "clip",
    "clip_vision_model", "siglip", "wav2vec2", "hubert", "beit", "deit", "swin", "convnext",
}  # fmt: skip

_ALIASES: dict[str, tuple[str, ...]] = {
    "hidden_size": ("hidden_size", "n_embd", "d_model", "dim"),
    "num_layers": ("num_hidden_layers", "n_layer", "num_layers", "n_layers"),
    "num_heads": ("num_attention_heads", "n_head", "num_heads", "n_heads"),
    "num_kv_heads": ("num_key_value_heads", "num_kv_heads", "n_kv_heads", "multi_query_group_num"),
    "intermediate_size": ("intermediate_size", "ffn_dim", "n_inner", "ffn_hidden_size"),
    "vocab_size": ("vocab_size", "padded_vocab_size"),
    "max_position": ("max_position_embeddings", "n_positions", "n_ctx", "seq_length"),
    "hidden_act": ("hidden_act", "activation_function", "hidden_activation"),
    "norm_eps": ("rms_norm_eps", "layer_norm_epsilon", "layer_norm_eps", "norm_epsilon"),
    "num_experts": ("num_local_experts", "num_experts", "n_routed_experts", "moe_num_experts"),
    "top_k": ("num_experts_per_tok", "moe_top_k", "num_selected_experts"),
}


def _get(cfg: dict[str, Any], key: str) -> Any:
    """First non-null value among ``key``'s aliases, else None."""
    for alias in _ALIASES.get(key, (key,)):
        value = cfg.get(alias)
        if value is not None:
            return value
    return None


# Bounds far above any real model (the largest public configs have ~130 layers, hidden 2^15,
# vocab ~2^18, 256 experts): beyond them a config is corrupt, and predicting it would loop over
# billions of layers or allocate per-layer tables.  Checked before anything is computed.
_LIMITS: dict[str, int] = {
    "num_layers": 10_000,
    "num_heads": 1 << 16,
    "num_kv_heads": 1 << 16,
    "vocab_size": 1 << 24,
    "num_experts": 1 << 16,
    "top_k": 1 << 16,
}
_DEFAULT_LIMIT = 1 << 24  # sizes (hidden, intermediate, head dim, ranks)


def _bounded(key: str, value: int, source: str) -> int:
    limit = _LIMITS.get(key, _DEFAULT_LIMIT)
    if value > limit:
        raise InputError(
            source, f"field '{key}' = {value} is beyond any real model (at most {limit})"
        )
    return value


def _require_int(cfg: dict[str, Any], key: str, source: str) -> int:
    value = _get(cfg, key)
    names = " / ".join(_ALIASES.get(key, (key,)))
    if value is None:
        raise InputError(source, f"config is missing the field '{key}' (looked for {names})")
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise InputError(source, f"field '{key}' must be a positive integer, got {value!r:.60}")
    return _bounded(key, value, source)


def _opt_int(cfg: dict[str, Any], key: str, source: str, default: int = 0) -> int:
    value = cfg.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InputError(source, f"field '{key}' must be a non-negative integer, got {value!r:.60}")
    return _bounded(key, value, source)


def _check_decoder(cfg: dict[str, Any], source: str) -> None:
    model_type = str(cfg.get("model_type", ""))
    if cfg.get("is_encoder_decoder") or model_type in _NOT_DECODER:
        raise InputError(source, f"model_type '{model_type}' is not a decoder-only language model")
    archs = cfg.get("architectures") or []
    if archs and not any("CausalLM" in a or "LMHead" in a for a in archs if isinstance(a, str)):
        raise InputError(
            source, f"architectures {archs} name no causal LM (…ForCausalLM / …LMHeadModel)"
        )


def _rope_theta(cfg: dict[str, Any], position: str) -> float | None:
    if position != "rope":
        return None
    params = cfg.get("rope_parameters")
    if isinstance(params, dict) and params.get("rope_theta") is not None:
        return float(params["rope_theta"])
    return float(cfg.get("rope_theta", 10000.0))


def _sliding_window(cfg: dict[str, Any]) -> int | None:
    window = cfg.get("sliding_window")
    if window is None or cfg.get("use_sliding_window") is False:
        return None
    return int(window) if isinstance(window, int) and window > 0 else None


def _moe_fields(cfg: dict[str, Any], source: str, inter: int, layers: int) -> dict[str, Any]:
    if not _get(cfg, "num_experts") or not _get(cfg, "top_k"):
        return {}
    experts = _require_int(cfg, "num_experts", source)
    top_k = _require_int(cfg, "top_k", source)
    if top_k > experts:
        raise InputError(
            source,
            f"each token is routed to {top_k} experts but the model has only {experts}"
            " (num_experts_per_tok > num_local_experts)",
        )
    moe_inter = _opt_int(cfg, "moe_intermediate_size", source, inter)
    shared = _opt_int(cfg, "n_shared_experts", source)
    shared_inter = _opt_int(cfg, "shared_expert_intermediate_size", source, shared * moe_inter)
    dense = set(range(min(_opt_int(cfg, "first_k_dense_replace", source), layers)))
    only = cfg.get("mlp_only_layers") or []
    if not isinstance(only, list) or len(only) > layers:
        raise InputError(source, f"mlp_only_layers must list at most {layers} layer indices")
    dense |= {int(i) for i in only}
    step = _opt_int(cfg, "decoder_sparse_step", source, 1) or 1
    freq = _opt_int(cfg, "moe_layer_freq", source, 1) or 1
    dense |= {i for i in range(layers) if (i + 1) % step != 0 or i % freq != 0}
    return {
        "num_experts": experts,
        "top_k": top_k,
        "moe_intermediate_size": moe_inter,
        "num_shared_experts": shared if shared else (1 if shared_inter else 0),
        "shared_expert_intermediate_size": shared_inter,
        "dense_layers": tuple(sorted(i for i in dense if i < layers)),
    }


def _mla_fields(cfg: dict[str, Any], source: str) -> dict[str, Any]:
    rank = _opt_int(cfg, "kv_lora_rank", source)
    if not rank:
        return {}
    names = ("qk_rope_head_dim", "qk_nope_head_dim", "v_head_dim")
    out: dict[str, Any] = {
        "kv_lora_rank": rank,
        "q_lora_rank": _opt_int(cfg, "q_lora_rank", source),
    }
    for key in names:
        out[key] = _require_int(cfg, key, source)
    return out


def _heads(cfg: dict[str, Any], source: str, mla: dict[str, Any]) -> tuple[int, int, int, int]:
    """(hidden_size, heads, kv_heads, head_dim), checked for consistency.

    KV heads default to the query heads (MHA) or 1 with ``multi_query``; ``head_dim`` is the
    config's explicit value, else hidden/heads; MLA uses nope + rope dims and full heads.
    """
    hidden = _require_int(cfg, "hidden_size", source)
    heads = _require_int(cfg, "num_heads", source)
    if _get(cfg, "num_kv_heads") is not None:
        kv_heads = _require_int(cfg, "num_kv_heads", source)
    else:
        kv_heads = 1 if cfg.get("multi_query") else heads
    explicit = cfg.get("head_dim")
    if explicit is not None:
        head_dim = _require_int(cfg, "head_dim", source)
    elif hidden % heads:
        raise InputError(source, f"hidden_size {hidden} is not divisible by {heads} heads")
    else:
        head_dim = hidden // heads
    if mla:
        head_dim, kv_heads = mla["qk_nope_head_dim"] + mla["qk_rope_head_dim"], heads
    if heads % kv_heads:
        raise InputError(source, f"{heads} attention heads not divisible by {kv_heads} KV heads")
    return hidden, heads, kv_heads, head_dim


def architecture_from_config(cfg: dict[str, Any], name: str, source: str) -> Architecture:
    """Build an :class:`Architecture` from a parsed ``config.json`` dict.

    ``name`` labels the model (preset name or path); ``source`` names the file in errors.
    Multimodal configs with a ``text_config`` use that text model.  A value of the wrong type
    anywhere (a string where a number belongs) is an :class:`InputError`, never a traceback.
    """
    try:
        return _build(cfg, name, source)
    except (TypeError, ValueError, AttributeError) as exc:
        raise InputError(source, f"invalid value in config: {exc}") from None


def _build(cfg: dict[str, Any], name: str, source: str) -> Architecture:
    if not isinstance(cfg, dict):
        raise InputError(source, "config.json must hold a JSON object")
    if isinstance(cfg.get("text_config"), dict) and _get(cfg, "hidden_size") is None:
        cfg = {**cfg["text_config"], "architectures": cfg.get("architectures")}
    _check_decoder(cfg, source)
    model_type = str(cfg.get("model_type", "unknown"))
    mla = _mla_fields(cfg, source)
    hidden, heads, kv_heads, head_dim = _heads(cfg, source, mla)
    layers = _require_int(cfg, "num_layers", source)
    vocab = _require_int(cfg, "vocab_size", source)
    if model_type in ("gpt2", "gpt_bigcode") and cfg.get("n_inner") is None:
        inter = 4 * hidden
    else:
        inter = _require_int(cfg, "intermediate_size", source)
    position: PositionKind = "learned" if model_type in _LEARNED_POSITIONS else "rope"
    act = str(_get(cfg, "hidden_act") or ("gelu_new" if model_type == "gpt2" else "silu"))
    return Architecture(
        name=name,
        model_type=model_type,
        hidden_size=hidden,
        intermediate_size=inter,
        num_layers=layers,
        num_heads=heads,
        num_kv_heads=kv_heads,
        head_dim=head_dim,
        vocab_size=vocab,
        tie_word_embeddings=bool(cfg.get("tie_word_embeddings", model_type in _TIED_BY_DEFAULT)),
        mlp="plain" if model_type in _PLAIN_MLP else "gated",
        hidden_act=act,
        norm="layer" if model_type in _LAYER_NORM else "rms",
        norm_eps=float(_get(cfg, "norm_eps") or 1e-5),
        position=position,
        rope_theta=_rope_theta(cfg, position),
        max_position=_require_int(cfg, "max_position", source)
        if _get(cfg, "max_position") is not None
        else 2048,
        sliding_window=_sliding_window(cfg),
        attention_bias=bool(
            cfg.get("attention_bias", cfg.get("qkv_bias", model_type in ("qwen2", "gpt2", "opt")))
        ),
        mlp_bias=bool(cfg.get("mlp_bias", model_type in ("gpt2", "opt"))),
        qk_norm=model_type in ("qwen3", "qwen3_moe", "olmo2", "gemma3_text"),
        torch_dtype=str(cfg.get("torch_dtype") or cfg.get("dtype") or "bfloat16"),
        **_moe_fields(cfg, source, inter, layers),
        **mla,
    )


def load_config_file(path: Path) -> dict[str, Any]:
    """Read and parse a ``config.json``; errors name the file."""
    try:
        if not path.is_file():
            raise InputError(path, "not a regular file")
        if path.stat().st_size > MAX_CONFIG_BYTES:
            raise InputError(path, f"larger than {MAX_CONFIG_BYTES >> 20} MiB: not a config.json")
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(path, f"cannot read config: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise InputError(path, f"not UTF-8 text (byte {exc.start}): not a config.json") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            path, f"malformed JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    if not isinstance(data, dict):
        raise InputError(path, "config.json must hold a JSON object")
    return data


def list_presets() -> list[str]:
    """Short names of the bundled presets (real HF config.json files, no weights), sorted."""
    folder = resources.files(PRESET_PACKAGE)
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".json"))


def load_architecture(name_or_path: str | Path) -> Architecture:
    """A preset short name, a ``config.json`` file, or a folder holding one → :class:`Architecture`."""
    try:
        return _load_architecture(name_or_path)
    except OSError as exc:  # a path component too long, a loop of links…
        raise InputError(str(name_or_path)[:200], f"cannot open: {exc.strerror or exc}") from None


def _load_architecture(name_or_path: str | Path) -> Architecture:
    text = str(name_or_path)
    path = Path(text).expanduser()
    is_preset = text.strip().lower() in list_presets() and "/" not in text
    if path.is_dir() and not (is_preset and not (path / "config.json").is_file()):
        # A folder named like a preset (a run folder called `gpt2`, say) is not a model folder
        # unless it holds a config.json: the preset wins then.
        path = path / "config.json"
        if not path.is_file():
            raise InputError(path.parent, "folder has no config.json")
    if path.is_file():
        return architecture_from_config(load_config_file(path), text, str(path))
    key = text.strip().lower()
    presets = list_presets()
    if key in presets:
        resource = resources.files(PRESET_PACKAGE) / f"{key}.json"
        cfg = json.loads(resource.read_text(encoding="utf-8"))
        return architecture_from_config(cfg, key, f"preset {key}")
    if text.endswith(".json") or "/" in text:
        raise InputError(text, "no such config file or folder")
    close = difflib.get_close_matches(key, presets, n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(close)}?" if close else f"; presets: {', '.join(presets)}"
    raise RooflensError(f"unknown model '{text}' (not a preset, file or folder){hint}")
