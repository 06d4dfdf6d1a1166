"""Tokenization for prompt classification: prompts and label words as token ids.

- the special tokens a tokenizer puts before a text (:func:`special_prefix`) and the padding id;
- each label's words as token sequences and their prefix tree (:func:`label_tree`);
- prompts encoded and, when too long, truncated so that the template survives (:func:`prompt_ids`);
- batches: right-padded ``prompt + label`` rows (:func:`pack`) and length-bucketed training batches
  (:func:`bucketed_batches`).

Example::

    bos = special_prefix(tokenizer)
    tree, owner = label_tree(tokenizer, "Review: {text}\\nSentiment:", [[" negative"], [" positive"]], ["neg", "pos"])
    ids = prompt_ids(tokenizer, "Review: {text}\\nSentiment:", ["a joy"], bos=bos, budget=250)
"""

from __future__ import annotations

import numpy as np

from .templates import render, template_tail


def special_prefix(tokenizer) -> list[int]:
    """Special tokens the tokenizer puts before a text (a BOS token, or nothing)."""
    plain = tokenizer("hello", add_special_tokens=False)["input_ids"]
    full = tokenizer("hello", add_special_tokens=True)["input_ids"]
    for start in range(len(full) - len(plain) + 1):
        if full[start:start + len(plain)] == plain:
            return list(full[:start])
    return []


def pad_id(tokenizer) -> int:
    """The id that pads batches: the tokenizer's padding token, else its end-of-sequence token, else 0."""
    return tokenizer.pad_token_id if tokenizer.pad_token_id is not None else (tokenizer.eos_token_id or 0)


def label_tree(tokenizer, template: str, verbalizations: list[list[str]], classes: list):
    """Every label alternative's token ids (after the template's trailing whitespace) as a prefix tree.

    Returns ``(tree, owner)``: a :class:`~fewshot.strategies.prompting.scoring.ContinuationTree` and the
    class index of each of its sequences. A ValueError names the label whose words encode to no tokens, to
    the unknown token, or to the same tokens as another label's.
    """
    from .scoring import ContinuationTree

    tail = template_tail(template)
    seqs, owner, seen = [], [], {}
    unk = tokenizer.unk_token_id
    for cls_idx, alternatives in enumerate(verbalizations):
        for words in alternatives:
            ids = tokenizer(tail + words, add_special_tokens=False)["input_ids"]
            label = classes[cls_idx]
            if not ids:
                raise ValueError(
                    f"label {label!r} has words {words!r} that encode to no tokens; give it non-empty words in "
                    "the verbalizer."
                )
            if unk is not None and unk in ids:
                raise ValueError(
                    f"the tokenizer cannot express the words {words!r} of label {label!r} (they encode to the "
                    f"unknown token {tokenizer.unk_token!r}); choose other words in the verbalizer."
                )
            key = tuple(ids)
            if key in seen:
                other = classes[seen[key]]
                raise ValueError(
                    f"labels {other!r} and {label!r} have the same words ({words!r} -> tokens {list(ids)}); "
                    "give each label distinct words in the verbalizer."
                )
            seen[key] = cls_idx
            seqs.append(list(ids))
            owner.append(cls_idx)
    return ContinuationTree.build(seqs), np.asarray(owner)


def check_room(tokenizer, template: str, *, pairs: bool, bos: list[int], max_length: int, label_budget: int) -> None:
    """A ValueError when ``max_length`` leaves no room for a text between the template and the longest label."""
    stem_ids = encode(tokenizer, [render(template, ("", "") if pairs else "")], bos)[0]
    if len(stem_ids) + 1 > max_length - label_budget:
        raise ValueError(
            f"max_length={max_length} is too small: the template takes {len(stem_ids)} tokens and the "
            f"longest label {label_budget}; raise max_length or shorten the template."
        )


def encode(tokenizer, prompts: list[str], bos: list[int]) -> list[list[int]]:
    """Token ids of each prompt, after the special prefix ``bos``."""
    if not prompts:
        return []
    ids = tokenizer(prompts, add_special_tokens=False)["input_ids"]
    return [bos + list(p) for p in ids]


TRUNCATION = ("end", "middle", "start")
"""Where a text too long for its prompt loses tokens: its end, its middle (head and tail kept, joined by
:data:`ELLIPSIS`) or its start."""

