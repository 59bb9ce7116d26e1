"""Finding the NVIDIA command-line tools (nsys, ncu) on this machine — shared by the capture
steps and the .nsys-rep reader (a leaf module: it imports only errors, so readers need not import
capture).

nsys is often not on PATH: Nsight Compute ships a copy (``…/nsight-compute/<ver>/host/target-linux-x64/nsys``)
and CUDA toolkits install it under ``/opt/nvidia/nsight-systems/<ver>/bin``.  We look on PATH first,
then in those folders (newest version first), and say clearly what is missing.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
from pathlib import Path

from rooflens.errors import ToolMissingError

# Environment variables that name a tool explicitly win over every search.
_ENV_OVERRIDE = {"nsys": "ROOFLENS_NSYS", "ncu": "ROOFLENS_NCU"}

_KNOWN_LOCATIONS: dict[str, list[str]] = {
    "nsys": [
        "/opt/nvidia/nsight-systems/*/bin/nsys",
        "/opt/nvidia/nsight-systems/*/target-linux-x64/nsys",
        "/usr/local/cuda*/bin/nsys",
        "/usr/local/cuda*/nsight-systems*/bin/nsys",
        "/opt/nvidia/nsight-compute/*/host/target-linux-x64/nsys",
        "/usr/local/cuda*/nsight-compute*/host/target-linux-x64/nsys",
    ],
    "ncu": [
        "/opt/nvidia/nsight-compute/*/ncu",
        "/usr/local/cuda*/bin/ncu",
        "/usr/local/cuda*/nsight-compute*/ncu",
    ],
}

_INSTALL_HINT = {
    "nsys": "install Nsight Systems (it also ships inside Nsight Compute) or set ROOFLENS_NSYS=/path/to/nsys",
    "ncu": "install Nsight Compute or set ROOFLENS_NCU=/path/to/ncu",
}


def _version_key(path: str) -> tuple[int, ...]:
    """Sort key that puts the newest versioned install folder first."""
    nums: list[int] = []
    for part in Path(path).parts:
        if part[:1].isdigit():
            nums.extend(int(x) for x in part.split(".") if x.isdigit())
    return tuple(nums)


def find_tool(name: str, *, required: bool = True) -> Path | None:
    """Path of the ``nsys`` or ``ncu`` executable, or ``None`` when absent and not ``required``.

    Raises :class:`ToolMissingError` with an install hint when ``required`` and nothing is found.
    """
    override = os.environ.get(_ENV_OVERRIDE.get(name, ""), "")
    if override:
        if os.access(override, os.X_OK):
            return Path(override)
        raise ToolMissingError(f"{_ENV_OVERRIDE[name]}={override} is not an executable file")
    on_path = shutil.which(name)
    if on_path:
        return Path(on_path)
    candidates: list[str] = []
    for pattern in _KNOWN_LOCATIONS.get(name, []):
        candidates.extend(p for p in glob.glob(pattern) if os.access(p, os.X_OK))
    if candidates:
        return Path(sorted(candidates, key=_version_key, reverse=True)[0])
    if required:
        raise ToolMissingError(
            f"{name} not found on PATH or in the usual install folders: {_INSTALL_HINT[name]}"
        )
    return None


def install_hint(name: str) -> str:
    """How to get ``name`` (nsys or ncu), as a clause for a one-line message."""
    return _INSTALL_HINT[name]


def gpu_count() -> int | None:
    """GPUs ``nvidia-smi -L`` lists (``CUDA_VISIBLE_DEVICES`` narrows them), or None when unknown."""
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return None
    try:
        out = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return None
    n = sum(1 for ln in out.stdout.splitlines() if ln.startswith("GPU "))
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        n = min(n, len([v for v in visible.split(",") if v.strip()]))
    return n


def gpu_problem() -> str | None:
    """``None`` when an NVIDIA GPU is visible here, else one clause saying why not.

    ``nvidia-smi -L`` must list at least one ``GPU n:`` line; without nvidia-smi on PATH, a
    ``/dev/nvidia<n>`` device node is taken as a GPU (containers without the tools).
    """
    smi = shutil.which("nvidia-smi")
    if smi is None:
        if glob.glob("/dev/nvidia[0-9]*"):
            return None
        return "no NVIDIA GPU found (nvidia-smi is not on PATH and there is no /dev/nvidia*)"
    try:
        out = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"nvidia-smi could not run ({exc})"
    if out.returncode == 0 and any(ln.startswith("GPU ") for ln in out.stdout.splitlines()):
        return None
    said = " ".join((out.stdout + out.stderr).split())[:200]
    return f"nvidia-smi lists no GPU (exit code {out.returncode}{': ' + said if said else ''})"


def tool_env(tool: Path) -> dict[str, str]:
    """Environment for running ``tool``: ours, plus extra library folders nsys's importer may need.

    On machines lacking ``libdw.so.1`` (GPU.md), unpack Debian's libdw1/libelf1 into a folder and
    name it in ``ROOFLENS_EXTRA_LIBS``; it is prepended to ``LD_LIBRARY_PATH`` for tool calls only.
    """
    env = dict(os.environ)
    extra = env.get("ROOFLENS_EXTRA_LIBS", "")
    if extra:
        env["LD_LIBRARY_PATH"] = os.pathsep.join(
            p for p in (extra, env.get("LD_LIBRARY_PATH", "")) if p
        )
    return env
