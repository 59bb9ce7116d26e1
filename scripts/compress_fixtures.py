"""Compress the nsys SQLite exports of run folders in place: ``timeline.sqlite`` →
``timeline.sqlite.gz`` (gzip -9, no name or time in the header, so the bytes depend only on
the export), and the run folder's manifest names the new file.  rooflens reads the compressed
export as it reads the plain one (rooflens.traces.nsys_sqlite), so the data are the capture's,
only stored in a quarter of the space: the repository's whole tree travels to the GPU machine
with every call, 64 MiB at most.

Usage: python scripts/compress_fixtures.py RUN_DIR [RUN_DIR ...]
"""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path


def compress(run_dir: Path) -> tuple[int, int] | None:
    """Compress one run folder's export; (bytes before, after), or None when there is none."""
    manifest_path = run_dir / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    name = (manifest.get("artifacts") or {}).get("nsys_sqlite")
    if not name or not name.endswith(".sqlite") or not (run_dir / name).is_file():
        return None
    plain = run_dir / name
    packed = plain.with_name(name + ".gz")
    data = plain.read_bytes()
    with packed.open("wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw,
                                                 compresslevel=9, mtime=0) as gz:  # fmt: skip
        gz.write(data)
    if gzip.decompress(packed.read_bytes()) != data:
        packed.unlink()
        raise SystemExit(f"{packed}: does not decompress to {plain}; left as it was")
    manifest["artifacts"]["nsys_sqlite"] = packed.name
    manifest_path.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n",
                             encoding="utf-8")  # fmt: skip
    plain.unlink()
    return len(data), packed.stat().st_size


def main(argv: list[str]) -> None:
    before = after = 0
    for arg in argv:
        got = compress(Path(arg))
        if got:
            before, after = before + got[0], after + got[1]
            print(f"{arg}: {got[0] / 2**20:.1f} -> {got[1] / 2**20:.1f} MiB")
    print(f"total {before / 2**20:.1f} -> {after / 2**20:.1f} MiB")


if __name__ == "__main__":
    main(sys.argv[1:])
