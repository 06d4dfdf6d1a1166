"""Scoring label continuations with a causal LM, fast: the engine of the prompt strategy (PromptClassifier).

For every prompt and every candidate continuation (a label's tokens) we want
``log p(continuation | prompt)``. Doing one full forward pass per (prompt, label) repeats the prompt
once per label and computes vocabulary logits at every position; here:

1. the prompts of a batch (similar lengths, right-padded) go through the decoder once, keeping the
   key/value cache; the vocabulary projection is applied only at each prompt's last position, which
   gives the log-probability of every continuation's *first* token. When every continuation is a single
   token, that is the whole answer.
2. otherwise the continuations are merged into a prefix tree (labels such as ``card_payment_fee`` and
   ``card_payment_wrong_rate`` share their first tokens) and all its nodes are scored in ONE extra
   pass over the cached prompt: each node attends to the prompt and to its own ancestors only, through
   a custom 4-D attention mask, at the position it would have in the plain sequence. The projection to
   the vocabulary is again applied only where a log-probability is read, in bounded chunks.

An optional shared ``prefix`` (the demonstrations of in-context learning) is encoded once for all
prompts and its cache reused by every batch. :func:`class_scores` then folds each label's alternative
continuations into one score per class.

The results equal a plain full forward pass on ``prompt + continuation`` up to float rounding
(``tests/test_prompt.py`` checks it against brute force).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ...compat import kv_cache_from_tensors, kv_cache_tensors


@dataclass
class ContinuationTree:
    """Candidate continuations (token id lists) as a prefix tree, ready for one batched pass.

    ``first`` holds each continuation's first token. Every proper prefix of length >= 1 of a
    continuation is a node whose input token is the prefix's last token; ``edge_*`` are the
    (node, next token) log-probabilities to read and ``path`` (continuations x edges) sums them.
    """

    sequences: list[list[int]]
    first: torch.Tensor  # (S,)
    lengths: torch.Tensor  # (S,) number of tokens of each continuation
    node_token: torch.Tensor  # (N,)
    node_depth: torch.Tensor  # (N,) length of the prefix the node ends (1-based)
    node_sees: torch.Tensor  # (N, N) bool: node i attends node j (j is i or an ancestor of i)
    edge_node: torch.Tensor  # (E,)
    edge_token: torch.Tensor  # (E,)
    path: torch.Tensor  # (S, E) float 0/1

    @classmethod
    def build(cls, sequences: list[list[int]]) -> ContinuationTree:
        if not sequences or any(len(s) == 0 for s in sequences):
            raise ValueError("every continuation needs at least one token")
        nodes: dict[tuple[int, ...], int] = {}
        edges: dict[tuple[int, int], int] = {}
        paths: list[list[int]] = []
        for seq in sequences:
            path = []
            for depth in range(1, len(seq)):
                prefix = tuple(seq[:depth])
                node = nodes.setdefault(prefix, len(nodes))
                path.append(edges.setdefault((node, seq[depth]), len(edges)))
            paths.append(path)
        prefixes = list(nodes)
        sees = torch.zeros(len(prefixes), len(prefixes), dtype=torch.bool)
        for prefix, i in nodes.items():
            for depth in range(1, len(prefix) + 1):
                sees[i, nodes[prefix[:depth]]] = True
        path_matrix = torch.zeros(len(sequences), len(edges))
        for s, path in enumerate(paths):
            path_matrix[s, path] = 1.0
        edge_keys = sorted(edges, key=edges.get)
        return cls(
            sequences=[list(s) for s in sequences],
            first=torch.tensor([s[0] for s in sequences], dtype=torch.long),
            lengths=torch.tensor([len(s) for s in sequences], dtype=torch.long),
            node_token=torch.tensor([p[-1] for p in prefixes], dtype=torch.long),
            node_depth=torch.tensor([len(p) for p in prefixes], dtype=torch.long),
            node_sees=sees,
            edge_node=torch.tensor([n for n, _ in edge_keys], dtype=torch.long),
            edge_token=torch.tensor([t for _, t in edge_keys], dtype=torch.long),
            path=path_matrix,
        )

    def to(self, device) -> ContinuationTree:
        """The tree with its tensors on ``device`` (itself when they are there already)."""
        if self.first.device == torch.device(device):
            return self
        fields = {name: getattr(self, name) for name in self.__dataclass_fields__}
        return ContinuationTree(**{k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in fields.items()})

    @property
    def single_token(self) -> bool:
        return len(self.node_token) == 0


def decoder_and_head(model):
    """The decoder stack (hidden states) and the output projection of a transformers causal LM."""
    head = model.get_output_embeddings()
    if head is None:
        raise ValueError(f"{type(model).__name__} has no output embeddings; a causal LM is needed.")
    return model.get_decoder(), head


def _softcap(model) -> float | None:
    return getattr(model.config, "final_logit_softcapping", None)


def project(model, head, hidden: torch.Tensor) -> torch.Tensor:
    """Vocabulary logits (float32) for ``hidden`` states ``(..., H)``, in the head's precision."""
    logits = head(hidden.to(head.weight.dtype)).float()
    cap = _softcap(model)
    if cap:
        logits = torch.tanh(logits / cap) * cap
    return logits


