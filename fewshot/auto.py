"""AutoClassifier: cross-validate the strategies on your own labeled examples and keep the best.

Which strategy wins depends on the data: on our benchmark datasets the ranking of setfit, prompt
and head swings by more than ten points from one dataset to the next. ``AutoClassifier`` measures
on *your* examples instead: stratified cross-validation over the candidate strategies and an
ensemble of the best two, then the pick is refitted on all the data.

Example::

    import fewshot
    clf = fewshot.AutoClassifier(show_progress=True).fit(texts, labels)   # 8-64 examples per class
    clf.best_candidate_          # e.g. 'setfit'
    clf.cv_results_["mean_test_score"]
    print(clf.cv_table())
    clf.save("models/intent")    # fewshot.load(...) gives the refitted pick back

or from the command line: ``fewshot train --strategy auto --data train.jsonl --out models/intent``.

How noisy is it? With 8 examples per class, a held-out fold holds 2 examples per class, so one
fold's accuracy moves in steps of several points and the mean over 8 folds (4 folds, repeated
twice) still has a standard error of a few points: two strategies within about 5 points of each
other are often not told apart reliably. That is why the table reports each candidate's paired
per-fold difference to the best and its standard error, and why a cheaper candidate is kept instead
of the best only within half a standard error (``cheaper_within_se``). A full standard error, the
rule before, kept a weaker candidate too often: on validation rows of trec, cr and sst5 at 8 per
class (3 seeds each) it averaged 55.5 against 60.4 with half a standard error. Repeated folds share
training examples, so this standard error is, if anything, too small. Expect the choice to be right about the large
differences and a coin toss about the small ones; with 32 or more per class it is much steadier.
"""

from __future__ import annotations

import math
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from . import _saved_folder as _folder
from ._validate import BOOL, NONE, SEED, Check, Options, Real
from .base import BaseClassifier
from .ensemble import (
    CV_RULE,
    EnsembleClassifier,
    _is_splitter,
    _OfMembers,
    combine,
    decode_targets,
    load_members,
    make_splitter,
    member_scores,
    spec_to_json,
)
from .errors import NotASavedClassifierError

DEFAULT_CANDIDATES = ("setfit", "prompt", "head")
SINGLE_LABEL_METRICS = ("accuracy", "f1_macro", "f1_weighted", "mcc")  # the harness's headline metrics
MULTI_LABEL_METRICS = ("f1_samples", "f1_micro", "f1_macro", "subset_accuracy")
#: The proper scores recorded beside the metric for every fold (lower is better).
PROPER_SCORES = ("brier", "log_loss")


def _score(metric: str, problem: str, truth: np.ndarray, proba: np.ndarray, threshold: float) -> float:
    """The metric of one held-out fold, from the candidate's probabilities (columns = classes)."""
    from sklearn import metrics as skm

    if problem == "multi_label":
        pred = (proba >= threshold).astype(int)
        truth = (truth > 0.5).astype(int)
        if metric == "subset_accuracy":
            return float(skm.accuracy_score(truth, pred))
        return float(skm.f1_score(truth, pred, average=metric.split("_")[1], zero_division=0))
    pred = proba.argmax(axis=1)
    if metric == "accuracy":
        return float(np.mean(pred == truth))
    if metric == "mcc":
        return float(skm.matthews_corrcoef(truth, pred))
    labels = list(range(proba.shape[1]))
    return float(skm.f1_score(truth, pred, labels=labels, average=metric.split("_")[1], zero_division=0))


def _proper_scores(problem: str, truth: np.ndarray, proba: np.ndarray) -> np.ndarray:
    """The Brier score and the log loss of one held-out fold (lower is better): how close the
    probabilities are to the labels, not only whether the top class is right, so they move in small
    steps where a fold's accuracy moves by a whole text. Single-label: the squared distance between
    the probability vector and the one-hot label, summed over classes, and minus the log probability
    of the true class, each averaged over texts; multi-label: the same for each label's probability,
    averaged over labels and texts."""
    p = np.asarray(proba, dtype=np.float64)
    if problem == "multi_label":
        t = (np.asarray(truth) > 0.5).astype(np.float64)
        q = np.clip(p, 1e-15, 1 - 1e-15)
        return np.array([np.mean((p - t) ** 2), -np.mean(t * np.log(q) + (1 - t) * np.log1p(-q))])
    rows = np.arange(len(truth))
    onehot = np.zeros_like(p)
    onehot[rows, truth] = 1.0
    return np.array([np.mean(np.sum((p - onehot) ** 2, axis=1)),
                     -np.mean(np.log(np.clip(p[rows, truth], 1e-15, None)))])


