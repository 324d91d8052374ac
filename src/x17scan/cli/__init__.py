"""The ``x17scan`` command line (typer + rich).

Each command group lives in a module ``cmd_<group>.py`` of this package that defines
``register(app)``; they are discovered here, so adding a command never touches this file.
Commands parse options and call the stages, nothing else; heavy imports happen inside the
command functions so that ``x17scan --help`` stays fast.

Errors: an :class:`x17scan.errors.InputError` becomes one red line on stderr and exit code 2;
``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys

import typer

from x17scan import __version__
from x17scan.errors import InputError

app = typer.Typer(
    name="x17scan",
    help="Resonant X17 searches in positron beam-energy scans: physics, simulation, "
    "statistics (CLs limits, local and global significance), reports.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",  # docstring paragraphs reflow instead of keeping line breaks
    context_settings={"help_option_names": ["-h", "--help"]},
)

_state = {"debug": False}


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"x17scan {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version_callback, is_eager=True,
                                 help="Print the version and exit."),
    debug: bool = typer.Option(False, "--debug", help="Show full tracebacks on errors."),
) -> None:
    """x17scan command line."""
    _state["debug"] = debug


def _register_all() -> None:
    for mod in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if mod.name.startswith("cmd_"):
            importlib.import_module(f"{__name__}.{mod.name}").register(app)


_register_all()


def error_line(message: str) -> None:
    """Print one red error line on stderr."""
    from rich.console import Console
    from rich.markup import escape

    # messages quote user input and hold brackets ("[x, y]", "points[0]"): never markup
    Console(stderr=True, highlight=False, soft_wrap=True).print(
        f"[bold red]error:[/] {escape(message)}")


def _usage_line(err) -> str:
    """One line for a click usage error: what is wrong, the option, and where to look."""
    ctx = getattr(err, "ctx", None)
    path = ctx.command_path if ctx is not None else "x17scan"
    param = getattr(err, "param", None)
    field = None
    if param is not None:
        opts = getattr(param, "opts", None) or [getattr(param, "name", "")]
        field = max(opts, key=len)
    elif getattr(err, "param_hint", None):
        field = str(err.param_hint).strip("'\"")
    elif getattr(err, "option_name", None):
        field = err.option_name
    text = " ".join(err.format_message().split())
    where = f"field '{field}': " if field else ""
    return f"{path}: {where}{text} (fix: see `{path} --help`)"


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``x17scan`` script."""
    # typer may vendor click: take the exception classes from wherever its own come from
    click_exc = sys.modules[typer.BadParameter.__module__]

    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args
    try:
        app(args=args, standalone_mode=False, prog_name="x17scan")
    except (typer.Exit, getattr(click_exc, "Exit", typer.Exit)) as exc:
        sys.exit(exc.exit_code)
    except click_exc.NoArgsIsHelpError as exc:
        typer.echo(exc.ctx.get_help() if exc.ctx is not None else exc.format_message())
        sys.exit(0)
    except click_exc.UsageError as exc:
        if debug:
            raise
        error_line(_usage_line(exc))
        sys.exit(2)
    except (typer.Abort, getattr(click_exc, "Abort", typer.Abort)):
        error_line("aborted; finished work is kept, re-run the same command to resume")
        sys.exit(130)
    except InputError as err:
        if debug:
            raise
        error_line(str(err))
        sys.exit(2)
    except KeyboardInterrupt:
        error_line("interrupted; finished work is kept, re-run the same command to resume")
        sys.exit(130)
    except Exception as err:  # last resort: one line, not a traceback
        if debug:
            raise
        error_line(f"internal error: {type(err).__name__}: {err} (re-run with --debug for details)")
        sys.exit(1)
    sys.exit(0)
