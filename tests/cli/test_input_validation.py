"""Bad inputs of every kind end in one line and exit 2, before any work: configs (not UTF-8,
absurd sizes, impossible MoE routing, a path too long), run-folder manifests with wrong types,
NaN or missing sections, and workload counts beyond any real setup."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest

FIX = Path(__file__).parents[1] / "fixtures" / "h200_llama3_8b_prefill"


def rooflens(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rooflens", *args], capture_output=True, text=True, timeout=120
    )


def one_line_error(r: subprocess.CompletedProcess[str]) -> str:
    assert r.returncode == 2, (r.returncode, r.stdout[-500:], r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rooflens: "), r.stderr
    return lines[0]


def preset(name: str) -> dict[str, object]:
    text = resources.files("rooflens.model.presets").joinpath(f"{name}.json").read_text("utf-8")
    data: dict[str, object] = json.loads(text)
    return data


def write_config(tmp_path: Path, **changes: object) -> Path:
    cfg = preset("mixtral-8x7b")
    cfg.update(changes)
    path = tmp_path / "config.json"
    path.write_text(json.dumps(cfg))
    return path


def test_config_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_bytes(b'{"model_type": "llama", "name": "\xff\xfe"}')
    line = one_line_error(rooflens("predict", "--model", str(path)))
    assert "not UTF-8" in line and str(path) in line


def test_path_component_too_long(tmp_path: Path) -> None:
    line = one_line_error(
        rooflens("predict", "--model", str(tmp_path / ("c" * 300) / "config.json"))
    )
    assert "too long" in line.lower()


@pytest.mark.parametrize(
    "changes, words",
    [
        ({"num_hidden_layers": 2**31}, "'num_layers' = 2147483648 is beyond any real model"),
        ({"hidden_size": 2**40}, "'hidden_size' = 1099511627776 is beyond"),
        ({"vocab_size": 2**30}, "'vocab_size' = 1073741824 is beyond"),
        ({"num_experts_per_tok": 9}, "routed to 9 experts but the model has only 8"),
        ({"num_local_experts": -3}, "must be a positive integer, got -3"),
    ],
)
def test_absurd_configs_are_refused_before_computing(
    tmp_path: Path, changes: dict[str, object], words: str
) -> None:
    line = one_line_error(rooflens("predict", "--model", str(write_config(tmp_path, **changes))))
    assert words in line, line


def test_top_k_equal_to_experts_is_fine(tmp_path: Path) -> None:
    """The bound is top_k ≤ experts (every expert active), and the bytes stay positive."""
    r = rooflens("predict", "--model", str(write_config(tmp_path, num_experts_per_tok=8)), "--json")
    assert r.returncode == 0, r.stderr
    ops = json.loads(r.stdout)["prediction"]["operators"]
    assert ops and all(o["bytes"] >= 0 and o["flops"] >= 0 for o in ops)


@pytest.mark.parametrize(
    "args, words",
    [
        (["--output-len", str(2**22 + 1)], f"--output-len {2**22 + 1} is beyond any real workload"),
        (["--batch", str(2**40)], f"--batch {2**40} is beyond"),
        (["--sweep", "--batch", ",".join(map(str, range(1, 101))), "--input-len",
          ",".join(map(str, range(1, 101))), "--output-len", ",".join(map(str, range(1, 12)))],
         "--sweep of 110,000 rows"),
    ],
)  # fmt: skip
def test_workload_bounds(args: list[str], words: str) -> None:
    assert words in one_line_error(rooflens("predict", "--model", "llama-3-8b", *args))


def _run_dir(tmp_path: Path, manifest_text: str) -> Path:
    run = tmp_path / "run"
    run.mkdir()
    shutil.copy(FIX / "kernels.csv", run / "kernels.csv")
    (run / "manifest.json").write_text(manifest_text)
    return run


GOOD = {"settings": {"model": "llama-3-8b", "batch": 1}, "artifacts": {"ncu_csv": "kernels.csv"}}


@pytest.mark.parametrize(
    "manifest, words",
    [
        ({**GOOD, "settings": {"model": "llama-3-8b", "batch": "1"}}, "settings.batch must be an integer, got str"),
        ({**GOOD, "settings": {"model": 7}}, "settings.model must be text, got int"),
        ({**GOOD, "settings": {"batch": True}}, "settings.batch must be an integer, got bool"),
        ({**GOOD, "settings": {"output_len": 0}}, "settings.output_len must be an integer ≥ 1"),
        ({**GOOD, "settings": 5}, "settings must be an object, got int"),
        ({**GOOD, "artifacts": ["kernels.csv"]}, "artifacts must be an object of file names"),
        ({**GOOD, "artifacts": {"ncu_csv": "../../etc/passwd"}}, "artifacts must be an object of file names"),
        ({**GOOD, "steps": "all"}, "steps must be a list of objects"),
        ([1, 2], "the manifest must be a JSON object"),
        ({"settings": {"model": "llama-3-8b"}}, "no profile found"),
    ],
)  # fmt: skip
def test_bad_manifest_is_one_line(tmp_path: Path, manifest: object, words: str) -> None:
    run = _run_dir(tmp_path, json.dumps(manifest))
    line = one_line_error(rooflens("report", str(run), "--out", str(tmp_path / "o")))
    assert words in line, line
    assert "manifest.json" in line or words == "no profile found", line
    assert not (tmp_path / "o").exists()


def test_manifest_with_nan_is_one_line(tmp_path: Path) -> None:
    run = _run_dir(tmp_path, '{"settings": {"model": "llama-3-8b", "batch": NaN}}')
    line = one_line_error(rooflens("report", str(run), "--out", str(tmp_path / "o")))
    assert "manifest.json: not valid JSON" in line


def test_manifest_of_a_real_capture_passes(tmp_path: Path) -> None:
    from rooflens.capture.rundir import check_manifest

    for manifest in sorted(FIX.parent.glob("*/manifest.json")):
        check_manifest(json.loads(manifest.read_text()), manifest)
