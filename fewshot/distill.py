"""Distillation: a fitted teacher labels unlabeled texts, a small student learns from its probabilities.

The prompt strategy is often the most accurate at 8 examples per class but predicts a few texts per
second; SetFit on MiniLM predicts hundreds. Teams that label a few examples usually have plenty of
*unlabeled* text. :func:`distill` uses it to get both:

1. the teacher (any fitted fewshot classifier: a prompt LoRA, an mpnet SetFit, an ensemble) gives
   its class probabilities for the unlabeled texts (length-sorted batches, a progress bar, at most
   ``max_unlabeled`` texts, the probabilities cached on disk so a second student reuses them);
2. the student (by default ``SetFitClassifier(model="minilm")``) is trained on them with
   :meth:`~fewshot.strategies.setfit.SetFitClassifier.fit_soft`: contrastive pairs whose target is
   the cosine similarity of the two texts' teacher probability vectors (setfit's distillation
   objective; at most ``student_pairs`` pairs an epoch, so a few thousand texts train in
   minutes), and a logistic head fitted by soft-label cross-entropy, together with the original
   k-shot examples (one-hot rows) when ``X``/``y`` are given. A student without ``fit_soft`` (a
   ``HeadClassifier``) learns from the teacher's most likely labels instead.

The student is an ordinary classifier (save, load, evaluate, export, harness); its ``fewshot.json``
records where it came from under ``"distillation"`` (the teacher's identity, the number of unlabeled
texts, the distillation parameters). :class:`DistilledClassifier` wraps the whole recipe (fit the
teacher on the k-shot examples, label, train the student) as one estimator for the benchmark harness.

Example::

    import fewshot
    teacher = fewshot.PromptClassifier(mode="lora").fit(texts, labels)        # accurate, slow
    student = fewshot.distill(teacher, unlabeled_texts, X=texts, y=labels)    # SetFit on MiniLM
    student.save("models/student")
    student.export("serve/student", quantize="int8")                          # no torch needed to predict
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from ._validate import BOOL, NONE, SEED, Check, Integer, Real
from .base import BaseClassifier
from .errors import DataError, NotASavedClassifierError

#: Texts per teacher call while labeling (the texts are sorted by length first, so padding stays small).
LABEL_BATCH_SIZE = 32
CACHE_FOLDER = "distill"
DEFAULT_TEACHER = {"name": "prompt", "params": {"mode": "lora"}}
DEFAULT_STUDENT = "setfit"
#: Contrastive pairs per epoch for a SetFit student (its ``max_pairs``) unless it sets its own; see
#: :func:`distill`'s ``student_pairs``.
STUDENT_PAIRS = 8000
_CACHE_FORMAT = 1


# --------------------------------------------------------------------------- the teacher
def teacher_identity(teacher: BaseClassifier, folder: str | Path | None = None) -> dict[str, Any]:
    """What identifies a fitted teacher: its strategy, classes, parameters and a sha256 over its saved
    files (the manifest ``save`` writes), plus the folder it was loaded from when known.

    Two teachers with the same identity give the same probabilities; the cache of teacher labels is
    keyed by it. An in-memory teacher is saved once into a temporary folder (outside the working
    directory) to compute it; one that cannot be saved gets ``"sha256": None`` (and is never cached).
    """
    if folder is not None:
        meta = json.loads((Path(folder) / "fewshot.json").read_text(encoding="utf-8"))
        return _identity_from_meta(meta, str(Path(folder).resolve()))
    with tempfile.TemporaryDirectory(prefix="fewshot-teacher-") as tmp:
        try:
            saved = teacher.save(Path(tmp) / "teacher")
        except (TypeError, ValueError, OSError) as exc:  # e.g. an ensemble holding an unregistered class
            return {"strategy": teacher.strategy_name or type(teacher).__name__,
                    "classes": [c.item() if hasattr(c, "item") else c for c in np.asarray(teacher.classes_).tolist()],
                    "params": None, "base_model": None, "sha256": None, "folder": None,
                    "unsaved": f"{type(exc).__name__}: {exc}"}
        meta = json.loads((saved / "fewshot.json").read_text(encoding="utf-8"))
    return _identity_from_meta(meta, None)


def _identity_from_meta(meta: dict, folder: str | None) -> dict[str, Any]:
    core = {key: meta.get(key) for key in ("strategy", "problem", "classes", "params", "base_model", "files")}
    digest = hashlib.sha256(json.dumps(core, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()
    return {"strategy": meta.get("strategy"), "classes": meta.get("classes"), "params": meta.get("params"),
            "base_model": meta.get("base_model"), "sha256": digest, "folder": folder,
            "fewshot_version": meta.get("fewshot_version")}


def label_texts(teacher: BaseClassifier, texts: list[str], *, batch_size: int = LABEL_BATCH_SIZE,
                show_progress: bool = True) -> np.ndarray:
    """The teacher's probabilities for ``texts`` (rows in input order, columns following
    ``teacher.classes_``), predicted in length-sorted batches of ``batch_size`` with a progress bar."""
    from tqdm.auto import tqdm

    order = np.argsort([len(t) for t in texts], kind="stable")
    out = np.zeros((len(texts), len(teacher.classes_)), dtype=np.float64)
    with tqdm(total=len(texts), desc="teacher labeling", unit="text", disable=not show_progress,
              leave=False) as bar:
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            proba = np.asarray(teacher.predict_proba([texts[i] for i in idx]), dtype=np.float64)
            if proba.shape != (len(idx), len(teacher.classes_)):
                raise ValueError(f"the teacher returned probabilities of shape {proba.shape} for {len(idx)} texts "
                                 f"and {len(teacher.classes_)} classes.")
            out[idx] = proba
            bar.update(len(idx))
    return out


def _texts_sha256(texts: list[str]) -> str:
    digest = hashlib.sha256()
    for text in texts:
        data = text.encode("utf-8")
        digest.update(len(data).to_bytes(8, "little"))
        digest.update(data)
    return digest.hexdigest()


def cache_folder(cache: bool | str | Path | None) -> Path | None:
    """Where teacher probabilities are cached: ``cache=True`` is ``<fewshot cache dir>/distill``
    (``$FEWSHOT_CACHE``, default ``~/.cache/fewshot``), a path is used as given, None/False is no cache."""
    if cache is None or cache is False:
        return None
    if cache is True:
        from .models import cache_dir

        return cache_dir() / CACHE_FOLDER
    return Path(cache)


def _read_cache(path: Path, n: int, classes: list) -> np.ndarray | None:
    from safetensors.numpy import load_file

    if not path.is_file():
        return None
    try:
        proba = load_file(str(path))["proba"]
    except Exception:  # noqa: BLE001 - a damaged cache file is recomputed, never trusted
        return None
    if proba.shape != (n, len(classes)) or not np.all(np.isfinite(proba)):
        return None
    return proba.astype(np.float64)


def _write_cache(path: Path, proba: np.ndarray, identity: dict) -> None:
    from safetensors.numpy import save

    from ._atomic import write_bytes_atomic

    meta = {"format": str(_CACHE_FORMAT), "teacher_sha256": identity["sha256"],
            "classes": json.dumps(identity["classes"])}
    write_bytes_atomic(path, save({"proba": np.ascontiguousarray(proba, dtype=np.float64)}, metadata=meta))


def teacher_probabilities(teacher: BaseClassifier, texts: list[str], *, cache: bool | str | Path | None = True,
                          identity: dict | None = None, show_progress: bool = True) -> tuple[np.ndarray, dict]:
    """The teacher's probabilities for ``texts``, from the cache when this teacher labeled these texts before.

    Returns ``(proba, info)``; ``info`` says whether the cache was used (``"cache_hit"``), the cache
    file and the labeling seconds. The cache key is the teacher's identity (:func:`teacher_identity`)
    plus a sha256 of the texts in order.
    """
    identity = identity or teacher_identity(teacher)
    folder = cache_folder(cache) if identity.get("sha256") else None  # an unsaved teacher has no identity
    key = hashlib.sha256(f"{identity['sha256']}\n{_texts_sha256(texts)}".encode()).hexdigest()[:32]
    path = folder / f"{key}.safetensors" if folder is not None else None
    if path is not None:
        cached = _read_cache(path, len(texts), identity["classes"])
        if cached is not None:
            return cached, {"cache_hit": True, "cache_file": str(path), "label_seconds": 0.0}
    started = time.perf_counter()
    proba = label_texts(teacher, texts, show_progress=show_progress)
    seconds = time.perf_counter() - started
    if path is not None:
        _write_cache(path, proba, identity)
    return proba, {"cache_hit": False, "cache_file": str(path) if path else None, "label_seconds": round(seconds, 3)}


# --------------------------------------------------------------------------- checks
def _load_teacher(teacher) -> tuple[BaseClassifier, Path | None]:
    if isinstance(teacher, (str, Path)):
        from .base import load

        return load(teacher), Path(teacher)
    if not isinstance(teacher, BaseClassifier):
        raise TypeError(f"teacher must be a fitted fewshot classifier or the folder of a saved one; got "
                        f"{type(teacher).__name__}.")
    if not hasattr(teacher, "classes_"):
        raise ValueError(f"the teacher ({type(teacher).__name__}) is not fitted; call teacher.fit(texts, labels) "
                         "first, or pass the folder of a saved classifier.")
    return teacher, None


def _check_unlabeled(texts) -> list[str]:
    from .data import as_inputs

    if isinstance(texts, str):
        raise DataError("unlabeled_texts is a single string; pass a list of texts.")
    try:
        out = as_inputs(texts, allow_pairs=False)
    except DataError as exc:
        raise DataError(f"unlabeled_texts: {exc}") from None
    if not out:
        raise DataError("unlabeled_texts is empty; distillation needs texts for the teacher to label.")
    return out


def _resolve_student(student, seed: int) -> BaseClassifier:
    from .ensemble import resolve_spec

    return resolve_spec(DEFAULT_STUDENT if student is None else student, "student", seed)


# --------------------------------------------------------------------------- distill
def distill(teacher, unlabeled_texts, student=None, *, X=None, y=None, max_unlabeled: int | None = None,
            labeled_weight: float = 1.0, student_pairs: int | None = STUDENT_PAIRS, seed: int = 0,
            cache: bool | str | Path | None = True, show_progress: bool = True) -> BaseClassifier:
    """Train a small, fast student on a fitted teacher's probabilities for unlabeled texts.

    Parameters
    ----------
    teacher : fitted classifier or path
        Any fitted single-label fewshot classifier, or the folder of a saved one.
    unlabeled_texts : list of str
        Texts without labels, from the same source as the texts to classify later (hundreds to a few
        thousand; more helps less than the first thousand). Each must be a non-empty string.
    student : None, str, dict or classifier
        What to train: ``None`` is ``SetFitClassifier(model="minilm")``; a strategy name, a dict
        ``{"name": "setfit", "params": {...}}`` or an (unfitted) instance, which is cloned. A student
        with ``fit_soft`` (SetFit) learns from the probabilities: pair targets are the cosine
        similarities of the teacher's probability vectors, and the head is fitted by soft-label
        cross-entropy (chosen over a confidence-weighted fit on the teacher's argmax because it keeps
        the teacher's doubt: a 55/45 text moves the boundary towards itself instead of counting as a
        sure example of one class). Any other student is trained on the teacher's most likely labels.
    X, y : optional
        The labeled examples the teacher was trained on; the student learns them too, as one-hot
        targets (weight ``labeled_weight`` each in the head). Labels must be classes of the teacher.
    max_unlabeled : int, optional
        Label at most this many texts (a seeded random sample, kept in input order): a prompt
        teacher labels 2-20 texts per second on a CPU.
    student_pairs : int or None
        Contrastive pairs per epoch for a student with a ``max_pairs`` parameter (SetFit) that does
        not set its own. SetFit's budget is ``2 * num_iterations * n`` pairs an epoch, right for 16
        examples, but 80,000 for 2,000 unlabeled texts (about 40 minutes of training on one laptop
        core for 3 epochs). The default, 8,000 (about 4 minutes), was chosen on validation rows of
        cr and sst5 (prompt LoRA teacher at k = 8, 2,000 unlabeled texts, 2 seeds;
        ``benchmarks/results/tune_distill.md``): 2,000 pairs kept less of the teacher's gain, and
        32,000 pairs did no better than 8,000 at four times the cost.
        ``None`` keeps the student's own budget.
    seed : int
        Seeds the ``max_unlabeled`` sample and a student given by name that sets no ``seed``.
    cache : True, path, None or False
        Cache the teacher's probabilities (a small safetensors file per teacher and text list) in
        ``<fewshot cache dir>/distill`` (``True``), in a folder of your choice (a path), or not at
        all (``None``/``False``). A second student distilled from the same teacher and texts reuses
        them without calling the teacher.
    show_progress : bool
        Show a progress bar while the teacher labels.

    Returns the fitted student; ``student.distillation_`` (also written to its ``fewshot.json``)
    records the teacher's identity, the number of texts and the parameters.

    Example::

        student = fewshot.distill("models/prompt-teacher", unlabeled, X=texts, y=labels, max_unlabeled=2000)
        student.predict(["where is my parcel?"])
    """
    rules = {"max_unlabeled": (Integer(1) | NONE).described("a positive integer or None"),
             "labeled_weight": Real(0).described("a non-negative number"), "seed": SEED,
             "student_pairs": (Integer(1) | NONE).described("a positive integer or None"),
             "show_progress": BOOL,
             "cache": (BOOL | NONE | Check(lambda v: isinstance(v, (str, Path)), "a folder")).described(
                 "True, False, None or a folder")}
    from ._validate import check_params

    check_params({"max_unlabeled": max_unlabeled, "labeled_weight": labeled_weight, "seed": seed,
                  "student_pairs": student_pairs, "show_progress": show_progress, "cache": cache}, rules)
    texts = _check_unlabeled(unlabeled_texts)  # parameters and texts are checked before a teacher folder loads
    teacher, folder = _load_teacher(teacher)
    if getattr(teacher, "problem_", "single_label") != "single_label":
        raise ValueError(f"the teacher solves a {teacher.problem_} problem; distillation supports single-label "
                         "classifiers only.")
    classes = np.asarray(teacher.classes_)
    n_given = len(texts)
    if max_unlabeled is not None and len(texts) > max_unlabeled:
        keep = np.sort(np.random.RandomState(int(seed)).choice(len(texts), size=int(max_unlabeled), replace=False))
        texts = [texts[i] for i in keep]
    if len(texts) < len(classes):
        raise DataError(f"{len(texts)} unlabeled text(s) for a teacher with {len(classes)} classes; give at least as "
                        "many texts as classes (hundreds are typical).")
    labeled_X, labeled_y = _check_labeled(X, y, classes)
    student_est = _resolve_student(student, seed)
    capped = "max_pairs" in student_est.get_params(deep=False)  # a student that takes a pair budget
    if capped and student_pairs is not None and student_est.max_pairs is None:
        student_est.set_params(max_pairs=int(student_pairs))
    identity = teacher_identity(teacher, folder)
    proba, info = teacher_probabilities(teacher, texts, cache=cache, identity=identity, show_progress=show_progress)

    started = time.perf_counter()
    soft = hasattr(student_est, "fit_soft")
    all_texts = labeled_X + texts
    if soft:
        onehot = np.zeros((len(labeled_y), len(classes)))
        index = {c: i for i, c in enumerate(classes.tolist())}
        for r, label in enumerate(labeled_y):
            onehot[r, index[label]] = 1.0
        targets = np.vstack([onehot, proba]) if len(labeled_y) else proba
        weights = np.concatenate([np.full(len(labeled_y), float(labeled_weight)), np.ones(len(texts))])
        student_est.fit_soft(all_texts, targets, classes, sample_weight=weights)
    else:
        hard = labeled_y + [classes[i].item() if hasattr(classes[i], "item") else classes[i]
                            for i in proba.argmax(axis=1)]
        student_est.fit(all_texts, hard)
        if list(student_est.classes_) != list(classes):
            missing = sorted(set(map(str, classes)) - set(map(str, student_est.classes_)))
            raise ValueError(f"the student learned the classes {student_est.classes_.tolist()} but the teacher's are "
                             f"{classes.tolist()} (never its top answer: {', '.join(missing)}); use a student with "
                             "soft targets (SetFit) or more unlabeled texts.")
    student_seconds = time.perf_counter() - started
    student_est.distillation_ = {
        "teacher": identity,
        "n_unlabeled": len(texts),
        "n_unlabeled_given": n_given,
        "n_labeled": len(labeled_y),
        "targets": "soft" if soft else "teacher_argmax",
        "params": {"max_unlabeled": max_unlabeled, "labeled_weight": float(labeled_weight), "seed": int(seed),
                   "student_pairs": student_pairs,
                   "student_max_pairs": student_est.max_pairs if capped else None,
                   "pair_targets": "cosine of the teacher's probability vectors" if soft else "same teacher label",
                   "head": "soft-label cross-entropy" if soft else "the student's own loss on the teacher's labels"},
        "teacher_label_seconds": info["label_seconds"],
        "cache_hit": info["cache_hit"],
        "student_seconds": round(student_seconds, 3),
    }
    return student_est


def _check_labeled(X, y, classes: np.ndarray) -> tuple[list, list]:
    from .data import as_inputs, as_targets

    if X is None and y is None:
        return [], []
    if X is None or y is None:
        raise ValueError("give both X and y (the labeled examples) or neither.")
    texts = as_inputs(X, allow_pairs=False)
    labels = as_targets(y, "single_label")
    if len(texts) != len(labels):
        raise ValueError(f"X has {len(texts)} texts but y has {len(labels)} labels; they must be the same length.")
    known = {repr(c): c for c in classes.tolist()}
    out = []
    unknown = []
    for label in labels:
        key = repr(label.item() if hasattr(label, "item") else label)
        if key not in known:
            unknown.append(label)
        else:
            out.append(known[key])
    if unknown:
        raise ValueError(f"y holds label(s) the teacher does not know: {sorted(set(map(str, unknown)))}; the teacher's "
                         f"classes are {classes.tolist()}. Distil with the labels the teacher was trained on.")
    return texts, out


# --------------------------------------------------------------------------- the estimator
def _spec_rule():
    return Check(lambda v: v is None or isinstance(v, (str, dict, BaseClassifier)),
                 "None, a strategy name, a dict {'name': ..., 'params': {...}} or a classifier")


class DistilledClassifier(BaseClassifier):
    """Teacher and student as one estimator: ``fit`` trains the teacher on the labeled examples, lets
    it label the unlabeled texts and trains the student on both; predictions are the student's.

    Meant for the benchmark harness (a suite with ``unlabeled = 2000`` passes each cell's unlabeled
    texts to ``fit(X, y, unlabeled=...)``) and for pipelines; :func:`distill` does the same with a
    teacher you trained yourself.

    Parameters
    ----------
    teacher : None, str, dict or classifier
        The teacher to train: ``None`` is the prompt strategy with LoRA (``{"name": "prompt",
        "params": {"mode": "lora"}}``); a name, dict or instance as for ensemble members.
    student : None, str, dict or classifier
        The student: ``None`` is ``SetFitClassifier(model="minilm")``.
    max_unlabeled, labeled_weight, student_pairs : see :func:`distill`.
    cache : bool or path
        Cache the teacher's probabilities (see :func:`distill`). Off by default here, so that the
        training time always includes the teacher's labeling.
    seed : int
        Seeds the teacher and student (when their specs set no seed) and the ``max_unlabeled`` sample.
    show_progress : bool
        Progress bar while the teacher labels.

    ``fit(X, y, unlabeled=None)``: without ``unlabeled`` the teacher labels the training texts
    themselves (the student then only gains the teacher's soft view of its own examples).

    Attributes: ``teacher_`` (the fitted teacher, in memory only: a saved folder holds the student),
    ``student_``, ``distillation_``.

    Example::

        clf = DistilledClassifier(student={"name": "setfit", "params": {"epochs": 1}})
        clf.fit(texts, labels, unlabeled=pool)
        clf.predict(["where is my parcel?"])
    """

    strategy_name = "distill"
    supports_pairs = False
    _parameter_rules = {
        "teacher": _spec_rule(),
        "student": _spec_rule(),
        "max_unlabeled": (Integer(1) | NONE).described("a positive integer or None"),
        "labeled_weight": Real(0).described("a non-negative number"),
        "student_pairs": (Integer(1) | NONE).described("a positive integer or None"),
        "cache": (BOOL | NONE | Check(lambda v: isinstance(v, (str, Path)), "a folder")).described(
            "True, False, None or a folder"),
        "seed": SEED.described("a non-negative integer"),
        "show_progress": BOOL,
    }

    def __init__(self, *, teacher: Any = None, student: Any = None, max_unlabeled: int | None = None,
                 labeled_weight: float = 1.0, student_pairs: int | None = STUDENT_PAIRS,
                 cache: bool | str | None = False, seed: int = 0, show_progress: bool = False):
        self.teacher = teacher
        self.student = student
        self.max_unlabeled = max_unlabeled
        self.labeled_weight = labeled_weight
        self.student_pairs = student_pairs
        self.cache = cache
        self.seed = seed
        self.show_progress = show_progress

    def _specs(self) -> tuple[BaseClassifier, BaseClassifier]:
        from .ensemble import resolve_spec

        seed = int(self.seed) if isinstance(self.seed, (int, np.integer)) else None
        teacher = resolve_spec(DEFAULT_TEACHER if self.teacher is None else self.teacher, "teacher", seed)
        student = resolve_spec(DEFAULT_STUDENT if self.student is None else self.student, "student", seed)
        return teacher, student

    def _check_params(self) -> None:
        super()._check_params()
        for role, est in zip(("teacher", "student"), self._specs(), strict=True):
            est._check_params()
            if est._problem() != "single_label":
                raise ValueError(f"the {role} solves a {est._problem()} problem; distillation is single-label only.")

    def _params_to_save(self) -> dict[str, Any]:
        from .ensemble import spec_to_json

        params = self.get_params(deep=False)
        params["teacher"] = spec_to_json(self.teacher) if self.teacher is not None else None
        params["student"] = spec_to_json(self.student) if self.student is not None else None
        if isinstance(params["cache"], Path):
            params["cache"] = str(params["cache"])
        return params

    def fit(self, X, y, unlabeled=None):
        """Train the teacher on ``X``, ``y``, let it label ``unlabeled`` and train the student; returns self."""
        self._unlabeled = unlabeled
        try:
            return super().fit(X, y)
        finally:
            del self._unlabeled

    def _fit(self, X: list, y: np.ndarray) -> None:
        teacher, student = self._specs()
        labels = [c.item() if hasattr(c, "item") else c for c in self.classes_[y]]
        unlabeled = self._unlabeled
        if unlabeled is None:
            unlabeled = list(X)
        teacher.fit(X, labels)
        fitted = distill(teacher, unlabeled, student, X=X, y=labels, max_unlabeled=self.max_unlabeled,
                         labeled_weight=float(self.labeled_weight), student_pairs=self.student_pairs,
                         seed=int(self.seed), cache=self.cache,
                         show_progress=bool(self.show_progress))
        if list(fitted.classes_) != list(self.classes_):
            raise ValueError(f"the student learned the classes {fitted.classes_.tolist()} but the training labels are "
                             f"{self.classes_.tolist()}.")
        self.teacher_ = teacher
        self.student_ = fitted
        self.distillation_ = fitted.distillation_
        self.loss_history_ = list(getattr(fitted, "loss_history_", []))

    def _predict_scores(self, X: list) -> np.ndarray:
        return self.student_.predict_proba(X)

    def _save_state(self, folder: Path) -> dict[str, Any]:
        self.student_.save(folder / "student")
        return {"student": "student"}

    def _load_state(self, folder: Path, state: dict[str, Any]) -> None:
        from . import _saved_folder as _folder
        from .base import load

        self.student_ = load(_folder.inside(folder, state.get("student", "student"), field="state.student"))
        if list(self.student_.classes_) != list(self.classes_):
            raise NotASavedClassifierError(
                f"{folder / 'fewshot.json'}: classes lists {self.classes_.tolist()} but the saved student predicts "
                f"{self.student_.classes_.tolist()}; the class list does not match the model.")
        self.distillation_ = getattr(self.student_, "distillation_", None)
        self.loss_history_ = list(getattr(self.student_, "loss_history_", []))


__all__ = ["DistilledClassifier", "distill", "label_texts", "teacher_identity", "teacher_probabilities"]


class _CallableModule(type(json)):
    """``fewshot.distill`` is both this module and the function: once the module is imported (by
    ``fewshot.load`` of a distilled classifier, say), the package attribute ``fewshot.distill`` is
    the module, so calling the module calls :func:`distill`."""

    def __call__(self, *args, **kwargs):
        return distill(*args, **kwargs)


import sys as _sys  # noqa: E402

_sys.modules[__name__].__class__ = _CallableModule
