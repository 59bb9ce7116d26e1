"""A folder that happens to share a preset's name does not hide the preset."""

from __future__ import annotations

from pathlib import Path

import pytest

from rooflens.errors import InputError
from rooflens.model import load_architecture


def test_preset_wins_over_a_same_named_folder_without_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "gpt2").mkdir()  # e.g. a run folder named after the model
    arch = load_architecture("gpt2")
    assert (arch.hidden_size, arch.num_layers) == (768, 12)


def test_a_same_named_folder_with_config_is_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "gpt2").mkdir()
    (tmp_path / "gpt2" / "config.json").write_text('{"model_type": "gpt2", "n_embd": 64, "n_head": 4, '
                                                   '"n_layer": 2, "vocab_size": 100, "architectures": ["GPT2LMHeadModel"]}')
    assert load_architecture("gpt2").hidden_size == 64


def test_other_folders_still_need_a_config(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no config.json"):
        load_architecture(str(tmp_path))
