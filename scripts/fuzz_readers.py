"""Long mutation-fuzzing campaigns of the trace readers (CI runs the short Hypothesis version).

    python scripts/fuzz_readers.py --seconds 600                  # every reader, 10 minutes
    python scripts/fuzz_readers.py --count 5000 --reader kineto --backend python --seed 7
    python scripts/fuzz_readers.py --replay /tmp/rooflens-fuzz/kineto-native-3.json

Each input is a real capture under tests/fixtures mutated by tests/traces/mutate.py (byte flips,
deletions, structural tokens, duplicated regions, truncation, torn pages).  The contract: the
reader returns a valid result or raises RooflensError with a one-line message.  Any other
exception, an invalid result (negative kernel time, NaN, ...) or a multi-line message is a
failure: the input is written to --out and the exact command that reproduces it is printed.
The input being read is also kept as --out/pending-<reader>.<ext> until it is read, so a hard
crash (a signal in C code) leaves it behind.  Exit 1 when anything failed.
"""

from __future__ import annotations

import argparse
import os
import random
import shlex
import sys
import tempfile
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "traces"))
import mutate  # noqa: E402  (tests/traces/mutate.py, by path)

KINDS = list(mutate.SEEDS)


def _args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reader", action="append", choices=KINDS, help="repeatable; default: all")
    ap.add_argument("--backend", choices=["native", "python", "both"], default="both",
                    help="C extension, pure Python, or alternate (default)")  # fmt: skip
    ap.add_argument("--seconds", type=float, help="stop after this long")
    ap.add_argument("--count", type=int, help="stop after this many inputs (default 1000)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "rooflens-fuzz",
                    help="where failing inputs go (default: %(default)s)")  # fmt: skip
    ap.add_argument("--replay", type=Path, help="read one saved input and show what happens")
    return ap.parse_args(argv)


def _kind_of(path: Path) -> str:
    for kind, (_, suffix) in mutate.SEEDS.items():
        if path.name.endswith(suffix):
            return kind
    raise SystemExit(f"{path}: cannot tell the reader from the name; pass --reader")


def _replay(path: Path, kind: str | None) -> int:
    kind = kind or _kind_of(path)
    print(f"reader {kind}, ROOFLENS_NATIVE={os.environ.get('ROOFLENS_NATIVE', '(default)')}")
    print(mutate.run_reader(kind, path))  # a failure raises with its traceback
    return 0


def _command(path: Path, kind: str, backend: str) -> str:
    native = "1" if backend == "native" else "0"
    script = Path(sys.argv[0]).as_posix()
    return (f"ROOFLENS_NATIVE={native} {shlex.quote(sys.executable)} {shlex.quote(script)} "
            f"--replay {shlex.quote(str(path))} --reader {kind}")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    a = _args(argv)
    if a.replay:
        return _replay(a.replay, (a.reader or [None])[0])
    kinds = a.reader or KINDS
    seeds = {k: (mutate.FIXTURES / mutate.SEEDS[k][0]).read_bytes() for k in kinds}
    backends = ["native", "python"] if a.backend == "both" else [a.backend]
    count = a.count if a.count is not None else (None if a.seconds else 1000)
    rng = random.Random(a.seed)
    a.out.mkdir(parents=True, exist_ok=True)
    start, done, failures = time.monotonic(), 0, 0
    outcomes: dict[str, int] = {"ok": 0, "error": 0}
    while (count is None or done < count) and (
        a.seconds is None or time.monotonic() - start < a.seconds
    ):
        kind, backend = kinds[done % len(kinds)], backends[(done // len(kinds)) % len(backends)]
        suffix = mutate.SEEDS[kind][1]
        data = mutate.apply(seeds[kind], mutate.random_mutations(rng))
        pending = a.out / f"pending-{kind}{suffix}"
        pending.write_bytes(data)
        os.environ["ROOFLENS_NATIVE"] = "1" if backend == "native" else "0"
        try:
            outcomes[mutate.run_reader(kind, pending).split(":")[0]] += 1
        except BaseException as exc:  # noqa: BLE001 - every other outcome is a finding
            if isinstance(exc, KeyboardInterrupt):
                raise
            failures += 1
            saved = a.out / f"{kind}-{backend}-{done}{suffix}"
            saved.write_bytes(data)
            last = traceback.format_exception(exc)[-1].strip()
            print(
                f"FAIL {saved}: {last}\n  reproduce: {_command(saved, kind, backend)}", flush=True
            )
        done += 1
        pending.unlink()
    took = time.monotonic() - start
    print(f"{done} inputs in {took:.0f} s: {outcomes['ok']} read, {outcomes['error']} refused "
          f"in one line, {failures} failures (seed {a.seed})")  # fmt: skip
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