ELLIPSIS = "..."
"""What stands for the tokens a ``"middle"`` truncation removed, so the model reads a gap, not a joined sentence."""


def prompt_ids(tokenizer, template: str, X: list, *, bos: list[int], budget: int,
               with_bos: bool = True, side: str = "end") -> list[list[int]]:
    """Token ids of each input's prompt, its text truncated at ``side`` to fit ``budget`` tokens (``bos`` included)."""
    ids = encode(tokenizer, [render(template, x) for x in X], bos)
    for i, x in enumerate(X):
        if len(ids[i]) > budget:
            ids[i] = truncate(tokenizer, template, x, bos=bos, budget=budget, side=side)
    if not with_bos and bos:
        ids = [p[len(bos):] for p in ids]
    return ids


def truncate(tokenizer, template: str, x, *, bos: list[int], budget: int, side: str = "end") -> list[int]:
    """The prompt of ``x`` in at most ``budget`` tokens, the template kept whole.

    Tokens are taken from the longest text (of a pair, the longer one) at ``side``: ``"end"`` keeps its
    beginning, ``"start"`` its end, ``"middle"`` its beginning and end (half the kept tokens each, the
    beginning getting the odd one) with :data:`ELLIPSIS` between them.
    """
    if side not in TRUNCATION:
        raise ValueError(f"side must be one of {TRUNCATION}, not {side!r}")
    parts = list(x) if isinstance(x, tuple) else [x]
    part_ids = [tokenizer(p, add_special_tokens=False)["input_ids"] for p in parts]
    cut = [0] * len(parts)
    for _ in range(8):
        ids = encode(tokenizer, [render(template, tuple(parts) if len(parts) == 2 else parts[0])], bos)[0]
        over = len(ids) - budget
        if over <= 0:
            return ids
        j = max(range(len(parts)), key=lambda i: len(part_ids[i]) - cut[i])
        cut[j] = min(len(part_ids[j]), cut[j] + over + (1 if cut[j] == 0 else 0))
        parts[j] = _shortened(tokenizer, part_ids[j], len(part_ids[j]) - cut[j], side)
    keep_end = budget - len(bos)  # pragma: no cover - tokenizers that do not round-trip
    return bos + ids[len(ids) - keep_end:]  # pragma: no cover


def _shortened(tokenizer, ids: list[int], keep: int, side: str) -> str:
    """The text of ``keep`` of a text's token ids ``ids``, taken as :func:`truncate`'s ``side`` says."""
    if keep <= 0:
        return ""
    if side == "end":
        return tokenizer.decode(ids[:keep])
    if side == "start":
        return tokenizer.decode(ids[len(ids) - keep:]).lstrip()
    head, tail = (keep + 1) // 2, keep // 2
    kept = [tokenizer.decode(ids[:head]).rstrip(), ELLIPSIS]
    if tail:
        kept.append(tokenizer.decode(ids[len(ids) - tail:]).lstrip())
    return " ".join(kept)


def pack(prompts: list[list[int]], labels: list[list[int]], pad: int):
    """Right-padded ``prompt + label`` rows, their mask and ``(label start, label tokens)`` per row."""
    import torch

    rows = [p + lab for p, lab in zip(prompts, labels, strict=True)]
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, :len(r)] = torch.tensor(r, dtype=torch.long)
        mask[i, :len(r)] = 1
    return ids, mask, [(len(p), lab) for p, lab in zip(prompts, labels, strict=True)]


def bucketed_batches(lengths: list[int], batch_size: int, rng: np.random.RandomState) -> list[np.ndarray]:
    """One epoch of shuffled batches whose members have similar lengths (less padding to compute).

    The examples are shuffled, cut into pools of ``4 * batch_size``, each pool sorted by length and cut
    into batches; the batches are shuffled again.
    """
    order = rng.permutation(len(lengths))
    batches = []
    pool = 4 * batch_size
    for start in range(0, len(order), pool):
        chunk = sorted(order[start:start + pool], key=lambda i: lengths[i])
        batches += [np.asarray(chunk[b:b + batch_size]) for b in range(0, len(chunk), batch_size)]
    return [batches[i] for i in rng.permutation(len(batches))]
