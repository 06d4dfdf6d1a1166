"""EnsembleClassifier: several strategies trained on the same examples, their probabilities combined.

An ensemble usually beats each of its members when the members make different mistakes (a
sentence-transformer and a prompted decoder read a text differently). It is an ordinary fewshot
classifier: ``clone``, ``GridSearchCV``, ``save``/``fewshot.load`` (each member in a subfolder of
its own, each a normal saved classifier) and the benchmark harness all work.

Example::

    import fewshot
    clf = fewshot.EnsembleClassifier(members=["setfit", {"name": "prompt", "params": {"mode": "lora"}}],
                                     weights="cv")
    clf.fit(texts, labels)
    clf.weights_                 # e.g. array([0.62, 0.38]): learned on out-of-fold probabilities
    clf.save("models/intent")    # fewshot.load("models/intent") predicts the same probabilities

Members are given in any of three forms, mixed freely: a registry name (``"setfit"``), a dict
``{"name": "prompt", "params": {...}}`` (what a TOML suite, JSON or ``--param`` can express; an
optional ``"label"`` names it in tables), or an estimator instance (``SetFitClassifier(epochs=1)``).
The ensemble always trains its own copies (``sklearn.base.clone``), like scikit-learn's
``VotingClassifier``: a fitted instance contributes its parameters, not its training.

The helpers here (member specs, cross-validation folds, combining probabilities) are shared with
:mod:`fewshot.auto`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.utils.validation import check_is_fitted

from . import _saved_folder as _folder
from ._validate import NONE, SEED, Check, Integer, Options, is_number
from .base import BaseClassifier
from .errors import NotASavedClassifierError, UnknownStrategyError

SPEC_KEYS = ("name", "params", "label")
_MEMBER_FOLDER = re.compile(r"member_\d+")
_EPS = 1e-12


# --------------------------------------------------------------------------- member specs
def _is_splitter(value: Any) -> bool:
    return callable(getattr(value, "split", None)) and callable(getattr(value, "get_n_splits", None))


#: ``cv``: None (the default folds), an integer >= 2 (that many stratified folds) or a scikit-learn splitter.
CV_RULE = (NONE | Integer(2) | Check(_is_splitter, "a scikit-learn splitter")).described(
    "None, an integer >= 2 (stratified folds) or a scikit-learn splitter (e.g. RepeatedStratifiedKFold)")


def spec_label(spec: Any) -> str:
    """The name a member or candidate goes by in tables: its ``label``, else its strategy name."""
    if isinstance(spec, BaseClassifier):
        return spec.strategy_name or type(spec).__name__
    if isinstance(spec, dict):
        return str(spec.get("label") or spec.get("name"))
    return str(spec)


def spec_to_json(spec: Any) -> Any:
    """A member spec as plain JSON: an instance becomes ``{"name": ..., "params": {...}}``."""
    if isinstance(spec, BaseClassifier):
        from .registry import get_strategy

        name = spec.strategy_name
        try:
            registered = get_strategy(name) is type(spec)
        except UnknownStrategyError:
            registered = False
        if not registered:
            raise TypeError(f"{type(spec).__name__} is not a registered strategy, so an ensemble holding it cannot be "
                            "saved; register it in fewshot/registry.py or pass a registered strategy.")
        params = spec._params_to_save()
        return {"name": name, "params": {k: spec_to_json(v) if isinstance(v, BaseClassifier) else v
                                         for k, v in params.items()}}
    if isinstance(spec, dict):
        return {k: (dict(v) if isinstance(v, dict) else v) for k, v in spec.items()}
    return spec


def resolve_spec(spec: Any, where: str, seed: int | None = None) -> BaseClassifier:
    """An unfitted estimator for one member spec; a clear error naming ``where`` when it is wrong.

    A name or dict whose strategy takes a ``seed`` and does not set one gets ``seed`` (so one seed
    drives the whole ensemble); an instance is cloned with its own parameters.
    """
    from sklearn.base import clone

    from .registry import get_strategy, strategy_names, unknown_parameters_message

    if isinstance(spec, BaseClassifier):
        return clone(spec)
    if isinstance(spec, str):
        name, params = spec, {}
    elif isinstance(spec, dict):
        unknown = sorted(set(spec) - set(SPEC_KEYS))
        if unknown:
            raise ValueError(f"{where} has unknown key(s) {', '.join(map(repr, unknown))}; a member is "
                             "{'name': 'prompt', 'params': {...}} with an optional 'label'.")
        name, params = spec.get("name"), spec.get("params", {})
        if not isinstance(name, str) or not name:
            raise ValueError(f"{where} has no 'name' (a strategy name such as 'setfit'); got {spec!r}.")
        if not isinstance(params, dict):
            raise ValueError(f"{where}: 'params' must be a dict of parameters; got {params!r}.")
        label = spec.get("label")
        if label is not None and (not isinstance(label, str) or not label):
            raise ValueError(f"{where}: 'label' must be a non-empty string; got {label!r}.")
    else:
        raise ValueError(f"{where} is {spec!r}; give a strategy name ('setfit'), a dict "
                         "{'name': 'prompt', 'params': {...}} or a fewshot classifier instance.")
    if name not in strategy_names():
        raise UnknownStrategyError(f"{where}: unknown strategy {name!r}; known strategies: "
                                   f"{', '.join(strategy_names())}.")
    cls = get_strategy(name)
    message = unknown_parameters_message(cls, params)
    if message:
        raise UnknownStrategyError(f"{where}: {message}")
    params = dict(params)
    if seed is not None and "seed" not in params and "seed" in cls().get_params(deep=False):
        params["seed"] = int(seed)
    return cls(**params)


def resolve_specs(specs: Any, where: str, seed: int | None = None) -> tuple[list[str], list[BaseClassifier], str]:
    """``(labels, unfitted estimators, problem)`` for a list of member specs, checked before any training.

    Raises ``ValueError`` for an empty list, a wrong spec, an unknown name (listing the known ones),
    members' own bad parameters, and members that solve different problems (multi-label with
    single-label). Labels are made unique (``prompt``, ``prompt-2``).
    """
    if isinstance(specs, (str, dict, BaseClassifier)) or not isinstance(specs, (list, tuple)):
        raise ValueError(f"{where} must be a list of members (names, dicts or classifiers); got {specs!r}.")
    if not specs:
        raise ValueError(f"{where} is empty; give at least one strategy, e.g. ['setfit', 'prompt'].")
    estimators = [resolve_spec(s, f"{where}[{i}]", seed) for i, s in enumerate(specs)]
    for i, est in enumerate(estimators):
        try:
            est._check_params()
        except (ValueError, TypeError) as exc:
            raise type(exc)(f"{where}[{i}] ({spec_label(specs[i])}): {exc}") from exc
    problems = [est._problem() for est in estimators]
    if len(set(problems)) > 1:
        listed = ", ".join(f"{spec_label(s)}: {p}" for s, p in zip(specs, problems, strict=True))
        raise ValueError(f"{where} solve different problems ({listed}); every member must be single-label, "
                         "or every member multi-label (e.g. set multi_label=True on each), or every one regression.")
    labels: list[str] = []
    for spec in specs:
        base, label, n = spec_label(spec), spec_label(spec), 1
        while label in labels:
            n += 1
            label = f"{base}-{n}"
        labels.append(label)
    return labels, estimators, problems[0]


# --------------------------------------------------------------------------- folds
def folds_per_repeat(splitter: Any) -> int | None:
    """How many folds one pass of ``splitter`` makes (for the examples-per-class check), if known."""
    n = getattr(splitter, "n_splits", None)
    if n is None:
        n = getattr(splitter, "cvargs", {}).get("n_splits")
    return int(n) if is_number(n) else None


def make_splitter(cv: Any, problem: str, y: np.ndarray, seed: int, *, default: str, classes: Any = None,
                  where: str = "cv"):
    """The scikit-learn splitter for ``cv`` after checking there are enough examples for its folds.

    ``cv=None`` gives the ``default`` folds: ``"auto"`` (repeated stratified folds when the smallest
    class has fewer than 16 examples: ``min(4, smallest)`` folds twice; else 5 stratified folds) or
    ``"3"`` (3 stratified folds). An integer gives that many stratified folds (plain folds for
    multi-label and regression); a splitter is used as given. Raises ``ValueError`` when a class has
    fewer examples than folds (``y`` holds class ids; ``classes`` their names, for the message).
    """
    from sklearn.model_selection import KFold, RepeatedKFold, RepeatedStratifiedKFold, StratifiedKFold

    stratified = problem == "single_label"
    if stratified:
        classes_, counts = np.unique(y, return_counts=True)
        small_class = classes_[int(counts.argmin())]
        smallest = int(counts.min())
        if classes is not None:
            small_class = np.asarray(classes)[int(small_class)]
        small_class = small_class.item() if isinstance(small_class, np.generic) else small_class
    else:
        smallest, small_class = len(y), None
    if cv is None:
        if default == "auto":
            if smallest < 2:
                _too_few(where, 2, smallest, small_class)
            if smallest < 16:
                n_splits = min(4, smallest)
                cls = RepeatedStratifiedKFold if stratified else RepeatedKFold
                return cls(n_splits=n_splits, n_repeats=2, random_state=seed)
            cv = 5
        else:
            cv = int(default)
    if is_number(cv):
        n_splits = int(cv)
        if smallest < n_splits:
            _too_few(where, n_splits, smallest, small_class)
        cls = StratifiedKFold if stratified else KFold
        return cls(n_splits=n_splits, shuffle=True, random_state=seed)
    n_splits = folds_per_repeat(cv)
    if n_splits is not None and smallest < n_splits:
        _too_few(where, n_splits, smallest, small_class)
    return cv


def _too_few(where: str, n_splits: int, smallest: int, small_class: Any) -> None:
    if small_class is None:
        raise ValueError(f"{where}: {n_splits} folds need at least {n_splits} examples; got {smallest}.")
    raise ValueError(
        f"{where}: {n_splits} folds need at least {n_splits} examples of every class, but class {small_class!r} has "
        f"{smallest}. Label more examples of it, or ask for fewer folds (cv={max(2, smallest)})."
    )


# --------------------------------------------------------------------------- combining
def decode_targets(encoded: np.ndarray, classes: np.ndarray, problem: str) -> list:
    """The labels a member is trained on, from the ensemble's encoded targets (lossless)."""
    if problem == "single_label":
        return classes[np.asarray(encoded, dtype=np.int64)].tolist()
    if problem == "multi_label":
        return [classes[row > 0.5].tolist() for row in np.asarray(encoded)]
    allowed = classes.astype(np.float64)
    values = np.asarray(encoded, dtype=np.float64)
    return allowed[np.abs(values[:, None] - allowed[None, :]).argmin(axis=1)].tolist()


