"""Strategies made of strategies, judged from the cells of one run: ``members.md``.

- **Ensembles against their own members.** An ensemble's cell records each member's headline
  metric on the same test rows (``member_headline``, written by the runner through
  ``predict_proba_with_members``): the members were trained on the same k-shot sample inside the
  ensemble, so the comparison is paired and comes from one run of one commit.
- **auto against the oracle.** An ``auto`` cell records its pick (``chosen``). Beside the single
  strategies of the same suite (same samples, same rows), it is compared with the oracle (the best
  single strategy of each dataset and seed, chosen in hindsight), with the average single strategy,
  and with how often it picked the oracle's strategy.
- **Distilled students against their teachers.** A ``distill`` cell is paired with the suite's
  cells of its teacher and of its student strategy trained on the k-shot sample alone, on the same
  draw: accuracy, the share of the teacher's gain the student keeps, and the speed-up.

:func:`write_members_report` writes ``members.md`` into the results folder when there are such cells.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from .._atomic import write_text_atomic

MEMBERS_FILE = "members.md"


def _member_cells(cells: list[dict]) -> list[dict]:
    return [c for c in cells if c.get("status") == "ok" and c.get("member_headline")]


def _pm(values: list[float]) -> str:
    v = np.asarray(values, dtype=np.float64) * 100
    if len(v) < 2:
        return f"{v.mean():.1f}"
    return f"{v.mean():.1f} ± {v.std(ddof=1):.1f}"


def _paired(diffs: list[float]) -> str:
    d = np.asarray(diffs, dtype=np.float64) * 100
    if len(d) < 2:
        return f"{d.mean():+.1f} (n = {len(d)})"
    se = d.std(ddof=1) / math.sqrt(len(d))
    return f"{d.mean():+.1f} ± {se:.1f} (n = {len(d)}, ahead on {int((d > 0).sum())})"


def members_markdown(cells: list[dict]) -> str:
    """Per ensemble label and k: each member and the ensemble, mean ± std over seeds per dataset,
    and the paired differences (mean ± standard error over the (dataset, seed) draws) of the
    ensemble against its best member on average and against the better member of each dataset."""
    cells = _member_cells(cells)
    lines = [
        "# Ensembles against their members",
        "",
        "Each ensemble cell scores its members on the same test rows; they were trained on the same k-shot "
        "sample, inside the ensemble, in the same run. Headline metric in %, mean ± sample std over seeds. "
        "Differences are paired over (dataset, seed) draws: mean ± standard error.",
    ]
    groups: dict[tuple[str, int], list[dict]] = {}
    for c in cells:
        groups.setdefault((c["strategy"], int(c["k"])), []).append(c)
    for (label, k), group in sorted(groups.items()):
        members = list(group[0]["member_headline"])
        datasets = sorted({c["dataset"] for c in group})
        lines += ["", f"## {label}, k = {k}", "",
                  "| dataset | " + " | ".join(members) + f" | {label} | {label} − better member |",
                  "|---|" + "---|" * (len(members) + 2)]
        member_avg = {m: [] for m in members}
        ens_avg, best_each = [], []
        for ds in datasets:
            rows = [c for c in group if c["dataset"] == ds]
            per = {m: [c["member_headline"][m] for c in rows] for m in members}
            ens = [c["headline"] for c in rows]
            better = max(members, key=lambda m: float(np.mean(per[m])))
            best_each += [e - c["member_headline"][better] for e, c in zip(ens, rows, strict=True)]
            for m in members:
                member_avg[m].append(float(np.mean(per[m])))
            ens_avg.append(float(np.mean(ens)))
            gap = (np.mean(ens) - np.mean(per[better])) * 100
            lines.append(f"| {ds} (n = {len(rows)}) | " + " | ".join(_pm(per[m]) for m in members)
                         + f" | {_pm(ens)} | {gap:+.1f} ({better}) |")
        avg = {m: float(np.mean(v)) * 100 for m, v in member_avg.items()}
        lines.append("| **average** | " + " | ".join(f"**{avg[m]:.1f}**" for m in members)
                     + f" | **{float(np.mean(ens_avg)) * 100:.1f}** | |")
        best = max(members, key=lambda m: avg[m])
        vs_best = [c["headline"] - c["member_headline"][best] for c in group]
        lines += [
            "",
            f"- against its best member on average (**{best}**): {_paired(vs_best)} points",
            f"- against the better member of each dataset (chosen in hindsight): {_paired(best_each)} points",
        ]
        for m in members:
            if m != best:
                lines.append(f"- against {m}: {_paired([c['headline'] - c['member_headline'][m] for c in group])} points")
    return "\n".join(lines) + "\n"


def _auto_cells(cells: list[dict]) -> list[dict]:
    return [c for c in cells if c.get("status") == "ok" and c.get("chosen")]


def auto_markdown(cells: list[dict]) -> str:
    """Per auto label and k: auto against the oracle (per dataset and seed, the best of the suite's
    single strategies that ran on that draw, chosen in hindsight), the average single strategy and
    each single strategy; how often auto picked the oracle; its train time against theirs."""
    autos = _auto_cells(cells)
    ok = [c for c in cells if c.get("status") == "ok"]
    lines = ["# auto against the strategies it chooses from", "",
             "The oracle is the best single strategy of each (dataset, seed) draw, chosen in hindsight on the "
             "test rows; no real pick can beat it. Headline metric in %; differences are paired over draws "
             "(mean ± standard error)."]
    groups: dict[tuple[str, int], list[dict]] = {}
    for c in autos:
        groups.setdefault((c["strategy"], int(c["k"])), []).append(c)
    for (label, k), group in sorted(groups.items()):
        everyone = sorted({c["strategy"] for c in ok if int(c["k"]) == k and not c.get("chosen")
                           and not c.get("member_headline")})
        # the oracle chooses among what auto chose from: its candidates that the suite also ran alone
        candidates = {row["candidate"] for c in group for row in c.get("cv_table") or []}
        singles = [s for s in everyone if not candidates or s in candidates]
        by = {(c["strategy"], c["dataset"], c["seed"]): c for c in ok if int(c["k"]) == k}
        vs_oracle, vs_mean, picked, rows = [], [], 0, []
        auto_s, single_s = [], []
        for c in sorted(group, key=lambda c: (c["dataset"], c["seed"])):
            here = {s: by[(s, c["dataset"], c["seed"])] for s in singles if (s, c["dataset"], c["seed"]) in by}
            if not here:
                continue
            oracle = max(here, key=lambda s: here[s]["headline"])
            mean_single = float(np.mean([h["headline"] for h in here.values()]))
            vs_oracle.append(c["headline"] - here[oracle]["headline"])
            vs_mean.append(c["headline"] - mean_single)
            picked += int(c["chosen"] == oracle)
            auto_s.append(c.get("train_seconds") or 0.0)
            single_s.append(sum(h.get("train_seconds") or 0.0 for h in here.values()))
            rows.append(f"| {c['dataset']} | {c['seed']} | {c['headline'] * 100:.1f} | {c['chosen']} | "
                        f"{here[oracle]['headline'] * 100:.1f} ({oracle}) | {mean_single * 100:.1f} |")
        if not rows:
            continue
        lines += ["", f"## {label}, k = {k}", "",
                  "| dataset | seed | auto | auto's pick | oracle | average single |", "|---|---|---|---|---|---|",
                  *rows, "",
                  f"- against the oracle: {_paired(vs_oracle)} points",
                  f"- against the average single strategy ({', '.join(singles)}): {_paired(vs_mean)} points",
                  f"- picked the oracle's strategy on {picked} of {len(rows)} draws",
                  f"- train time: median {np.median(auto_s):.0f} s per auto cell against {np.median(single_s):.0f} s "
                  "for fitting every single strategy once"]
    return "\n".join(lines) + "\n"


def _distill_cells(cells: list[dict]) -> list[dict]:
    return [c for c in cells if c.get("status") == "ok" and c.get("strategy_name") == "distill"]


def _spec(value, default: str) -> dict:
    """A distill cell's teacher or student as ``{"name", "params"}`` (a bare name, a spec dict or absent)."""
    if value is None:
        return {"name": default, "params": {}}
    if isinstance(value, str):
        return {"name": value, "params": {}}
    return {"name": value.get("name", default), "params": dict(value.get("params") or {})}


