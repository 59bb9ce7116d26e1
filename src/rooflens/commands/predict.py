"""`rooflens predict`: roofline prediction of a model on a GPU (table, JSON, Markdown, CSV sweep).

Only parsing and dispatch live here; the numbers come from :mod:`rooflens.predict`, the tables
from :mod:`rooflens.report.console` (Markdown: :mod:`rooflens.predict.text`).  Numeric
options are read as text so that bad values become one-line errors (exit 2), and ``--batch``,
``--input-len``, ``--output-len`` take comma lists under ``--sweep``.
"""

from __future__ import annotations

import csv
import os
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from rooflens.errors import InputError, RooflensError
from rooflens.predict.workload import check_count

if TYPE_CHECKING:
    from rooflens.predict import Prediction
    from rooflens.predict.workload import AttentionKind


MAX_SWEEP_ROWS = 100_000  # one prediction each: beyond this a sweep runs for hours


def parse_int_list(option: str, text: str) -> list[int]:
    """``"1,8,32"`` → ``[1, 8, 32]``; anything but integers ≥ 1 (within the workload limits,
    :func:`rooflens.predict.workload.check_count`) is a RooflensError naming the option."""
    values: list[int] = []
    for part in text.split(","):
        try:
            value = int(part.strip())
        except ValueError:
            raise RooflensError(
                f"{option} must be an integer or a comma list of them, got '{text}'"
            ) from None
        values.append(check_count(option, value))
    return values


def _single(option: str, text: str) -> int:
    values = parse_int_list(option, text)
    if len(values) != 1:
        raise RooflensError(f"{option} has several values ('{text}'); pass --sweep to sweep them")
    return values[0]


def _write_sweep(rows: Iterable[dict[str, object]], csv_path: Path | None, force: bool) -> None:
    """Write sweep rows as CSV to ``csv_path`` (never over an existing file unless ``force``).

    The file is written whole to a temporary name beside it and moved into place, so a
    ``--force`` over a symbolic link replaces the link, never the file it points to.
    """
    import io

    from rooflens.commands.outputs import prepare_out_dir, replace_file
    from rooflens.predict.sweep import COLUMNS

    if csv_path is not None:
        if os.path.lexists(csv_path) and not force:
            raise InputError(csv_path, "already exists; pass --force to overwrite it")
        prepare_out_dir(csv_path.parent, option="--csv")
    handle = io.StringIO() if csv_path else sys.stdout
    writer = csv.DictWriter(handle, fieldnames=COLUMNS)
    writer.writeheader()
    count = 0
    for row in rows:
        writer.writerow(row)
        count += 1
    if csv_path is not None:
        assert isinstance(handle, io.StringIO)
        replace_file(csv_path.parent, csv_path.name, handle.getvalue())
        print(f"wrote {count} rows to {csv_path}", file=sys.stderr)


def _check_choices(fmt: str, lang: str, attention: str) -> None:
    for option, value, allowed in (
        ("--format", fmt, ("table", "md")),
        ("--lang", lang, ("zh", "en")),
        ("--attention", attention, ("flash", "eager")),
    ):
        if value not in allowed:
            raise RooflensError(f"{option} must be one of {', '.join(allowed)}, got '{value}'")


def _print_single(
    pred: Prediction, model: str, as_json: bool, fmt: str, lang: str, ops: bool
) -> None:
    if as_json:
        import orjson

        from rooflens.predict.document import prediction_document

        doc = prediction_document(pred, model)
        sys.stdout.write(orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode() + "\n")
    elif fmt == "md":
        from rooflens.predict.text import operator_table, prediction_block

        sys.stdout.write(prediction_block(pred, lang))
        if ops:
            sys.stdout.write("\n" + operator_table(pred, lang))
    else:
        from rooflens.report.console import print_prediction

        print_prediction(pred, ops)


