"""fewshot._atomic: one way to write a file so that a reader never sees half of it, and the
clean-up of temporary files left by writers that were killed."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from fewshot._atomic import (
    owner_pid,
    pid_alive,
    remove_stale_temp_files,
    write_bytes_atomic,
    write_json_atomic,
    write_text_atomic,
)


def test_writes_bytes_text_and_json_creating_folders(tmp_path):
    assert write_bytes_atomic(tmp_path / "a" / "b.bin", b"\x00\x01") == tmp_path / "a" / "b.bin"
    assert (tmp_path / "a" / "b.bin").read_bytes() == b"\x00\x01"
    write_text_atomic(tmp_path / "t.md", "héllo\n")
    assert (tmp_path / "t.md").read_bytes() == "héllo\n".encode()
    write_json_atomic(tmp_path / "c.json", {"é": [1, 2.5, None]})
    text = (tmp_path / "c.json").read_text(encoding="utf-8")
    assert json.loads(text) == {"é": [1, 2.5, None]} and text.endswith("\n") and "é" in text
    write_json_atomic(tmp_path / "c.json", {"v": 2})
    assert json.loads((tmp_path / "c.json").read_text()) == {"v": 2}, "an existing file is replaced"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "c.json", "t.md"], "no temporary file is left"


def test_the_temporary_file_is_a_synced_sibling_named_with_the_pid(tmp_path, monkeypatch):
    seen, synced = [], []
    real_replace, real_fsync = os.replace, os.fsync

    def spy_replace(src, dst):
        seen.append((os.path.dirname(src), os.path.basename(src), dst, open(src, "rb").read()))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", spy_replace)
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd)))
    write_text_atomic(tmp_path / "cell.json", "{}")
    folder, name, dst, data = seen[0]
    assert folder == str(tmp_path), "same folder: the rename stays on one file system"
    assert name.startswith(f".cell.json.tmp-{os.getpid()}-") and owner_pid(name) == os.getpid()
    assert data == b"{}" and synced, "the data is on disk before the rename"


def test_a_failed_write_leaves_the_previous_file_whole_and_no_temporary_file(tmp_path, monkeypatch):
    path = tmp_path / "cell.json"
    write_json_atomic(path, {"v": 1})

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        write_json_atomic(path, {"v": 2})
    assert json.loads(path.read_text()) == {"v": 1}, "a failed write leaves the previous file whole"
    assert [p.name for p in tmp_path.iterdir()] == ["cell.json"], "and no temporary file"
    monkeypatch.undo()
    with pytest.raises(TypeError):
        write_json_atomic(path, {"v": object()})
    assert json.loads(path.read_text()) == {"v": 1} and len(list(tmp_path.iterdir())) == 1


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_stale_temporary_files_of_dead_writers_are_removed(tmp_path):
    dead = _dead_pid()
    assert not pid_alive(dead) and pid_alive(os.getpid())
    (tmp_path / "cells").mkdir()
    stale = tmp_path / "cells" / f".k8-seed0.json.tmp-{dead}-0a1b2c3d"
    stale_top = tmp_path / f".summary.md.tmp-{dead}-ffff0000"
    live = tmp_path / f".summary.csv.tmp-{os.getpid()}-0a1b2c3d"
    other = tmp_path / ".notes.tmp-old"  # not named by this module: never touched
    keep = tmp_path / "cells" / "k8-seed0.json"
    for p in (stale, stale_top, live, other, keep):
        p.write_text("x")
    removed = remove_stale_temp_files(tmp_path)
    assert sorted(removed) == sorted([stale, stale_top])
    assert not stale.exists() and not stale_top.exists()
    assert live.exists() and other.exists() and keep.exists()
    assert remove_stale_temp_files(tmp_path / "missing") == []
