"""`.nsys-rep` → SQLite export: never overwrite a user's file; say how to export without nsys."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from rooflens.errors import ToolMissingError
from rooflens.traces import load_timeline

from .synth import K, R, Synth, write_nsys


def _fake_nsys(tmp_path: Path, source: Path) -> Path:
    """A stand-in `nsys` that 'exports' by copying a prepared SQLite file to the -o path."""
    script = tmp_path / "bin" / "nsys"
    script.parent.mkdir()
    script.write_text(
        "#!/bin/sh\n"
        'while [ "$1" != "-o" ]; do shift; done\n'
        f'cp "{source}" "$2"\n'
        'echo "$2" >> "$(dirname "$0")/calls"\n'
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


@pytest.fixture
def rep(tmp_path: Path) -> Path:
    p = tmp_path / "run" / "timeline.nsys-rep"
    p.parent.mkdir()
    p.write_bytes(b"binary nsys report")
    return p


def test_without_nsys_the_error_gives_the_export_command(
    rep: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ROOFLENS_NSYS", raising=False)
    monkeypatch.setenv("PATH", str(rep.parent))
    from rooflens.tools import find_tool

    if find_tool("nsys", required=False) is not None:
        pytest.skip("nsys is installed on this machine")
    with pytest.raises(ToolMissingError, match="nsys export --type sqlite -o .*timeline.sqlite"):
        load_timeline(rep)


def test_exports_next_to_the_report(
    tmp_path: Path, rep: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = write_nsys(
        tmp_path / "src.sqlite", Synth(kernels=[K("k", 10, 20, 1, 5)], ranges=[R("Run[0]", 0, 30)])
    )
    monkeypatch.setenv("ROOFLENS_NSYS", str(_fake_nsys(tmp_path, src)))
    trace = load_timeline(rep)
    assert len(trace.kernels) == 1
    assert rep.with_suffix(".sqlite").exists()


def test_an_older_user_file_is_not_overwritten(
    tmp_path: Path, rep: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = write_nsys(tmp_path / "src.sqlite", Synth(kernels=[K("k", 10, 20, 1, 5)]))
    beside = rep.with_suffix(".sqlite")
    beside.write_bytes(b"the user's own file")
    os.utime(beside, (1, 1))  # older than the report: not a fresh export of it
    nsys = _fake_nsys(tmp_path, src)
    monkeypatch.setenv("ROOFLENS_NSYS", str(nsys))
    trace = load_timeline(rep)
    assert len(trace.kernels) == 1
    assert beside.read_bytes() == b"the user's own file"
    (call,) = (nsys.parent / "calls").read_text().split()
    assert Path(call).parent != rep.parent  # exported into a temporary folder


def test_a_fresh_export_is_reused(
    tmp_path: Path, rep: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_nsys(
        rep.with_suffix(".sqlite"), Synth(kernels=[K("a", 10, 20, 1, 5), K("b", 30, 40, 2, 25)])
    )
    monkeypatch.setenv("ROOFLENS_NSYS", "/nonexistent/nsys")  # would fail if called
    assert len(load_timeline(rep).kernels) == 2


def test_one_export_command_for_the_reader_and_the_capture() -> None:
    from rooflens.capture import nsys as capture_nsys
    from rooflens.traces.nsys_rep import export_command

    assert capture_nsys.export_command is export_command
    argv = export_command(Path("/opt/nsys/bin/nsys"), Path("r/x.nsys-rep"), Path("r/x.sqlite"))
    assert argv == ["/opt/nsys/bin/nsys", "export", "--type", "sqlite", "--force-overwrite",
                    "false", "-o", "r/x.sqlite", "r/x.nsys-rep"]  # fmt: skip
