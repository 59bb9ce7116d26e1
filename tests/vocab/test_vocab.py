"""One vocabulary: the workload's NVTX names and the predictor's operators are the ones vocab.py defines."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import rooflens.capture.workload as workload_module
from rooflens import vocab
from rooflens.hardware import lookup
from rooflens.model import list_presets, load_architecture
from rooflens.predict import Precision, Workload, predict


def _marked_names() -> set[str]:
    """Every literal NVTX name the built-in workload passes to ``mark(...)`` (read from its source)."""
    tree = ast.parse(Path(workload_module.__file__).read_text())
    names = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "mark"
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            names.add(str(node.args[0].value))
    return names


def test_workload_marks_only_vocabulary_names() -> None:
    names = _marked_names()
    assert {"qkv_proj", "attention", "lm_head", "prefill"} <= names  # the parse found the calls
    structural = {n for n in names if vocab.STRUCTURAL_RANGE_RE.match(n)}
    # "sample" (argmax of the logits) and "graph" (a CUDA-graph replay) place kernels, they are
    # no predictor operators.
    rest = names - structural - {"sample", "graph"}
    assert rest <= vocab.WORKLOAD_OPERATORS, rest - vocab.WORKLOAD_OPERATORS


@pytest.mark.parametrize("name", list_presets())
def test_predictor_operators_are_vocabulary_names(name: str) -> None:
    pred = predict(
        load_architecture(name), lookup("H200"), Workload(2, 64, 3, Precision.parse("fp16"))
    )
    ops = {o.name for o in pred.operators}
    assert ops <= set(vocab.OPERATOR_NAMES), ops - set(vocab.OPERATOR_NAMES)


def test_ranges_patterns_round_trip() -> None:
    assert vocab.RUN_RE.match(vocab.run_range(3))
    m = vocab.LAYER_RUN_RE.match(vocab.layer_range(5, 2))
    assert m and m.groups() == ("5", "2")
    assert (
        vocab.phase_range(0) == "prefill"
        and vocab.canonical_phase(vocab.phase_range(7)) == "decode"
    )
    assert vocab.operator_of_range("Layer[0]#Run[2]/qkv_proj") == "qkv_proj"
    assert vocab.operator_of_range("mlp.act") == "act"
    assert vocab.operator_of_range("Layer[0]#Run[2]") is None
    assert vocab.canonical_operator("gate_proj") == "gate_up_proj"


def test_dtype_precision_parses_to_the_same_compute_dtype() -> None:
    for dtype, compute in (
        ("fp16", "fp16"),
        ("bf16", "bf16"),
        ("bfloat16", "bf16"),
        ("fp8", "fp8"),
    ):
        assert Precision.parse(vocab.precision_for_dtype(dtype)).compute_dtype == compute


def test_expert_range_is_structural_and_parsed_back() -> None:
    name = vocab.expert_range(17)
    m = vocab.EXPERT_RE.match(name)
    assert m and m.group(1) == "17"
    assert vocab.STRUCTURAL_RANGE_RE.match(name) and vocab.operator_of_range(name) is None
