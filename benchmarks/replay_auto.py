"""Replay AutoClassifier's choice under other rules on the folds its benchmark cells recorded.

Every ``auto`` cell keeps its cross-validation table (``cv_table``: each candidate's per-fold scores
and cost), so a different rule for choosing among the candidates can be tried without training
again. Each rule's pick in a (dataset, seed) draw is scored by that candidate's own cell in the same
draw (the single strategies, and ``ensemble`` for an ensemble of setfit and prompt), on the same
rows. Writes ``RESULTS_DIR/replay.md`` and prints it.

Run it on a tuning suite (validation rows), never to choose a rule on test rows::

    fewshot bench benchmarks/tune_auto.toml --out benchmarks/results/tune_auto --jobs 2 --threads 1
    python benchmarks/replay_auto.py benchmarks/results/tune_auto

Every rule set starts with ``current``, the rule the auto cells ran: the best mean fold score, unless
a cheaper candidate's paired per-fold difference to the best is within ``cheaper_within_se`` standard
errors (the cell's own parameter; 1 for cells from before the parameter existed). The replay checks
that it reproduces every cell's recorded pick.

``--rules tune_auto`` (the default; fixed in ``benchmarks/tune_auto.toml`` before its run, whose cells
ran ``current`` with one standard error):

- ``half_se``: the same with half a standard error (``cheaper_within_se=0.5``);
- ``best_mean``: the best mean fold score (ties: the cheaper), no preference for cheaper candidates
  (``cheaper_within_se=0``);
- ``no_near_chance``: one standard error as in ``current``, but a cheaper candidate is not taken when
  its mean fold score is within one standard error of chance (one over the number of classes).

``--rules tune_auto_fresh`` (fixed in ``benchmarks/tune_auto_fresh.toml`` before its run, whose cells
run ``current`` with half a standard error, the default since ``tune_auto``). The first candidate
(``setfit`` in ``AutoClassifier``'s default list, the first row of ``cv_table``) is the library's
default strategy; these rules keep it unless the cross-validation shows another is better:

- ``first_half_se``: the best mean fold score, unless the first candidate's paired per-fold
  difference to the best is within half a standard error (no preference for cheaper candidates);
- ``first_1se``: the same with one standard error;
- ``near_chance_first``: ``current``'s pick, unless its mean fold score is within one standard
  error of chance: then the first candidate (the folds could not tell the candidates apart);
- ``best_brier``: the lowest mean fold Brier score (``cv_results_["mean_test_brier"]``; ties: the
  cheaper). A proper score of the probabilities moves in small steps where a fold's accuracy, on two
  texts per class, moves by a whole text;
- ``brier_first_half_se``: ``best_brier``, unless the first candidate's paired per-fold Brier
  difference to it is within half a standard error.

Its decision asks more: a rule replaces ``current`` only when ahead by more than twice the standard
error of the paired difference (five rules are tried, not three).
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
from _provenance import code_footer, results_folder_main

from fewshot.auto import _choose
from fewshot.bench.results import check_code_versions, collect
from fewshot.bench.verdicts import Paired

#: The rule sets, each fixed before its study ran; the first rule, ``current``, is the cells' own.
RULE_SETS = {"tune_auto": ("current", "half_se", "best_mean", "no_near_chance"),
             "tune_auto_fresh": ("current", "first_half_se", "first_1se", "near_chance_first", "best_brier",
                                 "brier_first_half_se")}
#: How far ahead of ``current`` a rule must be to replace it, in standard errors of the paired
#: difference: one for tune_auto; two for tune_auto_fresh, which tries five rules, not three.
MARGIN_OF_DECISION = {"tune_auto": 1.0, "tune_auto_fresh": 2.0}


def _times(z: float) -> str:
    return "" if z == 1 else f"{z:g} times "


def _se(x: np.ndarray) -> float:
    return float(np.std(x, ddof=1) / math.sqrt(len(x))) if len(x) > 1 else math.inf


#: The rules that are AutoClassifier's own with another ``cheaper_within_se``.
MARGINS = {"half_se": 0.5, "best_mean": 0.0}
#: The rules that keep the first candidate within this many standard errors of the best.
FIRST = {"first_half_se": 0.5, "first_1se": 1.0}


def _as_auto(rows: list[dict], within_se: float) -> int:
    as_auto = [{"candidate": r["candidate"], "scores": r["scores"], "fit": np.array([r["cost"]]),
                "predict": np.zeros(1), "skipped": r["skipped"]} for r in rows]
    return _choose(as_auto, within_se)[0]


def _first_within(rows: list[dict], valid: list[int], best: int, folds: list[np.ndarray], within_se: float) -> int:
    """The first candidate (row 0) when its paired per-fold difference to ``best`` (``folds``: higher
    is better) is at most ``within_se`` standard errors, else ``best``."""
    if 0 not in valid or best == 0:
        return best
    diff = folds[best] - folds[0]
    return 0 if np.mean(diff) <= within_se * _se(diff) else best


def choose(rows: list[dict], rule: str, n_classes: int, current_se: float = 1.0) -> int:
    """The index of the row ``rule`` picks. A row: ``candidate``, ``scores`` (per fold), ``cost``
    (seconds per fold), ``skipped``; the first row is the first candidate. ``current_se``: the
    ``cheaper_within_se`` the cell ran with."""
    if rule == "current":
        return _as_auto(rows, current_se)
    if rule in MARGINS:
        return _as_auto(rows, MARGINS[rule])
    valid = [i for i, r in enumerate(rows) if not r["skipped"]]
    mean = {i: float(np.mean(rows[i]["scores"])) for i in valid}
    best = max(valid, key=lambda i: (mean[i], -rows[i]["cost"]))
    if rule in FIRST:
        return _first_within(rows, valid, best, [r["scores"] for r in rows], FIRST[rule])
    if rule in ("best_brier", "brier_first_half_se"):
        if any(rows[i].get("brier") is None for i in valid):
            raise SystemExit(f"the rule {rule} needs each candidate's fold Brier scores; these cells did not record "
                             "them (code before they were added to AutoClassifier.cv_results_)")
        brier = {i: float(np.mean(rows[i]["brier"])) for i in valid}
        best_b = min(valid, key=lambda i: (brier[i], rows[i]["cost"]))
        if rule == "best_brier":
            return best_b
        return _first_within(rows, valid, best_b, [-r["brier"] for r in rows], 0.5)  # lower Brier is better
    if rule == "near_chance_first":
        pick = _as_auto(rows, current_se)
        near_chance = mean[pick] - 1.0 / n_classes <= _se(rows[pick]["scores"])
        return 0 if near_chance and 0 in valid else pick
    if rule != "no_near_chance":
        raise ValueError(f"unknown rule {rule!r}")
    near = []
    for i in valid:
        if i == best or rows[i]["cost"] >= rows[best]["cost"]:
            continue
        diff = rows[best]["scores"] - rows[i]["scores"]
        if np.mean(diff) > _se(diff) or mean[i] - 1.0 / n_classes <= _se(rows[i]["scores"]):
            continue
        near.append(i)
    return min(near, key=lambda i: (rows[i]["cost"], i)) if near else best


def _strategy_of(candidate: str, labels: set[str]) -> str | None:
    """The suite's strategy label whose cell scores this candidate, or None."""
    if candidate in labels:
        return candidate
    if candidate.startswith("ensemble(") and sorted(candidate[9:-1].split("+")) == ["prompt", "setfit"]:
        return "ensemble" if "ensemble" in labels else None
    return None


