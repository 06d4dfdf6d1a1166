"""The report's text: ``summary.md`` (per-k tables, verdicts, published figures, compute, errors,
the code behind the numbers) and ``summary.csv`` (one row per dataset × strategy × k).

Example::

    from fewshot.bench.results import collect
    from fewshot.bench.tables import markdown, summary_rows
    res = collect("benchmarks/results/quick")
    print(markdown(res))
"""

from __future__ import annotations

import csv
import io
import json
import statistics
import time
from collections import defaultdict
from typing import Any

from ._format import _num, _pct, _secs
from .references import METHODS, SOURCE, references_for
from .results import (
    _METRIC_NAMES,
    _TABLE_REFERENCES,
    Group,
    Results,
    _average,
    _dataset_label,
    _pooled,
    _ref_name,
    _with_data,
    code_versions,
)
from .verdicts import TIE_RULE, TIE_Z, verdict


def _mean_std(g: Group) -> str:
    """``mean ± std`` in %, or the single value when only one seed has finished (no spread to show)."""
    return _pct(g.mean) if len(g.ok) == 1 else f"{_pct(g.mean)} ± {_pct(g.std)}"


def _cell_text(g: Group | None, planned: int | None) -> str:
    if g is None:
        return "–"
    if not g.ok:
        return f"error ({len(g.errors)})" if g.errors else "–"
    text = _mean_std(g)
    if planned and len(g.ok) < planned:
        text += f" ({len(g.ok)}/{planned})"
    elif planned is None and len(g.ok) == 1:
        text += " (1 seed)"
    if g.errors:
        text += f" +{len(g.errors)} err"
    return text


def summary_rows(res: Results) -> list[dict[str, Any]]:
    """The rows of ``summary.csv``: one per dataset × strategy × k, then ``average`` rows."""
    rows = []
    for k in res.ks:
        for d in res.datasets:
            refs = {r.method: r for r in references_for(_ref_name(res, d), k)}
            for s in res.strategies:
                g = res.group(d, s, k)
                if g is None:
                    continue
                first = (g.ok or g.errors)[0]
                rows.append(
                    {
                        "dataset": d,
                        "metric": g.metric,
                        "strategy": s,
                        "strategy_name": first.get("strategy_name", s),
                        "k": k,
                        "seeds_done": len(g.ok),
                        "seeds_planned": res.planned_for(k) or "",
                        "errors": len(g.errors),
                        "mean": _r(g.mean),
                        "std": _r(g.std),
                        "min": _r(min(g.values)) if g.ok else None,
                        "max": _r(max(g.values)) if g.ok else None,
                        "median_train_seconds": _r(g.median("train_seconds")),
                        "median_train_cpu_seconds": _r(g.median("train_cpu_seconds")),
                        "median_predict_seconds": _r(g.median("predict_seconds")),
                        "median_predictions_per_second": _r(g.median("predictions_per_second"), 1),
                        "median_peak_rss_mb": _r(g.median("peak_rss_mb"), 1),
                        "median_model_size_mb": _r(g.median("model_size_mb"), 3),
                        "median_serve_size_mb": _r(g.median("serve_size_mb"), 3),
                        "n_train": first.get("n_train"),
                        "n_test": first.get("n_test"),
                        "test_subsampled": first.get("test_subsampled"),
                        **{f"published_{m}": _r(refs[m].value) if m in refs else None for m in METHODS},
                    }
                )
        with_data = _with_data(res, k)
        common = res.common_datasets(k, with_data)
        for s in with_data if common else []:
            rows.append(
                {
                    "dataset": "average",
                    "metric": "+".join(sorted({res.groups[(d, s, k)].metric for d in common})),
                    "strategy": s,
                    "k": k,
                    "mean": _r(_average(res, k, s, common)),
                    "median_train_seconds": _r(_pooled(res, k, s, "train_seconds")),
                    "median_predictions_per_second": _r(_pooled(res, k, s, "predictions_per_second"), 1),
                    "median_peak_rss_mb": _r(_pooled(res, k, s, "peak_rss_mb"), 1),
                    "median_model_size_mb": _r(_pooled(res, k, s, "model_size_mb"), 3),
                    "median_serve_size_mb": _r(_pooled(res, k, s, "serve_size_mb"), 3),
                    "averaged_over": " ".join(common),
                }
            )
    return rows


