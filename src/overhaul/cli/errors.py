"""Turns failures into one-line messages and the exit codes of the output contract."""

from __future__ import annotations

import sys
from typing import Any, NoReturn

import typer

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_FINDINGS = 3


class CliError(Exception):
    """A failure to report in one line; `code` is the exit code."""

    def __init__(self, message: str, code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.code = code


def _base(name: str) -> type[Any]:
    """typer's click exception classes (typer ≥ 0.24 bundles its own click, older ones use click)."""
    return next(c for c in typer.BadParameter.__mro__ if c.__name__ == name)


_CLICK_ERROR = _base("ClickException")
_USAGE_ERROR = _base("UsageError")


def fail(message: str, code: int = EXIT_FAILED) -> NoReturn:
    raise CliError(message, code)


def run_guarded(app: typer.Typer) -> None:
    """Runs the typer app; known failures become `overhaul: message` and an exit code."""
    try:
        code = app(standalone_mode=False)
        if isinstance(code, int) and code:  # a command's `raise typer.Exit(code)`, returned by click
            sys.exit(code)
    except CliError as err:
        print(f"overhaul: {err}", file=sys.stderr)
        sys.exit(err.code)
    except typer.Exit as err:
        sys.exit(err.exit_code)
    except typer.Abort:
        print("overhaul: aborted", file=sys.stderr)
        sys.exit(130)
    except _CLICK_ERROR as err:
        print(_one_line(err), file=sys.stderr)
        sys.exit(EXIT_USAGE if isinstance(err, _USAGE_ERROR) else err.exit_code)
    except KeyboardInterrupt:
        print("overhaul: interrupted", file=sys.stderr)
        sys.exit(130)
    except OSError as err:  # the machine refused (a file, a socket) where no command expected it
        where = f": {err.filename}" if err.filename else ""
        print(f"overhaul: {err.strerror or err}{where}", file=sys.stderr)
        sys.exit(EXIT_FAILED)


def _one_line(err: Any) -> str:
    """click's usage error in one line, naming the command and where its help is (click itself
    prints the usage, a hint and the error on three)."""
    message = " ".join(str(err.format_message()).split())
    ctx = getattr(err, "ctx", None)
    if ctx is None:
        return f"overhaul: {message}"
    return f"{ctx.command_path}: {message} (see '{ctx.command_path} --help')"