def member_scores(est: BaseClassifier, X: list, problem: str, classes: np.ndarray) -> np.ndarray:
    """A fitted member's probabilities with columns in ``classes`` order (values for regression)."""
    if problem == "regression":
        return np.asarray(est.predict_values(X), dtype=np.float64)
    proba = np.asarray(est.predict_proba(X), dtype=np.float64)
    own = list(est.classes_)
    if own == list(classes):
        return proba
    out = np.zeros((len(X), len(classes)))  # a fold model that never saw a (multi-label) label gives it 0
    index = {c: i for i, c in enumerate(classes.tolist())}
    for j, c in enumerate(est.classes_.tolist()):
        if c not in index:
            raise ValueError(f"{spec_label(est)} predicts label {c!r}, which is not among the classes {list(classes)}.")
        out[:, index[c]] = proba[:, j]
    return out


def combine(scores: list[np.ndarray], weights: np.ndarray, how: str, problem: str) -> np.ndarray:
    """Weighted combination of members' scores.

    ``how="proba"``: the weighted mean of probabilities. ``how="log_proba"``: the weighted mean of
    log-probabilities, renormalised (a weighted geometric mean: one confident member counts more);
    for multi-label each label's probability is combined against its complement. Regression
    values are always averaged.
    """
    w = np.asarray(weights, dtype=np.float64)
    if problem == "regression" or how == "proba":
        return sum(wi * s for wi, s in zip(w, scores, strict=True))
    if problem == "multi_label":
        z = sum(wi * (np.log(np.clip(s, _EPS, 1)) - np.log(np.clip(1 - s, _EPS, 1))) for wi, s in zip(w, scores, strict=True))
        return 1.0 / (1.0 + np.exp(-z))
    logp = sum(wi * np.log(np.clip(s, _EPS, 1)) for wi, s in zip(w, scores, strict=True))
    logp = logp - logp.max(axis=1, keepdims=True)
    p = np.exp(logp)
    return p / p.sum(axis=1, keepdims=True)


