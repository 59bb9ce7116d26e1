"""Property test of config loading and ``predict``: any mutation of a real config either loads
and predicts figures that satisfy the invariants (finite, non-negative, self-checked), or is
refused as a RooflensError — never another exception, never a negative byte count.

Seeded and bounded for CI (``derandomize=True``, ROOFLENS_FUZZ_EXAMPLES examples, default 60);
set ROOFLENS_FUZZ_EXAMPLES=5000 (and ROOFLENS_FUZZ_RANDOM=1 for fresh random draws) for a longer
campaign; a failure prints the mutated config and Hypothesis's @reproduce_failure line.
"""

from __future__ import annotations

import json
import math
import os
from importlib import resources
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rooflens.errors import RooflensError
from rooflens.hardware import lookup
from rooflens.model.loader import architecture_from_config
from rooflens.predict import Precision, Workload, predict

EXAMPLES = int(os.environ.get("ROOFLENS_FUZZ_EXAMPLES", "60"))
FAST = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=os.environ.get("ROOFLENS_FUZZ_RANDOM") != "1",
    suppress_health_check=[HealthCheck.too_slow],
)
PRESETS = ("llama-3-8b", "mixtral-8x7b", "qwen3-30b-a3b", "deepseek-v3", "gpt2", "qwen3-0.6b")
FIELDS = (
    "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
    "num_key_value_heads", "head_dim", "vocab_size", "num_local_experts", "num_experts",
    "num_experts_per_tok", "moe_intermediate_size", "n_routed_experts", "n_shared_experts",
    "first_k_dense_replace", "kv_lora_rank", "q_lora_rank", "qk_rope_head_dim",
    "qk_nope_head_dim", "v_head_dim", "decoder_sparse_step", "mlp_only_layers",
    "shared_expert_intermediate_size", "sliding_window", "rms_norm_eps", "max_position_embeddings",
)  # fmt: skip

values = st.one_of(
    st.integers(min_value=-(2**64), max_value=2**64),
    st.sampled_from([0, 1, 2, 3, 7, 8, 9, 64, 4096, 2**31, 2**40]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.none(),
    st.booleans(),
    st.lists(st.integers(min_value=-5, max_value=200), max_size=5),
)


def _preset(name: str) -> dict[str, Any]:
    text = resources.files("rooflens.model.presets").joinpath(f"{name}.json").read_text("utf-8")
    cfg: dict[str, Any] = json.loads(text)
    return cfg


def _walk_numbers(node: Any) -> list[float]:
    if isinstance(node, dict):
        return [x for v in node.values() for x in _walk_numbers(v)]
    if isinstance(node, list):
        return [x for v in node for x in _walk_numbers(v)]
    if isinstance(node, int | float) and not isinstance(node, bool):
        return [float(node)]
    return []


@FAST
@given(
    name=st.sampled_from(PRESETS),
    edits=st.dictionaries(st.sampled_from(FIELDS), values, min_size=1, max_size=4),
    layers=st.one_of(st.none(), st.integers(min_value=1, max_value=4)),
    batch=st.integers(min_value=1, max_value=64),
    output_len=st.integers(min_value=1, max_value=8),
)
def test_mutated_configs_predict_sound_figures_or_are_refused(
    name: str, edits: dict[str, Any], layers: int | None, batch: int, output_len: int
) -> None:
    cfg = {**_preset(name), **edits}
    try:
        arch = architecture_from_config(cfg, name, "fuzzed config.json")
        n_layers = min(layers, arch.num_layers) if layers else min(arch.num_layers, 4)
        workload = Workload(batch, 128, output_len, Precision.parse("W16A16KV16"), n_layers)
        pred = predict(arch, lookup("H200"), workload)
    except RooflensError as exc:
        assert "\n" not in str(exc)  # one line, as the CLI prints it
        return
    pred.self_check()
    doc = pred.to_dict()
    for x in _walk_numbers(doc["phases"]) + _walk_numbers(doc["operators"]):
        assert math.isfinite(x) and x >= 0, (edits, x)
    assert doc["weight_bytes"] >= 0 and doc["kv_cache_bytes"] >= 0, edits
