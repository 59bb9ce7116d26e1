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
from rooflens.traces.metrics import used_metrics
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


def _read_rows(path: Path) -> list[list[str]]:
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
    try:
        body = "".join(ln for ln in lines[first:] if not ln.startswith("=="))
        return list(csv.reader(io.StringIO(body)))
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


def _scales(path: Path, header: list[str], units: list[str], notes: list[str]) -> dict[int, float]:
    """Column index → factor to SI, for every metric column.

    A unit rooflens cannot convert is an error for a metric it uses (ncu_metrics.toml) and a
    note for any other (NCU's derived ``%/register`` ratios): that column is left out.
    """
    out: dict[int, float] = {}
    for i, name in enumerate(header):
        if name in _ID_COLUMNS or _is_nvtx_column(name):
            continue
        unit = units[i] if i < len(units) else ""
        try:
            out[i] = scale_to_si(unit)
        except UnitError as exc:
            if name in used_metrics():
                raise InputError(path, f"column {name!r}: unknown unit {unit!r}") from exc
            notes.append(f"{name}: unit {unit!r} not converted, column skipped")
    return out


def _kernel(row: list[str], header: list[str], scales: dict[int, float]) -> NcuKernel:
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
        if not math.isnan(value):
            metrics[header[i]] = value * factor
    name = cell.get("Kernel Name", "")
    return NcuKernel(
        id=int(parse_number(cell["ID"])),
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


def read_ncu_csv(path: str | Path) -> NcuKernels:
    """Read an ``ncu --csv --page raw`` export; metrics in SI base units, ``%`` kept as percent."""
    p = check_input_file(path)
    rows = [r for r in _read_rows(p) if r]
    if not rows:
        raise InputError(p, "no CSV rows")
    header = rows[0]
    _check_header(p, header)
    id_col = header.index("ID")
    units: list[str] = []
    body = rows[1:]
    if body and not body[0][id_col].strip().replace(",", "").isdigit():
        units, body = body[0], body[1:]
    notes: list[str] = []
    scales = _scales(p, header, units, notes)
    kernels: list[NcuKernel] = []
    for n, row in enumerate(body, start=3 if units else 2):
        try:
            kernels.append(_kernel(row, header, scales))
        except (ValueError, KeyError) as exc:
            raise InputError(p, f"row {n}: bad kernel ID ({exc})") from exc
    if not kernels:
        raise InputError(p, "no kernel rows in the NCU CSV")
    names = {k.device_name for k in kernels if k.device_name}
    return NcuKernels(
        source="ncu-csv", path=str(p), kernels=kernels, device_name=min(names) if names else None
    )