def ensemble_loss(proba: np.ndarray, target: np.ndarray, problem: str) -> float:
    """Log-loss (single-label), mean binary cross-entropy (multi-label) or squared error (regression)."""
    if problem == "regression":
        return float(np.mean((proba - target) ** 2))
    if problem == "multi_label":
        p = np.clip(proba, _EPS, 1 - _EPS)
        return float(-np.mean(target * np.log(p) + (1 - target) * np.log(1 - p)))
    picked = proba[np.arange(len(target)), np.asarray(target, dtype=np.int64)]
    return float(-np.mean(np.log(np.clip(picked, _EPS, 1))))


def learn_weights(oof: list[np.ndarray], target: np.ndarray, how: str, problem: str) -> np.ndarray:
    """Non-negative weights summing to 1 that minimise the loss of the combined out-of-fold scores.

    Optimised on the simplex (SLSQP from equal weights: deterministic, no randomness); equal
    weights are kept unless the optimum is strictly better.
    """
    from scipy.optimize import minimize

    m = len(oof)
    uniform = np.full(m, 1.0 / m)
    if m == 1:
        return uniform

    def loss(w):
        return ensemble_loss(combine(oof, np.clip(w, 0, None), how, problem), target, problem)

    result = minimize(loss, uniform, method="SLSQP", bounds=[(0.0, 1.0)] * m,
                      constraints=[{"type": "eq", "fun": lambda w: float(np.sum(w) - 1.0)}],
                      options={"maxiter": 200, "ftol": 1e-10})
    w = np.clip(np.asarray(result.x, dtype=np.float64), 0.0, None)
    w = np.where(w < 1e-6, 0.0, w)
    if not np.isfinite(w).all() or w.sum() <= 0:
        return uniform
    w = w / w.sum()
    return w if loss(w) < loss(uniform) else uniform


