"""Rich consoles for the commands: progress and logs to stderr, tables to stdout.

When the output is not a terminal (a pipe, a CI log, a file), rich would wrap lines and squeeze
tables to 80 columns; scripts and logs read better with each line whole, so those consoles are
wide and never wrap.
"""

from __future__ import annotations

import sys

from rich.console import Console

_PIPE_WIDTH = 200


def stderr_console() -> Console:
    console = Console(file=sys.stderr, highlight=False, soft_wrap=True)
    if not console.is_terminal:
        console = Console(file=sys.stderr, highlight=False, soft_wrap=True, width=_PIPE_WIDTH)
    return console


def stdout_console() -> Console:
    console = Console(file=sys.stdout, highlight=False)
    if not console.is_terminal:
        console = Console(file=sys.stdout, highlight=False, width=_PIPE_WIDTH)
    return console