def _log_probs_of_edges(model, head, hidden: torch.Tensor, rows: torch.Tensor, tokens: torch.Tensor,
                        chunk: int = 256) -> torch.Tensor:
    """``log p(tokens[e] | hidden[rows[e]])`` for every edge ``e``; each row of ``hidden`` is projected once."""
    pieces, order = [], []
    for start in range(0, hidden.shape[0], chunk):
        here = torch.nonzero((rows >= start) & (rows < start + chunk)).flatten()
        if len(here) == 0:
            continue
        logits = project(model, head, hidden[start:start + chunk])
        lse = torch.logsumexp(logits, dim=-1)
        local = rows[here] - start
        pieces.append(logits[local, tokens[here]] - lse[local])
        order.append(here)
    # gathered piecewise, put back in edge order (differentiable: no in-place writes)
    out = torch.cat(pieces)
    return out[torch.argsort(torch.cat(order))]


def reduced_precision_copy(model, precision: str):
    """A copy of a causal LM for scoring in ``precision`` (``"bf16"``), ``model`` left as it was.

    LoRA adapters (a peft model) are merged into the copy's weights. The decoder is cast to bfloat16;
    the output projection stays float32 in its own (untied) copy: it is applied only where a label
    token is read, so it costs little, and the log-softmax over the vocabulary keeps full precision.
    """
    import copy

    if precision != "bf16":
        raise ValueError(f"precision must be 'float32' or 'bf16', got {precision!r}")
    reduced = copy.deepcopy(model)
    if hasattr(reduced, "merge_and_unload"):  # a peft model: fold the adapters into the base weights
        reduced = reduced.merge_and_unload()
    reduced.eval()
    head = reduced.get_output_embeddings()
    full = torch.nn.Linear(head.in_features, head.out_features, bias=head.bias is not None,
                           device=head.weight.device, dtype=torch.float32)
    with torch.no_grad():
        full.weight.copy_(head.weight)
        if head.bias is not None:
            full.bias.copy_(head.bias)
    reduced.to(torch.bfloat16)
    reduced.set_output_embeddings(full.requires_grad_(False))
    return reduced


def length_batches(lengths: list[int], batch_size: int, max_tokens: int) -> list[np.ndarray]:
    """Indices grouped by similar length (sorted), at most ``batch_size`` rows and ~``max_tokens`` cells."""
    order = np.argsort(np.asarray(lengths), kind="stable")
    batches, current, longest = [], [], 0
    for idx in order:
        longest_if = max(longest, lengths[idx])
        if current and (len(current) >= batch_size or longest_if * (len(current) + 1) > max_tokens):
            batches.append(np.asarray(current))
            current, longest_if = [], lengths[idx]
        current.append(idx)
        longest = longest_if
    if current:
        batches.append(np.asarray(current))
    return batches


def encode_prefix(model, prefix: list[int]) -> tuple[list, int]:
    """Key/value tensors of a shared prefix (batch 1) and its length."""
    decoder, _ = decoder_and_head(model)
    ids = torch.tensor([prefix], dtype=torch.long, device=_device(model))
    out = decoder(input_ids=ids, attention_mask=torch.ones_like(ids), use_cache=True,
                  past_key_values=kv_cache_from_tensors(config=model.config))
    return kv_cache_tensors(out.past_key_values), len(prefix)


@torch.inference_mode()
def score_continuations(
    model,
    prompts: list[list[int]],
    tree: ContinuationTree,
    *,
    prefix: list[int] | None = None,
    batch_size: int = 16,
    max_tokens: int = 4096,
    pad_id: int = 0,
    progress=None,
) -> np.ndarray:
    """``log p(continuation | prefix + prompt)`` summed over its tokens: an ``(n_prompts, n_continuations)`` array.

    ``model`` is a transformers causal LM (possibly with LoRA layers injected), ``prompts`` token id
    lists, ``tree`` the candidate continuations. ``progress`` is an optional callable advanced by the
    number of prompts scored.
    """
    decoder, head = decoder_and_head(model)
    prefix_kv, prefix_len = encode_prefix(model, prefix) if prefix else (None, 0)
    out = np.zeros((len(prompts), len(tree.sequences)), dtype=np.float64)
    # the shared prefix counts: every row of a batch carries its own copy of the prefix's keys/values
    for rows in length_batches([prefix_len + len(p) for p in prompts], batch_size, max_tokens):
        batch = [prompts[i] for i in rows]
        out[rows] = _score_batch(model, decoder, head, batch, tree, prefix_kv, prefix_len, pad_id).cpu().numpy()
        if progress is not None:
            progress(len(rows))
    return out


def continuation_scores(model, prompts: list[list[int]], tree: ContinuationTree, *, pad_id: int = 0) -> torch.Tensor:
    """Differentiable ``log p(continuation | prompt)``, ``(len(prompts), n_continuations)``, for training.

    The same computation as :func:`score_continuations` (one pass over the prompts, one over the
    prefix tree) on one batch, with autograd on: training on these scores optimises exactly what
    prediction reads.
    """
    decoder, head = decoder_and_head(model)
    return _score_batch(model, decoder, head, prompts, tree, None, 0, pad_id)


