"""Entry point of a benchmark cell's process: ``python -m fewshot.bench._child PAYLOAD.json CELL.json``.

The runner starts one such process per cell (a fresh interpreter, so the cell's peak memory is its
own and no user script is re-imported). ``PAYLOAD.json`` holds the cell's identity, parameters and
data; the process writes its result to ``CELL.json``.

A cell's process never outlives the harness that started it: when the harness dies (even by
SIGKILL, which it cannot intercept), the cell stops too, so no orphan keeps training and racing a
rerun that writes the same cell (see :func:`die_with_parent`).
"""

from __future__ import annotations

import json
import os
import sys


def die_with_parent(parent_pid: int | None = None) -> str:
    """Make this process end when its parent process ends. Returns the mechanism used.

    - Linux: ``prctl(PR_SET_PDEATHSIG, SIGKILL)`` through ctypes: the kernel kills this process
      the moment its parent exits, however the parent died.
    - Elsewhere (or when prctl is unavailable): a daemon thread checks once a second whether the
      parent is still ``parent_pid`` and ends this process with ``os._exit`` when it is not.

    When ``parent_pid`` is given and the parent is already gone (it died before this call), the
    process exits at once.
    """
    mechanism = "poll"
    if sys.platform.startswith("linux"):
        try:
            import ctypes
            import signal

            libc = ctypes.CDLL(None, use_errno=True)
            PR_SET_PDEATHSIG = 1
            if libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) == 0:
                mechanism = "prctl"
        except (OSError, AttributeError):
            pass
    if parent_pid is not None and os.getppid() != parent_pid:
        os._exit(3)  # the harness died before we were set up: nothing to do for it
    if mechanism == "poll":
        import threading
        import time

        expected = parent_pid if parent_pid is not None else os.getppid()

        def watch() -> None:
            while True:
                time.sleep(1.0)
                if os.getppid() != expected:
                    os._exit(3)

        threading.Thread(target=watch, name="fewshot-parent-watch", daemon=True).start()
    return mechanism


def main(argv: list[str]) -> int:
    payload_path, out_path = argv
    die_with_parent()  # first: a harness killed while this process starts must not leave it running
    with open(payload_path, encoding="utf-8") as fh:
        payload = json.load(fh)
    if payload.get("parent_pid") is not None and os.getppid() != payload["parent_pid"]:
        return 3  # the harness is already gone
    from .runner import _cell_main

    _cell_main(payload, out_path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
