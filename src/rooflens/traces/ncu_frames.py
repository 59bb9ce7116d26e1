"""The block framing of an Nsight Compute report (``.ncu-rep``), checked without decoding it.

NVIDIA's reader returns the kernels before a cut without a word, and a file that is not a report
at all reads as "no kernels".  Walking the framing first tells these apart, in bounded time.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import BinaryIO

from rooflens.errors import InputError

#: A report starts with this magic, a little-endian uint32 length and a file header; then come
#: blocks, each a uint32 length, a protobuf block header whose field 5 is the payload's size in
#: bytes, and that payload.  (Read from Nsight Compute 2025.3 files: NVIDIA does not document it.)
NCU_MAGIC = b"NVR\x00"
_PAYLOAD_FIELD = 5


def check_frames(path: Path) -> list[str]:
    """Walk the block framing of a ``.ncu-rep`` without decoding it: ``InputError`` when the file
    is not a report, a warning when its last block is cut short (a truncated file).

    Only sizes are read, each checked against the file size before anything is skipped; the
    walk moves forward by at least 4 bytes a block, so it ends on any input.
    """
    size = path.stat().st_size
    with path.open("rb") as fh:
        if fh.read(4) != NCU_MAGIC:
            raise InputError(path, "not an Nsight Compute report (no NVR header)")
        pos, blocks = 4, 0
        while pos < size:
            head = fh.read(4)
            if len(head) < 4:
                return [_cut(pos, size, blocks)]
            (n,) = struct.unpack("<I", head)
            if n > _MAX_HEADER_BYTES:
                return []  # not the framing this check knows: leave it to NVIDIA's reader
            if pos + 4 + n > size:
                return [_cut(pos, size, blocks)]
            header = fh.read(n)
            pos += 4 + n
            if pos == 8 + n and blocks == 0 and pos <= size:  # the file header has no payload
                blocks = 1
                continue
            payload = _varint_field(header, _PAYLOAD_FIELD)
            if payload is None:
                return []  # not the framing this check knows: leave it to NVIDIA's reader
            if pos + payload > size:
                return [_cut(pos, size, blocks)]
            if not _messages_fill(fh, payload):
                raise InputError(
                    path,
                    f"corrupt Nsight Compute report: the messages of block {blocks + 1} "
                    f"(from byte {pos}) do not fill it",
                )
            pos += payload
            blocks += 1
    return []


#: Block headers are small (under 10 kB in the fixtures); a larger length is not this framing.
_MAX_HEADER_BYTES = 16 << 20


def _messages_fill(fh: BinaryIO, payload: int) -> bool:
    """Whether the payload (at the file position, ``payload`` bytes) is whole uint32-length-
    prefixed messages.  NVIDIA's reader trusts these lengths, and a corrupt one makes it
    ``abort()``.  Leaves the file at the payload's end; each step moves ≥ 4 bytes."""
    end = fh.tell() + payload
    at = fh.tell()
    while at < end:
        fh.seek(at)
        head = fh.read(4)
        if len(head) < 4:
            return False
        at += 4 + struct.unpack("<I", head)[0]
    fh.seek(end)
    return at == end


def _cut(pos: int, size: int, blocks: int) -> str:
    return (
        f"the report is truncated: its block {blocks + 1} (from byte {pos}) runs past the end "
        f"of the file ({size} bytes); the kernels it held are lost or incomplete"
    )


def _varint_field(msg: bytes, number: int) -> int | None:
    """The value of varint field ``number`` of protobuf message ``msg`` (``None``: absent or
    ``msg`` is not protobuf).  Bounded: each step consumes at least one byte."""
    i, n = 0, len(msg)
    while i < n:
        key, i = _varint(msg, i)
        if key is None:
            return None
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _varint(msg, i)
            if value is None:
                return None
            if field == number:
                return value
        elif wire == 2:
            length, i = _varint(msg, i)
            if length is None:
                return None
            i += length
        elif wire in (1, 5):
            i += 8 if wire == 1 else 4
        else:
            return None
    return None


def _varint(msg: bytes, i: int) -> tuple[int | None, int]:
    value = shift = 0
    while i < len(msg) and shift < 64:
        b = msg[i]
        i += 1
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return value, i
        shift += 7
    return None, i
