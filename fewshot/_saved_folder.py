"""The file-system side of a saved classifier: where it may be written, how it is swapped in, and
how a folder proves at load time that it is the one that was written.

- :func:`check_save_target`: ``save(path)`` may only create a new folder or replace an empty one or
  a folder that is itself a saved classifier; never a data folder, a file, or the working directory.
- :func:`folder_lock`: saves swap the finished folder in under an exclusive lock on the parent
  folder and loads read under a shared one, so a load never sees the gap between the two renames
  and two saves to one path never interleave.
- :func:`build_manifest` / :func:`verify_manifest`: every file a folder holds is recorded with its
  size and sha256 at save time; at load a missing, truncated, edited or unexpected file is an
  error that names it, and no file may resolve outside the folder (no symlinks, no ``..``).
- :func:`temp_sibling` / :func:`remove_stale_siblings`: temporary folders carry the writer's pid,
  so folders left by a killed save are removed by the next save to the same place.

Nothing here imports torch.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

from .errors import NotASavedClassifierError, SaveTargetError

META_FILE = "fewshot.json"
_TEMP_KINDS = ("tmp", "old")
_HASH_CHUNK = 1 << 20


# --------------------------------------------------------------------------- where save may write
def is_saved_classifier(folder: Path) -> bool:
    """Whether ``folder`` holds a ``fewshot.json`` written by fewshot (format and strategy present)."""
    meta_file = Path(folder) / META_FILE
    if not meta_file.is_file():
        return False
    try:
        meta = json.loads(meta_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return False
    return isinstance(meta, dict) and isinstance(meta.get("format_version"), int) and "strategy" in meta


def _nearest_existing(path: Path) -> Path:
    for candidate in (path, *path.parents):
        if candidate.exists():
            return candidate
    return Path(path.anchor or ".")


def check_save_target(path, *, overwrite: bool, lock: bool = True) -> Path:
    """Check that a classifier may be saved to ``path``; returns it as a ``Path``. Writes nothing.

    Raises :class:`~fewshot.errors.SaveTargetError` when ``path`` is a file, is (or contains) the
    working directory, already exists and ``overwrite`` is false, exists and is neither empty nor a
    saved classifier (``overwrite`` never deletes other data), or cannot be written.

    Example::

        check_save_target("models/intent", overwrite=False)   # before minutes of training

    The check holds a shared lock on the parent folder (``lock=False`` when the caller already
    holds the exclusive one), so it never sees another save halfway through its swap.
    """
    path = Path(path).expanduser()
    parent = path.parent
    if lock and parent.is_dir():
        with folder_lock(parent, exclusive=False):
            return check_save_target(path, overwrite=overwrite, lock=False)
    resolved = path.resolve()
    cwd = Path.cwd().resolve()
    if resolved == cwd or resolved in cwd.parents:
        raise SaveTargetError(
            f"{path} is the working directory (or a folder holding it); save into a new subfolder, "
            "e.g. models/my-classifier."
        )
    if path.is_symlink() or (path.exists() and not path.is_dir()):
        raise SaveTargetError(f"{path} exists and is not a folder; choose a folder path for the classifier.")
    if path.exists():
        empty = not any(path.iterdir())
        if not empty and not is_saved_classifier(path):
            raise SaveTargetError(
                f"{path} exists and is not a saved fewshot classifier (it has no fewshot.json); "
                "refusing to replace it, even with overwrite. Choose a new or empty folder."
            )
        if not empty and not overwrite:
            raise SaveTargetError(f"{path} already exists; pass overwrite=True (--overwrite) to replace it.")
    anchor = _nearest_existing(path.parent if not path.exists() else path)
    if not anchor.is_dir() or not os.access(anchor, os.W_OK | os.X_OK):
        raise SaveTargetError(f"cannot write to {anchor}: it is not a writable folder (check its permissions).")
    return path


# --------------------------------------------------------------------------- locking
@contextlib.contextmanager
def folder_lock(parent: Path, *, exclusive: bool) -> Iterator[None]:
    """Hold an advisory lock on folder ``parent`` (shared for loads, exclusive for the swap of a save).

    Uses ``flock`` on the folder itself, so no lock file is left behind. Where ``fcntl`` is not
    available (Windows) this is a no-op and saving stays atomic but unlocked.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not on Linux/macOS
        yield
        return
    fd = os.open(parent, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


# --------------------------------------------------------------------------- temporary siblings
def temp_sibling(path: Path, kind: str) -> Path:
    """A hidden sibling of ``path`` for a save in progress, named with this process's pid."""
    assert kind in _TEMP_KINDS
    return path.parent / f".{path.name}.{kind}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_siblings(path: Path) -> list[Path]:
    """Remove temporary siblings of ``path`` left by saves whose process is gone; returns them."""
    removed = []
    prefix = f".{path.name}."
    if not path.parent.is_dir():
        return removed
    for entry in path.parent.iterdir():
        name = entry.name
        if not name.startswith(prefix):
            continue
        kind, _, rest = name[len(prefix):].partition("-")
        pid_text = rest.split("-", 1)[0]
        if kind not in _TEMP_KINDS or not pid_text.isdigit():
            continue
        if int(pid_text) == os.getpid() or _pid_alive(int(pid_text)):
            continue
        shutil.rmtree(entry, ignore_errors=True)
        removed.append(entry)
    return removed


# --------------------------------------------------------------------------- manifest
def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(_HASH_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _walk(folder: Path) -> Iterator[Path]:
    for entry in sorted(folder.rglob("*")):
        if entry.is_symlink():
            raise NotASavedClassifierError(
                f"{folder} contains a symbolic link ({entry.relative_to(folder)}); a saved classifier "
                "holds only plain files, so it cannot point outside its folder."
            )
        if entry.is_file():
            yield entry


def build_manifest(folder: Path, *, exclude: tuple[str, ...] = (META_FILE,)) -> dict[str, dict]:
    """``{relative posix path: {"bytes": size, "sha256": hex}}`` of every file under ``folder``."""
    manifest = {}
    for file in _walk(folder):
        rel = file.relative_to(folder).as_posix()
        if rel in exclude:
            continue
        manifest[rel] = {"bytes": file.stat().st_size, "sha256": _sha256(file)}
    return manifest


def inside(folder: Path, relative: str, *, field: str) -> Path:
    """``folder / relative``, refusing absolute paths and paths that resolve outside ``folder``."""
    if not isinstance(relative, str) or not relative:
        raise NotASavedClassifierError(f"{folder / META_FILE}: field {field!r} must be a relative path; got {relative!r}.")
    candidate = Path(relative)
    for step in [candidate, *candidate.parents][:-1]:
        if (folder / step).is_symlink():
            raise NotASavedClassifierError(
                f"{folder} contains a symbolic link ({step.as_posix()}); a saved classifier holds only plain "
                "files, so it cannot point outside its folder."
            )
    root = folder.resolve()
    target = (folder / candidate).resolve()
    if candidate.is_absolute() or ".." in candidate.parts or (target != root and root not in target.parents):
        raise NotASavedClassifierError(
            f"{folder / META_FILE}: field {field!r} names {relative!r}, which is outside the saved folder; "
            "a saved classifier only reads its own files."
        )
    return target


def verify_manifest(folder: Path, manifest: dict) -> None:
    """Check the files under ``folder`` against ``manifest``; raise naming the first file that differs."""
    if not isinstance(manifest, dict):
        raise NotASavedClassifierError(f"{folder / META_FILE}: 'files' must map file names to their sha256.")
    for rel, entry in manifest.items():
        file = inside(folder, rel, field=f"files.{rel}")
        if not file.is_file():
            raise NotASavedClassifierError(
                f"{folder} is incomplete: {rel} is missing (it was written at save time). "
                "Re-save the classifier or copy the whole folder again."
            )
        if not isinstance(entry, dict) or not {"bytes", "sha256"} <= set(entry):
            raise NotASavedClassifierError(f"{folder / META_FILE}: manifest entry for {rel} lacks bytes/sha256.")
        if file.stat().st_size != entry["bytes"] or _sha256(file) != entry["sha256"]:
            raise NotASavedClassifierError(
                f"{folder}: {rel} differs from the file written at save time (size or sha256 changed); "
                "the folder was modified or damaged. Re-save the classifier."
            )
    listed = set(manifest) | {META_FILE}
    for file in _walk(folder):
        rel = file.relative_to(folder).as_posix()
        if rel not in listed:
            raise NotASavedClassifierError(
                f"{folder}: {rel} was not written by save(); a saved classifier must hold only its own "
                "files. Remove it (or re-save the classifier)."
            )


def check_state_paths(folder: Path, state: dict) -> None:
    """No top-level string of a strategy's saved state may point outside ``folder``."""
    for key, value in (state or {}).items():
        if isinstance(value, str) and (Path(value).is_absolute() or ".." in Path(value).parts):
            inside(folder, value, field=f"state.{key}")


def replace_folder(src: Path, dst: Path) -> None:
    """Move the finished folder ``src`` to ``dst``; an existing ``dst`` is replaced only at the end.

    Callers hold :func:`folder_lock` (exclusive) on ``dst.parent``.
    """
    if dst.exists():
        old = temp_sibling(dst, "old")
        os.replace(dst, old)
        try:
            os.replace(src, dst)
        except BaseException:
            os.replace(old, dst)
            raise
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(src, dst)