class AutoClassifier(_OfMembers):
    """Choose a strategy by cross-validation on your labeled examples, then train it on all of them.

    For every candidate (and an ensemble of the best two, which costs no extra training: its fold
    probabilities are the mean of its members'), the examples are split into stratified folds; the
    candidate trains on each training part and is scored on the held-out part. The candidate with
    the best mean score wins, unless a cheaper one (measured fit + predict seconds per fold) is
    within the noise: its paired per-fold difference to the best is at most ``cheaper_within_se``
    standard errors.
    The pick is then refitted on all the examples; ``predict``/``predict_proba`` use it.

    Parameters
    ----------
    candidates : list or None
        The strategies to compare, each a registry name, a dict ``{"name": "prompt", "params":
        {...}, "label": "prompt-zero"}`` or a fewshot classifier instance. None: ``["setfit",
        "prompt", "head"]`` with their defaults. All must solve the same problem.
    time_budget : float or None
        Seconds the whole fit may take, roughly. Every candidate's first fold is run and timed;
        its total cost is estimated as that time per fold plus a refit on all the data, and
        candidates are kept in the order given while their estimates fit the budget. The others
        are recorded in ``cv_results_`` as skipped, with the reason. When none fits, fitting stops
        with an error giving the cheapest candidate's estimated cost. An estimate, not a hard limit.
    cv : None, int or a scikit-learn splitter
        The folds. None: when the smallest class has fewer than 16 examples, ``min(4, smallest)``
        stratified folds repeated twice with different shuffles (8 fits per candidate at 8 per
        class); else 5 stratified folds. An integer: that many stratified folds. A splitter (e.g.
        ``RepeatedStratifiedKFold(n_splits=4, n_repeats=3)``) is used as given. Every class needs at
        least as many examples as folds. A splitter object is not written to ``fewshot.json``.
    metric : str or None
        The score to maximise: for single-label one of ``accuracy`` (the default, the headline metric
        of the benchmark harness), ``f1_macro``, ``f1_weighted``, ``mcc``; for multi-label one of
        ``f1_samples`` (default), ``f1_micro``, ``f1_macro``, ``subset_accuracy``.
    seed : int
        Seeds the folds and every candidate given by name or dict whose parameters set no ``seed``.
    show_progress : bool
        A progress bar over the fold fits, then the table printed (``cv_table()``).
    cheaper_within_se : float
        How close a cheaper candidate must be to the best to be kept instead: its mean paired
        per-fold difference to the best is at most this many standard errors of that difference.
        0.5 by default, chosen on validation rows of trec, cr and sst5 at 8 per class, 3 seeds: 60.4
        on average against 55.5 with 1 (which kept a weaker candidate in 4 of 9 draws); 0 picked
        alike on those draws (``benchmarks/tune_auto.toml``). 0: always the best mean score; larger
        values trade accuracy for speed more readily.

    How noisy is it? With 8 examples per class a held-out fold holds 2 per class, so one fold's
    accuracy moves in steps of several points and the mean over 8 folds keeps a standard error of
    a few points; candidates within about 5 points of each other are often not told apart, and
    repeated folds share examples, so the reported standard error is if anything too small. Use
    the ``paired_diff``/``paired_se`` columns to see how sure the choice is.

    Attributes
    ----------
    cv_results_ : dict of arrays, one entry per candidate (like scikit-learn's searches)
        ``candidate``, ``params``, ``split{i}_test_score``, ``mean_test_score``, ``std_test_score``,
        ``rank_test_score``, ``split{i}_test_brier``, ``mean_test_brier``, ``split{i}_test_log_loss``
        and ``mean_test_log_loss`` (proper scores of the held-out probabilities, lower is better; they
        do not enter the choice), ``mean_fit_seconds``, ``mean_predict_seconds``, ``estimated_seconds``
        (per-fold cost times folds plus the refit), ``paired_diff`` and ``paired_se`` (the best mean
        minus this one, paired by fold, and its standard error), ``chosen``, ``skipped`` and
        ``reason`` (why chosen or skipped). Skipped candidates have NaN scores. A candidate whose fit or
        prediction raises is skipped too, with the error as its reason and a ``UserWarning`` (as
        scikit-learn's searches score a failed fit); when every candidate fails, ``fit`` raises.
    best_candidate_ : str
        The label of the pick.
    best_estimator_ : the pick, refitted on all the examples.

    Example::

        from fewshot import AutoClassifier
        clf = AutoClassifier(candidates=["setfit", {"name": "prompt", "params": {"mode": "zero"}}],
                             time_budget=600).fit(texts, labels)
        print(clf.cv_table())
    """

    strategy_name = "auto"
    _params_saved_before = {"cheaper_within_se": 1.0}  # the rule before the parameter existed
    _parameter_rules = {
        "candidates": NONE | Check(lambda v: isinstance(v, (list, tuple)), "a list of strategies (names, dicts or "
                                                                            "classifiers)"),
        "time_budget": NONE | Real(0, None, closed="neither").described("a positive number of seconds"),
        "cv": CV_RULE,
        "metric": NONE | Options(*dict.fromkeys(SINGLE_LABEL_METRICS + MULTI_LABEL_METRICS)),
        "seed": SEED.described("a non-negative integer"),
        "show_progress": BOOL,
        "cheaper_within_se": Real(0, None, closed="left").described("a non-negative number of standard errors"),
    }

    def __init__(self, *, candidates: list | None = None, time_budget: float | None = None, cv: Any = None,
                 metric: str | None = None, seed: int = 0, show_progress: bool = False,
                 cheaper_within_se: float = 0.5):
        self.candidates = candidates
        self.time_budget = time_budget
        self.cv = cv
        self.metric = metric
        self.seed = seed
        self.show_progress = show_progress
        self.cheaper_within_se = cheaper_within_se

    # ------------------------------------------------------------------ parameters
    _specs_name = "candidates"

    def _specs(self) -> list:
        return list(DEFAULT_CANDIDATES) if self.candidates is None else self.candidates

    def _metric(self, problem: str) -> str:
        allowed = SINGLE_LABEL_METRICS if problem == "single_label" else MULTI_LABEL_METRICS
        metric = self.metric or allowed[0]
        if metric not in allowed:
            raise ValueError(f"metric {metric!r} does not score a {problem} classifier; use one of {', '.join(allowed)}.")
        return metric

    def _check_params(self) -> None:
        super()._check_params()
        _, _, problem = self._resolved()
        if problem == "regression":
            raise ValueError("candidates are regression strategies; AutoClassifier chooses among classifiers "
                             "(single-label or multi-label). Compare regression set-ups with cross_val_score.")
        self._metric(problem)

    def __sklearn_tags__(self):
        try:
            return super().__sklearn_tags__()
        except (ValueError, TypeError):
            return super(BaseClassifier, self).__sklearn_tags__()

    def _params_to_save(self) -> dict[str, Any]:
        params = self.get_params(deep=False)
        if params["candidates"] is not None:
            params["candidates"] = [spec_to_json(s) for s in params["candidates"]]
        if _is_splitter(params["cv"]):
            params["cv"] = None
        return params

    # ------------------------------------------------------------------ training
    def _fit(self, X: list, y: np.ndarray) -> None:
        from sklearn.base import clone
        from tqdm.auto import tqdm

        labels, estimators, problem = self._resolved()
        metric = self._metric(problem)
        targets = decode_targets(y, self.classes_, problem)
        strat = y if problem == "single_label" else np.zeros(len(X))
        splitter = make_splitter(self.cv, problem, strat, int(self.seed), default="auto", classes=self.classes_)
        splits = list(splitter.split(np.zeros((len(X), 1)), strat))
        n_splits, n_cand = len(splits), len(estimators)
        truth = np.asarray(y)

        scores = np.full((n_cand, n_splits), np.nan)
        proper = np.full((n_cand, n_splits, len(PROPER_SCORES)), np.nan)
        fit_s = np.full((n_cand, n_splits), np.nan)
        pred_s = np.full((n_cand, n_splits), np.nan)
        probas: list[list[np.ndarray | None]] = [[None] * n_splits for _ in range(n_cand)]
        skipped = [""] * n_cand
        bar = tqdm(total=n_cand * n_splits, desc="auto", unit="fit", disable=not self.show_progress, leave=False,
                   file=sys.stderr)

        def run(c: int, s: int) -> None:
            train, test = splits[s]
            bar.set_description(f"auto: {labels[c]} fold {s + 1}/{n_splits}")
            est = clone(estimators[c])
            t0 = time.perf_counter()
            est.fit([X[i] for i in train], [targets[i] for i in train])
            t1 = time.perf_counter()
            proba = member_scores(est, [X[i] for i in test], problem, self.classes_)
            t2 = time.perf_counter()
            fit_s[c, s], pred_s[c, s] = t1 - t0, t2 - t1
            probas[c][s] = proba
            scores[c, s] = _score(metric, problem, truth[test], proba, float(getattr(est, "threshold", 0.5)))
            proper[c, s] = _proper_scores(problem, truth[test], proba)
            bar.update(1)

        failed: dict[int, str] = {}

        def attempt(c: int, s: int) -> bool:
            """Run one fold; a candidate whose fit or prediction raises is dropped with the reason, as
            scikit-learn's searches score a failed fit (the others go on)."""
            try:
                run(c, s)
            except Exception as exc:  # noqa: BLE001 - any failure of a candidate's own code
                failed[c] = f"failed on fold {s + 1}: {type(exc).__name__}: {exc}"
                warnings.warn(f"AutoClassifier: candidate {labels[c]!r} {failed[c]}; it is skipped.",
                              UserWarning, stacklevel=4)
                if len(failed) == n_cand:
                    raise ValueError(
                        "every candidate failed during cross-validation: "
                        + "; ".join(f"{labels[i]}: {failed[i]}" for i in sorted(failed))) from exc
                bar.update(n_splits - s)
                return False
            return True

        started = time.perf_counter()
        try:
            for c in range(n_cand):  # first fold of every candidate: its cost estimate
                attempt(c, 0)
            ok = np.array([c not in failed for c in range(n_cand)])
            refit = np.where(ok, fit_s[:, 0] * len(X) / max(1, len(splits[0][0])), np.inf)
            estimate = np.where(ok, (fit_s[:, 0] + pred_s[:, 0]) * n_splits + refit, np.inf)
            if self.time_budget is not None:
                per_fold = np.where(ok, fit_s[:, 0] + pred_s[:, 0], np.inf)
                skipped = self._apply_budget(labels, estimate, per_fold, refit, n_splits)
                bar.total = n_cand + (n_splits - 1) * sum(not s for s in skipped)
                bar.refresh()
            skipped = [failed.get(c) or skipped[c] for c in range(n_cand)]
            estimate = np.where(ok, estimate, np.nan)  # a failed candidate has no cost estimate
            for c in range(n_cand):
                if skipped[c]:
                    continue
                for s in range(1, n_splits):
                    if not attempt(c, s):
                        skipped[c] = failed[c]
                        break
        finally:
            bar.close()

        rows = [{"candidate": labels[c], "params": spec_to_json_safe(self._specs()[c], estimators[c]),
                 "scores": scores[c] if not skipped[c] else np.full(n_splits, np.nan),
                 "proper": proper[c] if not skipped[c] else np.full((n_splits, len(PROPER_SCORES)), np.nan),
                 "fit": fit_s[c], "predict": pred_s[c], "estimate": estimate[c], "skipped": skipped[c]}
                for c in range(n_cand)]
        kept = [c for c in range(n_cand) if not skipped[c]]
        pair = sorted(kept, key=lambda c: (-np.mean(scores[c]), c))[:2]
        ens_label = "ensemble(" + "+".join(labels[c] for c in pair) + ")" if len(pair) == 2 else "ensemble"
        ens_row = {"candidate": ens_label, "params": None, "scores": np.full(n_splits, np.nan),
                   "proper": np.full((n_splits, len(PROPER_SCORES)), np.nan),
                   "fit": np.full(n_splits, np.nan), "predict": np.full(n_splits, np.nan), "estimate": np.nan,
                   "skipped": ""}
        if len(pair) < 2:
            ens_row["skipped"] = "needs two candidates that were cross-validated"
        else:
            a, b = pair
            ens_row["params"] = {"name": "ensemble", "params": {"members": [rows[a]["params"], rows[b]["params"]]}}
            ens_row["fit"], ens_row["predict"] = fit_s[a] + fit_s[b], pred_s[a] + pred_s[b]
            ens_row["estimate"] = estimate[a] + estimate[b]
            ens_proba = [combine([probas[a][s], probas[b][s]], np.array([0.5, 0.5]), "proba", problem)
                         for s in range(n_splits)]
            ens_row["scores"] = np.array([_score(metric, problem, truth[splits[s][1]], ens_proba[s], 0.5)
                                          for s in range(n_splits)])
            ens_row["proper"] = np.array([_proper_scores(problem, truth[splits[s][1]], ens_proba[s])
                                          for s in range(n_splits)])
            if self.time_budget is not None:
                spent = time.perf_counter() - started
                ens_refit = refit[a] + refit[b]
                if spent + ens_refit > self.time_budget:
                    ens_row["skipped"] = (f"its refit on all the data is estimated at {ens_refit:.1f} s, more than the "
                                          f"{max(0.0, self.time_budget - spent):.1f} s left of the budget")
                    ens_row["scores"] = np.full(n_splits, np.nan)
                    ens_row["proper"] = np.full((n_splits, len(PROPER_SCORES)), np.nan)
        rows.append(ens_row)

        chosen, reasons = _choose(rows, float(self.cheaper_within_se))
        for row, reason in zip(rows, reasons, strict=True):
            row["reason"] = row["skipped"] or reason
        self.cv_results_ = _results_table(rows, chosen, n_splits)
        self.best_candidate_ = rows[chosen]["candidate"]
        self.cv_splitter_ = repr(splitter)

        if chosen == n_cand:
            a, b = pair
            best = EnsembleClassifier(members=[estimators[a], estimators[b]], seed=int(self.seed))
        else:
            best = clone(estimators[chosen])
        best.fit(X, targets)
        if best.problem_ != problem or list(best.classes_) != list(self.classes_):
            raise ValueError(f"the pick {self.best_candidate_!r} learned the classes {best.classes_.tolist()} but the data "
                             f"has {self.classes_.tolist()}.")
        self.best_estimator_ = best
        self.loss_history_ = list(getattr(best, "loss_history_", []))
        self.pairs_ = bool(getattr(best, "pairs_", False))
        if self.show_progress:
            print(self.cv_table())

    def _apply_budget(self, labels, estimate, per_fold, refit, n_splits) -> list[str]:
        budget = float(self.time_budget)
        if not np.any(estimate <= budget):
            cheapest = int(np.argmin(estimate))
            raise ValueError(
                f"time_budget={budget:g} s fits no candidate: the cheapest, {labels[cheapest]!r}, is estimated at "
                f"{estimate[cheapest]:.1f} s ({per_fold[cheapest]:.1f} s for its first fold, {n_splits} folds plus a "
                f"refit on all the data). Raise time_budget to at least {math.ceil(estimate[cheapest])}, or use fewer "
                "folds (cv=...) or cheaper candidates.")
        skipped, planned, max_refit = [], 0.0, 0.0
        for c in range(len(labels)):
            cv_cost = per_fold[c] * n_splits
            need = planned + cv_cost + max(max_refit, refit[c])
            if need <= budget:
                skipped.append("")
                planned += cv_cost
                max_refit = max(max_refit, refit[c])
            else:
                skipped.append(f"estimated at {estimate[c]:.1f} s ({per_fold[c]:.1f} s per fold x {n_splits} + refit "
                               f"{refit[c]:.1f} s); with the candidates kept before it that exceeds time_budget="
                               f"{budget:g} s")
        return skipped

    # ------------------------------------------------------------------ prediction
    def _predict_scores(self, X: list) -> np.ndarray:
        return member_scores(self.best_estimator_, X, self.problem_, self.classes_)

    def predict(self, X):
        """Labels from the refitted pick (``classes_[argmax(predict_proba)]``; label lists for multi-label,
        with the pick's own threshold)."""
        if getattr(self, "problem_", None) == "multi_label":
            return self.best_estimator_.predict(X)
        return super().predict(X)

    def cv_table(self) -> str:
        """The cross-validation table as text: one row per candidate, the pick marked."""
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self, "cv_results_")
        return format_cv_results(self.cv_results_)

    # ------------------------------------------------------------------ saving
    def _save_state(self, folder: Path) -> dict[str, Any]:
        spec_to_json(self.best_estimator_)  # refuse an unregistered pick before writing
        self.best_estimator_.save(folder / "best")
        table = {}
        for key, values in self.cv_results_.items():
            if key == "params":
                table[key] = list(values)
            else:
                table[key] = [None if isinstance(v, float) and math.isnan(v) else v for v in np.asarray(values).tolist()]
        return {"best": "best", "best_candidate": self.best_candidate_, "cv_results": table,
                "cv_splitter": self.cv_splitter_}

    def _load_state(self, folder: Path, state: dict[str, Any]) -> None:
        where = folder / _folder.META_FILE
        if state.get("best") != "best":
            raise NotASavedClassifierError(f"{where}: state.best must be 'best' (the refitted pick's folder).")
        (self.best_estimator_,) = load_members(folder, ["best"], self.classes_, self.problem_)
        table = state.get("cv_results")
        if not isinstance(table, dict) or "candidate" not in table:
            raise NotASavedClassifierError(f"{where}: state.cv_results must be the cross-validation table.")
        self.cv_results_ = _table_from_json(table)
        self.best_candidate_ = str(state.get("best_candidate"))
        self.cv_splitter_ = state.get("cv_splitter")
        self.loss_history_ = list(getattr(self.best_estimator_, "loss_history_", []))
        self.pairs_ = bool(getattr(self.best_estimator_, "pairs_", False))


