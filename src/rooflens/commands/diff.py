"""`rooflens diff A B`: two runs side by side against the model's baseline; a CI regression gate.

A and B are run folders, profile files or saved report.json files.  Without ``--out`` the
comparison is printed (Markdown, or JSON with ``--json``); with ``--out DIR`` diff.md,
diff.html and diff.json are written there (never over existing files without ``--force``).
``--fail-above PCT`` exits 1 when B's measured kernel time of any phase (or its run range)
is more than PCT percent above A's — the job was done, the answer is "regressed".
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from rooflens.commands.outputs import prepare_out_dir, replace_file, taken
from rooflens.errors import RooflensError

if TYPE_CHECKING:
    from rooflens.report_model import DiffDocument

_OUTPUTS = {"md": "diff.md", "html": "diff.html", "json": "diff.json"}


def _write(doc: DiffDocument, out_dir: Path, lang: str, force: bool) -> list[Path]:
    """diff.md/.html/.json into ``out_dir`` (commands/outputs: checked folder, atomic files)."""
    from rooflens.report.diffrender import DIFF_RENDERERS

    prepare_out_dir(out_dir)
    existing = taken(out_dir, _OUTPUTS.values())
    if existing and not force:
        raise RooflensError(
            f"{out_dir}: already holds {', '.join(existing)}; pass --force to overwrite"
        )
    return [
        replace_file(out_dir, name, DIFF_RENDERERS[key].render(doc, lang))
        for key, name in _OUTPUTS.items()
    ]


def diff_command(
    a: Annotated[Path, typer.Argument(help="Run A: a run folder, profile file or report.json.")],
    b: Annotated[Path, typer.Argument(help="Run B: a run folder, profile file or report.json.")],
    out: Annotated[
        Path | None, typer.Option(help="Write diff.md, diff.html and diff.json here.")
    ] = None,
    lang: Annotated[str, typer.Option(help="Language of the Markdown and HTML: zh or en.")] = "en",
    json_out: Annotated[bool, typer.Option("--json", help="Print the diff as JSON.")] = False,
    fail_above: Annotated[
        float | None,
        typer.Option(
            "--fail-above",
            help="Exit 1 when B is slower than A by more than PCT percent on any phase.",
        ),
    ] = None,
    force: Annotated[bool, typer.Option(help="Overwrite existing diff files in --out.")] = False,
) -> None:
    """Compare two runs per operator and phase (predicted, A, B, change), bubbles and findings."""
    from rooflens.analysis.diff import diff_reports, regressions
    from rooflens.pipeline import report_of
    from rooflens.report.diffrender import DIFF_RENDERERS

    if lang not in ("zh", "en"):
        raise RooflensError(f"--lang must be zh or en, got {lang!r}")
    if fail_above is not None and not fail_above >= 0:
        raise RooflensError(f"--fail-above must be a percentage ≥ 0, got {fail_above}")
    for p in (a, b):
        if not p.exists():
            raise RooflensError(f"{p}: no such file or folder")
    doc = diff_reports(
        report_of(a).document, report_of(b).document, a_source=str(a), b_source=str(b)
    )
    if out is not None:
        for path in _write(doc, out, lang, force):
            typer.echo(str(path))
    else:
        typer.echo(DIFF_RENDERERS["json" if json_out else "md"].render(doc, lang), nl=False)
    if fail_above is not None:
        worse = regressions(doc, fail_above / 100.0)
        if worse:
            typer.echo(
                f"rooflens: B is slower than A by more than {fail_above:g}%: " + "; ".join(worse),
                err=True,
            )
            raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Attach the `diff` verb to the CLI app."""
    app.command("diff")(diff_command)
