"""Nsight Compute raw-page CSV (``ncu --csv --page raw``) → :class:`~rooflens.traces.model.NcuKernels`.

Row 1 names the columns (``"ID"``, ``"Kernel Name"``, … then one column per metric), row 2
holds each column's unit (``usecond``, ``Mbyte``, ``Tbyte/second``, ``%`` — or base units with
``--print-units base``), then one row per kernel.  Numbers carry thousands separators.  Every
numeric value is converted here, once, with :func:`rooflens.units.scale_to_si`.
"""

from __future__ import annotations

import csv
import io
import math
import re
from pathlib import Path

from rooflens.errors import InputError
from rooflens.traces.files import check_input_file
from rooflens.traces.metrics import impossible, used_metrics
from rooflens.traces.model import NcuKernel, NcuKernels
from rooflens.units import UnitError, parse_number, scale_to_si

# Identity columns of the raw page: kept as text, never treated as metrics.
_ID_COLUMNS = {
    "ID", "Process ID", "Process Name", "Host Name", "Kernel Name", "Demangled Name", "Context",
    "Stream", "Block Size", "Grid Size", "Device", "CC", "Function Name", "Mangled Name",
}  # fmt: skip
_DIM3 = re.compile(r"\(\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*\)")
_OTHER_PAGES = {"Section Name", "Metric Name", "Metric Value"}


def _dim3(text: str) -> tuple[int, int, int] | None:
    m = _DIM3.search(text or "")
    return (int(m.group(1)), int(m.group(2)), int(m.group(3))) if m else None


_QUOTED = re.compile(r'"([^"]*)"')


def parse_nvtx_cell(cell: str) -> list[str]:
    """Range names of an NCU NVTX cell, outermost first.

    The raw page prints a thread's push/pop stack as ``798  "<default domain>:Run[2]:none:…"
    "<default domain>:prefill:…"``: a thread id, then one quoted
    ``Domain:Name:PL_Type:PL_Value:CLR_Type:Color:Msg_Type:Msg`` record per range.
    """
    names = []
    for rec in _QUOTED.findall(cell):
        parts = rec.split(":")
        names.append(":".join(parts[1:-6]) if len(parts) >= 8 else rec)
    return names


def _is_nvtx_column(name: str) -> bool:
    return "Push/Pop" in name or "Start/End" in name or name.lower().startswith("nvtx")


def _read_rows(path: Path, warnings: list[str]) -> list[list[str]]:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(
            path, f"not UTF-8 text at byte {exc.start}: not an NCU CSV export"
        ) from exc
    if "\x00" in text[:4096]:
        raise InputError(path, "binary data, not an NCU CSV export")
    # ncu may print its own log lines (==PROF== ...) before the table.
    lines = text.splitlines(keepends=True)
    first = next((i for i, ln in enumerate(lines) if ln.startswith('"')), None)
    if first is None:
        raise InputError(path, "no CSV header found: not an `ncu --csv --page raw` export")
    body_lines = [ln for ln in lines[first:] if not ln.startswith("==")]
    if len(body_lines) > 2 and not body_lines[-1].endswith(("\n", "\r")):
        # ncu ends every row with a newline: a file without one was cut inside its last row,
        # whose last value may be cut short too ("12.5" → "12"): never read it as whole.
        body_lines.pop()
        warnings.append(
            "the file ends inside a row (cut mid-row?): its last row was dropped, 1 kernel lost"
        )
    try:
        return list(csv.reader(io.StringIO("".join(body_lines))))
    except csv.Error as exc:
        raise InputError(path, f"malformed CSV ({exc})") from exc


def _check_header(path: Path, header: list[str]) -> None:
    if _OTHER_PAGES & set(header):
        raise InputError(
            path,
            "an NCU CSV from the details page; export the raw page: `ncu --csv --page raw -i X.ncu-rep`",
        )
    if "ID" not in header or "Kernel Name" not in header:
        raise InputError(
            path, 'CSV header lacks "ID" and "Kernel Name": not an `ncu --csv --page raw` export'
        )


#: Without a units row, values are taken in NCU's base units (``--print-units base``): times
#: in nanoseconds, everything else (byte, byte/s, hz, counts, %) already in SI.
_BASE_TIME = re.compile(r"__time_")


def _scales(
    path: Path, header: list[str], units: list[str] | None, notes: list[str]
) -> dict[int, float]:
    """Column index → factor to SI, for every metric column (``units`` None: no units row).

    A unit rooflens cannot convert is an error for a metric it uses (ncu_metrics.toml) and a
    note for any other (NCU's derived ``%/register`` ratios): that column is left out.
    """
    out: dict[int, float] = {}
    for i, name in enumerate(header):
        if name in _ID_COLUMNS or _is_nvtx_column(name):
            continue
        if units is None:
            out[i] = 1e-9 if _BASE_TIME.search(name) else 1.0
            continue
        unit = units[i] if i < len(units) else ""
        try:
            out[i] = scale_to_si(unit)
        except UnitError as exc:
            if name in used_metrics():
                raise InputError(path, f"column {name!r}: unknown unit {unit!r}") from exc
            notes.append(f"{name!r}: unit {unit!r} not converted, column skipped")
    return out