def spec_to_json_safe(spec: Any, est: BaseClassifier) -> Any:
    """A candidate's spec as JSON for the table (an unregistered instance: its class name and params)."""
    try:
        return spec_to_json(spec)
    except TypeError:
        return {"name": type(est).__name__, "params": {k: v for k, v in est.get_params(deep=False).items()
                                                      if isinstance(v, (str, int, float, bool, type(None)))}}


def _choose(rows: list[dict], within_se: float) -> tuple[int, list[str]]:
    """The index of the pick and a reason per row: the best mean score, or the cheapest row whose mean
    paired per-fold difference to the best is at most ``within_se`` standard errors."""
    valid = [i for i, r in enumerate(rows) if not r["skipped"]]
    cost = {i: float(np.mean(rows[i]["fit"]) + np.mean(rows[i]["predict"])) for i in valid}
    mean = {i: float(np.mean(rows[i]["scores"])) for i in valid}
    best = max(valid, key=lambda i: (mean[i], -cost[i]))
    reasons = [""] * len(rows)
    near = []
    for i in valid:
        diff = rows[best]["scores"] - rows[i]["scores"]
        se = float(np.std(diff, ddof=1) / np.sqrt(len(diff))) if len(diff) > 1 else float("inf")
        rows[i]["paired_diff"], rows[i]["paired_se"] = float(np.mean(diff)), se
        if i != best and cost[i] < cost[best] and np.mean(diff) <= within_se * se:
            near.append(i)
    for r in rows:
        r.setdefault("paired_diff", float("nan"))
        r.setdefault("paired_se", float("nan"))
    if near:
        pick = min(near, key=lambda i: (cost[i], i))
        reasons[pick] = (f"within the noise of {rows[best]['candidate']} ({rows[pick]['paired_diff']:+.3f} "
                         f"<= {within_se:g} SE of {rows[pick]['paired_se']:.3f}) and cheaper ({cost[pick]:.1f} s vs {cost[best]:.1f} s "
                         "per fold)")
        reasons[best] = "best mean score, but a cheaper candidate is within the noise"
    else:
        pick = best
        reasons[best] = "best mean score"
    return pick, reasons


