"""Mutation fuzzing of the native Kineto scanner (run by scripts/sanitize.sh under ASan/UBSan).

    python scripts/fuzz_kineto_scan.py TRACE.json SEED ITERATIONS   (imports _fastread from $FASTREAD_DIR)

Each iteration mutates the events array of TRACE.json (byte flips, deletions, JSON tokens,
copies, truncation) and feeds it to a Scanner in random chunk sizes and limits, as the Python
driver does; a malformed input must end in ValueError, never a crash or an out-of-bounds read.
"""

import os
import random
import sys

sys.path.insert(0, os.environ.get("FASTREAD_DIR", "."))
import _fastread as f  # noqa: E402  (the sanitizer build in FASTREAD_DIR)

base = open(sys.argv[1], "rb").read()
start = base.index(b"[", base.index(b'"traceEvents"')) + 1
body = base[start:]
rng = random.Random(int(sys.argv[2]))
N = int(sys.argv[3])
TOKENS = [b'"', b"\\", b"{", b"}", b"[", b"]", b",", b":", b"\\u12", b"\\ud800", b"1e999", b"-",
          b"\xff", b"\xe2\x82", b"\x00", b"12345678901234567890123", b"0.", b"tru", b" ", b"\n"]
errors = 0
for _ in range(N):
    data = bytearray(body if rng.random() < 0.7 else body[: rng.randrange(1, len(body))])
    for _mutation in range(rng.randint(1, 12)):
        if not data:
            break
        op, pos = rng.random(), rng.randrange(len(data))
        if op < 0.3:
            data[pos] = rng.randrange(256)
        elif op < 0.5:
            del data[pos : pos + rng.randint(1, 80)]
        elif op < 0.85:
            data[pos:pos] = rng.choice(TOKENS)
        else:
            data[pos:pos] = data[rng.randrange(len(data)) :][: rng.randint(1, 200)]
    data = bytes(data)
    s = f.Scanner(mid_array=rng.random() < 0.2)
    pos, size = 0, rng.choice([1, 7, 64, 100, 4096, 1 << 20])
    try:
        while pos < len(data):
            view = data[pos : pos + size]
            limit = -1 if rng.random() < 0.8 else rng.randrange(len(view) + 1)
            consumed, status = s.feed(view, limit)
            assert 0 <= consumed <= len(view), (consumed, len(view))
            if status:
                break
            if consumed == 0:
                if pos + size >= len(data):
                    break
                size *= 2
                continue
            pos += consumed
    except ValueError:
        errors += 1
    tables, names = s.take()
    for ints, ts, dur, n in tables.values():
        assert all(len(memoryview(c)) == 8 * n for c in (*ints, ts, dur))
print("iterations", N, "errors", errors)
