"""A fake `ssh` for the kubeadm provider's tests: it records each call instead of connecting.

`install(bin_dir)` writes an executable `ssh` into `bin_dir` that runs this file with the tests'
interpreter; a test puts `bin_dir` first on PATH. The fake parses its arguments as OpenSSH does
(options, then the destination, then the remote command's words, joined by spaces) and appends one
JSON line per call to the file named by FAKE_SSH_LOG: {"argv", "destination", "remote"}. Then:

- FAKE_SSH_FAIL=TEXT: a remote command containing TEXT prints an error and exits 100;
- FAKE_SSH_HANG=TEXT: a remote command containing TEXT sleeps a minute (for timeouts and cancels);
- otherwise it prints `ran on DESTINATION: REMOTE` and exits 0.
"""

from __future__ import annotations

import json
import os
import stat
import sys
import time
from pathlib import Path
from typing import Any

_WITH_VALUE = set("BbcDEeFIiJLlmOoPpRSWw")  # OpenSSH options that take an argument


def parse(args: list[str]) -> tuple[str, str]:
    """(destination, remote command) of an ssh command line."""
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            i += 1
            break
        if not arg.startswith("-") or arg == "-":
            break
        letter = arg[1:2]
        i += 1 if (letter not in _WITH_VALUE or len(arg) > 2) else 2
    if i >= len(args):
        raise SystemExit("usage: ssh [options] destination [command]")
    return args[i], " ".join(args[i + 1 :])


def main(args: list[str]) -> int:
    destination, remote = parse(args)
    log = os.environ.get("FAKE_SSH_LOG")
    if log:
        record: dict[str, Any] = {"argv": args, "destination": destination, "remote": remote}
        with open(log, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")
    fail = os.environ.get("FAKE_SSH_FAIL")
    if fail and fail in remote:
        print(f"E: simulated failure of: {remote}", file=sys.stderr)
        return 100
    hang = os.environ.get("FAKE_SSH_HANG")
    if hang and hang in remote:
        print("hanging", flush=True)
        time.sleep(60)
    print(f"ran on {destination}: {remote}")
    return 0


def install(bin_dir: Path) -> Path:
    """Writes the fake as `bin_dir/ssh` and returns its path."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    script = bin_dir / "ssh"
    script.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{Path(__file__).resolve()}" "$@"\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return script


def calls(log: Path) -> list[dict[str, Any]]:
    """The calls recorded in `log`, in order."""
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
