"""Rich consoles for the commands: progress and logs to stderr, tables to stdout, and the progress
bars the long commands draw on stderr.

When the output is not a terminal (a pipe, a CI log, a file), rich would wrap lines and squeeze
tables to 80 columns; scripts and logs read better with each line whole, so those consoles are
wide and never wrap.
"""

from __future__ import annotations

import sys

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

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


def step_progress(console: Console) -> Progress:
    """Bars of counted steps (`3/12`) with the time elapsed, gone once done (the log lines stay)."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )
