"""The built-in workload's forward pass, checked on the CPU against a plain reference.

The GPU capture runs the same code; here a tiny shape checks shapes, the KV cache and the
operator ranges without a GPU.
"""

from __future__ import annotations

import contextlib

import pytest

torch = pytest.importorskip("torch")

from rooflens.capture.shape import DecoderShape  # noqa: E402
from rooflens.capture.workload import Decoder, Marker  # noqa: E402

TINY = DecoderShape(
    hidden_size=64,
    intermediate_size=96,
    num_layers=2,
    num_heads=4,
    num_kv_heads=2,
    head_dim=16,
    vocab_size=100,
)


class Recorder(Marker):
    """A Marker that records the range stack instead of calling NVTX."""

    def __init__(self) -> None:
        super().__init__(torch_ranges=False, nvtx=False)
        self.names: list[str] = []

    def __call__(self, name: str):  # type: ignore[override]
        self.names.append(name)
        return super().__call__(name)


def predicted_operator_names(model: str) -> set[str]:
    """The operator names the predictor emits for ``model`` (one layer, prefill + decode)."""
    from rooflens.hardware import lookup
    from rooflens.model import load_architecture
    from rooflens.predict import Precision, Workload, predict

    wl = Workload(
        batch=1, input_len=8, output_len=2, precision=Precision.parse("W16A16KV16"), layers=1
    )
    return {
        o["name"]
        for o in predict(load_architecture(model), lookup("H100"), wl).to_dict()["operators"]
    }


def _reference_attention(q, k, v, causal):
    # q [b,H,T,d], k/v [b,Hkv,L,d]: plain softmax attention with GQA by repetition.
    rep = q.shape[1] // k.shape[1]
    k = k.repeat_interleave(rep, dim=1)
    v = v.repeat_interleave(rep, dim=1)
    s = q @ k.transpose(-1, -2) / q.shape[-1] ** 0.5
    if causal:
        T, L = q.shape[2], k.shape[2]
        mask = torch.ones(T, L, dtype=torch.bool).tril(L - T)
        s = s.masked_fill(~mask, float("-inf"))
    return s.softmax(-1) @ v


def test_prefill_then_decode_matches_full_recompute() -> None:
    torch.manual_seed(0)
    m = Decoder(TINY, layers=2, batch=2, max_len=12, dtype=torch.float32, device="cpu")
    mark = Recorder()
    ids = torch.randint(0, 100, (2, 8))
    out = torch.zeros(2, 1, dtype=torch.long)
    m.step(ids, 0, 0, mark, out)
    first = out.clone()
    m.step(first, 8, 0, mark, out)  # one decode step on the cache
    # Recompute the 9-token sequence from scratch: the decode token must agree.
    m2 = Decoder(TINY, layers=2, batch=2, max_len=12, dtype=torch.float32, device="cpu")
    full = torch.cat([ids, first], dim=1)
    out2 = torch.zeros(2, 1, dtype=torch.long)
    m2.step(full, 0, 0, Recorder(), out2)
    assert torch.equal(out, out2)
    # Operator ranges are the predictor's names, nested in the seed's layer range.
    assert "Layer[1]#Run[0]" in mark.names
    for op in (
        "attn_norm",
        "qkv_proj",
        "rope",
        "kv_cache_write",
        "attention",
        "o_proj",
        "attn_residual",
        "mlp_norm",
        "gate_up_proj",
        "act",
        "down_proj",
        "mlp_residual",
        "embedding",
        "final_norm",
        "lm_head",
    ):
        assert op in mark.names, op


def test_sdpa_with_gqa_matches_reference() -> None:
    torch.manual_seed(1)
    q = torch.randn(1, 4, 5, 16)
    k = torch.randn(1, 2, 5, 16)
    v = torch.randn(1, 2, 5, 16)
    got = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True)
    torch.testing.assert_close(got, _reference_attention(q, k, v, True))


def _moe_shape(layers: int, experts: int, shared: int = 0) -> DecoderShape:
    """A tiny mixture-of-experts decoder: top-2 routing over ``experts``."""
    return DecoderShape(
        hidden_size=32,
        intermediate_size=48,
        num_layers=layers,
        num_heads=2,
        num_kv_heads=2,
        head_dim=16,
        vocab_size=50,
        num_experts=experts,
        top_k=2,
        moe_intermediate_size=24,
        num_shared_experts=shared,
    )


def test_moe_layer_runs_and_routes_top_k() -> None:
    moe = _moe_shape(layers=1, experts=4, shared=1)
    m = Decoder(moe, layers=1, batch=1, max_len=6, dtype=torch.float32, device="cpu")
    mark = Recorder()
    out = torch.zeros(1, 1, dtype=torch.long)
    m.step(torch.randint(0, 50, (1, 4)), 0, 0, mark, out)
    assert {"router", "experts", "shared_experts"} <= set(mark.names)