def _results_table(rows: list[dict], chosen: int, n_splits: int) -> dict[str, Any]:
    means = np.array([np.mean(r["scores"]) if not r["skipped"] else np.nan for r in rows])
    order = sorted(range(len(rows)), key=lambda i: (np.isnan(means[i]), -np.nan_to_num(means[i], nan=0.0)))
    rank = np.empty(len(rows), dtype=np.int64)
    for position, i in enumerate(order):
        rank[i] = position + 1
    table: dict[str, Any] = {
        "candidate": np.array([r["candidate"] for r in rows], dtype=object),
        "params": [r["params"] for r in rows],
    }
    for s in range(n_splits):
        table[f"split{s}_test_score"] = np.array([r["scores"][s] for r in rows], dtype=np.float64)
    table["mean_test_score"] = means
    table["std_test_score"] = np.array([np.std(r["scores"]) if not r["skipped"] else np.nan for r in rows])
    table["rank_test_score"] = rank
    for j, name in enumerate(PROPER_SCORES):
        for s in range(n_splits):
            table[f"split{s}_test_{name}"] = np.array([r["proper"][s, j] for r in rows], dtype=np.float64)
        table[f"mean_test_{name}"] = np.array([np.mean(r["proper"][:, j]) if not r["skipped"] else np.nan
                                               for r in rows])
    table["mean_fit_seconds"] = np.array([np.nanmean(r["fit"]) if np.isfinite(r["fit"]).any() else np.nan
                                          for r in rows])
    table["mean_predict_seconds"] = np.array([np.nanmean(r["predict"]) if np.isfinite(r["predict"]).any() else np.nan
                                              for r in rows])
    table["estimated_seconds"] = np.array([r["estimate"] for r in rows], dtype=np.float64)
    table["paired_diff"] = np.array([r["paired_diff"] for r in rows], dtype=np.float64)
    table["paired_se"] = np.array([r["paired_se"] for r in rows], dtype=np.float64)
    table["chosen"] = np.arange(len(rows)) == chosen
    table["skipped"] = np.array([bool(r["skipped"]) for r in rows])
    table["reason"] = np.array([r["reason"] for r in rows], dtype=object)
    return table


