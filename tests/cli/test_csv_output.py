"""`predict --sweep --csv`: never over an existing file without --force, and with --force the
file is replaced, never written through a symbolic link."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def _sweep(csv: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rooflens", "predict", "--model", "gpt2", "--sweep", "--batch",
         "1,2", "--csv", str(csv), *extra],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_csv_force_replaces_a_link_instead_of_following_it(tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("keep")
    link = tmp_path / "sweep.csv"
    link.symlink_to(outside)
    r = _sweep(link)
    assert r.returncode == 2 and "--force" in r.stderr and outside.read_text() == "keep"
    r = _sweep(link, "--force")
    assert r.returncode == 0, r.stderr
    assert outside.read_text() == "keep" and not link.is_symlink()
    lines = link.read_text().splitlines()
    assert len(lines) == 3  # the header and one row per batch size


def test_csv_under_a_file_is_one_line(tmp_path: Path) -> None:
    a_file = tmp_path / "f"
    a_file.write_text("x")
    r = _sweep(a_file / "sweep.csv")
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "f: exists and is not a folder; choose another --csv" in r.stderr