def test_learned_positions_have_no_rope_range() -> None:
    gpt = DecoderShape(
        hidden_size=32,
        intermediate_size=64,
        num_layers=1,
        num_heads=2,
        num_kv_heads=2,
        head_dim=16,
        vocab_size=50,
        gated_mlp=False,
        rms_norm=False,
        rope=False,
    )
    m = Decoder(gpt, layers=1, batch=1, max_len=6, dtype=torch.float32, device="cpu")
    mark = Recorder()
    out = torch.zeros(1, 1, dtype=torch.long)
    m.step(torch.randint(0, 50, (1, 4)), 0, 0, mark, out)
    assert "rope" not in mark.names and "embedding" in mark.names


class StackRecorder(Marker):
    """Records, for every range pushed, the whole stack (the ``ncu#Run[j]`` marker included)."""

    def __init__(self) -> None:
        super().__init__(torch_ranges=False, nvtx=False)
        self.stack: list[str] = []
        self.seen: list[tuple[str, ...]] = []

    @contextlib.contextmanager
    def _push(self, name: str):  # type: ignore[no-untyped-def]
        self.stack.append(name)
        self.seen.append(tuple(self.stack))
        try:
            yield
        finally:
            self.stack.pop()

    def __call__(self, name: str):  # type: ignore[override]
        return self._push(name)

    def sample(self, run: int):  # type: ignore[override]
        return self._push(f"ncu#Run[{run}]")


def test_ncu_sample_covers_a_sampled_layer_but_only_the_first_experts() -> None:
    from rooflens.capture.workload import SAMPLED_EXPERTS

    moe = _moe_shape(layers=2, experts=8)
    m = Decoder(moe, layers=2, batch=1, max_len=40, dtype=torch.float32, device="cpu")
    mark = StackRecorder()
    out = torch.zeros(1, 1, dtype=torch.long)
    # 32 prompt tokens × top-2 of 8 experts: (almost surely) more experts visited than sampled.
    m.step(torch.randint(0, 50, (1, 32)), 0, 3, mark, out, frozenset({0}))
    experts = [s for s in mark.seen if s[-1].startswith("expert[")]
    layer0 = [s for s in experts if "Layer[0]#Run[3]" in s]
    layer1 = [s for s in experts if "Layer[1]#Run[3]" in s]
    assert len(layer0) > SAMPLED_EXPERTS and layer1
    sampled = ["ncu#Run[3]" in s for s in layer0]
    assert sampled == [True] * SAMPLED_EXPERTS + [False] * (len(layer0) - SAMPLED_EXPERTS)
    assert not any("ncu#Run[3]" in s for s in layer1)
    # Every operator range of layer 0 outside the routed experts is sampled; none of layer 1.
    ops0 = [
        s for s in mark.seen if "Layer[0]#Run[3]" in s and not s[-1].startswith(("expert", "ncu"))
    ]
    assert {s[-1] for s in ops0} >= {"attn_norm", "qkv_proj", "attention", "router", "mlp_residual"}
    for s in ops0:
        if s[-1] in ("experts", "Layer[0]#Run[3]"):
            continue  # the loop's range: only its zeros_like and first experts are sampled
        assert "ncu#Run[3]" in s, s
    assert not any("ncu#Run[3]" in s for s in mark.seen if "Layer[1]#Run[3]" in s)
    # The per-model operators of a sampled step are sampled too.
    heads = {s[-1] for s in mark.seen if "ncu#Run[3]" in s and not any("Layer[" in e for e in s)}
    assert {"embedding", "lm_head"} <= heads


def test_a_sample_only_step_runs_the_sampled_layers_and_the_head() -> None:
    m = Decoder(TINY, layers=2, batch=1, max_len=8, dtype=torch.float32, device="cpu")
    mark = StackRecorder()
    out = torch.zeros(1, 1, dtype=torch.long)
    m.step(torch.randint(0, 100, (1, 4)), 0, 1, mark, out, frozenset({1}), only_sampled=True)
    layers = {e for s in mark.seen for e in s if e.startswith("Layer[")}
    assert layers == {"Layer[1]#Run[1]"}
    assert {"embedding", "lm_head", "sample"} <= {s[-1] for s in mark.seen}


def test_a_sample_only_decoder_builds_the_sampled_layers_only() -> None:
    m = Decoder(
        TINY, layers=2, batch=1, max_len=8, dtype=torch.float32, device="cpu", only=frozenset({1})
    )
    assert m.L[0] == {} and "qkv" in m.L[1]
    mark = StackRecorder()
    out = torch.zeros(1, 1, dtype=torch.long)
    m.step(torch.randint(0, 100, (1, 4)), 0, 1, mark, out, frozenset({1}), only_sampled=True)
    assert {e for s in mark.seen for e in s if e.startswith("Layer[")} == {"Layer[1]#Run[1]"}


def test_marker_off_disables_it_and_restores_it_even_on_error() -> None:
    mark = Recorder()
    with mark.off():
        assert not mark.enabled
    assert mark.enabled
    with pytest.raises(RuntimeError), mark.off():
        raise RuntimeError("capture failed")
    assert mark.enabled
