"""What a benchmark script records about its own run: the commit of the code and the command line.

Imported by the scripts in this folder (``python benchmarks/<script>.py`` puts the folder on the
path). Example::

    from _provenance import run_commit, run_command
    context = {"commit": run_commit(), "command": run_command("serving_speed.py")}
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def run_commit() -> str:
    """The short commit of the code that measured, with "+changes" when tracked files differ from it."""

    def git(*cmd):
        return subprocess.run(["git", "-C", str(HERE), *cmd], capture_output=True, text=True).stdout.strip()

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    return head + ("+changes" if git("status", "--porcelain", "--untracked-files=no") else "")


def run_command(script: str) -> str:
    """This run's command line, ``--out`` left out so it reads the same wherever the results went."""
    args, skip = [], False
    for arg in sys.argv[1:]:
        if skip:
            skip = False
        elif arg == "--out":
            skip = True
        elif not arg.startswith("--out="):
            args.append(arg)
    return " ".join([f"python benchmarks/{script}", *args])
