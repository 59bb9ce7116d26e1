"""The ``rooflens`` command line: parse arguments, call the pipeline, map errors to exit codes.

Each verb lives in ``rooflens.commands.<verb>`` and registers itself on the Typer app, so
this module stays a thin dispatcher.  Every :class:`~rooflens.errors.RooflensError` becomes
one line on stderr and exit code 2, and so does an ``OSError`` on a path the user named (a
name too long, no permission); an internal error (a report failing its self-check, or any
other exception: a bug) one line and exit code 3.  ``ROOFLENS_DEBUG=1`` shows the traceback.
"""

from __future__ import annotations

import os
import sys

import typer

try:  # typer ≥ 0.27 carries its own copy of click
    from typer._click import exceptions as click_exceptions
except ImportError:  # pragma: no cover - older typer on top of click
    from click import exceptions as click_exceptions  # type: ignore[no-redef]

from rooflens import __version__
from rooflens.errors import InternalError, RooflensError

app = typer.Typer(
    name="rooflens",
    help="Roofline prediction, GPU profiling and integrated reports for LLM inference.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"rooflens {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version_callback, is_eager=True, help="Print the version."
    ),
) -> None:
    """rooflens: predict, measure and compare LLM inference against the GPU's roofline."""


def _register_commands() -> None:
    """Attach every verb once (``main`` may run many times in one process: tests, notebooks)."""
    from rooflens.commands import COMMAND_MODULES

    if app.registered_commands:
        return
    for module in COMMAND_MODULES:
        module.register(app)


def fail(message: str, code: int = 2) -> None:
    """Print ``rooflens: message`` as one line on stderr and exit."""
    one_line = " ".join(str(message).split())
    print(f"rooflens: {one_line}", file=sys.stderr)
    raise SystemExit(code)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    _register_commands()
    debug = os.environ.get("ROOFLENS_DEBUG") == "1"
    try:
        # Outside standalone mode click returns a verb's `typer.Exit(code)` instead of exiting.
        code = app(args=argv, standalone_mode=False)
        if isinstance(code, int) and code:
            raise SystemExit(code)
    except click_exceptions.NoArgsIsHelpError as exc:
        # `rooflens` or `rooflens predict` alone: the help, as click would show it.
        print(exc.ctx.get_help() if exc.ctx else "", file=sys.stderr)
        raise SystemExit(2) from None
    except click_exceptions.UsageError as exc:
        # Bad flags are bad input too: one line, exit 2, and where to look.
        where = exc.ctx.command_path if exc.ctx else "rooflens"
        fail(f"{exc.format_message()} (see: {where} --help)", 2)
    except typer.Exit as exc:
        raise SystemExit(exc.exit_code) from None
    except typer.Abort:
        fail("aborted", 130)
    except InternalError as exc:
        if debug:
            raise
        fail(f"internal error: {exc} (a bug; ROOFLENS_DEBUG=1 shows the traceback)", exc.exit_code)
    except RooflensError as exc:
        if debug:
            raise
        fail(str(exc), exc.exit_code)
    except KeyboardInterrupt:
        fail("interrupted", 130)
    except OSError as exc:
        # The system refused a path the user named (too long, a loop of links, no permission):
        # the user's input, as every place that opens a file cannot name them all.
        if debug:
            raise
        where = f"{exc.filename}: " if exc.filename else ""
        fail(f"{where}{exc.strerror or exc}", 2)
    except MemoryError:
        if debug:
            raise
        fail("out of memory (the input is larger than this machine can hold)", 3)
    except Exception as exc:  # a bug: still one line, and the way to see more
        if debug:
            raise
        what = f"{type(exc).__name__}: {exc}"
        fail(f"internal error: {what[:300]} (a bug; ROOFLENS_DEBUG=1 shows the traceback)", 3)