def draws(res, auto: str = "auto") -> list[dict]:
    """One record per (dataset, k, seed) with a finished auto cell that recorded its folds."""
    labels = set(res.strategies)
    out = []
    for k in res.ks:
        for d in res.datasets:
            group = res.group(d, auto, k)
            if not group:
                continue
            for cell in group.ok:
                table = cell.get("cv_table") or []
                if not table or "fold_scores" not in table[0]:
                    continue
                rows = [{"candidate": r["candidate"], "skipped": r["skipped"],
                         "scores": np.array([np.nan if s is None else s for s in r["fold_scores"]], dtype=float),
                         "brier": (None if r.get("fold_brier") is None else
                                   np.array([np.nan if b is None else b for b in r["fold_brier"]], dtype=float)),
                         "cost": (r["mean_fit_seconds"] or 0.0) + (r["mean_predict_seconds"] or 0.0),
                         "recorded": r["chosen"]} for r in table]
                score = {}
                for label in labels - {auto}:
                    g = res.group(d, label, k)
                    by_seed = {c["seed"]: c["headline"] for c in (g.ok if g else [])}
                    if cell["seed"] in by_seed:
                        score[label] = by_seed[cell["seed"]]
                current_se = float((cell.get("params") or {}).get("cheaper_within_se", 1.0))
                out.append({"dataset": d, "k": k, "seed": cell["seed"], "rows": rows, "score": score,
                            "auto_score": cell["headline"], "n_classes": len(cell["class_counts"]),
                            "current_se": current_se})
    return out


