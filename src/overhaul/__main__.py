"""`python -m overhaul`."""

from overhaul.cli.main import run

run()