def _table_from_json(table: dict) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, values in table.items():
        if key == "params":
            out[key] = list(values)
        elif key in ("candidate", "reason"):
            out[key] = np.array(values, dtype=object)
        elif key in ("chosen", "skipped"):
            out[key] = np.array(values, dtype=bool)
        elif key == "rank_test_score":
            out[key] = np.array(values, dtype=np.int64)
        else:
            out[key] = np.array([np.nan if v is None else v for v in values], dtype=np.float64)
    return out


def format_cv_results(results: dict[str, Any]) -> str:
    """A fixed-width text table of an AutoClassifier's ``cv_results_``."""
    names = [str(c) for c in results["candidate"]]
    width = max(12, *(len(n) for n in names)) + 2
    lines = [f"{'candidate':<{width}}{'score':>7}{'± std':>8}{'diff':>8}{'± SE':>7}{'fit s':>8}{'pred s':>8}  note"]
    for i, name in enumerate(names):
        def num(key, fmt, i=i):
            v = float(results[key][i])
            return "-" if math.isnan(v) else format(v, fmt)

        note = ("<- chosen: " if results["chosen"][i] else "") + str(results["reason"][i])
        lines.append(f"{name:<{width}}{num('mean_test_score', '.3f'):>7}{num('std_test_score', '.3f'):>8}"
                     f"{num('paired_diff', '+.3f'):>8}{num('paired_se', '.3f'):>7}{num('mean_fit_seconds', '.1f'):>8}"
                     f"{num('mean_predict_seconds', '.2f'):>8}  {note}")
    return "\n".join(lines)


__all__ = ["AutoClassifier", "format_cv_results"]
