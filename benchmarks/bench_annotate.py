"""Host cost of capture-time annotation (src/rooflens/capture/annotate/): time per module call
added by the global forward hooks, measured on the CPU where nothing else hides it.

Run on any machine with torch (repo root)::

    python benchmarks/bench_annotate.py [--layers 32] [--steps 200] [--repeat 3]

Two processes run the same decoder-shaped module tree (a Hugging Face-like naming: embed_tokens,
layers.N.{input_layernorm, self_attn.{q,k,v,o}_proj, post_attention_layernorm,
mlp.{gate,up,down}_proj, act_fn}, norm, lm_head; width 8 so the tensor work is negligible) for
``--steps`` forward calls: one plain, one with the annotation's sitecustomize on PYTHONPATH
(ranges recorded in memory instead of NVTX, ``ROOFLENS_ANNOTATE_TRACE``).  Prints the best of
``--repeat`` per-forward times and the difference per module call.  On a GPU the same hooks push
NVTX ranges; NVTX without a profiler attached is a no-op, under nsys it adds its own cost.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ANNOTATE = ROOT / "src/rooflens/capture/annotate"

PROGRAM = """
import sys, time, torch
from torch import nn
L, STEPS, REPEAT = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
def lin(): return nn.Linear(8, 8, bias=False)
class Attn(nn.Module):
    def __init__(s):
        super().__init__(); s.q_proj, s.k_proj, s.v_proj, s.o_proj = lin(), lin(), lin(), lin()
    def forward(s, x): return s.o_proj(s.q_proj(x) + s.k_proj(x) + s.v_proj(x))
class Mlp(nn.Module):
    def __init__(s):
        super().__init__(); s.gate_proj, s.up_proj, s.down_proj, s.act_fn = lin(), lin(), lin(), nn.SiLU()
    def forward(s, x): return s.down_proj(s.act_fn(s.gate_proj(x)) * s.up_proj(x))
class Layer(nn.Module):
    def __init__(s):
        super().__init__()
        s.input_layernorm, s.self_attn = nn.LayerNorm(8), Attn()
        s.post_attention_layernorm, s.mlp = nn.LayerNorm(8), Mlp()
    def forward(s, x):
        x = x + s.self_attn(s.input_layernorm(x))
        return x + s.mlp(s.post_attention_layernorm(x))
class Inner(nn.Module):
    def __init__(s):
        super().__init__()
        s.embed_tokens, s.layers, s.norm = nn.Embedding(10, 8), nn.ModuleList([Layer() for _ in range(L)]), nn.LayerNorm(8)
    def forward(s, ids):
        x = s.embed_tokens(ids)
        for layer in s.layers: x = layer(x)
        return s.norm(x)
class LM(nn.Module):
    def __init__(s):
        super().__init__(); s.model, s.lm_head = Inner(), nn.Linear(8, 10)
    def forward(s, input_ids): return s.lm_head(s.model(input_ids))
lm = LM()
calls = sum(1 for _ in lm.modules()) - 1  # ModuleList is never called
calls -= 1
ids = torch.zeros(1, 1, dtype=torch.long)
best = float("inf")
with torch.no_grad():
    lm(input_ids=torch.zeros(1, 4, dtype=torch.long))
    for _ in range(REPEAT):
        t0 = time.perf_counter()
        for _ in range(STEPS): lm(input_ids=ids)
        best = min(best, (time.perf_counter() - t0) / STEPS)
print(best, calls + 1)
"""


def run(annotated: bool, args: argparse.Namespace) -> tuple[float, int]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    with tempfile.TemporaryDirectory() as tmp:
        if annotated:
            env.update(PYTHONPATH=str(ANNOTATE), ROOFLENS_ANNOTATE="1",
                       ROOFLENS_ANNOTATE_TRACE=str(Path(tmp) / "ranges.txt"))  # fmt: skip
        argv = [sys.executable, "-c", PROGRAM, str(args.layers), str(args.steps), str(args.repeat)]
        out = subprocess.run(argv, env=env, capture_output=True, text=True, check=True).stdout
    t, calls = out.split()
    return float(t), int(calls)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--layers", type=int, default=32)
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    plain, calls = run(False, args)
    ann, _ = run(True, args)
    print(
        f"{args.layers} layers, {calls} module calls per forward (best of {args.repeat} × {args.steps})"
    )
    print(f"plain      {plain * 1e3:8.3f} ms per forward")
    print(f"annotated  {ann * 1e3:8.3f} ms per forward  (+{(ann - plain) / plain:.0%})")
    print(f"added      {(ann - plain) / calls * 1e6:8.2f} us per module call")


if __name__ == "__main__":
    main()
