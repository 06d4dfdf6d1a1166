"""Which code produced a benchmark cell: a hash of the ``fewshot`` package's files, plus git.

Every cell records :func:`code_identity` of the process that ran it. The runner treats a finished
cell whose code hash differs from the current one as stale (it runs again), and the report refuses
to put cells of different code versions, or of a tree with uncommitted changes, into one table
unless asked to (``fewshot report DIR --allow-mixed``).

Example::

    from fewshot.bench.provenance import code_identity, describe_code

    code = code_identity()
    code["hash"]          # sha256 of the package's files, e.g. '3f1c...'
    describe_code(code)   # 'commit 1b76a28c1e, code 3f1c09ab2d41' (+ ', uncommitted changes')
"""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path
from typing import Any

PACKAGE_DIR = Path(__file__).resolve().parents[1]
_SKIP_DIRS = {"__pycache__"}
_SKIP_SUFFIXES = {".pyc", ".pyo"}


def package_files(package_dir=PACKAGE_DIR) -> list[Path]:
    """The files whose contents define the code: every file under ``package_dir`` (the ``.py``
    modules and the package data, e.g. the demo datasets), without ``__pycache__``, compiled
    ``.pyc`` files or hidden files (editor swap files, temporary files)."""
    root = Path(package_dir)
    out = []
    for path in root.rglob("*"):
        rel = path.relative_to(root).parts
        if any(p in _SKIP_DIRS or p.startswith(".") for p in rel):
            continue
        if path.suffix in _SKIP_SUFFIXES or not path.is_file():
            continue
        out.append(path)
    return sorted(out, key=lambda p: p.relative_to(root).as_posix())


def code_hash(package_dir=PACKAGE_DIR) -> str:
    """sha256 over the sorted relative paths and the contents of :func:`package_files`."""
    root = Path(package_dir)
    h = hashlib.sha256()
    for path in package_files(root):
        h.update(path.relative_to(root).as_posix().encode("utf-8"))
        h.update(b"\0")
        h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()


def _git(args: list[str], cwd: Path) -> str | None:
    try:
        proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return proc.stdout if proc.returncode == 0 else None


def code_identity(package_dir=PACKAGE_DIR) -> dict[str, Any]:
    """The identity of the code in ``package_dir`` (default: this ``fewshot`` package).

    Returns ``{"fewshot": version, "hash": sha256 hex, "files": count}`` and, when the package
    lies in a git checkout, ``"git_commit"`` (HEAD) and ``"git_dirty"`` (True when
    ``git status --porcelain`` lists uncommitted changes under the package folder).
    """
    from .. import __version__

    root = Path(package_dir).resolve()
    out: dict[str, Any] = {
        "fewshot": __version__,
        "hash": code_hash(root),
        "files": len(package_files(root)),
    }
    commit = _git(["rev-parse", "HEAD"], root)
    if commit is not None:
        status = _git(["status", "--porcelain", "--", "."], root)
        out["git_commit"] = commit.strip()
        out["git_dirty"] = status is None or bool(status.strip())
    return out


def version_key(code: dict | None) -> tuple[str | None, bool]:
    """``(code hash, dirty)`` of a cell's recorded code; ``(None, False)`` for a cell written
    before code hashes were recorded."""
    code = code or {}
    return code.get("hash"), bool(code.get("git_dirty"))


def describe_code(code: dict | None) -> str:
    """A short human name of a recorded code identity, e.g. ``commit 1b76a28c1e, code 3f1c09ab2d41``."""
    code = code or {}
    parts = []
    if code.get("git_commit"):
        parts.append(f"commit {code['git_commit'][:10]}")
    parts.append(f"code {code['hash'][:12]}" if code.get("hash") else "code hash not recorded")
    if code.get("git_dirty"):
        parts.append("uncommitted changes")
    return ", ".join(parts)