# --------------------------------------------------------------------------- the estimator
def _weights_ok(value: Any) -> bool:
    if value is None or (isinstance(value, str) and value == "cv"):
        return True
    if not isinstance(value, (list, tuple, np.ndarray)) or len(value) == 0:
        return False
    return all(is_number(v) and np.isfinite(float(v)) and v >= 0 for v in value) and sum(map(float, value)) > 0


class _OfMembers(BaseClassifier):
    """A classifier made of other strategies given as specs (names, dicts or estimators): resolves them
    with the classifier's seed; it takes pairs when every member does; its problem is theirs."""

    _specs_name = "members"

    def _specs(self) -> list:  # pragma: no cover - every subclass says where its specs are
        raise NotImplementedError

    def _resolved(self) -> tuple[list[str], list[BaseClassifier], str]:
        seed = self.seed if isinstance(self.seed, (int, np.integer)) else None
        return resolve_specs(self._specs(), self._specs_name, seed)

    @property
    def supports_pairs(self) -> bool:  # type: ignore[override]
        try:
            return all(type(est).supports_pairs for est in self._resolved()[1])
        except (ValueError, TypeError):
            return True

    def _problem(self) -> str:
        return self._resolved()[2]


class EnsembleClassifier(_OfMembers):
    """Train several strategies on the same examples and combine their probabilities.

    Parameters
    ----------
    members : list
        The strategies, each a registry name (``"setfit"``), a dict ``{"name": "prompt", "params":
        {"mode": "lora"}}`` (optional ``"label"``), or a fewshot classifier instance. All must solve
        the same problem (all single-label, all multi-label or all regression).
    weights : None, "cv" or a list of non-negative numbers
        ``None``: every member counts the same. ``"cv"``: weights learned on the training set: each
        member is trained on ``cv`` folds and predicts the held-out part; the non-negative weights
        summing to 1 that minimise the log-loss of the combined out-of-fold probabilities are kept
        (``weights_``). This trains each member ``folds + 1`` times. A list: fixed weights, one per
        member (normalised to sum to 1).
    combine : "proba" or "log_proba"
        Average the probabilities (default), or the log-probabilities (a geometric mean,
        renormalised: a confident member counts more).
    cv : None, int or a scikit-learn splitter
        The folds of ``weights="cv"``: None is 3 stratified folds; an integer that many; a splitter
        as given (``RepeatedStratifiedKFold(n_splits=4, n_repeats=2)`` for steadier weights). Every
        class needs at least as many examples as folds. A splitter object is not written to
        ``fewshot.json`` (a reloaded ensemble reports ``cv=None``; its weights are kept).
        With 8 examples per class the learned weights are noisy: a member that is better by a few
        points on the held-out folds may not be better on new data. Prefer ``weights=None`` below
        about 16 examples per class unless the members differ a lot.
    seed : int
        Seeds the folds, and every member given by name or dict whose parameters set no ``seed``.

    Attributes: ``members_`` (the fitted members), ``member_labels_``, ``weights_`` (the weights
    used), ``oof_loss_`` (with ``weights="cv"``: the out-of-fold loss of equal and of learned weights).

    Example::

        from fewshot import EnsembleClassifier
        clf = EnsembleClassifier(members=["setfit", "prompt"], weights="cv").fit(texts, labels)
        clf.predict_proba(["where is my parcel?"])
    """

    strategy_name = "ensemble"
    _parameter_rules = {
        "members": Check(lambda v: isinstance(v, (list, tuple)), "a list of members (names, dicts or classifiers)"),
        "weights": Check(_weights_ok, "None, 'cv' or a list of non-negative numbers (not all 0)"),
        "combine": Options("proba", "log_proba"),
        "cv": CV_RULE,
        "seed": SEED.described("a non-negative integer"),
    }

    def __init__(self, *, members: list | None = None, weights: Any = None, combine: str = "proba", cv: Any = None,
                 seed: int = 0):
        self.members = members
        self.weights = weights
        self.combine = combine
        self.cv = cv
        self.seed = seed

    # ------------------------------------------------------------------ members
    _specs_name = "members"

    def _specs(self) -> list:
        return [] if self.members is None else self.members

    def _check_params(self) -> None:
        super()._check_params()
        labels, _, _ = self._resolved()
        if isinstance(self.weights, (list, tuple, np.ndarray)) and len(self.weights) != len(labels):
            raise ValueError(f"weights has {len(self.weights)} value(s) but there are {len(labels)} members "
                             f"({', '.join(labels)}); give one weight per member.")

    def __sklearn_tags__(self):
        try:
            return super().__sklearn_tags__()
        except (ValueError, TypeError):  # members not valid yet: fit says why
            return super(BaseClassifier, self).__sklearn_tags__()

    def _params_to_save(self) -> dict[str, Any]:
        params = self.get_params(deep=False)
        params["members"] = [spec_to_json(s) for s in (self.members or [])]
        if isinstance(params["weights"], np.ndarray):
            params["weights"] = params["weights"].tolist()
        if _is_splitter(params["cv"]):
            params["cv"] = None
        return params

    # ------------------------------------------------------------------ training
    def _fit(self, X: list, y: np.ndarray) -> None:
        from sklearn.base import clone

        labels, estimators, problem = self._resolved()
        targets = decode_targets(y, self.classes_, problem)
        splits = None
        if isinstance(self.weights, str):  # "cv": check the folds before any training
            strat = y if problem == "single_label" else np.zeros(len(X))
            splitter = make_splitter(self.cv, problem, strat, int(self.seed), default="3", classes=self.classes_)
            splits = list(splitter.split(np.zeros((len(X), 1)), strat))
        self.member_labels_ = labels
        self.oof_loss_ = None
        if splits is not None:
            oof: list[list[np.ndarray]] = [[] for _ in estimators]
            rows: list[np.ndarray] = []
            for train, test in splits:
                rows.append(test)
                for m, est in enumerate(estimators):
                    fold = clone(est).fit([X[i] for i in train], [targets[i] for i in train])
                    self._check_member(fold, labels[m], problem, fold=True)
                    oof[m].append(member_scores(fold, [X[i] for i in test], problem, self.classes_))
            stacked = [np.concatenate(parts, axis=0) for parts in oof]
            order = np.concatenate(rows)
            target = np.asarray(y)[order]
            self.weights_ = learn_weights(stacked, target, self.combine, problem)
            uniform = np.full(len(estimators), 1.0 / len(estimators))
            self.oof_loss_ = {
                "equal": ensemble_loss(combine(stacked, uniform, self.combine, problem), target, problem),
                "learned": ensemble_loss(combine(stacked, self.weights_, self.combine, problem), target, problem),
            }
        elif self.weights is None:
            self.weights_ = np.full(len(estimators), 1.0 / len(estimators))
        else:
            w = np.asarray(self.weights, dtype=np.float64)
            self.weights_ = w / w.sum()
        self.members_ = []
        for label, est in zip(labels, estimators, strict=True):
            est.fit(X, targets)
            self._check_member(est, label, problem)
            self.members_.append(est)
        self.pairs_ = bool(getattr(self.members_[0], "pairs_", False))
        self.loss_history_ = []

    def _check_member(self, est: BaseClassifier, label: str, problem: str, fold: bool = False) -> None:
        if est.problem_ != problem:
            raise ValueError(f"member {label!r} was fitted as {est.problem_} but the ensemble is {problem}.")
        if problem == "single_label" and list(est.classes_) != list(self.classes_):
            where = "on a cross-validation fold " if fold else ""
            raise ValueError(f"member {label!r} {where}learned the classes {est.classes_.tolist()} but the ensemble's are "
                             f"{self.classes_.tolist()}; every member must predict the same label set.")

    def _predict_scores(self, X: list) -> np.ndarray:
        scores = [member_scores(est, X, self.problem_, self.classes_) for est in self.members_]
        return combine(scores, self.weights_, self.combine, self.problem_)

    def predict_proba_with_members(self, X) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """The ensemble's ``predict_proba(X)`` and each member's own probabilities, from one pass.

        Returns ``(proba, {member label: member proba})``; every array's columns follow
        ``classes_``. Use it to see what combining bought: score each member and the ensemble on
        the same rows without predicting twice (the benchmark harness records both this way).
        Single-label and multi-label ensembles only.

        Example::

            proba, members = ens.predict_proba_with_members(texts)
            for label, p in members.items():
                print(label, (ens.classes_[p.argmax(1)] == gold).mean())
        """
        check_is_fitted(self, "classes_")
        if self.problem_ == "regression":
            raise ValueError("predict_proba_with_members needs a classification ensemble; this one is a regression.")
        texts = self._predict_inputs(X)
        scores = [member_scores(est, texts, self.problem_, self.classes_) for est in self.members_]
        proba = combine(scores, self.weights_, self.combine, self.problem_)
        return proba, dict(zip(self.member_labels_, scores, strict=True))

    # ------------------------------------------------------------------ saving
    def _save_state(self, folder: Path) -> dict[str, Any]:
        names = []
        for i, est in enumerate(self.members_):
            spec_to_json(est)  # an unregistered member class cannot be reloaded: refuse before writing it
            name = f"member_{i}"
            est.save(folder / name)
            names.append(name)
        return {"members": names, "labels": list(self.member_labels_), "weights": self.weights_.tolist(),
                "oof_loss": self.oof_loss_}

    def _load_state(self, folder: Path, state: dict[str, Any]) -> None:
        self.members_ = load_members(folder, state.get("members"), self.classes_, self.problem_)
        n = len(self.members_)
        declared = len(self.members or [])
        weights = state.get("weights")
        labels = state.get("labels")
        if n != declared or not isinstance(weights, list) or len(weights) != n or not _weights_ok(weights):
            raise NotASavedClassifierError(
                f"{folder / _folder.META_FILE}: the ensemble lists {declared} member(s) in params, {n} saved member "
                f"folder(s) and weights {weights!r}; they do not belong together.")
        if not isinstance(labels, list) or len(labels) != n or not all(isinstance(v, str) for v in labels):
            raise NotASavedClassifierError(f"{folder / _folder.META_FILE}: state.labels must name the {n} member(s).")
        self.member_labels_ = labels
        self.weights_ = np.asarray(weights, dtype=np.float64)
        self.oof_loss_ = state.get("oof_loss")
        self.pairs_ = bool(getattr(self.members_[0], "pairs_", False))
        self.loss_history_ = []


def load_members(folder: Path, names: Any, classes: np.ndarray, problem: str) -> list[BaseClassifier]:
    """Load the member subfolders ``names`` of a saved ensemble (or auto) folder, checked."""
    from .base import load

    where = folder / _folder.META_FILE
    if not isinstance(names, list) or not names or not all(isinstance(n, str) and _MEMBER_FOLDER.fullmatch(n)
                                                            or n == "best" for n in names):
        raise NotASavedClassifierError(f"{where}: state.members must list member folders (member_0, ...); got {names!r}.")
    out = []
    for name in names:
        sub = _folder.inside(folder, name, field=f"state.members.{name}")
        est = load(sub)
        if est.problem_ != problem or list(est.classes_) != list(classes):
            raise NotASavedClassifierError(
                f"{where}: classes lists {np.asarray(classes).tolist()} ({problem}) but member {name} predicts "
                f"{est.classes_.tolist()} ({est.problem_}); the class list does not match the model (the folder was "
                "assembled from different classifiers).")
        out.append(est)
    return out


__all__ = ["EnsembleClassifier", "combine", "learn_weights", "make_splitter", "resolve_specs", "spec_to_json"]