def run_predict(
    model: str, hardware: str, precision: str, batch: str, input_len: str, output_len: str,
    layers: str | None, attention: str, tp: str, as_json: bool, fmt: str, lang: str, ops: bool,
    do_sweep: bool, csv_path: Path | None, force: bool, calibration: str | None = None,
) -> None:  # fmt: skip
    """The `predict` verb without Typer: parse, predict, print (or write the sweep CSV)."""
    from rooflens.hardware import lookup
    from rooflens.model import load_architecture
    from rooflens.predict import Precision, Workload, predict

    _check_choices(fmt, lang, attention)
    arch, gpu, prec = load_architecture(model), lookup(hardware), Precision.parse(precision)
    n_layers = _single("--layers", layers) if layers is not None else None
    n_tp = _single("--tp", tp)
    kind: AttentionKind = "eager" if attention == "eager" else "flash"
    if do_sweep:
        from rooflens.predict.sweep import sweep

        batches, ins = parse_int_list("--batch", batch), parse_int_list("--input-len", input_len)
        outs = parse_int_list("--output-len", output_len)
        rows = len(batches) * len(ins) * len(outs)
        if rows > MAX_SWEEP_ROWS:
            raise RooflensError(
                f"--sweep of {rows:,} rows (batch × input × output); at most {MAX_SWEEP_ROWS:,}"
            )
        _write_sweep(
            sweep(arch, gpu, prec, batches, ins, outs, n_layers, kind, n_tp), csv_path, force
        )
        return
    if csv_path is not None:
        raise RooflensError("--csv needs --sweep")
    b, s, n = (
        _single(o, v)
        for o, v in (("--batch", batch), ("--input-len", input_len), ("--output-len", output_len))
    )
    from rooflens.hardware.calibration import choose

    cal, cal_note = choose(calibration, gpu.key)
    pred = predict(arch, gpu, Workload(b, s, n, prec, n_layers, kind, n_tp), cal, cal_note)
    _print_single(pred, model, as_json, fmt, lang, ops)


def register(app: typer.Typer) -> None:
    """Attach the `predict` verb to the CLI app."""
    from rooflens.commands.calibrate import CALIBRATION_HELP

    @app.command("predict")
    def predict_command(
        model: str = typer.Option(
            ..., "--model", "-m", help="Preset name, config.json or model folder."
        ),
        hardware: str = typer.Option(
            "H100", "--hardware", "--gpu", help="GPU key or name (`rooflens hardware`)."
        ),
        precision: str = typer.Option(
            "W16A16KV16", "--precision", "-p", help="W16A16KV16, W8A8, W8A8KV8, W4A16, fp8, int8…"
        ),
        batch: str = typer.Option(
            "1", "--batch", "-b", help="Batch size (comma list with --sweep)."
        ),
        input_len: str = typer.Option(
            "128", "--input-len", "-s", help="Input tokens per sequence."
        ),
        output_len: str = typer.Option(
            "1", "--output-len", "-n", help="Output tokens (prefill yields the first)."
        ),
        layers: str | None = typer.Option(
            None, "--layers", help="Restrict the model to its first N layers."
        ),
        attention: str = typer.Option("flash", "--attention", help="flash | eager."),
        tp: str = typer.Option("1", "--tp", help="Tensor-parallel GPUs (figures are per GPU)."),
        as_json: bool = typer.Option(False, "--json", help="Print the report.json subset."),
        fmt: str = typer.Option("table", "--format", help="table | md."),
        lang: str = typer.Option("zh", "--lang", help="zh | en (for --format md)."),
        ops: bool = typer.Option(False, "--ops", help="Also print the per-operator table."),
        do_sweep: bool = typer.Option(
            False, "--sweep", help="One CSV row per batch × input × output."
        ),
        csv_file: str | None = typer.Option(
            None, "--csv", help="Sweep CSV file (default: stdout)."
        ),
        force: bool = typer.Option(False, "--force", help="Overwrite an existing --csv file."),
        calibration: str | None = typer.Option(None, "--calibration", help=CALIBRATION_HELP),
    ) -> None:
        """Predict per-operator roofline figures for a model on a GPU."""
        run_predict(
            model, hardware, precision, batch, input_len, output_len, layers, attention, tp,
            as_json, fmt, lang, ops, do_sweep, Path(csv_file) if csv_file else None, force,
            calibration,
        )  # fmt: skip
