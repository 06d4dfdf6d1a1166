"""The built-in demo data: customer-support messages of a fictional electronics shop, written
for this project. One file, four tasks:

- ``intent``: 6 intents (billing, delivery, technical, account, returns, product_info);
- ``csat``: the writer's satisfaction 1-5 (ordinal regression);
- ``tags``: one to three of 7 topic tags per message (multi-label);
- ``pairs``: (question, reply) pairs, ``answers`` / ``does_not_answer`` (sentence pairs).

Example::

    from fewshot import load_demo
    ds = load_demo("intent")
    ds.train.X[:2], ds.train.y[:2]
"""

from __future__ import annotations

import json
from pathlib import Path

from ..data import Dataset, Split

HERE = Path(__file__).resolve().parent
TASKS = ("intent", "csat", "tags", "pairs")


def _rows(name: str) -> list[dict]:
    with open(HERE / name, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def load_demo(task: str = "intent") -> Dataset:
    """The demo data for ``task`` (one of ``intent``, ``csat``, ``tags``, ``pairs``) as a Dataset."""
    if task not in TASKS:
        raise ValueError(f"unknown demo task {task!r}; choose one of {', '.join(TASKS)}.")
    if task == "pairs":
        rows = _rows("pairs.jsonl")

        def split(part):
            sel = [r for r in rows if r["split"] == part]
            return Split([(r["text"], r["text_pair"]) for r in sel], [r["label"] for r in sel])

        labels, metric, what = ["answers", "does_not_answer"], "accuracy", "does the reply answer the question"
    else:
        rows = _rows("support.jsonl")
        field = {"intent": "intent", "csat": "csat", "tags": "tags"}[task]

        def split(part):
            sel = [r for r in rows if r["split"] == part]
            return Split([r["text"] for r in sel], [r[field] for r in sel])

        if task == "intent":
            labels, metric, what = sorted({r["intent"] for r in rows}), "accuracy", "support intent"
        elif task == "csat":
            labels, metric, what = [1, 2, 3, 4, 5], "mae", "customer satisfaction 1-5 (ordinal)"
        else:
            labels, metric, what = sorted({t for r in rows for t in r["tags"]}), "f1_samples", "topic tags (multi-label)"
    return Dataset(name=f"demo-{task}", train=split("train"), test=split("test"), labels=labels,
                   metric=metric, task=what, info={"source": "fewshot built-in demo data"})
