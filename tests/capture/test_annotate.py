"""Capture-time annotation (src/rooflens/capture/annotate/): the table, the rules, and the
sitecustomize in a real Python process (CPU torch; ROOFLENS_ANNOTATE_TRACE records the ranges
instead of NVTX)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from rooflens import vocab
from rooflens.capture.annotate import ANNOTATE_DIR, annotation_env

sys.path.insert(0, str(ANNOTATE_DIR))
import _rooflens_annotate as ra  # noqa: E402

TABLE = ra.load_table()


def test_every_operator_in_the_table_is_a_rooflens_operator() -> None:
    named = [v for f in TABLE["modules"].values() for v in f.values()]
    named += [v for f in TABLE["classes"].values() for v in f.values()]
    named += list(TABLE["functions"].values()) + [TABLE["run"]["between_steps"]]
    assert set(named) <= set(vocab.OPERATOR_CLASSES), set(named) - set(vocab.OPERATOR_CLASSES)
    # Hugging Face, vLLM and SGLang names the issue lists
    for key in ("embed_tokens", "input_layernorm", "qkv_proj", "q_norm", "k_norm", "rotary_emb",
                "o_proj", "post_attention_layernorm", "gate_up_proj", "act_fn", "down_proj",
                "mlp.gate", "experts", "shared_expert", "norm", "lm_head"):  # fmt: skip
        assert key in TABLE["modules"], key


@pytest.mark.parametrize(
    ("path", "cls", "want"),
    [
        ("model.layers.0.mlp.gate", "Qwen3MoeTopKRouter", {"op": "router"}),
        ("model.layers.0.mlp.gate_proj", "Linear", {"op": "gate_proj"}),
        (
            "model.layers.0.mlp",
            "Qwen3MoeSparseMoeBlock",
            {"inside": "experts", "after": "mlp_residual"},
        ),
        ("model.layers.0.mlp", "LlamaMLP", {"inside": "act", "after": "mlp_residual"}),
        ("model.layers.0.self_attn.attn", "Attention", {"op": "attention"}),  # vLLM
        ("model.norm", "LlamaRMSNorm", {"op": "final_norm"}),
        ("model.layers.0.self_attn.q_norm", "Qwen3RMSNorm", {"op": "qk_norm"}),
        ("model", "LlamaModel", {}),
    ],
)
def test_module_fields_longest_suffix_then_class(path: str, cls: str, want: dict[str, str]) -> None:
    assert ra.module_fields(path, cls, TABLE) == want


def test_layer_of_a_path() -> None:
    rx = ra.re.compile(TABLE["layer"]["pattern"])
    assert ra.layer_of("model.layers.3", rx) == (3, True)
    assert ra.layer_of("model.layers.12.self_attn.q_proj", rx) == (12, False)
    assert ra.layer_of("transformer.h.5.attn", rx) == (5, False)
    assert ra.layer_of("lm_head", rx) == (None, False)


def test_new_tokens_of_a_call() -> None:
    class T:
        def __init__(self, *shape: int) -> None:
            self.shape = shape

    assert ra.new_tokens_of((), {"input_ids": T(4, 256)}) == 256
    assert ra.new_tokens_of((), {"input_ids": None, "inputs_embeds": T(4, 1, 4096)}) == 1
    assert ra.new_tokens_of((T(4, 1),), {}) == 1
    assert ra.new_tokens_of((T(37),), {}) is None  # flattened tokens (vLLM): unknown


def test_a_compiled_step_gets_run_and_phase_but_no_module_range() -> None:
    seen: list[str] = []
    ann = ra.Annotator(TABLE, vocab, seen.append, lambda: seen.append("<pop>"))
    model, child = object(), object()
    ann.root_enter(model, 256)
    ann.root_exit()
    ann.root_enter(model, 1, opaque=True)
    ann.enter(child, ra.Info(0, False, {"op": "q_proj"}))
    ann.exit(child, ra.Info(0, False, {"op": "q_proj"}))
    ann.root_exit()
    ann.close_run()
    assert seen == ["Run[0]", "prefill", "sampling", "<pop>", "<pop>", "decode[1]", "sampling",
                    "<pop>", "<pop>", "<pop>"]  # fmt: skip


PROGRAM = textwrap.dedent(
    """
    import sys
    assert "torch" not in sys.modules  # the sitecustomize imported nothing heavy
    import torch
    from torch import nn
    import torch.nn.functional as F

    class Attn(nn.Module):
        def __init__(self):
            super().__init__()
            self.q_proj, self.o_proj = nn.Linear(8, 8), nn.Linear(8, 8)
        def forward(self, x):
            q = self.q_proj(x)
            a = F.scaled_dot_product_attention(q[:, None], q[:, None], q[:, None])[:, 0]
            return self.o_proj(a * 2)

    class Mlp(nn.Module):
        def __init__(self):
            super().__init__()
            self.gate_proj, self.down_proj, self.act_fn = nn.Linear(8, 8), nn.Linear(8, 8), nn.SiLU()
        def forward(self, x):
            return self.down_proj(self.act_fn(self.gate_proj(x)) * x)

    class Layer(nn.Module):
        def __init__(self):
            super().__init__()
            self.input_layernorm, self.self_attn, self.mlp = nn.LayerNorm(8), Attn(), Mlp()
        def forward(self, x):
            x = x + self.self_attn(self.input_layernorm(x))
            return x + self.mlp(x)

    class Inner(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed_tokens = nn.Embedding(10, 8)
            self.layers = nn.ModuleList([Layer()])
            self.norm = nn.LayerNorm(8)
        def forward(self, ids):
            x = self.embed_tokens(ids)
            for layer in self.layers:
                x = layer(x)
            return self.norm(x)

    class LM(nn.Module):
        def __init__(self):
            super().__init__()
            self.model, self.lm_head = Inner(), nn.Linear(8, 10)
        def forward(self, input_ids):
            return self.lm_head(self.model(input_ids))

    lm = LM()
    nn.Linear(8, 8)(torch.zeros(2, 8))  # a module that is no model: no range
    with torch.no_grad():
        for run in range(2):  # an own loop: each prefill starts a run
            ids = torch.zeros(2, 5, dtype=torch.long)
            for step in range(2):
                logits = lm(input_ids=ids)
                ids = logits[:, -1:].argmax(-1)
    print("done")
    """
)


def _run(tmp_path: Path, env_extra: dict[str, str], program: str = PROGRAM) -> tuple[str, Path]:
    trace = tmp_path / "ranges.txt"
    env = annotation_env({k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    env.update(ROOFLENS_ANNOTATE_TRACE=str(trace), **env_extra)
    proc = subprocess.run(
        [sys.executable, "-c", program], env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout + proc.stderr, trace


def test_sitecustomize_marks_an_own_loop(tmp_path: Path) -> None:
    out, trace = _run(tmp_path, {})
    assert "done" in out and "rooflens annotate" not in out
    lines = trace.read_text().split()
    depth = 0
    for x in lines:
        depth += -1 if x == "<pop>" else 1
        assert depth >= 0
    assert depth == 0
    step = ["embedding", "<pop>", "Layer[0]#Run[0]", "attn_norm", "<pop>", "attention", "q_proj",
            "<pop>", "attention", "<pop>", "o_proj", "<pop>", "<pop>", "attn_residual", "<pop>",
            "act", "gate_proj", "<pop>", "act", "<pop>", "down_proj", "<pop>", "<pop>",
            "mlp_residual", "<pop>", "<pop>", "final_norm", "<pop>", "lm_head", "<pop>"]  # fmt: skip
    run0 = ["Run[0]", "prefill", *step, "sampling", "<pop>", "<pop>",
            "decode[1]", *step, "sampling", "<pop>", "<pop>", "<pop>"]  # fmt: skip
    run1 = [x.replace("Run[0]", "Run[1]") for x in run0]
    assert lines == run0 + run1


def test_off_switch_and_chained_sitecustomize(tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    (other / "sitecustomize.py").write_text("print('other sitecustomize ran')\n")
    env = {"PYTHONPATH": os.pathsep.join([str(ANNOTATE_DIR), str(other)])}
    out, trace = _run(tmp_path, env)
    assert "other sitecustomize ran" in out and trace.exists()
    trace.unlink()
    out, trace = _run(tmp_path, {"ROOFLENS_ANNOTATE": "0"})
    assert "done" in out and not trace.exists()


def test_profile_puts_the_annotation_on_pythonpath_for_a_command_only() -> None:
    from rooflens.capture.profile import CaptureOptions, _program_env

    env = _program_env(
        Path(sys.executable), CaptureOptions(["python3", "x.py"], None, annotate=True)
    )
    assert env["PYTHONPATH"].split(os.pathsep)[0] == str(ANNOTATE_DIR)
    plain = _program_env(
        Path(sys.executable), CaptureOptions(["python3", "x.py"], None, annotate=False)
    )
    assert str(ANNOTATE_DIR) not in plain.get("PYTHONPATH", "")


COMPILED = PROGRAM.replace(
    "lm = LM()",
    textwrap.dedent(
        """
        lm = LM()

        def make_step(model):  # like transformers' get_compiled_call: a compiled model call
            return torch.compile(model.__call__, backend="eager")
        """
    ),
).replace(
    "            logits = lm(input_ids=ids)",
    "            logits = (lm if step == 0 else make_step(lm))(input_ids=ids)",
) + textwrap.dedent(
    """
    from torch._dynamo.utils import counters
    print("graph breaks", sum(counters["graph_break"].values()))
    """
)


def test_a_compiled_step_runs_whole_and_is_marked_as_one_step(tmp_path: Path) -> None:
    """A compiled decode step (what transformers' get_compiled_call returns; CUDA graphs with
    mode='reduce-overhead') gets its run and phase, no module range, and no graph break."""
    table = tmp_path / "table.toml"
    text = (ANNOTATE_DIR / "modules.toml").read_text()
    table.write_text(text.replace("step_factories = [", 'step_factories = ["__main__:make_step", '))
    out, trace = _run(tmp_path, {"ROOFLENS_ANNOTATE_TABLE": str(table)}, COMPILED)
    assert "graph breaks 0" in out
    lines = trace.read_text().split()
    decode = lines[lines.index("decode[1]") :]
    assert decode[:4] == ["decode[1]", "sampling", "<pop>", "<pop>"]
    assert [x for x in lines if x.startswith(("Run", "prefill", "decode"))] == [
        "Run[0]", "prefill", "decode[1]", "Run[1]", "prefill", "decode[1]"
    ]  # fmt: skip


FAKE_NSYS = r"""#!PYTHON
import os, shutil, subprocess, sys
a = sys.argv[1:]
if a[:1] == ["--version"]:
    print("NVIDIA Nsight Systems version 2099.1.0-fake"); sys.exit(0)
if a[:1] == ["profile"]:
    open(a[a.index("-o") + 1] + ".nsys-rep", "wb").write(b"fake report")
    sys.exit(subprocess.call(a[a.index("-f") + 2 :]))  # runs the program, as nsys does
if a[:1] == ["export"]:
    shutil.copy(os.environ["FAKE_SQLITE"], a[a.index("-o") + 1]); sys.exit(0)
sys.exit(9)
"""
FAKE_SMI = r"""#!PYTHON
import sys
if "-L" in sys.argv:
    print("GPU 0: NVIDIA H200 (UUID: GPU-00000000-fake)"); sys.exit(0)
print("NVIDIA H200, 570.00, 143771 MiB")
"""


@pytest.mark.parametrize("rc", [0, 3])
def test_profile_runs_a_command_annotated_and_reports_its_failure(tmp_path: Path, rc: int) -> None:
    """``rooflens profile -- python3 …`` (nsys faked, the program real): the program runs with the
    annotation loaded; when it fails, one line names its exit code and last output, exit 2."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, text in (("nsys", FAKE_NSYS), ("nvidia-smi", FAKE_SMI)):
        (bin_dir / name).write_text(text.replace("PYTHON", sys.executable, 1))
        (bin_dir / name).chmod(0o755)
    sqlite = tmp_path / "fixture.sqlite"
    sqlite.write_bytes(
        (Path(__file__).parents[1] / "fixtures/h200_llama3_8b_prefill/timeline.sqlite").read_bytes()
    )
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "ROOFLENS_NSYS")}
    env.update(PATH=f"{bin_dir}{os.pathsep}{env['PATH']}", FAKE_SQLITE=str(sqlite))
    program = (
        "import sys; print('annotated', '_rooflens_annotate_install' in sys.modules);"
        f" print('boom'); sys.exit({rc})"
    )
    out = tmp_path / "run"
    r = subprocess.run(
        [sys.executable, "-m", "rooflens", "profile", "--skip-ncu", "--out", str(out), "--",
         sys.executable, "-c", program],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert (out / "logs/nsys.log").is_file(), r.stderr
    log = (out / "logs/nsys.log").read_text()
    assert "annotated True" in log
    manifest = (out / "manifest.json").read_text()
    assert '"annotate": true' in manifest
    if rc == 0:
        assert r.returncode == 0, r.stderr
    else:
        assert r.returncode == 2
        (line,) = r.stderr.strip().splitlines()[-1:]
        assert line.startswith("rooflens: ")
        assert "the profiled program exited with code 3; its last output: boom" in line