def _device(model) -> torch.device:
    return next(model.parameters()).device


def _score_batch(model, decoder, head, batch, tree, prefix_kv, prefix_len, pad_id) -> torch.Tensor:
    n, width = len(batch), max(len(p) for p in batch)
    ids = torch.full((n, width), pad_id, dtype=torch.long)
    mask = torch.zeros((n, width), dtype=torch.long)
    for i, p in enumerate(batch):
        ids[i, :len(p)] = torch.tensor(p, dtype=torch.long)
        mask[i, :len(p)] = 1
    device = _device(model)
    ids, mask, tree = ids.to(device), mask.to(device), tree.to(device)
    lengths = mask.sum(1)
    positions = (prefix_len + torch.arange(width, device=device)).expand(n, width)
    if prefix_kv is not None:
        cache = kv_cache_from_tensors([(k.expand(n, -1, -1, -1), v.expand(n, -1, -1, -1)) for k, v in prefix_kv],
                                      config=model.config)
        full_mask = torch.cat([torch.ones((n, prefix_len), dtype=torch.long, device=device), mask], dim=1)
    else:
        cache, full_mask = kv_cache_from_tensors(config=model.config), mask
    hidden = decoder(input_ids=ids, attention_mask=full_mask, position_ids=positions, past_key_values=cache,
                     use_cache=True).last_hidden_state
    last = hidden[torch.arange(n, device=device), lengths - 1]  # (n, H): the state that predicts the first label token
    logits = project(model, head, last)
    scores = (logits - torch.logsumexp(logits, dim=-1, keepdim=True))[:, tree.first]  # (n, S)
    if tree.single_token:
        return scores
    # One pass over the prefix tree of the continuations, attending to the cached prompt.
    n_nodes = len(tree.node_token)
    past = prefix_len + width
    sees = torch.zeros((n, n_nodes, past + n_nodes), dtype=torch.bool, device=device)
    sees[:, :, :prefix_len] = True
    sees[:, :, prefix_len:past] = mask.bool()[:, None, :]
    sees[:, :, past:] = tree.node_sees[None]
    bias = torch.zeros(sees.shape, dtype=hidden.dtype, device=device).masked_fill_(~sees, torch.finfo(hidden.dtype).min)
    node_pos = (prefix_len + lengths)[:, None] + tree.node_depth[None, :] - 1
    node_hidden = decoder(input_ids=tree.node_token.expand(n, n_nodes), attention_mask=bias[:, None],
                          position_ids=node_pos, past_key_values=cache, use_cache=True
                          ).last_hidden_state  # (n, N, H)
    # each node is projected once, however many children (edges) it has
    edge_rows = (torch.arange(n, device=device)[:, None] * n_nodes + tree.edge_node[None, :]).reshape(-1)  # (n*E,)
    edge_tokens = tree.edge_token.repeat(n)
    edge_lp = _log_probs_of_edges(model, head, node_hidden.reshape(n * n_nodes, -1), edge_rows, edge_tokens)
    return scores + edge_lp.reshape(n, -1) @ tree.path.T


def continuation_nll(model, ids: torch.Tensor, mask: torch.Tensor, targets: list[tuple[int, list[int]]]):
    """Training loss pieces: for each row, ``-log p`` of each target token, logits only where read.

    ``ids``/``mask`` are right-padded ``prompt + continuation`` rows; ``targets[i] = (start, tokens)``
    says row ``i``'s continuation ``tokens`` begin at position ``start``. Returns a list of 1-D tensors
    (one per row) of token negative log-likelihoods, differentiable.
    """
    decoder, head = decoder_and_head(model)
    hidden = decoder(input_ids=ids, attention_mask=mask, use_cache=False).last_hidden_state
    device = hidden.device
    rows = torch.cat([torch.full((len(t),), i, dtype=torch.long) for i, (_, t) in enumerate(targets)]).to(device)
    cols = torch.cat([torch.arange(s - 1, s - 1 + len(t)) for s, t in targets]).to(device)
    tokens = torch.cat([torch.tensor(t, dtype=torch.long) for _, t in targets]).to(device)
    logits = project(model, head, hidden[rows, cols])
    nll = torch.nn.functional.cross_entropy(logits, tokens, reduction="none")
    return list(torch.split(nll, [len(t) for _, t in targets]))


def class_scores(seq: torch.Tensor, owner: np.ndarray) -> torch.Tensor:
    """Per-class scores ``(n, n_classes)`` from per-continuation ones ``(n, S)``: a class's alternatives add as
    probabilities (log-sum-exp). ``owner[s]`` is the class index of continuation ``s``; every class owns one."""
    return torch.stack([torch.logsumexp(seq[:, torch.as_tensor(owner == j, device=seq.device)], dim=1)
                        for j in range(int(owner.max()) + 1)], dim=1)
