"""Entry point of a benchmark cell's process: ``python -m fewshot.bench._child PAYLOAD.json CELL.json``.

The runner starts one such process per cell (a fresh interpreter, so the cell's peak memory is its
own and no user script is re-imported). ``PAYLOAD.json`` holds the cell's identity, parameters and
data; the process writes its result to ``CELL.json``.
"""

from __future__ import annotations

import json
import sys


def main(argv: list[str]) -> int:
    payload_path, out_path = argv
    with open(payload_path, encoding="utf-8") as fh:
        payload = json.load(fh)
    from .runner import _cell_main

    _cell_main(payload, out_path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