def replay(draw: dict, labels: set[str], rules: tuple[str, ...]) -> dict:
    """Each rule's pick and its score in one draw."""
    picks = {}
    for rule in rules:
        i = choose(draw["rows"], rule, draw["n_classes"], draw["current_se"])
        cand = draw["rows"][i]["candidate"]
        label = _strategy_of(cand, labels)
        picks[rule] = (cand, draw["score"].get(label) if label else None)
    return picks


def _paired(got: list[float], ref: list[float]) -> Paired:
    diffs = [g - r for g, r in zip(got, ref, strict=True)]
    return Paired(diffs, sum(d > 0 for d in diffs), sum(d < 0 for d in diffs))


def _pm(p: Paired) -> str:
    if p.n == 0:
        return "n/a"
    return f"{100 * p.mean:+.1f}" if p.se is None else f"{100 * p.mean:+.1f} ± {100 * p.se:.1f}"


def _oracle_hits(p: Paired) -> str:
    return f"{sum(abs(d) < 1e-12 for d in p.diffs)}/{p.n}"


def report(results_dir, *, auto: str = "auto", allow_mixed: bool = False, rules: str = "tune_auto") -> str:
    rule_set = RULE_SETS[rules]
    res = collect(results_dir)
    versions = check_code_versions(res, allow_mixed=allow_mixed)
    labels = set(res.strategies)
    singles = sorted(s for s in labels if s != auto and not s.startswith("ensemble"))
    found = draws(res, auto)
    splits = sorted({c.get("eval_split", "test") for c in res.cells})
    lines = [f"# Replay of auto's choice rule: {res.suite.name if res.suite else Path(results_dir).name}", ""]
    if "test" in splits:
        lines += ["**Warning: these cells were scored on test rows; no rule may be chosen from them.**", ""]
    if not found:
        return "\n".join(lines + ["No finished auto cell with recorded folds yet.", ""])
    lines += [f"Scored on {', '.join(splits)} rows; {len(found)} draws. A pick is scored by its own cell "
              "in the same draw; the oracle is the best single strategy in hindsight.", ""]
    header = ["dataset", "k", "seed", *[f"{s} (cv / scored)" for s in singles], "auto cell", "oracle",
              *rule_set]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    per_rule: dict[str, list] = {r: [] for r in rule_set}
    mismatches = []
    for draw in found:
        picks = replay(draw, labels, rule_set)
        cv = {r["candidate"]: r for r in draw["rows"]}
        oracle = max((draw["score"][s] for s in singles if s in draw["score"]), default=None)
        recorded = next(r["candidate"] for r in draw["rows"] if r["recorded"])
        if picks["current"][0] != recorded:
            mismatches.append(f"{draw['dataset']} seed {draw['seed']}: recorded {recorded}, replayed {picks['current'][0]}")
        cells = []
        for s in singles:
            m = cv.get(s)
            cvs = f"{100 * np.mean(m['scores']):.1f}" if m is not None and not m["skipped"] else "–"
            sc = f"{100 * draw['score'][s]:.1f}" if s in draw["score"] else "–"
            cells.append(f"{cvs} / {sc}")
        for rule in rule_set:
            per_rule[rule].append((picks[rule][1], oracle))
        lines.append("| " + " | ".join([
            draw["dataset"], str(draw["k"]), str(draw["seed"]), *cells, f"{100 * draw['auto_score']:.1f}",
            "–" if oracle is None else f"{100 * oracle:.1f}",
            *[f"{p[0]}: {'–' if p[1] is None else f'{100 * p[1]:.1f}'}" for p in picks.values()]]) + " |")
    lines += [""]
    if mismatches:
        lines += ["**The replayed current rule differs from the recorded pick:** " + "; ".join(mismatches), ""]
    else:
        lines += ["The replayed `current` rule reproduces every cell's recorded pick.", ""]

    complete = [i for i in range(len(found))
                if per_rule["current"][i][1] is not None and all(per_rule[r][i][0] is not None for r in rule_set)]
    left_out = len(found) - len(complete)
    lines += [f"## Rules over the {len(complete)} draws every rule's pick has a score for"
              + (f" ({left_out} left out: a pick without its own cell)" if left_out else ""), "",
              "| rule | mean score | vs oracle (paired) | vs current (paired) | picked the oracle |", "|---|---|---|---|---|"]
    base = [per_rule["current"][i][0] for i in complete]
    oracles = [per_rule["current"][i][1] for i in complete]
    verdicts = {}
    for rule in rule_set:
        got = [per_rule[rule][i][0] for i in complete]
        gap, vs = _paired(got, oracles), _paired(got, base)
        verdicts[rule] = (vs, float(np.mean(got)))
        lines.append(f"| {rule} | {100 * np.mean(got):.1f} | {_pm(gap)} | "
                     f"{'baseline' if rule == 'current' else _pm(vs)} | {_oracle_hits(gap)} |")
    for s in singles:  # references, not rules: the same single strategy in every draw, no cross-validation
        if all(s in found[i]["score"] for i in complete):
            got = [found[i]["score"][s] for i in complete]
            gap = _paired(got, oracles)
            lines.append(f"| always {s} (reference) | {100 * np.mean(got):.1f} | {_pm(gap)} | "
                         f"{_pm(_paired(got, base))} | {_oracle_hits(gap)} |")
    z = MARGIN_OF_DECISION[rules]
    better = [r for r in rule_set if r != "current" and verdicts[r][0].se is not None
              and verdicts[r][0].mean > z * verdicts[r][0].se]
    lines += ["", "Decision rule (fixed before the run): change only to a rule whose mean is above the current "
              f"rule's by more than {_times(z)}the standard error of their paired difference; among several, the highest mean "
              "(a tie goes to the rule listed first, the smaller change). The `always` rows are references: one "
              "single strategy in every draw, with no cross-validation.", ""]
    planned = len(res.suite.datasets) * len(res.suite.seeds) * len(res.suite.k) if res.suite else len(found)
    if len(found) < planned:
        lines += [f"**Interim: {len(found)} of the {planned} planned draws.** The decision is taken on all of "
                  "them; until then the verdict below is only where the figures stand.", ""]
    if better:
        winner = max(better, key=lambda r: (verdicts[r][1], -rule_set.index(r)))
        lines.append(f"**Verdict: change to `{winner}`** ({_pm(verdicts[winner][0])} points against `current`).")
    else:
        lines.append(f"**Verdict: keep `current`**: no rule is ahead of it by more than {_times(z)}the standard error.")
    lines += ["", code_footer(versions), ""]
    return "\n".join(lines)


def main(argv=None) -> int:
    auto = (("--auto",), {"default": "auto", "help": "the auto strategy's label in the suite (default: auto)"})
    rules = (("--rules",), {"default": "tune_auto", "choices": sorted(RULE_SETS),
                            "help": "the rule set to replay, fixed before its study ran (default: tune_auto)"})
    return results_folder_main(argv, __doc__, report, "replay.md",
                               "results folder of a suite with an auto strategy (fewshot bench --out)", [auto, rules])


if __name__ == "__main__":
    sys.exit(main())