def _runs_as(cell: dict, spec: dict) -> bool:
    """Whether a single-strategy cell ran the strategy ``spec`` names with the parameters it sets."""
    params = cell.get("params") or {}
    return cell.get("strategy_name") == spec["name"] and all(params.get(k) == v for k, v in spec["params"].items())


def distill_markdown(cells: list[dict]) -> str:
    """Per distill label and k: the student against its teacher and against the same student strategy
    trained on the k-shot sample alone, found among the suite's cells on the same draw (dataset, seed,
    k-shot sample). Per dataset: mean ± std over seeds, the share of the teacher's gain the student
    keeps (on the means) and the student's predictions per second over the teacher's (median over
    draws); then the issue-16 target on the average over datasets."""
    from ..distill import DEFAULT_STUDENT

    distilled = _distill_cells(cells)
    singles = [c for c in cells if c.get("status") == "ok" and c.get("strategy_name") != "distill"]
    lines = ["# Distilled students against their teachers",
             "",
             "Teacher and student alone are the suite's own cells on the same draw (dataset, seed, k-shot sample, "
             "test rows). Gain kept = (student − student alone) / (teacher − student alone), on the means over "
             "seeds; speed = the student's predictions per second over the teacher's, median over draws. The "
             "student's train seconds include fitting the teacher and its labeling of the unlabeled texts."]
    groups: dict[tuple[str, int], list[dict]] = {}
    for c in distilled:
        groups.setdefault((c["strategy"], int(c["k"])), []).append(c)
    for (label, k), group in sorted(groups.items()):
        rows, avg, speed_all = [], {"teacher": [], "student": [], "alone": []}, []
        for ds in sorted({c["dataset"] for c in group}):
            got = {"teacher": [], "student": [], "alone": []}
            speed, seconds = [], {"teacher": [], "student": [], "alone": []}
            for c in sorted((c for c in group if c["dataset"] == ds), key=lambda c: c["seed"]):
                params = c.get("requested_params") or {}
                want = {"teacher": _spec(params.get("teacher"), ""), "alone": _spec(params.get("student"), DEFAULT_STUDENT)}
                found = {}
                for role, spec in want.items():
                    found[role] = next((s for s in singles if s["dataset"] == ds and int(s["k"]) == k
                                        and s["seed"] == c["seed"] and s.get("sample_hash") == c.get("sample_hash")
                                        and _runs_as(s, spec)), None)
                if None in found.values():
                    continue  # the suite did not run the teacher or the student alone on this draw
                for role, cell in (("teacher", found["teacher"]), ("student", c), ("alone", found["alone"])):
                    got[role].append(cell["headline"])
                    seconds[role].append(cell.get("train_seconds") or 0.0)
                if c.get("predictions_per_second") and found["teacher"].get("predictions_per_second"):
                    speed.append(c["predictions_per_second"] / found["teacher"]["predictions_per_second"])
            if not got["student"]:
                continue
            means = {role: float(np.mean(v)) for role, v in got.items()}
            for role in avg:
                avg[role].append(means[role])
            speed_all += speed
            rows.append(f"| {ds} (n = {len(got['student'])}) | {_pm(got['teacher'])} | {_pm(got['student'])} | "
                        f"{_pm(got['alone'])} | {_kept(means)} | "
                        f"{f'{np.median(speed):.0f}x' if speed else '—'} | "
                        + " / ".join(f"{np.median(seconds[r]):.0f}" for r in ("teacher", "student", "alone")) + " |")
        if not rows:
            continue
        means = {role: float(np.mean(v)) for role, v in avg.items()}
        lines += ["", f"## {label}, k = {k}", "",
                  "| dataset | teacher | student | student alone | gain kept | speed | train s (teacher / student / alone) |",
                  "|---|---|---|---|---|---|---|", *rows,
                  f"| **average** | **{means['teacher'] * 100:.1f}** | **{means['student'] * 100:.1f}** | "
                  f"**{means['alone'] * 100:.1f}** | **{_kept(means)}** | "
                  f"**{np.median(speed_all):.0f}x** | |" if speed_all else "| **average** | | | | | | |"]
        gain = means["teacher"] - means["alone"]
        if gain > 0 and speed_all:
            kept, fast = (means["student"] - means["alone"]) / gain, float(np.median(speed_all))
            verdict = "met" if kept >= 0.9 and fast >= 20 else "missed"
            lines += ["", f"- target (keep >= 90% of the teacher's gain at >= 20x its predictions per second): "
                          f"**{verdict}**: {kept:.0%} of a {gain * 100:.1f}-point gain kept "
                          f"({'met' if kept >= 0.9 else 'missed'}), at {fast:.0f}x "
                          f"({'met' if fast >= 20 else 'missed'}); speeds as the harness predicts, with torch"]
    return "\n".join(lines) + "\n"


def _kept(means: dict) -> str:
    gain = means["teacher"] - means["alone"]
    if gain <= 0.005:
        return f"— (teacher gains {gain * 100:+.1f})"
    return f"{(means['student'] - means['alone']) / gain:.0%}"


def write_members_report(results_dir, cells: list[dict]) -> dict[str, Path]:
    """Write ``members.md`` when some cells are ensembles with member scores, auto picks or distilled
    students; ``{}`` otherwise."""
    parts = []
    if _member_cells(cells):
        parts.append(members_markdown(cells))
    if _auto_cells(cells):
        parts.append(auto_markdown(cells))
    if _distill_cells(cells):
        parts.append(distill_markdown(cells))
    if not parts:
        return {}
    out = Path(results_dir)
    return {MEMBERS_FILE: write_text_atomic(out / MEMBERS_FILE, "\n".join(parts))}
