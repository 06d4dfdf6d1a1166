"""Write a file atomically: a reader sees the old file or the new one, never half of one.

The data goes to a temporary file in the same folder (so the final ``os.replace`` is a rename on
one file system), is flushed to disk with ``fsync``, then replaces the target. When anything fails
the temporary file is removed and the previous file is left whole.

Temporary files are named ``.<name>.tmp-<pid>-<random>``: the pid of the process that writes them.
A process killed mid-write (SIGKILL, power loss) leaves its temporary file behind;
:func:`remove_stale_temp_files` deletes those whose owner process is gone.

Example::

    from fewshot._atomic import write_json_atomic, write_text_atomic

    write_json_atomic("results/cell.json", {"accuracy": 0.91})
    write_text_atomic("results/summary.md", "# Results\\n")
"""

from __future__ import annotations

import json
import os
import re
import uuid
from pathlib import Path
from typing import Any

_TEMP_RE = re.compile(r"^\..+\.tmp-(\d+)-[0-9a-f]+(\.[A-Za-z0-9]+)?$")


def temp_path(path) -> Path:
    """The temporary sibling of ``path`` this process writes before renaming: ``.<name>.tmp-<pid>-<hex>``."""
    path = Path(path)
    return path.parent / f".{path.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"


def write_bytes_atomic(path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (parent folders are created). Returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(path)
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def write_text_atomic(path, text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically (UTF-8 by default). Returns the path."""
    return write_bytes_atomic(path, text.encode(encoding))


def write_json_atomic(path, obj: Any, *, indent: int | None = 1) -> Path:
    """Write ``obj`` as JSON (UTF-8, a final newline) to ``path`` atomically. Returns the path.

    NaN and infinity are written as JSON's common extensions (``NaN``), as :func:`json.dump` does.
    """
    text = json.dumps(obj, indent=indent, ensure_ascii=False, allow_nan=True) + "\n"
    return write_text_atomic(path, text)


def pid_alive(pid: int) -> bool:
    """Whether a process with id ``pid`` exists on this machine (POSIX: signal 0; elsewhere an
    unknown answer counts as alive, so nothing of a live process is ever removed)."""
    if pid <= 0:
        return False
    if os.name != "posix":  # pragma: no cover - Windows: no cheap, safe check
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def owner_pid(name: str) -> int | None:
    """The pid in a temporary file name written by :func:`temp_path`, else None."""
    m = _TEMP_RE.match(name)
    return int(m.group(1)) if m else None


def remove_stale_temp_files(folder, *, recursive: bool = True) -> list[Path]:
    """Delete the temporary files under ``folder`` left by writers that no longer run.

    Only files named as :func:`temp_path` names them, whose pid is not a live process, are removed.
    Returns the removed paths.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return []
    removed = []
    for path in folder.rglob(".*.tmp-*") if recursive else folder.glob(".*.tmp-*"):
        pid = owner_pid(path.name)
        if pid is None or pid_alive(pid) or not path.is_file():
            continue
        try:
            path.unlink()
            removed.append(path)
        except OSError:
            pass
    return removed
