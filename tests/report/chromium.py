"""Headless Chromium driver for the HTML tests: load a page, return its DOM and console lines."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--enable-logging=stderr",
    "--v=0",
]


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def load(page: Path, *extra: str) -> tuple[str, list[str]]:
    """(DOM after scripts ran, console messages) of ``page`` in headless Chromium."""
    exe = find_chromium()
    assert exe, "chromium not installed"
    with tempfile.TemporaryDirectory() as profile:
        proc = subprocess.run(
            [
                exe,
                *FLAGS,
                f"--user-data-dir={profile}",
                *extra,
                "--dump-dom",
                page.resolve().as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
    console = [line for line in proc.stderr.splitlines() if ":CONSOLE" in line]
    return proc.stdout, console


def screenshot(page: Path, out: Path, size: str = "1400,2000") -> None:
    exe = find_chromium()
    assert exe, "chromium not installed"
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [
                exe,
                *FLAGS,
                f"--user-data-dir={profile}",
                f"--screenshot={out.resolve()}",
                f"--window-size={size}",
                page.resolve().as_uri(),
            ],
            capture_output=True,
            timeout=120,
            check=True,
        )