def _kernel(
    row: list[str], header: list[str], scales: dict[int, float], bad: list[int]
) -> NcuKernel:
    """One kernel; an infinite metric value, or a negative one of a metric rooflens uses as a
    time, size or count, is left out and counted in ``bad[0]``, so no impossible figure (a
    negative time) reaches a report.  (NCU itself prints small negative ``…min.pct…`` values.)"""
    cell = dict(zip(header, row, strict=False))
    metrics: dict[str, float] = {}
    device_name = None
    for i, factor in scales.items():
        if i >= len(row):
            continue
        try:
            value = parse_number(row[i])
        except ValueError:
            if header[i] == "device__attribute_display_name":
                device_name = row[i]
            continue
        if math.isnan(value):
            continue  # "n/a": not collected for this kernel
        value *= factor
        if impossible(header[i], value):
            bad[0] += 1
            continue
        metrics[header[i]] = value
    name = cell.get("Kernel Name", "")
    return NcuKernel(
        id=_kernel_id(cell["ID"]),
        name=name,
        demangled_name=cell.get("Demangled Name") or name,
        nvtx=[
            n
            for i, h in enumerate(header)
            if _is_nvtx_column(h) and i < len(row)
            for n in parse_nvtx_cell(row[i])
        ],
        metrics=metrics,
        grid=_dim3(cell.get("Grid Size", "")),
        block=_dim3(cell.get("Block Size", "")),
        device_name=device_name,
    )


def _kernel_id(text: str) -> int:
    """NCU's result ID: a whole number ≥ 0 (``ValueError`` for anything else, 1e400 included)."""
    value = parse_number(text)
    if not math.isfinite(value) or value < 0 or value != int(value) or value >= 2**63:
        raise ValueError(f"{text[:40]!r} is not a result ID")
    return int(value)


def read_ncu_csv(path: str | Path) -> NcuKernels:
    """Read an ``ncu --csv --page raw`` export; metrics in SI base units, ``%`` kept as percent.

    Damage is a warning on the result (``NcuKernels.warnings``), never silence: a row cut short
    is dropped and counted, a missing units row says which units were assumed, impossible
    values (NaN, infinite, negative) are left out and counted.
    """
    p = check_input_file(path)
    warnings: list[str] = []
    rows = [r for r in _read_rows(p, warnings) if r]
    if not rows:
        raise InputError(p, "no CSV rows")
    header = rows[0]
    _check_header(p, header)
    id_col = header.index("ID")
    units: list[str] | None = None
    body = rows[1:]
    if body and not (len(body[0]) > id_col and body[0][id_col].strip().replace(",", "").isdigit()):
        units, body = body[0], body[1:]
    else:
        warnings.append(
            "no units row (line 2): NCU base units assumed (as `--print-units base`: "
            "nanoseconds for times, bytes, bytes/s); if the export used others, figures are wrong"
        )
    notes: list[str] = []
    scales = _scales(p, header, units, notes)
    kernels, short, bad = _kernels(p, header, body, scales, 2 if units is None else 3)
    if short:
        warnings.append(
            f"{short} row(s) with fewer cells than the header (cut mid-row?) dropped: "
            f"{short} kernel(s) lost"
        )
    if bad:
        warnings.append(
            f"{bad} metric value(s) dropped as impossible (infinite, or a negative time, size or count)"
        )
    if not kernels:
        raise InputError(p, "no kernel rows in the NCU CSV")
    ids = [k.id for k in kernels]
    missing = _missing_ids(ids)
    if missing:
        warnings.append(
            f"kernel IDs {min(ids)}..{max(ids)} miss {missing} value(s): "
            f"{missing} kernel row(s) lost (file cut or edited?)"
        )
    names = {k.device_name for k in kernels if k.device_name}
    return NcuKernels(
        source="ncu-csv", path=str(p), kernels=kernels, notes=notes, warnings=warnings,
        device_name=min(names) if names else None,
    )  # fmt: skip


def _missing_ids(ids: list[int]) -> int:
    """IDs absent from the first-to-last range: ncu numbers its results 0, 1, 2, … without gaps."""
    if not ids:
        return 0
    return max(0, max(ids) - min(ids) + 1 - len(set(ids)))


def _kernels(
    p: Path, header: list[str], body: list[list[str]], scales: dict[int, float], first: int
) -> tuple[list[NcuKernel], int, int]:
    """(kernels, rows dropped as cut short, metric values dropped as impossible)."""
    kernels: list[NcuKernel] = []
    short = 0
    bad = [0]
    for n, row in enumerate(body, start=first):
        if len(row) < len(header):
            short += 1
            continue
        try:
            kernels.append(_kernel(row, header, scales, bad))
        except (ValueError, KeyError) as exc:
            raise InputError(p, f"row {n}: bad kernel ID ({exc})") from exc
    return kernels, short, bad[0]
