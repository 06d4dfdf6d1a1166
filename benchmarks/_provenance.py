"""What a benchmark script records about its own run (the commit of the code, the command line) and
how it writes its results (JSON and a Markdown table beside it, ``--render-only`` to redraw).

Imported by the scripts in this folder (``python benchmarks/<script>.py`` puts the folder on the
path). Example::

    from _provenance import run_command, run_commit, write_results
    context = {"commit": run_commit(), "command": run_command("serving_speed.py")}
    write_results(parser.parse_args(), run, render)
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


def write_results(args, run, render) -> None:
    """Run (or, with ``--render-only``, reread the JSON beside ``--out``), then write the JSON and the
    Markdown table atomically and print the table. ``run(args)`` measures; ``render(results)`` formats."""
    import json

    from fewshot._atomic import write_json_atomic, write_text_atomic

    out = Path(args.out)
    data = out.with_suffix(".json")
    results = json.loads(data.read_text()) if args.render_only else run(args)
    if not args.render_only:
        write_json_atomic(data, results)
    text = render(results)
    write_text_atomic(out, text)
    print(text)


def code_footer(versions: list[dict]) -> str:
    """The last line of a table read from a results folder: the code versions its cells came from."""
    return "_Code: " + "; ".join(f"{v['name']} ({v['cells']} cells)" for v in versions) + "._"


def results_folder_main(argv, doc: str, render, out_name: str, folder_help: str, options=()) -> int:
    """The command line of a script that reads a ``fewshot bench --out`` folder: ``RESULTS_DIR``,
    ``--allow-mixed`` and the script's own ``options`` (``(flags, argparse keywords)`` pairs);
    ``render(results_dir, allow_mixed=..., **options)`` makes the Markdown, written to
    ``RESULTS_DIR/out_name`` and printed."""
    import argparse

    from fewshot._atomic import write_text_atomic

    p = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    p.add_argument("results_dir", help=folder_help)
    for flags, keywords in options:
        p.add_argument(*flags, **keywords)
    p.add_argument("--allow-mixed", action="store_true", help="accept cells of different code versions")
    args = vars(p.parse_args(argv))
    folder = args.pop("results_dir")
    text = render(folder, **args)
    write_text_atomic(Path(folder) / out_name, text)
    print(text)
    return 0
