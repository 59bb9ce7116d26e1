"""Shared pytest setup: GPU tests (marker ``gpu``) run only where torch sees a CUDA GPU."""

from __future__ import annotations

from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    """``cli(args) -> (exit code, stdout + stderr)`` of one in-process ``rooflens`` call."""
    from rooflens.cli import main

    def run(args: list[str]) -> tuple[int, str]:
        try:
            main(args)
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
        out = capsys.readouterr()
        return code, out.out + out.err

    return run


def _gpu_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if _gpu_available():
        return
    skip = pytest.mark.skip(reason="needs an NVIDIA GPU (marker gpu)")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


def pytest_sessionstart(session: pytest.Session) -> None:
    """In CI the HTML report must really be checked in a browser: no silent skip."""
    import os
    import shutil

    if os.environ.get("CI") == "true" and not any(
        shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome")
    ):
        raise pytest.UsageError(
            "CI=true but no chromium on PATH: scripts/test.sh installs Debian's chromium"
        )


@pytest.fixture
def without_nvtx(tmp_path: Path):  # type: ignore[no-untyped-def]
    """``without_nvtx(sqlite) -> Path``: a copy of an nsys export with its NVTX ranges deleted —
    the same capture as a plain ``nsys profile`` of a program with no annotation would give."""
    import shutil
    import sqlite3

    def strip(src: Path) -> Path:
        dst = tmp_path / "plain.sqlite"
        if src.suffix == ".gz":  # a compressed export (scripts/compress_fixtures.py)
            import gzip

            with gzip.open(src) as f, dst.open("wb") as out:
                shutil.copyfileobj(f, out)
        else:
            shutil.copy(src, dst)
        con = sqlite3.connect(dst)
        con.execute("DELETE FROM NVTX_EVENTS")
        con.commit()
        con.close()
        return dst

    return strip
