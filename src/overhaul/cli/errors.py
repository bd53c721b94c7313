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
        err.show()
        sys.exit(EXIT_USAGE if isinstance(err, _USAGE_ERROR) else err.exit_code)
    except KeyboardInterrupt:
        print("overhaul: interrupted", file=sys.stderr)
        sys.exit(130)
