"""In-context learning: demonstrations chosen from the training data and put in front of every prompt.

:func:`choose_demonstrations` takes ``k`` examples per class (seeded), interleaves them by class and
keeps as many as fit the context next to the longest query; :func:`demonstration_text` renders one as
the template filled in and followed by its label's words; :func:`prefix_ids` is the token ids of them
all, the shared prefix that scoring encodes once.

Example::

    demos = choose_demonstrations(X, y, k=4, seed=0, tokenizer=tok, template=template,
                                  verbalizations=words, bos=bos, max_length=1024, label_budget=3)
    prefix = prefix_ids(tok, template, words, demos, bos=bos)
"""

from __future__ import annotations

import numpy as np

from ... import data as _data
from .templates import render, template_tail
from .tokens import prompt_ids


def choose_demonstrations(X: list, y: np.ndarray, *, k: int, seed: int, tokenizer, template: str,
                          verbalizations: list[list[str]], bos: list[int], max_length: int,
                          label_budget: int, side: str = "end") -> list[list]:
    """``k`` examples per class (seeded), interleaved by class, fitted to the context length.

    Returns ``[input, class index]`` pairs (a pair input as a list), ready to save as JSON.
    """
    idx = _data.k_shot_indices(y.tolist(), k, seed, warn=False)
    rng = np.random.RandomState(seed)
    by_class: dict[int, list[int]] = {}
    for i in idx:
        by_class.setdefault(int(y[i]), []).append(int(i))
    class_order = [int(c) for c in rng.permutation(sorted(by_class))]
    order = [by_class[c][r] for r in range(k) for c in class_order if r < len(by_class[c])]
    query = prompt_ids(tokenizer, template, X, bos=bos, budget=max_length // 2, side=side)
    reserve = max(len(q) for q in query) + label_budget
    budget = max_length - reserve
    chosen, used = [], len(bos)
    for i in order:
        text = demonstration_text(template, verbalizations, X[i], int(y[i]))
        cost = len(tokenizer(text, add_special_tokens=False)["input_ids"])
        if used + cost > budget:
            break
        chosen.append(i)
        used += cost
    return [[list(X[i]) if isinstance(X[i], tuple) else X[i], int(y[i])] for i in chosen]


def demonstration_text(template: str, verbalizations: list[list[str]], x, cls_idx: int) -> str:
    """One demonstration: the prompt of ``x``, its class's (first) words and a blank line."""
    return render(template, x) + template_tail(template) + verbalizations[cls_idx][0] + "\n\n"


def prefix_ids(tokenizer, template: str, verbalizations: list[list[str]], demonstrations: list[list], *,
               bos: list[int]) -> list[int] | None:
    """Token ids of all demonstrations after the special prefix ``bos``; None when there are none."""
    if not demonstrations:
        return None
    text = "".join(demonstration_text(template, verbalizations, tuple(x) if isinstance(x, list) else x, c)
                   for x, c in demonstrations)
    return bos + list(tokenizer(text, add_special_tokens=False)["input_ids"])