def _r(x, nd: int = 4):
    return None if x is None else round(float(x), nd)


CSV_COLUMNS = [
    "dataset",
    "metric",
    "strategy",
    "strategy_name",
    "k",
    "seeds_done",
    "seeds_planned",
    "errors",
    "mean",
    "std",
    "min",
    "max",
    "median_train_seconds",
    "median_train_cpu_seconds",
    "median_predict_seconds",
    "median_predictions_per_second",
    "median_peak_rss_mb",
    "median_model_size_mb",
    "median_serve_size_mb",
    "n_train",
    "n_test",
    "test_subsampled",
    "averaged_over",
    *[f"published_{m}" for m in METHODS],
]


def _csv_text(rows: list[dict]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if v is None else v) for k, v in row.items()})
    return buf.getvalue()


def _md_table(header: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return out


def markdown(res: Results) -> str:
    """The text of ``summary.md``."""
    suite = res.suite
    ok = [c for c in res.cells if c["status"] == "ok"]
    failed = [c for c in res.cells if c["status"] != "ok"]
    planned = len(suite.cells()) if suite else None
    total_wall = sum(c.get("wall_seconds") or 0 for c in res.cells)
    total_train = sum(c.get("train_seconds") or 0 for c in ok)
    lines = [f"# Benchmark results: {suite.name if suite else res.results_dir.name}", ""]
    if suite and suite.description:
        lines += [suite.description, ""]
    subsampled = any(c.get("test_subsampled") for c in res.cells)
    lines += [
        "Headline metric of each dataset in % (accuracy unless the row says otherwise), "
        "mean ± sample std over "
        "seeds; each seed draws one k-shot training sample per dataset, shared by every strategy. "
        + (
            f"(n/{res.planned_seeds}) marks a cell with fewer finished seeds than planned. "
            if res.planned_seeds
            else ""
        )
        + (
            "Test sets are a fixed seeded subsample where marked `subsample` (suite `max_test`). "
            if subsampled
            else ""
        )
        + TIE_RULE.format(z=TIE_Z)
        + (
            " Scored on validation rows, never on test rows (suite `eval_split = \"validation\"`): the "
            "dataset's validation split, or (`train-holdout`) a seeded 20% of train that the k-shot "
            "samples are not drawn from."
            if any(c.get("eval_split", "test") != "test" for c in res.cells)
            else ""
        ),
        "",
        f"Cells: {len(ok)} finished"
        + (f" of {planned} planned" if planned else "")
        + f", {len(failed)} failed. "
        f"Compute: {total_wall / 3600:.2f} h of cell wall time ({total_train / 3600:.2f} h of it training), "
        f"run on {_hosts(res)}.",
        "",
    ]
    code_note = _code(res)
    if code_note.startswith("MIXED"):
        lines += [
            f"**Mixed code versions**: these numbers come from more than one version of the code, or from "
            f"code with uncommitted changes ({code_note.split(': ', 1)[1]}); the report was written with "
            "--allow-mixed.",
            "",
        ]
    for k in res.ks:
        strategies = res.strategies_at(k)
        refs_here = {
            m
            for d in res.datasets
            for r in references_for(_ref_name(res, d), k)
            for m in [r.method]
            if m in _TABLE_REFERENCES
        }
        ref_cols = [m for m in _TABLE_REFERENCES if m in refs_here]
        header = [res.budget(k, short=True), *strategies, *[f"published: {METHODS[m]}" for m in ref_cols]]
        rows = []
        for d in res.datasets:
            if not any(res.group(d, s, k) for s in strategies):
                continue
            refs = {r.method: r for r in references_for(_ref_name(res, d), k)}
            rows.append(
                [_dataset_label(res, d)]
                + [_cell_text(res.group(d, s, k), res.planned_for(k)) for s in strategies]
                + [
                    (_pct(refs[m].value) + (f" ± {_pct(refs[m].std)}" if refs[m].std is not None else ""))
                    if m in refs
                    else ""
                    for m in ref_cols
                ]
            )
        with_data = _with_data(res, k)
        common = res.common_datasets(k, with_data)
        avg_label = f"**average** ({len(common)} dataset{'s' if len(common) != 1 else ''})"
        rows.append(
            [avg_label]
            + [
                (f"**{_pct(_average(res, k, s, common))}**" if s in with_data and common else "–")
                for s in strategies
            ]
            + ["" for _ in ref_cols]
        )
        for label, key, fmt in (
            ("median train s", "train_seconds", _secs),
            ("median train CPU s", "train_cpu_seconds", _secs),
            ("predictions / s", "predictions_per_second", _num),
            ("peak memory MB", "peak_rss_mb", _num),
            ("saved folder MB", "model_size_mb", _num),
            ("size to serve MB (with base model)", "serve_size_mb", _num),
        ):
            rows.append([label] + [fmt(_pooled(res, k, s, key)) for s in strategies] + ["" for _ in ref_cols])
        lines += [f"## {res.budget(k)}", ""]
        lines += _md_table(header, rows)
        lines += ["", verdict(res, k), ""]
        if len(common) < len([d for d in res.datasets if any(res.group(d, s, k) for s in strategies)]):
            lines += [
                f"The average row covers the datasets where every strategy has a result: "
                f"{', '.join(common) or 'none'}.",
                "",
            ]

    lines += _mixed_params_notes(res)
    lines += _published_section(res)
    lines += _cost_section(res, ok)
    if failed:
        lines += ["## Failed cells", ""]
        rows = [
            [
                c["dataset"],
                c["strategy"],
                str(c["k"]),
                str(c["seed"]),
                c.get("error", {}).get("type", "?"),
                _one_line(c.get("error", {}).get("message", "")),
            ]
            for c in failed
        ]
        lines += _md_table(["dataset", "strategy", "k", "seed", "error", "message"], rows) + [""]
    lines += ["## Plots", "", "![metric vs k](curves.png)", "", "![cost vs quality](cost.png)", ""]
    lines += [
        f"_Written by `fewshot report` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; "
        f"libraries: {_libraries(res)}; code: {code_note}._",
        "",
    ]
    return "\n".join(lines)


def _mixed_params_notes(res: Results) -> list[str]:
    """Warn when one strategy label ran with different parameters (besides the seed) in different
    cells, e.g. because a strategy's default changed between sittings of a long run. A ``metric``
    equal to the cell's dataset metric was set by the harness per dataset, and is not a change."""
    notes = []
    for label in res.strategies:
        seen: dict[str, set[str]] = defaultdict(set)
        for c in res.cells:
            if c["strategy"] == label and c["status"] == "ok":
                for key, value in (c.get("params") or {}).items():
                    if key == "metric" and value == c.get("metric"):
                        value = "<the dataset's metric>"
                    if key != "seed":
                        seen[key].add(json.dumps(value, sort_keys=True))
        mixed = sorted(key for key, values in seen.items() if len(values) > 1)
        if mixed:
            notes.append(
                f"- **{label}** ran with different values of {', '.join(mixed)} in different cells "
                "(a strategy default changed during the run); rerun `fewshot bench` to redo the stale cells."
            )
    return ["## Notes", "", *notes, ""] if notes else []


def _one_line(text: str, n: int = 160) -> str:
    text = " ".join(str(text).split()).replace("|", "/")
    return text if len(text) <= n else text[: n - 1] + "…"


def _code(res: Results) -> str:
    """The footer's account of the code behind the numbers."""
    versions = code_versions(res.cells)
    if not versions:
        return "fewshot " + str(
            next((c.get("fewshot_version") for c in res.cells if c.get("fewshot_version")), "?")
        )
    if len(versions) == 1 and not versions[0]["dirty"] and versions[0]["hash"] is not None:
        return f"{versions[0]['name']} (sha256 of the fewshot package's files; every cell)"
    listing = "; ".join(f"{v['name']} ({v['cells']} cell{'s' if v['cells'] != 1 else ''})" for v in versions)
    return f"MIXED, reported with --allow-mixed: {listing}"


def _hosts(res: Results) -> str:
    cores = sorted({c.get("cores") for c in res.cells if c.get("cores")})
    jobs = sorted({c.get("jobs") for c in res.cells if c.get("jobs")})
    threads = sorted({c.get("torch_threads") for c in res.cells if c.get("torch_threads")})
    return (
        f"{'/'.join(map(str, cores)) or '?'} CPU core(s), {'/'.join(map(str, jobs)) or '?'} parallel job(s), "
        f"{'/'.join(map(str, threads)) or '?'} torch thread(s) per cell"
    )


def _libraries(res: Results) -> str:
    libs = next((c.get("libraries") for c in res.cells if c.get("libraries")), None) or {}
    keep = ("torch", "transformers", "sentence-transformers", "setfit", "peft", "scikit-learn")
    return ", ".join(f"{k} {libs[k]}" for k in keep if libs.get(k)) or "unknown"


def _model_name(model) -> str:
    """A model as the report names it: a shipped alias (or its built copy's path) by its model's name,
    another folder by its last part."""
    from ..models import ALIASES, alias_of

    if not isinstance(model, str) or not model:
        return "?"
    alias = alias_of(model)
    if alias is not None:
        return ALIASES[alias].description.split(":")[0]
    return model.rstrip("/").rsplit("/", 1)[-1]


def _our_models(res: Results) -> dict[str, str]:
    """Each strategy of the report that trains a model -> the model(s) its cells used."""
    models: dict[str, list[str]] = defaultdict(list)
    names: dict[str, str] = {}  # each model named once, not once per cell
    for c in res.cells:
        model = (c.get("params") or {}).get("model")
        if c.get("strategy") in res.strategies and model is not None:
            if str(model) not in names:
                names[str(model)] = _model_name(model)
            name = names[str(model)]
            if name not in models[c["strategy"]]:
                models[c["strategy"]].append(name)
    return {s: " / ".join(models[s]) for s in res.strategies if models.get(s)}


def _like_with_like(res: Results, ours_models: dict[str, str]) -> str:
    """Which published SetFit rows used the same encoder as one of our SetFit strategies."""
    setfit = {
        c["strategy"] for c in res.cells
        if str(c.get("strategy_name", "")).startswith("setfit") and c.get("strategy") in ours_models
    }
    minilm = [s for s in sorted(setfit) if "MiniLM-L6" in ours_models[s]]
    mpnet = [s for s in sorted(setfit) if "all-mpnet-base-v2" in ours_models[s]]
    text = ""
    if minilm:
        text += f" Compare like with like: `SetFit MiniLM-L6 (repo)` used the same encoder as our {', '.join(minilm)}."
    if mpnet:
        text += (
            f" `SetFit mpnet (paper)` used paraphrase-mpnet-base-v2: the architecture of our "
            f"{', '.join(mpnet)}'s all-mpnet-base-v2, another checkpoint."
        )
    return text


def _published_section(res: Results) -> list[str]:
    rows = []
    for k in res.ks:
        for d in res.datasets:
            refs = references_for(_ref_name(res, d), k)
            if not refs:
                continue
            refs = sorted(refs, key=lambda r: list(METHODS).index(r.method))
            ours = [
                f"{s} {_mean_std(g)} ({len(g.ok)} seed{'s' if len(g.ok) > 1 else ''})"
                for s in res.strategies
                if (g := res.group(d, s, k)) and g.ok and g.ok[0].get("strategy_name") != "majority"
            ]
            first = next(c for c in res.cells if c["dataset"] == d)
            test = (
                f"subsample of {first['n_test']}/{first['test_full_size']}"
                if first.get("test_subsampled")
                else f"full ({first.get('n_test')})"
            )
            theirs = "; ".join(
                f"{r.method_name} {_pct(r.value)}" + (f" ± {_pct(r.std)}" if r.std is not None else "")
                for r in refs
            )
            rows.append(
                [
                    d,
                    str(k),
                    _METRIC_NAMES.get(refs[0].metric, refs[0].metric),
                    "<br>".join(ours) or "–",
                    test,
                    theirs,
                ]
            )
    if not rows:
        return []
    few_shot = any(r[1] != "0" for r in rows)
    ours_models = _our_models(res)
    used = "; ".join(f"{s}: {m}" for s, m in ours_models.items())
    if few_shot:
        intro = (
            f"From the {SOURCE}: mean over 10 k-shot splits (seeds 0-9) on the whole test split; SetFit with "
            "20 pair-generation iterations, one epoch, logistic-regression head. Our strategies use their "
            f"own models{f' ({used})' if used else ''}, our seeds and the test set shown."
            + _like_with_like(res, ours_models)
        )
    else:
        intro = (
            "Published figures for models trained on the whole training split (k = 0), on the whole test "
            f"split. Our strategies use their own models{f' ({used})' if used else ''}; BERT-base has 110M "
            "parameters."
        )
    return [
        "## Published figures beside ours",
        "",
        intro,
        "",
        *_md_table(["dataset", "k", "metric", "ours (mean ± std)", "our test set", "published"], rows),
        "",
    ]


def _cost_section(res: Results, ok: list[dict]) -> list[str]:
    if not ok:
        return []
    by_strategy: dict[tuple[str, int], list[float]] = defaultdict(list)
    for c in res.cells:
        by_strategy[(c["strategy"], c["k"])].append(c.get("wall_seconds") or 0.0)
    total = sum(sum(v) for v in by_strategy.values()) or 1.0
    rows = [
        [s, str(k), str(len(v)), _secs(sum(v)), f"{100 * sum(v) / total:.0f}%", _secs(statistics.median(v))]
        for (s, k), v in sorted(by_strategy.items(), key=lambda t: -sum(t[1]))
    ]
    slowest = sorted(res.cells, key=lambda c: -(c.get("wall_seconds") or 0))[:5]
    lines = [
        "## Where the compute goes",
        "",
        "Cell wall time (process start to result, including model loading, training, prediction and "
        "saving), summed per strategy × k. Peak memory is the peak resident set size (ru_maxrss) of the "
        "child process that ran the cell.",
        "",
    ]
    lines += _md_table(["strategy", "k", "cells", "total s", "share", "median s per cell"], rows)
    lines += [
        "",
        "Slowest cells: "
        + "; ".join(
            f"{c['dataset']} {c['strategy']} k={c['k']} seed={c['seed']} ({_secs(c.get('wall_seconds'))} s)"
            for c in slowest
        )
        + ".",
        "",
    ]
    timed = [
        c for c in ok if c.get("train_cpu_seconds") and c.get("train_seconds") and c.get("torch_threads")
    ]
    if timed:
        wall = sum(c["train_seconds"] for c in timed)
        busy = sum(c["train_cpu_seconds"] for c in timed) / wall
        threads = statistics.median(c["torch_threads"] for c in timed)
        lines += [
            f"While training, the cells' processes used {busy:.2f} CPU-seconds per wall-second with "
            f"{threads:g} torch thread(s) each"
            + (
                ": the machine was busy with other work, so wall-clock times here are inflated; "
                "the train CPU seconds are the steadier cost figure."
                if busy < 0.6 * threads
                else "."
            ),
            "",
        ]
    return lines
